"""The depth ladder behind the touch of level-1 sources, on the real AMZN data."""

import numpy as np
import pytest

from lob_core import OrderBook
from mars_gym.data import load_source, split_by_time
from mars_gym.data.recording import RecordingBook
from mars_gym.data.schema import NEW
from mars_gym.sim.depth import (
    LADDER_LEVELS,
    DepthLadder,
    DepthProfile,
    source_ladder,
)
from mars_gym.sim.flows import NoiseFlow
from mars_gym.sim.ids import FIRST_AGENT_ORDER_ID, FIRST_LADDER_ORDER_ID
from mars_gym.sim.simulator import AgentOrder, Simulator


@pytest.fixture(scope="module")
def amzn(lobster_dir):
    return load_source("AMZN", lobster_dir)


@pytest.fixture(scope="module")
def profile(amzn):
    return DepthProfile.fit(split_by_time(amzn)["train"])


def _levels(book: OrderBook, side: int) -> np.ndarray:
    prices = book.depth(64)[0 if side > 0 else 2]
    return prices[prices > 0]


def test_profile_is_what_stood_behind_used_up_touches(amzn, profile):
    train = split_by_time(amzn)["train"]
    bid = train.book["bid"]
    drops = (bid[1:] < bid[:-1]) & (bid[1:] > 0) & (bid[:-1] > 0)
    assert np.count_nonzero(drops) > 1_000  # the bid side alone: thousands of used-up touches
    assert len(profile.gaps) > np.count_nonzero(drops)  # both sides pooled
    assert profile.gaps.min() >= 1 and profile.sizes.min() >= 1
    assert 1 <= np.median(profile.gaps) <= 5  # the next AMZN level is a few ticks away
    gap, size = profile.draw(np.random.default_rng(0))
    assert gap in set(profile.gaps.tolist()) and size in set(profile.sizes.tolist())


def test_a_stream_without_used_up_touches_is_a_clear_error(amzn):
    with pytest.raises(ValueError, match="no used-up touch"):
        DepthProfile.fit(amzn[:1])


