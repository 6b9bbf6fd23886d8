"""Baseline schedules against their formulas, and their actions on the real env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import mars_gym  # noqa: F401  registers the environments
from agents.policies import (
    POV,
    TWAP,
    VWAP,
    AlmgrenChriss,
    EpisodeSpec,
    FixedAction,
    MarketOrder,
    ScheduledPolicy,
)
from mars_gym.data.calibration import MarketCalibration

SPEC = EpisodeSpec(side=1, quantity=1_000, n_decisions=10, step_s=30.0)
CALIBRATION = MarketCalibration(
    source="test", step_s=30.0, volume_profile=(0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05,
                                                0.1),
    step_volume=500.0, horizon_volume=5_000.0, sigma_bps=1.0, half_spread_bps=2.0,
    eta_bps_per_lot=0.002, gamma_bps_per_lot=0.001)


def info(decision, filled, market_volume=0):
    return {"decision": decision, "filled": filled, "market_volume": market_volume}


def test_twap_and_vwap_schedules_follow_their_formulas():
    assert np.allclose(TWAP().schedule(SPEC), np.arange(1, 11) / 10)
    assert np.allclose(VWAP(CALIBRATION).schedule(SPEC), np.cumsum(CALIBRATION.volume_profile))
    with pytest.raises(ValueError, match="volume profile has 10 intervals"):
        VWAP(CALIBRATION).schedule(EpisodeSpec(1, 100, 5, 60.0))


def test_almgren_chriss_is_the_closed_form_trajectory():
    policy = AlmgrenChriss(CALIBRATION, risk_aversion=1e-3)
    tau, q = SPEC.step_s, SPEC.quantity
    eta_tilde = CALIBRATION.eta_bps_per_lot * tau * q - CALIBRATION.gamma_bps_per_lot * q * tau / 2
    kappa = np.arccosh(1 + 1e-3 * CALIBRATION.sigma_bps ** 2 * tau ** 2 / (2 * eta_tilde)) / tau
    assert policy.kappa(SPEC) == pytest.approx(kappa)
    t, horizon = tau * np.arange(1, 11), tau * 10
    holdings = np.sinh(kappa * (horizon - t)) / np.sinh(kappa * horizon)
    assert np.allclose(policy.schedule(SPEC), 1 - holdings)
    # no risk aversion: TWAP; more risk aversion: more done early
    assert np.allclose(AlmgrenChriss(CALIBRATION, 0.0).schedule(SPEC), TWAP().schedule(SPEC))
    assert np.all(AlmgrenChriss(CALIBRATION, 1e-1).schedule(SPEC)[:-1]
                  > policy.schedule(SPEC)[:-1])


def test_passive_then_cross_posts_the_slice_and_crosses_what_is_left():
    policy = TWAP("passive_then_cross", level=2)
    policy.reset(SPEC)
    assert np.array_equal(policy.act(None, info(0, 0)), [100, 0, 2])
    # decision 3: 300 due, 250 filled -> cross 50, post the next 100
    assert np.array_equal(policy.act(None, info(3, 250)), [100, 50, 2])
    # ahead of schedule: nothing to cross, post only what the next target still needs
    assert np.array_equal(policy.act(None, info(3, 350)), [50, 0, 2])


def test_passive_and_aggressive_styles():
    passive, aggressive = TWAP("passive"), TWAP("aggressive", level=3)
    passive.reset(SPEC)
    aggressive.reset(SPEC)
    assert np.array_equal(passive.act(None, info(3, 250)), [150, 0, 1])
    assert np.array_equal(aggressive.act(None, info(3, 250)), [0, 150, 3])


def test_market_order_sends_everything_at_once():
    policy = MarketOrder()
    policy.reset(SPEC)
    assert np.array_equal(policy.act(None, info(0, 0)), [0, 1_000, 0])
    assert np.array_equal(policy.act(None, info(1, 1_000)), [0, 0, 0])


def test_pov_tracks_a_fraction_of_market_volume():
    policy = POV(CALIBRATION, rate=0.1)
    policy.reset(SPEC)
    assert np.array_equal(policy.act(None, info(0, 0)), [50, 0, 1])  # 10 % of 500 expected
    # 1,200 traded so far: 120 due, 80 filled -> cross 40; last interval had 1,200 -> post 120
    assert np.array_equal(policy.act(None, info(1, 80, 1_200)), [120, 40, 1])
    # a busy market: never more than what is left of the parent order
    assert np.array_equal(policy.act(None, info(2, 900, 60_000)), [100, 100, 1])


def test_bad_parameters_are_clear_errors():
    with pytest.raises(ValueError, match="style must be"):
        TWAP("sometimes")
    with pytest.raises(ValueError, match="level must be"):
        TWAP(level=7)
    with pytest.raises(ValueError, match="rate must be"):
        POV(CALIBRATION, rate=0)
    with pytest.raises(ValueError, match="risk_aversion"):
        AlmgrenChriss(CALIBRATION, -1)

    class Backwards(ScheduledPolicy):
        def schedule(self, spec):
            return np.linspace(1, 0.5, spec.n_decisions)

    with pytest.raises(ValueError, match="must rise"):
        Backwards().reset(SPEC)


@pytest.mark.parametrize("policy", [MarketOrder(), TWAP(), TWAP("passive"),
                                    TWAP("aggressive", 1)], ids=lambda p: p.name)
def test_baselines_complete_the_order_on_the_env(policy, lobster_dir):
    env = gym.make("MarS-Execution-v0", flow="replay", source="AMZN", split="test",
                   quantity=300, action_mode="lots", data_dir=lobster_dir)
    obs, info_ = env.reset(seed=1)
    policy.reset(EpisodeSpec.from_env(env))
    steps, done = 0, False
    while not done:
        obs, _, terminated, truncated, info_ = env.step(policy.act(obs, info_))
        done, steps = terminated or truncated, steps + 1
    assert info_["fill_rate"] == 1.0
    if isinstance(policy, MarketOrder):
        assert steps == 1 and info_["implementation_shortfall_bps"] > 0  # paid the spread


def test_fixed_action_uses_the_mars_action():
    policy = FixedAction([10, 0])
    assert policy.env_kwargs() == {"action_mode": "ratio"}
    assert policy.name == "fixed_10_0"
    assert np.array_equal(policy.act(None, {}), [10, 0])
