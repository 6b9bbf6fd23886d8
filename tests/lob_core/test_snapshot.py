import copy
import pickle

import numpy as np
import pytest

from lob_core import BUY, SELL, OrderBook, book_from_orders


def _busy_book() -> OrderBook:
    book = OrderBook(tick_size=100)
    for i in range(300):
        side = BUY if i % 2 else SELL
        price = 10_000 - 100 * (i % 7) if side == BUY else 10_100 + 100 * (i % 5)
        book.limit(side, price, 1 + i % 4, order_id=i, agent_id=i % 3, ts=i)
    return book


def test_copy_is_independent_and_identical():
    book = _busy_book()
    clone = book.copy()
    assert (clone.orders_array() == book.orders_array()).all()
    clone.market(BUY, 50, order_id=10**6)
    assert len(clone) < len(book)
    assert book.orders_array()["qty"].sum() > clone.orders_array()["qty"].sum()


def test_restore_returns_the_book_to_the_snapshot_exactly():
    book = _busy_book()
    snapshot = book.copy()
    before = book.orders_array()
    book.market(SELL, 200, order_id=10**6)
    book.cancel(8)  # an ask: the market sell only ate bids
    book.limit(BUY, 12_000, 3, order_id=10**6 + 1)
    book.restore(snapshot)
    assert (book.orders_array() == before).all()
    # the restored book keeps working, with identical behaviour to the snapshot
    assert book.market(BUY, 5, order_id=10**7) == snapshot.market(BUY, 5, order_id=10**7)
    assert (book.fills == snapshot.fills).all()


def test_pickle_and_deepcopy_round_trip():
    book = _busy_book()
    for clone in (pickle.loads(pickle.dumps(book)), copy.deepcopy(book)):
        assert clone.tick_size == 100
        assert (clone.orders_array() == book.orders_array()).all()
        assert clone.queue_position(200) == book.queue_position(200)


def test_book_from_orders_rebuilds_priorities_and_checks_the_tick():
    book = _busy_book()
    again = book_from_orders(100, book.orders_array())
    assert (again.orders_array() == book.orders_array()).all()
    orders = book.orders_array()
    orders["price"][0] += 1
    with pytest.raises(ValueError, match="not a multiple of the tick size 100"):
        book_from_orders(100, orders)
    assert len(book_from_orders(1, np.zeros(0, dtype=orders.dtype))) == 0
