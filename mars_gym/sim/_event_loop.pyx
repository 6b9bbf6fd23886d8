# cython: language_level=3
"""The simulator's per-order path in C: background orders drawn, applied, recorded and counted.

:class:`EventLoop` applies a flow's orders to a :class:`~mars_gym.data.recording.RecordingBook`
up to a time. A flow whose draws are compiled (:class:`CompiledDraws`: replay, noise, Hawkes)
is run without a Python call per order; any other flow's ``next_order()`` is called from the
loop, and its orders are applied the same way.

How a background order is applied. A buy or sell is a GTC limit order (it executes first if it
crosses), or IOC when the flow asks. A cancel naming a resting order's id (a replay) takes its
size off that order. When that order is not in the book, or the cancel names no id, it names a
side, a price and a size, and deletes one whole *background* order (``agent_id`` =
:data:`BACKGROUND_AGENT`) resting at that price: the one whose remaining size is closest to the
cancel's (ties drawn uniformly with the loop's generator); when none rests there, the nearest
occupied price of that side holding background orders is used (among its best
:data:`SEARCH_LEVELS`); with none at all it is skipped. Whole orders, because real cancels are:
deletions outnumber partial cancels about 900 to 1 on AMZN, 90 to 1 on AAPL (training splits),
and taking a drawn size off a random order left most touches standing, so a generated spread
only ever narrowed.

Unseen cancels. A flow learnt from messages that show only the touch (LOBSTER level 1) never
cancels an order behind the touch, because the data never shows one; real orders pushed behind
the touch are cancelled there all the same (:mod:`mars_gym.data.unseen_cancels`). With an
``unseen_cancel_rate`` (the flow's attribute, per second), every background order behind its
side's touch is cancelled at that hazard, except the depth ladder's (its levels stand for the
depth found behind real touches, already net of the cancels and additions the data hides;
cancelling them too thinned the book until sweeps ran away): between two of the flow's orders the waiting time to
the next such cancel is exponential with rate ``unseen_cancel_rate`` times the number of those
orders, and the order is drawn uniformly among them (memoryless, so drawing again after every
order of the flow is exact).

Guards. Every background order passes :meth:`EventLoop._see`: an order timed before the
flow's previous one raises :class:`~mars_gym.sim.flows.base.FlowOrderError`, and more than
``MAX_ORDERS_AT_ONE_TIME`` orders at one time, ``MAX_IDENTICAL_ORDERS`` identical ones in a
row at one time or ``MAX_ORDERS_PER_SECOND`` within one simulated second raise :class:`~mars_gym.sim.flows.base.FlowStalledError` (a degenerate flow would
otherwise never return, or take minutes). The orders of a Python flow are checked field by
field as they cross into C (``_from_python``): a value of the wrong type (a float size, a
string, ``None``) or out of range (``kind`` 7, a negative size, a price of 0) is refused
naming the flow and the field, before the order touches the book; nothing is truncated.

The compiled draws are numpy's own: the same generator, the same C routines (uniform doubles,
standard exponentials, bounded integers), so a compiled flow draws exactly what the same flow
written with ``numpy.random.Generator`` calls draws.
"""

from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.math cimport exp, rint
from libc.stdint cimport INT64_MAX, int32_t, int64_t, uint64_t
from numpy.random cimport bitgen_t
from numpy.random.c_distributions cimport (
    random_bounded_uint64,
    random_standard_exponential,
    random_standard_uniform,
)

from lob_core._book cimport NIL, Fill, Level, OrderBook, idmap_get

from mars_gym.data.recording cimport RecordingBook

import numpy as np

from lob_core import MAX_PRICE, MAX_QTY
from mars_gym.sim.flows.base import (
    MAX_IDENTICAL_ORDERS,
    MAX_ORDERS_AT_ONE_TIME,
    MAX_ORDERS_PER_SECOND,
    BatchedFlow,
    FlowOrder,
    FlowOrderError,
    FlowStalledError,
    RecordingFollower,
    implements,
)
from mars_gym.sim.ids import FIRST_AGENT_ORDER_ID, FIRST_FLOW_ORDER_ID, FIRST_LADDER_ORDER_ID
from mars_gym.data.orders import BUY_ORDER, CANCEL_ORDER, SELL_ORDER
from mars_gym.data.units import NS_PER_S

