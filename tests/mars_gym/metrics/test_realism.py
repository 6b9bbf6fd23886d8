import json
import warnings

import numpy as np
import pytest

from lob_core.lobster import read_messages, read_orderbook
from mars_gym.apps.generate import generate_window
from mars_gym.apps.realism import main as realism_main
from mars_gym.apps.realism import plot_distributions
from mars_gym.data.lobster_export import write_lobster
from mars_gym.metrics.realism import (
    FEATURE_UNITS,
    MIN_FACT_SAMPLES,
    LobsterStream,
    compare,
    features,
    format_fact,
    l1_distance,
    stylized_facts,
    summary,
)

AMZN = "AMZN_2012-06-21_34200000_57600000_{}_1.csv"
NOON = (34_200 + 57_600) // 2 * 10**9


@pytest.fixture(scope="module")
def amzn(lobster_dir):
    return LobsterStream(read_messages(lobster_dir / AMZN.format("message")),
                         read_orderbook(lobster_dir / AMZN.format("orderbook")))


@pytest.fixture(scope="module")
def noise_afternoon(lobster_dir):
    return generate_window("noise", "AMZN", NOON, 3 * 3600 * 10**9, level=1, seed=0,
                           data_dir=lobster_dir)


def test_l1_distance_bounds():
    x = np.random.default_rng(0).normal(size=5_000)
    assert l1_distance(x, x) == 0
    assert l1_distance(x, x + 100) > 1.9  # disjoint: 2 less the real mass in the open top bin


def test_features_have_their_units(amzn):
    f = features(amzn)
    assert f["spread"].min() >= 1 and np.median(f["spread"]) < 50  # ticks
    assert (np.abs(f["imbalance"]) <= 1).all()
    assert len(f["return_1min"]) == pytest.approx(390, abs=2)  # one trading day in minutes
    assert f["order_size"].size == 27_845


def test_two_halves_of_a_real_day_score_closer_than_real_vs_noise(amzn, noise_afternoon):
    morning, afternoon = amzn.window(0, NOON), amzn.window(NOON, 10**15)
    real_vs_real = summary(compare(afternoon, morning))
    real_vs_noise = summary(compare(afternoon, noise_afternoon))
    shuffled = LobsterStream(afternoon.messages.copy(), afternoon.orderbook.copy())
    rng = np.random.default_rng(0)
    shuffled.messages["size"] = rng.permutation(shuffled.messages["size"]) * 7
    shuffled.messages["time_ns"] = np.sort(rng.uniform(NOON, 57_600e9, len(shuffled.messages))
                                           ).astype(np.int64)
    real_vs_shuffled = summary(compare(afternoon, shuffled))
    assert real_vs_real["mean_l1"] < 0.6 * real_vs_noise["mean_l1"]
    assert real_vs_real["mean_l1"] < real_vs_shuffled["mean_l1"]


def test_stylized_facts_of_a_real_day(amzn):
    facts = stylized_facts(amzn)
    assert facts["excess_kurtosis_1min"] > 1  # heavy tails
    assert abs(facts["acf_return_lag1"]) < 0.2  # no linear autocorrelation
    assert facts["acf_abs_return_lag1"] > 0  # volatility clustering
    assert facts["excess_kurtosis_10min"] < facts["excess_kurtosis_1min"]


