"""The argument parsers of ``mars-gym train``, ``mars-gym leaderboard`` and ``mars-gym
market-making``.

Importing nothing heavy (no stable-baselines3, torch or scipy), so that ``--help`` and a usage
error answer before the command's module is loaded; each command's ``main`` parses with them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.saved import ALGOS
from mars_gym.apps.parsers import (
    DATA_DIR_HELP,
    STUDY_FLOWS,
    add_ray_options,
    first_paragraph,
    module_doc,
)

LEADERBOARD_FLOWS = ("lmm", "hawkes", "replay")


def train() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mars-gym train",
                                     description=first_paragraph(module_doc("agents.train")))
    parser.add_argument("--algo", choices=ALGOS, default="ppo")
    parser.add_argument("--flow", choices=STUDY_FLOWS, default="lmm",
                        help="the background flow trained against")
    parser.add_argument("--timesteps", type=int, default=20_000)
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/agent", help="run directory")
    parser.add_argument("--eval-every", type=int, default=5_000,
                        help="timesteps between validation runs")
    parser.add_argument("--checkpoint-every", type=int, default=10_000)
    parser.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    parser.add_argument("--no-progress", action="store_true")
    add_ray_options(parser, "collect the rollouts on Ray workers, the envs split between them")
    return parser


def leaderboard() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mars-gym leaderboard",
        description=first_paragraph(module_doc("agents.leaderboard")))
    parser.add_argument("--flows", nargs="+", choices=LEADERBOARD_FLOWS,
                        default=list(LEADERBOARD_FLOWS))
    parser.add_argument("--agents", type=Path, default=None,
                        help="directory of saved SB3 agents (*.zip with .json sidecars; "
                             "default: none, the baselines only)")
    parser.add_argument("--trust-agent", type=Path, action="append", default=[],
                        metavar="PATH", help="load this agent zip although it is not listed "
                        "in its folder's SHA256SUMS (loading an SB3 zip runs code stored in it)")
    parser.add_argument("--source", default=None,
                        help="a name or the path of a LOBSTER message file (default: the test "
                             "protocol's)")
    parser.add_argument("--n-starts", type=int, default=None,
                        help="start times of the protocol (default: the test protocol's; "
                             "smaller: a quicker, rougher table)")
    parser.add_argument("--num-envs", type=int, default=36)
    parser.add_argument("--out-dir", type=Path, default=Path("leaderboard"),
                        help="folder of LEADERBOARD.md and leaderboard.json")
    parser.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    parser.add_argument("--cache", type=Path, default=None,
                        help="reuse (and store) evaluations in this folder")
    parser.add_argument("--only", nargs="+", default=None,
                        help="evaluate only the policies of these names")
    add_ray_options(parser)
    return parser


def market_making() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mars-gym market-making",
        description=first_paragraph(module_doc("agents.market_making")))
    parser.add_argument("--flows", nargs="+", default=list(LEADERBOARD_FLOWS),
                        help="the background flows to evaluate under")
    parser.add_argument("--n-starts", type=int, default=None,
                        help="start times of the protocol (default: the maker protocol's)")
    parser.add_argument("--source", default=None,
                        help="the source quoted on (default: the maker protocol's)")
    parser.add_argument("--agents", type=Path, default=None,
                        help="folder of saved SB3 makers (*.zip listed in its SHA256SUMS; "
                             "default: none, the baselines only)")
    parser.add_argument("--out", type=Path, default=Path("market_making"),
                        help="folder of leaderboard.md and leaderboard.json")
    parser.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    return parser
