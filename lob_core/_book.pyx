# cython: language_level=3
"""Price-time priority limit order book in C (see ``_book.pxd`` for the layout).

The Python methods check and convert their input, raise a clear error naming the offending
value *before* touching any state, then call ``noexcept nogil`` C routines that cannot fail
half-way (memory is reserved up front). Fills land in a preallocated buffer that
:attr:`OrderBook.fills` exposes as a numpy view.
"""

cimport numpy as cnp
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_CheckExact
from libc.stdint cimport INT64_MAX, INT64_MIN, int32_t, int64_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memmove

from operator import index as _index

import numpy as np

from lob_core.errors import (
    DuplicateOrderError,
    InvalidOrderIdError,
    InvalidOrderTypeError,
    InvalidPriceError,
    InvalidQuantityError,
    InvalidSideError,
    OutOfRangeError,
    UnknownOrderError,
)

cnp.import_array()

# C-level constants (no Python lookups on the hot path), re-exported below.
cdef enum:
    C_GTC = 0
    C_IOC = 1
    C_FOK = 2
    C_POST_ONLY = 3
    C_RESTED = 0
    C_FILLED = 1
    C_CANCELLED = 2
    C_KILLED = 3
    C_REJECTED = 4

BUY = 1
SELL = -1

# The value domain (see _book.pxd): every sum the book forms stays inside int64.
MAX_PRICE = LOB_MAX_PRICE  # largest price and tick size: 2**61 - 1
MAX_QTY = LOB_MAX_QTY      # largest order size and price-level total: 2**62 - 1

# Time in force of limit orders.
GTC = C_GTC              # rest what is not filled
IOC = C_IOC              # fill what can be filled now, cancel the rest
FOK = C_FOK              # fill everything now or nothing
POST_ONLY = C_POST_ONLY  # rest without taking; rejected (nothing happens) if it would cross

# Outcome of the last order-entry call, in ``OrderBook.last_outcome``.
RESTED = C_RESTED        # the remainder (possibly all of it) rests in the book
FILLED = C_FILLED        # fully executed on arrival
CANCELLED = C_CANCELLED  # IOC / market: the unfilled remainder was cancelled
KILLED = C_KILLED        # FOK could not be filled entirely: nothing happened
REJECTED = C_REJECTED    # post-only would have crossed: nothing happened

FILL_DTYPE = np.dtype([
    ("price", "<i8"), ("qty", "<i8"), ("maker_order_id", "<i8"), ("taker_order_id", "<i8"),
    ("maker_agent_id", "<i8"), ("taker_agent_id", "<i8"), ("ts", "<i8"), ("taker_side", "<i8"),
])
QUEUE_DTYPE = np.dtype([("order_id", "<i8"), ("agent_id", "<i8"), ("qty", "<i8"), ("ts", "<i8")])
ORDER_DTYPE = np.dtype([
    ("side", "<i8"), ("price", "<i8"), ("order_id", "<i8"), ("agent_id", "<i8"),
    ("qty", "<i8"), ("ts", "<i8"),
])
assert FILL_DTYPE.itemsize == sizeof(Fill)

cdef int64_t ID_EMPTY = INT64_MIN
cdef int32_t INITIAL_CAPACITY = 256


# ---------------------------------------------------------------------------------------------
# Open-addressing hash map order_id -> pool index (linear probing, backward-shift deletion).

cdef inline uint64_t _hash(int64_t key) noexcept nogil:
    cdef uint64_t h = <uint64_t>key * <uint64_t>0x9E3779B97F4A7C15
    return h ^ (h >> 29)


cdef int _idmap_alloc(IdMap* m, uint64_t capacity) noexcept nogil:
    cdef int64_t* keys = <int64_t*>malloc(capacity * sizeof(int64_t))
    cdef int32_t* vals = <int32_t*>malloc(capacity * sizeof(int32_t))
    cdef uint64_t i
    if keys == NULL or vals == NULL:
        free(keys)
        free(vals)
        return ERR_NOMEM
    for i in range(capacity):
        keys[i] = ID_EMPTY
    m.keys = keys
    m.vals = vals
    m.mask = capacity - 1
    m.used = 0
    return 0


cdef inline void _idmap_insert_absent(IdMap* m, int64_t key, int32_t val) noexcept nogil:
    cdef uint64_t i = _hash(key) & m.mask
    while m.keys[i] != ID_EMPTY:
        i = (i + 1) & m.mask
    m.keys[i] = key
    m.vals[i] = val
    m.used += 1


cdef int _idmap_reserve(IdMap* m, int64_t extra) noexcept nogil:
    """Grow so that ``extra`` more keys keep the load factor <= 1/2."""
    cdef int64_t* old_keys = m.keys
    cdef int32_t* old_vals = m.vals
    cdef uint64_t old_capacity = m.mask + 1
    cdef uint64_t capacity = old_capacity
    cdef uint64_t i
    while <uint64_t>(m.used + extra) * 2 > capacity:
        capacity *= 2
    if capacity == old_capacity:
        return 0
    if _idmap_alloc(m, capacity) != 0:
        m.keys, m.vals, m.mask = old_keys, old_vals, old_capacity - 1
        return ERR_NOMEM
    for i in range(old_capacity):
        if old_keys[i] != ID_EMPTY:
            _idmap_insert_absent(m, old_keys[i], old_vals[i])
    free(old_keys)
    free(old_vals)
    return 0


cdef int32_t idmap_get(const IdMap* m, int64_t key) noexcept nogil:
    cdef uint64_t i = _hash(key) & m.mask
    cdef int64_t k
    if key == ID_EMPTY:  # the empty-slot marker is never a key
        return NIL
    while True:
        k = m.keys[i]
        if k == key:
            return m.vals[i]
        if k == ID_EMPTY:
            return NIL
        i = (i + 1) & m.mask


