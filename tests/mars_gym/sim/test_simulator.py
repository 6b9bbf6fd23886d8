"""The simulator's clock: it never spins on a flow that stops advancing time."""

from __future__ import annotations

import pytest

from lob_core import OrderBook
from mars_gym.data.schema import Source
from mars_gym.sim.flows import FlowOrder, FlowStalledError, run_flow
from mars_gym.sim.flows.base import MAX_ORDERS_AT_ONE_TIME
from mars_gym.sim.simulator import Simulator
from mars_gym.tokens import BUY_ORDER, SELL_ORDER


class FrozenClockFlow:
    """Alternates a bid and an ask far from each other, always at the same time (as a model
    with NaN weights drawing interval 0 forever would)."""

    def reset(self, seed, book, start_ns):
        self.time_ns, self.n = start_ns, 0

    def next_order(self):
        self.n += 1
        side = 1 if self.n % 2 else -1
        return FlowOrder(self.time_ns, BUY_ORDER if side > 0 else SELL_ORDER, side,
                         100 if side > 0 else 200, 1)


class SlowClockFlow(FrozenClockFlow):
    """Many orders per nanosecond, but time does advance."""

    def next_order(self):
        order = super().next_order()
        if self.n % 1_000 == 0:
            self.time_ns += 1
        return order._replace(time_ns=self.time_ns)


def _book() -> OrderBook:
    book = OrderBook(1)
    book.limit(1, 100, 10, 1)
    book.limit(-1, 200, 10, 2)
    return book


def test_a_flow_that_never_advances_time_raises_instead_of_hanging():
    simulator = Simulator(FrozenClockFlow())
    simulator.reset(_book(), 0, seed=0)
    with pytest.raises(FlowStalledError,
                       match=f"FrozenClockFlow produced {MAX_ORDERS_AT_ONE_TIME + 1} "
                             "orders at time 0 ns"):
        simulator.run_until(1_000_000_000)
    assert simulator.loop.stall_count == MAX_ORDERS_AT_ONE_TIME + 1


def test_run_flow_also_refuses_a_frozen_clock():
    with pytest.raises(FlowStalledError, match="without advancing time"):
        run_flow(FrozenClockFlow(), _book(), 0, 10, Source("X", 0, 0.01, 1.0, "USD", "test"))


def test_bursts_at_one_time_below_the_limit_are_fine():
    simulator = Simulator(SlowClockFlow())
    simulator.reset(_book(), 0, seed=0)
    assert simulator.run_until(5) is True
    assert simulator.loop.stall_count <= 1_000
