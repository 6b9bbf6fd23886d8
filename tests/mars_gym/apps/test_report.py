"""The realism report, run for real on a short window."""

from __future__ import annotations

import json

import pytest

from mars_gym.apps.report import build, main, markdown, real_window


def test_replay_scores_closer_to_reality_than_noise(lobster_dir):
    document = build("AMZN", ("replay", "noise"), minutes=5, data_dir=lobster_dir)
    flows = document["flows"]
    assert flows["replay"]["summary"]["mean_l1"] < flows["noise"]["summary"]["mean_l1"]
    assert document["real_messages"] > 100
    assert set(document["stylized_facts"]) == {"real", "replay", "noise"}
    text = markdown(document)
    assert "| interarrival |" in text and "![noise](realism_noise.png)" in text


def test_cli_writes_markdown_json_and_plots(tmp_path, lobster_dir):
    main(["--flows", "hawkes", "--minutes", "2", "--out", str(tmp_path), "--data-dir",
          str(lobster_dir)])
    assert json.loads((tmp_path / "report.json").read_text())["flows"]["hawkes"]
    assert (tmp_path / "report.md").read_text().startswith("# Realism report: AMZN")
    assert (tmp_path / "realism_hawkes.png").stat().st_size > 10_000


def test_bad_source_and_window_are_clear_errors(lobster_dir):
    with pytest.raises(ValueError, match="is not LOBSTER data"):
        real_window("BTCUSD_2015", 0, 1, lobster_dir)
    with pytest.raises(ValueError, match="shorter than"):
        build("AMZN", ("noise",), minutes=600, data_dir=lobster_dir)
