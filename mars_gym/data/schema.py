"""One event schema for every order-flow source.

An :class:`EventStream` holds, per event, what happened (:data:`EVENT_DTYPE`) and the book just
before it (:data:`BOOK_DTYPE`). Conventions (the same as LOBSTER's, whatever the source):

* ``price`` is in integer ticks of the source, ``size`` in integer lots (see :class:`Source`).
* ``NEW`` is a limit order that rests. An incoming order that crosses the spread appears as the
  ``EXECUTE`` events of the resting orders it hit (``side`` = the resting order's side, ``price``
  = the resting price), followed by a ``NEW`` for any remainder that rests, all at one time.
* ``CANCEL`` removes what the order had left; ``PARTIAL_CANCEL`` takes ``size`` off it.
* ``time_ns`` is integer nanoseconds (LOBSTER: after midnight, local; crypto: Unix epoch, UTC),
  non-decreasing. Time of day is ``time_ns // 10**9 % 86400`` in both cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lob_core import OrderBook

NEW, CANCEL, PARTIAL_CANCEL, EXECUTE = 0, 1, 2, 3
EVENT_TYPE_NAMES = {NEW: "new", CANCEL: "cancel", PARTIAL_CANCEL: "partial_cancel",
                    EXECUTE: "execute"}
BOOK_TICKS = 5  # book volumes are kept at the touch and the next 4 ticks behind it, per side
# the largest order id of real data; a simulated book issues the ids above (mars_gym.sim.ids)
MAX_REAL_ORDER_ID = (1 << 40) - 1

EVENT_DTYPE = np.dtype(
    [
        ("time_ns", "<i8"),
        ("type", "<i8"),      # NEW / CANCEL / PARTIAL_CANCEL / EXECUTE
        ("side", "<i8"),      # +1 buy / -1 sell: the side of the order the event concerns
        ("price", "<i8"),     # ticks
        ("size", "<i8"),      # lots
        ("order_id", "<i8"),
    ]
)
BOOK_DTYPE = np.dtype(
    [
        ("bid", "<i8"),                    # best bid in ticks, 0 when there are no bids
        ("ask", "<i8"),                    # best ask in ticks, 0 when there are no asks
        ("bid_qty", "<i8", (BOOK_TICKS,)),  # lots resting at bid - k ticks, k = 0..4
        ("ask_qty", "<i8", (BOOK_TICKS,)),  # lots resting at ask + k ticks
    ]
)


@dataclass(frozen=True)
class Source:
    """An instrument / data source and its units."""

    name: str
    source_id: int         # small integer, the model's source embedding index
    tick_value: float      # currency per price tick
    lot_value: float       # instrument units per size lot
    currency: str
    description: str
    visible_levels: int | None = None  # price levels per side the data shows (None: all)

    def price_in_currency(self, ticks: float) -> float:
        """A price in ticks as currency per instrument unit (ticks x ``tick_value``)."""
        return ticks * self.tick_value

    def amount_in_currency(self, tick_lots: float) -> float:
        """An amount in ticks x lots (a notional, a cash balance, a PnL) in currency."""
        return tick_lots * self.tick_value * self.lot_value


@dataclass
class EventStream:
    """Events of one source with the book state before each of them.

    ``report`` counts what the loader skipped or could not reconcile (never silently dropped).
    ``open_mid`` is the session's first mid price in ticks (kept when the stream is sliced, so
    a later window still measures its price change since the open). ``full_book`` rebuilds the
    whole book before event i (every level the data knows, with real order ids), when the
    loader can (``None`` otherwise: only the ``book`` rows' 5 ticks per side are known).
    """

    source: Source
    events: np.ndarray  # EVENT_DTYPE
    book: np.ndarray    # BOOK_DTYPE, row i = book before event i
    report: dict[str, int] = field(default_factory=dict)
    open_mid: float | None = None
    full_book: Callable[[int], OrderBook] | None = field(default=None, repr=False)
    offset: int = 0  # index of event 0 in the source stream (for ``full_book``)

    def __post_init__(self) -> None:
        if self.events.dtype != EVENT_DTYPE or self.book.dtype != BOOK_DTYPE:
            raise TypeError("events must have EVENT_DTYPE and book BOOK_DTYPE")
        if len(self.events) != len(self.book):
            raise ValueError(
                f"{len(self.events)} events but {len(self.book)} book rows: one row per event")
        if self.open_mid is None:
            valid = self.mid[np.isfinite(self.mid)]
            self.open_mid = float(valid[0]) if valid.size else None

    def __len__(self) -> int:
        return len(self.events)

    def __getitem__(self, index: slice) -> EventStream:
        if not isinstance(index, slice):
            raise TypeError("an EventStream is sliced by time order only: use a slice")
        start = index.indices(len(self))[0]
        return EventStream(self.source, self.events[index], self.book[index], dict(self.report),
                           self.open_mid, self.full_book, self.offset + start)

    def book_before(self, index: int) -> OrderBook:
        """A tick-1 ``lob_core`` book as it was just before event ``index``: the full book when
        the loader can rebuild it, else the 5 ticks per side of ``book[index]``."""
        if not 0 <= index < len(self):
            raise IndexError(f"event {index} is outside the stream (0..{len(self) - 1})")
        if self.full_book is not None:
            return self.full_book(self.offset + index)
        book = OrderBook(1)
        seed_book_from_state(book, self.book[index])
        return book

    @property
    def mid(self) -> np.ndarray:
        """Mid price in ticks before each event (NaN where a side is empty)."""
        bid, ask = self.book["bid"].astype(float), self.book["ask"].astype(float)
        return np.where((bid > 0) & (ask > 0), (bid + ask) / 2, np.nan)


def book_rows_from_tick_states(states: np.ndarray, price_divisor: int = 1) -> np.ndarray:
    """Convert :meth:`lob_core.OrderBook.tick_state` rows (``BOOK_TICKS`` ticks) to BOOK_DTYPE."""
    if states.ndim != 2 or states.shape[1] != 2 + 2 * BOOK_TICKS:
        raise ValueError(f"tick states must have shape (n, {2 + 2 * BOOK_TICKS})")
    book = np.zeros(len(states), dtype=BOOK_DTYPE)
    book["bid"] = states[:, 0] // price_divisor
    book["ask"] = states[:, 1] // price_divisor
    book["bid_qty"] = states[:, 2:2 + BOOK_TICKS]
    book["ask_qty"] = states[:, 2 + BOOK_TICKS:]
    return book


def structured_from_rows(rows: list[tuple], dtype: np.dtype) -> np.ndarray:
    """A structured array of ``dtype`` (all int64 fields) from a list of row tuples."""
    out = np.zeros(len(rows), dtype=dtype)
    if rows:
        table = np.array(rows, dtype=np.int64)
        for column, name in enumerate(dtype.names):
            out[name] = table[:, column]
    return out


def seed_book_from_state(book: OrderBook, state, first_id: int = 1) -> None:
    """Put a BOOK_DTYPE row's volumes into an empty tick-1 book, one order per price."""
    order_id = first_id
    for side, touch, quantities in ((1, state["bid"], state["bid_qty"]),
                                    (-1, state["ask"], state["ask_qty"])):
        if touch <= 0:
            continue
        for k, qty in enumerate(np.asarray(quantities).tolist()):
            price = int(touch) - side * k
            if qty > 0 and price > 0:
                book.limit(side, price, int(qty), order_id)
                order_id += 1
