"""The impact task: a scheduled parent, the rest at market right after the execution, then a
decay with no orders; its twin without a parent shares the start and the seed."""

from __future__ import annotations

import numpy as np
import pytest

from mars_gym.envs.impact import ImpactEnv

SHORT = {"source": "AMZN", "split": "test", "execution_s": 30.0, "decay_s": 20.0,
         "step_s": 10.0, "flow": "replay"}


def run(env, action, seed=2, **options):
    env.reset(seed=seed, options={"start_index": env.start_range[0] + 500, **options})
    decisions, done = [], False
    while not done:
        _, _, done, truncated, info = env.step(action)
        assert not truncated
        decisions.append((info["decision"], info["filled"], len(env.sim.in_flight)))
    return decisions, env


def test_the_parent_is_done_at_the_first_decision_after_the_execution(lobster_dir):
    env = ImpactEnv(quantity=400, data_dir=lobster_dir, **SHORT)
    decisions, env = run(env, np.array([0, 10, 0], np.float32))  # 10 lots at market a step
    filled = [f for _, f, _ in decisions]
    assert filled[:3] == [10, 20, 30]  # the actor's slices during the execution
    assert filled[3] == 400 and filled[-1] == 400  # the rest at market, then nothing
    assert len(env.mid_samples) == 6 and env.n_decisions == 5


def test_the_twin_without_a_parent_sends_nothing_and_shares_the_market(lobster_dir):
    twin = ImpactEnv(quantity=0, max_quantity=400, data_dir=lobster_dir, **SHORT)
    _, twin = run(twin, np.array([0, 10, 0], np.float32))
    assert twin.sim.account(1).fills == [] and twin.filled == 0
    reacting = {**SHORT, "flow": "hawkes"}
    runs = [run(ImpactEnv(quantity=0, max_quantity=400, data_dir=lobster_dir, **reacting),
                np.array([0, 400, 0], np.float32), quantity=q)[1] for q in (0, 400)]
    assert runs[0].mid_samples[0] == runs[1].mid_samples[0]  # same start, same book
    impact = np.array(runs[1].mid_samples) - np.array(runs[0].mid_samples)
    assert impact[0] == 0 and impact[1:].min() > 0  # 400 lots bought at once lift the mid
    with pytest.raises(ValueError, match="whole multiples of step_s"):
        ImpactEnv(**{**SHORT, "decay_s": 15.0}, data_dir=lobster_dir)
    with pytest.raises(ValueError, match=r"options\['quantity'\] must be in"):
        twin.reset(seed=0, options={"quantity": 401})