def test_prepare_keeps_the_visible_levels_and_lays_the_ladder(amzn, profile):
    book = amzn.book_before(len(amzn) // 2)
    bid, ask = book.best_bid, book.best_ask
    touch_ids = set(book.level_queue(1, bid)["order_id"].tolist())
    assert book.n_levels(1) > 1  # the rebuilt level-1 book holds stale orders behind the touch
    DepthLadder(profile, visible_levels=1).prepare(book, seed=0)
    assert (book.best_bid, book.best_ask) == (bid, ask)
    for side in (1, -1):
        prices = _levels(book, side)
        assert len(prices) == LADDER_LEVELS
        assert np.all(side * np.diff(prices) < 0)  # every level behind the one before
        behind = [book.level_queue(side, int(p)) for p in prices[1:]]
        assert all((q["order_id"] >= FIRST_LADDER_ORDER_ID).all() for q in behind)
        gaps = -side * np.diff(prices)
        assert set(gaps.tolist()) <= set(profile.gaps.tolist())
    assert set(book.level_queue(1, bid)["order_id"].tolist()) == touch_ids


def test_top_up_refills_behind_the_deepest_level_after_a_sweep(amzn, profile):
    book = amzn.book_before(len(amzn) // 2)
    ladder = DepthLadder(profile, visible_levels=1)
    ladder.prepare(book, seed=1)
    recording = RecordingBook(book)
    before = _levels(book, 1)
    swept = int(book.depth(3)[1].sum())
    recording.limit(-1, int(before[2]), swept, order_id=7, ts=5)  # takes the best 3 bid levels
    assert book.n_levels(1) == LADDER_LEVELS - 3
    ladder.top_up(recording, 5)
    after = _levels(book, 1)
    assert len(after) == LADDER_LEVELS
    np.testing.assert_array_equal(after[:LADDER_LEVELS - 3], before[3:])
    assert np.all(after[LADDER_LEVELS - 3:] < before[-1])
    events = recording.stream(amzn.source).events
    new = events[events["type"] == NEW]
    assert np.count_nonzero(new["order_id"] >= FIRST_LADDER_ORDER_ID) == 3  # recorded


def test_orders_far_beyond_a_hole_do_not_stop_the_refill_near_the_touch(amzn, profile):
    book = amzn.book_before(len(amzn) // 2)
    ladder = DepthLadder(profile, visible_levels=1)
    ladder.prepare(book, seed=4)
    far = int(_levels(book, 1)[-1]) - ladder.widest_gap - 200  # a flow's order hundreds away
    for k in range(5):
        book.limit(1, far - k, 100, order_id=100 + k)
    assert book.n_levels(1) == LADDER_LEVELS + 5
    book.limit(-1, int(_levels(book, 1)[2]), int(book.depth(3)[1].sum()), order_id=99)
    assert book.n_levels(1) >= LADDER_LEVELS  # enough levels in all, but 3 near ones are gone
    ladder.top_up(book, 0)
    near = ladder.ladder_prices(book, 1)
    assert len(near) == LADDER_LEVELS and near[-1] > far
    assert np.all(-np.diff(near) <= ladder.widest_gap)
    assert set(range(far - 4, far + 1)) <= set(_levels(book, 1).tolist())  # left alone


def test_the_ladder_bridges_gaps_up_to_the_99th_percentile_of_training(profile):
    ladder = DepthLadder(profile, visible_levels=1)
    assert ladder.widest_gap == int(np.percentile(profile.gaps, 99, method="higher"))
    assert ladder.widest_gap in set(profile.gaps.tolist())
    assert 10 <= ladder.widest_gap < profile.gaps.max() / 2  # 20 ticks on AMZN, the max 66
    assert ladder.profile.gaps.max() == ladder.widest_gap  # laid levels never leave a hole
    assert len(ladder.profile.gaps) > 0.98 * len(profile.gaps)


def test_a_hole_behind_a_moved_touch_is_refilled_from_the_touch(amzn, profile):
    """Orders pushed behind a touch that moved and then cancelled unseen leave a hole between
    the touch and the old ladder; a hole wider than the widest gap is filled from the touch."""
    book = amzn.book_before(len(amzn) // 2)
    ladder = DepthLadder(profile, visible_levels=1)
    ladder.prepare(book, seed=3)
    touch = book.best_bid
    for price in _levels(book, 1)[1:].tolist():
        for order_id in book.level_queue(1, int(price))["order_id"].tolist():
            book.cancel(order_id)
    hole = ladder.widest_gap + 10  # rarer than 1 % of used-up touches, seen in training
    assert hole < profile.gaps.max()
    book.limit(1, touch - hole, 100, order_id=10)
    ladder.top_up(book, 0)
    prices = _levels(book, 1)
    assert prices[0] == touch and touch - prices[1] <= ladder.widest_gap < hole
    assert len(ladder.ladder_prices(book, 1)) == LADDER_LEVELS
    assert touch - hole in prices.tolist()  # the order behind the hole stays


def test_a_side_swept_empty_is_rebuilt_behind_its_old_back_without_crossing(amzn, profile):
    book = amzn.book_before(len(amzn) // 2)
    ladder = DepthLadder(profile, visible_levels=1)
    ladder.prepare(book, seed=2)
    back = int(_levels(book, 1)[-1])
    book.limit(-1, 1, int(book.depth(LADDER_LEVELS)[1].sum()), order_id=9)
    assert book.best_bid is None
    ladder.top_up(book, 0)
    prices = _levels(book, 1)
    assert len(prices) == LADDER_LEVELS and prices[0] <= back and prices[0] < book.best_ask


def test_bad_ladder_arguments(profile):
    with pytest.raises(ValueError, match="visible_levels"):
        DepthLadder(profile, visible_levels=0)
    with pytest.raises(ValueError, match="levels"):
        DepthLadder(profile, visible_levels=1, levels=0)


def test_only_sources_showing_few_levels_get_a_ladder(lobster_dir):
    assert isinstance(source_ladder("AMZN", lobster_dir), DepthLadder)
    assert source_ladder("AAPL", lobster_dir) is None  # level-50 data shows its depth
    assert source_ladder("BTCUSD_2015", lobster_dir) is None  # full order events


def test_simulator_keeps_the_ladder_full_and_is_deterministic(amzn, lobster_dir):
    start = len(amzn) // 2
    start_ns = int(amzn.events["time_ns"][start])

    def run(seed):
        sim = Simulator(NoiseFlow(interval_ns=50_000_000), depth=source_ladder("AMZN", lobster_dir))
        sim.reset(amzn.book_before(start), start_ns, seed)
        sim.submit(1, AgentOrder("market", side=1, size=2_000))  # sweeps several ask levels
        for k in range(1, 31):
            sim.run_until(start_ns + k * 1_000_000_000)
            assert sim.book.n_levels(1) >= LADDER_LEVELS and sim.book.n_levels(-1) >= LADDER_LEVELS
        return sim.stream(amzn.source).events

    first = run(3)
    np.testing.assert_array_equal(first, run(3))
    assert not np.array_equal(first, run(4))
    laid = (first["type"] == NEW) & (first["order_id"] >= FIRST_LADDER_ORDER_ID)
    refilled = laid & (first["order_id"] < FIRST_AGENT_ORDER_ID)
    assert np.count_nonzero(refilled) > 0  # the sweep was refilled
