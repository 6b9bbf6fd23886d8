# Declarations of the matching engine: C structs, the id hash map, and the OrderBook class.
#
# Layout and invariants
# ---------------------
# * Sides are +1 (BUY, bids) and -1 (SELL, asks), as in LOBSTER's direction column.
# * Each side keeps an array of level-pool indices sorted ascending by ``side * price``, so the
#   best level is always the LAST entry for both sides (bids: highest price; asks: lowest).
#   Inserting or removing at the touch is then O(1) (no memmove).
# * A level's orders form a doubly linked FIFO list through the order pool (head = oldest =
#   first to fill). ``Level.qty`` is the sum of its orders' ``qty``; ``Level.count`` their number.
# * Pools hand out int32 indices (not pointers), so realloc-on-growth never invalidates links.
#   Freed order slots are chained through ``Order.next``; freed level slots through ``Level.head``.
# * The id map sends every resting order_id to its pool index; ids of orders that are not
#   resting are absent. ``ID_EMPTY`` (INT64_MIN) marks an empty hash slot and is never an id.
# * Prices and quantities are int64; nothing inside the book is a float.
# * Value domain, enforced at the Python boundary so no sum can overflow int64:
#   0 < price <= MAX_PRICE (2**61 - 1; anonymous ids -(2 * price + 1) - 1 then stay above
#   ID_EMPTY) and 0 < qty <= MAX_QTY (2**62 - 1) for every order AND every level total, so
#   a level total plus one order, or the running sum in _available, stays below 2**63.

from libc.stdint cimport int32_t, int64_t, uint64_t

cdef extern from *:
    """
    #define LOB_MAX_PRICE ((int64_t)2305843009213693951LL)  /* 2**61 - 1 */
    #define LOB_MAX_QTY ((int64_t)4611686018427387903LL)    /* 2**62 - 1 */
    """
    const int64_t LOB_MAX_PRICE  # largest price (and tick size) the book accepts
    const int64_t LOB_MAX_QTY    # largest order size and level total the book accepts

cdef enum:
    NIL = -1          # "no index" in linked lists and lookups
    ERR_NOMEM = -2    # allocation failed (raised as MemoryError at the Python boundary)
    ERR_DOMAIN = -3   # a level total would exceed LOB_MAX_QTY (raised as ValueError)

ctypedef struct Order:
    int64_t order_id  # caller's id (>= 0); negative ids are reserved for anonymous volume
    int64_t agent_id  # owner, copied into fills
    int64_t price     # integer price (multiple of the book's tick size)
    int64_t qty       # remaining quantity, > 0 while resting
    int64_t ts        # arrival time in ns (informational: priority is arrival order)
    int32_t prev      # previous (older) order in the level FIFO, NIL at the head
    int32_t next      # next (younger) order, NIL at the tail; free-list link when unused
    int32_t level     # level-pool index of its price level
    int32_t side      # +1 bid, -1 ask

ctypedef struct Level:
    int64_t price     # integer price of this level
    int64_t qty       # total resting quantity = sum of its orders' qty
    int32_t count     # number of resting orders
    int32_t head      # oldest order (first to fill); free-list link when unused
    int32_t tail      # youngest order
    int32_t side      # +1 bid, -1 ask

ctypedef struct Fill:
    int64_t price           # execution price = the resting (maker) order's price
    int64_t qty             # executed quantity
    int64_t maker_order_id  # resting order
    int64_t taker_order_id  # incoming order
    int64_t maker_agent_id
    int64_t taker_agent_id
    int64_t ts              # time of the taker's arrival, ns
    int64_t taker_side      # +1 buyer-initiated, -1 seller-initiated

ctypedef struct IdMap:
    int64_t* keys     # order ids, ID_EMPTY in free slots
    int32_t* vals     # order-pool indices
    uint64_t mask     # capacity - 1 (capacity is a power of two)
    int64_t used      # occupied slots; kept <= capacity / 2