cdef int idmap_put(IdMap* m, int64_t key, int32_t val) noexcept nogil:
    """Insert a key that is not present."""
    if _idmap_reserve(m, 1) != 0:
        return ERR_NOMEM
    _idmap_insert_absent(m, key, val)
    return 0


cdef void idmap_del(IdMap* m, int64_t key) noexcept nogil:
    cdef uint64_t i = _hash(key) & m.mask
    cdef uint64_t j, home
    if key == ID_EMPTY:
        return
    while m.keys[i] != key:
        if m.keys[i] == ID_EMPTY:
            return
        i = (i + 1) & m.mask
    j = i
    while True:
        j = (j + 1) & m.mask
        if m.keys[j] == ID_EMPTY:
            break
        home = _hash(m.keys[j]) & m.mask
        # The entry at j may fill the hole at i only if its home slot is not in (i, j].
        if (i < home <= j) if i <= j else (home > i or home <= j):
            continue
        m.keys[i] = m.keys[j]
        m.vals[i] = m.vals[j]
        i = j
    m.keys[i] = ID_EMPTY
    m.used -= 1


# ---------------------------------------------------------------------------------------------
# Input checks: raise before any state changes.

cdef str _excerpt(object value):
    """``repr(value)`` cut to a readable length for error messages."""
    cdef str text = repr(value)
    return text if len(text) <= 60 else text[:40] + "..." + text[-10:]


cdef inline int64_t _int(object value, str name) except? -1:
    """An exact int64 (Cython alone would truncate floats and raise unnamed overflows)."""
    cdef int overflow = 0
    cdef long long converted
    if not PyLong_CheckExact(value):
        try:
            value = _index(value)
        except TypeError:
            raise TypeError(f"{name} must be an integer, got {_excerpt(value)} of type "
                            f"{type(value).__name__}") from None
    converted = PyLong_AsLongLongAndOverflow(value, &overflow)
    if overflow:
        raise OutOfRangeError(f"{name} must fit in a signed 64-bit integer, got {_excerpt(value)}")
    return converted


cdef inline int _check_side(int64_t side) except -1:
    if side != 1 and side != -1:
        raise InvalidSideError(f"side must be BUY (1) or SELL (-1), got {side}")
    return 0


cdef inline int _check_qty(int64_t qty) except -1:
    if qty <= 0:
        raise InvalidQuantityError(f"quantity must be a positive integer, got {qty}")
    if qty > LOB_MAX_QTY:
        raise InvalidQuantityError(f"quantity must be at most MAX_QTY = 2**62 - 1, got {qty}")
    return 0


cdef inline int _check_count(int64_t n, int64_t limit, str name) except -1:
    if n < 0 or n > limit:
        raise ValueError(f"{name} must be an integer in [0, {limit}], got {n}")
    return 0


cdef inline int _side_index(int side) noexcept nogil:
    return 0 if side > 0 else 1


