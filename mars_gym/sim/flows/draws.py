"""numpy's ``Generator.choice(values, p=probs)`` as a table: one uniform double through the
inverse CDF, the very same number from the same generator state, without ``choice``'s checks on
every call. The compiled flows (:mod:`mars_gym.sim._event_loop`) read these tables."""

from __future__ import annotations

from typing import Any

import numpy as np

from mars_gym.tokens.bins import choice_cdf


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