def test_realism_cli_writes_a_table_json_and_png(amzn, noise_afternoon, lobster_dir, tmp_path,
                                                 capsys):
    paths = write_lobster(tmp_path, "AMZN_noise", noise_afternoon.messages,
                          noise_afternoon.orderbook)
    png = tmp_path / "plot.png"
    assert realism_main([str(lobster_dir / AMZN.format("message")), str(paths[0]),
                         "--png", str(png), "--json", "--out", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["scores"]) >= {"spread", "interarrival", "order_size", "return_5min"}
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert realism_main([str(lobster_dir / AMZN.format("message")), str(paths[0]),
                         "--png", str(png), "--out", str(tmp_path)]) == 0
    assert "stylized fact" in capsys.readouterr().out


def test_plot_of_identical_streams(amzn, tmp_path):
    path = plot_distributions(amzn.window(0, NOON), amzn.window(0, NOON), tmp_path / "p.png")
    assert path.exists()


def test_mismatched_lengths_are_refused(amzn):
    with pytest.raises(ValueError, match="row i must be the book after message i"):
        LobsterStream(amzn.messages[:10], amzn.orderbook[:9])


def test_a_short_window_says_what_is_undefined_and_why(amzn, lobster_dir, tmp_path, capsys):
    """Two 90-second windows: no 2-5 minute returns, so those rows say why they are empty,
    and nothing prints nan or leaks a numpy warning."""
    short = amzn.window(NOON, NOON + 90 * 10**9)
    later = amzn.window(NOON + 600 * 10**9, NOON + 690 * 10**9)
    paths = [write_lobster(tmp_path / name, "AMZN_part", s.messages, s.orderbook)[0]
             for name, s in (("a", short), ("b", later))]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert realism_main([str(p) for p in paths] + ["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out.lower()
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "(undefined: no real values)" in rows["return_5min"]
    assert "undetermined (n = 0)" in rows["excess_kurtosis_5min"]
    assert "undetermined (n = 0)" in rows["acf_return_lag1"]  # one 1-minute return: no pair


def test_facts_of_a_few_minutes_are_undetermined_not_plus_or_minus_one(amzn):
    """Six minutes give five 1-minute returns: a lag-1 autocorrelation of four pairs was
    reported as a number (+-1 for two pairs); now it says how few samples it had."""
    facts = stylized_facts(amzn.window(NOON, NOON + 6 * 60 * 10**9))
    assert facts["n_returns_1min"] < MIN_FACT_SAMPLES
    assert np.isnan(facts["acf_return_lag1"]) and np.isnan(facts["excess_kurtosis_1min"])
    n = facts["n_returns_1min"]
    assert format_fact(facts, "acf_return_lag1") == f"undetermined (n = {n - 1})"
    assert format_fact(facts, "excess_kurtosis_1min") == f"undetermined (n = {n})"
    whole_day = stylized_facts(amzn)
    assert format_fact(whole_day, "acf_return_lag1") == f"{whole_day['acf_return_lag1']:.3f}"


def test_every_distribution_panel_names_its_unit_and_sample_counts(amzn):
    import matplotlib.pyplot as plt

    from mars_gym.apps.realism import distribution_figure

    real, generated = amzn.window(NOON, NOON + 600 * 10**9), amzn.window(0, NOON)
    figure = distribution_figure(real, generated, ("real AMZN", "other"))
    shown = {axis.get_title().split(" (n = ")[0]: axis for axis in figure.axes
             if axis.get_visible()}
    assert set(shown) == set(FEATURE_UNITS)
    for name, axis in shown.items():
        assert axis.get_xlabel() == FEATURE_UNITS[name] and axis.get_ylabel() == "density"
    spread = shown["spread"].get_title()
    assert spread == f"spread (n = {len(features(real)['spread']):,} / " \
                     f"{len(features(generated)['spread']):,})"
    assert figure.get_suptitle().startswith("real AMZN 12:45:00-12:54:59 (1,398 messages)")
    assert [t.get_text() for t in figure.legends[0].get_texts()] == ["real AMZN", "other"]
    plt.close(figure)


def test_realism_warns_when_a_long_real_file_meets_a_short_generated_one(amzn, lobster_dir,
                                                                         tmp_path, capsys):
    short = amzn.window(NOON, NOON + 120 * 10**9)
    generated = write_lobster(tmp_path, "AMZN_short", short.messages, short.orderbook)[0]
    assert realism_main([str(lobster_dir / AMZN.format("message")), str(generated), "--out",
                         str(tmp_path)]) == 0
    assert ("mars-gym realism: warning: the real stream spans 390.0 minutes and the generated "
            "one 2.0: pass --start and --minutes") in capsys.readouterr().err
    assert (tmp_path / "realism.json").is_file() and (tmp_path / "realism.png").is_file()


def test_realism_cuts_the_same_window_from_both_files(amzn, lobster_dir, tmp_path, capsys):
    short = amzn.window(NOON, NOON + 120 * 10**9)
    generated = write_lobster(tmp_path, "AMZN_short", short.messages, short.orderbook)[0]
    assert realism_main([str(lobster_dir / AMZN.format("message")), str(generated), "--start",
                         "12:45", "--minutes", "2", "--json", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err
    scores = json.loads(captured.out)["scores"]
    assert scores["spread"]["n_real"] == scores["spread"]["n_generated"]


def test_realism_refuses_a_start_outside_a_file_in_clock_time(amzn, lobster_dir, tmp_path):
    short = amzn.window(NOON, NOON + 120 * 10**9)
    generated = write_lobster(tmp_path, "AMZN_short", short.messages, short.orderbook)[0]
    with pytest.raises(ValueError, match=r"^10:00 is outside 12:45-12:47, the generated file's"):
        realism_main([str(lobster_dir / AMZN.format("message")), str(generated), "--start",
                      "10:00", "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()
