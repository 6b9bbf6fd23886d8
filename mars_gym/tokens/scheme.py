"""The MarS single-order token scheme: token ids, their parts, price coordinates, fitted bins.

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

The conditioning features read beside each token are :mod:`mars_gym.tokens.conditions`; the
file a fitted scheme is saved in, :mod:`mars_gym.tokens.tokenizer_file`; the tokenizer that
joins the three, :class:`mars_gym.tokens.order_tokenizer.OrderTokenizer`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mars_gym.data.orders import BUY_ORDER, CANCEL_ORDER, SELL_ORDER, events_to_orders
from mars_gym.data.schema import EventStream
from mars_gym.tokens.bins import QuantileBins
from mars_gym.tokens.conditions import mids, touches

N_KINDS, N_PRICE_BINS, N_VOLUME_BINS, N_INTERVAL_BINS = 3, 32, 32, 16
# the token layout: a token's four parts, most significant first, and each part's stride
PART_SIZES = (N_KINDS, N_PRICE_BINS, N_VOLUME_BINS, N_INTERVAL_BINS)
PART_STRIDES = (N_PRICE_BINS * N_VOLUME_BINS * N_INTERVAL_BINS, N_VOLUME_BINS * N_INTERVAL_BINS,
                N_INTERVAL_BINS, 1)
VOCAB_SIZE = N_KINDS * N_PRICE_BINS * N_VOLUME_BINS * N_INTERVAL_BINS
PRICE_REFERENCES = ("touch", "mid")
CROSS = 10_000  # the "touch" coordinate of an order reaching exactly the opposite touch


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
class DecodedOrders:
    kind: np.ndarray         # BUY_ORDER / SELL_ORDER / CANCEL_ORDER
    side: np.ndarray         # +1 / -1 (a cancel's: see the price reference)
    price: np.ndarray        # ticks
    size: np.ndarray         # lots (>= 1)
    interval_ns: np.ndarray  # time since the previous order


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


class TokenScheme:
    """Fitted bin converters of the MarS order-token scheme: order <-> token id."""

    def __init__(self, price_bins: dict[int, QuantileBins], volume_bins: dict[int, QuantileBins],
                 interval_bins: QuantileBins, volume_scale: dict[int, float],
                 price_reference: str = "touch") -> None:
        if price_reference not in PRICE_REFERENCES:
            raise ValueError(f"price_reference must be one of {PRICE_REFERENCES}, got "
                             f"{price_reference!r}")
        self.price_bins = price_bins
        self.volume_bins = volume_bins
        self.interval_bins = interval_bins
        self.volume_scale = volume_scale  # source id -> lots
        self.price_reference = price_reference

    def _offsets(self, stream: EventStream, orders: np.ndarray) -> np.ndarray:
        """The price coordinate of a stream's orders (the reference's; see the module doc)."""
        if self.price_reference == "mid":
            return orders["price"] - mids(stream, orders["event"])
        book = stream.book[orders["event"]]
        bid, ask = touches(book["bid"], book["ask"], stream.open_mid)
        return price_coordinate(orders["kind"], orders["side"], orders["price"], bid, ask)

    # -- fitting ---------------------------------------------------------------------------
    @classmethod
    def fit(cls, streams: list[EventStream], price_reference: str = "touch") -> TokenScheme:
        """Fit every bin on training streams (pass training splits only)."""
        if not streams:
            raise ValueError("fit needs at least one training stream")
        per_stream = [(s, events_to_orders(s)) for s in streams]
        volume_scale: dict[int, float] = {}
        for stream, orders in per_stream:
            sizes = orders["size"][orders["kind"] != CANCEL_ORDER]
            if sizes.size == 0:
                raise ValueError(f"training stream of {stream.source.name} has no buy/sell orders")
            volume_scale[stream.source.source_id] = float(np.median(sizes))
        unfitted = TokenScheme({}, {}, QuantileBins.fit(np.zeros(1), 1), volume_scale,
                               price_reference)
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
        return TokenScheme(price_bins, volume_bins, interval_bins, volume_scale, price_reference)

    # -- encoding --------------------------------------------------------------------------
    def stream_ids(self, stream: EventStream, orders: np.ndarray) -> np.ndarray:
        """Token ids of a stream's orders (``events_to_orders(stream)``)."""
        source = stream.source.source_id
        if source not in self.volume_scale:
            raise KeyError(f"source {stream.source.name} (id {source}) was not in the "
                           f"tokenizer's training data; known ids: {sorted(self.volume_scale)}")
        return self._ids(orders["kind"], self._offsets(stream, orders), orders["size"],
                         np.diff(orders["time_ns"], prepend=orders["time_ns"][:1]), source)

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
