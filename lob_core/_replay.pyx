# cython: language_level=3
"""LOBSTER messages applied to an :class:`OrderBook` in C, and the replay check.

Replay semantics
----------------
* Type 1 (new limit order) rests without matching: LOBSTER reports the marketable part of an
  incoming order as executions (type 4) of the resting orders it hit.
* Types 2 / 3 / 4 (partial cancel / delete / visible execution) take volume off the order
  with that id. An id the book does not know belongs to an order that rested before the
  window or outside the level-N filter; its volume is part of the *anonymous* volume at that
  (side, price), held by one order with a reserved negative id, and is taken from there.
* Types 5 / 6 / 7 (hidden execution, cross trade, halt) do not change the visible book.

Level-N knowledge window
------------------------
A level-N message file only lists events that touch the best N levels, so the book is known
exactly only on a prefix of each side: prices at least as good as a *known limit*. Seeding
from an orderbook row makes the shown levels known. After every message, a price that falls
beyond the N-th level becomes unknown (its changes will not be reported), so the limit
shrinks to the N-th level. A row of the orderbook file is *determined* when, on both sides,
all of its levels lie inside the known prefix (or the whole side is known); only determined
rows are scored. On an undetermined row the newly shown levels are taken from the file as
anonymous volume (that is what the data says about them) and the known prefix grows to
cover them. After a mismatch the shown levels are re-synchronised the same way, so one
error is counted once instead of poisoning every later row.
"""

from libc.stdint cimport INT64_MAX, INT64_MIN, int32_t, int64_t

import numpy as np

from lob_core._book cimport (
    ERR_DOMAIN, ERR_NOMEM, LOB_MAX_QTY, NIL, Level, OrderBook, anonymous_id, idmap_get)

# Columns of a message array viewed as int64 (n, 6); see lob_core.lobster.MESSAGE_DTYPE.
cdef enum:
    COL_TIME = 0
    COL_TYPE = 1
    COL_ID = 2
    COL_SIZE = 3
    COL_PRICE = 4
    COL_DIRECTION = 5

# Row status codes of replay_compare (C values, re-exported for Python).
cdef enum:
    C_MATCH = 1
    C_MISMATCH = 0
    C_UNDETERMINED = -1
    C_SEED = -2

ROW_MATCH = C_MATCH              # the rebuilt top levels equal the file's
ROW_MISMATCH = C_MISMATCH        # they differ although the data determines them
ROW_UNDETERMINED = C_UNDETERMINED  # the file shows levels the messages never described
ROW_SEED = C_SEED                # the row the book was seeded from

cdef int UNRESOLVED = 1  # the message named volume the book does not hold


cdef int _apply(OrderBook book, const int64_t[::1] m) noexcept nogil:
    """Apply one message. Returns 0, UNRESOLVED, ERR_NOMEM or ERR_DOMAIN."""
    cdef int64_t typ = m[COL_TYPE], oid = m[COL_ID], size = m[COL_SIZE], price = m[COL_PRICE]
    cdef int side = <int>m[COL_DIRECTION]
    cdef int32_t oi
    cdef int64_t take, held
    if typ == 1:
        if idmap_get(&book.ids, oid) != NIL:
            return UNRESOLVED
        if book._level_qty(side, price) > LOB_MAX_QTY - size:
            return ERR_DOMAIN
        if book._reserve_rest(side) != 0:
            return ERR_NOMEM
        book._rest(side, price, size, oid, 0, m[COL_TIME])
        return 0
    if typ < 2 or typ > 4:
        return 0
    oi = idmap_get(&book.ids, oid)
    if oi != NIL and book.orders[oi].price == price:
        held = book.orders[oi].qty
        take = held if typ == 3 else size  # a delete removes whatever the order has left
    else:
        oi = idmap_get(&book.ids, anonymous_id(side, price))
        if oi == NIL:
            return UNRESOLVED
        held = book.orders[oi].qty
        take = size
    if take > held:
        book._reduce(oi, held)
        return UNRESOLVED
    book._reduce(oi, take)
    return 0


