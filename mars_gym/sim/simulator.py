"""The event-driven simulator: one book, one background flow, agents' orders with latency.

Time is integer nanoseconds. The background flow's next order and the agents' in-flight orders
wait in time order; :meth:`Simulator.run_until` applies everything due up to a time, then stops
the clock there. An agent's order is sent at the current time and reaches the book after the
latency; at equal times an agent order goes before the background order. The flow draws its
next order right after its previous one is applied (reading the book then), so an agent order
arriving in between is seen by the flow's order after that one. A flow whose
``observe_agents`` is set (the LMM's option) is also told of every agent order that reached the
book: its drawn next order is dropped and drawn again after the agent's, which joins the flow's
own sequence of orders. Every change to the book is recorded
(:class:`~mars_gym.data.recording.RecordingBook`), so a simulated window is an
:class:`~mars_gym.data.schema.EventStream` like real data, and the fills of each agent are kept.
Prices are ticks of a tick-1 book; sizes are lots.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import NamedTuple, cast

import numpy as np

from lob_core import GTC, IOC, OrderBook
from mars_gym.data.orders import BUY_ORDER, CANCEL_ORDER, SELL_ORDER
from mars_gym.data.recording import RecordingBook
from mars_gym.data.schema import EventStream, Source
from mars_gym.sim._event_loop import BACKGROUND_AGENT, EventLoop
from mars_gym.sim.depth import DepthLadder
from mars_gym.sim.flows.base import (
    AgentObservingFlow,
    BackgroundFlow,
    FlowOrder,
    observes_agents,
)
from mars_gym.sim.ids import FIRST_AGENT_ORDER_ID
from mars_gym.sim.latency import ConstantLatency

AGENT_LIMIT, AGENT_MARKET, AGENT_CANCEL = "limit", "market", "cancel"


class AgentOrder(NamedTuple):
    """What an agent sends. ``price`` only for limit orders; ``order_id`` only for cancels."""

    kind: str           # "limit", "market" or "cancel"
    side: int = 1       # +1 buy / -1 sell
    price: int = 0      # ticks
    size: int = 0       # lots
    tif: int = GTC      # limit orders: GTC or IOC (lob_core constants)
    order_id: int = -1  # cancels: the agent's order to cancel


@dataclass
class AgentFill:
    time_ns: int
    order_id: int
    side: int
    price: int
    size: int
    passive: bool  # the agent's order was resting (maker)


@dataclass
class AgentAccount:
    agent_id: int
    fills: list[AgentFill] = field(default_factory=list)
    resting: set[int] = field(default_factory=set)  # the agent's order ids now in the book
    filled: int = 0    # lots of all its fills (kept as they come: read at every step)
    notional: int = 0  # sum of price x lots of its fills (ticks x lots)

    def add(self, fill: AgentFill) -> None:
        self.fills.append(fill)
        self.filled += fill.size
        self.notional += fill.price * fill.size


class Simulator:
    """A book driven by a background flow and any number of agents (see the module docstring).

    Parameters
    ----------
    flow : BackgroundFlow
        Orders of the rest of the market (``lmm``, ``replay``, ``noise``, ``hawkes``).
    latency : object with ``sample(rng) -> ns``, default 1 ms constant
    depth : DepthLadder, optional
        Keeps price levels behind the touch for sources whose data shows only the best ones
        (:func:`mars_gym.sim.depth.source_ladder`).
    """

    def __init__(self, flow: BackgroundFlow, latency=None, depth: DepthLadder | None = None
                 ) -> None:
        self.flow = flow
        self.latency = latency or ConstantLatency()
        self.depth = depth

    def reset(self, book: OrderBook, start_ns: int, seed: int) -> None:
        """Start at ``start_ns`` on ``book`` (seeded with the real state); flow and latency are
        reseeded from ``seed``."""
        if book.tick_size != 1:
            raise ValueError("the simulator works in ticks: use OrderBook(tick_size=1)")
        self.book = book
        if self.depth is not None:  # before recording: the ladder is part of the start book
            self.depth.prepare(book, seed)
        self.recording = RecordingBook(book)
        self.now = int(start_ns)
        self.rng = np.random.default_rng([seed, 1])
        self.flow.reset(seed, book, self.now)
        self.observing = observes_agents(self.flow)
        # the background's orders, applied in C (drawn there too for compiled flows)
        self.loop = EventLoop(self.flow, self.recording, self.rng, self.depth, self._agent_fills)
        self.in_flight: list[tuple[int, int, int, AgentOrder]] = []  # (arrival, seq, agent, order)
        self.sequence = 0
        self.accounts: dict[int, AgentAccount] = {}
        self.next_agent_id = FIRST_AGENT_ORDER_ID
        self.failure: str | None = None  # why run_until stopped on an error (then: reset)

    @property
    def traded_volume(self) -> int:
        """Lots traded in the book since the reset."""
        return self.loop.traded_volume

    @property
    def traded_notional(self) -> int:
        """Sum of price x lots of the trades since the reset (ticks x lots)."""
        return self.loop.traded_notional

    @property
    def next_flow_id(self) -> int:
        """The id the background's next order gets (ids count up from ``FIRST_FLOW_ORDER_ID``,
        one per background order applied)."""
        return self.loop.next_flow_id

    # -- agents ------------------------------------------------------------------------------
    def account(self, agent_id: int) -> AgentAccount:
        """The agent's fills and resting orders (opened at its first use)."""
        account = self.accounts.get(agent_id)
        if account is None:
            if agent_id == BACKGROUND_AGENT:
                raise ValueError(f"agent id {BACKGROUND_AGENT} is the background flow's")
            account = self.accounts[agent_id] = AgentAccount(agent_id)
        return account

    def submit(self, agent_id: int, order: AgentOrder) -> int:
        """Send an order now; it reaches the book after the latency. Returns its order id (a
        cancel returns the id it cancels)."""
        if order.kind not in (AGENT_LIMIT, AGENT_MARKET, AGENT_CANCEL):
            raise ValueError("order kind must be 'limit', 'market' or 'cancel', got "
                             f"{order.kind!r}")
        if order.kind != AGENT_CANCEL and (order.side not in (1, -1) or order.size <= 0):
            raise ValueError(f"an order needs side +1/-1 and size > 0, got {order}")
        if order.kind == AGENT_LIMIT and order.price <= 0:
            raise ValueError(f"a limit order needs a positive price, got {order.price}")
        if order.kind == AGENT_LIMIT and order.tif not in (GTC, IOC):
            raise ValueError(f"agent limit orders are GTC or IOC, got tif {order.tif}")
        self.account(agent_id)
        if order.kind == AGENT_CANCEL:
            order_id = order.order_id
        else:
            order_id = self.next_agent_id
            self.next_agent_id += 1
            order = AgentOrder(order.kind, order.side, order.price, order.size, order.tif,
                               order_id)
        arrival = self.now + int(self.latency.sample(self.rng))
        heapq.heappush(self.in_flight, (arrival, self.sequence, agent_id, order))
        self.sequence += 1
        return order_id

    def _apply_agent(self, time_ns: int, agent_id: int, order: AgentOrder) -> FlowOrder | None:
        """Apply an agent's order; return it as the book saw it (a market order priced at the
        touch it hit, a cancel at the order's price and size), or None if it did nothing."""
        account = self.accounts[agent_id]
        book = self.book
        if order.kind == AGENT_CANCEL:
            seen = None
            if order.order_id in account.resting and order.order_id in book:
                side, price, size, _, _ = book.order(order.order_id)
                seen = FlowOrder(time_ns, CANCEL_ORDER, side, price, size)
                self.recording.cancel(order.order_id, time_ns)
            account.resting.discard(order.order_id)
            return seen
        kind = BUY_ORDER if order.side > 0 else SELL_ORDER
        if order.kind == AGENT_MARKET:
            price = (book.best_ask if order.side > 0 else book.best_bid) or 0
            worst = 1 << 40 if order.side > 0 else 1
            self._limit(order.side, worst if price else 0, order.size, order.order_id, agent_id,
                        time_ns, IOC)
            return FlowOrder(time_ns, kind, order.side, price, order.size) if price else None
        self._limit(order.side, order.price, order.size, order.order_id, agent_id, time_ns,
                    order.tif)
        return FlowOrder(time_ns, kind, order.side, order.price, order.size)

    def _limit(self, side, price, size, order_id, agent_id, time_ns, tif) -> None:
        if price <= 0:
            return  # a market order into an empty side: nothing to trade with
        book = self.book
        self.recording.limit(side, price, size, order_id, time_ns, agent_id=agent_id)
        self.loop.count_fills(time_ns)
        if tif == IOC and order_id in book:
            self.recording.cancel(order_id, time_ns)
        if order_id in book:
            self.accounts[agent_id].resting.add(order_id)

    # -- the clock ---------------------------------------------------------------------------
    def _agent_fills(self, time_ns: int) -> None:
        """Hand the book's last fills to the accounts of the agents in them."""
        for price, size, maker, taker, maker_agent, taker_agent, _, taker_side in (
                self.book.fills.tolist()):
            if maker_agent in self.accounts:
                account = self.accounts[maker_agent]
                account.add(AgentFill(time_ns, maker, -taker_side, price, size, True))
                if maker not in self.book:
                    account.resting.discard(maker)
            if taker_agent in self.accounts:
                self.accounts[taker_agent].add(
                    AgentFill(time_ns, taker, taker_side, price, size, False))

    def run_until(self, time_ns: int) -> bool:
        """Apply every background and agent order due at or before ``time_ns``; return True.

        A flow served in a batch may not know its next order yet (``next_order()`` gave
        ``None``): then nothing more is applied — an agent order might come after it — and the
        call returns False; call again once the flow has its token.

        Raises :class:`~mars_gym.sim.flows.base.FlowStalledError` when the flow produces more
        than ``MAX_ORDERS_AT_ONE_TIME`` orders without advancing time or more than
        ``MAX_ORDERS_PER_SECOND`` in one simulated second (it would never return), and
        :class:`~mars_gym.sim.flows.base.FlowOrderError` when its ``next_order()`` gives an
        invalid order (the order is not applied). After any error raised while running, the
        book is part-way through the call and :attr:`failure` says why: every later call
        raises a ``RuntimeError`` until :meth:`reset`.
        """
        if time_ns < self.now:
            raise ValueError(f"time goes backwards: {time_ns} < {self.now}")
        if self.failure is not None:
            raise RuntimeError(f"the simulator stopped on an error ({self.failure}): reset it")
        try:
            return self._run_until(time_ns)
        except Exception as error:
            self.failure = f"{type(error).__name__}: {error}"
            raise

    def _run_until(self, time_ns: int) -> bool:
        while True:
            agent_time = self.in_flight[0][0] if self.in_flight else None
            # background orders strictly before the next agent order (an agent's goes first)
            until = time_ns if agent_time is None else min(time_ns, agent_time - 1)
            if not self.loop.run(until):
                return False
            if agent_time is None or agent_time > time_ns:
                break
            arrival, _, agent_id, order = heapq.heappop(self.in_flight)
            touch = self.touch() if self.observing else None
            seen = self._apply_agent(arrival, agent_id, order)
            if self.observing and seen is not None:
                # the flow draws its next order again
                cast(AgentObservingFlow, self.flow).observe(seen, touch)
                self.loop.drop_pending()
            self._top_up(arrival)
        self.now = int(time_ns)
        return True

    def _top_up(self, time_ns: int) -> None:
        if self.depth is not None:
            self.depth.top_up(self.recording, time_ns)

    # -- views -------------------------------------------------------------------------------
    def mid(self) -> float | None:
        touch = self.touch()
        return None if touch is None else (touch[0] + touch[1]) / 2

    def touch(self) -> tuple[int, int] | None:
        """(best bid, best ask), or None when a side is empty."""
        bid, ask = self.book.best_bid, self.book.best_ask
        return (bid, ask) if bid is not None and ask is not None else None

    def stream(self, source: Source) -> EventStream:
        """Everything that happened to the book since the reset, as events."""
        return self.recording.stream(source)
