"""Train a small PPO market maker on MarS-MarketMaking-v0 and score it against the fixed
symmetric quotes and Avellaneda–Stoikov on the test split (minutes on CPU).

    python examples/train_market_maker.py [--flow hawkes] [--timesteps 3000] [--n-starts 6]
        [--out benchmarks/agents/market_making/ppo_maker_hawkes.zip]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stable_baselines3 import PPO

from agents.market_making import (
    MAKER_PROTOCOL,
    AvellanedaStoikov,
    SB3Maker,
    SymmetricQuotes,
    evaluate_maker,
    maker_calibration,
    summarize_maker,
)
from agents.saved import save
from agents.sb3_env import SB3VecEnv
from mars_gym.envs.vector import VectorMarketMakingEnv

EPISODE = {"source": MAKER_PROTOCOL["source"], "horizon_s": MAKER_PROTOCOL["horizon_s"],
           "step_s": MAKER_PROTOCOL["step_s"]}  # the leaderboard's episodes


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flow", default="hawkes")
    parser.add_argument("--timesteps", type=int, default=3_000)
    parser.add_argument("--n-starts", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None,
                        help="save the trained maker here (a .zip; its folder's SHA256SUMS "
                             "lists it)")
    args = parser.parse_args(argv)
    train = SB3VecEnv(VectorMarketMakingEnv(num_envs=4, flow=args.flow, split="train",
                                            **EPISODE))
    model = PPO("MlpPolicy", train, n_steps=32, batch_size=64, seed=args.seed, verbose=0)
    model.learn(args.timesteps, progress_bar=False)
    train.close()
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        save(model, args.out, {"algo": "ppo", "env": "MarS-MarketMaking-v0", "flow": args.flow,
                               "timesteps": args.timesteps, "seed": args.seed, **EPISODE})
    protocol = {"n_starts": args.n_starts, **EPISODE}
    calibration = maker_calibration(EPISODE["source"])
    table = {}
    for policy in (SB3Maker(model, "ppo"), SymmetricQuotes(1.0), AvellanedaStoikov(calibration)):
        summary = summarize_maker(evaluate_maker(policy, args.flow, protocol))
        table[policy.name] = summary
        pnl = summary["pnl_per_quote"]
        print(f"{policy.name:28s} PnL per quote {pnl['mean']:8.2f} "
              f"[{pnl['ci95'][0]:.2f}, {pnl['ci95'][1]:.2f}]")
    return table


if __name__ == "__main__":
    main()