BACKGROUND_AGENT = 0
SEARCH_LEVELS = 64  # price levels of a side searched for a background order to cancel


cdef struct Drawn:  # one background order, as FlowOrder holds it
    int64_t time_ns, kind, side, price, size, order_id
    bint ioc

cdef double NEVER_NS = 9.223372036854775807e18  # 2**63 ns: past int64's times
cdef int64_t C_BUY = BUY_ORDER, C_SELL = SELL_ORDER, C_CANCEL = CANCEL_ORDER
cdef int64_t C_BACKGROUND = BACKGROUND_AGENT, C_SEARCH_LEVELS = SEARCH_LEVELS
cdef int64_t C_NS_PER_S = NS_PER_S
cdef int64_t C_FIRST_LADDER_ID = FIRST_LADDER_ORDER_ID, C_FIRST_AGENT_ID = FIRST_AGENT_ORDER_ID


cdef bitgen_t* _bitgen(object rng) except NULL:
    """The C state of a ``numpy.random.Generator``'s bit generator."""
    return <bitgen_t*>PyCapsule_GetPointer(rng.bit_generator.capsule, "BitGenerator")


cdef inline int64_t _below(bitgen_t* bitgen, int64_t n) noexcept nogil:
    """``Generator.integers(n)``: 0 <= k < n (n >= 1)."""
    return <int64_t>random_bounded_uint64(bitgen, 0, <uint64_t>(n - 1), 0, 0)


cdef inline Py_ssize_t _pick(const double[::1] cdf, double uniform) noexcept nogil:
    """``bisect_right(cdf, uniform)``: the draw of ``Generator.choice(..., p)`` from its
    cumulative probabilities (:func:`mars_gym.tokens.bins.choice_cdf`)."""
    cdef Py_ssize_t i = 0, n = cdf.shape[0]
    while i < n - 1 and cdf[i] <= uniform:
        i += 1
    return i


cdef inline int64_t _best(OrderBook book, int side) noexcept nogil:
    """A side's best price, 0 when the side is empty."""
    cdef Level* level = book._best(side)
    return 0 if level == NULL else level.price


cdef class CompiledDraws:
    """A flow's order draws in C. ``next_order()`` draws one for Python callers; the event
    loop draws without Python."""

    cdef int draw(self, Drawn* out) except -1:
        raise NotImplementedError

    def next_order(self):
        """The next order, as a :class:`~mars_gym.sim.flows.base.FlowOrder`."""
        cdef Drawn drawn
        self.draw(&drawn)
        return _to_python(&drawn)


cdef class _OrderColumns:
    """The fields of an array of ``TOKEN_ORDER_DTYPE`` orders, read in place."""

    cdef const int64_t[:] times, kinds, sides, prices, sizes, ids

    def __init__(self, orders) -> None:
        self.times, self.kinds, self.sides = orders["time_ns"], orders["kind"], orders["side"]
        self.prices, self.sizes, self.ids = orders["price"], orders["size"], orders["order_id"]


cdef class ReplayDraws(CompiledDraws):
    """The recorded orders ``head`` then ``tail`` (arrays of ``TOKEN_ORDER_DTYPE``, not copied:
    the tail is usually a view of a whole day's orders) from position ``index`` of the two on;
    past the last, an order at the end of time. An aggressor that rested nothing (id -1) is
    IOC."""

    cdef _OrderColumns head, tail
    cdef Py_ssize_t index

    def __init__(self, head, tail, Py_ssize_t index) -> None:
        self.head, self.tail, self.index = _OrderColumns(head), _OrderColumns(tail), index

    cdef int draw(self, Drawn* out) except -1:
        cdef Py_ssize_t i = self.index
        cdef _OrderColumns part = self.head
        if i >= part.times.shape[0]:
            i -= part.times.shape[0]
            part = self.tail
        if i >= part.times.shape[0]:  # the data ran out
            out[0] = Drawn(INT64_MAX, C_CANCEL, 1, 1, 0, -1, False)
            return 0
        out[0] = Drawn(part.times[i], part.kinds[i], part.sides[i], part.prices[i],
                       part.sizes[i], part.ids[i], part.kinds[i] != C_CANCEL and part.ids[i] < 0)
        self.index += 1
        return 0


