from lob_core import BUY, POST_ONLY, REJECTED, RESTED, SELL


def test_post_only_rests_when_it_does_not_cross(book):
    book.limit(SELL, 10_100, 3, order_id=1)
    assert book.limit(BUY, 10_000, 2, order_id=2, tif=POST_ONLY) == 0
    assert book.last_outcome == RESTED and book.best_bid == 10_000


def test_post_only_that_would_cross_is_rejected_and_changes_nothing(book):
    book.limit(SELL, 10_100, 3, order_id=1)
    before = book.orders_array()
    assert book.limit(BUY, 10_100, 2, order_id=2, tif=POST_ONLY) == 0
    assert book.last_outcome == REJECTED
    assert 2 not in book and (book.orders_array() == before).all()


def test_post_only_sell_at_the_best_bid_is_rejected(book):
    book.limit(BUY, 10_000, 3, order_id=1)
    book.limit(SELL, 10_000, 2, order_id=2, tif=POST_ONLY)
    assert book.last_outcome == REJECTED
