"""The flows' draw tables are numpy's ``choice``, number for number."""

from __future__ import annotations

import bisect

import numpy as np
import pytest

from mars_gym.sim.flows.draws import Categorical


def test_a_categorical_table_gives_what_choice_draws_from_the_same_uniform():
    probs = np.array([0.35, 0.0, 0.15, 0.5])  # a zero-probability value is never drawn
    values = np.array([3, -1, 7, 11])
    table = Categorical(values, probs)
    drawn = []
    for seed in range(5):
        ours, numpy_s = np.random.default_rng(seed), np.random.default_rng(seed)
        for _ in range(500):
            value = table.values[bisect.bisect_right(table.cdf, ours.random())]
            assert value == int(numpy_s.choice(values, p=probs))
            drawn.append(value)
    assert -1 not in drawn and set(drawn) == {3, 7, 11}
    with pytest.raises(ValueError, match="one non-negative probability per value"):
        Categorical([1, 2], [0.5, -0.1])
