"""The flows' hand-made draws are numpy's, number for number."""

from __future__ import annotations

import numpy as np
import pytest

from mars_gym.sim.flows.draws import UNIFORM_CHUNK, Categorical, Uniforms, pick_one


def test_categorical_and_pick_one_draw_what_choice_draws():
    probs = np.array([0.35, 0.0, 0.15, 0.5])  # a zero-probability value is never drawn
    values = np.array([3, -1, 7, 11])
    categorical, population = Categorical(values, probs), np.arange(50) * 7
    for seed in range(5):
        ours, numpy_s = np.random.default_rng(seed), np.random.default_rng(seed)
        for _ in range(500):
            assert categorical.draw(ours) == int(numpy_s.choice(values, p=probs))
            assert pick_one(population, ours) == numpy_s.choice(population)
    drawn = [categorical.draw(np.random.default_rng(s)) for s in range(200)]
    assert -1 not in drawn and set(drawn) == {3, 7, 11}
    with pytest.raises(ValueError, match="one non-negative probability per value"):
        Categorical([1, 2], [0.5, -0.1])


def test_uniforms_in_chunks_are_the_generators_doubles_in_order():
    uniforms, one_by_one = Uniforms(np.random.default_rng(9)), np.random.default_rng(9)
    for _ in range(UNIFORM_CHUNK + 10):  # across a refill
        assert uniforms.next() == one_by_one.random()
