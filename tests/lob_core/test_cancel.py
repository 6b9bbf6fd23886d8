import pytest

from lob_core import BUY, SELL, UnknownOrderError


def test_cancel_returns_remaining_quantity_and_removes_the_order(book):
    book.limit(BUY, 10_000, 5, order_id=1)
    book.limit(SELL, 10_000, 2, order_id=2)
    assert book.cancel(1) == 3
    assert 1 not in book and book.best_bid is None and len(book) == 0


def test_cancel_in_the_middle_of_a_queue_keeps_the_others_in_order(book):
    for oid in (1, 2, 3):
        book.limit(SELL, 10_100, oid, order_id=oid)
    book.cancel(2)
    assert book.level_queue(SELL, 10_100)["order_id"].tolist() == [1, 3]
    assert book.level_volume(SELL, 10_100) == 4


def test_cancelled_id_can_be_reused(book):
    book.limit(BUY, 10_000, 5, order_id=1)
    book.cancel(1)
    book.limit(SELL, 10_500, 1, order_id=1)
    assert book.order(1)[:3] == (SELL, 10_500, 1)


def test_cancel_of_a_filled_order_is_unknown(book):
    book.limit(BUY, 10_000, 5, order_id=1)
    book.market(SELL, 5, order_id=2)
    with pytest.raises(UnknownOrderError, match="order_id 1"):
        book.cancel(1)