cdef class NoiseDraws(CompiledDraws):
    """The MarS noise agent's draws (:mod:`mars_gym.sim.flows.noise`): every draw one uniform
    double of ``rng`` through a table's cumulative probabilities."""

    cdef OrderBook book
    cdef object rng
    cdef bitgen_t* bitgen
    cdef const double[::1] kind_cdf, offset_cdf, volume_cdf
    cdef const int64_t[::1] kinds, offsets
    cdef const double[::1] volumes
    cdef int64_t interval_ns, time_ns, last_price
    cdef double volume_scale
    cdef int64_t cancel_size

    def __init__(self, rng, OrderBook book, int64_t start_ns, int64_t interval_ns,
                 double volume_scale, int64_t initial_price, kinds, offsets, volumes,
                 int64_t cancel_size) -> None:
        self.rng, self.bitgen, self.book = rng, _bitgen(rng), book
        self.kind_cdf, self.kinds = _table(kinds, np.int64)
        self.offset_cdf, self.offsets = _table(offsets, np.int64)
        self.volume_cdf, self.volumes = _table(volumes, np.float64)
        self.interval_ns, self.time_ns = interval_ns, start_ns
        self.volume_scale, self.cancel_size = volume_scale, cancel_size
        self.last_price = initial_price
        self._reference_price()

    cdef int64_t _reference_price(self) noexcept:
        cdef int64_t bid = _best(self.book, 1), ask
        if bid:
            self.last_price = bid
        else:
            ask = _best(self.book, -1)
            if ask:
                self.last_price = ask - 1
        return self.last_price

    cdef int draw(self, Drawn* out) except -1:
        cdef int64_t kind, side, touch, price, size
        self.time_ns += self.interval_ns
        kind = self.kinds[_pick(self.kind_cdf, random_standard_uniform(self.bitgen))]
        if kind == C_CANCEL:
            side = 1 if random_standard_uniform(self.bitgen) < 0.5 else -1
            touch = _best(self.book, <int>side)
            out[0] = Drawn(self.time_ns, kind, side, touch if touch else self._reference_price(),
                           self.cancel_size, -1, False)
            return 0
        price = self._reference_price()
        price = max(1, price + self.offsets[_pick(self.offset_cdf,
                                                  random_standard_uniform(self.bitgen))])
        size = max(1, <int64_t>rint(
            self.volumes[_pick(self.volume_cdf, random_standard_uniform(self.bitgen))]
            * self.volume_scale / 100))
        out[0] = Drawn(self.time_ns, kind, 1 if kind == C_BUY else -1, price, size, -1, False)
        return 0


