"""Small helpers shared by the lob_core tests."""

from __future__ import annotations


def fills_as_tuples(book) -> list[tuple]:
    """(price, qty, maker_order_id, taker_order_id) of the last call's fills."""
    return book.fills[["price", "qty", "maker_order_id", "taker_order_id"]].tolist()
