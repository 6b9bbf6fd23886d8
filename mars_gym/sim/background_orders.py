"""Submitting background orders (decoded tokens or flow draws) to a ``lob_core`` book.

A buy or sell is a GTC limit order (it executes first if it crosses). A cancel names a side and
a price: it cancels one *background* order (``agent_id`` = the background's) chosen uniformly at
random among those resting at that price; when none rests there, the nearest occupied price of
that side holding background orders is used; with none at all it is skipped. Its size is taken
off that order (the whole order when the size reaches what it has left).
"""

from __future__ import annotations

import numpy as np

from lob_core import OrderBook
from mars_gym.tokens.orders import CANCEL_ORDER

BACKGROUND_AGENT = 0


def _background_levels(book: OrderBook, side: int, depth: int = 64) -> np.ndarray:
    prices = book.depth(depth)[0 if side > 0 else 2]
    return prices[prices > 0]


def cancel_background(book: OrderBook, side: int, price: int, size: int,
                      rng: np.random.Generator, agent_id: int = BACKGROUND_AGENT) -> int:
    """Apply one cancel order; return the quantity removed (0 when skipped)."""
    levels = _background_levels(book, side)
    for level in levels[np.argsort(np.abs(levels - price), kind="stable")]:
        queue = book.level_queue(side, int(level))
        mine = queue[queue["agent_id"] == agent_id]
        if len(mine):
            order_id, _, left, _ = mine[rng.integers(len(mine))].tolist()
            if size >= left:
                book.cancel(order_id)
                return left
            book.reduce(order_id, size)
            return size
    return 0


def submit_background(book: OrderBook, kind: int, side: int, price: int, size: int,
                      order_id: int, ts: int, rng: np.random.Generator,
                      agent_id: int = BACKGROUND_AGENT) -> int:
    """Submit one background order; return the executed (buy/sell) or cancelled quantity."""
    if kind == CANCEL_ORDER:
        return cancel_background(book, side, price, size, rng, agent_id)
    return book.limit(side, price * book.tick_size, size, order_id, agent_id=agent_id, ts=ts)