cdef class HawkesDraws(CompiledDraws):
    """The Hawkes flow's draws (:mod:`mars_gym.sim.flows.hawkes`): arrival times by Ogata
    thinning, marks drawn uniformly from the calibration's arrays (by kind)."""

    cdef OrderBook book
    cdef object rng
    cdef bitgen_t* bitgen
    cdef double mu, alpha, beta, time_s, excitation
    cdef const double[::1] kind_cdf
    cdef const int64_t[::1] cancel_sides
    cdef const int64_t* depths[3]  # by kind: the calibration's marks (arrays in keep)
    cdef const int64_t* sizes[3]
    cdef int64_t n_depths[3]
    cdef int64_t n_sizes[3]
    cdef object keep
    cdef int64_t last_price

    def __init__(self, rng, OrderBook book, int64_t start_ns, calibration, kind_cdf,
                 int64_t initial_price) -> None:
        self.rng, self.bitgen, self.book = rng, _bitgen(rng), book
        self.mu, self.alpha, self.beta = calibration.mu, calibration.alpha, calibration.beta
        self.kind_cdf = np.asarray(kind_cdf, dtype=np.float64)
        self.cancel_sides = np.ascontiguousarray(calibration.cancel_sides, dtype=np.int64)
        self.keep = [np.ascontiguousarray(by_kind[kind], dtype=np.int64)
                     for by_kind in (calibration.depths, calibration.sizes)
                     for kind in (C_BUY, C_SELL, C_CANCEL)]
        cdef int k
        cdef const int64_t[::1] marks
        for k in range(3):
            marks = self.keep[k]  # a kind never drawn may have no marks
            self.depths[k], self.n_depths[k] = _first(marks), marks.shape[0]
            marks = self.keep[3 + k]
            self.sizes[k], self.n_sizes[k] = _first(marks), marks.shape[0]
        self.last_price = _best(book, 1)
        if not self.last_price:
            self.last_price = _best(book, -1)
        if not self.last_price:
            self.last_price = initial_price
        self.time_s = start_ns / 1e9
        self.excitation = 0.0  # sum of alpha * exp(-beta (t - t_i)) at time_s

    cdef double _next_time(self) noexcept:
        """Ogata thinning: the intensity only decays between arrivals, so the current value
        bounds it until the next one."""
        cdef double t = self.time_s, excitation = self.excitation, bound, wait
        while True:
            bound = self.mu + excitation
            wait = (1 / bound) * random_standard_exponential(self.bitgen)
            excitation *= exp(-self.beta * wait)
            t += wait
            if random_standard_uniform(self.bitgen) * bound <= self.mu + excitation:
                self.excitation = excitation + self.alpha
                self.time_s = t
                return t

    cdef int64_t _touch(self, int64_t side) noexcept:
        """The same-side touch; from the other side when empty; the last price seen when the
        book is empty."""
        cdef int64_t touch = _best(self.book, <int>side), other
        if not touch:
            other = _best(self.book, <int>-side)
            touch = other - side if other else self.last_price
        self.last_price = touch
        return touch

    cdef int draw(self, Drawn* out) except -1:
        cdef double at_ns = rint(self._next_time() * 1e9)
        # a degenerate fit (mu ~ 0) can put the next arrival past int64: it never comes
        cdef int64_t time_ns = <int64_t>at_ns if at_ns < NEVER_NS else INT64_MAX
        cdef int64_t kind = _pick(self.kind_cdf, random_standard_uniform(self.bitgen)), side
        if kind == C_BUY:
            side = 1
        elif kind == C_SELL:
            side = -1
        else:
            side = self.cancel_sides[_below(self.bitgen, self.cancel_sides.shape[0])]
        cdef int64_t depth = self.depths[kind][_below(self.bitgen, self.n_depths[kind])]
        cdef int64_t price = max(1, self._touch(side) - side * depth)
        cdef int64_t size = self.sizes[kind][_below(self.bitgen, self.n_sizes[kind])]
        out[0] = Drawn(time_ns, kind, side, price, size, -1, False)
        return 0


