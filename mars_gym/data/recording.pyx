# cython: language_level=3
"""A ``lob_core`` book that writes down what happens to it as schema events."""

from libc.string cimport memcpy

cimport numpy as cnp
import numpy as np

from libc.stdint cimport int32_t, int64_t

from lob_core._book cimport Fill, Order, OrderBook

from mars_gym.data.book_states import apply_events
from mars_gym.data.schema import CANCEL, EVENT_DTYPE, EXECUTE, NEW, PARTIAL_CANCEL, EventStream

cnp.import_array()

cdef int64_t C_NEW = NEW, C_CANCEL = CANCEL, C_EXECUTE = EXECUTE
cdef int64_t C_PARTIAL_CANCEL = PARTIAL_CANCEL
cdef int64_t GTC_TIF = 0  # lob_core's GTC
cdef Py_ssize_t FIELDS = 6  # int64 fields of EVENT_DTYPE
cdef Py_ssize_t FIRST_CAPACITY = 1024


cdef class RecordingBook:
    """Wraps an :class:`~lob_core.OrderBook` (tick size 1: prices in ticks) and records events.

    A limit order that crosses is recorded as the ``EXECUTE`` events of the resting orders it hit
    and a ``NEW`` for what rests (the schema's conventions, :mod:`mars_gym.data.schema`). The
    book before each event is computed when the stream is built, by replaying the events on a
    copy of the book as it was when recording started. ``len()`` is the number of events
    recorded.
    """

    def __init__(self, OrderBook book) -> None:
        if book.tick_size != 1:
            raise ValueError("a RecordingBook works in ticks: use OrderBook(tick_size=1)")
        self.book = book
        self.initial = book.copy()
        self._rows = np.empty((FIRST_CAPACITY, FIELDS), dtype=np.int64)
        self.rows = _data(self._rows)
        self.capacity = FIRST_CAPACITY
        self.n_rows = 0

    def __len__(self) -> int:
        return self.n_rows

    cdef int _append(self, int64_t ts, int64_t kind, int64_t side, int64_t price, int64_t size,
                     int64_t order_id) except -1:
        cdef int64_t* row
        if self.n_rows == self.capacity:
            grown = np.empty((2 * self.capacity, FIELDS), dtype=np.int64)
            memcpy(_data(grown), self.rows, self.n_rows * FIELDS * sizeof(int64_t))
            self._rows, self.rows, self.capacity = grown, _data(grown), 2 * self.capacity
        row = self.rows + self.n_rows * FIELDS
        row[0], row[1], row[2], row[3], row[4], row[5] = ts, kind, side, price, size, order_id
        self.n_rows += 1
        return 0

    cdef int64_t _limit(self, int64_t side, int64_t price, int64_t size, int64_t order_id,
                        int64_t ts, int64_t agent_id) except -1:
        cdef int64_t executed = self.book._limit(side, price, size, order_id, agent_id, ts,
                                                 GTC_TIF)
        cdef int64_t k
        cdef Fill* fill
        for k in range(self.book.n_fills):
            fill = &self.book.fills[k]
            self._append(ts, C_EXECUTE, -side, fill.price, fill.qty, fill.maker_order_id)
        if executed < size:
            self._append(ts, C_NEW, side, price, size - executed, order_id)
        return executed

    cdef int64_t _cancel(self, int64_t order_id, int64_t ts) except -1:
        cdef int32_t oi = self.book._lookup(order_id)
        cdef Order* order = &self.book.orders[oi]
        cdef int64_t remaining = order.qty
        self._append(ts, C_CANCEL, order.side, order.price, remaining, order_id)
        self.book.n_fills = 0
        self.book._unlink(oi)
        return remaining

    def limit(self, side: int, price: int, size: int, order_id: int, ts: int,
              agent_id: int = 0) -> int:
        """Submit a GTC limit order; return the executed quantity."""
        return self._limit(side, price, size, order_id, ts, agent_id)

    def cancel(self, order_id: int, ts: int) -> int:
        """Cancel a resting order; return its remaining quantity."""
        return self._cancel(order_id, ts)

    def reduce(self, order_id: int, size: int, ts: int, executed: bool = False) -> None:
        """Take ``size`` off a resting order: a partial cancel, or an execution by an unseen
        aggressor when ``executed``."""
        side, price = self.book.order(order_id)[:2]
        self.book.reduce(order_id, size)
        self._append(ts, C_EXECUTE if executed else C_PARTIAL_CANCEL, side, price, size,
                     order_id)

    def events(self) -> np.ndarray:
        """The events recorded so far (a copy, dtype ``EVENT_DTYPE``)."""
        return self.events_since(0)

    def events_since(self, Py_ssize_t start) -> np.ndarray:
        """The events recorded from the ``start``-th on (a copy, dtype ``EVENT_DTYPE``): what a
        reader that saw the first ``start`` has not seen."""
        if not 0 <= start <= self.n_rows:
            raise ValueError(f"start must be in [0, {self.n_rows}], got {start}")
        return (self._rows[start:self.n_rows].copy().view(EVENT_DTYPE)
                .reshape(self.n_rows - start))

    def stream(self, source, report=None, open_mid=None):
        """Everything recorded so far as an :class:`~mars_gym.data.schema.EventStream`."""
        events = self.events()
        return EventStream(source, events, apply_events(self.initial.copy(), events),
                           dict(report or {}), open_mid)


cdef inline int64_t* _data(cnp.ndarray array):
    return <int64_t*>cnp.PyArray_DATA(array)
