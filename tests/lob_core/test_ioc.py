from lob_core import BUY, CANCELLED, FILLED, IOC, SELL


def test_ioc_fills_what_it_can_and_cancels_the_rest(book):
    book.limit(SELL, 10_100, 3, order_id=1)
    book.limit(SELL, 10_300, 3, order_id=2)
    assert book.limit(BUY, 10_200, 10, order_id=3, tif=IOC) == 3
    assert book.last_outcome == CANCELLED
    assert 3 not in book and book.best_bid is None
    assert book.best_ask == 10_300


def test_ioc_that_fills_completely_reports_filled(book):
    book.limit(SELL, 10_100, 3, order_id=1)
    assert book.limit(BUY, 10_100, 2, order_id=2, tif=IOC) == 2
    assert book.last_outcome == FILLED


def test_ioc_that_does_not_cross_does_nothing(book):
    book.limit(SELL, 10_100, 3, order_id=1)
    assert book.limit(BUY, 10_000, 2, order_id=2, tif=IOC) == 0
    assert len(book) == 1 and book.best_bid is None