cdef class EventLoop:
    """Applies a background flow's orders to ``recording`` (see the module docstring).

    Parameters
    ----------
    flow : BackgroundFlow or None
        Already reset (a loop serves one reset of its flow); drawn without Python when it has
        compiled ``draws``. ``None``: orders are only applied with :meth:`submit`.
    recording : RecordingBook
    rng : numpy.random.Generator
        Draws the cancel rule's ties.
    depth : DepthLadder, optional
        Asked to top up after a background order that left a side short of levels.
        The flow's ``unseen_cancel_rate`` (absent: 0) sets the unseen cancels. A flow that
        follows the recording (:class:`~mars_gym.sim.flows.base.RecordingFollower`) is handed
        ``recording``.
    agent_fills : callable, optional
        Called with the time whenever the book's last fills involve an agent (any owner but
        the background), before the book changes again.
    """

    cdef readonly RecordingBook recording
    cdef OrderBook book
    cdef object flow, rng, depth, agent_fills
    cdef CompiledDraws draws
    cdef bitgen_t* bitgen
    cdef readonly int64_t next_flow_id
    cdef readonly int64_t traded_volume, traded_notional, cancels_without_target
    cdef readonly int64_t stall_time, stall_count
    cdef int64_t stall_limit
    cdef readonly int64_t window_start, window_count  # orders since window_start (< 1 s ago)
    cdef int64_t rate_limit
    cdef int64_t same_count  # orders in a row at stall_time identical to the last one
    cdef int64_t last_kind, last_side, last_price, last_size
    cdef bint batched  # the flow may give None: it waits for a batched token
    cdef Drawn pending
    cdef bint has_pending
    cdef int64_t ladder_levels, widest_gap  # the depth ladder's, when there is one
    cdef readonly double unseen_cancel_rate  # per second and order behind the touch
    cdef readonly int64_t unseen_cancels  # background orders cancelled so far
    cdef int64_t unseen_time  # the time up to which unseen cancels were drawn (-1: not yet)

    def __init__(self, flow, RecordingBook recording, rng, depth=None, agent_fills=None,
                 int64_t stall_limit=MAX_ORDERS_AT_ONE_TIME,
                 int64_t rate_limit=MAX_ORDERS_PER_SECOND) -> None:
        self.flow, self.recording, self.book = flow, recording, recording.book
        if implements(flow, RecordingFollower):
            flow.follow(recording)
        self.unseen_cancel_rate = float(getattr(flow, "unseen_cancel_rate", 0.0))
        if not self.unseen_cancel_rate >= 0.0:
            raise ValueError(f"unseen_cancel_rate must be >= 0, got {self.unseen_cancel_rate}")
        self.unseen_time = -1
        draws = getattr(flow, "draws", None)
        self.draws = draws if isinstance(draws, CompiledDraws) else None
        self.rng, self.bitgen = rng, _bitgen(rng)
        self.depth, self.agent_fills = depth, agent_fills
        if depth is not None:
            self.ladder_levels, self.widest_gap = depth.levels, depth.widest_gap
        self.next_flow_id = FIRST_FLOW_ORDER_ID
        self.stall_limit = stall_limit
        self.stall_time, self.stall_count = -1, 0
        self.rate_limit = rate_limit
        self.batched = implements(flow, BatchedFlow)
        self.window_start, self.window_count = 0, 0

    @property
    def pending(self):
        """The flow's drawn, not yet applied order (a ``FlowOrder``; ``None``: none drawn)."""
        return _to_python(&self.pending) if self.has_pending else None

    def drop_pending(self) -> None:
        """Forget the drawn order: the next is drawn again from the flow."""
        self.has_pending = False

    def run(self, int64_t until_ns) -> bool:
        """Apply every background order due at or before ``until_ns`` (the first one after it
        stays drawn). False when the flow has no next order yet (a batched flow waiting for its
        token): call again once it has."""
        cdef object order
        while True:
            if not self.has_pending:
                if self.draws is not None:
                    self.draws.draw(&self.pending)
                else:
                    order = self.flow.next_order()
                    if order is None:
                        if not self.batched:
                            raise FlowOrderError(
                                f"{_caller(self.flow)} gave None; only a batched flow (waiting "
                                "for its generator service's token) may")
                        return False
                    _from_python(self.flow, order, &self.pending)
                self.has_pending = True
            if self.pending.time_ns > until_ns:
                return True
            self._see(&self.pending)
            if self.unseen_cancel_rate > 0.0:
                self._cancel_unseen(self.pending.time_ns)
            self._apply(&self.pending)
            self.has_pending = False

    def submit(self, order) -> int:
        """Apply one background order now (a :class:`~mars_gym.sim.flows.base.FlowOrder`);
        return the executed (buy/sell) or cancelled quantity."""
        cdef Drawn drawn
        _from_python(None, order, &drawn)
        return self._apply(&drawn)

    def count_fills(self, int64_t time_ns) -> None:
        """Count the book's last fills (an agent's order) into the traded volume, and hand them
        to ``agent_fills``."""
        self._count_fills(time_ns)

    cdef int _see(self, Drawn* order) except -1:
        """Count a background order about to be applied (see Guards)."""
        cdef int64_t time_ns = order.time_ns
        self.window_count += 1
        if time_ns - self.window_start >= C_NS_PER_S:
            self.window_start, self.window_count = time_ns, 1
        elif self.window_count > self.rate_limit:
            if time_ns < self.stall_time:
                return self._backwards(time_ns)
            raise FlowStalledError(
                f"{type(self.flow).__name__} produced {self.window_count} orders within one "
                f"simulated second (from {self.window_start} ns to {time_ns} ns), far more than "
                "any market; its next-order distribution is degenerate (or its model's weights "
                "are broken)")
        if time_ns != self.stall_time:
            if time_ns < self.stall_time:
                return self._backwards(time_ns)
            self.stall_time, self.stall_count, self.same_count = time_ns, 1, 1
            self._remember(order)
            return 0
        self.stall_count += 1
        if (order.kind == self.last_kind and order.side == self.last_side
                and order.price == self.last_price and order.size == self.last_size):
            self.same_count += 1
            if self.same_count > MAX_IDENTICAL_ORDERS:
                raise FlowStalledError(
                    f"{type(self.flow).__name__} produced {self.same_count} identical orders in "
                    f"a row at time {time_ns} ns (kind {order.kind}, side {order.side}, price "
                    f"{order.price}, size {order.size}); its next-order distribution is "
                    "degenerate (or its model's weights are broken)")
        else:
            self.same_count = 1
            self._remember(order)
        if self.stall_count > self.stall_limit:
            raise FlowStalledError(
                f"{type(self.flow).__name__} produced {self.stall_count} orders at time "
                f"{time_ns} ns without advancing time; its next-order distribution is "
                "degenerate (or its model's weights are broken)")
        return 0

    cdef inline void _remember(self, Drawn* order) noexcept:
        self.last_kind, self.last_side = order.kind, order.side
        self.last_price, self.last_size = order.price, order.size

    cdef int _backwards(self, int64_t time_ns) except -1:
        raise FlowOrderError(
            f"{type(self.flow).__name__}.next_order() gave an order at {time_ns} ns, before its "
            f"previous one at {self.stall_time} ns: a flow's time never goes backwards")

    cdef int _count_fills(self, int64_t time_ns) except -1:
        cdef int64_t k
        cdef Fill* fill
        cdef bint agents = False
        for k in range(self.book.n_fills):
            fill = &self.book.fills[k]
            self.traded_volume += fill.qty
            self.traded_notional += fill.price * fill.qty
            agents |= fill.maker_agent_id != C_BACKGROUND or fill.taker_agent_id != C_BACKGROUND
        if agents and self.agent_fills is not None:
            self.agent_fills(time_ns)
        return 0

    cdef int64_t _apply(self, Drawn* order) except -1:
        cdef int64_t t = order.time_ns, done, order_id, left, nearest
        cdef int32_t index, level
        cdef RecordingBook recording = self.recording
        cdef OrderBook book = self.book
        if order.kind != C_CANCEL:
            order_id = order.order_id
            if order_id < 0 or _rests(book, order_id):
                order_id = self.next_flow_id
            done = recording._limit(order.side, order.price, order.size, order_id, t,
                                    C_BACKGROUND)
            self._count_fills(t)  # before an IOC's remainder is cancelled (no fills then)
            if order.ioc and _rests(book, order_id):
                recording._cancel(order_id, t)
        elif order.order_id >= 0 and _rests(book, order.order_id):
            left = book.orders[book._lookup(order.order_id)].qty
            if order.size >= left:
                recording._cancel(order.order_id, t)
                done = left
            else:
                recording.reduce(order.order_id, order.size, t)
                done = order.size
        else:
            level = book._closest_level(<int>order.side, order.price, order.size, C_BACKGROUND,
                                        C_SEARCH_LEVELS, &nearest)
            if level == NIL:
                self.cancels_without_target += 1
                done = 0
            else:
                index = book._nth_closest(level, order.size, C_BACKGROUND, nearest, <int32_t>_below(
                    self.bitgen, book._count_closest(level, order.size, C_BACKGROUND, nearest)))
                done = recording._cancel(book.orders[index].order_id, t)
        self.next_flow_id += 1
        self._keep_ladder(t)
        return done

    cdef int _keep_ladder(self, int64_t t) except -1:
        if self.depth is not None and (self._ladder_short(0) or self._ladder_short(1)):
            self.depth.top_up(self.recording, t)
        return 0

    cdef int64_t _behind_touch(self, int64_t pick) noexcept:
        """Background orders behind their side's touch, the ladder's aside: how many (``pick``
        < 0), or the order-pool index of the ``pick``-th of them (bids from the touch down,
        then asks)."""
        cdef OrderBook book = self.book
        cdef int64_t count = 0
        cdef int si
        cdef int32_t k, oi
        for si in range(2):
            for k in range(book.side_n[si] - 2, -1, -1):  # the last level is the touch
                oi = book.levels[book.side_levels[si][k]].head
                while oi != NIL:
                    if book.orders[oi].agent_id == C_BACKGROUND and not (
                            C_FIRST_LADDER_ID <= book.orders[oi].order_id < C_FIRST_AGENT_ID):
                        if count == pick:
                            return oi
                        count += 1
                    oi = book.orders[oi].next
        return count

    cdef int _cancel_unseen(self, int64_t until_ns) except -1:
        """Unseen cancels up to ``until_ns`` (see the module docstring). A cancel drawn before
        the last recorded event (an agent's order applied meanwhile) is recorded at that
        event's time, so the recording stays in time order and the hazard loses nothing."""
        cdef RecordingBook recording = self.recording
        cdef int64_t n, at, floor
        cdef double clock = <double>self.unseen_time, wait_ns
        if self.unseen_time < 0:
            self.unseen_time = until_ns  # nothing to cancel before the first order
            return 0
        floor = recording.rows[(recording.n_rows - 1) * 6] if recording.n_rows else 0
        while True:
            n = self._behind_touch(-1)
            if n == 0:
                break
            wait_ns = random_standard_exponential(self.bitgen) / (self.unseen_cancel_rate * n) * 1e9
            if wait_ns > <double>until_ns - clock:
                break
            clock += wait_ns
            at = max(<int64_t>rint(clock), floor)
            recording._cancel(
                self.book.orders[self._behind_touch(_below(self.bitgen, n))].order_id, at)
            self.unseen_cancels += 1
            floor = at
            self._keep_ladder(at)
        self.unseen_time = until_ns
        return 0

    cdef bint _ladder_short(self, int side_index) noexcept:
        """Whether a side (0 bids, 1 asks) has fewer than the ladder's levels before its first
        gap wider than the ladder's widest: when neither has, the ladder's ``top_up`` would add
        nothing, and is not called (:meth:`~mars_gym.sim.depth.DepthLadder.ladder_prices`)."""
        cdef OrderBook book = self.book
        cdef int32_t n = book.side_n[side_index], k
        cdef int64_t price, previous = 0, gap
        if n < self.ladder_levels:
            return True
        for k in range(self.ladder_levels):
            price = book.levels[book.side_levels[side_index][n - 1 - k]].price
            if k:
                gap = price - previous
                if (-gap if gap < 0 else gap) > self.widest_gap:
                    return True
            previous = price
        return False


