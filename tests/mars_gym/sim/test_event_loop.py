"""The compiled event loop against the same rules written in Python with numpy's calls.

The references below are the flows and the cancel rule as plain Python: ``Generator.choice``,
``exponential``, ``random`` and ``integers`` calls, the cancel's order found by walking the
book's L3 view. The compiled flows and :class:`~mars_gym.sim._event_loop.EventLoop` must record
the very same events from the same seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

from lob_core import OrderBook
from mars_gym.data import NEW, SOURCES, load_source, split_by_time
from mars_gym.data.orders import (
    BUY_ORDER,
    CANCEL_ORDER,
    SELL_ORDER,
    TOKEN_ORDER_DTYPE,
    events_to_orders,
)
from mars_gym.data.recording import RecordingBook
from mars_gym.sim._event_loop import BACKGROUND_AGENT, SEARCH_LEVELS, EventLoop
from mars_gym.sim.depth import DepthLadder, DepthProfile
from mars_gym.sim.flows import FlowOrder, HawkesCalibration, HawkesFlow, NoiseFlow, run_alone
from mars_gym.sim.flows.replay import ReplayFlow
from mars_gym.sim.ids import FIRST_AGENT_ORDER_ID, FIRST_FLOW_ORDER_ID, FIRST_LADDER_ORDER_ID
from tests.mars_gym.sim.books import seeded_book

AMZN = SOURCES["AMZN"]


class NumpyNoise(NoiseFlow):
    """The noise flow with ``Generator.choice``."""

    def reset(self, seed, book, start_ns):
        self.rng, self.book, self.time_ns = np.random.default_rng(seed), book, int(start_ns)
        self.last_price = self.initial_price
        self._reference_price()

    def _reference_price(self):
        if self.book.best_bid is not None:
            self.last_price = self.book.best_bid
        elif self.book.best_ask is not None:
            self.last_price = self.book.best_ask - 1
        return self.last_price

    def next_order(self):
        self.time_ns += self.interval_ns
        kind = int(self.rng.choice([BUY_ORDER, SELL_ORDER, CANCEL_ORDER], p=[0.4, 0.4, 0.2]))
        if kind == CANCEL_ORDER:
            side = 1 if self.rng.random() < 0.5 else -1
            touch = self.book.best_bid if side > 0 else self.book.best_ask
            return FlowOrder(self.time_ns, kind, side, touch or self._reference_price(), 1 << 62)
        price = max(1, self._reference_price()
                    + int(self.rng.choice([0, 1, -1, 2], p=[0.35, 0.35, 0.15, 0.15])))
        volume = int(self.rng.choice([100, 200, 500, 1000, 2000],
                                     p=[0.5, 0.3, 0.15, 0.025, 0.025]))
        size = max(1, round(volume * self.volume_scale / 100))
        return FlowOrder(self.time_ns, kind, 1 if kind == BUY_ORDER else -1, price, size)


class NumpyHawkes(HawkesFlow):
    """The Hawkes flow with ``exponential``, ``random`` and ``choice``."""

    def reset(self, seed, book, start_ns):
        self.rng, self.book = np.random.default_rng(seed), book
        self.last_price = book.best_bid or book.best_ask or self.initial_price
        self.time_s, self.excitation = start_ns / 1e9, 0.0

    def next_order(self):
        c, rng = self.calibration, self.rng
        t, excitation = self.time_s, self.excitation
        while True:
            bound = c.mu + excitation
            wait = rng.exponential(1 / bound)
            excitation *= np.exp(-c.beta * wait)
            t += wait
            if rng.random() * bound <= c.mu + excitation:
                self.excitation, self.time_s = excitation + c.alpha, t
                break
        kind = int(rng.choice(3, p=c.kind_probs))
        side = (1 if kind == BUY_ORDER else -1 if kind == SELL_ORDER
                else int(rng.choice(c.cancel_sides)))
        depth = int(rng.choice(c.depths[kind]))
        touch = self.book.best_bid if side > 0 else self.book.best_ask
        if touch is None:
            other = self.book.best_ask if side > 0 else self.book.best_bid
            touch = (other - side) if other is not None else self.last_price
        self.last_price = touch
        size = int(rng.choice(c.sizes[kind]))
        return FlowOrder(round(t * 1e9), kind, side, max(1, touch - side * depth), size)


def reference_submit(recording, order, order_id, rng):
    """A background order applied by the rule of mars_gym.sim._event_loop, in Python."""
    book = recording.book
    if order.kind != CANCEL_ORDER:
        oid = order.order_id if order.order_id >= 0 and order.order_id not in book else order_id
        done = recording.limit(order.side, order.price, order.size, oid, order.time_ns)
        if order.ioc and oid in book:
            recording.cancel(oid, order.time_ns)
        return done
    if order.order_id >= 0 and order.order_id in book:
        left = book.order(order.order_id)[2]
        if order.size >= left:
            return recording.cancel(order.order_id, order.time_ns)
        recording.reduce(order.order_id, order.size, order.time_ns)
        return order.size
    levels = book.depth(SEARCH_LEVELS)[0 if order.side > 0 else 2]
    levels = levels[levels > 0]
    for level in levels[np.argsort(np.abs(levels - order.price), kind="stable")]:
        queue = book.level_queue(order.side, int(level))
        mine = queue[queue["agent_id"] == BACKGROUND_AGENT]
        if len(mine):
            distance = np.abs(mine["qty"] - order.size)
            closest = np.flatnonzero(distance == distance.min())
            victim = int(mine["order_id"][closest[rng.integers(len(closest))]])
            return recording.cancel(victim, order.time_ns)
    return 0


def reference_run(flow, book, start_ns, end_ns, seed, depth=None):
    recording = RecordingBook(book)
    flow.reset(seed, book, start_ns)
    rng, order_id = np.random.default_rng(seed + 1), FIRST_FLOW_ORDER_ID
    while (order := flow.next_order()).time_ns <= end_ns:
        reference_submit(recording, order, order_id, rng)
        order_id += 1
        if depth is not None:
            depth.top_up(recording, order.time_ns)
    return recording.events()


def _calibration() -> HawkesCalibration:
    """Marks of odd lengths (bounded integers of several ranges, one long array) and a kind
    never drawn without marks."""
    rng = np.random.default_rng(0)
    return HawkesCalibration(
        2.0, 3.0, 6.0, np.array([0.45, 0.35, 0.2]),
        {BUY_ORDER: rng.integers(-2, 9, 70_001), SELL_ORDER: np.array([0, 1, 3]),
         CANCEL_ORDER: np.array([0, 0, 2, 5, 1])},
        {BUY_ORDER: rng.integers(1, 900, 12_345), SELL_ORDER: np.array([100, 300]),
         CANCEL_ORDER: np.array([50, 100, 200])}, np.array([1, -1, -1]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compiled_noise_records_what_the_numpy_noise_flow_records(seed):
    compiled = run_alone(NoiseFlow(interval_ns=50_000_000, volume_scale=70), seeded_book(), 0,
                        90 * 10**9, AMZN, seed=seed).events
    reference = reference_run(NumpyNoise(interval_ns=50_000_000, volume_scale=70), seeded_book(), 0,
                              90 * 10**9, seed)
    assert len(reference) > 1_500  # ~1,800 orders and their executions and cancels
    assert (reference["type"] == 1).sum() > 200  # the cancel rule ran hundreds of times
    np.testing.assert_array_equal(compiled, reference)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compiled_hawkes_records_what_the_numpy_hawkes_flow_records(seed):
    compiled = run_alone(HawkesFlow(_calibration()), seeded_book(), 0, 150 * 10**9, AMZN,
                        seed=seed).events
    reference = reference_run(NumpyHawkes(_calibration()), seeded_book(), 0, 150 * 10**9, seed)
    assert len(reference) > 500
    np.testing.assert_array_equal(compiled, reference)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_loop_tops_the_ladder_up_exactly_when_it_would_add_levels(seed):
    """The loop calls the depth ladder only when a side is short of levels (checked in C); the
    events equal those of a run that calls ``top_up`` after every order."""
    profile = DepthProfile(np.array([1, 1, 2, 3, 7]), np.array([100, 200, 300, 50, 900]))

    def ladder_book():
        book, ladder = seeded_book(), DepthLadder(profile, visible_levels=2, levels=6)
        ladder.prepare(book, seed)
        return book, ladder

    flow = NoiseFlow(interval_ns=50_000_000, volume_scale=300)
    compiled = run_alone(flow, *ladder_book()[:1], 0, 60 * 10**9, AMZN, seed=seed,
                        depth=None).events  # no ladder: the comparison below must differ
    book, ladder = ladder_book()
    laddered = run_alone(flow, book, 0, 60 * 10**9, AMZN, seed=seed, depth=ladder).events
    book, ladder = ladder_book()
    reference = reference_run(NumpyNoise(interval_ns=50_000_000, volume_scale=300), book, 0,
                              60 * 10**9, seed, depth=ladder)
    refills = (reference["type"] == NEW) & (reference["order_id"] >= FIRST_LADDER_ORDER_ID)
    assert refills.sum() > 10  # the ladder added levels again and again while the flow ran
    np.testing.assert_array_equal(laddered, reference)
    assert len(compiled) != len(laddered)


@pytest.mark.real_data
def test_compiled_replay_records_what_the_recorded_orders_give():
    """A real AMZN stretch replayed on its real book: resting orders, aggressors (IOC when they
    rested nothing) and cancels by id or, for volume seeded before the start, by the rule."""
    stream = split_by_time(load_source("AMZN"))["test"]
    start = 2_000
    flow = ReplayFlow(stream, start)
    begin = int(stream.events["time_ns"][start])
    end = begin + 120 * 10**9

    class ListReplay:
        def reset(self, seed, book, start_ns):
            orders = flow.orders
            rows = orders[orders["time_ns"] >= start_ns]
            self.rows = iter(rows.tolist() + [(1 << 62, CANCEL_ORDER, 1, 1, 0, 0, -1)])

        def next_order(self):
            time_ns, kind, side, price, size, _, order_id = next(self.rows)
            return FlowOrder(time_ns, kind, side, price, size, order_id,
                             ioc=kind != CANCEL_ORDER and order_id < 0)

    assert flow.orders.dtype == TOKEN_ORDER_DTYPE
    compiled = run_alone(flow, stream.book_before(start), begin, end, AMZN).events
    reference = reference_run(ListReplay(), stream.book_before(start), begin, end, 0)
    assert len(reference) > 300
    np.testing.assert_array_equal(compiled, reference)


@pytest.mark.real_data
def test_a_replay_read_in_place_from_the_whole_parse_equals_its_own_parse():
    """The flow built on the whole stream's orders reads the order the start cuts, then the
    whole parse in place: the same events as parsing the rest of the stream, also when its
    start time lies past that cut order."""
    stream = split_by_time(load_source("AMZN"))["test"]
    whole = events_to_orders(stream)
    spanning = whole["event"][:-1][np.diff(whole["event"]) > 1]  # aggressors' runs
    start = int(spanning[len(spanning) // 2]) + 1  # inside one: the parse is cut there
    in_place, parsed = ReplayFlow(stream, start, whole), ReplayFlow(stream, start)
    assert len(in_place.head) >= 1 and len(in_place.tail) > 1_000
    assert np.shares_memory(in_place.tail, whole)  # not copied
    begin = int(stream.events["time_ns"][start])
    for first_ns in (begin, int(in_place.tail["time_ns"][50])):
        runs = [run_alone(flow, stream.book_before(start), first_ns, first_ns + 60 * 10**9,
                         AMZN).events for flow in (in_place, parsed)]
        assert len(runs[0]) > 200
        np.testing.assert_array_equal(runs[0], runs[1])


def test_a_python_flow_goes_through_the_same_loop():
    """A flow without compiled draws (here the numpy noise flow) is called from the loop:
    the same events as the compiled flow from the same seed."""
    python, compiled = (run_alone(flow, seeded_book(), 0, 30 * 10**9, AMZN, seed=4)
                        for flow in (NumpyNoise(interval_ns=50_000_000),
                                     NoiseFlow(interval_ns=50_000_000)))
    np.testing.assert_array_equal(python.events, compiled.events)
    assert python.report == compiled.report and python.report["orders"] == 600


def test_the_loop_stops_before_the_first_order_after_its_time_and_keeps_it():
    book, flow = seeded_book(), NoiseFlow(interval_ns=10)
    flow.reset(0, book, 0)
    loop = EventLoop(flow, RecordingBook(book), np.random.default_rng(0))
    assert loop.pending is None
    assert loop.run(95)
    assert loop.next_flow_id - FIRST_FLOW_ORDER_ID == 9  # orders at 10, 20, ..., 90
    assert loop.pending.time_ns == 100  # drawn, not applied
    loop.drop_pending()
    assert loop.run(100) and loop.pending.time_ns == 110  # the order at 100 was dropped


def test_an_ioc_orders_fills_count_when_its_remainder_is_cancelled():
    """A replayed aggressor that rested nothing is IOC: what it executed is traded volume and
    reaches the agents it hit, though its remainder is then cancelled."""
    book = OrderBook(1)
    book.limit(-1, 100, 10, 5, agent_id=7)  # an agent's resting ask
    book.limit(1, 90, 10, 6)
    seen = []
    loop = EventLoop(None, RecordingBook(book), np.random.default_rng(0),
                     agent_fills=lambda t: seen.append((t, book.fills.copy())))
    assert loop.submit(FlowOrder(1_000, BUY_ORDER, 1, 101, 30, -1, ioc=True)) == 10
    assert book.best_ask is None and book.best_bid == 90  # the 20 left did not rest
    assert loop.traded_volume == 10 and loop.traded_notional == 1_000
    assert len(seen) == 1 and seen[0][0] == 1_000
    assert seen[0][1][["maker_order_id", "qty", "maker_agent_id"]].tolist() == [(5, 10, 7)]


def test_a_hawkes_arrival_past_the_end_of_time_never_comes():
    """A degenerate fit (baseline ~1e-100 per second) puts the next arrival ~1e109 ns away:
    the flow's order then lies at the end of time, and the loop runs on without it."""
    calibration = _calibration()
    flow = HawkesFlow(HawkesCalibration(1e-100, 6e307, 6.1e307, calibration.kind_probs,
                                        calibration.depths, calibration.sizes,
                                        calibration.cancel_sides))
    book = seeded_book()
    flow.reset(0, book, 0)
    assert flow.next_order().time_ns == np.iinfo(np.int64).max
    stream = run_alone(flow, seeded_book(), 0, 10**10, AMZN)
    assert stream.report["orders"] == 0 and len(stream) == 0


