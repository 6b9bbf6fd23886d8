"""Conditioning features of each position of an order sequence (summed into the model's
embedding), read off the book each order saw:

* ``book``: log(1 + lots / volume scale) at the bid and 4 ticks behind it, then the ask and 4
  ticks behind it (the book the order saw); with the spread (the ``"touch"`` price reference,
  :mod:`mars_gym.tokens.scheme`) also log(1 + spread in ticks); with ``trade_memory_s`` also,
  per timescale, sign(m) log(1 + |m| / volume scale) of the trade memory ``m``
  (:mod:`mars_gym.tokens.trade_memory`: the recent executed volume signed by the aggressor,
  decayed to the time of the order before): float32 (n, 10 + ...)
  (:func:`book_feature_count`);
* ``time_of_day``: 5-second bucket of the time of day, 0..17279;
* ``change``: price change of the mid since the session open in basis points, clipped to
  +-200 and shifted to 0..400;
* ``source``: the source id.

The same features come from a recorded stream (:func:`stream_conditions`, for training) and
from live books (:func:`live_conditions`, for generation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mars_gym.data.schema import EventStream
from mars_gym.tokens.trade_memory import executions, memory_at

TIME_OF_DAY_BUCKET_S = 5
N_TIME_OF_DAY = 86_400 // TIME_OF_DAY_BUCKET_S
CHANGE_CLIP_BPS = 200
N_CHANGE = 2 * CHANGE_CLIP_BPS + 1
BOOK_FEATURES = 10  # book volumes of the conditions; the "touch" reference adds the spread
# the trade memory's timescales (seconds) of a tokenizer that reads it (``--trade-memory``):
# a trade's mark on the real mid is measured 2-8 s after it
TRADE_MEMORY_S = (1.0, 10.0)


@dataclass
class Conditions:
    """Per-position conditioning inputs (see the module docstring)."""

    book: np.ndarray         # float32 (n, book features)
    time_of_day: np.ndarray  # int64 (n,)
    change: np.ndarray       # int64 (n,)
    source: np.ndarray       # int64 (n,)

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index) -> Conditions:
        return Conditions(self.book[index], self.time_of_day[index], self.change[index],
                          self.source[index])


def book_feature_count(spread: bool, trade_memory_s: Sequence[float]) -> int:
    """Width of the ``book`` conditions: the volumes, the spread when read, and one per trade
    memory timescale."""
    return BOOK_FEATURES + spread + len(trade_memory_s)


def mids(stream: EventStream, events: np.ndarray) -> np.ndarray:
    """Mid (ticks) of the book each order saw; a one-sided book takes the last valid mid."""
    mid = stream.mid[events]
    valid = np.isfinite(mid)
    if not valid.any():
        return np.full(len(events), stream.open_mid or 0.0)
    last = np.maximum.accumulate(np.where(valid, np.arange(len(mid)), 0))
    first = np.flatnonzero(valid)[0]
    mid = mid[last]
    mid[:first] = mid[first]
    return mid


def touches(bid, ask, fallback_mid=None) -> tuple[np.ndarray, np.ndarray]:
    """Best bid and ask (ticks, float) with every one-sided or empty row filled from the last
    two-sided one (before any: around ``fallback_mid``, one tick wide)."""
    bid, ask = np.asarray(bid, dtype=np.float64).copy(), np.asarray(ask, dtype=np.float64).copy()
    valid = (bid > 0) & (ask > 0) & (ask > bid)
    if not valid.any():
        centre = 1.0 if fallback_mid is None else float(fallback_mid)
        return np.full(bid.shape, np.floor(centre - 0.5)), np.full(ask.shape, np.floor(centre) + 1)
    last = np.maximum.accumulate(np.where(valid, np.arange(len(bid)), 0))
    first = np.flatnonzero(valid)[0]
    last[:first] = first
    return bid[last], ask[last]


def stream_conditions(stream: EventStream, events: np.ndarray, volume_scale: dict[int, float],
                      spread: bool, trade_memory_s: Sequence[float]) -> Conditions:
    """Conditioning features of positions whose books are ``stream.book[events]``
    (``volume_scale``: source id -> lots; ``spread``: whether the spread is read)."""
    book = stream.book[events]
    lots = np.concatenate([book["bid_qty"], book["ask_qty"]], axis=1)
    mid = mids(stream, events)
    open_mid = stream.open_mid or (mid[0] if len(mid) else 1.0)
    bid, ask = touches(book["bid"], book["ask"], open_mid)
    memory = None
    if trade_memory_s:  # the executions before each event, at the event before it
        index, times, signed = executions(stream.events)
        events = np.asarray(events, dtype=np.int64)
        memory = memory_at(times, signed, np.searchsorted(index, events),
                           stream.events["time_ns"][np.maximum(events - 1, 0)], trade_memory_s)
    return _features(lots, stream.events["time_ns"][events], mid, open_mid,
                     stream.source.source_id, ask - bid, volume_scale, spread, trade_memory_s,
                     memory)


def live_conditions(tick_states: np.ndarray, time_ns, open_mid, source: int,
                    volume_scale: dict[int, float], spread: bool,
                    trade_memory_s: Sequence[float], trade_memory: np.ndarray | None = None
                    ) -> Conditions:
    """Conditioning features of live books given as :meth:`lob_core.OrderBook.tick_state`
    rows with 5 ticks (``(B, 12)``, prices in ticks), at times ``time_ns``; with
    ``trade_memory_s`` also each book's ``trade_memory`` (``(B, timescales)``,
    :class:`mars_gym.tokens.trade_memory.TradeMemory`)."""
    states = np.atleast_2d(np.asarray(tick_states))
    bid, ask = states[:, 0].astype(float), states[:, 1].astype(float)
    two_sided = (bid > 0) & (ask > 0)
    mid = np.where(two_sided, (bid + ask) / 2, np.maximum(bid, ask))
    mid = np.where(mid > 0, mid, open_mid)
    spread_ticks = np.where(two_sided, ask - bid, 1.0)  # a one-sided book: the narrowest
    return _features(states[:, 2:], np.broadcast_to(time_ns, len(states)), mid,
                     np.broadcast_to(open_mid, len(states)), source, spread_ticks, volume_scale,
                     spread, trade_memory_s, trade_memory)


def _features(lots, time_ns, mid, open_mid, source: int, spread_ticks,
              volume_scale: dict[int, float], spread: bool, trade_memory_s: Sequence[float],
              trade_memory=None) -> Conditions:
    if source not in volume_scale:
        raise KeyError(f"source id {source} was not in the tokenizer's training data; "
                       f"known ids: {sorted(volume_scale)}")
    scale = volume_scale[source]
    book = np.log1p(np.asarray(lots) / scale)
    if spread:
        book = np.concatenate([book, np.log1p(np.maximum(spread_ticks, 0))[:, None]], axis=1)
    if trade_memory_s:
        width = len(trade_memory_s)
        memory = np.asarray(trade_memory if trade_memory is not None else (), dtype=np.float64)
        if memory.shape != (len(book), width):
            raise ValueError(f"this tokenizer reads the trade memory on {width} timescales: "
                             f"trade_memory must be ({len(book)}, {width}), got {memory.shape}")
        book = np.concatenate([book, np.sign(memory) * np.log1p(np.abs(memory) / scale)],
                              axis=1)
    book = book.astype(np.float32)
    seconds = np.asarray(time_ns) // 1_000_000_000 % 86_400
    change_bps = np.clip(np.rint((np.asarray(mid) / open_mid - 1) * 1e4), -CHANGE_CLIP_BPS,
                         CHANGE_CLIP_BPS)
    return Conditions(book, (seconds // TIME_OF_DAY_BUCKET_S).astype(np.int64),
                      change_bps.astype(np.int64) + CHANGE_CLIP_BPS,
                      np.full(len(book), source, dtype=np.int64))
