"""The event loop's guards on a background flow's orders: every field checked as it crosses
into C (the bad order never reaches the book), time never backwards, and a runaway flow refused
within seconds; a simulator that stopped on an error refuses to run on until reset."""

from __future__ import annotations

import time

import numpy as np
import pytest

from benchmarks.probe_flows import CASES, VALID_ORDERS, ProbeFlow
from lob_core import OrderBook
from mars_gym.data.orders import CANCEL_ORDER
from mars_gym.sim.flows import FlowOrderError, FlowStalledError
from mars_gym.sim.flows.base import (
    MAX_IDENTICAL_ORDERS,
    MAX_ORDERS_AT_ONE_TIME,
    MAX_ORDERS_PER_SECOND,
)
from mars_gym.sim.ids import FIRST_FLOW_ORDER_ID
from mars_gym.sim.simulator import Simulator

SECOND = 10**9


def _simulator(flow: ProbeFlow) -> Simulator:
    book = OrderBook(1)
    book.limit(1, 100, 10, 1)
    book.limit(-1, 200, 10, 2)
    simulator = Simulator(flow)
    simulator.reset(book, 0, seed=0)
    return simulator


GARBAGE = [
    ("none", r"ProbeFlow.next_order\(\) gave None; only a batched flow"),
    ("string", r"ProbeFlow.next_order\(\) gave 'buy 100', not a FlowOrder"),
    ("negative_size", r"size must be in \[1, 4611686018427387903\], got -5"),
    ("float_size", r"size must be an integer, got 1.5 of type float"),
    ("kind_7", r"kind must be in \[0, 2\], got 7"),
    ("side_0", r"side must be \+1 or -1, got 0"),
    ("price_0", r"price must be in \[1, 2305843009213693951\], got 0"),
    ("time_backwards", (r"gave an order at 11000000 ns, before its previous one at "
                        r"1010000000 ns: a flow's time never goes backwards")),
]


@pytest.mark.parametrize(("case", "message"), GARBAGE)
def test_a_garbage_flow_order_is_refused_naming_the_field_and_never_applied(case, message):
    simulator = _simulator(CASES[case]())
    if case == "time_backwards":  # its bad order comes at 11 ms - 1 s: start a second in
        simulator.flow.time_ns = SECOND
    with pytest.raises(FlowOrderError, match=message):
        simulator.run_until(2 * SECOND)
    # the valid orders were applied, the bad one was not
    assert simulator.next_flow_id == FIRST_FLOW_ORDER_ID + VALID_ORDERS
    assert len(simulator.book) == 2 + VALID_ORDERS


@pytest.mark.parametrize("bad", [{"size": 2.0}, {"price": np.float64(100)}, {"kind": True},
                                 {"time_ns": None}, {"ioc": 1}, {"side": 5},
                                 {"kind": CANCEL_ORDER, "size": 0}])
def test_a_flow_order_of_the_wrong_type_or_range_is_refused_not_truncated(bad):
    simulator = _simulator(ProbeFlow(bad=lambda f: f.order()._replace(**bad)))
    field = next(iter(bad)) if len(bad) == 1 else "size"
    with pytest.raises(FlowOrderError, match=f"ProbeFlow.next_order\\(\\) gave a bad order: "
                                             f"{field} must be"):
        simulator.run_until(SECOND)
    assert simulator.next_flow_id == FIRST_FLOW_ORDER_ID + VALID_ORDERS


def test_a_buy_on_the_sell_side_is_refused():
    simulator = _simulator(ProbeFlow(bad=lambda f: f.order()._replace(side=-1)))
    with pytest.raises(FlowOrderError, match="a buy needs side 1, got -1"):
        simulator.run_until(SECOND)


def test_numpy_integers_are_valid_order_fields():
    simulator = _simulator(ProbeFlow(bad=lambda f: f.order()._replace(
        size=np.int64(3), price=np.int32(f.ask), order_id=np.int64(-1), ioc=np.bool_(False))))
    assert simulator.run_until(SECOND)  # orders 11.. rest 3 lots at the ask
    assert simulator.next_flow_id == FIRST_FLOW_ORDER_ID + SECOND // 1_000_000


def test_a_flow_crawling_one_nanosecond_per_order_is_refused_within_seconds():
    simulator = _simulator(CASES["one_ns_per_order"]())
    started = time.perf_counter()
    with pytest.raises(FlowStalledError,
                       match=f"ProbeFlow produced {MAX_ORDERS_PER_SECOND + 1} orders within one "
                             "simulated second .* far more than any market; its next-order "
                             "distribution is degenerate"):
        simulator.run_until(60 * SECOND)
    assert time.perf_counter() - started < 30
    assert simulator.next_flow_id == FIRST_FLOW_ORDER_ID + MAX_ORDERS_PER_SECOND


def test_orders_at_the_busiest_real_rate_run_for_many_seconds():
    # 10 us apart: 100,000 a second, the limit itself (100 times BTCUSD_2026's busiest second)
    simulator = _simulator(ProbeFlow(interval_ns=SECOND // MAX_ORDERS_PER_SECOND))
    assert simulator.run_until(3 * SECOND)
    assert simulator.next_flow_id == FIRST_FLOW_ORDER_ID + 3 * MAX_ORDERS_PER_SECOND


def test_a_frozen_clock_is_reported_as_a_degenerate_distribution():
    simulator = _simulator(CASES["frozen_clock"]())
    with pytest.raises(FlowStalledError,
                       match=f"produced {MAX_ORDERS_AT_ONE_TIME + 1} orders at time 0 ns without "
                             "advancing time; its next-order distribution is degenerate"):
        simulator.run_until(SECOND)


def test_a_simulator_that_stopped_on_an_error_refuses_to_run_on_until_reset():
    simulator = _simulator(CASES["raises"]())
    with pytest.raises(RuntimeError, match="the user's model failed"):
        simulator.run_until(SECOND)
    with pytest.raises(RuntimeError, match=r"the simulator stopped on an error \(RuntimeError: "
                                           r"the user's model failed\): reset it"):
        simulator.run_until(SECOND)
    simulator.reset(simulator.book, 0, seed=0)
    assert simulator.failure is None


def test_one_order_repeated_at_one_time_is_reported_as_degenerate():
    simulator = _simulator(CASES["one_order_repeated"]())
    with pytest.raises(FlowStalledError,
                       match=f"ProbeFlow produced {MAX_IDENTICAL_ORDERS + 1} identical orders in a "
                             r"row at time 10000000 ns \(kind 0, side 1, price 100, size 1\); its "
                             "next-order distribution is degenerate"):
        simulator.run_until(SECOND)
