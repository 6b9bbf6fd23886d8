"""The simulator's clock (it never spins on a flow that stops advancing time), its agents'
accounts and how it tells which protocols a flow implements."""

from __future__ import annotations

import pytest

from lob_core import OrderBook
from mars_gym.data.orders import BUY_ORDER, SELL_ORDER
from mars_gym.data.schema import Source
from mars_gym.sim.flows import FlowOrder, FlowStalledError, run_alone
from mars_gym.sim.flows.base import (
    MAX_ORDERS_AT_ONE_TIME,
    AgentObservingFlow,
    BackgroundFlow,
    BatchedFlow,
    RecordingFollower,
    implements,
)
from mars_gym.sim.flows.lmm import LMMFlow
from mars_gym.sim.flows.noise import NoiseFlow
from mars_gym.sim.simulator import AGENT_MARKET, AgentOrder, Simulator


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


def test_run_alone_also_refuses_a_frozen_clock():
    with pytest.raises(FlowStalledError, match="without advancing time"):
        run_alone(FrozenClockFlow(), _book(), 0, 10, Source("X", 0, 0.01, 1.0, "USD", "test"))


def test_bursts_at_one_time_below_the_limit_are_fine():
    simulator = Simulator(SlowClockFlow())
    simulator.reset(_book(), 0, seed=0)
    assert simulator.run_until(5) is True
    assert simulator.loop.stall_count <= 1_000


class QuietFlow(FrozenClockFlow):
    """One order an hour after the start: the agents have the book to themselves."""

    def next_order(self):
        return FlowOrder(self.time_ns + 3_600 * 10**9, BUY_ORDER, 1, 100, 1)


def test_an_agents_account_totals_its_fills_as_they_come():
    book = _book()
    book.limit(-1, 201, 5, 3)
    simulator = Simulator(QuietFlow())
    simulator.reset(book, 0, seed=0)
    simulator.submit(7, AgentOrder(AGENT_MARKET, 1, size=12))
    simulator.run_until(10**9)
    account = simulator.account(7)
    assert [(f.price, f.size) for f in account.fills] == [(200, 10), (201, 2)]
    assert account.filled == 12 and account.notional == 200 * 10 + 201 * 2


class FollowsOnly:
    def follow(self, recording):
        pass


class WaitsForTokens:
    def __init__(self):
        self.service = self.stream = self.request = None

    @staticmethod
    def submit_waiting(flows, service):
        pass

    def deliver(self, token):
        pass

    def close(self):
        pass


class ObservesOnly:
    observe_agents = True

    def observe(self, order, touch):
        pass


@pytest.mark.parametrize("protocol", [BackgroundFlow, BatchedFlow, AgentObservingFlow,
                                      RecordingFollower])
def test_implements_answers_as_isinstance_does(protocol):
    candidates = [FrozenClockFlow(), FollowsOnly(), ObservesOnly(), object(),
                  NoiseFlow(10**9), WaitsForTokens(), LMMFlow.__new__(LMMFlow)]
    # an LMMFlow made without __init__ lacks its instance attributes: both must say so
    assert [implements(c, protocol) for c in candidates] == [
        isinstance(c, protocol) for c in candidates]
    assert any(isinstance(c, protocol) for c in candidates)