class ListedFlow:
    """A Python flow of given orders (then one at the end of time), with an unseen-cancel
    rate."""

    def __init__(self, orders, unseen_cancel_rate):
        self.orders = iter([*orders, FlowOrder(1 << 62, BUY_ORDER, 1, 1, 1)])
        self.unseen_cancel_rate = unseen_cancel_rate

    def next_order(self):
        return next(self.orders)


def _deep_book(per_level=40, levels=10, agent_orders=20, ladder_orders=0):
    """Touch bid 10,000 / ask 10,010 with 5 orders each; ``levels`` levels behind each touch
    with ``per_level`` background orders; ``agent_orders`` of agent 7 and ``ladder_orders`` of
    the depth ladder behind each touch."""
    book, order_id = OrderBook(1), 1
    for side, touch in ((1, 10_000), (-1, 10_010)):
        for k in range(levels + 1):
            for _ in range(5 if k == 0 else per_level):
                book.limit(side, touch - side * k, 10, order_id=order_id)
                order_id += 1
        for k in range(agent_orders):
            book.limit(side, touch - side * (1 + k % levels), 10, order_id=order_id, agent_id=7)
            order_id += 1
        for k in range(ladder_orders):  # the depth ladder's (background, ids of its range)
            book.limit(side, touch - side * (1 + k % levels), 10,
                       order_id=FIRST_LADDER_ORDER_ID + (k if side > 0 else 1_000 + k))
    return book


