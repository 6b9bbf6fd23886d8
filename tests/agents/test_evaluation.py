"""The evaluation protocol, its statistics and the leaderboard, run for real at small sizes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from agents.evaluation import TEST_PROTOCOL, Protocol, compare, evaluate, interval, summarize
from agents.leaderboard import markdown, run
from agents.policies import TWAP, FixedAction, MarketOrder

SMALL = Protocol(n_starts=1)


def test_interval_is_the_t_interval_of_the_mean():
    x = [1.0, 2.0, 4.0, None, 7.0]
    result = interval(x)
    values = np.array([1.0, 2.0, 4.0, 7.0])
    low, high = stats.t.interval(0.95, 3, loc=values.mean(), scale=stats.sem(values))
    assert result["n"] == 4 and result["mean"] == pytest.approx(values.mean())
    assert result["std"] == pytest.approx(values.std(ddof=1))
    assert result["ci95"] == pytest.approx([low, high])
    assert result["median"] == 3.0 and result["positive_share"] == 1.0
    assert interval([-1.0, 2.0, 0.0])["positive_share"] == pytest.approx(1 / 3)
    assert interval([None])["mean"] is None


def test_compare_pairs_episodes_by_seed():
    a = [{"seed": 1, "m": 3.0}, {"seed": 2, "m": 5.0}]
    b = [{"seed": 2, "m": 1.0}, {"seed": 1, "m": 2.0}]
    assert compare(a, b, "m")["mean"] == pytest.approx((1.0 + 4.0) / 2)
    with pytest.raises(ValueError, match="not in the reference"):
        compare([{"seed": 9, "m": 0.0}], b, "m")


def test_protocol_is_fixed_and_covers_sides_and_sizes(lobster_dir):
    sizes = TEST_PROTOCOL.sizes(lobster_dir)
    assert len(sizes) == 3 and sizes[0] < sizes[1] < sizes[2]
    episodes = TEST_PROTOCOL.episodes((1_000, 2_000), lobster_dir)
    assert len(episodes) == TEST_PROTOCOL.n_starts * 2 * 3
    assert {e["options"]["side"] for e in episodes} == {"buy", "sell"}
    assert len({e["seed"] for e in episodes}) == len(episodes)
    assert episodes == TEST_PROTOCOL.episodes((1_000, 2_000), lobster_dir)


@pytest.mark.parametrize("flow", ["replay", "lmm"])
def test_evaluate_is_deterministic_and_complete(flow, lobster_dir):
    rows = evaluate(TWAP(), flow, SMALL, num_envs=6, data_dir=lobster_dir, progress=False)
    again = evaluate(TWAP(), flow, SMALL, num_envs=6, data_dir=lobster_dir, progress=False)
    assert len(rows) == 6 and rows == again
    assert all(r["fill_rate"] == 1.0 for r in rows)
    assert {(r["side"], r["quantity"]) for r in rows} == {
        (s, q) for s in ("buy", "sell") for q in SMALL.sizes(lobster_dir)}


def test_crossing_at_once_costs_more_than_posting_passively(lobster_dir):
    """The market order pays about the half spread; passive TWAP earns part of it back."""
    market = summarize(evaluate(MarketOrder(), "replay", SMALL, 6, lobster_dir, False))
    passive = summarize(evaluate(TWAP("passive"), "replay", SMALL, 6, lobster_dir, False))
    assert market["implementation_shortfall_bps"]["mean"] > 0
    assert (market["price_advantage_vs_twap_bps"]["mean"]
            < passive["price_advantage_vs_twap_bps"]["mean"])


def test_leaderboard_ranks_against_the_best_twap(lobster_dir, tmp_path):
    few = [MarketOrder(), TWAP(), TWAP("passive"), FixedAction([10, 0], "twap_ratio_passive")]
    document = run(few, ("replay",), SMALL, num_envs=6, data_dir=lobster_dir,
                   cache=tmp_path)
    assert len(list(tmp_path.glob("replay__*.json"))) == len(few)
    again = run(few, ("replay",), SMALL, num_envs=6, data_dir=lobster_dir, cache=tmp_path)
    assert again["flows"] == json.loads(json.dumps(document["flows"]))
    table = document["flows"]["replay"]
    best = table["best_twap"]
    assert best.startswith("twap")
    means = {n: e["summary"]["price_advantage_vs_twap_bps"]["mean"]
             for n, e in table["policies"].items()}
    assert means[best] == max(v for n, v in means.items() if n.startswith("twap"))
    assert table["policies"][best]["vs_best_twap"]["mean"] == 0.0
    text = markdown(document)
    assert "market_at_start" in text and "best TWAP" in text
    json.dumps(document, default=float)
