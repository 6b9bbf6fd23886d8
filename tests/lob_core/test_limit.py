from lob_core import BUY, FILLED, RESTED, SELL
from tests.lob_core.helpers import fills_as_tuples


def test_non_crossing_limit_rests_without_fills(book):
    assert book.limit(BUY, 10_000, 5, order_id=1) == 0
    assert book.last_outcome == RESTED
    assert len(book.fills) == 0
    assert book.best_bid == 10_000 and book.best_ask is None
    assert book.level_volume(BUY, 10_000) == 5


def test_crossing_limit_trades_at_the_resting_price(book):
    book.limit(SELL, 10_100, 5, order_id=1)
    assert book.limit(BUY, 10_300, 5, order_id=2) == 5
    assert book.last_outcome == FILLED
    assert fills_as_tuples(book) == [(10_100, 5, 1, 2)]
    assert len(book) == 0


def test_partial_fill_rests_the_remainder_at_the_limit_price(book):
    book.limit(SELL, 10_100, 3, order_id=1)
    assert book.limit(BUY, 10_100, 10, order_id=2) == 3
    assert book.last_outcome == RESTED
    assert book.best_bid == 10_100 and book.level_volume(BUY, 10_100) == 7
    assert book.best_ask is None


def test_sweep_walks_levels_in_price_order(book):
    book.limit(SELL, 10_300, 4, order_id=1)
    book.limit(SELL, 10_100, 2, order_id=2)
    book.limit(SELL, 10_200, 3, order_id=3)
    assert book.limit(BUY, 10_200, 10, order_id=9) == 5
    assert fills_as_tuples(book) == [(10_100, 2, 2, 9), (10_200, 3, 3, 9)]
    assert book.best_ask == 10_300 and book.best_bid == 10_200
    assert book.level_volume(BUY, 10_200) == 5


def test_same_price_fills_in_arrival_order(book):
    for oid in (1, 2, 3):
        book.limit(BUY, 10_000, 2, order_id=oid)
    book.limit(SELL, 10_000, 5, order_id=9)
    assert [f[2] for f in fills_as_tuples(book)] == [1, 2, 3]
    assert book.level_queue(BUY, 10_000)["qty"].tolist() == [1]


def test_fills_carry_agent_ids_time_and_aggressor_side(book):
    book.limit(BUY, 10_000, 2, order_id=1, agent_id=7)
    book.limit(SELL, 9_900, 2, order_id=2, agent_id=8, ts=123)
    fill = book.fills[0]
    assert (fill["maker_agent_id"], fill["taker_agent_id"]) == (7, 8)
    assert fill["ts"] == 123 and fill["taker_side"] == SELL


def test_many_levels_grow_the_book_beyond_initial_capacity(book):
    for i in range(2_000):
        book.limit(BUY, 100 * (i + 1), 1, order_id=i)
    assert book.n_levels(BUY) == 2_000 and len(book) == 2_000
    assert book.limit(SELL, 100, 5_000, order_id=10**6) == 2_000
    assert len(book.fills) == 2_000
    assert book.fills["price"].tolist() == [100 * (i + 1) for i in range(1_999, -1, -1)]
