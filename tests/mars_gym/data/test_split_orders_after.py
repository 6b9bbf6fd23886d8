"""The orders after a start event, split into the parse of the order the start cuts and a view
of the whole stream's parse, are the parse of the rest."""

from __future__ import annotations

import numpy as np
import pytest

from mars_gym.data import load_source
from mars_gym.data.orders import events_to_orders, split_orders_after
from mars_gym.data.schema import EXECUTE


@pytest.mark.parametrize("source", ["AMZN", "DEFAULT"])
def test_split_orders_after_any_start_equal_the_parse_of_the_rest(source, lobster_dir):
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
        head, tail = split_orders_after(stream, start, whole)
        assert head.dtype == tail.dtype == expected.dtype, start
        # the tail is the whole parse's, not a copy, its events counted from the stream's first
        assert len(tail) == 0 or np.shares_memory(tail, whole), start
        assert (head["event"] < len(stream) - start).all(), start
        shifted = tail.copy()
        shifted["event"] -= start
        assert np.array_equal(np.concatenate([head, shifted]), expected), start
        assert len(head) <= 1, start  # only the order the start cuts is parsed again
        cut += start not in set(whole["event"].tolist())
    assert cut >= 10  # most starts did cut an order of the whole parse
