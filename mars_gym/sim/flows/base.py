"""The interface every background flow implements.

A flow is reset on a live book and then asked, one at a time, for its next order; it reads the
book when it draws (so it reacts to everything that has happened, including other agents'
orders). Times are integer nanoseconds; prices are ticks of a tick-1 book; sizes are lots.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, cast, runtime_checkable

from lob_core import OrderBook

# Real bursts put at most a few hundred messages on one nanosecond (263 on BTCUSD_2026, 60 on
# AAPL) and about a thousand in one second (1,034 on BTCUSD_2026); a flow that keeps drawing at
# one time (a corrupt model that samples interval 0 forever) or crawls forward a nanosecond per
# order would hang the clock. Both limits are far beyond any market's, and reached in seconds.
MAX_ORDERS_AT_ONE_TIME = 2_000
MAX_ORDERS_PER_SECOND = 100_000  # within one simulated second from the window's first order
# The same order (kind, side, price, size) again and again at one time: real data repeats one at
# most 8 times in a row (AMZN); a model whose next-order distribution has collapsed onto one
# token does it forever.
MAX_IDENTICAL_ORDERS = 100


class FlowStalledError(RuntimeError):
    """A background flow keeps producing orders without advancing time (or far more orders per
    simulated second than any market): its next-order distribution is degenerate."""


class FlowOrderError(ValueError):
    """A background flow's ``next_order()`` gave something that is not a valid order (a field
    of the wrong type or out of range, or a time before the flow's previous order)."""


class FlowOrder(NamedTuple):
    time_ns: int
    kind: int           # BUY_ORDER / SELL_ORDER / CANCEL_ORDER (mars_gym.data.orders)
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
    ``next_order()`` returns ``None`` and ``request`` holds what its class's
    :meth:`submit_waiting` submits to the service; :meth:`deliver` hands it the sampled token
    (a :class:`~mars_gym.sim.generation_round.GenerationRound` does both). Built without a
    service it draws alone."""

    service: object | None
    stream: int | None  # the flow's stream in its service
    request: tuple | None

    @staticmethod
    def submit_waiting(flows: list, service) -> None:
        """Submit the pending ``request`` of every waiting flow (all of this class) to
        ``service``."""

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
    return implements(flow, AgentObservingFlow) and bool(
        cast(AgentObservingFlow, flow).observe_agents)


_MEMBERS: dict[type, tuple[str, ...]] = {}


def implements(obj: object, protocol: type) -> bool:
    """``isinstance(obj, protocol)`` for the protocols of this module, without its cost: a
    runtime protocol check gathers the protocol's members anew each time (tens of µs in
    Python 3.11, several per episode reset); here they are gathered once."""
    members = _MEMBERS.get(protocol)
    if members is None:
        names = {**vars(protocol), **getattr(protocol, "__annotations__", {})}
        members = _MEMBERS[protocol] = tuple(n for n in names if not n.startswith("_"))
    return all(hasattr(obj, name) for name in members)


@runtime_checkable
class RecordingFollower(Protocol):
    """A flow that reads what happens on its book from the book's recording (the executions an
    LMM's trade memory counts, :mod:`mars_gym.tokens.trade_memory`): the event loop hands the
    recording over once the flow is reset."""

    def follow(self, recording) -> None:
        """Read the book's events from ``recording`` (a
        :class:`~mars_gym.data.recording.RecordingBook`) from now on."""
