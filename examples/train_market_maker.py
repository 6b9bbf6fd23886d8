"""Train a small PPO market maker on MarS-MarketMaking-v0 and score it against the fixed
symmetric quotes and Avellaneda–Stoikov on the test split (minutes on CPU).

    python examples/train_market_maker.py [--flow hawkes] [--timesteps 3000] [--n-starts 6]
"""

from __future__ import annotations

import argparse

import numpy as np
from stable_baselines3 import PPO

from agents.market_making import (
    AvellanedaStoikov,
    MakerPolicy,
    SymmetricQuotes,
    evaluate_maker,
    maker_calibration,
    summarize_maker,
)
from mars_gym.envs.sb3 import SB3VecEnv
from mars_gym.envs.vector import VectorMarketMakingEnv

EPISODE = {"source": "AMZN", "horizon_s": 120.0, "step_s": 10.0}


class PPOMaker(MakerPolicy):
    def __init__(self, model: PPO) -> None:
        self.model, self.name = model, "ppo"

    def clone(self):
        return self  # the model is only read

    def act(self, observation, info):
        action, _ = self.model.predict(observation, deterministic=True)
        return np.asarray(action, dtype=np.float32)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flow", default="hawkes")
    parser.add_argument("--timesteps", type=int, default=3_000)
    parser.add_argument("--n-starts", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train = SB3VecEnv(VectorMarketMakingEnv(num_envs=4, flow=args.flow, split="train",
                                            **EPISODE))
    model = PPO("MlpPolicy", train, n_steps=32, batch_size=64, seed=args.seed, verbose=0)
    model.learn(args.timesteps, progress_bar=False)
    train.close()
    protocol = {"n_starts": args.n_starts, **EPISODE}
    calibration = maker_calibration(EPISODE["source"])
    table = {}
    for policy in (PPOMaker(model), SymmetricQuotes(1.0), AvellanedaStoikov(calibration)):
        summary = summarize_maker(evaluate_maker(policy, args.flow, protocol))
        table[policy.name] = summary
        pnl = summary["pnl_per_quote"]
        print(f"{policy.name:28s} PnL per quote {pnl['mean']:8.2f} "
              f"[{pnl['ci95'][0]:.2f}, {pnl['ci95'][1]:.2f}]")
    return table


if __name__ == "__main__":
    main()
