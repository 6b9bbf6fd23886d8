"""A PPO market maker trained by the example, saved, trusted, loaded and put on the protocol."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from agents.market_making import SB3Maker, evaluate_maker, summarize_maker
from agents.trust import UntrustedAgentError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))


def test_a_trained_maker_is_saved_loaded_and_scored(tmp_path, lobster_dir, monkeypatch):
    monkeypatch.setenv("MARS_GYM_DATA", str(lobster_dir))
    from train_market_maker import main

    path = tmp_path / "makers" / "ppo_maker.zip"
    table = main(["--flow", "noise", "--timesteps", "64", "--n-starts", "2", "--out", str(path)])
    assert set(table) == {"ppo", "symmetric_1", "avellaneda_stoikov_0.001"}
    assert (path.parent / "SHA256SUMS").read_text().count("ppo_maker.zip") == 1
    maker = SB3Maker.load(path)
    summary = summarize_maker(evaluate_maker(maker, "noise", {"n_starts": 2, "horizon_s": 60.0},
                                             lobster_dir))
    assert math.isfinite(summary["pnl"]["mean"]) and summary["volume"]["mean"] >= 0
    stranger = tmp_path / "elsewhere" / "ppo_maker.zip"
    stranger.parent.mkdir()
    stranger.write_bytes(path.read_bytes())
    stranger.with_suffix(".json").write_text(path.with_suffix(".json").read_text())
    with pytest.raises(UntrustedAgentError):
        SB3Maker.load(stranger)
