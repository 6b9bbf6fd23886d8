"""stable-baselines3 view of a vector env: ``SB3VecEnv(gym.make_vec("MarS-Execution-v0", ...))``
(any task on a market scenario: ``MarS-MarketMaking-v0`` too).

SB3 resets a finished environment inside the same step and hands back its last observation as
``info["terminal_observation"]`` (and ``TimeLimit.truncated``); this adapter does exactly that
on top of :class:`~mars_gym.envs.vector.ScenarioVectorEnv`, whose own finished episodes would
otherwise wait for the next step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from mars_gym.envs.vector import ScenarioVectorEnv


class SB3VecEnv(VecEnv):
    def __init__(self, vector_env: ScenarioVectorEnv) -> None:
        self.vector = vector_env
        super().__init__(vector_env.num_envs, vector_env.single_observation_space,
                         vector_env.single_action_space)
        self._actions: np.ndarray | None = None
        self._seed: int | None = None

    def reset(self) -> np.ndarray:
        obs, _ = self.vector.reset(seed=self._seed)
        self._seed = None
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        obs, rewards, terminated, truncated, info = self.vector.step(self._actions)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for key, values in info.items():
            if not key.startswith("_"):
                for i in np.flatnonzero(info.get(f"_{key}", np.ones(self.num_envs, bool))):
                    infos[i][key] = values[i]
        done = terminated | truncated
        for i in np.flatnonzero(done):  # SB3 resets at once and keeps the last observation
            infos[i]["terminal_observation"] = obs[i]
            infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            obs[i], _ = self.vector.envs[i].reset()
        self.vector.autoreset[:] = False
        return obs, rewards.astype(np.float32), done, infos

    def seed(self, seed: int | None = None):
        self._seed = seed
        return [None if seed is None else seed + i for i in range(self.num_envs)]

    def close(self) -> None:
        self.vector.close()

    def get_attr(self, attr_name: str, indices=None):
        return [getattr(self.vector.envs[i], attr_name) for i in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        for i in self._get_indices(indices):
            setattr(self.vector.envs[i], attr_name, value)

    def env_method(self, method_name: str, *args, indices=None, **kwargs):
        return [getattr(self.vector.envs[i], method_name)(*args, **kwargs)
                for i in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False for _ in self._get_indices(indices)]
