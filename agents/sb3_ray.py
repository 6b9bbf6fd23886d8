"""stable-baselines3 rollouts collected on Ray: a ``VecEnv`` whose envs are shards on Ray actors.

``RayVecEnv(make_shard, num_envs, ray="local")`` cuts ``num_envs`` into one contiguous shard per
worker; each actor builds its shard with ``make_shard(n)`` — an SB3 ``VecEnv`` of ``n`` envs,
e.g. :class:`~agents.sb3_env.SB3VecEnv` over a vector env, which for the LMM flow means one
batched generator per shard — and steps it when the learner steps. Env ``i`` gets seed
``seed + i`` wherever its shard runs, so the rollouts equal those of one ``make_shard(num_envs)``
in this process (the LMM's draws are keyed by stream, not by batch). ``ray`` is ``"local"`` (a
Ray on this machine, bound to the loopback interface) or a cluster's address, as for the
studies' ``--ray`` (:mod:`mars_gym.parallel`). Ray is the ``serve`` extra.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from mars_gym.parallel import ray_workers, split_runs


class _Shard:
    """The envs of one actor (a Ray actor class is made from it on demand)."""

    def __init__(self, make_shard: Callable[[int], VecEnv], n_envs: int) -> None:
        self.env = make_shard(n_envs)

    def spaces(self):
        return self.env.observation_space, self.env.action_space

    def reset(self, seed: int | None):
        if seed is not None:
            self.env.seed(seed)
        return self.env.reset()

    def step(self, actions: np.ndarray):
        self.env.step_async(actions)
        return self.env.step_wait()

    def call(self, method: str, *args, **kwargs):
        return getattr(self.env, method)(*args, **kwargs)


class RayVecEnv(VecEnv):
    """An SB3 vector env over Ray actors (see the module docstring)."""

    def __init__(self, make_shard: Callable[[int], VecEnv], num_envs: int, ray: str,
                 workers: int | None = None) -> None:
        import ray as ray_module

        self.ray = ray_module
        self.shards = split_runs(num_envs, ray_workers(ray, workers))
        actor: Any = ray_module.remote(num_cpus=1)(_Shard)
        self.actors: list[Any] = [actor.remote(make_shard, len(shard)) for shard in self.shards]
        observation_space, action_space = ray_module.get(self.actors[0].spaces.remote())
        super().__init__(num_envs, observation_space, action_space)
        self._seed: int | None = None
        self._waiting: list = []

    def reset(self) -> np.ndarray:
        seeds = [None if self._seed is None else self._seed + shard.start
                 for shard in self.shards]
        self._seed = None
        return np.concatenate(self.ray.get([actor.reset.remote(seed)
                                            for actor, seed in zip(self.actors, seeds,
                                                                   strict=True)]))

    def step_async(self, actions: np.ndarray) -> None:
        actions = np.asarray(actions)
        self._waiting = [actor.step.remote(actions[shard.start:shard.stop])
                         for actor, shard in zip(self.actors, self.shards, strict=True)]

    def step_wait(self):
        parts = self.ray.get(self._waiting)
        self._waiting = []
        observations, rewards, dones, infos = zip(*parts, strict=True)
        return (np.concatenate(observations), np.concatenate(rewards), np.concatenate(dones),
                [info for shard_infos in infos for info in shard_infos])

    def seed(self, seed: int | None = None):
        self._seed = seed
        return [None if seed is None else seed + i for i in range(self.num_envs)]

    def close(self) -> None:
        self.ray.get([actor.call.remote("close") for actor in self.actors])
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []

    def _by_shard(self, indices) -> list[tuple[int, list[int]]]:
        """``(shard, local indices)`` of the global ``indices``, in shard order."""
        wanted = set(self._get_indices(indices))
        return [(k, [i - shard.start for i in shard if i in wanted])
                for k, shard in enumerate(self.shards) if wanted.intersection(shard)]

    def _per_shard(self, method: str, indices, *args, **kwargs) -> list[Any]:
        """Each concerned shard's answer to ``method(*args, indices=local, **kwargs)``."""
        return self.ray.get([self.actors[k].call.remote(method, *args, indices=local, **kwargs)
                             for k, local in self._by_shard(indices)])

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [v for values in self._per_shard("get_attr", indices, attr_name) for v in values]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        self._per_shard("set_attr", indices, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs
                   ) -> list[Any]:
        return [v for values in self._per_shard("env_method", indices, method_name,
                                                *method_args, **method_kwargs) for v in values]

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [v for values in self._per_shard("env_is_wrapped", indices, wrapper_class)
                for v in values]
