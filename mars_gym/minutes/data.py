"""Minute series of every source: order images and the conditioning of each minute.

A :class:`MinuteSeries` is one stream cut into minutes (:mod:`mars_gym.tokens.images`): the
count images, and for each minute what is known when it starts — its time of day, the mid's
return since the session open, the standard deviation of the one-minute returns so far and the
last minute's return (bps, all from the mids at minute boundaries). Image slots are fitted per
source on its training split. Training series are cut at several minute phases (``offsets``)
so a short day still gives a few thousand images; validation and test use the clock minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mars_gym.data import SOURCES, load_source, split_by_time
from mars_gym.data.schema import EventStream
from mars_gym.data.units import NS_PER_DAY, NS_PER_MIN
from mars_gym.tokens.images import OrderImager

TOD_FREQUENCIES = 4
N_FEATURES = 3 + 2 * TOD_FREQUENCIES
TRAIN_OFFSETS_S = (0, 10, 20, 30, 40, 50)


@dataclass(frozen=True)
class MinuteSeries:
    source: str
    source_id: int
    minute: np.ndarray    # int64 (n,): minute index ((time_ns - offset) // 60 s)
    offset_ns: int        # where the minutes start within the clock minute
    images: np.ndarray    # int32 (n, 3, 32, 32)
    features: np.ndarray  # float32 (n, N_FEATURES): what is known as each minute starts
    open_mid: np.ndarray  # float (n,): ticks
    close_mid: np.ndarray

    def __len__(self) -> int:
        return len(self.images)


def minute_features(minute: np.ndarray, offset_ns: int, open_mid: np.ndarray,
                    session_open: float) -> np.ndarray:
    """Conditioning of each minute from the mids at minute starts (see the module docstring)."""
    returns = np.diff(np.log(open_mid), prepend=np.log(open_mid[0])) * 1e4  # into minute i
    so_far = (open_mid / session_open - 1) * 1e4
    squares = np.cumsum(returns ** 2)
    count = np.arange(len(minute))
    volatility = np.sqrt(squares / np.maximum(count, 1))
    phase = ((minute * NS_PER_MIN + offset_ns) % NS_PER_DAY) / NS_PER_DAY * 2 * np.pi
    k = np.arange(1, TOD_FREQUENCIES + 1)
    tod = np.concatenate([np.sin(np.outer(phase, k)), np.cos(np.outer(phase, k))], axis=1)
    scaled = np.stack([np.clip(so_far, -200, 200) / 100, np.clip(volatility, 0, 100) / 10,
                       np.clip(returns, -100, 100) / 10], axis=1)
    return np.concatenate([scaled, tod], axis=1).astype(np.float32)


def minute_series(imager: OrderImager, stream: EventStream, offset_ns: int = 0,
                  session_open: float | None = None) -> MinuteSeries:
    """The minutes of one stream (``session_open``: the mid the returns so far start from,
    default the stream's open)."""
    minutes = imager.images(stream, offset_ns)
    session_open = session_open or stream.open_mid or float(minutes.open_mid[0])
    features = minute_features(minutes.minute, offset_ns, minutes.open_mid, session_open)
    return MinuteSeries(stream.source.name, stream.source.source_id, minutes.minute, offset_ns,
                        minutes.images, features,
                        minutes.open_mid, minutes.close_mid)


@lru_cache(maxsize=8)
def source_imager(source: str, data_dir=None) -> OrderImager:
    """The image slots of a source, fitted on its training split."""
    return OrderImager.fit(split_by_time(load_source(source, data_dir))["train"])


def load_minutes(sources, split: str, data_dir=None, offsets_s=None) -> list[MinuteSeries]:
    """One series per source and offset of ``split`` (offsets default: several phases for
    training, the clock minute otherwise)."""
    if offsets_s is None:
        offsets_s = TRAIN_OFFSETS_S if split == "train" else (0,)
    out = []
    for name in sources:
        if name not in SOURCES:
            raise KeyError(f"unknown source {name!r}; available: {sorted(SOURCES)}")
        stream = split_by_time(load_source(name, data_dir))[split]
        imager = source_imager(name, data_dir)
        out.extend(minute_series(imager, stream, int(s * 1e9)) for s in offsets_s)
    return out