def _behind(book, agent, ladder=False):
    """How many of ``agent``'s orders (the ladder's, or all others) rest behind their side's
    touch."""
    orders = book.orders_array()
    near = np.where(orders["side"] > 0, book.best_bid, book.best_ask)
    behind = orders["side"] * (near - orders["price"]) > 0
    ids = orders["order_id"]
    of_ladder = (ids >= FIRST_LADDER_ORDER_ID) & (ids < FIRST_AGENT_ORDER_ID)
    return int((behind & (orders["agent_id"] == agent) & (of_ladder == ladder)).sum())


@pytest.mark.parametrize("seed", [0, 1])
def test_unseen_cancels_take_background_orders_behind_the_touch_at_their_rate(seed):
    """From the flow's first order to its next, 10 s later, each of the 800 background orders
    behind the touch (and the first far sell) survives the hazard 0.1/s with probability
    exp(-1): 295 of 801 expected (sd 14).
    The touch, the agent's orders and the ladder's behind it are never cancelled; every cancel
    is recorded, in time order, between the two orders."""
    book = _deep_book(ladder_orders=30)
    touch_before = (book.level_volume(1, 10_000), book.level_volume(-1, 10_010))
    assert _behind(book, BACKGROUND_AGENT) == 800
    far = [FlowOrder(10**9, SELL_ORDER, -1, 20_000, 1), FlowOrder(11 * 10**9, SELL_ORDER, -1,
                                                                   20_000, 1)]
    recording = RecordingBook(book)
    loop = EventLoop(ListedFlow(far, 0.1), recording, np.random.default_rng(seed))
    assert loop.run(11 * 10**9) and loop.unseen_cancel_rate == 0.1
    # the far sells rest behind the ask: the first is one of 801 orders exposed for 10 s, the
    # second arrives after the cancels
    survivors = _behind(book, BACKGROUND_AGENT) - 1
    expected = 801 * np.exp(-1)
    assert abs(survivors - expected) < 4 * np.sqrt(expected * (1 - np.exp(-1)))
    assert loop.unseen_cancels == 801 - survivors
    assert _behind(book, 7) == 40  # the agent's orders are all there
    assert _behind(book, BACKGROUND_AGENT, ladder=True) == 60  # and the ladder's
    assert (book.level_volume(1, 10_000), book.level_volume(-1, 10_010)) == touch_before
    events = recording.stream(AMZN).events
    cancels = events[events["type"] != NEW]
    assert len(cancels) == loop.unseen_cancels
    assert (np.diff(cancels["time_ns"]) >= 0).all()
    assert 10**9 < cancels["time_ns"].min() and cancels["time_ns"].max() <= 11 * 10**9