cdef inline const int64_t* _first(const int64_t[::1] values) noexcept:
    return &values[0] if values.shape[0] else NULL


cdef inline bint _rests(OrderBook book, int64_t order_id) noexcept:
    return idmap_get(&book.ids, order_id) != NIL


cdef object _to_python(Drawn* order):
    return FlowOrder(order.time_ns, order.kind, order.side, order.price, order.size,
                     order.order_id, bool(order.ioc))


cdef int64_t C_MAX_PRICE = MAX_PRICE, C_MAX_QTY = MAX_QTY


cdef int _from_python(object flow, object order, Drawn* out) except -1:
    """A Python flow's order (``flow``: None for :meth:`EventLoop.submit`) into ``out``, every
    field checked first (see Guards)."""
    if not isinstance(order, tuple) or len(order) != 7:
        raise FlowOrderError(f"{_caller(flow)} gave {_excerpt(order)}, not a FlowOrder")
    time_ns, kind, side, price, size, order_id, ioc = order
    cdef int64_t c_kind = _field(flow, order, "kind", kind, C_BUY, C_CANCEL)
    cdef int64_t c_side = _field(flow, order, "side", side, -1, 1)
    if c_side == 0:
        raise FlowOrderError(f"{_caller(flow)} gave a bad order: side must be +1 or -1, got 0 "
                             f"in {_excerpt(order)}")
    if (c_kind == C_BUY and c_side != 1) or (c_kind == C_SELL and c_side != -1):
        raise FlowOrderError(f"{_caller(flow)} gave a bad order: a {'buy' if c_kind == C_BUY else 'sell'} "
                             f"needs side {1 if c_kind == C_BUY else -1}, got {c_side} in "
                             f"{_excerpt(order)}")
    if not (ioc is True or ioc is False or isinstance(ioc, np.bool_)):
        raise FlowOrderError(f"{_caller(flow)} gave a bad order: ioc must be a bool, got "
                             f"{_excerpt(ioc)} in {_excerpt(order)}")
    out[0] = Drawn(_field(flow, order, "time_ns", time_ns, 0, INT64_MAX), c_kind, c_side,
                   _field(flow, order, "price", price, 1, C_MAX_PRICE),
                   # a cancel's size only picks the order it deletes: any positive int64
                   _field(flow, order, "size", size, 1,
                          INT64_MAX if c_kind == C_CANCEL else C_MAX_QTY),
                   _field(flow, order, "order_id", order_id, -1, INT64_MAX), bool(ioc))
    return 0


