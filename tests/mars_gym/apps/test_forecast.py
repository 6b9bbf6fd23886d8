"""Forecast scoring on known values, and the study run for real at small size."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mars_gym.apps.forecast import ForecastStudy, TrainingBaselines, crps, direction, main, pit, run
from mars_gym.data import load_source, split_by_time


def test_scores_on_known_values():
    assert crps([3.0, 3.0], 1.0) == pytest.approx(2.0)        # a point mass: |x - y|
    assert crps([0.0, 2.0], 1.0) == pytest.approx(1.0 - 0.5)  # E|X-y| = 1, E|X-X'| = 1
    assert pit([0.0, 1.0, 2.0, 3.0], 1.0) == pytest.approx(0.25 + 0.125)
    assert direction([-2.0, 0.5, 2.0], 1.0).tolist() == [-1, 0, 1]
    with pytest.raises(ValueError, match="multiple of step_s"):
        ForecastStudy(horizons_s=(45.0,), step_s=30.0)


def test_flat_band_balances_training_directions(lobster_dir):
    train = split_by_time(load_source("AMZN", lobster_dir))["train"]
    baselines = TrainingBaselines(train, (60.0,), samples=1_000)
    classes = direction(baselines.returns[60.0], baselines.thresholds[60.0])
    shares = np.bincount(classes + 1, minlength=3) / len(classes)
    assert np.all(shares > 0.2), shares


def test_replay_futures_track_reality_and_the_study_runs(lobster_dir, tmp_path, capsys):
    study = ForecastStudy(horizons_s=(30.0, 60.0), n_starts=6, futures=2)
    document = run(study, ("replay", "hawkes"), lobster_dir, progress=False)
    scores = document["scores"]
    assert set(scores) == {"replay", "hawkes", "no_change", "bootstrap", "linear"}
    for h in ("30.0", "60.0"):
        # replaying the recorded orders reproduces most of what happened
        assert scores["replay"][h]["crps"] < 0.5 * scores["no_change"][h]["crps"]
        assert sum(scores["hawkes"][h]["pit_histogram"]) == pytest.approx(1.0)
    main(["--flows", "hawkes", "--n-starts", "2", "--futures", "2", "--horizons", "30",
          "--out", str(tmp_path), "--data-dir", str(lobster_dir)])
    assert json.loads((tmp_path / "forecast.json").read_text())["scores"]["hawkes"]
    assert (tmp_path / "forecast.png").exists() and (tmp_path / "forecast.md").exists()
    # the command says what it does before the bar of the futures starts
    out = capsys.readouterr()
    said = out.out + out.err
    assert said.index("forecast: loading AMZN") < said.index("forecast: starting 4 hawkes futures")
