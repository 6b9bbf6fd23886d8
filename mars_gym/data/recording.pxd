# The recording book's C interface, for the simulator's compiled event loop
# (mars_gym/sim/_event_loop.pyx), which records without going through Python.

from libc.stdint cimport int64_t

from lob_core._book cimport OrderBook


cdef class RecordingBook:
    cdef readonly OrderBook book
    cdef readonly OrderBook initial
    cdef object _rows         # int64 array (capacity, 6): the events' fields in EVENT_DTYPE order
    cdef int64_t* rows        # its data
    cdef Py_ssize_t capacity
    cdef Py_ssize_t n_rows

    cdef int _append(self, int64_t ts, int64_t kind, int64_t side, int64_t price, int64_t size,
                     int64_t order_id) except -1
    cdef int64_t _limit(self, int64_t side, int64_t price, int64_t size, int64_t order_id,
                        int64_t ts, int64_t agent_id) except -1
    cdef int64_t _cancel(self, int64_t order_id, int64_t ts) except -1
