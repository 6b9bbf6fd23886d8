"""Every bad argument, option or action of the execution envs is a ValueError naming it, raised
before anything moves; stepping a finished episode raises; undefined metrics are None in the
single and the vector env alike."""

import math

import gymnasium as gym
import numpy as np
import pytest

import mars_gym  # noqa: F401  registers the environments
from mars_gym.envs.execution import MAX_QUANTITY, OPTIONAL_INFO
from mars_gym.envs.vector import VectorExecutionEnv

SHORT = {"split": "test", "horizon_s": 40, "step_s": 20, "quantity": 500}


def make(**kwargs):
    return gym.make("MarS-Execution-v0", **{"flow": "noise", **SHORT, **kwargs}).unwrapped


@pytest.mark.parametrize("kwargs, fragment", [
    ({"unfilled_penalty_bps": math.nan}, "unfilled_penalty_bps must be a finite number"),
    ({"unfilled_penalty_bps": -1.0}, r"unfilled_penalty_bps must be in \[0.0"),
    ({"step_s": 1e-12}, r"step_s must be in \[1e-09"),
    ({"quantity": 500.5}, "quantity must be a whole number, got 500.5"),
    ({"quantity": 2**70}, f"quantity must be in \\[1, {MAX_QUANTITY}\\]"),
    ({"quantity": [500, 0]}, "quantity must be in"),
    ({"quantity": True}, "quantity must be a whole number"),
    ({"horizon_s": math.inf}, "horizon_s must be a finite number"),
    ({"latency_sigma": -0.1}, r"latency_sigma must be in \[0.0"),
    ({"latency_ns": 1.5}, "latency_ns must be a whole number"),
    ({"flow": "ensemble", "flow_guidance": math.nan}, "flow_guidance must be a finite number"),
    ({"flow_guidance": 1.0},
     r"flow_guidance is for the flows that take a guidance \('ensemble',\)"),
    ({"flow_target": "drop"}, "flow_target is for the flows that take a target"),
    ({"lmm_observes_agents": True}, "flow 'noise' takes no option 'observe_agents'"),
    ({"flow": "no_such_flow"}, "unknown flow 'no_such_flow'"),
    ({"reward": "pnl"}, "reward must be one of"),
    ({"risk_penalty_bps": -1.0}, r"risk_penalty_bps must be in \[0.0"),
])
def test_bad_arguments_name_the_argument(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        make(**kwargs)


def test_integral_floats_are_accepted_as_whole_numbers():
    env = make(quantity=500.0, latency_ns=1e6)
    assert env.quantity == 500 and isinstance(env.quantity, int)


@pytest.mark.parametrize("options, fragment", [
    ("x", "options must be a dict"),
    ({"start_index": 10.5}, r"options\['start_index'\] must be a whole number"),
    ({"quantity": 0}, r"options\['quantity'\] must be in"),
    ({"quantity": 2**70}, r"options\['quantity'\] must be in"),
    ({"sizes": 3}, "unknown options"),
])
def test_bad_options_name_the_option(options, fragment):
    env = make()
    with pytest.raises(ValueError, match=fragment):
        env.reset(seed=0, options=options)


@pytest.mark.parametrize("action, fragment", [
    (np.array([3.7, 1.2]), "whole numbers"),
    (np.array(["3", "1"]), "finite real numbers"),
    (np.array([3 + 1j, 1]), "finite real numbers"),
    (np.array([True, False]), "finite real numbers"),
    ("ab", "finite real numbers"),
])
def test_bad_actions_are_refused_and_nothing_is_sent(action, fragment):
    env = make()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=fragment):
        env.step(action)
    assert env.decision == 0 and not env.sim.in_flight  # nothing sent, no decision used


def test_step_after_termination_raises_like_after_truncation():
    env = make()
    env.reset(seed=0)
    _, _, terminated, truncated, _ = env.step(np.array([0, 5]))  # crosses for the slice...
    while not (terminated or truncated):
        _, _, terminated, truncated, _ = env.step(np.array([0, 5]))
    assert terminated  # ...and fills the parent before the horizon
    with pytest.raises(RuntimeError, match="the episode is over"):
        env.step(np.array([0, 5]))
    env.reset(seed=1)
    env.step(np.array([0, 0]))  # a reset makes the env steppable again


def test_a_bad_action_in_a_vector_step_leaves_every_env_unstepped():
    vec = VectorExecutionEnv(num_envs=3, flow="noise", **SHORT)
    vec.reset(seed=0)
    with pytest.raises(ValueError, match="env 2: .*outside the action space"):
        vec.step(np.array([[5, 1], [5, 1], [11, 0]]))
    assert [env.decision for env in vec.envs] == [0, 0, 0]
    assert all(not env.sim.in_flight for env in vec.envs)
    with pytest.raises(ValueError, match="need 3 actions"):
        vec.step(np.array([[5, 1], [5, 1]]))


def test_undefined_metrics_are_none_in_the_single_and_the_vector_env():
    env = make()
    _, info = env.reset(seed=0)
    vec = VectorExecutionEnv(num_envs=2, flow="noise", **SHORT)
    _, infos = vec.reset(seed=0)
    for key in OPTIONAL_INFO:
        if key == "market_vwap":
            continue  # defined once the market trades
        assert info[key] is None
        assert infos[key].dtype == object and infos[key][0] is None
    # after one env fills, the other's undefined metric stays None (never nan)
    _, _, _, _, infos = vec.step(np.array([[0, 5], [0, 0]]))
    assert isinstance(infos["implementation_shortfall_bps"][0], float)
    assert infos["implementation_shortfall_bps"][1] is None
