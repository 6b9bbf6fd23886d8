"""Golden trajectories of ``MarS-Execution-v0``: recorded once, compared after every change.

A trajectory is a whole episode under a seeded random policy: observations, rewards, episode
ends and the numeric info. ``python -m tests.mars_gym.envs.golden`` (from the repository root)
records every case of :data:`CASES` into ``tests/mars_gym/envs/golden/``; the test compares
a fresh run against them. The model-free flows are stored (their draws are numpy's, the same
on any machine); the LMM flows are compared the same way on the machine that recorded them
(``--lmm`` records them into a folder given with ``--out``), as torch's kernels may differ
between CPUs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
SHORT = {"horizon_s": 60.0, "step_s": 10.0}
CASES = {
    "amzn_replay_ratio": {"source": "AMZN", "flow": "replay", "side": "both",
                          "quantity": [200, 500], **SHORT},
    "amzn_noise_ratio": {"source": "AMZN", "flow": "noise", "side": "both",
                         "quantity": [200, 500], **SHORT},
    "amzn_hawkes_ratio": {"source": "AMZN", "flow": "hawkes", "side": "both",
                          "quantity": [200, 500], **SHORT},
    "amzn_hawkes_lots_latency": {"source": "AMZN", "flow": "hawkes", "action_mode": "lots",
                                 "quantity": 400, "latency_sigma": 0.5, **SHORT},
    "aapl_noise_continuous": {"source": "AAPL", "flow": "noise", "continuous": True,
                              "side": "sell", **SHORT},
    "aapl_replay_no_ladder": {"source": "AAPL", "flow": "replay", "depth_ladder": False,
                              "quantity": 800, "unfilled_penalty_bps": 25.0, **SHORT},
}
LMM_CASES = {
    "amzn_lmm_ratio": {"source": "AMZN", "flow": "lmm", "side": "both", "quantity": 300,
                       **SHORT},
    "amzn_ensemble_lots": {"source": "AMZN", "flow": "ensemble", "action_mode": "lots",
                           "quantity": 300, **SHORT},
}
SEEDS = (0, 1)
INFO_KEYS = ("filled", "fill_rate", "average_price", "arrival_mid",
             "implementation_shortfall_bps", "price_advantage_vs_twap_bps", "market_vwap",
             "slippage_vs_vwap_bps", "market_volume", "side", "quantity", "time_ns",
             "decision")


def trajectory(kwargs: dict, seed: int, data_dir=None) -> dict[str, np.ndarray]:
    """One episode of ``MarS-Execution-v0`` made with ``kwargs``, under random actions drawn
    from the action space seeded with ``seed``; arrays per step (the reset's first)."""
    import gymnasium as gym

    import mars_gym  # noqa: F401  (registers the envs)

    env = gym.make("MarS-Execution-v0", data_dir=data_dir, **kwargs).unwrapped
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    observations, rewards, ends, infos = [obs], [0.0], [(False, False)], [info]
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        observations.append(obs)
        rewards.append(reward)
        ends.append((terminated, truncated))
        infos.append(info)
        done = terminated or truncated
    record = {"observations": np.array(observations), "rewards": np.array(rewards),
              "ends": np.array(ends)}
    for key in INFO_KEYS:  # None (not defined yet) stored as nan
        record[f"info_{key}"] = np.array([np.nan if i[key] is None else i[key] for i in infos],
                                         dtype=np.float64)
    return record


def path_of(name: str, seed: int, folder: Path = GOLDEN_DIR) -> Path:
    return folder / f"{name}_s{seed}.npz"


def record(cases: dict, folder: Path, data_dir=None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, kwargs in cases.items():
        for seed in SEEDS:
            np.savez(path_of(name, seed, folder), **trajectory(kwargs, seed, data_dir))
            print("recorded", name, seed)


def compare(cases: dict, folder: Path, data_dir=None) -> list[str]:
    """Names of the recorded trajectories a fresh run no longer reproduces exactly."""
    differing = []
    for name, kwargs in cases.items():
        for seed in SEEDS:
            fresh = trajectory(kwargs, seed, data_dir)
            with np.load(path_of(name, seed, folder)) as saved:
                same = set(saved.files) == set(fresh) and all(
                    saved[k].shape == fresh[k].shape
                    and np.array_equal(saved[k], fresh[k], equal_nan=True) for k in saved.files)
            if not same:
                differing.append(f"{name}_s{seed}")
    return differing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lmm", action="store_true", help="the LMM cases instead")
    parser.add_argument("--out", type=Path, default=GOLDEN_DIR)
    parser.add_argument("--compare", action="store_true", help="compare instead of recording")
    args = parser.parse_args(argv)
    cases = LMM_CASES if args.lmm else CASES
    if args.compare:
        differing = compare(cases, args.out)
        print("differing:", differing or "none")
        return 1 if differing else 0
    record(cases, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
