"""The agents' commands: each option is a field of its recipe dataclass, no flags give the
recipe itself, a flag changes exactly its field, and ``--help`` shows every default."""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from agents import parsers
from agents.recipes import AgentTraining, LeaderboardConfig, MarketMakingBoard
from mars_gym.apps.parsers import config_from_arguments

COMMANDS = {"train": (parsers.train, AgentTraining),
            "leaderboard": (parsers.leaderboard, LeaderboardConfig),
            "market-making": (parsers.market_making, MarketMakingBoard)}


def resolved(command: str, argv: list[str]):
    parser, recipe = COMMANDS[command]
    return config_from_arguments(recipe, parser().parse_args(argv))


def test_train_with_no_flags_resolves_to_the_training_recipe():
    assert resolved("train", []) == AgentTraining()


def test_leaderboard_with_no_flags_resolves_to_the_leaderboard_recipe():
    assert resolved("leaderboard", []) == LeaderboardConfig()


def test_market_making_with_no_flags_resolves_to_the_market_making_recipe():
    assert resolved("market-making", []) == MarketMakingBoard()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_is_a_field_of_the_recipe(command):
    parser, recipe = COMMANDS[command]
    options = {action.dest for action in parser()._actions
               if not isinstance(action, argparse._HelpAction)}
    assert options == {field.name for field in dataclasses.fields(recipe)}


@pytest.mark.parametrize("command, argv, field, value", [
    ("train", ["--algo", "sac"], "algo", "sac"),
    ("train", ["--flow", "hawkes"], "flow", "hawkes"),
    ("train", ["--timesteps", "64"], "timesteps", 64),
    ("train", ["--num-envs", "4"], "num_envs", 4),
    ("train", ["--seed", "3"], "seed", 3),
    ("train", ["--out", "runs/x"], "out", Path("runs/x")),
    ("train", ["--eval-every", "32"], "eval_every", 32),
    ("train", ["--checkpoint-every", "32"], "checkpoint_every", 32),
    ("train", ["--eval-envs", "6"], "eval_envs", 6),
    ("train", ["--data-dir", "d"], "data_dir", Path("d")),
    ("train", ["--no-progress"], "progress", False),
    ("train", ["--ray"], "ray", "local"),
    ("train", ["--workers", "2"], "workers", 2),
    ("leaderboard", ["--flows", "hawkes"], "flows", ("hawkes",)),
    ("leaderboard", ["--agents", "a"], "agents", Path("a")),
    ("leaderboard", ["--trust-agent", "a.zip", "--trust-agent", "b.zip"], "trust_agent",
     (Path("a.zip"), Path("b.zip"))),
    ("leaderboard", ["--source", "AAPL"], "source", "AAPL"),
    ("leaderboard", ["--n-starts", "2"], "n_starts", 2),
    ("leaderboard", ["--num-envs", "6"], "num_envs", 6),
    ("leaderboard", ["--out-dir", "o"], "out_dir", Path("o")),
    ("leaderboard", ["--cache", "c"], "cache", Path("c")),
    ("leaderboard", ["--only", "twap", "market_at_start"], "only", ("twap", "market_at_start")),
    ("market-making", ["--flows", "lmm", "replay"], "flows", ("lmm", "replay")),
    ("market-making", ["--n-starts", "2"], "n_starts", 2),
    ("market-making", ["--source", "AAPL"], "source", "AAPL"),
    ("market-making", ["--agents", "a"], "agents", Path("a")),
    ("market-making", ["--out", "o"], "out", Path("o")),
    ("market-making", ["--data-dir", "d"], "data_dir", Path("d")),
])
def test_a_flag_overrides_exactly_its_field(command, argv, field, value, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where the trusted agents a.zip and b.zip exist
    for name in ("a.zip", "b.zip"):
        (tmp_path / name).touch()
    _, recipe = COMMANDS[command]
    if field == "ray":
        from mars_gym.parallel import LOCAL_RAY

        value = LOCAL_RAY
    assert resolved(command, argv) == dataclasses.replace(recipe(), **{field: value})


def test_a_repeated_trust_agent_does_not_leak_into_the_next_parse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.zip").touch()
    resolved("leaderboard", ["--trust-agent", "a.zip"])
    assert resolved("leaderboard", []).trust_agent == ()


@pytest.mark.parametrize("command, shown", [
    ("train", ["(default: ppo)", "(default: 20000)", "(default: 16)", "(default: runs/agent)",
               "(default: 5000)", "(default: 10000)", "(default: 24)", "(default: True)"]),
    ("leaderboard", ["(default: lmm hawkes replay)", "(default: 36)",
                     "(default: leaderboard)"]),
    ("market-making", ["(default: lmm hawkes replay)", "(default: market_making)"]),
])
def test_help_shows_the_recipe_defaults(command, shown):
    parser, _ = COMMANDS[command]
    text = " ".join(parser().format_help().split())
    for default in shown:
        assert default in text, default


def test_the_parsers_and_recipes_import_without_torch_sb3_or_scipy():
    code = ("import sys, agents.parsers, agents.recipes\n"
            "print(sorted(m for m in ('torch', 'stable_baselines3', 'scipy') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
