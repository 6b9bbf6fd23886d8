"""A LOBSTER pair the project has never seen, by path or by a registered name: loaded, replayed
into an env with the model-free flows, refused by the LMM with a clear error."""

from __future__ import annotations

import gymnasium as gym
import pytest

import mars_gym  # noqa: F401  registers the environments
from mars_gym.data import load_source, register_source, sources
from mars_gym.data.sources import UNSEEN_SOURCE_ID
from mars_gym.lmm.sources import GENERIC_SOURCE_ROW
from mars_gym.sim.flows.factory import make_flow
from tests.conftest import NEW_TICKER_LINES as LINES


def test_a_path_is_a_source_with_its_names_and_levels_read_from_the_file(new_ticker):
    stream = load_source(new_ticker)
    assert stream.source.name == "ZZZZ_2012-06-21" and stream.source.visible_levels == 1
    assert stream.source.source_id == UNSEEN_SOURCE_ID and stream.source.tick_value == 0.01
    assert len(stream) > LINES * 0.9  # every message read (a few skipped ones are reported)
    assert load_source(str(new_ticker)) is stream  # cached by path


@pytest.mark.parametrize("flow", ["replay", "hawkes", "noise"])
def test_an_env_runs_on_a_source_given_by_path(new_ticker, flow):
    env = gym.make("MarS-Execution-v0", source=str(new_ticker), flow=flow, horizon_s=30,
                   step_s=10, quantity=200)
    env.reset(seed=0)
    done, steps = False, 0
    while not done:
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        done, steps = terminated or truncated, steps + 1
    assert steps == 3 and info["filled"] == 200
    assert env.unwrapped.sim.depth is not None  # level 1: the ladder keeps levels behind it


def test_a_registered_name_works_like_the_path_and_a_model_without_generic_row_refuses_it(
        new_ticker, monkeypatch):
    # the registration lives in copies of the tables, so other tests never see ZZZZ
    monkeypatch.setattr(sources, "SOURCES", dict(sources.SOURCES))
    monkeypatch.setattr(sources, "_LOADERS", dict(sources._LOADERS))
    source = register_source("ZZZZ", new_ticker)
    assert sources.SOURCES["ZZZZ"] is source and load_source("ZZZZ").source.name == "ZZZZ"
    env = gym.make("MarS-MarketMaking-v0", source="ZZZZ", flow="replay", horizon_s=20, step_s=10)
    env.reset(seed=1)
    env.step(env.action_space.sample())
    with pytest.raises(ValueError, match="was not trained on source 'ZZZZ'.*model-free flow"):
        make_flow("lmm", "ZZZZ", 5_000, checkpoint="mid")  # the first default: no generic row
    assert make_flow("lmm", "ZZZZ", 5_000).source == GENERIC_SOURCE_ROW  # the shipped default
    with pytest.raises(ValueError, match="already registered"):
        register_source("AMZN", new_ticker)


def test_bad_paths_name_the_file(new_ticker, tmp_path):
    with pytest.raises(KeyError, match="or the path of a LOBSTER message file"):
        load_source(tmp_path / "prices.csv")
    lonely = tmp_path / "QQQ_2012-06-21_34200000_57600000_message_5.csv"
    lonely.write_text(new_ticker.read_text().splitlines()[0] + "\n")
    with pytest.raises(FileNotFoundError, match="orderbook file QQQ_2012-06-21_34200000_57600000_"
                                                "orderbook_5.csv is not beside it"):
        load_source(lonely)


