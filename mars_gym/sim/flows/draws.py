"""numpy's random draws done by hand, for flows that draw once per order.

``Generator.choice`` checks its arguments on every call (~20 µs, most of a model-free flow's time
per order). The helpers here compute the very same numbers from the same generator state —
``choice(values, p=probs)`` is one uniform double through the inverse CDF, ``choice(values)``
one bounded integer — so a flow that uses them keeps its trajectories bit for bit.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np

from mars_gym.tokens.bins import choice_cdf

UNIFORM_CHUNK = 4096  # doubles drawn at once by Uniforms


class Categorical:
    """``values[i]`` with probability ``probs[i]``, as ``Generator.choice(values, p=probs)``
    draws it from a uniform double ``u``: the first ``i`` whose cumulative probability
    (normalised to end at 1) exceeds ``u``."""

    def __init__(self, values: Any, probs: Any) -> None:
        weights = np.asarray(probs, dtype=np.float64)
        if len(weights) != len(values) or not weights.sum() > 0 or np.any(weights < 0):
            raise ValueError(f"need one non-negative probability per value, got {probs}")
        self.cdf: list[float] = choice_cdf(weights).tolist()
        self.values: list = np.asarray(values).tolist()

    def pick(self, uniform: float) -> Any:
        return self.values[bisect.bisect_right(self.cdf, uniform)]

    def draw(self, rng: np.random.Generator) -> Any:
        return self.pick(rng.random())


def pick_one(values: np.ndarray, rng: np.random.Generator) -> Any:
    """``Generator.choice(values)`` (uniform, one element) without its checks."""
    return values[rng.integers(len(values))]


class Uniforms:
    """A generator's uniform doubles, drawn :data:`UNIFORM_CHUNK` at a time: the same sequence
    as one ``rng.random()`` per call, for a flow that draws nothing else from ``rng``."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.buffer: list[float] = []
        self.index = 0

    def next(self) -> float:
        if self.index == len(self.buffer):
            self.buffer, self.index = self.rng.random(UNIFORM_CHUNK).tolist(), 0
        self.index += 1
        return self.buffer[self.index - 1]
