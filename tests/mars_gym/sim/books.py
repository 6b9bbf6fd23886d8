"""Small books the flow tests start from."""

from __future__ import annotations

from lob_core import OrderBook


def seeded_book() -> OrderBook:
    """Five levels of 300 lots a side around a 2-tick spread (bid 10,000, ask 10,002)."""
    book = OrderBook(1)
    for k in range(5):
        book.limit(1, 10_000 - k, 300, order_id=2 * k + 1)
        book.limit(-1, 10_002 + k, 300, order_id=2 * k + 2)
    return book
