"""A new task is a few lines on the parts, and the vector env batches it like the built-ins."""

from __future__ import annotations

import gymnasium as gym

from mars_gym.envs.base import ScenarioEnv
from mars_gym.envs.observations import Feature, ObservationSpec, touch_features
from mars_gym.envs.scenario import MarketScenario
from mars_gym.envs.vector import ScenarioVectorEnv
from mars_gym.sim.simulator import AGENT_MARKET, AgentOrder

OBS = ObservationSpec([Feature("spread_ticks", 0, 100, "spread in ticks"),
                       Feature("imbalance", -1, 1, "touch imbalance"),
                       Feature("time_left", 0, 1, "time left")])


class BuyOneLotOrWait(ScenarioEnv):
    """Each step: 1 buys one lot at market, 0 waits; no reward (a task a user might add)."""

    def __init__(self, flow="hawkes", source="AMZN", horizon_s=30.0, step_s=10.0, data_dir=None,
                 generator_service=None):
        self.step_ns, self.n = int(step_s * 1e9), round(horizon_s / step_s)
        self.scenario = MarketScenario(source, "test", self.n * self.step_ns, flow,
                                       data_dir=data_dir, generator_service=generator_service)
        self.action_space, self.observation_space = gym.spaces.Discrete(2), OBS.space

    def reset(self, *, seed=None, options=None):
        options, start = self.start_episode(seed, options)
        self.sim = self.scenario.begin(start, int(self.np_random.integers(2**31)))
        self.decision, self.done = 0, False
        return self._obs(), {}

    def plan(self, action):
        return int(action)

    def send_orders(self, buy):
        if buy:
            self.sim.submit(1, AgentOrder(AGENT_MARKET, 1, size=1))
        self.decision += 1
        self.target = self.sim.now + self.step_ns

    def finish_step(self):
        self.done = self.decision >= self.n
        return self._obs(), 0.0, self.done, False, {"filled": len(self.sim.account(1).fills)}

    def _obs(self):
        time_left = 1 - self.decision / self.n
        return OBS.vector({**touch_features(self.sim.book), "time_left": time_left})


class VectorBuyOneLotOrWait(ScenarioVectorEnv):
    env_class = BuyOneLotOrWait


def test_a_new_task_runs_alone_and_batched(lobster_dir):
    env = BuyOneLotOrWait(data_dir=lobster_dir)
    env.reset(seed=0)
    fills = [env.step(1)[4]["filled"] for _ in range(3)]
    assert fills == [1, 2, 3] and env.done
    vec = VectorBuyOneLotOrWait(num_envs=2, flow="lmm", data_dir=lobster_dir)
    episodes = [{"seed": s} for s in (0, 1)]
    ends = [(info["filled"], total) for _, _, _, info, total in
            vec.play(episodes, lambda env: lambda obs, info: 1)]
    assert ends == [(3, 0.0), (3, 0.0)] and vec.service is not None
    assert OBS.space.contains(env._obs())
