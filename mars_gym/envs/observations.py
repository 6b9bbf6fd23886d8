"""Observations defined once: each feature's name, bounds and meaning, from which a task's
observation space, its docstring table and its observation vector all follow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from gymnasium import spaces


@dataclass(frozen=True)
class Feature:
    name: str
    low: float
    high: float
    description: str


class ObservationSpec:
    """An ordered set of :class:`Feature`: ``space`` (a float32 Box), ``names`` and
    :meth:`vector` (the values in order, clipped to the bounds)."""

    def __init__(self, features: Sequence[Feature]) -> None:
        names = [f.name for f in features]
        if len(set(names)) != len(names):
            raise ValueError(f"feature names must be unique, got {names}")
        self.features = tuple(features)
        self.names = tuple(names)
        self.space = spaces.Box(np.array([f.low for f in features], dtype=np.float32),
                                np.array([f.high for f in features], dtype=np.float32),
                                dtype=np.float32)

    def vector(self, values: Mapping[str, float]) -> np.ndarray:
        """The observation: ``values`` (one per feature, by name) in order, clipped."""
        if set(values) != set(self.names):
            missing, extra = set(self.names) - set(values), set(values) - set(self.names)
            raise ValueError(f"observation values do not match the features: missing "
                             f"{sorted(missing)}, unknown {sorted(extra)}")
        vector = np.array([values[n] for n in self.names], dtype=np.float32)
        np.maximum(vector, self.space.low, out=vector)  # np.clip, at a fraction of its cost
        return np.minimum(vector, self.space.high, out=vector)

    def table(self) -> str:
        """The features as a Markdown table (index, meaning, bounds)."""
        rows = ["| index | observation | min | max |", "|---|---|---|---|"]
        rows += [f"| {i} | {f.description} | {f.low:g} | {f.high:g} |"
                 for i, f in enumerate(self.features)]
        return "\n".join(rows)


MAX_SPREAD_TICKS = 100.0  # the spread feature's clip, and its value while a side is empty


def touch_features(book) -> dict[str, float]:
    """Top-of-book imbalance ``(bid - ask) / (bid + ask)`` of the touch sizes (0 with an empty
    touch) and the spread in ticks (:data:`MAX_SPREAD_TICKS` while a side is empty)."""
    bid, ask, bid_qty, ask_qty = (int(x) for x in book.tick_state(1))
    return {"imbalance": (bid_qty - ask_qty) / (bid_qty + ask_qty) if bid_qty + ask_qty else 0.0,
            "spread_ticks": (ask - bid) if bid and ask else MAX_SPREAD_TICKS}
