"""The parts tasks are built from: rewards, observation spec and market scenario."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

import mars_gym  # noqa: F401  registers the environments
from mars_gym.envs.execution import EXECUTION_OBSERVATION, ExecutionEnv
from mars_gym.envs.observations import Feature, ObservationSpec
from mars_gym.envs.scenario import MarketScenario

SHORT = {"split": "test", "horizon_s": 60, "step_s": 10, "quantity": 2_000, "flow": "noise",
         "source": "AMZN"}
PASSIVE = np.array([2, 0])  # a small passive share, no crossing: fills spread over the episode


def rollout(lobster_dir, seed=4, **kwargs):
    env = gym.make("MarS-Execution-v0", data_dir=lobster_dir, **{**SHORT, **kwargs}).unwrapped
    obs, info = env.reset(seed=seed)
    steps = [(obs, 0.0, info)]
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(PASSIVE)
        steps.append((obs, reward, info))
        done = terminated or truncated
    return steps


def test_both_rewards_sum_to_minus_the_shortfall_and_differ_by_the_marked_remainder(lobster_dir):
    advantage = rollout(lobster_dir)
    shortfall = rollout(lobster_dir, reward="implementation_shortfall")
    final = advantage[-1][2]
    assert final["filled"] == SHORT["quantity"]  # the completion at market filled it
    assert [s[2]["filled"] for s in advantage] == [s[2]["filled"] for s in shortfall]
    total = -final["implementation_shortfall_bps"]
    assert sum(r for _, r, _ in advantage) == pytest.approx(total, abs=1e-9)
    assert sum(r for _, r, _ in shortfall) == pytest.approx(total, abs=1e-9)
    # per step: IS reward = advantage reward - change of the unfilled part marked at the mid
    index = {n: i for i, n in enumerate(EXECUTION_OBSERVATION.names)}
    paper = [o[index["return_bps"]] * (1 - i["filled"] / SHORT["quantity"])
             for o, _, i in advantage]
    differences = [s[1] - a[1] for a, s in zip(advantage[1:], shortfall[1:], strict=False)]
    expected = [-(after - before) for before, after in itertools.pairwise(paper)]
    np.testing.assert_allclose(differences, expected, atol=1e-3)
    assert max(abs(d) for d in differences) > 0.05  # the mid moved while lots were waiting


def test_the_holding_cost_lowers_each_step_by_the_squared_share_left(lobster_dir):
    plain = rollout(lobster_dir)
    risky = rollout(lobster_dir, risk_penalty_bps=5.0)
    for (_, r0, info), (_, r1, _) in zip(plain[1:], risky[1:], strict=False):
        left = 1 - info["filled"] / SHORT["quantity"]
        assert r0 - r1 == pytest.approx(5.0 * left**2, abs=1e-9)
    assert plain[1][2]["filled"] < SHORT["quantity"]  # a step with lots left was charged


class FillCount:
    """A user's reward: the number of fills in the step."""

    def reset(self, env):
        self.resets = getattr(self, "resets", 0) + 1

    def __call__(self, env, fills, truncated):
        return float(len(fills))


def test_a_reward_object_is_used_as_given(lobster_dir):
    reward = FillCount()
    steps = rollout(lobster_dir, reward=reward)
    assert reward.resets == 1
    assert all(r == int(r) >= 0 for _, r, _ in steps) and sum(r for _, r, _ in steps) >= 1
    with pytest.raises(ValueError, match="reward must be one of"):
        ExecutionEnv(reward=lambda env, fills, truncated: 0.0, data_dir=lobster_dir, **SHORT)


def test_the_observation_spec_defines_space_names_and_table_once():
    space = EXECUTION_OBSERVATION.space
    assert ExecutionEnv.__doc__.count("| time left, fraction of the horizon | 0 | 1 |") == 1
    assert space.shape == (8,) and space.high[3] == 100 and space.low[4] == -1000
    spec = ObservationSpec([Feature("a", 0, 1, "first"), Feature("b", -2, 2, "second")])
    np.testing.assert_array_equal(spec.vector({"b": 5.0, "a": 0.5}),
                                  np.array([0.5, 2.0], np.float32))
    with pytest.raises(ValueError, match=r"missing \['b'\], unknown \['c'\]"):
        spec.vector({"a": 0.5, "c": 1.0})
    with pytest.raises(ValueError, match="unique"):
        ObservationSpec([Feature("a", 0, 1, "x"), Feature("a", 0, 1, "y")])


def test_a_scenario_starts_a_simulator_at_the_real_book(lobster_dir):
    scenario = MarketScenario("AMZN", "test", 60 * 10**9, "replay", data_dir=lobster_dir)
    first, last = scenario.start_range
    assert first < last
    start = scenario.draw_start(np.random.default_rng(0))
    assert first <= start < last
    sim = scenario.begin(start, seed=1)
    real = scenario.stream.book[start - 1]
    assert (sim.book.best_bid, sim.book.best_ask) == (real["bid"], real["ask"])
    assert sim.now == scenario.stream.events["time_ns"][start]
    with pytest.raises(ValueError, match=r"options\['start_index'\] must be in"):
        scenario.check_start(last)


def test_model_free_envs_do_not_import_torch(lobster_dir):
    import subprocess
    import sys

    code = (
        "import sys, gymnasium as gym, mars_gym\n"
        "for env_id in ('MarS-Execution-v0', 'MarS-MarketMaking-v0'):\n"
        "    for flow in ('replay', 'noise', 'hawkes'):\n"
        "        env = gym.make(env_id, flow=flow, source='AMZN', split='test', horizon_s=30,\n"
        f"                       step_s=10, data_dir={str(lobster_dir)!r})\n"
        "        env.reset(seed=0)\n"
        "        env.step(env.action_space.sample())\n"
        "print('torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
