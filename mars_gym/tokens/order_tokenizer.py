"""The MarS single-order token scheme, its conditioning features, and one versioned file.

Token id = ``((kind * 32 + price_bin) * 32 + volume_bin) * 16 + interval_bin`` with kind in
{buy, sell, cancel}: 3 x 32 x 32 x 16 = 49 152 ids.

* price bin: the order's price against the book it saw, in ticks, quantile bins fitted per
  kind. Two references exist (a tokenizer's ``price_reference``, saved with it):

  - ``"touch"`` (the default since format version 2): a buy or sell is placed against the
    touch, so it means the same whatever the spread is. With ``u = side * (price - near
    touch)``: an order at or behind its touch is ``x = u`` ticks (0 joins it); one improving it
    inside the spread is ``x = u / spread``, the share of the spread it takes (decoded as
    ``rint(x * spread)`` ticks: an improvement that rounds to nothing joins the touch, so a
    narrow spread is rarely narrowed further, as in real data); a crossing order is
    ``x = CROSS + side * (price - far touch)``, how far past the opposite touch it reaches.
    Decoded, a crossing order always crosses the live book and no other one does. A cancel's
    ``x = side * (depth + 1/2)`` with ``depth = side * (near touch - price)`` ticks behind its
    own touch: positive on the bid side, negative on the ask side.
  - ``"mid"`` (format version 1): price minus the mid, in ticks (half ticks for odd spreads);
    a cancel below the mid belongs to the bid side. Prices against the mid do not carry over to
    a live book whose spread differs from training: with AMZN's training spread (median 15
    ticks) and the simulator's (median 3), most decoded buys and sells fell behind the touch.
* volume bin: the size divided by the source's volume scale (the median size of its training
  orders, so shares and satoshis share bins), quantile bins fitted per kind;
* interval bin: nanoseconds since the previous order of the stream, quantile bins.

All bins are fitted on training data only; a value holding at least 1/num_bins of the mass gets
its own bin. Decoding draws a concrete value inside each bin from the training values seen there.

Conditioning features of each position (summed into the model's embedding):

* ``book``: log(1 + lots / volume scale) at the bid and 4 ticks behind it, then the ask and 4
  ticks behind it (the book the order saw); with the ``"touch"`` reference also log(1 + spread
  in ticks); with ``trade_memory_s`` also, per timescale, sign(m) log(1 + |m| / volume scale)
  of the trade memory ``m`` (:mod:`mars_gym.tokens.trade_memory`: the recent executed volume
  signed by the aggressor, decayed to the time of the order before); with ``trade_rate_s``
  also, per timescale, log(1 + r / tau) of the trade rate ``r`` (the executions counted, the
  same module: about log(1 + executions per second)): float32 (n, 10 + ...)
  (:attr:`OrderTokenizer.book_features`);
* ``time_of_day``: 5-second bucket of the time of day, 0..17279;
* ``change``: price change of the mid since the session open in basis points, clipped to
  +-200 and shifted to 0..400;
* ``source``: the source id.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mars_gym.data.orders import BUY_ORDER, CANCEL_ORDER, SELL_ORDER, events_to_orders
from mars_gym.data.schema import EventStream
from mars_gym.tokens.bins import QuantileBins
from mars_gym.tokens.trade_memory import executions, memory_at, weights

N_KINDS, N_PRICE_BINS, N_VOLUME_BINS, N_INTERVAL_BINS = 3, 32, 32, 16
# the token layout: a token's four parts, most significant first, and each part's stride
PART_SIZES = (N_KINDS, N_PRICE_BINS, N_VOLUME_BINS, N_INTERVAL_BINS)
PART_STRIDES = (N_PRICE_BINS * N_VOLUME_BINS * N_INTERVAL_BINS, N_VOLUME_BINS * N_INTERVAL_BINS,
                N_INTERVAL_BINS, 1)
VOCAB_SIZE = N_KINDS * N_PRICE_BINS * N_VOLUME_BINS * N_INTERVAL_BINS
TIME_OF_DAY_BUCKET_S = 5
N_TIME_OF_DAY = 86_400 // TIME_OF_DAY_BUCKET_S
CHANGE_CLIP_BPS = 200
N_CHANGE = 2 * CHANGE_CLIP_BPS + 1
BOOK_FEATURES = 10  # book volumes of the conditions; the "touch" reference adds the spread
# the trade memory's timescales (seconds) of a tokenizer that reads it (``--trade-memory``):
# a trade's mark on the real mid is measured 2-8 s after it
TRADE_MEMORY_S = (1.0, 10.0)
TRADE_RATE_S = (60.0, 600.0)  # long: how busy the market has been, not the last sweep
# 1: prices against the mid; 2: a saved price reference; 3: an improving order's "touch"
# coordinate is the share of the spread it takes (early version-2 files counted it in ticks)
FORMAT_VERSION = 3
FORMAT_NAME = "mars_gym.order_tokenizer"
PRICE_REFERENCES = ("touch", "mid")
CROSS = 10_000  # the "touch" coordinate of an order reaching exactly the opposite touch


class TokenizerFileError(ValueError):
    """A tokenizer file that is missing, corrupt or of another version."""


def compose(kind, price_bin, volume_bin, interval_bin) -> np.ndarray:
    """Token ids from their four parts."""
    parts = (kind, price_bin, volume_bin, interval_bin)
    return sum(np.asarray(part) * stride for part, stride in zip(parts, PART_STRIDES, strict=True))


def decompose(ids) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(kind, price_bin, volume_bin, interval_bin)`` of token ids."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= VOCAB_SIZE):
        raise ValueError(f"token ids must be in [0, {VOCAB_SIZE}), got {ids.min()}..{ids.max()}")
    kind, price, volume, interval = (ids // stride % size
                                     for stride, size in zip(PART_STRIDES, PART_SIZES, strict=True))
    return kind, price, volume, interval


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


@dataclass
class TokenizedStream:
    ids: np.ndarray          # int64 token ids
    conditions: Conditions
    orders: np.ndarray       # TOKEN_ORDER_DTYPE, the orders the ids encode


@dataclass
class DecodedOrders:
    kind: np.ndarray         # BUY_ORDER / SELL_ORDER / CANCEL_ORDER
    side: np.ndarray         # +1 / -1 (a cancel's: see the price reference)
    price: np.ndarray        # ticks
    size: np.ndarray         # lots (>= 1)
    interval_ns: np.ndarray  # time since the previous order


def _mids(stream: EventStream, events: np.ndarray) -> np.ndarray:
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


def price_coordinate(kind, side, price, bid, ask) -> np.ndarray:
    """The ``"touch"`` price coordinate of orders (see the module docstring)."""
    kind, side, price = np.asarray(kind), np.asarray(side), np.asarray(price, dtype=np.float64)
    near = np.where(side > 0, bid, ask)
    far = np.where(side > 0, ask, bid)
    beyond = side * (price - far)
    improve = side * (price - near)
    share = improve / np.maximum(ask - bid, 1)  # the share of the spread it takes
    trade = np.where(beyond >= 0, CROSS + beyond, np.where(improve > 0, share, improve))
    depth = np.maximum(side * (near - price), 0)
    return np.where(kind == CANCEL_ORDER, side * (depth + 0.5), trade)


def _prices_from_coordinate(kind: int, x: np.ndarray, bid: np.ndarray, ask: np.ndarray
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Prices (ticks) and sides of orders of one ``kind`` from their ``"touch"`` coordinates,
    on books with touch (bid, ask)."""
    if kind == CANCEL_ORDER:
        side = np.where(x >= 0, 1, -1)
        depth = np.maximum(np.rint(np.abs(x) - 0.5), 0)
        near = np.where(side > 0, bid, ask)
        return near - side * depth, side
    side = np.full(x.shape, 1 if kind == BUY_ORDER else -1)
    near, far = (bid, ask) if kind == BUY_ORDER else (ask, bid)
    spread = ask - bid
    beyond = np.maximum(np.rint(x - CROSS), 0)
    improve = np.clip(np.rint(x * spread), 0, np.maximum(spread - 1, 0))  # never crosses
    passive = np.where(x > 0, improve, np.rint(x))
    return np.where(x >= CROSS / 2, far + side * beyond, near + side * passive), side


