"""Replay of real order flow: the recorded orders, in their recorded order and times.

Real orders are the aggressor-merged orders of :func:`mars_gym.tokens.events_to_orders`,
starting after ``start`` (an event index of the stream):

* a resting limit order is submitted with its real id;
* an aggressive order is a marketable limit order at the price it reached, for the size it
  executed; if it rested a remainder it is GTC with the real id, otherwise IOC — so an agent's
  orders at better prices or earlier in the queue are filled first by real aggressors;
* a cancel takes its size off the real order with that id, or, when that order is not in the
  book (it rested before the start, in the seeded volume), off background volume at that price.

Nothing reacts to the agent: orders the agent has consumed are simply gone when the replay
cancels them, and replayed aggressors still arrive when the agent has already moved the
price. This is the known unrealism of replay (no market impact beyond the agent's own fills).
The orders are read in C (:class:`~mars_gym.sim._event_loop.ReplayDraws`).
"""

from __future__ import annotations

import numpy as np

from lob_core import OrderBook
from mars_gym.data.orders import TOKEN_ORDER_DTYPE, events_to_orders, split_orders_after
from mars_gym.data.schema import EventStream
from mars_gym.sim._event_loop import ReplayDraws
from mars_gym.sim.flows.base import FlowOrder


class ReplayFlow:
    """The recorded orders after event ``start`` of ``stream`` (see the module docstring).
    ``orders``, when given, is ``events_to_orders(stream)`` of the whole stream, parsed once
    for every start: the flow then reads it in place after the order that ``start`` cuts
    (:func:`~mars_gym.data.orders.split_orders_after`; copying the rest of a day's orders
    cost more than a whole episode)."""

    def __init__(self, stream: EventStream, start: int, orders: np.ndarray | None = None
                 ) -> None:
        if not 0 <= start < len(stream):
            raise ValueError(f"start {start} is outside the stream (0..{len(stream) - 1})")
        if orders is None:
            self.head = events_to_orders(stream[start:])
            self.tail = np.zeros(0, dtype=TOKEN_ORDER_DTYPE)
        else:
            self.head, self.tail = split_orders_after(stream, start, orders)

    @property
    def orders(self) -> np.ndarray:
        """The orders after the start, in one array (a copy; "event" is not meaningful)."""
        return np.concatenate([self.head, self.tail])

    def reset(self, seed: int, book: OrderBook, start_ns: int) -> None:
        first = int(np.searchsorted(self.head["time_ns"], start_ns, side="left"))
        if first == len(self.head):
            first += int(np.searchsorted(self.tail["time_ns"], start_ns, side="left"))
        self.draws = ReplayDraws(self.head, self.tail, first)

    def next_order(self) -> FlowOrder:
        return self.draws.next_order()
