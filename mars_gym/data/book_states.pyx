# cython: language_level=3, wraparound=True
# (wraparound: BookSnapshots is Python code that indexes lists from the end)
"""Apply schema events to a ``lob_core`` book and record the book before each event (in C)."""

from libc.stdint cimport int32_t, int64_t

import numpy as np

from lob_core._book cimport OrderBook

from mars_gym.data.schema import BOOK_TICKS, CANCEL, NEW, book_rows_from_tick_states

cdef int64_t C_NEW = NEW, C_CANCEL = CANCEL, GTC_TIF = 0  # lob_core's GTC
cdef int C_BOOK_TICKS = BOOK_TICKS


class EventReplayError(ValueError):
    """An event that the book cannot apply (names the event index)."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"event {index}: {reason}")
        self.index, self.reason = index, reason


def apply_events(OrderBook book, events) -> np.ndarray:
    """Apply events (schema semantics: NEW rests, CANCEL removes, PARTIAL_CANCEL and EXECUTE
    take ``size`` off) to ``book`` in place; return the BOOK_DTYPE row before each event.

    Prices are used as given (the book's tick size must divide them). An event naming an order
    the book does not hold raises :class:`EventReplayError`.
    """
    states = np.empty((len(events), 2 + 2 * BOOK_TICKS), dtype=np.int64)
    cdef int64_t[:, ::1] rows = states
    _apply(book, events, &rows[0, 0] if len(events) else NULL)
    return book_rows_from_tick_states(states)


def advance_book(OrderBook book, events) -> None:
    """:func:`apply_events` without the rows: only the book after the events."""
    _apply(book, events, NULL)


cdef int _apply(OrderBook book, events, int64_t* rows) except -1:
    """Apply ``events`` to ``book``; with ``rows``, write the tick state before each event
    there (``2 + 2 * BOOK_TICKS`` values per event)."""
    cdef Py_ssize_t n = len(events), index
    if n == 0:
        return 0
    cdef const int64_t[:] times = events["time_ns"], kinds = events["type"]
    cdef const int64_t[:] sides = events["side"], prices = events["price"]
    cdef const int64_t[:] sizes = events["size"], ids = events["order_id"]
    cdef int32_t order
    for index in range(n):
        if rows != NULL:
            book._tick_state(rows + index * (2 + 2 * C_BOOK_TICKS), C_BOOK_TICKS)
        try:
            if kinds[index] == C_NEW:
                if book._limit(sides[index], prices[index], sizes[index], ids[index], 0,
                               times[index], GTC_TIF):
                    raise EventReplayError(index, f"new order {ids[index]} crosses the book")
            elif kinds[index] == C_CANCEL:
                order = book._lookup(ids[index])
                book.n_fills = 0
                book._unlink(order)
            else:
                book.reduce(ids[index], sizes[index])
        except (KeyError, ValueError) as error:
            if isinstance(error, EventReplayError):
                raise
            raise EventReplayError(index, f"{events[index]}: {error}") from error
    return 0


# events between two kept books: an env's reset rebuilds ~500 events (~0.1 ms on the embedded
# market) instead of ~4,000 at 8,192 (0.6 ms, an eighth of an episode)
SNAPSHOT_EVENTS = 1_024


class BookSnapshots:
    """The whole book before any event of a stream, rebuilt from the nearest kept book at or
    before it (one every :data:`SNAPSHOT_EVENTS` events, all kept in one pass over the stream
    at the first call, so later calls cost the same) instead of from the stream's start: the
    same book, for at most :data:`SNAPSHOT_EVENTS` events of work.

    ``initial`` is the book before event 0; calling the object with ``index`` returns a fresh
    book as it was before event ``index``.
    """

    def __init__(self, initial: OrderBook, events: np.ndarray,
                 every: int = SNAPSHOT_EVENTS) -> None:
        if every < 1:
            raise ValueError(f"every must be positive, got {every}")
        self.events, self.every = events, every
        self.kept = [initial.copy()]  # kept[k]: the book before event k * every

    def __call__(self, index: int) -> OrderBook:
        if not 0 <= index <= len(self.events):
            raise IndexError(f"event {index} is outside the stream (0..{len(self.events)})")
        slot = index // self.every
        while len(self.kept) <= len(self.events) // self.every:
            book = self.kept[-1].copy()
            first = (len(self.kept) - 1) * self.every
            advance_book(book, self.events[first:first + self.every])
            self.kept.append(book)
        book = self.kept[slot].copy()
        advance_book(book, self.events[slot * self.every:index])
        return book