cdef int _add_anonymous(OrderBook book, int side, int64_t price, int64_t qty,
                        int64_t ts) noexcept nogil:
    if book._reserve_rest(side) != 0:
        return ERR_NOMEM
    book._rest(side, price, qty, anonymous_id(side, price), 0, ts)
    return 0


cdef inline int64_t _depth_key(int side, int64_t price) noexcept nogil:
    """Grows away from the touch on both sides (bids: -price, asks: price)."""
    return -side * price


cdef inline int _file_levels(const int64_t[::1] row, int side, int n_levels) noexcept nogil:
    """Number of leading occupied levels of one side of a LOBSTER orderbook row."""
    cdef int off = 0 if side < 0 else 2, k = 0
    while k < n_levels and row[4 * k + off + 1] > 0:
        k += 1
    return k


cdef int _seed(OrderBook book, const int64_t[::1] row, int n_levels, int64_t ts,
               int64_t* known) noexcept nogil:
    """Add a row's levels as anonymous volume; set each side's known limit."""
    cdef int side, s, k, off, shown
    for s in range(2):
        side = 1 if s == 0 else -1
        off = 0 if side < 0 else 2
        shown = _file_levels(row, side, n_levels)
        for k in range(shown):
            if _add_anonymous(book, side, row[4 * k + off], row[4 * k + off + 1], ts) != 0:
                return ERR_NOMEM
        known[s] = _depth_key(side, row[4 * (n_levels - 1) + off]) if shown == n_levels else INT64_MAX
    return 0


cdef void _shrink(OrderBook book, int stream_level, int64_t* known) noexcept nogil:
    """Prices beyond the stream's N-th level are no longer reported: forget them."""
    cdef int s, side
    cdef int32_t n
    cdef int64_t key
    for s in range(2):
        side = 1 if s == 0 else -1
        n = book.side_n[s]
        if n >= stream_level:
            key = _depth_key(side, book.levels[book.side_levels[s][n - stream_level]].price)
            if key < known[s]:
                known[s] = key


cdef int _compare_side(OrderBook book, const int64_t[::1] row, int side, int n_levels,
                       int64_t known) noexcept nogil:
    """C_MATCH / C_MISMATCH / C_UNDETERMINED for one side of one row."""
    cdef int s = 0 if side > 0 else 1, off = 0 if side < 0 else 2, k
    cdef int shown = _file_levels(row, side, n_levels)
    cdef int32_t n = book.side_n[s]
    cdef Level* lvl
    if known != INT64_MAX and not (
            shown == n_levels and _depth_key(side, row[4 * (n_levels - 1) + off]) <= known):
        return C_UNDETERMINED
    for k in range(n_levels):
        if k < shown:
            if k >= n:
                return C_MISMATCH
            lvl = &book.levels[book.side_levels[s][n - 1 - k]]
            if lvl.price != row[4 * k + off] or lvl.qty != row[4 * k + off + 1]:
                return C_MISMATCH
        elif k < n:
            return C_MISMATCH
    return C_MATCH


cdef int _sync_side(OrderBook book, const int64_t[::1] row, int side, int n_levels,
                    int64_t from_key, int64_t ts, int64_t* known) noexcept nogil:
    """Take the levels the row shows beyond ``from_key`` from the file, as anonymous volume."""
    cdef int s = 0 if side > 0 else 1, off = 0 if side < 0 else 2, k
    cdef int shown = _file_levels(row, side, n_levels)
    cdef int64_t to_key = (_depth_key(side, row[4 * (n_levels - 1) + off])
                           if shown == n_levels else INT64_MAX)
    cdef int64_t key
    cdef int32_t pos = book.side_n[s] - 1
    while pos >= 0:  # best to worst; wiping arr[pos] only shifts the better entries
        key = _depth_key(side, book.levels[book.side_levels[s][pos]].price)
        if key > to_key:
            break
        if key > from_key:
            book._wipe_level(side, pos)
        pos -= 1
    for k in range(shown):
        key = _depth_key(side, row[4 * k + off])
        if from_key < key <= to_key:
            if _add_anonymous(book, side, row[4 * k + off], row[4 * k + off + 1], ts) != 0:
                return ERR_NOMEM
    known[s] = to_key
    return 0


