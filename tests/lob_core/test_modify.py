from lob_core import BUY, FILLED, SELL


def test_size_decrease_at_same_price_keeps_priority(book):
    book.limit(BUY, 10_000, 5, order_id=1)
    book.limit(BUY, 10_000, 5, order_id=2)
    assert book.modify(1, 10_000, 2) == 0
    assert book.level_queue(BUY, 10_000)["order_id"].tolist() == [1, 2]
    assert book.order(1)[2] == 2


def test_size_increase_loses_priority(book):
    book.limit(BUY, 10_000, 5, order_id=1)
    book.limit(BUY, 10_000, 5, order_id=2)
    book.modify(1, 10_000, 6)
    assert book.level_queue(BUY, 10_000)["order_id"].tolist() == [2, 1]
    assert book.level_volume(BUY, 10_000) == 11


def test_price_change_moves_the_order_to_the_back_of_the_new_level(book):
    book.limit(SELL, 10_200, 1, order_id=1)
    book.limit(SELL, 10_100, 1, order_id=2, agent_id=4)
    book.modify(2, 10_200, 1)
    assert book.level_queue(SELL, 10_200)["order_id"].tolist() == [1, 2]
    assert book.best_ask == 10_200 and book.order(2)[3] == 4


def test_price_change_that_crosses_executes_like_a_new_order(book):
    book.limit(SELL, 10_100, 3, order_id=1)
    book.limit(BUY, 10_000, 5, order_id=2)
    assert book.modify(2, 10_100, 5) == 3
    assert book.fills[["price", "qty", "maker_order_id", "taker_order_id"]].tolist() == [
        (10_100, 3, 1, 2)]
    assert book.order(2)[:3] == (BUY, 10_100, 2)


def test_modify_that_fills_completely_leaves_nothing_resting(book):
    book.limit(SELL, 10_100, 3, order_id=1)
    book.limit(BUY, 10_000, 2, order_id=2)
    assert book.modify(2, 10_100, 2) == 2
    assert book.last_outcome == FILLED and 2 not in book


def test_modify_keeps_the_arrival_time_unless_given(book):
    book.limit(BUY, 10_000, 5, order_id=1, ts=11)
    book.modify(1, 9_900, 5)
    assert book.order(1)[4] == 11
    book.modify(1, 9_800, 5, ts=22)
    assert book.order(1)[4] == 22
