"""Orders after a start event, taken from the whole stream's parse, equal a parse of the rest."""

from __future__ import annotations

import numpy as np
import pytest

from mars_gym.data import load_source
from mars_gym.data.schema import EXECUTE
from mars_gym.tokens.orders import events_to_orders, orders_after


@pytest.mark.parametrize("source", ["AMZN", "DEFAULT"])
def test_orders_after_any_start_equal_the_parse_of_the_rest(source, lobster_dir):
    stream = load_source(source, lobster_dir)
    whole = events_to_orders(stream)
    rng = np.random.default_rng(3)
    firsts = whole["event"]
    spanning = firsts[:-1][np.diff(firsts) > 1]  # orders of several events (aggressors' runs)
    executions = np.flatnonzero(stream.events["type"] == EXECUTE)
    # starts that cut an order, at executions, anywhere
    starts = {0, len(stream) - 1, *(rng.choice(spanning, 12) + 1).tolist(),
              *rng.choice(executions, 6).tolist(), *rng.integers(0, len(stream), 6)}
    cut = 0
    for start in sorted(starts):
        expected = events_to_orders(stream[start:])
        got = orders_after(stream, start, whole)
        assert got.dtype == expected.dtype and np.array_equal(got, expected), start
        cut += start not in set(whole["event"].tolist())
    assert cut >= 10  # most starts did cut an order of the whole parse
