"""MarS-MarketMaking-v0: a task built only from the parts, its accounting, limits and
baselines, run for real on short AMZN test windows."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import mars_gym  # noqa: F401  registers the environments
from agents.market_making import (
    AvellanedaStoikov,
    MakerCalibration,
    SymmetricQuotes,
    evaluate_maker,
    maker_calibration,
    summarize_maker,
)
from mars_gym.envs.market_making import MARKET_MAKING_OBSERVATION
from mars_gym.envs.vector import VectorMarketMakingEnv

SHORT = {"source": "AMZN", "split": "test", "horizon_s": 60, "step_s": 10}
INVENTORY = MARKET_MAKING_OBSERVATION.names.index("inventory")


def make(flow="noise", **kwargs):
    return gym.make("MarS-MarketMaking-v0", flow=flow, **{**SHORT, **kwargs}).unwrapped


def play(env, act, seed=0):
    obs, info = env.reset(seed=seed)
    steps = [(obs, 0.0, info)]
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(act(obs, info))
        steps.append((obs, reward, info))
        assert not truncated
        done = terminated
    return steps


@pytest.mark.parametrize("flow", ["noise", "replay", "lmm"])
def test_gymnasium_and_sb3_checkers_pass(flow, lobster_dir):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = make(flow, data_dir=lobster_dir)
    check_env(env, skip_render_check=True)
    sb3_check_env(env, warn=True)


def test_rewards_add_up_to_the_pnl_and_the_inventory_is_closed(lobster_dir):
    env = make("hawkes", data_dir=lobster_dir, inventory_penalty=0.0)
    steps = play(env, lambda obs, info: np.array([1, 1, 200, 200], np.float32))
    final = steps[-1][2]
    assert final["fills"] > 0 and final["volume"] > 0
    assert final["inventory"] == 0  # closed at market at the horizon
    assert final["pnl"] == final["cash"]
    assert sum(r for _, r, _ in steps) == pytest.approx(final["pnl"] / env.max_quote, abs=1e-9)


def test_the_inventory_penalty_costs_the_squared_inventory_each_step(lobster_dir):
    def one_sided(obs, info):
        return np.array([0, 20, 300, 0], np.float32)

    plain = play(make("noise", data_dir=lobster_dir, inventory_penalty=0.0), one_sided)
    penalised = play(make("noise", data_dir=lobster_dir, inventory_penalty=0.5), one_sided)
    charged = 0
    for (_, r0, info), (_, r1, _) in zip(plain[1:], penalised[1:], strict=False):
        cost = 0.5 * (info["inventory"] / 300) ** 2
        assert r0 - r1 == pytest.approx(cost, abs=1e-9)
        charged += cost > 0
    assert charged >= 2


def test_bids_alone_never_take_the_inventory_past_its_limit(lobster_dir):
    env = make("noise", data_dir=lobster_dir, inventory_limit=500, max_quote=300)
    steps = play(env, lambda obs, info: np.array([0, 0, 300, 0], np.float32))
    assert max(s[2]["max_abs_inventory"] for s in steps) == 500  # it filled up to the limit
    assert all(abs(s[2]["inventory"]) <= 500 for s in steps)
    assert max(abs(s[0][INVENTORY]) for s in steps) == pytest.approx(1.0)


def test_quotes_are_passive_at_the_offsets(lobster_dir):
    env = make("replay", data_dir=lobster_dir)
    env.reset(seed=1)
    book, mid = env.sim.book, env.sim.mid()
    bid, ask = env.quote_prices(2.0, 3.0)
    assert (bid, ask) == (min(math.floor(mid - 2), book.best_ask - 1),
                          max(math.ceil(mid + 3), book.best_bid + 1))
    inside = env.quote_prices(50.0, -50.0)  # an ask far below the mid stays above the bid
    assert inside[1] == book.best_bid + 1
    env.begin_step(np.array([2, 3, 100, 100], np.float32))
    assert env.advance()
    resting = [i for i in env.quote_ids.values() if i in env.sim.book]
    assert {env.sim.book.order(i)[1] for i in resting} <= {bid, ask}


def test_the_vector_env_runs_each_simulation_as_it_would_alone(lobster_dir):
    vec = VectorMarketMakingEnv(num_envs=2, flow="lmm", data_dir=lobster_dir, **SHORT)
    def act(env):
        return lambda obs, info: np.array([1, 2, 100, 100], np.float32)

    episodes = [{"seed": 5}, {"seed": 6}]
    batched = [info["pnl"] for _, _, _, info, _ in sorted(vec.play(episodes, act),
                                                           key=lambda ended: ended[0])]
    alone = [play(make("lmm", data_dir=lobster_dir), act(None), seed=s)[-1][2]["pnl"]
             for s in (5, 6)]
    assert batched == alone


def test_avellaneda_stoikov_skews_against_the_inventory(lobster_dir):
    calibration = maker_calibration("AMZN", lobster_dir)
    assert calibration.sigma_ticks > 0 and calibration.k_per_tick > 0
    policy = AvellanedaStoikov(MakerCalibration("X", 2.0, 0.5, 1.0), gamma=0.01)
    flat_bid, flat_ask = policy.offsets(0.0, 100.0)
    long_bid, long_ask = policy.offsets(2.0, 100.0)
    assert flat_bid == flat_ask == pytest.approx(0.5 * (0.01 * 4 * 100 + 200 * math.log1p(0.02)))
    assert long_bid - flat_bid == pytest.approx(2 * 0.01 * 4 * 100)  # long: bid further away
    assert flat_ask - long_ask == pytest.approx(2 * 0.01 * 4 * 100)  # ... and ask closer
    assert policy.offsets(0.0, 0.0)[0] < flat_bid  # the risk term fades with the time left


def test_baselines_are_evaluated_on_the_protocol(lobster_dir):
    protocol = {"n_starts": 2, "horizon_s": 60.0}
    wide = summarize_maker(evaluate_maker(SymmetricQuotes(15.0), "noise", protocol, lobster_dir))
    tight = summarize_maker(evaluate_maker(SymmetricQuotes(0.0), "noise", protocol, lobster_dir))
    assert set(tight) == {"pnl", "pnl_per_quote", "reward", "volume", "max_abs_inventory"}
    assert tight["volume"]["mean"] > wide["volume"]["mean"]  # quotes at the mid trade more
    assert all(math.isfinite(v["mean"]) for v in tight.values())
