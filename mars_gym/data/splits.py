"""Time splits: train / validation / test are consecutive time windows of each source.

A source's time span [first event, last event] is cut at 70 % and 85 %: train is the first 70 %
of the *clock time*, validation the next 15 %, test the last 15 %. Nothing is shuffled and no
event crosses a boundary (an event exactly at a cut belongs to the later split).
"""

from __future__ import annotations

import numpy as np

from mars_gym.data.schema import EventStream

SPLIT_FRACTIONS = {"train": 0.70, "val": 0.15, "test": 0.15}


def split_bounds(stream: EventStream) -> dict[str, tuple[int, int]]:
    """Index ranges ``[start, stop)`` of each split."""
    times = stream.events["time_ns"]
    if len(times) == 0:
        raise ValueError(f"source {stream.source.name} has no events to split")
    t0, t1 = int(times[0]), int(times[-1])
    cuts = [t0 + (t1 - t0) * 0.70, t0 + (t1 - t0) * 0.85]
    i1, i2 = (int(np.searchsorted(times, cut, side="left")) for cut in cuts)
    return {"train": (0, i1), "val": (i1, i2), "test": (i2, len(times))}


def split_by_time(stream: EventStream) -> dict[str, EventStream]:
    """The train / val / test streams of one source."""
    return {name: stream[start:stop] for name, (start, stop) in split_bounds(stream).items()}
