"""The interface every background flow implements, and a driver that records its events.

A flow is reset on a live book and then asked, one at a time, for its next order; it reads the
book when it draws (so it reacts to everything that has happened, including other agents'
orders). Times are integer nanoseconds; prices are ticks of a tick-1 book; sizes are lots.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np
from tqdm.auto import tqdm

from lob_core import OrderBook
from mars_gym.data.recording import RecordingBook
from mars_gym.data.schema import EventStream, Source
from mars_gym.sim.background_orders import submit_background
from mars_gym.sim.ids import FIRST_FLOW_ORDER_ID
from mars_gym.tokens.orders import CANCEL_ORDER

# Real bursts put at most a few hundred messages on one nanosecond; a flow that keeps drawing
# at one time (e.g. a corrupt model that samples interval 0 forever) would hang the clock.
MAX_ORDERS_AT_ONE_TIME = 100_000


class FlowStalledError(RuntimeError):
    """A background flow keeps producing orders without advancing time."""


class StallGuard:
    """Counts a flow's consecutive orders at one time and raises past the limit."""

    def __init__(self, flow, limit: int = MAX_ORDERS_AT_ONE_TIME) -> None:
        self.flow, self.limit = flow, limit
        self.time_ns: int | None = None
        self.count = 0

    def see(self, time_ns: int) -> None:
        if time_ns != self.time_ns:
            self.time_ns, self.count = time_ns, 1
            return
        self.count += 1
        if self.count > self.limit:
            raise FlowStalledError(
                f"{type(self.flow).__name__} produced {self.count} orders at time {time_ns} ns "
                "without advancing time; the flow (or its model's weights) is broken")


class FlowOrder(NamedTuple):
    time_ns: int
    kind: int           # BUY_ORDER / SELL_ORDER / CANCEL_ORDER (mars_gym.tokens.orders)
    side: int           # +1 / -1
    price: int          # ticks
    size: int           # lots
    order_id: int = -1  # the id to use (buy/sell) or to cancel; -1: the driver's choice
    ioc: bool = False   # buy/sell: cancel what does not execute at once


@runtime_checkable
class BackgroundFlow(Protocol):
    def reset(self, seed: int, book: OrderBook, start_ns: int) -> None:
        """Start drawing at ``start_ns`` on ``book`` with a fresh random generator."""

    def next_order(self) -> FlowOrder | None:
        """The next order, drawn from the book as it is now (``None``: only a
        :class:`BatchedFlow` waiting for its token)."""


@runtime_checkable
class BatchedFlow(Protocol):
    """A flow that can draw from a shared batched generator
    (:class:`~mars_gym.lmm.serve.GeneratorService`): while it waits for a token its
    ``next_order()`` returns ``None`` and ``request`` holds what to submit to the service;
    :meth:`deliver` hands it the sampled token. Built without a service it draws alone."""

    service: object | None
    stream: int | None  # the flow's stream in its service
    request: tuple | None

    def deliver(self, token: int) -> None:
        """The token the service sampled for the pending ``request``."""

    def close(self) -> None:
        """Give the flow's stream back to its service (nothing without one)."""


@runtime_checkable
class AgentObservingFlow(Protocol):
    """A flow that reads the agents' orders as part of its own sequence when
    ``observe_agents`` is on: the simulator calls :meth:`observe` with each agent order that
    reaches the book before the flow's drawn order (which is then drawn again)."""

    observe_agents: bool

    def observe(self, order: FlowOrder, touch: tuple[int, int] | None) -> None:
        """An agent's order reached the book, seen on a book with ``touch``."""


def observes_agents(flow: BackgroundFlow) -> bool:
    """Whether the simulator must hand ``flow`` the agents' orders."""
    return isinstance(flow, AgentObservingFlow) and bool(flow.observe_agents)


def run_flow(flow: BackgroundFlow, book: OrderBook, start_ns: int, end_ns: int, source: Source,
             seed: int = 0, progress: bool = False, depth=None) -> EventStream:
    """Run a flow alone on ``book`` from ``start_ns`` to ``end_ns``; return its events
    (``depth``: a :class:`~mars_gym.sim.depth.DepthLadder` already prepared on ``book``, kept
    full after every order)."""
    order_id = FIRST_FLOW_ORDER_ID
    recording = RecordingBook(book)
    flow.reset(seed, book, start_ns)
    rng = np.random.default_rng(seed + 1)  # for the cancel rule, apart from the flow's draws
    drawn = 0  # orders of the flow (ladder top-ups apart)
    skipped = 0
    total_s = -(-(end_ns - start_ns) // 10**9)  # whole simulated seconds, rounded up
    bar = tqdm(total=total_s, unit="sim s", disable=not progress)
    guard = StallGuard(flow)
    while True:
        order = flow.next_order()
        if order is None:
            raise RuntimeError(f"{type(flow).__name__} waits for a batched token; a flow run "
                               "alone must be built without a generator service")
        if order.time_ns > end_ns:
            break
        guard.see(order.time_ns)
        done = submit_background(recording, order, order_id, rng)
        skipped += done == 0 and order.kind == CANCEL_ORDER
        order_id += 1
        drawn += 1
        if depth is not None:
            depth.top_up(recording, order.time_ns)
        bar.update(min(total_s, (order.time_ns - start_ns) // 10**9) - bar.n)
    bar.update(total_s - bar.n)  # the window is done even if its last seconds had no order
    bar.close()
    return recording.stream(source, {"orders": drawn,
                                     "cancels_without_target": int(skipped)})
