"""SB3 training end to end at small size: every algorithm, its files, and its evaluation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agents.evaluation import Protocol, evaluate
from agents.leaderboard import policies
from agents.policies import SB3Policy, unflatten_actions
from agents.recipes import AgentTraining
from agents.saved import load_model
from agents.train import main, train
from agents.trust import UntrustedAgentError
from mars_gym.cli import main as cli

TINY_VALIDATION = Protocol(split="val", n_starts=1, seed=20_000)


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn", "sac"])
def test_each_algorithm_trains_saves_and_evaluates(algo, tmp_path, lobster_dir):
    out = tmp_path / algo
    overrides = {"n_steps": 8, "batch_size": 32} if algo == "ppo" else (
        {"learning_starts": 16, "batch_size": 16} if algo in ("dqn", "sac") else {"n_steps": 8})
    train(AgentTraining(algo, "replay", timesteps=64, num_envs=4, seed=0, out=out,
                        eval_every=32, checkpoint_every=32, eval_envs=6, data_dir=lobster_dir,
                        progress=False), TINY_VALIDATION, **overrides)
    for name in ("final.zip", "final.json", "best.zip", "best.json", "validation.json"):
        assert (out / name).exists(), name
    assert list((out / "checkpoints").glob("*.zip"))
    assert list((out / "tb").rglob("events.out.tfevents*"))
    history = json.loads((out / "validation.json").read_text())
    assert [h["timesteps"] for h in history] == [32, 64]
    meta = json.loads((out / "final.json").read_text())
    assert meta["algo"] == algo and meta["timesteps"] == 64
    policy = SB3Policy.load(out / "final.zip")
    rows = evaluate(policy, "replay", TINY_VALIDATION, 6, lobster_dir, progress=False)
    assert len(rows) == 6 and all(0 < r["fill_rate"] <= 1 for r in rows)


def test_same_seed_same_agent(tmp_path, lobster_dir):
    def weights(out):
        train(AgentTraining("ppo", "replay", timesteps=32, num_envs=4, seed=3, out=out,
                            eval_every=10**6, eval_envs=6, data_dir=lobster_dir,
                            progress=False), TINY_VALIDATION, n_steps=8, batch_size=32)
        params = load_model(out / "final.zip").policy.state_dict()
        return np.concatenate([p.numpy().ravel() for p in params.values()])

    assert np.array_equal(weights(tmp_path / "a"), weights(tmp_path / "b"))


def test_saved_agents_join_the_leaderboard(tmp_path, lobster_dir):
    train(AgentTraining("ppo", "replay", timesteps=32, num_envs=4, out=tmp_path / "run",
                        eval_every=10**6, eval_envs=6, data_dir=lobster_dir, progress=False),
          TINY_VALIDATION, n_steps=8, batch_size=32)
    agents = tmp_path / "agents"
    agents.mkdir()
    for suffix in (".zip", ".json"):
        (agents / f"ppo_replay{suffix}").write_bytes((tmp_path / "run" / f"final{suffix}")
                                                     .read_bytes())
    with pytest.raises(UntrustedAgentError, match="ppo_replay.zip is not listed in"):
        policies(agents, TINY_VALIDATION, lobster_dir)  # copied: not in this folder's manifest
    names = [p.name for p in policies(agents, TINY_VALIDATION, lobster_dir,
                                      trusted=(agents / "ppo_replay.zip",))]
    assert "ppo_replay" in names and "twap_passive_then_cross_l1" in names
    assert (tmp_path / "run" / "SHA256SUMS").read_text().count(".zip") == 2  # best and final


def test_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown algorithm"):
        train(AgentTraining("trpo", "replay", timesteps=10))
    with pytest.raises(FileNotFoundError, match="no saved agent"):
        load_model(tmp_path / "missing.zip")
    (tmp_path / "orphan.zip").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="orphan.json"):
        load_model(tmp_path / "orphan.zip")
    with pytest.raises(SystemExit):
        main(["--algo", "trpo"])


def test_flat_actions_cover_the_mars_action_space():
    flat = unflatten_actions(np.arange(66))
    assert flat.shape == (66, 2) and len({tuple(a) for a in flat}) == 66
    assert flat.min(0).tolist() == [0, 0] and flat.max(0).tolist() == [10, 5]


def test_cli_and_example_run_end_to_end(tmp_path, lobster_dir):
    cli(["train", "--algo", "ppo", "--flow", "replay", "--timesteps", "64", "--num-envs", "4",
         "--out", str(tmp_path / "cli"), "--no-progress", "--data-dir", str(lobster_dir)])
    assert (tmp_path / "cli" / "final.zip").exists()
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "MARS_GYM_DATA": str(lobster_dir), "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, str(root / "examples" / "train_ppo.py"), "--flow",
                          "replay", "--timesteps", "64", "--num-envs", "4", "--out",
                          str(tmp_path / "example")], capture_output=True, text=True, env=env,
                         check=True).stdout
    assert "PPO - TWAP, paired" in out


def test_a_malformed_manifest_in_the_output_folder_fails_before_training(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "SHA256SUMS").write_text("not a sha256 line\n")
    with pytest.raises(UntrustedAgentError,
                       match=r"SHA256SUMS:1: expected '<sha256>  <file name>'"):
        train(AgentTraining("ppo", "replay", timesteps=32, num_envs=4, out=out, progress=False))
    assert sorted(p.name for p in out.iterdir()) == ["SHA256SUMS"]  # nothing trained or made
