"""Impact study at small size on real flows, and the power-law fit on known data."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from mars_gym.apps.impact import (
    ImpactStudy,
    fit_impact_law,
    main,
    run_study,
    twap_actor,
)

# the big parent buys a whole window's volume: half of it (~400 shares in 15-s slices) is
# absorbed by the touch and the depth ladder behind it, leaving no move at the sampled times
SMALL = ImpactStudy(execution_s=60, decay_s=60, step_s=15, size_fractions=(0.05, 1.0),
                    n_starts=1)


def test_power_law_fit_recovers_known_exponent_with_a_run_bootstrap_interval():
    rng = np.random.default_rng(0)
    x = np.array([0.01, 0.03, 0.1, 0.3])
    impacts = 0.8 * 2.0 * x ** 0.5 + rng.normal(0, 0.02, (50, len(x)))
    fit = fit_impact_law(x, impacts, sigma=2.0, n_boot=200)
    assert fit["delta"] == pytest.approx(0.5, abs=0.05)
    assert fit["delta_ci95"][0] < 0.5 < fit["delta_ci95"][1]
    assert fit["delta_ci95"][1] - fit["delta_ci95"][0] < 0.2
    assert fit["c"] == pytest.approx(0.8, rel=0.1)
    assert fit_impact_law(x, np.zeros_like(impacts), sigma=2.0)["delta"] is None
    assert fit_impact_law(x[:1], impacts[:, :1], sigma=2.0)["error"].endswith("two sizes or more")
    with pytest.raises(ValueError, match="runs, 4 sizes"):
        fit_impact_law(x, impacts[:, :3], sigma=2.0)


def test_trimmed_fit_ignores_rare_runaways_where_the_mean_does_not():
    rng = np.random.default_rng(1)
    x = np.array([0.01, 0.03, 0.1, 0.3])
    impacts = 0.8 * 2.0 * x ** 0.5 + rng.normal(0, 0.02, (20, len(x)))
    impacts[0, 1] = 500.0  # one runaway path
    robust = fit_impact_law(x, impacts, sigma=2.0, trim=0.1, n_boot=100)
    assert robust["delta"] == pytest.approx(0.5, abs=0.05)
    assert robust["delta_ci95"][0] < 0.5 < robust["delta_ci95"][1]
    plain = fit_impact_law(x, impacts, sigma=2.0, n_boot=100)
    assert abs(plain["delta"] - 0.5) > 5 * abs(robust["delta"] - 0.5)


def test_twap_actor_slices_then_leaves_the_rest_to_the_task():
    act = twap_actor(100, 4, "aggressive")
    assert np.array_equal(act(None, {"decision": 0, "filled": 0}), [0, 25, 0])
    assert np.array_equal(act(None, {"decision": 3, "filled": 60}), [0, 40, 0])
    assert np.array_equal(act(None, {"decision": 4, "filled": 90}), [0, 0, 0])
    passive = twap_actor(100, 4, "passive_then_cross")
    assert np.array_equal(passive(None, {"decision": 2, "filled": 40}), [25, 10, 1])
    with pytest.raises(ValueError, match="unknown styles"):
        ImpactStudy(styles=("iceberg",))


@pytest.mark.parametrize("flow", ["replay", "hawkes"])
def test_big_aggressive_parents_move_the_price_only_where_the_flow_reacts(flow, lobster_dir):
    result = run_study(SMALL, flow, lobster_dir, progress=False)
    aggressive = result["styles"]["aggressive"]
    assert set(aggressive["curves"]) == {str(q) for q in result["sizes"]}
    n_times = round((SMALL.execution_s + SMALL.decay_s) / SMALL.step_s) + 1  # arrival to end
    assert all(len(c["mean"]) == n_times for c in aggressive["curves"].values())
    big = aggressive["peak"][str(result["sizes"][-1])]["mean"]
    assert big > 0  # buying a window's volume at market lifts the mid
    if flow == "replay":  # nothing reacts: the recorded flow takes the book back
        assert abs(aggressive["permanent"][str(result["sizes"][0])]["mean"]) < 0.5
    runs = np.array(aggressive["runs"]["peak"])
    assert runs.shape == (2 * SMALL.n_starts, len(result["sizes"]))
    assert runs[:, -1].mean() == pytest.approx(big)


def test_an_lmm_reading_the_parents_orders_answers_them(lobster_dir):
    study = ImpactStudy(execution_s=30, decay_s=30, step_s=15, size_fractions=(0.2,),
                        styles=("aggressive",), n_starts=1)
    plain = run_study(study, "lmm", lobster_dir, progress=False)
    reading = run_study(replace(study, lmm_observes_agents=True), "lmm", lobster_dir,
                       progress=False)
    size = str(plain["sizes"][0])
    assert np.array(plain["styles"]["aggressive"]["runs"]["peak"]).shape == (2, 1)
    assert (plain["styles"]["aggressive"]["curves"][size]["mean"]
            != reading["styles"]["aggressive"]["curves"][size]["mean"])


def test_cli_prints_a_table_and_writes_json_and_png(tmp_path, lobster_dir, capsys):
    main(["--flows", "replay", "--n-starts", "1", "--execution-s", "30", "--decay-s", "30",
          "--sizes", "0.05", "0.2", "--out", str(tmp_path), "--data-dir", str(lobster_dir),
          "--no-progress"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["flow", "style", "delta"]
    assert {line.split()[1] for line in lines[1:3]} == {"aggressive", "passive_then_cross"}
    assert lines[3].startswith("delta: the exponent") and not lines[0].startswith("{")
    document = json.loads((tmp_path / "impact.json").read_text())
    assert document["results"][0]["flow"] == "replay"
    assert (tmp_path / "impact.png").stat().st_size > 10_000
