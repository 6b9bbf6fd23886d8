"""LOB-Bench's scores and distances against hand computations on small streams."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lob_core.lobster import MESSAGE_DTYPE, read_messages, read_orderbook
from mars_gym.metrics import lob_bench
from mars_gym.metrics.realism import LobsterStream

S = 1_000_000_000
AMZN = ("AMZN_2012-06-21_34200000_57600000_message_1.csv",
        "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv")


def stream(rows, books, levels=1) -> LobsterStream:
    """rows: (time_s, type, id, size, price, direction); books: one row of 4*levels each."""
    messages = np.array([(round(t * S), *rest) for t, *rest in rows], dtype=MESSAGE_DTYPE)
    return LobsterStream(messages, np.array(books, dtype=np.int64).reshape(len(rows), 4 * levels))


def test_spread_and_imbalance_skip_one_sided_rows():
    s = stream([(1, 1, 1, 5, 10_100, -1), (2, 1, 2, 5, 9_800, 1), (3, 3, 1, 5, 10_100, -1)],
               [(10_100, 5, 9_900, 15), (10_100, 5, 9_900, 15), (9_999_999_999, 0, 9_900, 15)])
    assert lob_bench.spread(s).tolist() == [2.0, 2.0]
    assert lob_bench.orderbook_imbalance(s).tolist() == [0.5, 0.5]


def test_inter_arrival_and_time_to_cancel():
    s = stream([(0, 1, 7, 5, 10_100, -1), (0, 1, 8, 5, 10_200, -1), (2, 2, 7, 1, 10_100, -1),
                (3, 3, 7, 4, 10_100, -1), (3.5, 3, 99, 4, 10_300, -1), (4, 4, 8, 5, 10_200, -1)],
               [(10_100, 5, 9_900, 5)] * 6)
    ms = [0, 2000, 1000, 500, 500]
    expected = [math.log(1e-9 if m == 0 else m) for m in ms]
    assert np.allclose(lob_bench.log_inter_arrival_time(s), expected)
    # order 7: first cancel 2 s after it; order 8 executed, never cancelled; 99 never new
    assert np.allclose(lob_bench.log_time_to_cancel(s), [math.log(2.0)])


def test_depths_and_levels():
    books = [(10_100, 5, 9_900, 5, 10_200, 3, 9_800, 4),   # after a bid at 98.00
             (10_100, 5, 9_900, 5, 10_200, 8, 9_800, 4),   # after an ask at 102.00
             (10_100, 5, 9_900, 5, 10_200, 3, 9_800, 4)]   # after cancelling 5 at 102.00
    s = stream([(1, 1, 1, 4, 9_800, 1), (2, 1, 2, 5, 10_200, -1), (3, 3, 2, 5, 10_200, -1)],
               books, levels=2)
    ask, bid = lob_bench._depths(s, (1,))
    assert ask.tolist() == [2.0] and bid.tolist() == [2.0]  # mid 100.00, tick 100
    ask, bid = lob_bench._levels(s, (1,), before=False)
    assert ask.tolist() == [2.0] and bid.tolist() == [2.0]
    ask, bid = lob_bench._levels(s, (2, 3), before=True)
    assert ask.tolist() == [2.0] and bid.tolist() == []


def test_volume_per_minute_scales_and_drops_partial_seconds():
    trades = [(10.5, 4, 1, 10, 10_100, -1), (10.7, 4, 2, 5, 10_100, -1),
              (11.2, 4, 3, 20, 10_100, -1), (12.05, 4, 4, 7, 10_100, -1)]
    s = stream(trades, [(10_100, 5, 9_900, 5)] * 4)
    # first second covered 0.5 s: x2; last covered 0.05 s: dropped
    assert np.allclose(lob_bench.volume_per_minute(s), [15 * 2 * 60, 20 * 60])


def _random_stream(n: int, seed: int) -> LobsterStream:
    rng = np.random.default_rng(seed)
    bid = 10_000 + 100 * np.cumsum(rng.integers(-1, 2, n))
    ask = bid + 100 * rng.integers(1, 3, n)
    books = np.stack([ask, rng.integers(1, 50, n), bid, rng.integers(1, 50, n)], axis=1)
    rows = [(1 + 0.01 * i, 1, i, 1, int(bid[i]), 1) for i in range(n)]
    return stream(rows, books)


def test_ofi_equals_an_explicit_loop():
    s = _random_stream(260, 0)
    b = s.orderbook
    events = []
    for t in range(1, len(b)):
        e = 0
        e += b[t, 3] if b[t, 2] >= b[t - 1, 2] else 0
        e -= b[t - 1, 3] if b[t, 2] <= b[t - 1, 2] else 0
        e -= b[t, 1] if b[t, 0] <= b[t - 1, 0] else 0
        e += b[t - 1, 1] if b[t, 0] >= b[t - 1, 0] else 0
        events.append(e)
    rolling = [np.mean(events[j:j + 100]) for j in range(len(events) - 99)]
    assert np.allclose(lob_bench.ofi(s), rolling)
    mid = (b[:, 0] + b[:, 2]) / 2
    up = [rolling[j] for j in range(len(rolling) - 1) if mid[j + 101] > mid[j + 100]]
    down = [rolling[j] for j in range(len(rolling) - 1) if mid[j + 101] < mid[j + 100]]
    assert np.allclose(lob_bench._ofi_given_move(s, 1), up)
    assert np.allclose(lob_bench._ofi_given_move(s, -1), down)


def test_l1_and_wasserstein_by_hand():
    real, generated = np.array([0.0, 0, 1, 1]), np.array([0.0, 1, 1, 1])
    row = lob_bench.distances(real, generated, discrete=True, n_bootstrap=50)
    assert row["l1"] == pytest.approx(0.25)  # shares (.5, .5) vs (.25, .75)
    pooled = np.r_[real, generated]
    assert row["wasserstein"] == pytest.approx(0.25 / pooled.std(ddof=1))
    low, high = row["l1_ci"]
    assert 0 <= low <= 0.25 <= high <= 1
    same = lob_bench.distances(real, real.copy(), discrete=True, n_bootstrap=0)
    assert same["l1"] == 0 and same["wasserstein"] == 0
    disjoint = lob_bench.distances(np.zeros(5), np.ones(5), discrete=False, n_bootstrap=0)
    assert disjoint["l1"] == 1.0
    empty = lob_bench.distances(real, np.zeros(0), discrete=True)
    assert empty["l1"] is None and empty["undefined"] == "no generated values"


def _hand_l1(real, generated, edges):
    """L1 with plain loops: group = number of edges <= value."""
    def shares(values):
        counts = {}
        for v in values:
            g = sum(1 for e in edges if e <= v)
            counts[g] = counts.get(g, 0) + 1
        return {g: c / len(values) for g, c in counts.items()}
    a, b = shares(real), shares(generated)
    return sum(abs(a.get(g, 0) - b.get(g, 0)) for g in set(a) | set(b)) / 2


def _hand_w1(a, b):
    """Wasserstein-1 as the integral of |F_a - F_b| over the pooled support."""
    grid = np.sort(np.r_[a, b])
    fa = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    fb = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return float(np.sum(np.abs(fa - fb)[:-1] * np.diff(grid)))


def test_two_real_windows_agree_with_a_hand_computation(lobster_dir):
    day = LobsterStream(read_messages(lobster_dir / AMZN[0]),
                        read_orderbook(lobster_dir / AMZN[1]))
    t0 = int(day.messages["time_ns"][20_000])
    first, second = day.window(t0, t0 + 120 * S), day.window(t0 + 120 * S, t0 + 240 * S)
    table = lob_bench.compare([first], [second], n_bootstrap=20)
    assert "ask_volume" not in table  # level-1 data: no 10-level volumes
    assert "limit_ask_order_levels" not in table  # nor levels: every price is level 1
    for name in ("spread", "orderbook_imbalance", "log_inter_arrival_time", "bid_volume_touch",
                 "limit_ask_order_depth"):
        real, gen = lob_bench.sample([first], name), lob_bench.sample([second], name)
        edges = lob_bench.group_edges(real, gen, lob_bench.SCORES[name].discrete)
        assert table[name]["l1"] == pytest.approx(_hand_l1(real, gen, edges)), name
        pooled = np.r_[real, gen]
        z = (pooled - pooled.mean()) / pooled.std(ddof=1)
        assert table[name]["wasserstein"] == pytest.approx(
            _hand_w1(z[:len(real)], z[len(real):])), name
        assert table[name]["n_real"] == len(real) > 50
    assert lob_bench.compare([first], [first], n_bootstrap=0)["spread"]["l1"] == 0


def test_level_scores_need_two_levels():
    assert not any("levels" in name for name in lob_bench.score_names(1))
    assert {"limit_ask_order_levels", "bid_cancellation_levels"} <= set(lob_bench.score_names(2))
    assert "ask_volume" not in lob_bench.score_names(9)
    assert "ask_volume" in lob_bench.score_names(10)


def test_message_mix_counts_types_and_rate():
    s = stream([(0, 1, 1, 5, 10_100, -1), (30, 3, 1, 5, 10_100, -1), (60, 4, 2, 5, 9_900, 1),
                (60, 1, 3, 5, 10_200, -1)], [(10_100, 5, 9_900, 5)] * 4)
    mix = lob_bench.message_mix([s])
    assert mix == {"messages": 4, "new": 0.5, "cancel": 0.25, "execute": 0.25,
                   "messages_per_minute": 4.0}
