from lob_core import BUY, CANCELLED, FILLED, SELL
from tests.lob_core.helpers import fills_as_tuples


def test_market_order_takes_best_prices_first(book):
    book.limit(SELL, 10_200, 5, order_id=1)
    book.limit(SELL, 10_100, 5, order_id=2)
    assert book.market(BUY, 7, order_id=3) == 7
    assert book.last_outcome == FILLED
    assert fills_as_tuples(book) == [(10_100, 5, 2, 3), (10_200, 2, 1, 3)]
    assert book.level_volume(SELL, 10_200) == 3


def test_market_order_never_rests_and_cancels_what_the_book_cannot_fill(book):
    book.limit(BUY, 10_000, 4, order_id=1)
    assert book.market(SELL, 10, order_id=2) == 4
    assert book.last_outcome == CANCELLED
    assert len(book) == 0 and 2 not in book


def test_market_order_on_an_empty_side_executes_nothing(book):
    assert book.market(BUY, 3, order_id=1) == 0
    assert book.last_outcome == CANCELLED and len(book.fills) == 0