def _price_from_coordinate(kind: int, x: float, bid: float, ask: float) -> tuple[float, int]:
    """:func:`_prices_from_coordinate` of one order, without arrays (the same numbers:
    ``round`` is ``np.rint``'s half-to-even)."""
    if kind == CANCEL_ORDER:
        side = 1 if x >= 0 else -1
        depth = max(round(abs(x) - 0.5), 0)
        return (bid if side > 0 else ask) - side * depth, side
    side = 1 if kind == BUY_ORDER else -1
    near, far = (bid, ask) if kind == BUY_ORDER else (ask, bid)
    if x >= CROSS / 2:
        return far + side * max(round(x - CROSS), 0), side
    spread = ask - bid
    passive = min(max(round(x * spread), 0), max(spread - 1, 0)) if x > 0 else round(x)
    return near + side * passive, side


def _within(rounded: float, lowest: float, highest: float) -> float:
    """``rounded`` kept inside ``[lowest, highest]`` when that range holds any integer."""
    return min(max(rounded, lowest), highest) if lowest <= highest else rounded


def _improving_in_ticks(price_bins: dict[int, QuantileBins]) -> bool:
    """Whether a "touch" tokenizer's buy or sell bins place improving orders in ticks (version
    2 files written before improvements became shares of the spread, which never exceed 1)."""
    for kind in (BUY_ORDER, SELL_ORDER):
        lower = np.asarray(price_bins[kind].lower)
        if ((lower > 1) & (lower < CROSS / 2)).any():
            return True
    return False


