"""Train a PPO execution agent on MarS-Execution-v0 end to end, then score it against TWAP.

Small by default (a few minutes on a CPU): PPO on the shipped LMM background, episodes from the
AMZN training split, then the validation protocol for the agent and for TWAP, paired by episode.

    python examples/train_ppo.py [--flow lmm] [--timesteps 2048] [--out runs/ppo_example]
    tensorboard --logdir runs/ppo_example/tb
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.evaluation import VALIDATION_PROTOCOL, compare, evaluate, summarize
from agents.policies import TWAP, SB3Policy
from agents.recipes import AgentTraining
from agents.train import train

PA = "price_advantage_vs_twap_bps"


def main() -> None:
    d = AgentTraining()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow", default=d.flow, choices=["lmm", "replay", "noise", "hawkes"])
    parser.add_argument("--timesteps", type=int, default=2_048)
    parser.add_argument("--num-envs", type=int, default=d.num_envs)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--out", type=Path, default=Path("runs/ppo_example"))
    args = parser.parse_args()
    config = AgentTraining("ppo", args.flow, args.timesteps, args.num_envs, args.seed, args.out,
                           eval_every=args.timesteps)
    model = train(config, n_steps=max(8, 512 // args.num_envs), batch_size=128,
                  learning_rate=1e-3)
    agent = evaluate(SB3Policy(model, "ppo"), args.flow, VALIDATION_PROTOCOL)
    twap = evaluate(TWAP(), args.flow, VALIDATION_PROTOCOL)
    print(f"\nvalidation protocol, {args.flow} background, {len(agent)} episodes "
          f"(PA: price advantage vs. TWAP of the mid, bps, mean [95 % interval])")
    for name, rows in (("PPO", agent), ("TWAP", twap)):
        s = summarize(rows)[PA]
        print(f"  {name:5s} PA {s['mean']:+.2f} [{s['ci95'][0]:+.2f}, {s['ci95'][1]:+.2f}]")
    d = compare(agent, twap)
    print(f"  PPO - TWAP, paired: {d['mean']:+.2f} [{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]")


if __name__ == "__main__":
    main()
