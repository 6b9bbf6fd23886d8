"""A ``lob_core`` book that writes down what happens to it as schema events."""

from __future__ import annotations

import numpy as np

from lob_core import OrderBook
from mars_gym.data.book_states import apply_events
from mars_gym.data.schema import (
    CANCEL,
    EVENT_DTYPE,
    EXECUTE,
    NEW,
    PARTIAL_CANCEL,
    EventStream,
    Source,
    structured_from_rows,
)


class RecordingBook:
    """Wraps an :class:`~lob_core.OrderBook` (tick size 1: prices in ticks) and records events.

    A limit order that crosses is recorded as the ``EXECUTE`` events of the resting orders it hit
    and a ``NEW`` for what rests (the schema's conventions, :mod:`mars_gym.data.schema`). The
    book before each event is computed when the stream is built, by replaying the events on a
    copy of the book as it was when recording started.
    """

    def __init__(self, book: OrderBook) -> None:
        if book.tick_size != 1:
            raise ValueError("a RecordingBook works in ticks: use OrderBook(tick_size=1)")
        self.book = book
        self.initial = book.copy()
        self.rows: list[tuple[int, int, int, int, int, int]] = []

    def limit(self, side: int, price: int, size: int, order_id: int, ts: int,
              agent_id: int = 0) -> int:
        """Submit a GTC limit order; return the executed quantity."""
        executed = self.book.limit(side, price, size, order_id, agent_id=agent_id, ts=ts)
        for fill in self.book.fills.tolist():
            self.rows.append((ts, EXECUTE, -side, fill[0], fill[1], fill[2]))
        if executed < size:
            self.rows.append((ts, NEW, side, price, size - executed, order_id))
        return executed

    def cancel(self, order_id: int, ts: int) -> int:
        """Cancel a resting order; return its remaining quantity."""
        side, price, remaining = self.book.order(order_id)[:3]
        self.book.cancel(order_id)
        self.rows.append((ts, CANCEL, side, price, remaining, order_id))
        return remaining

    def reduce(self, order_id: int, size: int, ts: int, executed: bool = False) -> None:
        """Take ``size`` off a resting order: a partial cancel, or an execution by an unseen
        aggressor when ``executed``."""
        side, price = self.book.order(order_id)[:2]
        self.book.reduce(order_id, size)
        self.rows.append((ts, EXECUTE if executed else PARTIAL_CANCEL, side, price, size,
                          order_id))

    def events(self) -> np.ndarray:
        return structured_from_rows(self.rows, EVENT_DTYPE)

    def stream(self, source: Source, report: dict[str, int] | None = None,
               open_mid: float | None = None) -> EventStream:
        """Everything recorded so far as an :class:`EventStream`."""
        events = self.events()
        return EventStream(source, events, apply_events(self.initial.copy(), events),
                           dict(report or {}), open_mid)