def test_unseen_cancels_are_the_same_from_the_same_seed_and_absent_at_rate_zero():
    def run(seed, rate):
        book = _deep_book()
        recording = RecordingBook(book)
        orders = [FlowOrder(k * 10**9, SELL_ORDER, -1, 20_000, 1) for k in range(1, 6)]
        EventLoop(ListedFlow(orders, rate), recording, np.random.default_rng(seed)).run(
            6 * 10**9)
        return recording.stream(AMZN).events

    np.testing.assert_array_equal(run(3, 0.05), run(3, 0.05))
    assert (run(3, 0.05)["type"] != NEW).sum() > 10  # 800 orders x 0.05/s x 5 s: ~180
    assert (run(3, 0.0)["type"] == NEW).all() and len(run(3, 0.0)) == 5
    with pytest.raises(ValueError, match="unseen_cancel_rate must be >= 0"):
        EventLoop(ListedFlow([], -1.0), RecordingBook(_deep_book()), np.random.default_rng(0))


def test_unseen_cancels_stay_in_time_order_around_agent_orders():
    """The simulator applies agents' orders between the flow's: an unseen cancel drawn before
    an agent's order that was already recorded is recorded at that order's time, so the events
    stay in time order; the hazard still acts over the whole gap (about 180 cancels expected
    from 800 orders x 0.05/s x 5 s)."""
    from mars_gym.sim.simulator import AGENT_LIMIT, AgentOrder, Simulator

    class SparseFlow:  # one far order a second, and the unseen-cancel rate
        unseen_cancel_rate = 0.05

        def reset(self, seed, book, start_ns):
            self.time_ns = start_ns

        def next_order(self):
            self.time_ns += 10**9
            return FlowOrder(self.time_ns, SELL_ORDER, -1, 20_000, 1)

    sim = Simulator(SparseFlow())
    sim.reset(_deep_book(), 0, seed=5)
    for k in range(10):  # an agent's order every half second, between the flow's
        sim.submit(7, AgentOrder(AGENT_LIMIT, side=1, price=9_000 + k, size=1))
        sim.run_until((k + 1) * 500_000_000)
    events = sim.stream(AMZN).events
    assert (np.diff(events["time_ns"]) >= 0).all()
    cancels = int((events["type"] != NEW).sum())
    assert cancels == sim.loop.unseen_cancels and 100 < cancels < 260
