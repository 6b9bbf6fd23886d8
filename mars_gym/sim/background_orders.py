"""Submitting background orders (decoded tokens or flow draws) to a book.

A buy or sell is a GTC limit order (it executes first if it crosses). A cancel names a side and
a price: it cancels one *background* order (``agent_id`` = the background's) chosen uniformly at
random among those resting at that price; when none rests there, the nearest occupied price of
that side holding background orders is used; with none at all it is skipped. Its size is taken
off that order (the whole order when the size reaches what it has left).
"""

from __future__ import annotations

import numpy as np

from lob_core import OrderBook
from mars_gym.data.recording import RecordingBook
from mars_gym.tokens.orders import CANCEL_ORDER

BACKGROUND_AGENT = 0
SEARCH_LEVELS = 64  # price levels of a side searched for a background order to cancel


def pick_background_order(book: OrderBook, side: int, price: int, rng: np.random.Generator,
                          agent_id: int = BACKGROUND_AGENT) -> tuple[int, int] | None:
    """``(order_id, remaining)`` of the background order a cancel at (side, price) hits."""
    levels = book.depth(SEARCH_LEVELS)[0 if side > 0 else 2]
    levels = levels[levels > 0]
    for level in levels[np.argsort(np.abs(levels - price), kind="stable")]:
        queue = book.level_queue(side, int(level))
        mine = queue[queue["agent_id"] == agent_id]
        if len(mine):
            order_id, _, left, _ = mine[rng.integers(len(mine))].tolist()
            return order_id, left
    return None


def submit_background(target: OrderBook | RecordingBook, kind: int, side: int, price: int,
                      size: int, order_id: int, ts: int, rng: np.random.Generator,
                      agent_id: int = BACKGROUND_AGENT) -> int:
    """Submit one background order (prices in ticks of a tick-1 book); return the executed
    (buy/sell) or cancelled quantity."""
    recording = isinstance(target, RecordingBook)
    book = target.book if recording else target
    if kind != CANCEL_ORDER:
        if recording:
            return target.limit(side, price, size, order_id, ts, agent_id=agent_id)
        return book.limit(side, price, size, order_id, agent_id=agent_id, ts=ts)
    picked = pick_background_order(book, side, price, rng, agent_id)
    if picked is None:
        return 0
    victim, left = picked
    if size >= left:
        if recording:
            target.cancel(victim, ts)
        else:
            book.cancel(victim)
        return left
    if recording:
        target.reduce(victim, size, ts)
    else:
        book.reduce(victim, size)
    return size
