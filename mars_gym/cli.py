"""The ``mars-gym`` command: one sub-command per job, each a module with ``main(argv)``."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "replay": ("lob_core.replay", "replay a LOBSTER message file through lob_core and score it"),
    "realism": ("mars_gym.apps.realism", "score a generated LOBSTER stream against a real one"),
    "generate": ("mars_gym.apps.generate",
                 "write a window of any flow as LOBSTER files (ensemble: --target steers it)"),
    "train-lmm": ("mars_gym.lmm.train", "train the Large Market Model on the shared sources"),
    "serve": ("mars_gym.lmm.ray_serve", "serve LMM generation over Ray Serve (extra: serve)"),
    "forecast": ("mars_gym.apps.forecast", "score K generated futures against what happened"),
    "report": ("mars_gym.apps.report", "realism report of every flow against the test split"),
    "impact": ("mars_gym.apps.impact", "market impact curves and the square-root-law fit"),
    "train": ("agents.train", "train an SB3 execution agent (extra: agents)"),
    "leaderboard": ("agents.leaderboard", "evaluate baselines and saved agents on the protocol"),
    "batch-tokenizer": ("mars_gym.batch.tokenizer",
                        "train the VQ-VAE that turns minute order images into codes"),
    "batch-train": ("mars_gym.batch.train", "train the batch model over minutes of codes"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mars-gym",
        description="\n".join(f"{name:10s} {help_}" for name, (_, help_) in COMMANDS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the sub-command")
    args = parser.parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    return module.main(args.args)


if __name__ == "__main__":
    sys.exit(main())
