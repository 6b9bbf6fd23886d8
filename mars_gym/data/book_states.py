"""Apply schema events to a ``lob_core`` book and record the book before each event."""

from __future__ import annotations

import numpy as np

from lob_core import OrderBook
from mars_gym.data.schema import BOOK_TICKS, CANCEL, NEW, book_rows_from_tick_states


class EventReplayError(ValueError):
    """An event that the book cannot apply (names the event index)."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"event {index}: {reason}")
        self.index, self.reason = index, reason


def apply_events(book: OrderBook, events: np.ndarray) -> np.ndarray:
    """Apply events (schema semantics: NEW rests, CANCEL removes, PARTIAL_CANCEL and EXECUTE
    take ``size`` off) to ``book`` in place; return the BOOK_DTYPE row before each event.

    Prices are used as given (the book's tick size must divide them). An event naming an order
    the book does not hold raises :class:`EventReplayError`.
    """
    states = np.empty((len(events), 2 + 2 * BOOK_TICKS), dtype=np.int64)
    tick_state, limit, cancel, reduce = book.tick_state, book.limit, book.cancel, book.reduce
    for index, (t, kind, side, price, size, order_id) in enumerate(events.tolist()):
        states[index] = tick_state(BOOK_TICKS)
        try:
            if kind == NEW:
                if limit(side, price, size, order_id, ts=t):
                    raise EventReplayError(index, f"new order {order_id} crosses the book")
            elif kind == CANCEL:
                cancel(order_id)
            else:
                reduce(order_id, size)
        except (KeyError, ValueError) as error:
            if isinstance(error, EventReplayError):
                raise
            raise EventReplayError(index, f"{events[index]}: {error}") from error
    return book_rows_from_tick_states(states)


CHECKPOINT_EVENTS = 8_192  # events between two books kept by BookCheckpoints


class BookCheckpoints:
    """The whole book before any event of a stream, rebuilt from the nearest kept book at or
    before it (one every :data:`CHECKPOINT_EVENTS` events, kept as they are first reached)
    instead of from the stream's start: the same book, for a few thousand events of work.

    ``initial`` is the book before event 0; calling the object with ``index`` returns a fresh
    book as it was before event ``index``.
    """

    def __init__(self, initial: OrderBook, events: np.ndarray,
                 every: int = CHECKPOINT_EVENTS) -> None:
        if every < 1:
            raise ValueError(f"every must be positive, got {every}")
        self.events, self.every = events, every
        self.kept = [initial.copy()]  # kept[k]: the book before event k * every

    def __call__(self, index: int) -> OrderBook:
        if not 0 <= index <= len(self.events):
            raise IndexError(f"event {index} is outside the stream (0..{len(self.events)})")
        slot = index // self.every
        while len(self.kept) <= slot:
            book = self.kept[-1].copy()
            first = (len(self.kept) - 1) * self.every
            apply_events(book, self.events[first:first + self.every])
            self.kept.append(book)
        book = self.kept[slot].copy()
        apply_events(book, self.events[slot * self.every:index])
        return book
