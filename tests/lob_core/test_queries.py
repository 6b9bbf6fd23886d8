import numpy as np
import pytest

from lob_core import BUY, SELL, OrderBook


@pytest.fixture
def two_sided(book: OrderBook) -> OrderBook:
    book.limit(BUY, 9_900, 5, order_id=1)
    book.limit(BUY, 10_000, 2, order_id=2, agent_id=3, ts=7)
    book.limit(BUY, 10_000, 4, order_id=3)
    book.limit(SELL, 10_200, 6, order_id=4)
    book.limit(SELL, 10_100, 1, order_id=5)
    return book


def test_best_prices_and_levels(two_sided):
    assert (two_sided.best_bid, two_sided.best_ask) == (10_000, 10_100)
    assert two_sided.n_levels(BUY) == 2 and two_sided.n_levels(SELL) == 2
    assert len(two_sided) == 5 and 3 in two_sided and 99 not in two_sided


def test_depth_is_best_first_and_padded_with_zeros(two_sided):
    bid_px, bid_qty, ask_px, ask_qty = two_sided.depth(3)
    assert bid_px.tolist() == [10_000, 9_900, 0] and bid_qty.tolist() == [6, 5, 0]
    assert ask_px.tolist() == [10_100, 10_200, 0] and ask_qty.tolist() == [1, 6, 0]


def test_depth_into_fills_a_preallocated_array(two_sided):
    out = np.full((4, 1), -1, dtype=np.int64)
    two_sided.depth_into(out)
    assert out[:, 0].tolist() == [10_000, 6, 10_100, 1]
    with pytest.raises(ValueError, match="shape"):
        two_sided.depth_into(np.zeros((3, 2), dtype=np.int64))


def test_level_queue_lists_orders_in_priority_order(two_sided):
    queue = two_sided.level_queue(BUY, 10_000)
    assert queue["order_id"].tolist() == [2, 3]
    assert queue[0].tolist() == (2, 3, 2, 7)
    assert len(two_sided.level_queue(BUY, 5_000)) == 0


def test_queue_position_and_volume_ahead(two_sided):
    assert two_sided.queue_position(2) == (0, 0)
    assert two_sided.queue_position(3) == (1, 2)
    assert two_sided.volume_ahead(3) == 2


def test_order_lookup(two_sided):
    assert two_sided.order(2) == (BUY, 10_000, 2, 3, 7)


def test_orders_array_lists_bids_then_asks_best_first(two_sided):
    rows = two_sided.orders_array()
    assert rows["order_id"].tolist() == [2, 3, 1, 5, 4]
    assert rows["side"].tolist() == [BUY, BUY, BUY, SELL, SELL]


def test_fills_view_is_replaced_by_the_next_call(two_sided):
    two_sided.market(BUY, 1, order_id=10)
    kept = two_sided.fills.copy()
    two_sided.limit(BUY, 9_800, 1, order_id=11)
    assert len(two_sided.fills) == 0 and kept["qty"].tolist() == [1]


def test_clear_empties_the_book(two_sided):
    two_sided.clear()
    assert len(two_sided) == 0 and two_sided.best_bid is None
    two_sided.limit(BUY, 9_900, 5, order_id=1)
    assert two_sided.best_bid == 9_900


def test_tick_state_reads_volumes_on_the_tick_grid(two_sided):
    state = two_sided.tick_state(3)
    # tick = 100: bids at 10 000 (6) and 9 900 (5); asks at 10 100 (1) and 10 200 (6)
    assert state.tolist() == [10_000, 10_100, 6, 5, 0, 1, 6, 0]
    assert OrderBook(1).tick_state(2).tolist() == [0, 0, 0, 0, 0, 0]


def test_tick_state_with_one_cent_ticks():
    book = OrderBook(tick_size=1)
    book.limit(BUY, 100, 4, order_id=1)
    book.limit(BUY, 98, 2, order_id=2)
    book.limit(SELL, 101, 3, order_id=3)
    assert book.tick_state(3).tolist() == [100, 101, 4, 0, 2, 3, 0, 0]


def _closest_by_hand(book: OrderBook, side, price, qty, agent, n_levels):
    """The definition of ``closest_orders`` spelled out with the L2 and L3 views."""
    levels = book.depth(n_levels)[0 if side > 0 else 2]
    levels = levels[levels > 0]
    for level in levels[np.argsort(np.abs(levels - price), kind="stable")]:
        queue = book.level_queue(side, int(level))
        mine = queue[queue["agent_id"] == agent]
        if len(mine):
            gap = np.abs(mine["qty"] - qty)
            return [(int(o), int(q)) for o, q in zip(mine["order_id"][gap == gap.min()],
                                                      mine["qty"][gap == gap.min()],
                                                      strict=True)]
    return []


def test_closest_orders_are_the_agents_nearest_level_and_size(two_sided):
    assert two_sided.closest_orders(BUY, 10_000, 3, agent_id=0).tolist() == [[3, 4]]
    assert two_sided.closest_orders(BUY, 10_000, 3, agent_id=3).tolist() == [[2, 2]]
    # 9_950 is as near to both bid levels: the one nearer the touch comes first
    assert two_sided.closest_orders(BUY, 9_950, 5, agent_id=0).tolist() == [[3, 4]]
    assert two_sided.closest_orders(BUY, 9_950, 5, agent_id=0, n_levels=1).tolist() == [[3, 4]]
    assert two_sided.closest_orders(SELL, 10_000, 1 << 62, agent_id=0).tolist() == [[5, 1]]
    assert two_sided.closest_orders(SELL, 10_000, 3, agent_id=3).shape == (0, 2)
    with pytest.raises(ValueError, match="side must be"):
        two_sided.closest_orders(0, 10_000, 3, agent_id=0)
    with pytest.raises(ValueError, match=r"qty must be in \[0, 2\*\*62\]"):
        two_sided.closest_orders(BUY, 10_000, -1, agent_id=0)


def test_closest_orders_match_their_definition_on_random_books():
    rng = np.random.default_rng(7)
    for trial in range(40):
        book = OrderBook()
        for order_id in range(int(rng.integers(1, 300))):
            side = BUY if rng.random() < 0.5 else SELL
            price = int(rng.integers(9_950, 10_000)) if side == BUY else int(
                rng.integers(10_001, 10_050))
            book.limit(side, price, int(rng.integers(1, 6)), order_id,
                       agent_id=int(rng.integers(0, 3)))
        for _ in range(25):
            side, agent = int(rng.choice([BUY, SELL])), int(rng.integers(0, 3))
            price, qty = int(rng.integers(9_900, 10_100)), int(rng.integers(0, 8))
            n_levels = int(rng.integers(1, 80))
            got = [tuple(row) for row in book.closest_orders(side, price, qty, agent, n_levels)
                   .tolist()]
            assert got == _closest_by_hand(book, side, price, qty, agent, n_levels), trial