class OrderTokenizer:
    """Fitted bin converters of the MarS order-token scheme (one file, versioned)."""

    def __init__(self, price_bins: dict[int, QuantileBins], volume_bins: dict[int, QuantileBins],
                 interval_bins: QuantileBins, volume_scale: dict[int, float],
                 price_reference: str = "touch", source_rows: dict[str, int] | None = None,
                 generic_source: bool = False, trade_memory_s: Sequence[float] = (),
                 trade_rate_s: Sequence[float] = ()) -> None:
        if price_reference not in PRICE_REFERENCES:
            raise ValueError(f"price_reference must be one of {PRICE_REFERENCES}, got "
                             f"{price_reference!r}")
        self.trade_memory_s = tuple(float(t) for t in trade_memory_s)
        self.trade_rate_s = tuple(float(t) for t in trade_rate_s)
        for name, given in (("trade memory", trade_memory_s), ("trade rate", trade_rate_s)):
            if not all(t > 0 and math.isfinite(t) for t in map(float, given)):
                raise ValueError(f"{name} timescales must be positive seconds, got {given!r}")
        self.price_bins = price_bins
        self.volume_bins = volume_bins
        self.interval_bins = interval_bins
        self.volume_scale = volume_scale  # source id -> lots
        self.price_reference = price_reference
        # the sources trained on, name -> embedding row (mars_gym.lmm.sources), and whether
        # the generic row was trained (source dropout)
        self.source_rows = dict(source_rows or {})
        self.generic_source = generic_source

    @property
    def book_features(self) -> int:
        """Width of the ``book`` conditions: the volumes, the spread for ``"touch"``, and one
        per trade memory and trade rate timescale."""
        return (BOOK_FEATURES + (self.price_reference == "touch") + len(self.trade_memory_s)
                + len(self.trade_rate_s))

    @property
    def reads_trades(self) -> bool:
        """Whether the conditions read the executions (a trade memory or rate)."""
        return bool(self.trade_memory_s or self.trade_rate_s)

    def _offsets(self, stream: EventStream, orders: np.ndarray) -> np.ndarray:
        """The price coordinate of a stream's orders (the reference's; see the module doc)."""
        if self.price_reference == "mid":
            return orders["price"] - _mids(stream, orders["event"])
        book = stream.book[orders["event"]]
        bid, ask = touches(book["bid"], book["ask"], stream.open_mid)
        return price_coordinate(orders["kind"], orders["side"], orders["price"], bid, ask)

    # -- fitting ---------------------------------------------------------------------------
    @classmethod
    def fit(cls, streams: list[EventStream], price_reference: str = "touch",
            trade_memory_s: Sequence[float] = (), trade_rate_s: Sequence[float] = ()
            ) -> OrderTokenizer:
        """Fit every bin on training streams (pass training splits only); the conditions read
        the trade memory on ``trade_memory_s`` and the trade rate on ``trade_rate_s``
        (seconds; none by default)."""
        if not streams:
            raise ValueError("fit needs at least one training stream")
        per_stream = [(s, events_to_orders(s)) for s in streams]
        volume_scale: dict[int, float] = {}
        for stream, orders in per_stream:
            sizes = orders["size"][orders["kind"] != CANCEL_ORDER]
            if sizes.size == 0:
                raise ValueError(f"training stream of {stream.source.name} has no buy/sell orders")
            volume_scale[stream.source.source_id] = float(np.median(sizes))
        unfitted = cls({}, {}, QuantileBins.fit(np.zeros(1), 1), volume_scale, price_reference)
        offsets, volumes, kinds, intervals = [], [], [], []
        for stream, orders in per_stream:
            offsets.append(unfitted._offsets(stream, orders))
            volumes.append(orders["size"] / volume_scale[stream.source.source_id])
            kinds.append(orders["kind"])
            intervals.append(np.diff(orders["time_ns"], prepend=orders["time_ns"][:1]))
        offset, volume, kind = (np.concatenate(x) for x in (offsets, volumes, kinds))
        # touch: no bin mixes orders that cross, improve or do neither, nor bid and ask cancels
        breaks = {BUY_ORDER: (1e-9, CROSS / 2), SELL_ORDER: (1e-9, CROSS / 2), CANCEL_ORDER: (0.0,)}
        price_bins = {k: QuantileBins.fit(offset[kind == k], N_PRICE_BINS,
                                          breaks[k] if price_reference == "touch" else ())
                      for k in range(N_KINDS)}
        volume_bins = {k: QuantileBins.fit(volume[kind == k], N_VOLUME_BINS)
                       for k in range(N_KINDS)}
        interval_bins = QuantileBins.fit(np.concatenate(intervals), N_INTERVAL_BINS)
        return cls(price_bins, volume_bins, interval_bins, volume_scale, price_reference,
                   trade_memory_s=trade_memory_s, trade_rate_s=trade_rate_s)

    # -- encoding --------------------------------------------------------------------------
    def encode(self, stream: EventStream) -> TokenizedStream:
        """Token ids and conditioning features of a stream's orders."""
        source = stream.source.source_id
        if source not in self.volume_scale:
            raise KeyError(f"source {stream.source.name} (id {source}) was not in the "
                           f"tokenizer's training data; known ids: {sorted(self.volume_scale)}")
        orders = events_to_orders(stream)
        ids = self._ids(orders["kind"], self._offsets(stream, orders), orders["size"],
                        np.diff(orders["time_ns"], prepend=orders["time_ns"][:1]), source)
        return TokenizedStream(ids, self.conditions(stream, orders["event"]), orders)

    def encode_order(self, kind: int, side: int, price: int, size: int, interval_ns: int,
                     bid: float, ask: float, source: int) -> int:
        """The token of one order (``kind`` BUY_ORDER / SELL_ORDER / CANCEL_ORDER on ``side``,
        ``price`` in ticks, ``interval_ns`` since the previous order) seen on a book with touch
        ``(bid, ask)``: e.g. an agent's order joining a generated sequence."""
        if source not in self.volume_scale:
            raise KeyError(f"source id {source} was not in the tokenizer's training data; "
                           f"known ids: {sorted(self.volume_scale)}")
        offset = (price - (bid + ask) / 2 if self.price_reference == "mid"
                  else price_coordinate(kind, side, price, bid, ask))
        return int(self._ids(np.array([kind]), np.atleast_1d(offset), np.array([size]),
                             np.array([interval_ns]), source)[0])

    def _ids(self, kind, offset, size, interval, source: int) -> np.ndarray:
        volume = size / self.volume_scale[source]
        price_bin = np.zeros(len(kind), dtype=np.int64)
        volume_bin = np.zeros(len(kind), dtype=np.int64)
        for k in range(N_KINDS):
            mask = kind == k
            price_bin[mask] = self.price_bins[k].transform(offset[mask])
            volume_bin[mask] = self.volume_bins[k].transform(volume[mask])
        return compose(kind, price_bin, volume_bin, self.interval_bins.transform(interval))

    def conditions(self, stream: EventStream, events: np.ndarray) -> Conditions:
        """Conditioning features of positions whose books are ``stream.book[events]``."""
        book = stream.book[events]
        lots = np.concatenate([book["bid_qty"], book["ask_qty"]], axis=1)
        mid = _mids(stream, events)
        open_mid = stream.open_mid or (mid[0] if len(mid) else 1.0)
        bid, ask = touches(book["bid"], book["ask"], open_mid)
        memory = None
        if self.reads_trades:  # the executions before each event, at the event before it
            index, times, signed = executions(stream.events)
            events = np.asarray(events, dtype=np.int64)
            memory = memory_at(times, weights(signed, self.trade_memory_s, self.trade_rate_s),
                               np.searchsorted(index, events),
                               stream.events["time_ns"][np.maximum(events - 1, 0)],
                               self.trade_memory_s + self.trade_rate_s)
        return self._features(lots, stream.events["time_ns"][events], mid, open_mid,
                              stream.source.source_id, ask - bid, memory)

    def live_conditions(self, tick_states: np.ndarray, time_ns, open_mid,
                        source: int, trade_memory: np.ndarray | None = None) -> Conditions:
        """Conditioning features of live books given as :meth:`lob_core.OrderBook.tick_state`
        rows with 5 ticks (``(B, 12)``, prices in ticks), at times ``time_ns``; a tokenizer
        that :attr:`reads_trades` also needs each book's ``trade_memory`` (``(B, memory +
        rate timescales)``, :class:`mars_gym.tokens.trade_memory.TradeMemory`)."""
        states = np.atleast_2d(np.asarray(tick_states))
        bid, ask = states[:, 0].astype(float), states[:, 1].astype(float)
        two_sided = (bid > 0) & (ask > 0)
        mid = np.where(two_sided, (bid + ask) / 2, np.maximum(bid, ask))
        mid = np.where(mid > 0, mid, open_mid)
        spread = np.where(two_sided, ask - bid, 1.0)  # a one-sided book: the narrowest
        return self._features(states[:, 2:], np.broadcast_to(time_ns, len(states)), mid,
                              np.broadcast_to(open_mid, len(states)), source, spread,
                              trade_memory)

    def _features(self, lots, time_ns, mid, open_mid, source: int, spread,
                  trade_memory=None) -> Conditions:
        if source not in self.volume_scale:
            raise KeyError(f"source id {source} was not in the tokenizer's training data; "
                           f"known ids: {sorted(self.volume_scale)}")
        scale = self.volume_scale[source]
        book = np.log1p(np.asarray(lots) / scale)
        if self.price_reference == "touch":
            book = np.concatenate([book, np.log1p(np.maximum(spread, 0))[:, None]], axis=1)
        if self.reads_trades:
            width = len(self.trade_memory_s) + len(self.trade_rate_s)
            memory = np.asarray(trade_memory if trade_memory is not None else (), dtype=np.float64)
            if memory.shape != (len(book), width):
                raise ValueError(f"this tokenizer reads the trades on {width} timescales "
                                 f"(memory, then rate): trade_memory must be ({len(book)}, "
                                 f"{width}), got {memory.shape}")
            signed, counted = np.split(memory, [len(self.trade_memory_s)], axis=1)
            book = np.concatenate([book, np.sign(signed) * np.log1p(np.abs(signed) / scale),
                                   np.log1p(counted / np.asarray(self.trade_rate_s))], axis=1)
        book = book.astype(np.float32)
        seconds = np.asarray(time_ns) // 1_000_000_000 % 86_400
        change_bps = np.clip(np.rint((np.asarray(mid) / open_mid - 1) * 1e4), -CHANGE_CLIP_BPS,
                             CHANGE_CLIP_BPS)
        return Conditions(book, (seconds // TIME_OF_DAY_BUCKET_S).astype(np.int64),
                          change_bps.astype(np.int64) + CHANGE_CLIP_BPS,
                          np.full(len(book), source, dtype=np.int64))

    # -- decoding --------------------------------------------------------------------------
    def decode(self, ids, bid, ask, source: int, rng: np.random.Generator) -> DecodedOrders:
        """Concrete orders for token ids, against the touch ``(bid, ask)`` (ticks) each one sees
        (a two-sided book: :func:`touches` fills one-sided ones).

        ``"touch"``: see the module docstring. ``"mid"``: buy prices round down and sell prices
        up to whole ticks (the passive side), then are kept inside their bin when it holds a
        whole tick for this mid; a cancel below the mid belongs to the bid side. Sizes are kept
        inside their bin likewise.
        """
        kind, price_bin, volume_bin, interval_bin = decompose(ids)
        bid = np.broadcast_to(np.asarray(bid, dtype=np.float64), kind.shape)
        ask = np.broadcast_to(np.asarray(ask, dtype=np.float64), kind.shape)
        mid = (bid + ask) / 2
        scale = self.volume_scale[source]
        price = np.zeros(kind.shape)
        size = np.zeros(kind.shape)
        side = np.zeros(kind.shape, dtype=np.int64)
        for k in range(N_KINDS):
            mask = kind == k
            if not mask.any():
                continue
            bins = self.price_bins[k]
            drawn = bins.sample(price_bin[mask], rng)
            if self.price_reference == "touch":
                price[mask], side[mask] = _prices_from_coordinate(k, drawn, bid[mask], ask[mask])
            else:
                raw = mid[mask] + drawn
                rounded = (np.floor(raw) if k == BUY_ORDER else np.ceil(raw) if k == SELL_ORDER
                           else np.rint(raw))
                # whole ticks can leave a bin (a half-tick offset on a whole-tick mid): keep them
                lowest, highest = bins.integer_range(price_bin[mask], mid[mask], 1.0)
                price[mask] = np.where(lowest <= highest, np.clip(rounded, lowest, highest),
                                       rounded)
                side[mask] = (1 if k == BUY_ORDER else -1 if k == SELL_ORDER
                              else np.where(price[mask] < mid[mask], 1, -1))
            bins = self.volume_bins[k]
            rounded = np.rint(bins.sample(volume_bin[mask], rng) * scale)
            lowest, highest = bins.integer_range(volume_bin[mask], 0.0, scale)
            size[mask] = np.where(lowest <= highest, np.clip(rounded, lowest, highest), rounded)
        interval = self.interval_bins.sample(interval_bin, rng)
        return DecodedOrders(kind, side, np.maximum(price, 1).astype(np.int64),
                             np.maximum(size, 1).astype(np.int64),
                             np.rint(interval).astype(np.int64))

    def decode_one(self, token: int, bid: float, ask: float, source: int,
                   rng: np.random.Generator) -> tuple[int, int, int, int, int]:
        """:meth:`decode` of one token without arrays — ``(kind, side, price, size,
        interval_ns)``, the same numbers from the same draws — for the live flow, which decodes
        one order at a time."""
        if not 0 <= token < VOCAB_SIZE:
            raise ValueError(f"token ids must be in [0, {VOCAB_SIZE}), got {token}")
        kind, price_bin, volume_bin, interval_bin = (
            token // stride % size for stride, size in zip(PART_STRIDES, PART_SIZES, strict=True))
        bid, ask, scale = float(bid), float(ask), self.volume_scale[source]
        mid = (bid + ask) / 2
        bins = self.price_bins[kind]
        drawn = bins.sample_one(price_bin, rng)
        if self.price_reference == "touch":
            price, side = _price_from_coordinate(kind, drawn, bid, ask)
        else:
            raw = mid + drawn
            rounded = (math.floor(raw) if kind == BUY_ORDER else math.ceil(raw)
                       if kind == SELL_ORDER else round(raw))
            price = _within(rounded, *bins.integer_range_one(price_bin, mid, 1.0))
            side = (1 if kind == BUY_ORDER else -1 if kind == SELL_ORDER
                    else 1 if price < mid else -1)
        bins = self.volume_bins[kind]
        size = _within(round(bins.sample_one(volume_bin, rng) * scale),
                       *bins.integer_range_one(volume_bin, 0.0, scale))
        interval = round(self.interval_bins.sample_one(interval_bin, rng))
        return kind, side, int(max(price, 1)), int(max(size, 1)), interval

    # -- persistence -----------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        """All fitted arrays, with a JSON header naming the format and version."""
        arrays: dict[str, np.ndarray] = {}
        for k in range(N_KINDS):
            arrays.update(self.price_bins[k].to_arrays(f"price{k}"))
            arrays.update(self.volume_bins[k].to_arrays(f"volume{k}"))
        arrays.update(self.interval_bins.to_arrays("interval"))
        header = {"format": FORMAT_NAME, "version": FORMAT_VERSION,
                  "price_reference": self.price_reference,
                  "volume_scale": {str(k): v for k, v in self.volume_scale.items()},
                  "source_rows": self.source_rows, "generic_source": self.generic_source,
                  "trade_memory_s": list(self.trade_memory_s),
                  "trade_rate_s": list(self.trade_rate_s),
                  "scheme": [N_KINDS, N_PRICE_BINS, N_VOLUME_BINS, N_INTERVAL_BINS]}
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        return arrays

    @classmethod
    def from_state(cls, arrays, origin: str = "<state>") -> OrderTokenizer:
        try:
            header = json.loads(bytes(np.asarray(arrays["header"], dtype=np.uint8)).decode())
        except (KeyError, ValueError) as error:
            raise TokenizerFileError(f"{origin}: no readable tokenizer header ({error})") from None
        if header.get("format") != FORMAT_NAME:
            raise TokenizerFileError(f"{origin}: not an order tokenizer "
                                     f"(format {header.get('format')!r})")
        version = header.get("version")
        if version not in (1, 2, FORMAT_VERSION):
            raise TokenizerFileError(f"{origin}: tokenizer format version {version}, this code "
                                     f"reads versions 1 to {FORMAT_VERSION}")
        reference = header.get("price_reference", "mid")  # version 1 knew only the mid
        if reference not in PRICE_REFERENCES:
            raise TokenizerFileError(f"{origin}: unknown price reference {reference!r}")
        try:
            price = {k: QuantileBins.from_arrays(arrays, f"price{k}") for k in range(N_KINDS)}
            volume = {k: QuantileBins.from_arrays(arrays, f"volume{k}") for k in range(N_KINDS)}
            interval = QuantileBins.from_arrays(arrays, "interval")
        except KeyError as error:
            raise TokenizerFileError(f"{origin}: missing array {error}") from None
        if version == 2 and reference == "touch" and _improving_in_ticks(price):
            # read as shares of the spread, every improving order would jump to one tick from
            # the far touch
            raise TokenizerFileError(
                f"{origin}: a version-2 'touch' tokenizer that counts improving orders in ticks; "
                f"this code reads them as shares of the spread (version {FORMAT_VERSION}): train "
                "the model again (mars-gym train-lmm) to fit a new tokenizer")
        rows = header.get("source_rows", {})  # files before source rows: the shared ids
        if not (isinstance(rows, dict) and all(isinstance(r, int) for r in rows.values())):
            raise TokenizerFileError(f"{origin}: source_rows must map names to rows")
        timescales = {}
        for key in ("trade_memory_s", "trade_rate_s"):
            value = header.get(key, [])  # files before it read no trades
            if not (isinstance(value, list) and all(isinstance(t, (int, float)) and t > 0
                                                    for t in value)):
                raise TokenizerFileError(f"{origin}: {key} must be a list of positive "
                                         f"seconds, got {value!r}")
            timescales[key] = value
        return cls(price, volume, interval,
                   {int(k): float(v) for k, v in header["volume_scale"].items()}, reference,
                   rows, bool(header.get("generic_source", False)), **timescales)

    def save(self, path: Path | str) -> None:
        """Write the tokenizer as one ``.npz`` file."""
        np.savez(Path(path), **self.state())

    @classmethod
    def load(cls, path: Path | str) -> OrderTokenizer:
        path = Path(path)
        if not path.is_file():
            raise TokenizerFileError(f"tokenizer file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as arrays:
                return cls.from_state({key: arrays[key] for key in arrays.files}, str(path))
        except (OSError, ValueError) as error:
            if isinstance(error, TokenizerFileError):
                raise
            raise TokenizerFileError(f"{path}: not a readable tokenizer file ({error})") from None
