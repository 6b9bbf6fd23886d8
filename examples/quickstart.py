"""Quickstart: execute a parent order in MarS-Execution-v0 with the shipped LMM background.

Three policies execute the same parent order over the same episodes (same seeds, so the same
start and the same random numbers of the background): TWAP (each decision posts its slice
passively at the near touch; what is left at the horizon goes at market), "all at market" (the
whole order crosses at the first decision) and a uniformly random policy. All episodes run at
once in one vector env: the LMM draws the next order of every simulation in one batched forward
pass. The market is the embedded default one (``source="DEFAULT"``: generated, AAPL-like; no
data folder needed); pass ``--source AAPL`` (or an order-flow file's path) for real data.

    python examples/quickstart.py [--episodes 4] [--flow lmm] [--quantity 2000]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
from scipy import stats

import mars_gym  # noqa: F401  registers the environments

POLICIES = {  # name -> action (passive tenths of the slice, opposite levels to cross)
    "TWAP (passive slices)": lambda rng: np.array([10, 0]),
    "all at market": lambda rng: np.array([0, 5]),
    "random": lambda rng: np.array([rng.integers(11), rng.integers(6)]),
}
METRICS = ("reward", "implementation_shortfall_bps", "fill_rate")


def interval(values: np.ndarray) -> str:
    """Mean and 95 % t-interval, as text."""
    mean = float(np.mean(values))
    if len(values) < 2:
        return f"{mean:8.2f}"
    half = stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values))
    return f"{mean:8.2f} [{mean - half:7.2f}, {mean + half:7.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=4, help="episodes per policy")
    parser.add_argument("--flow", default="lmm", choices=["lmm", "replay", "noise", "hawkes"])
    parser.add_argument("--quantity", type=int, default=2_000)
    parser.add_argument("--horizon-s", type=float, default=300.0,
                        help="seconds to execute the order in (a decision every 30 s)")
    parser.add_argument("--side", default="buy", choices=["buy", "sell"])
    parser.add_argument("--source", default="DEFAULT",
                        help="a source name or the path of an order-flow file")
    args = parser.parse_args()
    names = list(POLICIES)
    episodes = [{"seed": seed, "policy": name} for name in names for seed in range(args.episodes)]
    envs = gym.make_vec("MarS-Execution-v0", num_envs=len(episodes), flow=args.flow,
                        quantity=args.quantity, side=args.side, source=args.source,
                        horizon_s=args.horizon_s, split="test")
    decisions = envs.envs[0].n_decisions
    print(f"MarS-Execution-v0: {args.side} {args.quantity} lots of {args.source} in "
          f"{args.horizon_s:g} s "
          f"({decisions} decisions), {args.flow} background; {len(names)} policies x "
          f"{args.episodes} episodes, run at once", flush=True)
    started = time.perf_counter()
    queue = iter(episodes)  # play() resets the envs in this order

    def make_actor(env):
        episode = next(queue)
        policy, reporter = POLICIES[episode["policy"]], env is envs.envs[0]
        # its own random numbers: the actions do not depend on the order decisions come in
        rng = np.random.default_rng(episode["seed"])

        def act(obs, info):
            if reporter and env.decision:  # a TWAP episode: it runs every decision
                print(f"  decision {env.decision}/{decisions} done, "
                      f"{time.perf_counter() - started:.0f} s", flush=True)
            return policy(rng)
        return act

    results = {name: {metric: [] for metric in METRICS} for name in names}
    for _, episode, _, info, total in envs.play(episodes, make_actor):
        row = results[episode["policy"]]
        row["reward"].append(total)
        row["implementation_shortfall_bps"].append(info["implementation_shortfall_bps"])
        row["fill_rate"].append(info["fill_rate"])
    print(f"  all {len(episodes)} episodes done, {time.perf_counter() - started:.0f} s")
    print(f"\n{'policy':24s} {'reward [95 % interval]':>27s} {'IS bps [95 % interval]':>27s} "
          f"{'fill':>5s}")
    for name, row in results.items():
        cells = [interval(np.asarray(row[metric], dtype=float)) for metric in METRICS[:2]]
        print(f"{name:24s} {cells[0]:>27s} {cells[1]:>27s} {np.mean(row['fill_rate']):5.2f}")
    print("\nreward: the fills' price advantage over the arrival mid in bps, weighted by the "
          "filled share, minus a penalty for what is left (higher is better); IS: "
          "implementation shortfall in bps (lower is better). Same seeds for every policy.")


if __name__ == "__main__":
    main()