cdef class OrderBook:
    """A limit order book with price-time priority, integer prices and quantities.

    Parameters
    ----------
    tick_size : int, default 1
        Every price must be a positive multiple of it (LOBSTER prices are dollars x 10 000,
        so a one-cent tick is 100).

    The value domain: prices and the tick size in ``[1, MAX_PRICE]`` (``2**61 - 1``), order
    sizes and every price level's total in ``[1, MAX_QTY]`` (``2**62 - 1``), ids, agent ids
    and times any int64. An order that would push a level's total past ``MAX_QTY`` is
    rejected, so no sum inside the book can overflow.

    Notes
    -----
    * Sides: ``BUY = 1`` (bids), ``SELL = -1`` (asks).
    * Trades happen at the resting order's price. Priority is price, then arrival order.
    * Order ids are caller-chosen non-negative integers, unique among resting orders.
    * Order-entry calls return the quantity executed on arrival; the fills of the last call are
      in :attr:`fills` and what happened to the remainder in :attr:`last_outcome`.
    * Any rejected call raises a subclass of :class:`lob_core.errors.OrderBookError` naming the
      offending value and leaves the book exactly as it was.
    * No self-trade prevention: an agent's orders may trade with each other.

    Examples
    --------
    >>> from lob_core import OrderBook, BUY, SELL
    >>> book = OrderBook(tick_size=100)
    >>> book.limit(SELL, 10_100, 5, order_id=1)
    0
    >>> book.limit(BUY, 10_100, 3, order_id=2)
    3
    >>> book.fills[["price", "qty", "maker_order_id"]].tolist()
    [(10100, 3, 1)]
    >>> book.best_ask, book.level_volume(SELL, 10_100)
    (10100, 2)
    """

    def __cinit__(self, tick_size=1):
        cdef int64_t tick = _int(tick_size, "tick_size")
        if tick <= 0 or tick > LOB_MAX_PRICE:
            raise ValueError(f"tick_size must be an integer in [1, MAX_PRICE], got {tick}")
        self.tick_size = tick
        self.orders = <Order*>malloc(INITIAL_CAPACITY * sizeof(Order))
        self.levels = <Level*>malloc(INITIAL_CAPACITY * sizeof(Level))
        self.side_levels[0] = <int32_t*>malloc(INITIAL_CAPACITY * sizeof(int32_t))
        self.side_levels[1] = <int32_t*>malloc(INITIAL_CAPACITY * sizeof(int32_t))
        if (self.orders == NULL or self.levels == NULL or self.side_levels[0] == NULL
                or self.side_levels[1] == NULL or _idmap_alloc(&self.ids, 2 * INITIAL_CAPACITY) != 0):
            raise MemoryError("cannot allocate the order book")
        self.orders_cap = self.levels_cap = INITIAL_CAPACITY
        self.side_cap[0] = self.side_cap[1] = INITIAL_CAPACITY
        self._reset_state()
        self._fill_array = np.zeros(INITIAL_CAPACITY, dtype=FILL_DTYPE)
        self.fills = <Fill*>cnp.PyArray_DATA(self._fill_array)
        self.fills_cap = INITIAL_CAPACITY

    def __dealloc__(self):
        free(self.orders)
        free(self.levels)
        free(self.side_levels[0])
        free(self.side_levels[1])
        free(self.ids.keys)
        free(self.ids.vals)

    cdef void _reset_state(self) noexcept nogil:
        cdef uint64_t i
        self.orders_top = self.levels_top = 0
        self.free_order = self.free_level = NIL
        self.side_n[0] = self.side_n[1] = 0
        self.n_orders = 0
        self.n_fills = 0
        self.last_outcome = C_RESTED
        for i in range(self.ids.mask + 1):
            self.ids.keys[i] = ID_EMPTY
        self.ids.used = 0

    # -----------------------------------------------------------------------------------------
    # C core. None of these raise; allocation is reserved beforehand by _reserve_rest.

    cdef int32_t _find(self, int side, int64_t price) noexcept nogil:
        """Position of the level at ``price`` in its side array, or ``-(insert position) - 1``."""
        cdef int s = _side_index(side)
        cdef int32_t* arr = self.side_levels[s]
        cdef int32_t n = self.side_n[s], lo = 0, hi, mid
        cdef int64_t key = side * price, best_key
        if n > 0:  # most activity is at the touch: check it first
            best_key = side * self.levels[arr[n - 1]].price
            if key == best_key:
                return n - 1
            if key > best_key:
                return -n - 1
        hi = n
        while lo < hi:
            mid = (lo + hi) >> 1
            if side * self.levels[arr[mid]].price < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < n and side * self.levels[arr[lo]].price == key:
            return lo
        return -lo - 1

    cdef int64_t _level_qty(self, int side, int64_t price) noexcept nogil:
        """Total resting at ``price`` on ``side`` (0 when the level is empty)."""
        cdef int32_t pos = self._find(side, price)
        return 0 if pos < 0 else self.levels[self.side_levels[_side_index(side)][pos]].qty

    cdef Level* _best(self, int side) noexcept nogil:
        cdef int s = _side_index(side)
        if self.side_n[s] == 0:
            return NULL
        return &self.levels[self.side_levels[s][self.side_n[s] - 1]]

    cdef int _reserve_rest(self, int side) noexcept nogil:
        """Make room for one more order, level and id so that _rest cannot fail."""
        cdef int s = _side_index(side)
        cdef void* p
        if self.free_order == NIL and self.orders_top == self.orders_cap:
            p = realloc(self.orders, 2 * self.orders_cap * sizeof(Order))
            if p == NULL:
                return ERR_NOMEM
            self.orders = <Order*>p
            self.orders_cap *= 2
        if self.free_level == NIL and self.levels_top == self.levels_cap:
            p = realloc(self.levels, 2 * self.levels_cap * sizeof(Level))
            if p == NULL:
                return ERR_NOMEM
            self.levels = <Level*>p
            self.levels_cap *= 2
        if self.side_n[s] == self.side_cap[s]:
            p = realloc(self.side_levels[s], 2 * self.side_cap[s] * sizeof(int32_t))
            if p == NULL:
                return ERR_NOMEM
            self.side_levels[s] = <int32_t*>p
            self.side_cap[s] *= 2
        return _idmap_reserve(&self.ids, 1)

    cdef int32_t _rest(self, int side, int64_t price, int64_t qty, int64_t order_id,
                       int64_t agent_id, int64_t ts) noexcept nogil:
        """Append an order at the back of its level's queue (no matching). Needs _reserve_rest."""
        cdef int s = _side_index(side)
        cdef int32_t pos = self._find(side, price)
        cdef int32_t li, oi
        cdef int32_t* arr = self.side_levels[s]
        cdef Level* lvl
        cdef Order* o
        if pos < 0:
            pos = -pos - 1
            if self.free_level != NIL:
                li = self.free_level
                self.free_level = self.levels[li].head
            else:
                li = self.levels_top
                self.levels_top += 1
            memmove(&arr[pos + 1], &arr[pos], (self.side_n[s] - pos) * sizeof(int32_t))
            arr[pos] = li
            self.side_n[s] += 1
            lvl = &self.levels[li]
            lvl.price = price
            lvl.qty = 0
            lvl.count = 0
            lvl.head = lvl.tail = NIL
            lvl.side = side
        else:
            li = arr[pos]
            lvl = &self.levels[li]
        if self.free_order != NIL:
            oi = self.free_order
            self.free_order = self.orders[oi].next
        else:
            oi = self.orders_top
            self.orders_top += 1
        o = &self.orders[oi]
        o.order_id = order_id
        o.agent_id = agent_id
        o.price = price
        o.qty = qty
        o.ts = ts
        o.level = li
        o.side = side
        o.next = NIL
        o.prev = lvl.tail
        if lvl.tail != NIL:
            self.orders[lvl.tail].next = oi
        else:
            lvl.head = oi
        lvl.tail = oi
        lvl.qty += qty
        lvl.count += 1
        _idmap_insert_absent(&self.ids, order_id, oi)
        self.n_orders += 1
        return oi

    cdef void _remove_level_at(self, int side, int32_t pos) noexcept nogil:
        cdef int s = _side_index(side)
        cdef int32_t* arr = self.side_levels[s]
        cdef int32_t li = arr[pos]
        memmove(&arr[pos], &arr[pos + 1], (self.side_n[s] - pos - 1) * sizeof(int32_t))
        self.side_n[s] -= 1
        self.levels[li].head = self.free_level
        self.free_level = li

    cdef void _unlink(self, int32_t oi) noexcept nogil:
        """Remove a resting order (and its level if it becomes empty)."""
        cdef Order* o = &self.orders[oi]
        cdef Level* lvl = &self.levels[o.level]
        if o.prev != NIL:
            self.orders[o.prev].next = o.next
        else:
            lvl.head = o.next
        if o.next != NIL:
            self.orders[o.next].prev = o.prev
        else:
            lvl.tail = o.prev
        lvl.qty -= o.qty
        lvl.count -= 1
        idmap_del(&self.ids, o.order_id)
        o.next = self.free_order
        self.free_order = oi
        self.n_orders -= 1
        if lvl.count == 0:
            self._remove_level_at(o.side, self._find(o.side, lvl.price))

    cdef void _reduce(self, int32_t oi, int64_t by) noexcept nogil:
        """Take ``by`` (<= remaining) off an order in place: it keeps its queue position."""
        cdef Order* o = &self.orders[oi]
        o.qty -= by
        self.levels[o.level].qty -= by
        if o.qty == 0:
            self._unlink(oi)

    cdef void _wipe_level(self, int side, int32_t pos) noexcept nogil:
        """Remove every order of the level at ``pos`` and the level itself."""
        cdef int32_t li = self.side_levels[_side_index(side)][pos]
        cdef int32_t oi = self.levels[li].head, nxt
        while oi != NIL:
            nxt = self.orders[oi].next
            idmap_del(&self.ids, self.orders[oi].order_id)
            self.orders[oi].next = self.free_order
            self.free_order = oi
            self.n_orders -= 1
            oi = nxt
        self._remove_level_at(side, pos)

    cdef int64_t _match(self, int side, int64_t limit_price, int64_t qty, int64_t order_id,
                        int64_t agent_id, int64_t ts) noexcept nogil:
        """Execute an incoming order against the opposite side up to ``limit_price``.

        Needs fill capacity for one fill per opposite resting order (_reserve_fills).
        Returns the executed quantity.
        """
        cdef int64_t executed = 0, q
        cdef Level* lvl
        cdef Order* o
        cdef Fill* f
        cdef int32_t oi
        cdef bint last
        while qty > 0:
            lvl = self._best(-side)
            if lvl == NULL or side * lvl.price > side * limit_price:
                break
            while qty > 0:
                oi = lvl.head
                o = &self.orders[oi]
                q = o.qty if o.qty < qty else qty
                f = &self.fills[self.n_fills]
                self.n_fills += 1
                f.price = lvl.price
                f.qty = q
                f.maker_order_id = o.order_id
                f.taker_order_id = order_id
                f.maker_agent_id = o.agent_id
                f.taker_agent_id = agent_id
                f.ts = ts
                f.taker_side = side
                qty -= q
                executed += q
                if q == o.qty:
                    last = lvl.count == 1
                    self._unlink(oi)
                    if last:
                        break
                else:
                    o.qty -= q
                    lvl.qty -= q
        return executed

    cdef int64_t _available(self, int side, int64_t limit_price, int64_t qty) noexcept nogil:
        """Opposite-side quantity at acceptable prices, counted until it reaches ``qty``."""
        cdef int s = _side_index(-side)
        cdef int32_t* arr = self.side_levels[s]
        cdef int32_t k = self.side_n[s] - 1
        cdef int64_t total = 0
        while k >= 0 and total < qty:
            if side * self.levels[arr[k]].price > side * limit_price:
                break
            total += self.levels[arr[k]].qty
            k -= 1
        return total

    cdef bint _crosses(self, int side, int64_t price) noexcept nogil:
        cdef Level* opposite = self._best(-side)
        return opposite != NULL and side * price >= side * opposite.price

    cdef void _tick_state(self, int64_t* out, int n_ticks) noexcept nogil:
        """Write ``[bid, ask, bid_qty[0..n), ask_qty[0..n)]``: the best prices (0 when a side is
        empty) and the volume at ``bid - k * tick`` and ``ask + k * tick`` for k < n_ticks."""
        cdef int s, side, k
        cdef int32_t pos
        cdef Level* best
        for s in range(2):
            side = 1 if s == 0 else -1
            best = self._best(side)
            out[s] = 0 if best == NULL else best.price
            for k in range(n_ticks):
                out[2 + s * n_ticks + k] = 0
                if best != NULL:
                    pos = self._find(side, best.price - side * k * self.tick_size)
                    if pos >= 0:
                        out[2 + s * n_ticks + k] = self.levels[self.side_levels[s][pos]].qty

    # -----------------------------------------------------------------------------------------
    # Python boundary helpers.

    cdef int _reserve_fills(self) except -1:
        cdef int64_t need = self.n_orders + 1
        if self.fills_cap < need:
            self._fill_array = np.zeros(max(need, 2 * self.fills_cap), dtype=FILL_DTYPE)
            self.fills = <Fill*>cnp.PyArray_DATA(self._fill_array)
            self.fills_cap = self._fill_array.shape[0]
        return 0

    cdef int _check_price(self, int64_t price) except -1:
        if price <= 0:
            raise InvalidPriceError(f"price must be positive, got {price}")
        if price > LOB_MAX_PRICE:
            raise InvalidPriceError(f"price must be at most MAX_PRICE = 2**61 - 1, got {price}")
        if price % self.tick_size != 0:
            raise InvalidPriceError(
                f"price {price} is not a multiple of the tick size {self.tick_size}")
        return 0

    cdef int _check_new_id(self, int64_t order_id) except -1:
        if order_id < 0:
            raise InvalidOrderIdError(
                f"order_id must be non-negative, got {order_id} (negative ids are reserved)")
        if idmap_get(&self.ids, order_id) != NIL:
            raise DuplicateOrderError(f"order_id {order_id} is already resting in the book")
        return 0

    cdef int _check_level_room(self, int side, int64_t price, int64_t qty) except -1:
        """Refuse to rest ``qty`` more at a level whose total would pass MAX_QTY."""
        cdef int64_t total = self._level_qty(side, price)
        if total > LOB_MAX_QTY - qty:
            raise InvalidQuantityError(
                f"resting {qty} more at price {price} would make the level total exceed "
                f"MAX_QTY = 2**62 - 1 (the level holds {total})")
        return 0

    cdef int32_t _lookup(self, int64_t order_id) except -2:
        cdef int32_t oi = idmap_get(&self.ids, order_id)
        if oi == NIL:
            raise UnknownOrderError(f"no resting order with order_id {order_id}")
        return oi

    cdef int _reserve_or_raise(self, int side) except -1:
        if self._reserve_rest(side) != 0:
            raise MemoryError("cannot grow the order book")
        return 0

    # -----------------------------------------------------------------------------------------
    # Order entry.

    def limit(self, side, price, qty, order_id, agent_id=0, ts=0, tif=C_GTC):
        """Submit a limit order; return the quantity executed on arrival.

        Parameters
        ----------
        side : {BUY, SELL}
        price : int
            Positive multiple of :attr:`tick_size`.
        qty : int
            Positive quantity.
        order_id : int
            Non-negative id, not used by any resting order.
        agent_id : int, default 0
            Owner, reported in fills.
        ts : int, default 0
            Arrival time in ns, reported in fills.
        tif : {GTC, IOC, FOK, POST_ONLY}, default GTC
            GTC rests the remainder; IOC cancels it; FOK executes all or nothing;
            POST_ONLY rests without taking and is rejected (no effect) if it would cross.
        """
        return self._limit(_int(side, "side"), _int(price, "price"), _int(qty, "qty"),
                           _int(order_id, "order_id"), _int(agent_id, "agent_id"),
                           _int(ts, "ts"), _int(tif, "tif"))

    cdef int64_t _limit(self, int64_t side, int64_t price, int64_t qty, int64_t order_id,
                        int64_t agent_id, int64_t ts, int64_t tif) except -1:
        cdef int64_t executed
        _check_side(side)
        self._check_price(price)
        _check_qty(qty)
        self._check_new_id(order_id)
        if tif < C_GTC or tif > C_POST_ONLY:
            raise InvalidOrderTypeError(
                f"tif must be GTC (0), IOC (1), FOK (2) or POST_ONLY (3), got {tif}")
        if tif == C_GTC or tif == C_POST_ONLY:
            self._check_level_room(side, price, qty)
        self.n_fills = 0
        if tif == C_POST_ONLY and self._crosses(side, price):
            self.last_outcome = C_REJECTED
            return 0
        if tif == C_FOK and self._available(side, price, qty) < qty:
            self.last_outcome = C_KILLED
            return 0
        self._reserve_fills()
        if tif == C_GTC or tif == C_POST_ONLY:
            self._reserve_or_raise(side)
        executed = self._match(side, price, qty, order_id, agent_id, ts)
        if executed == qty:
            self.last_outcome = C_FILLED
        elif tif == C_GTC or tif == C_POST_ONLY:
            self._rest(side, price, qty - executed, order_id, agent_id, ts)
            self.last_outcome = C_RESTED
        else:
            self.last_outcome = C_CANCELLED
        return executed

    def market(self, side, qty, order_id, agent_id=0, ts=0):
        """Execute ``qty`` against the opposite side at any price; cancel what is left.

        Returns the executed quantity (less than ``qty`` when the book runs dry).
        """
        return self._market(_int(side, "side"), _int(qty, "qty"), _int(order_id, "order_id"),
                            _int(agent_id, "agent_id"), _int(ts, "ts"))

    cdef int64_t _market(self, int64_t side, int64_t qty, int64_t order_id, int64_t agent_id,
                         int64_t ts) except -1:
        cdef int64_t executed
        _check_side(side)
        _check_qty(qty)
        self._check_new_id(order_id)
        self.n_fills = 0
        self._reserve_fills()
        executed = self._match(side, INT64_MAX if side > 0 else 0, qty, order_id, agent_id, ts)
        self.last_outcome = C_FILLED if executed == qty else C_CANCELLED
        return executed

    def cancel(self, order_id):
        """Remove a resting order; return the quantity it had left."""
        cdef int32_t oi = self._lookup(_int(order_id, "order_id"))
        cdef int64_t remaining = self.orders[oi].qty
        self.n_fills = 0
        self._unlink(oi)
        return remaining

    def reduce(self, order_id, qty):
        """Partial cancel: take ``qty`` off a resting order, keeping its queue position.

        ``qty`` equal to what is left removes the order. Returns the quantity left.
        """
        # Convert every argument before the lookup: __index__ may run code that changes the book.
        cdef int64_t oid = _int(order_id, "order_id"), by = _int(qty, "qty")
        cdef int32_t oi = self._lookup(oid)
        cdef int64_t remaining = self.orders[oi].qty
        _check_qty(by)
        if by > remaining:
            raise InvalidQuantityError(
                f"cannot reduce order {order_id} by {by}: only {remaining} left")
        self.n_fills = 0
        self._reduce(oi, by)
        return remaining - by

    def modify(self, order_id, price, qty, ts=None):
        """Change a resting order's price and/or remaining quantity.

        A size decrease at the same price keeps priority. A price change or a size increase
        loses it: the order is re-entered at the back of the queue as a GTC limit order with
        the same id and agent, and may execute if the new price crosses. ``ts`` (default: the
        order's arrival time) is the re-entered order's time. Returns the quantity executed
        by that re-entry.
        """
        # Convert every argument before the lookup: __index__ may run code that changes the book.
        cdef int64_t oid = _int(order_id, "order_id")
        cdef int64_t new_price = _int(price, "price"), new_qty = _int(qty, "qty")
        cdef bint keep_ts = ts is None
        cdef int64_t new_ts = 0 if keep_ts else _int(ts, "ts")
        cdef int32_t oi = self._lookup(oid)
        cdef Order o = self.orders[oi]
        cdef int64_t executed
        if keep_ts:
            new_ts = o.ts
        self._check_price(new_price)
        _check_qty(new_qty)
        self._check_level_room(o.side, new_price,
                               new_qty - (o.qty if new_price == o.price else 0))
        self.n_fills = 0
        self.last_outcome = C_RESTED
        if new_price == o.price and new_qty <= o.qty:
            if new_qty < o.qty:
                self._reduce(oi, o.qty - new_qty)
            return 0
        self._reserve_fills()
        self._reserve_or_raise(o.side)
        self._unlink(oi)
        executed = self._match(o.side, new_price, new_qty, o.order_id, o.agent_id, new_ts)
        if executed == new_qty:
            self.last_outcome = C_FILLED
        else:
            self._rest(o.side, new_price, new_qty - executed, o.order_id, o.agent_id, new_ts)
        return executed

    def clear(self):
        """Remove every order."""
        self._reset_state()

    # -----------------------------------------------------------------------------------------
    # Queries.

    @property
    def fills(self):
        """Fills of the last call, as a structured array of dtype :data:`FILL_DTYPE`.

        This is a view of the book's buffer: the next call overwrites it; ``.copy()`` to keep.
        """
        return self._fill_array[:self.n_fills]

    @property
    def best_bid(self):
        """Highest bid price, or ``None`` when there are no bids."""
        cdef Level* lvl = self._best(1)
        return None if lvl == NULL else lvl.price

    @property
    def best_ask(self):
        """Lowest ask price, or ``None`` when there are no asks."""
        cdef Level* lvl = self._best(-1)
        return None if lvl == NULL else lvl.price

    def n_levels(self, side):
        """Number of occupied price levels on a side."""
        cdef int64_t s = _int(side, "side")
        _check_side(s)
        return self.side_n[_side_index(s)]

    def __len__(self):
        return self.n_orders

    def __contains__(self, order_id):
        try:
            return idmap_get(&self.ids, _int(order_id, "order_id")) != NIL
        except OutOfRangeError:  # no resting order has an id outside int64
            return False

    def level_volume(self, side, price):
        """Total resting quantity at ``price`` on ``side`` (0 if the level is empty)."""
        cdef int64_t s = _int(side, "side"), p = _int(price, "price")
        _check_side(s)
        if p <= 0 or p > LOB_MAX_PRICE:
            return 0
        return self._level_qty(<int>s, p)

    def depth_into(self, int64_t[:, ::1] out):
        """Write the top ``out.shape[1]`` levels into ``out`` (shape ``(4, n)``), no allocation.

        Rows: bid prices, bid quantities, ask prices, ask quantities, best level first.
        Missing levels are 0.
        """
        if out.shape[0] != 4:
            raise ValueError(f"out must have shape (4, n), got ({out.shape[0]}, {out.shape[1]})")
        cdef int32_t n = out.shape[1], k, s, row
        cdef Level* lvl
        for s in range(2):
            row = 2 * s
            for k in range(n):
                if k < self.side_n[s]:
                    lvl = &self.levels[self.side_levels[s][self.side_n[s] - 1 - k]]
                    out[row, k] = lvl.price
                    out[row + 1, k] = lvl.qty
                else:
                    out[row, k] = 0
                    out[row + 1, k] = 0

    def depth(self, n_levels=10):
        """L2 view: ``(bid_prices, bid_qtys, ask_prices, ask_qtys)``, each an int64 array of
        ``n_levels`` entries, best first, padded with 0."""
        cdef int64_t n = _int(n_levels, "n_levels")
        _check_count(n, 1 << 24, "n_levels")
        out = np.empty((4, n), dtype=np.int64)
        self.depth_into(out)
        return out[0], out[1], out[2], out[3]

    def tick_state(self, n_ticks=5):
        """Book state on the tick grid: int64 array ``[bid, ask, bid_qty..., ask_qty...]``.

        ``bid_qty[k]`` is the volume resting at ``best_bid - k * tick_size`` (0 if that price
        is empty), ``ask_qty[k]`` at ``best_ask + k * tick_size``; a missing side has price 0.
        """
        cdef int64_t n = _int(n_ticks, "n_ticks")
        # n * tick_size stays inside the price domain, so the grid arithmetic cannot overflow.
        _check_count(n, min(1 << 24, LOB_MAX_PRICE // self.tick_size), "n_ticks")
        out = np.empty(2 + 2 * n, dtype=np.int64)
        cdef int64_t[::1] view = out
        self._tick_state(&view[0], <int>n)
        return out

    def level_queue(self, side, price):
        """L3 view of one level: its orders in priority order (dtype :data:`QUEUE_DTYPE`)."""
        cdef int64_t s = _int(side, "side"), p = _int(price, "price")
        _check_side(s)
        cdef int32_t pos = self._find(<int>s, p) if 0 < p <= LOB_MAX_PRICE else -1
        if pos < 0:
            return np.zeros(0, dtype=QUEUE_DTYPE)
        cdef Level* lvl = &self.levels[self.side_levels[_side_index(s)][pos]]
        out = np.empty(lvl.count, dtype=QUEUE_DTYPE)
        cdef int64_t[:, ::1] rows = out.view(np.int64).reshape(lvl.count, 4)
        cdef int32_t oi = lvl.head, k = 0
        while oi != NIL:
            rows[k, 0] = self.orders[oi].order_id
            rows[k, 1] = self.orders[oi].agent_id
            rows[k, 2] = self.orders[oi].qty
            rows[k, 3] = self.orders[oi].ts
            oi = self.orders[oi].next
            k += 1
        return out

    def closest_orders(self, side, price, qty, agent_id, n_levels=64):
        """The orders of ``agent_id`` that a cancel of ``qty`` aimed at ``(side, price)`` picks
        from: on the level nearest ``price`` among the side's best ``n_levels`` that holds any
        of the agent's orders (of two levels as near, the one nearer the touch), those whose
        remaining size is nearest ``qty``, in priority order. An int64 array of
        ``(order_id, remaining)`` rows, empty when none of those levels holds such an order.
        """
        cdef int64_t s = _int(side, "side"), p = _int(price, "price")
        cdef int64_t q = _int(qty, "qty"), agent = _int(agent_id, "agent_id")
        cdef int64_t n = _int(n_levels, "n_levels")
        _check_side(s)
        _check_count(n, 1 << 24, "n_levels")
        if not -LOB_MAX_PRICE <= p <= LOB_MAX_PRICE:
            raise InvalidPriceError(f"price must be within +-MAX_PRICE, got {p}")
        if not 0 <= q <= LOB_MAX_QTY + 1:
            raise InvalidQuantityError(f"qty must be in [0, 2**62], got {q}")
        cdef int64_t nearest
        cdef int32_t li = self._closest_level(<int>s, p, q, agent, n, &nearest)
        if li == NIL:
            return np.empty((0, 2), dtype=np.int64)
        cdef int32_t found = self._count_closest(li, q, agent, nearest), k
        out = np.empty((found, 2), dtype=np.int64)
        cdef int32_t oi
        for k in range(found):
            oi = self._nth_closest(li, q, agent, nearest, k)
            out[k, 0] = self.orders[oi].order_id
            out[k, 1] = self.orders[oi].qty
        return out

    cdef int32_t _closest_level(self, int side, int64_t price, int64_t qty, int64_t agent,
                                int64_t n_levels, int64_t* nearest) noexcept nogil:
        """The level :meth:`closest_orders` picks from (NIL: none), and in ``nearest`` the
        smallest ``|remaining - qty|`` of the agent's orders there. A side's prices run
        monotonically from the touch, so the distance to ``price`` falls then rises: a level
        no nearer than the best found so far is never walked."""
        cdef int si = _side_index(side)
        cdef int32_t count = <int32_t>min(n_levels, <int64_t>self.side_n[si]), k, li, oi
        cdef int32_t chosen = NIL
        cdef int64_t gap, best_gap = -1, level_best, diff
        for k in range(count):  # best level first: of two levels as near, the nearer the touch
            li = self.side_levels[si][self.side_n[si] - 1 - k]
            gap = self.levels[li].price - price
            gap = -gap if gap < 0 else gap
            if best_gap >= 0 and gap >= best_gap:
                continue
            level_best = -1
            oi = self.levels[li].head
            while oi != NIL:
                if self.orders[oi].agent_id == agent:
                    diff = self.orders[oi].qty - qty
                    diff = -diff if diff < 0 else diff
                    if level_best < 0 or diff < level_best:
                        level_best = diff
                oi = self.orders[oi].next
            if level_best >= 0:
                best_gap, chosen, nearest[0] = gap, li, level_best
        return chosen

    cdef int32_t _count_closest(self, int32_t level, int64_t qty, int64_t agent,
                                int64_t nearest) noexcept nogil:
        """How many of the agent's orders on ``level`` are ``nearest`` away from ``qty``."""
        cdef int32_t oi = self.levels[level].head, found = 0
        cdef int64_t diff
        while oi != NIL:
            if self.orders[oi].agent_id == agent:
                diff = self.orders[oi].qty - qty
                found += (-diff if diff < 0 else diff) == nearest
            oi = self.orders[oi].next
        return found

    cdef int32_t _nth_closest(self, int32_t level, int64_t qty, int64_t agent, int64_t nearest,
                              int32_t n) noexcept nogil:
        """The ``n``-th (from 0, in priority order) of those orders, as an order-pool index."""
        cdef int32_t oi = self.levels[level].head
        cdef int64_t diff
        while oi != NIL:
            if self.orders[oi].agent_id == agent:
                diff = self.orders[oi].qty - qty
                if (-diff if diff < 0 else diff) == nearest:
                    if n == 0:
                        return oi
                    n -= 1
            oi = self.orders[oi].next
        return NIL

    def order(self, order_id):
        """``(side, price, qty, agent_id, ts)`` of a resting order."""
        cdef Order* o = &self.orders[self._lookup(_int(order_id, "order_id"))]
        return o.side, o.price, o.qty, o.agent_id, o.ts

    def queue_position(self, order_id):
        """``(orders_ahead, volume_ahead)`` of a resting order within its price level."""
        cdef int32_t oi = self._lookup(_int(order_id, "order_id"))
        cdef int64_t n = 0, volume = 0
        oi = self.orders[oi].prev
        while oi != NIL:
            n += 1
            volume += self.orders[oi].qty
            oi = self.orders[oi].prev
        return n, volume

    def volume_ahead(self, order_id):
        """Quantity that executes before this order at its price level."""
        return self.queue_position(order_id)[1]

    def orders_array(self):
        """Every resting order in priority order (bids best first, then asks best first)."""
        out = np.empty(self.n_orders, dtype=ORDER_DTYPE)
        cdef int64_t[:, ::1] rows = out.view(np.int64).reshape(self.n_orders, 6)
        cdef int64_t k = 0
        cdef int s, side
        cdef int32_t pos, oi
        cdef Order* o
        for s in range(2):
            side = 1 if s == 0 else -1
            for pos in range(self.side_n[s] - 1, -1, -1):
                oi = self.levels[self.side_levels[s][pos]].head
                while oi != NIL:
                    o = &self.orders[oi]
                    rows[k, 0] = side
                    rows[k, 1] = o.price
                    rows[k, 2] = o.order_id
                    rows[k, 3] = o.agent_id
                    rows[k, 4] = o.qty
                    rows[k, 5] = o.ts
                    k += 1
                    oi = o.next
        return out

    # -----------------------------------------------------------------------------------------
    # Copies, snapshots, pickling.

    cdef int _copy_into(self, OrderBook dst) except -1:
        cdef void* p
        cdef int s
        p = realloc(dst.orders, self.orders_cap * sizeof(Order))
        if p == NULL:
            raise MemoryError("cannot copy the order book")
        dst.orders = <Order*>p
        p = realloc(dst.levels, self.levels_cap * sizeof(Level))
        if p == NULL:
            raise MemoryError("cannot copy the order book")
        dst.levels = <Level*>p
        for s in range(2):
            p = realloc(dst.side_levels[s], self.side_cap[s] * sizeof(int32_t))
            if p == NULL:
                raise MemoryError("cannot copy the order book")
            dst.side_levels[s] = <int32_t*>p
            memcpy(dst.side_levels[s], self.side_levels[s], self.side_n[s] * sizeof(int32_t))
            dst.side_cap[s] = self.side_cap[s]
            dst.side_n[s] = self.side_n[s]
        p = realloc(dst.ids.keys, (self.ids.mask + 1) * sizeof(int64_t))
        if p == NULL:
            raise MemoryError("cannot copy the order book")
        dst.ids.keys = <int64_t*>p
        p = realloc(dst.ids.vals, (self.ids.mask + 1) * sizeof(int32_t))
        if p == NULL:
            raise MemoryError("cannot copy the order book")
        dst.ids.vals = <int32_t*>p
        memcpy(dst.ids.keys, self.ids.keys, (self.ids.mask + 1) * sizeof(int64_t))
        memcpy(dst.ids.vals, self.ids.vals, (self.ids.mask + 1) * sizeof(int32_t))
        dst.ids.mask = self.ids.mask
        dst.ids.used = self.ids.used
        memcpy(dst.orders, self.orders, self.orders_top * sizeof(Order))
        memcpy(dst.levels, self.levels, self.levels_top * sizeof(Level))
        dst.orders_cap, dst.orders_top, dst.free_order = (
            self.orders_cap, self.orders_top, self.free_order)
        dst.levels_cap, dst.levels_top, dst.free_level = (
            self.levels_cap, self.levels_top, self.free_level)
        dst.tick_size = self.tick_size
        dst.n_orders = self.n_orders
        dst.n_fills = 0
        dst.last_outcome = self.last_outcome
        return 0

    def copy(self):
        """An independent deep copy (same priorities), e.g. a snapshot for a rollout."""
        cdef OrderBook dst = OrderBook(self.tick_size)
        self._copy_into(dst)
        return dst

    def restore(self, OrderBook snapshot not None):
        """Make this book an exact copy of ``snapshot`` (which is left untouched)."""
        if snapshot is not self:
            snapshot._copy_into(self)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        return book_from_orders, (self.tick_size, self.orders_array())

    def __repr__(self):
        return (f"OrderBook(tick_size={self.tick_size}, orders={self.n_orders}, "
                f"best_bid={self.best_bid}, best_ask={self.best_ask})")


def book_from_orders(tick_size, orders):
    """A book holding ``orders`` (:data:`ORDER_DTYPE` rows, as :meth:`OrderBook.orders_array`
    gives them), each level's queue in the given order. Used by pickle.

    The rows are checked like live orders before anything is built: side +-1, prices in the
    domain and on the tick, sizes in ``[1, MAX_QTY]`` with level totals too, unique ids (negative
    anonymous ids allowed, not ``-2**63``), and bids strictly below asks (a resting book is
    never crossed). A bad row raises ``ValueError`` naming its index.
    """
    cdef OrderBook book = OrderBook(tick_size)
    table = np.asarray(orders)
    if table.dtype != ORDER_DTYPE or table.ndim != 1:
        raise ValueError(f"orders must be a 1-D array of ORDER_DTYPE, got dtype {table.dtype} "
                         f"and shape {table.shape}")
    _check_resting_orders(table, book.tick_size)
    for row in table:
        if book._reserve_rest(row["side"]) != 0:
            raise MemoryError("cannot grow the order book")
        book._rest(row["side"], row["price"], row["qty"], row["order_id"], row["agent_id"],
                   row["ts"])
    return book


def _check_resting_orders(table, int64_t tick_size):
    """Raise ValueError naming the first row of ``table`` that a book may not hold."""
    side, price, qty, ids = table["side"], table["price"], table["qty"], table["order_id"]
    for bad, what in (
        ((side != 1) & (side != -1), "side must be BUY (1) or SELL (-1)"),
        ((price <= 0) | (price > LOB_MAX_PRICE), "price must be in [1, MAX_PRICE]"),
        (price % tick_size != 0, f"price is not a multiple of the tick size {tick_size}"),
        ((qty <= 0) | (qty > LOB_MAX_QTY), "qty must be in [1, MAX_QTY]"),
        (ids == ID_EMPTY, "order_id -2**63 is reserved"),
    ):
        rows = np.flatnonzero(bad)
        if rows.size:
            raise ValueError(f"orders[{rows[0]}]: {what}, got {table[rows[0]]}")
    _, first, counts = np.unique(ids, return_index=True, return_counts=True)
    if (counts > 1).any():
        duplicate = ids[first[counts > 1][0]]
        raise ValueError(f"order_id {duplicate} appears more than once")
    # Level totals: sum in Python ints per (side, price) so the check itself cannot overflow.
    totals = {}
    for row_side, row_price, row_qty in zip(side.tolist(), price.tolist(), qty.tolist()):
        key = (row_side, row_price)
        totals[key] = totals.get(key, 0) + row_qty
        if totals[key] > LOB_MAX_QTY:
            raise ValueError(f"the level {row_side}:{row_price} totals more than MAX_QTY")
    bids, asks = price[side == 1], price[side == -1]
    if bids.size and asks.size and bids.max() >= asks.min():
        raise ValueError(f"the orders make a crossed book: best bid {bids.max()} >= "
                         f"best ask {asks.min()}")