def test_generate_and_report_take_a_path(new_ticker, tmp_path, capsys):
    from mars_gym.apps.generate import main as generate
    from mars_gym.apps.report import build

    assert generate(["--source", str(new_ticker), "--flow", "hawkes", "--start", "09:45",
                     "--minutes", "0.5", "--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.glob("ZZZZ-hawkes_2012-06-21_*.csv"))
    assert len(written) == 2 and "message" in written[0] + written[1]
    document = build(str(new_ticker), flows=["replay", "hawkes"], minutes=1.0)
    assert document["real_messages"] > 50
    assert set(document["flows"]) == {"replay", "hawkes"}
    assert all(f["messages"] > 0 for f in document["flows"].values())


def test_forecast_and_impact_studies_take_a_path(new_ticker):
    from mars_gym.apps.forecast import ForecastStudy
    from mars_gym.apps.forecast import run as forecast
    from mars_gym.apps.impact import ImpactStudy, run_study

    study = ForecastStudy(source=str(new_ticker), horizons_s=(30.0, 60.0), n_starts=2, futures=2)
    document = forecast(study, flows=("hawkes",), progress=False)
    assert "hawkes" in document["scores"] and "linear" in document["scores"]
    impact = run_study(ImpactStudy(source=str(new_ticker), execution_s=30, decay_s=20,
                                  size_fractions=(0.2,), styles=("aggressive",), n_starts=1),
                      "hawkes", progress=False)
    assert impact["sizes"][0] > 0 and len(impact["times_s"]) == 6


def test_the_leaderboard_takes_a_path(new_ticker, tmp_path):
    import json

    from agents.leaderboard import main as leaderboard

    (tmp_path / "agents").mkdir()
    leaderboard(["--source", str(new_ticker), "--flows", "hawkes", "--n-starts", "1",
                 "--only", "market_at_start", "--agents", str(tmp_path / "agents"),
                 "--num-envs", "6", "--out-dir", str(tmp_path)])
    document = json.loads((tmp_path / "leaderboard.json").read_text())
    assert document["protocol"]["source"] == str(new_ticker)
    assert "market_at_start" in document["flows"]["hawkes"]["policies"]
    assert "ZZZZ" in (tmp_path / "LEADERBOARD.md").read_text()


def test_replay_takes_the_unknown_pair(new_ticker, capsys):
    import json

    from mars_gym.cli import main as cli

    orderbook = new_ticker.with_name(new_ticker.name.replace("_message_", "_orderbook_"))
    assert cli(["replay", str(new_ticker), "--orderbook", str(orderbook), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["agreement"] == 1.0 and report["messages"] == LINES


def test_the_calibrations_take_a_path(new_ticker):
    from mars_gym.data.calibration import calibrate

    by_path, shared = calibrate(str(new_ticker)), calibrate("AMZN")
    assert by_path.source == "ZZZZ_2012-06-21"
    # the same market's morning: volatility and volume of the same order as the whole day's
    assert 0.2 < by_path.sigma_bps / shared.sigma_bps < 5
    assert 0.2 < by_path.horizon_volume / shared.horizon_volume < 5


def _pair(new_ticker, folder, messages=None, orderbook=None):
    """A copy of the ZZZZ pair in ``folder``, with its message or orderbook lines replaced."""
    folder.mkdir()
    lines = {kind: new_ticker.with_name(new_ticker.name.replace("message", kind)).read_text()
             .splitlines(keepends=True) for kind in ("message", "orderbook")}
    for kind, replaced in (("message", messages), ("orderbook", orderbook)):
        text = "".join(lines[kind] if replaced is None else replaced(lines[kind]))
        (folder / new_ticker.name.replace("message", kind)).write_text(text)
    return folder / new_ticker.name


def test_an_orderbook_shorter_than_its_messages_is_refused_naming_both_files(new_ticker, tmp_path):
    short = _pair(new_ticker, tmp_path / "short", orderbook=lambda lines: lines[:200])
    with pytest.raises(ValueError, match=r"orderbook_1.csv has 200 rows but .*ZZZZ_2012-06-21_"
                                         rf"34200000_57600000_message_1.csv has {LINES:,} "
                                         "messages: LOBSTER writes one row per message"):
        load_source(short)


def _cross_row_101(lines):
    fields = lines[100].strip().split(",")
    fields[2] = str(int(fields[0]) + 100)  # best bid a cent above the best ask
    return [*lines[:100], ",".join(fields) + "\n", *lines[101:]]


def test_a_crossed_orderbook_row_is_refused_naming_file_and_row(new_ticker, tmp_path):
    crossed = _pair(new_ticker, tmp_path / "crossed", orderbook=_cross_row_101)
    with pytest.raises(ValueError, match=r"ZZZZ_2012-06-21_34200000_57600000_orderbook_1.csv:101: "
                                         r"crossed book: best bid \d+ >= best ask \d+$"):
        load_source(crossed)


def test_an_orderbook_deeper_than_its_name_says_is_refused(new_ticker, tmp_path):
    empty_levels = ",9999999999,0,-9999999999,0" * 9
    deep = _pair(new_ticker, tmp_path / "deep",
                 orderbook=lambda lines: [line.strip() + empty_levels + "\n" for line in lines])
    with pytest.raises(ValueError, match="orderbook_1.csv:1: 10 levels per row, but the file name "
                                         r"says level 1 \(at most 4 columns\)"):
        load_source(deep)


def test_a_message_the_engine_cannot_apply_names_the_message_file(new_ticker, tmp_path):
    def size_0_on_line_101(lines):
        fields = lines[100].strip().split(",")
        fields[3] = "0"
        return [*lines[:100], ",".join(fields) + "\n", *lines[101:]]

    bad = _pair(new_ticker, tmp_path / "size0", messages=size_0_on_line_101)
    with pytest.raises(ValueError, match=r"ZZZZ_2012-06-21_34200000_57600000_message_1.csv:101: "
                                         r"size must be in \[1, MAX_QTY\]"):
        load_source(bad)
