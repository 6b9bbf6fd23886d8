"""Train a stable-baselines3 agent on ``MarS-Execution-v0``.

    python -m agents.train --algo ppo --flow lmm --timesteps 20000 --out runs/ppo
    mars-gym train --algo sac --flow hawkes --timesteps 5000

Episodes start in the **training** split of the protocol's source, with the protocol's parent
sizes and both sides drawn per episode; the batched vector env steps every simulation at once.
The run directory receives tensorboard logs (``tb/``), periodic checkpoints
(``checkpoints/``), the validation-best model (``best.zip``), the final model (``final.zip``),
each with a ``.json`` sidecar saying how it was trained, and ``validation.json`` (the
validation protocol's metrics at every evaluation). ``ppo`` and ``a2c`` act in the MarS
``MultiDiscrete`` space, ``sac`` in its ``Box`` form, ``dqn`` in the 66 flattened discrete
actions.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

try:
    from stable_baselines3.common.callbacks import (
        BaseCallback,
        CallbackList,
        CheckpointCallback,
    )
    from stable_baselines3.common.vec_env import VecEnvWrapper, VecMonitor
except ModuleNotFoundError as missing:  # python -m agents.train without the extra: one line
    if __name__ != "__main__" or (missing.name or "").split(".")[0] != "stable_baselines3":
        raise
    from mars_gym.apps.parsers import needs_extra

    sys.exit(needs_extra("python -m agents.train: error:", "agents"))
from tqdm.auto import tqdm

from agents import parsers
from agents.evaluation import VALIDATION_PROTOCOL, Protocol, evaluate, summarize
from agents.policies import SB3Policy, unflatten_actions
from agents.recipes import AgentTraining
from agents.saved import algorithm, save
from agents.sb3_env import SB3VecEnv
from agents.trust import check_manifest
from mars_gym.apps.parsers import config_from_arguments
from mars_gym.envs.actions import N_AGGRESSIVE_LEVELS, N_PASSIVE_RATIOS
from mars_gym.envs.vector import VectorExecutionEnv

log = logging.getLogger(__name__)


class FlatActions(VecEnvWrapper):
    """``Discrete(66)`` view of the ``MultiDiscrete([11, 6])`` action (for DQN)."""

    def __init__(self, venv) -> None:
        super().__init__(venv, action_space=spaces.Discrete(N_PASSIVE_RATIOS
                                                            * N_AGGRESSIVE_LEVELS))

    def step_async(self, actions: np.ndarray) -> None:
        self.venv.step_async(unflatten_actions(actions))

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        return self.venv.step_wait()


def make_training_env(algo: str, flow: str, num_envs: int, seed: int,
                      protocol: Protocol = VALIDATION_PROTOCOL, data_dir=None,
                      ray: str | None = None, workers: int | None = None):
    """The SB3 vector env on the training split with the protocol's sizes and both sides; with
    ``ray``, its envs are shards on Ray workers (:class:`~agents.sb3_ray.RayVecEnv`:
    the same rollouts)."""
    kwargs = {**protocol.env_kwargs(data_dir), "split": "train", "continuous": algo == "sac"}
    make_shard = partial(_execution_envs, flow, kwargs)
    if ray is None:
        env = make_shard(num_envs)
    else:
        from agents.sb3_ray import RayVecEnv

        env = RayVecEnv(make_shard, num_envs, ray, workers)
    env.seed(seed)
    env = VecMonitor(env)
    return FlatActions(env) if algo == "dqn" else env


def _execution_envs(flow: str, kwargs: dict[str, Any], num_envs: int) -> SB3VecEnv:
    return SB3VecEnv(VectorExecutionEnv(num_envs=num_envs, flow=flow, **kwargs))


class TqdmCallback(BaseCallback):
    """A progress bar over the training timesteps."""

    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total

    def _on_training_start(self) -> None:
        self.bar = tqdm(total=self.total, desc="training", unit="step")

    def _on_step(self) -> bool:
        self.bar.update(self.num_timesteps - self.bar.n)
        return True

    def _on_training_end(self) -> None:
        self.bar.close()


class ValidationCallback(BaseCallback):
    """Every ``every`` timesteps: run the validation protocol, log its metrics to tensorboard,
    keep the model with the best mean price advantage vs. TWAP as ``best.zip``."""

    def __init__(self, every: int, flow: str, out: Path, meta: dict, protocol: Protocol,
                 num_envs: int, data_dir=None) -> None:
        super().__init__()
        self.every, self.flow, self.out, self.meta = every, flow, out, meta
        self.protocol, self.num_envs, self.data_dir = protocol, num_envs, data_dir
        self.best = -np.inf
        self.history: list[dict] = []
        self.last = 0

    def _on_step(self) -> bool:
        if self.num_timesteps - self.last >= self.every:
            self.last = self.num_timesteps
            self.validate()
        return True

    def _on_training_end(self) -> None:
        if self.last != self.num_timesteps:
            self.validate()

    def validate(self) -> None:
        rows = evaluate(SB3Policy(self.model), self.flow, self.protocol, self.num_envs,
                        self.data_dir, progress=False)
        summary = summarize(rows)
        for metric, values in summary.items():
            self.logger.record(f"validation/{metric}", values["mean"])
        self.logger.dump(self.num_timesteps)
        score = summary["price_advantage_vs_twap_bps"]["mean"]
        self.history.append({"timesteps": self.num_timesteps, **summary})
        (self.out / "validation.json").write_text(json.dumps(self.history, indent=1))
        log.info("validation at %d steps: price advantage vs TWAP %.3f bps",
                 self.num_timesteps, score)
        if score > self.best:
            self.best = score
            save(self.model, self.out / "best.zip",
                 {**self.meta, "timesteps": self.num_timesteps, "validation": summary})


def algo_kwargs(algo: str, num_envs: int) -> dict[str, Any]:
    """Defaults sized for 10-decision episodes and a few thousand to 100k steps."""
    if algo == "ppo":
        return {"n_steps": max(8, 1024 // num_envs), "batch_size": 256, "n_epochs": 10,
                "gamma": 0.99, "learning_rate": 3e-4, "ent_coef": 0.01}
    if algo == "a2c":
        return {"n_steps": 10, "gamma": 0.99}
    if algo == "dqn":
        return {"learning_starts": 500, "buffer_size": 50_000, "train_freq": 1,
                "target_update_interval": 500, "exploration_fraction": 0.3}
    return {"learning_starts": 500, "buffer_size": 50_000, "batch_size": 256}


def train(config: AgentTraining, validation: Protocol = VALIDATION_PROTOCOL,
          **overrides: Any):
    """Train ``config.algo`` against ``config.flow``, choosing the best model on
    ``validation``; ``overrides`` replace the algorithm's hyperparameters (:func:`algo_kwargs`).
    Returns the final model (see the module docstring)."""
    c = config
    if c.timesteps <= 0 or c.num_envs <= 0:
        raise ValueError("timesteps and num_envs must be positive")
    model_class = algorithm(c.algo)
    out = Path(c.out)
    check_manifest(out)  # the agents saved there are listed in it: fail now, not after training
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    env = make_training_env(c.algo, c.flow, c.num_envs, c.seed, validation, c.data_dir, c.ray,
                            c.workers)
    hyperparameters = {**algo_kwargs(c.algo, c.num_envs), **overrides}
    model = model_class("MlpPolicy", env, seed=c.seed, verbose=0, device="cpu",
                        tensorboard_log=str(out / "tb"), **hyperparameters)
    meta = {"algo": c.algo, "flow": c.flow, "source": validation.source, "seed": c.seed,
            "num_envs": c.num_envs, "hyperparameters": hyperparameters}
    callbacks = [CheckpointCallback(max(c.checkpoint_every // c.num_envs, 1),
                                    str(out / "checkpoints"), name_prefix=c.algo),
                 ValidationCallback(c.eval_every, c.flow, out, meta, validation, c.eval_envs,
                                    c.data_dir)]
    if c.progress:
        callbacks.append(TqdmCallback(c.timesteps))
    started = time.perf_counter()
    model.learn(total_timesteps=c.timesteps, callback=CallbackList(callbacks),
                tb_log_name=c.algo)
    save(model, out / "final.zip", {**meta, "timesteps": model.num_timesteps,
                                    "train_seconds": time.perf_counter() - started})
    env.close()
    return model


def main(argv: list[str] | None = None) -> None:
    args = parsers.train().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = config_from_arguments(AgentTraining, args)
    train(config)
    print(f"saved {config.out / 'final.zip'} and the validation-best "
          f"{config.out / 'best.zip'}")


if __name__ == "__main__":
    main()
