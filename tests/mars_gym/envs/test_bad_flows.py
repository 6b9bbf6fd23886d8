"""Envs on a background flow that goes wrong: the step raises the flow's error and the env
refuses to go on until reset (never half-stepped again); arguments whose numbers would
overflow are refused; envs refuse pickling; vector envs check their seeds and their state."""

from __future__ import annotations

import copy
import pickle

import gymnasium as gym
import numpy as np
import pytest

import mars_gym  # noqa: F401  registers the environments
from benchmarks.probe_flows import CASES
from mars_gym.envs.execution import ExecutionEnv
from mars_gym.envs.market_making import MarketMakingEnv
from mars_gym.envs.vector import VectorExecutionEnv
from mars_gym.sim.flows import FlowOrderError

SHORT = {"split": "test", "horizon_s": 60, "step_s": 20, "quantity": 500}


def test_an_env_whose_flow_gave_garbage_refuses_to_step_until_reset():
    flow = CASES["kind_7"]()
    env = ExecutionEnv(flow=flow, **SHORT)
    env.reset(seed=0)
    with pytest.raises(FlowOrderError, match="kind must be in"):
        env.step([0, 0])
    for _ in range(2):  # retries neither send orders nor divide by the decisions left
        with pytest.raises(RuntimeError, match=r"the last step stopped on an error "
                                               r"\(FlowOrderError: .*call reset\(\)"):
            env.step([0, 0])
    assert env.decision == 1
    flow.bad = None
    env.reset(seed=0)
    env.step([0, 0])
    assert env.decision == 1


def test_a_vector_env_whose_flow_failed_refuses_to_step_until_reset():
    vec = VectorExecutionEnv(num_envs=2, flow=CASES["raises"](), **SHORT)
    vec.reset(seed=0)
    with pytest.raises(RuntimeError, match="the user's model failed"):
        vec.step(np.zeros((2, 2), dtype=int))
    with pytest.raises(RuntimeError, match=r"the last step stopped on an error \(RuntimeError: "
                                           r"the user's model failed\); the episodes cannot go "
                                           r"on: call reset\(\)"):
        vec.step(np.zeros((2, 2), dtype=int))
    vec.envs[0].sim.flow.bad = None  # one instance: both envs run it
    vec.reset(seed=0)
    vec.step(np.zeros((2, 2), dtype=int))
    assert [env.decision for env in vec.envs] == [1, 1]


def test_a_vector_env_needs_one_seed_per_env():
    vec = VectorExecutionEnv(num_envs=3, flow="noise", **SHORT)
    with pytest.raises(ValueError, match=r"seed must be one int or one per env \(3\), got 2 "
                                         "seeds"):
        vec.reset(seed=[0, 1])


def test_a_closed_vector_env_refuses_to_step_or_reset():
    vec = VectorExecutionEnv(num_envs=2, flow="noise", **SHORT)
    vec.reset(seed=0)
    vec.close()
    with pytest.raises(RuntimeError, match="this VectorExecutionEnv is closed: make a new one"):
        vec.step(np.zeros((2, 2), dtype=int))
    with pytest.raises(RuntimeError, match="this VectorExecutionEnv is closed"):
        vec.reset(seed=0)


@pytest.mark.parametrize("make", [ExecutionEnv, MarketMakingEnv])
def test_a_horizon_past_int64_nanoseconds_is_refused_by_name(make):
    with pytest.raises(ValueError, match=r"horizon_s must be in \(0.0, 10000000.0\], got 1e\+300"):
        make(flow="noise", horizon_s=1e300)


@pytest.mark.parametrize(("make", "name"), [(MarketMakingEnv, "inventory_penalty"),
                                            (ExecutionEnv, "unfilled_penalty_bps"),
                                            (ExecutionEnv, "risk_penalty_bps")])
def test_a_penalty_that_would_make_rewards_infinite_is_refused(make, name):
    with pytest.raises(ValueError, match=rf"{name} must be in \[0.0, 1000000.0\], got 1e\+308"):
        make(flow="noise", **{name: 1e308})


def test_the_largest_inventory_penalty_keeps_rewards_finite():
    env = MarketMakingEnv(flow="noise", split="test", horizon_s=60, step_s=20,
                          inventory_penalty=1e6)
    env.reset(seed=0)
    rewards = [env.step(env.action_space.sample())[1] for _ in range(3)]
    assert np.isfinite(rewards).all()


@pytest.mark.parametrize("duplicate", [pickle.dumps, copy.deepcopy, copy.copy])
def test_an_env_refuses_pickling_and_copying_with_a_clear_message(duplicate):
    env = gym.make("MarS-Execution-v0", flow="noise", **SHORT)
    env.reset(seed=0)
    with pytest.raises(TypeError, match="ExecutionEnv cannot be pickled or copied: it holds "
                                        "a live simulator"):
        duplicate(env.unwrapped)
