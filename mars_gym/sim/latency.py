"""Latency between an agent's decision and its order reaching the book, in nanoseconds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ConstantLatency:
    """Every order arrives ``ns`` after it is sent."""

    ns: int = 1_000_000

    def __post_init__(self) -> None:
        if self.ns < 0:
            raise ValueError(f"latency must be >= 0 ns, got {self.ns}")

    def sample(self, rng: np.random.Generator) -> int:
        return self.ns


@dataclass(frozen=True)
class LogNormalLatency:
    """Latency drawn from a log-normal with the given median and shape ``sigma``, plus ``floor``."""

    median_ns: int = 1_000_000
    sigma: float = 0.5
    floor_ns: int = 0

    def __post_init__(self) -> None:
        if self.median_ns <= 0 or self.sigma < 0 or self.floor_ns < 0:
            raise ValueError("latency needs median_ns > 0, sigma >= 0 and floor_ns >= 0")

    def sample(self, rng: np.random.Generator) -> int:
        return self.floor_ns + int(self.median_ns * rng.lognormal(0.0, self.sigma))
