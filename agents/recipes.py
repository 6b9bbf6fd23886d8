"""The settings of the agents' commands, importable without torch, stable-baselines3 or scipy
(their parsers, :mod:`agents.parsers`, read their defaults from here).

* :class:`AgentTraining`: one SB3 training run (:func:`agents.train.train`, ``mars-gym train``);
* :class:`LeaderboardConfig`: the execution leaderboard (:func:`agents.leaderboard.write`,
  ``mars-gym leaderboard``);
* :class:`MarketMakingBoard`: the market-making leaderboard (:func:`agents.market_making.write`,
  ``mars-gym market-making``).

Each dataclass's defaults are what the command does with no arguments; every option overrides
one field (:func:`mars_gym.apps.parsers.config_from_arguments`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEADERBOARD_FLOWS = ("lmm", "hawkes", "replay")  # the background flows of both leaderboards


@dataclass(frozen=True)
class AgentTraining:
    """One training run of an SB3 execution agent; the validation protocol and the algorithm's
    hyperparameters are :func:`agents.train.train`'s other arguments."""

    algo: str = "ppo"             # one of agents.saved.ALGOS
    flow: str = "lmm"             # the background flow trained against
    timesteps: int = 20_000
    num_envs: int = 16            # training envs stepped together
    seed: int = 0
    out: Path = Path("runs/agent")  # run directory
    eval_every: int = 5_000       # timesteps between validation runs
    checkpoint_every: int = 10_000  # timesteps between checkpoints
    eval_envs: int = 24           # envs of a validation run
    data_dir: str | Path | None = None  # the shared data folder (None: $MARS_GYM_DATA or default)
    progress: bool = True         # a progress bar over the timesteps
    ray: str | None = None        # collect the rollouts on this Ray (None: in this process)
    workers: int | None = None    # with ray: how many workers (None: one per core)


@dataclass(frozen=True)
class LeaderboardConfig:
    """One execution leaderboard: the baselines and a folder's saved agents on the test
    protocol (:data:`agents.evaluation.TEST_PROTOCOL`), per background flow."""

    flows: tuple[str, ...] = LEADERBOARD_FLOWS
    agents: Path | None = None    # folder of saved SB3 agents (None: the baselines only)
    trust_agent: tuple[Path, ...] = ()  # zips loaded although their folder's SHA256SUMS lacks them
    source: str | None = None     # a name or a LOBSTER message file (None: the protocol's)
    n_starts: int | None = None   # start times of the protocol (None: the protocol's)
    num_envs: int = 36            # envs of an evaluation
    out_dir: Path = Path("leaderboard")  # folder of LEADERBOARD.md and leaderboard.json
    data_dir: str | Path | None = None
    cache: Path | None = None     # reuse (and store) evaluations in this folder
    only: tuple[str, ...] | None = None  # evaluate only the policies of these names (and TWAPs)
    ray: str | None = None        # share the evaluations out over this Ray
    workers: int | None = None


@dataclass(frozen=True)
class MarketMakingBoard:
    """One market-making leaderboard: the baselines and a folder's saved makers on the maker
    protocol (:data:`agents.market_making.MAKER_PROTOCOL`), per background flow."""

    flows: tuple[str, ...] = LEADERBOARD_FLOWS
    n_starts: int | None = None   # start times of the protocol (None: the protocol's)
    source: str | None = None     # the source quoted on (None: the protocol's)
    agents: Path | None = None    # folder of saved SB3 makers (None: the baselines only)
    out: Path = Path("market_making")  # folder of leaderboard.md and leaderboard.json
    data_dir: str | Path | None = None


def chosen(**settings: Any) -> dict[str, Any]:
    """The settings given (not None): what replaces a protocol's own."""
    return {name: value for name, value in settings.items() if value is not None}