cdef int64_t _field(object flow, object order, str name, object value, int64_t low,
                    int64_t high) except? -2:
    """An order's field as an exact int64 in ``[low, high]`` (a Python or numpy integer; bools,
    floats and anything else are refused, never truncated)."""
    cdef int overflow = 0
    cdef long long number
    if type(value) is int:  # the common case, in C
        number = PyLong_AsLongLongAndOverflow(value, &overflow)
        if not overflow and low <= number <= high:
            return number
    if type(value) is not int and (isinstance(value, bool) or not isinstance(value, np.integer)):
        raise FlowOrderError(f"{_caller(flow)} gave a bad order: {name} must be an integer, got "
                             f"{_excerpt(value)} of type {type(value).__name__} in "
                             f"{_excerpt(order)}")
    if not low <= value <= high:
        raise FlowOrderError(f"{_caller(flow)} gave a bad order: {name} must be in [{low}, "
                             f"{high}], got {value} in {_excerpt(order)}")
    return <int64_t>value


cdef str _caller(object flow):
    return "EventLoop.submit()" if flow is None else f"{type(flow).__name__}.next_order()"


cdef str _excerpt(object value):
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


cdef tuple _table(categorical, dtype):
    """A :class:`~mars_gym.sim.flows.draws.Categorical`'s cumulative probabilities and values."""
    return (np.asarray(categorical.cdf, dtype=np.float64),
            np.asarray(categorical.values, dtype=dtype))