def apply_messages(OrderBook book, const int64_t[:, ::1] messages):
    """Apply LOBSTER messages (int64 ``(n, 6)`` view) in C; return the unresolved count."""
    cdef Py_ssize_t i = 0
    cdef int rc = 0
    cdef int64_t unresolved = 0
    with nogil:
        for i in range(messages.shape[0]):
            rc = _apply(book, messages[i])
            if rc < 0:
                break
            unresolved += rc
    _raise_for(rc, i)
    return unresolved


cdef int _raise_for(int rc, Py_ssize_t i) except -1:
    """Raise the error of a failed batch at message ``i`` (the messages before it stay applied)."""
    if rc == ERR_NOMEM:
        raise MemoryError(f"cannot grow the order book at message {i}")
    if rc == ERR_DOMAIN:
        raise ValueError(f"message {i} would make a price level's total exceed MAX_QTY = 2**62 - 1")
    return 0


def seed(OrderBook book, const int64_t[::1] row, int64_t ts=0):
    """Add the levels of one LOBSTER orderbook row as anonymous volume."""
    cdef int64_t known[2]
    if row.shape[0] % 4 != 0 or row.shape[0] == 0:
        raise ValueError(f"an orderbook row has 4 columns per level, got {row.shape[0]}")
    if _seed(book, row, row.shape[0] // 4, ts, known) != 0:
        raise MemoryError("cannot grow the order book")


cdef int _step(OrderBook book, const int64_t[:, ::1] messages, const int64_t[:, ::1] orderbook,
               Py_ssize_t i, int n_levels, int stream_level, int64_t* known,
               signed char* row_status, int64_t* unresolved) noexcept nogil:
    """Apply message ``i``, forget what falls beyond the N-th level, then score orderbook row
    ``i`` (when there is one: ``i < orderbook.shape[0]``) into ``row_status`` and take what the
    row shows beyond the known prefix from the file. 0, or an ``ERR_*`` code."""
    cdef int rc = _apply(book, messages[i]), s, side, result
    if rc < 0:
        return rc
    unresolved[0] += rc
    _shrink(book, stream_level, known)
    if i >= orderbook.shape[0]:
        return 0
    row_status[0] = C_MATCH
    for s in range(2):
        side = 1 if s == 0 else -1
        result = _compare_side(book, orderbook[i], side, n_levels, known[s])
        if result == C_MATCH:
            continue
        if row_status[0] != C_MISMATCH:
            row_status[0] = result
        rc = _sync_side(book, orderbook[i], side, n_levels,
                        known[s] if result == C_UNDETERMINED else INT64_MIN,
                        messages[i, COL_TIME], known)
        if rc != 0:
            return rc
    return 0


def replay_compare(OrderBook book, const int64_t[:, ::1] messages,
                   const int64_t[:, ::1] orderbook, const int64_t[::1] seed_row,
                   int stream_level, int64_t[:, ::1] states=None, Py_ssize_t keep_every=0,
                   list kept=None):
    """Seed ``book`` from ``seed_row`` (the book after message 0), apply messages 1..n-1 and
    score each orderbook row against the rebuilt book (see the module docstring).

    If ``states`` (int64, ``(n_messages, 2 + 2 * k)``) is given, row i receives the book's
    :meth:`OrderBook.tick_state` with k ticks just *before* message i (row 0: the seed).

    With ``keep_every > 0``, ``kept`` receives ``(i, book, known_bid, known_ask)``: a copy of the
    book just before message i and its known limits, for i = 1 and every multiple of
    ``keep_every`` below n (and i = 1 even for a single message), from which
    :func:`replay_resume` continues.

    Returns ``(status, unresolved)``: an int8 array with one ROW_* code per orderbook row
    (row 0 is ROW_SEED) and the number of messages that named volume the book did not hold.
    """
    cdef Py_ssize_t n_msgs = messages.shape[0], n_rows = orderbook.shape[0], i, stop
    cdef int n_levels = orderbook.shape[1] // 4, seed_levels = seed_row.shape[0] // 4
    cdef int64_t known[2]
    cdef int64_t unresolved = 0, ts
    cdef int rc = 0
    cdef signed char scratch = 0
    cdef bint record = states is not None
    cdef int n_ticks = 0
    if record:
        if states.shape[0] != n_msgs or states.shape[1] < 2 or states.shape[1] % 2:
            raise ValueError("states must have shape (n_messages, 2 + 2 * n_ticks)")
        n_ticks = (states.shape[1] - 2) // 2
    if keep_every > 0 and kept is None:
        raise ValueError("keep_every needs a list to keep the books in")
    status_array = np.full(n_rows, C_UNDETERMINED, dtype=np.int8)
    cdef signed char[::1] status = status_array
    if orderbook.shape[1] % 4 != 0 or seed_row.shape[0] % 4 != 0 or n_levels == 0:
        raise ValueError("orderbook rows need 4 columns per level")
    if len(book) != 0:
        raise ValueError("replay_compare needs an empty book")
    if stream_level < 1:
        raise ValueError(f"stream_level must be >= 1, got {stream_level}")
    if n_rows > 0:
        status[0] = C_SEED
    with nogil:
        ts = messages[0, COL_TIME] if n_msgs > 0 else 0
        rc = _seed(book, seed_row, seed_levels, ts, known)
        _shrink(book, stream_level, known)
        if record and n_msgs > 0:
            book._tick_state(&states[0, 0], n_ticks)
    i = 1
    if keep_every > 0 and rc == 0:
        kept.append((1, book.copy(), int(known[0]), int(known[1])))
    while rc == 0 and i < n_msgs:
        if keep_every > 0 and i % keep_every == 0 and i > 1:
            kept.append((int(i), book.copy(), int(known[0]), int(known[1])))
        stop = n_msgs if keep_every <= 0 else min(n_msgs, (i // keep_every + 1) * keep_every)
        with nogil:
            while i < stop:
                if record:
                    book._tick_state(&states[i, 0], n_ticks)
                rc = _step(book, messages, orderbook, i, n_levels, stream_level, known,
                           &status[i] if i < n_rows else &scratch, &unresolved)
                if rc != 0:
                    break
                i += 1
    _raise_for(rc, i)
    return status_array, unresolved


def replay_resume(OrderBook book, int64_t known_bid, int64_t known_ask,
                  const int64_t[:, ::1] messages, const int64_t[:, ::1] orderbook,
                  int stream_level, Py_ssize_t start, Py_ssize_t stop):
    """Continue a replay (:func:`replay_compare`) on ``book``, the book just before message
    ``start`` with its known limits, up to just before message ``stop``: the same book the
    whole replay holds there. Returns the known limits then."""
    cdef int64_t known[2]
    cdef int64_t unresolved = 0
    cdef int n_levels = orderbook.shape[1] // 4
    cdef int rc = 0
    cdef signed char scratch = 0
    cdef Py_ssize_t i = start
    if not 1 <= start <= stop <= messages.shape[0]:
        raise ValueError(f"resume needs 1 <= start <= stop <= {messages.shape[0]}, got "
                         f"{start}, {stop}")
    if orderbook.shape[1] % 4 != 0 or n_levels == 0:
        raise ValueError("orderbook rows need 4 columns per level")
    known[0], known[1] = known_bid, known_ask
    with nogil:
        while i < stop:
            rc = _step(book, messages, orderbook, i, n_levels, stream_level, known, &scratch,
                       &unresolved)
            if rc != 0:
                break
            i += 1
    _raise_for(rc, i)
    return int(known[0]), int(known[1])
