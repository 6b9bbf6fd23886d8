"""Submitting background orders (decoded tokens or flow draws) to a book.

A buy or sell is a GTC limit order (it executes first if it crosses), or IOC when the flow asks.
A cancel naming a resting order's id (a replay) takes its size off that order. When that order
is not in the book, or the cancel names no id, it names a side, a price and a size, and deletes
one whole *background* order (``agent_id`` = the background's) resting at that price: the one
whose remaining size is closest to the cancel's (ties drawn uniformly); when none rests there,
the nearest occupied price of that side holding background orders is used; with none at all it
is skipped. Whole orders, because real cancels are: deletions outnumber partial cancels
about 900 to 1 on AMZN, 90 to 1 on AAPL (training splits), and taking a drawn size off a random
order left most touches standing, so a generated spread only ever narrowed.
"""

from __future__ import annotations

import numpy as np

from lob_core import OrderBook
from mars_gym.data.recording import RecordingBook
from mars_gym.tokens.orders import CANCEL_ORDER

BACKGROUND_AGENT = 0
SEARCH_LEVELS = 64  # price levels of a side searched for a background order to cancel


def pick_background_order(book: OrderBook, side: int, price: int, size: int,
                          rng: np.random.Generator, agent_id: int = BACKGROUND_AGENT
                          ) -> tuple[int, int] | None:
    """``(order_id, remaining)`` of the background order a cancel of ``size`` at (side, price)
    deletes (see the module docstring)."""
    closest = book.closest_orders(side, price, size, agent_id, SEARCH_LEVELS)
    if len(closest) == 0:
        return None
    order_id, left = closest[rng.integers(len(closest))].tolist()
    return order_id, left


def submit_background(target: OrderBook | RecordingBook, order, order_id: int,
                      rng: np.random.Generator, agent_id: int = BACKGROUND_AGENT) -> int:
    """Submit one background :class:`~mars_gym.sim.flows.base.FlowOrder` (prices in ticks of a
    tick-1 book; ``order_id`` is used when the order carries none); return the executed
    (buy/sell) or cancelled quantity."""
    recording = isinstance(target, RecordingBook)
    book: OrderBook = target.book if isinstance(target, RecordingBook) else target
    if order.kind != CANCEL_ORDER:
        oid = order.order_id if order.order_id >= 0 and order.order_id not in book else order_id
        if recording:
            done = target.limit(order.side, order.price, order.size, oid, order.time_ns,
                                agent_id=agent_id)
        else:
            done = book.limit(order.side, order.price, order.size, oid, agent_id=agent_id,
                              ts=order.time_ns)
        if order.ioc and oid in book:
            _cancel(target, book, oid, order.time_ns, recording)
        return done
    if order.order_id >= 0 and order.order_id in book:
        victim, left = order.order_id, book.order(order.order_id)[2]
    else:
        picked = pick_background_order(book, order.side, order.price, order.size, rng, agent_id)
        if picked is None:
            return 0
        victim, left = picked
        _cancel(target, book, victim, order.time_ns, recording)
        return left
    if order.size >= left:
        _cancel(target, book, victim, order.time_ns, recording)
        return left
    if isinstance(target, RecordingBook):
        target.reduce(victim, order.size, order.time_ns)
    else:
        book.reduce(victim, order.size)
    return order.size


def _cancel(target, book: OrderBook, order_id: int, ts: int, recording: bool) -> None:
    if recording:
        target.cancel(order_id, ts)
    else:
        book.cancel(order_id)
