"""The argument parsers of ``mars-gym train``, ``mars-gym leaderboard`` and ``mars-gym
market-making``.

Importing nothing heavy (no stable-baselines3, torch or scipy), so that ``--help`` and a usage
error answer before the command's module is loaded; each command's ``main`` parses with them.
Every option is a field of the command's dataclass in :mod:`agents.recipes`, its default read
from there; :func:`~mars_gym.apps.parsers.config_from_arguments` turns the parsed arguments back
into it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.recipes import LEADERBOARD_FLOWS, AgentTraining, LeaderboardConfig, MarketMakingBoard
from agents.saved import ALGOS
from mars_gym.apps.parsers import (
    STUDY_FLOWS,
    DefaultsInHelp,
    add_data_dir,
    add_out,
    add_progress,
    add_ray_options,
    add_seed,
    add_source,
    existing_file,
    first_paragraph,
    module_doc,
)

COSTS = {  # what a run costs at the defaults (its size), the last line of each command's --help
    "train": f"{AgentTraining().timesteps:,} timesteps over {AgentTraining().num_envs} envs on "
             f"the {AgentTraining().flow} flow, with validations",
    "leaderboard": "every baseline over the test protocol's starts, parent sizes and sides, "
                   "under each flow of --flows",
    "market-making": "every maker baseline over the maker protocol's starts, under each flow "
                     "of --flows",
}


def _command(name: str, module: str) -> argparse.ArgumentParser:
    """A parser named ``mars-gym NAME`` described by the first paragraph of ``module``'s
    docstring, each option's default at the end of its help."""
    return argparse.ArgumentParser(prog=f"mars-gym {name}",
                                   description=first_paragraph(module_doc(module)),
                                   epilog=f"cost at the defaults: {COSTS[name]}",
                                   formatter_class=DefaultsInHelp)


def train() -> argparse.ArgumentParser:
    """``mars-gym train``: the fields of :class:`~agents.recipes.AgentTraining`."""
    parser = _command("train", "agents.train")
    d = AgentTraining()
    parser.add_argument("--algo", choices=ALGOS, default=d.algo,
                        help="the stable-baselines3 algorithm")
    parser.add_argument("--flow", choices=STUDY_FLOWS, default=d.flow,
                        help="the background flow trained against")
    parser.add_argument("--timesteps", type=int, default=d.timesteps,
                        help="environment steps of the training")
    parser.add_argument("--num-envs", type=int, default=d.num_envs,
                        help="training envs stepped together")
    add_seed(parser, d.seed, "seed of the model and of the training envs")
    add_out(parser, d.out, "run directory")
    parser.add_argument("--eval-every", type=int, default=d.eval_every,
                        help="timesteps between validation runs")
    parser.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every,
                        help="timesteps between checkpoints")
    parser.add_argument("--eval-envs", type=int, default=d.eval_envs,
                        help="envs of a validation run")
    add_data_dir(parser, d.data_dir)
    add_progress(parser, d.progress)
    add_ray_options(parser, "collect the rollouts on Ray workers, the envs split between them")
    return parser


def leaderboard() -> argparse.ArgumentParser:
    """``mars-gym leaderboard``: the fields of :class:`~agents.recipes.LeaderboardConfig`."""
    parser = _command("leaderboard", "agents.leaderboard")
    d = LeaderboardConfig()
    parser.add_argument("--flows", nargs="+", choices=LEADERBOARD_FLOWS, default=list(d.flows),
                        help="the background flows, one table each")
    parser.add_argument("--agents", type=Path, default=d.agents,
                        help="directory of saved SB3 agents (*.zip with .json sidecars; "
                             "default: none, the baselines only)")
    parser.add_argument("--trust-agent", type=existing_file, action="append",
                        default=list(d.trust_agent),
                        metavar="PATH", help="load this agent zip although it is not listed "
                        "in its folder's SHA256SUMS (loading an SB3 zip runs code stored in it)")
    add_source(parser, d.source, "a name or the path of a LOBSTER message file (default: the "
                                 "test protocol's)")
    parser.add_argument("--n-starts", type=int, default=d.n_starts,
                        help="start times of the protocol (default: the test protocol's; "
                             "smaller: a quicker, rougher table)")
    parser.add_argument("--num-envs", type=int, default=d.num_envs,
                        help="envs of an evaluation, stepped together")
    parser.add_argument("--out", "--out-dir", dest="out_dir", metavar="OUT", type=Path,
                        default=d.out_dir,
                        help="folder of LEADERBOARD.md and leaderboard.json")
    add_data_dir(parser, d.data_dir)
    parser.add_argument("--cache", type=Path, default=d.cache,
                        help="reuse (and store) evaluations in this folder")
    parser.add_argument("--only", nargs="+", default=d.only,
                        help="evaluate only the policies of these names")
    add_ray_options(parser)
    return parser


def market_making() -> argparse.ArgumentParser:
    """``mars-gym market-making``: the fields of :class:`~agents.recipes.MarketMakingBoard`."""
    parser = _command("market-making", "agents.market_making")
    d = MarketMakingBoard()
    parser.add_argument("--flows", nargs="+", default=list(d.flows),
                        help="the background flows to evaluate under")
    parser.add_argument("--n-starts", type=int, default=d.n_starts,
                        help="start times of the protocol (default: the maker protocol's)")
    add_source(parser, d.source, "the source quoted on (default: the maker protocol's)")
    parser.add_argument("--agents", type=Path, default=d.agents,
                        help="folder of saved SB3 makers (*.zip listed in its SHA256SUMS; "
                             "default: none, the baselines only)")
    add_out(parser, d.out, "folder of leaderboard.md and leaderboard.json")
    add_data_dir(parser, d.data_dir)
    return parser