cdef int32_t idmap_get(const IdMap* m, int64_t key) noexcept nogil
cdef int idmap_put(IdMap* m, int64_t key, int32_t val) noexcept nogil
cdef void idmap_del(IdMap* m, int64_t key) noexcept nogil

cdef inline int64_t anonymous_id(int side, int64_t price) noexcept nogil:
    """Reserved negative id of the anonymous volume at (side, price), used by replays."""
    return -(2 * price + (1 if side < 0 else 0)) - 1


cdef class OrderBook:
    cdef readonly int64_t tick_size
    cdef Order* orders
    cdef int32_t orders_cap       # allocated order slots
    cdef int32_t orders_top       # slots ever handed out (high-water mark)
    cdef int32_t free_order       # head of the free-slot chain, NIL if none
    cdef Level* levels
    cdef int32_t levels_cap
    cdef int32_t levels_top
    cdef int32_t free_level
    cdef int32_t* side_levels[2]  # [0] bids, [1] asks: level indices, best at the end
    cdef int32_t side_n[2]        # number of levels per side
    cdef int32_t side_cap[2]
    cdef IdMap ids
    cdef int64_t n_orders         # resting orders
    cdef object _fill_array       # numpy structured array owning the fill buffer
    cdef Fill* fills              # data pointer of _fill_array
    cdef int64_t fills_cap
    cdef int64_t n_fills          # fills of the last operation
    cdef readonly int last_outcome

    cdef void _reset_state(self) noexcept nogil
    cdef int32_t _find(self, int side, int64_t price) noexcept nogil
    cdef int64_t _level_qty(self, int side, int64_t price) noexcept nogil
    cdef Level* _best(self, int side) noexcept nogil
    cdef int _reserve_rest(self, int side) noexcept nogil
    cdef int32_t _rest(self, int side, int64_t price, int64_t qty, int64_t order_id,
                       int64_t agent_id, int64_t ts) noexcept nogil
    cdef void _remove_level_at(self, int side, int32_t pos) noexcept nogil
    cdef void _unlink(self, int32_t oi) noexcept nogil
    cdef void _reduce(self, int32_t oi, int64_t by) noexcept nogil
    cdef void _wipe_level(self, int side, int32_t pos) noexcept nogil
    cdef int64_t _match(self, int side, int64_t limit_price, int64_t qty, int64_t order_id,
                        int64_t agent_id, int64_t ts) noexcept nogil
    cdef int64_t _available(self, int side, int64_t limit_price, int64_t qty) noexcept nogil
    cdef bint _crosses(self, int side, int64_t price) noexcept nogil
    cdef void _tick_state(self, int64_t* out, int n_ticks) noexcept nogil
    cdef int32_t _closest_level(self, int side, int64_t price, int64_t qty, int64_t agent,
                                int64_t n_levels, int64_t* nearest) noexcept nogil
    cdef int32_t _count_closest(self, int32_t level, int64_t qty, int64_t agent,
                                int64_t nearest) noexcept nogil
    cdef int32_t _nth_closest(self, int32_t level, int64_t qty, int64_t agent, int64_t nearest,
                              int32_t n) noexcept nogil
    cdef int64_t _limit(self, int64_t side, int64_t price, int64_t qty, int64_t order_id,
                        int64_t agent_id, int64_t ts, int64_t tif) except -1
    cdef int64_t _market(self, int64_t side, int64_t qty, int64_t order_id, int64_t agent_id,
                         int64_t ts) except -1
    cdef int _reserve_fills(self) except -1
    cdef int _check_price(self, int64_t price) except -1
    cdef int _check_new_id(self, int64_t order_id) except -1
    cdef int _check_level_room(self, int side, int64_t price, int64_t qty) except -1
    cdef int _reserve_or_raise(self, int side) except -1
    cdef int32_t _lookup(self, int64_t order_id) except -2
    cdef int _copy_into(self, OrderBook dst) except -1
