from lob_core import BUY, FILLED, FOK, KILLED, SELL


def test_fok_that_cannot_fill_entirely_leaves_the_book_untouched(book):
    book.limit(SELL, 10_100, 3, order_id=1)
    book.limit(SELL, 10_200, 3, order_id=2)
    before = book.orders_array()
    assert book.limit(BUY, 10_200, 7, order_id=3, tif=FOK) == 0
    assert book.last_outcome == KILLED and len(book.fills) == 0
    assert (book.orders_array() == before).all()


def test_fok_fills_entirely_across_levels_within_its_limit(book):
    book.limit(SELL, 10_100, 3, order_id=1)
    book.limit(SELL, 10_200, 3, order_id=2)
    book.limit(SELL, 10_300, 9, order_id=4)
    assert book.limit(BUY, 10_200, 6, order_id=3, tif=FOK) == 6
    assert book.last_outcome == FILLED
    assert book.best_ask == 10_300


def test_fok_ignores_volume_beyond_its_limit_price(book):
    book.limit(SELL, 10_100, 3, order_id=1)
    book.limit(SELL, 10_300, 30, order_id=2)
    assert book.limit(BUY, 10_200, 4, order_id=3, tif=FOK) == 0
    assert book.last_outcome == KILLED
