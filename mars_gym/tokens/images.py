"""Order images: the market's view minute by minute, the input of the order-batch tokens.

Each clock minute of a stream becomes a ``[3, 32, 32]`` count image of its orders (the orders
of :func:`mars_gym.tokens.events_to_orders`, aggressors merged):

* channel: 0 buy orders (resting or marketable), 1 sell orders, 2 cancels;
* row (price slot): the bin of ``price - mid`` (ticks; ``mid`` = the mid just before the
  minute's first event) among 32 equal-frequency bins fitted on the training orders;
* column (volume slot): the order's size bin among 32 equal-frequency bins fitted on the
  training orders (:class:`~mars_gym.tokens.bins.QuantileBins`; a value holding more than 1/32
  of the mass gets a bin of its own, so a source may use fewer than 32).

Price slots are fitted per source rather than fixed tick widths: 32 one-tick slots around the
mid would put most AAPL orders (level-50 depth) and nearly all BTC/USD 2015 orders (0.01 USD
ticks) in the two edge slots, while equal-mass slots keep every row informative on every
source and are still a fixed tick range per row.

So every order of the minute is counted exactly once: an image sums to the minute's number of
orders, and its channels to the numbers of buys, sells and cancels. Minutes run on the clock
(``time_ns // 60 s``); a minute without an order is an all-zero image, and the first and last
minutes of a stream may be partial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mars_gym.data.orders import CANCEL_ORDER, SELL_ORDER, events_to_orders
from mars_gym.data.schema import EventStream
from mars_gym.data.units import NS_PER_MIN
from mars_gym.tokens.bins import QuantileBins

N_CHANNELS, N_PRICE_SLOTS, N_VOLUME_SLOTS = 3, 32, 32
IMAGE_SHAPE = (N_CHANNELS, N_PRICE_SLOTS, N_VOLUME_SLOTS)
CHANNEL_NAMES = ("buy", "sell", "cancel")


@dataclass(frozen=True)
class MinuteImages:
    """The order images of consecutive clock minutes of one stream."""

    minute: np.ndarray     # int64 (n,): minute index ((time_ns - offset) // NS_PER_MIN)
    images: np.ndarray     # int32 (n, 3, 32, 32): order counts
    open_mid: np.ndarray   # float (n,): mid (ticks) at each minute's start (the price origin)
    close_mid: np.ndarray  # float (n,): mid after the minute's last event

    def __len__(self) -> int:
        return len(self.minute)


class OrderImager:
    """Turns one source's streams into :class:`MinuteImages` (slots fitted on its training
    orders)."""

    def __init__(self, price_bins: QuantileBins, volume_bins: QuantileBins) -> None:
        for name, bins, most in (("price", price_bins, N_PRICE_SLOTS),
                                 ("volume", volume_bins, N_VOLUME_SLOTS)):
            if bins.n_bins > most:
                raise ValueError(f"at most {most} {name} bins, got {bins.n_bins}")
        self.price_bins, self.volume_bins = price_bins, volume_bins

    @classmethod
    def fit(cls, train: EventStream) -> OrderImager:
        """Price and volume slots from the orders of a training stream."""
        _, open_mid, _, orders, row = _minutes(train)
        offsets = orders["price"] - open_mid[row]
        return cls(QuantileBins.fit(offsets, N_PRICE_SLOTS),
                   QuantileBins.fit(orders["size"], N_VOLUME_SLOTS))

    def images(self, stream: EventStream, offset_ns: int = 0) -> MinuteImages:
        """Every clock minute from the stream's first event to its last (see the module
        docstring); ``offset_ns`` shifts the minutes' start (more images from one stream)."""
        minute, open_mid, close_mid, orders, row = _minutes(stream, offset_ns)
        cell = self.cells(orders["kind"], orders["price"] - open_mid[row], orders["size"])
        images = np.zeros((len(minute), *IMAGE_SHAPE), dtype=np.int32)
        np.add.at(images, (row, *cell), 1)
        return MinuteImages(minute, images, open_mid, close_mid)

    def cells(self, kind, price_offset, size) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(channel, price slot, volume slot) of orders: kind BUY_ORDER / SELL_ORDER /
        CANCEL_ORDER, price minus the mid at the minute's start (ticks), size (lots)."""
        kind = np.asarray(kind)
        channel = np.where(kind == CANCEL_ORDER, 2, np.where(kind == SELL_ORDER, 1, 0))
        return channel, self.price_bins.transform(price_offset), self.volume_bins.transform(size)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {**self.price_bins.to_arrays(f"{prefix}.price"),
                **self.volume_bins.to_arrays(f"{prefix}.volume")}

    @classmethod
    def from_arrays(cls, arrays, prefix: str) -> OrderImager:
        return cls(QuantileBins.from_arrays(arrays, f"{prefix}.price"),
                   QuantileBins.from_arrays(arrays, f"{prefix}.volume"))


def _minutes(stream: EventStream, offset_ns: int = 0):
    """The stream's minutes (starting ``offset_ns`` after the clock's), their open and close
    mids, its orders and each order's row (minute index)."""
    if len(stream) == 0:
        raise ValueError(f"{stream.source.name}: an empty stream has no minutes")
    if not 0 <= offset_ns < NS_PER_MIN:
        raise ValueError(f"offset_ns must be in [0, {NS_PER_MIN}), got {offset_ns}")
    orders = events_to_orders(stream)
    times = stream.events["time_ns"] - offset_ns
    first, last = int(times[0]) // NS_PER_MIN, int(times[-1]) // NS_PER_MIN
    minute = np.arange(first, last + 1, dtype=np.int64)
    mid = _filled_mid(stream)
    starts = np.searchsorted(times, minute * NS_PER_MIN, side="left")
    ends = np.searchsorted(times, (minute + 1) * NS_PER_MIN, side="left")
    after = np.append(mid[1:], mid[-1])  # the mid after each event (the last: unknown, kept)
    # an empty minute opens and closes on the book that the next event finds
    open_mid, close_mid = mid[starts], after[ends - 1]
    minutes = (orders["time_ns"] - offset_ns) // NS_PER_MIN - first
    return minute, open_mid, close_mid, orders, minutes


def _filled_mid(stream: EventStream) -> np.ndarray:
    """The mid before each event, with one-sided moments holding the last two-sided mid."""
    mid = stream.mid
    valid = ~np.isnan(mid)
    if not valid.any():
        raise ValueError(f"{stream.source.name}: the book is never two-sided, no mid to "
                         "place orders against")
    index = np.where(valid, np.arange(len(mid)), 0)
    np.maximum.accumulate(index, out=index)
    filled = mid[index]
    filled[:np.argmax(valid)] = mid[np.argmax(valid)]
    return filled
