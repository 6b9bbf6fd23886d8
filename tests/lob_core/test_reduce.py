import pytest

from lob_core import BUY, SELL, InvalidQuantityError


def test_partial_cancel_keeps_priority(book):
    book.limit(BUY, 10_000, 5, order_id=1)
    book.limit(BUY, 10_000, 5, order_id=2)
    assert book.reduce(1, 3) == 2
    assert book.level_queue(BUY, 10_000)["order_id"].tolist() == [1, 2]
    book.market(SELL, 3, order_id=9)
    assert book.fills["maker_order_id"].tolist() == [1, 2]
    assert book.level_volume(BUY, 10_000) == 4


def test_reducing_by_everything_left_removes_the_order(book):
    book.limit(SELL, 10_100, 4, order_id=1)
    assert book.reduce(1, 4) == 0
    assert 1 not in book and book.best_ask is None


def test_reducing_by_more_than_left_is_refused(book):
    book.limit(SELL, 10_100, 4, order_id=1)
    with pytest.raises(InvalidQuantityError, match="only 4 left"):
        book.reduce(1, 5)
    assert book.order(1)[2] == 4
