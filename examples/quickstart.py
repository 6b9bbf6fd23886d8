"""Quickstart: execute a parent order in MarS-Execution-v0 with the shipped LMM background.

The market is the embedded default one (``source="DEFAULT"``: generated, AAPL-like; no data
folder needed); pass ``--source AAPL`` (or a LOBSTER message file's path) for real data.

Runs a TWAP-like fixed policy (each decision posts its whole slice passively at the near touch;
what is left at the horizon goes at market) and a uniformly random policy for a few episodes
with the same seeds, and prints their execution metrics.

    python examples/quickstart.py [--episodes 3] [--flow lmm] [--quantity 2000]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import mars_gym  # noqa: F401  registers the environments


def run(env: gym.Env, policy, seed: int) -> dict:
    obs, info = env.reset(seed=seed)
    total = 0.0
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        total += reward
        if terminated or truncated:
            return {**info, "reward": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--flow", default="lmm", choices=["lmm", "replay", "noise", "hawkes"])
    parser.add_argument("--quantity", type=int, default=2_000)
    parser.add_argument("--side", default="buy", choices=["buy", "sell"])
    parser.add_argument("--source", default="DEFAULT",
                        help="a source name or a LOBSTER message file's path")
    args = parser.parse_args()
    env = gym.make("MarS-Execution-v0", flow=args.flow, quantity=args.quantity, side=args.side,
                   source=args.source, split="test")
    rng = np.random.default_rng(0)
    policies = {
        "TWAP (passive slices)": lambda obs: np.array([10, 0]),
        "random": lambda obs: np.array([rng.integers(11), rng.integers(6)]),
    }
    print(f"MarS-Execution-v0: {args.side} {args.quantity} lots of {args.source} in 5 minutes, "
          f"{args.flow} background, {args.episodes} episodes per policy\n")
    rows_by_policy = {}
    for name, policy in policies.items():
        rows = []
        for seed in range(args.episodes):
            started = time.perf_counter()
            rows.append(run(env, policy, seed))
            print(f"  {name}: episode {seed + 1}/{args.episodes} done in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
        rows_by_policy[name] = rows
    print(f"\n{'policy':24s} {'reward':>8s} {'IS bps':>8s} {'PA vs TWAP':>11s} {'fill rate':>10s}")
    for name, rows in rows_by_policy.items():
        mean = {k: float(np.mean([r[k] for r in rows])) for k in
                ("reward", "implementation_shortfall_bps", "price_advantage_vs_twap_bps",
                 "fill_rate")}
        print(f"{name:24s} {mean['reward']:8.2f} {mean['implementation_shortfall_bps']:8.2f} "
              f"{mean['price_advantage_vs_twap_bps']:11.2f} {mean['fill_rate']:10.2f}")


if __name__ == "__main__":
    main()
