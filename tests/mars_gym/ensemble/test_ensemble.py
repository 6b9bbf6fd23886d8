"""The ensemble on the real data with the shipped models: minute plans, the order model that
reads them, the live planner and its control targets, the ensemble flow in the env."""

import json

import numpy as np
import pytest
import torch

from lob_core import OrderBook
from mars_gym.apps.generate import main as generate_main
from mars_gym.apps.train_lmm import main as train_main
from mars_gym.data import load_source, split_by_time
from mars_gym.data.orders import SELL_ORDER
from mars_gym.data.schema import seed_book_from_state
from mars_gym.data.units import NS_PER_MIN
from mars_gym.ensemble.control import LivePlanner, PlanTarget, minute_statistic
from mars_gym.ensemble.plan import PLAN_FEATURES, MinutePlans, Planner, plan_features
from mars_gym.envs.execution import ExecutionEnv
from mars_gym.envs.vector import VectorExecutionEnv
from mars_gym.lmm.checkpoint import load_lmm
from mars_gym.lmm.data import build_sequence, history_inputs
from mars_gym.lmm.model import LMM
from mars_gym.minutes.data import load_minutes
from mars_gym.minutes.model import load_minute_model
from mars_gym.minutes.tokenizer import MinuteTokenizer
from mars_gym.sim.flows import run_alone
from mars_gym.sim.flows.factory import make_flow
from mars_gym.sim.flows.lmm import LMMFlow


@pytest.fixture(scope="module")
def planner():
    return Planner(MinuteTokenizer.load("default"), load_minute_model("default"))


def test_plan_features_are_log_counts_per_price_and_volume_slot():
    counts = np.zeros((1, 3, 32, 32))
    counts[0, 1, 5, 7] = 3    # three sells in price slot 5, volume slot 7
    counts[0, 2, 5, 0] = 1    # a cancel in the same price slot
    plan = plan_features(counts)[0]
    assert plan.shape == (PLAN_FEATURES,)
    by_price, by_volume = plan[:96].reshape(3, 32), plan[96:].reshape(3, 32)
    assert by_price[1, 5] == pytest.approx(np.log(4)) and by_volume[1, 7] == pytest.approx(
        np.log(4))
    assert by_price[2, 5] == pytest.approx(np.log(2)) and by_volume[2, 0] == pytest.approx(
        np.log(2))
    assert np.count_nonzero(plan) == 4


def test_every_order_reads_its_minutes_real_or_predicted_plan(planner, lobster_dir):
    series = load_minutes(["AMZN"], "val", lobster_dir)[0]
    real = planner.real(series)
    predicted = planner.predicted(series, torch.Generator().manual_seed(0))
    again = planner.predicted(series, torch.Generator().manual_seed(0))
    assert real.plans.shape == predicted.plans.shape == (len(series), PLAN_FEATURES)
    np.testing.assert_array_equal(predicted.plans, again.plans)  # seeded
    assert not np.allclose(predicted.plans, real.plans)  # a forecast, not the oracle
    # the real plan follows the minute's order count: busier minutes, larger plans
    totals, mass = series.images.sum(axis=(1, 2, 3)), np.expm1(real.plans[:, :96]).sum(1)
    assert np.corrcoef(totals, mass)[0, 1] > 0.9
    stream = split_by_time(load_source("AMZN", lobster_dir))["val"]
    tokenizer = load_lmm("ensemble")[1]
    sequence = build_sequence(tokenizer, stream, real)
    times = tokenizer.encode(stream).orders["time_ns"][:-1]
    np.testing.assert_array_equal(series.minute[sequence.plan_row], times // NS_PER_MIN)


def test_an_added_plan_input_starts_as_the_trained_model(planner, lobster_dir):
    trained, tokenizer = load_lmm("mid")  # the model the shipped ensemble was fine-tuned from
    ensemble = LMM(type(trained.config)(**{**trained.config.to_dict(),
                                           "plan_features": PLAN_FEATURES}))
    missing, _ = ensemble.load_state_dict(trained.state_dict(), strict=False)
    assert sorted(missing) == ["plan_in.bias", "plan_in.weight"]
    ensemble.eval()
    stream = load_source("AMZN", lobster_dir)[20_000:21_000]
    series = load_minutes(["AMZN"], "val", lobster_dir)[0]
    live = tokenizer.live_conditions(np.zeros((1, 12)), 0, 1.0, stream.source.source_id)
    tokens, cond = history_inputs(tokenizer, stream, live, 64)
    planned = history_inputs(tokenizer, stream, live, 64, planner.real(series))[1]
    assert planned.plan.shape == (1, tokens.shape[1], PLAN_FEATURES)
    with torch.no_grad():
        torch.testing.assert_close(ensemble.hidden(tokens, planned), trained.hidden(tokens, cond))


@pytest.mark.real_data
def test_train_lmm_scores_the_ensemble_with_real_and_predicted_plans(tmp_path):
    code = train_main(["--init", "default", "--plan-tokenizer", "default", "--plan-model",
                       "default", "--sources", "AMZN", "--steps", "2", "--batch", "2",
                       "--context", "64", "--eval-every", "2", "--eval-windows", "2",
                       "--out", str(tmp_path), "--no-progress", "--no-tensorboard",
                       "--no-mirror"])
    assert code == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    last = metrics["history"][-1]
    assert metrics["config"]["plan_features"] == PLAN_FEATURES
    assert set(last["val_predicted"]) == set(last["val"]) == {"AMZN"}
    assert last["val_loss"] == pytest.approx(last["val_predicted"]["AMZN"])
    model, _ = load_lmm(tmp_path / "best.pt")
    assert model.config.plan_features == PLAN_FEATURES
    with pytest.raises(ValueError, match="--plan-model needs --plan-tokenizer"):
        train_main(["--plan-model", "default", "--out", str(tmp_path / "x"), "--steps", "1"])


def test_plan_targets_parse_and_reject_bad_text():
    assert PlanTarget.parse("drop") == PlanTarget("pressure", -1.0)
    assert PlanTarget.parse("activity=250") == PlanTarget("activity", 250.0)
    for bad in ("sideways", "pressure", "volatility=3", "pressure=high"):
        with pytest.raises(ValueError, match="bad target"):
            PlanTarget.parse(bad)


def _planned_minutes(target, lobster_dir, minutes=12):
    stream = load_source("AMZN", lobster_dir)
    start = int(len(stream) * 0.8)
    tokenizer, model = MinuteTokenizer.load("default"), load_minute_model("default")
    times = stream.events["time_ns"]
    first = int(np.searchsorted(times, times[start] - 30 * NS_PER_MIN))
    live = LivePlanner(tokenizer, model, stream[first:start], stream.open_mid, target,
                       candidates=16)
    start_ns, mid = int(times[start]), float(stream.mid[start])
    plans = live.reset(seed=3, start_ns=start_ns, mid=mid)
    assert plans.plans.shape[1] == PLAN_FEATURES and plans.minute[-1] == start_ns // NS_PER_MIN
    before = live.image.copy()
    live.record(SELL_ORDER, int(mid) + 1, 100)  # counted into the open minute's image
    (cell,) = np.argwhere(live.image != before)
    assert live.image.sum() == before.sum() + 1 and cell[0] == 1
    for k in range(1, minutes):
        live.plan(start_ns + k * NS_PER_MIN, mid)
    assert len(live.chosen) == minutes and len(live.codes) == len(live.minutes) - 1
    return np.array(live.chosen), live.imager


def test_control_picks_minutes_closer_to_the_target(lobster_dir):
    plain, imager = _planned_minutes(None, lobster_dir)
    np.testing.assert_array_equal(plain, _planned_minutes(None, lobster_dir)[0])  # seeded
    pressure = {name: minute_statistic("pressure", _planned_minutes(PlanTarget.parse(name),
                                                                    lobster_dir)[0], imager)
                for name in ("drop", "rise")}
    plain_pressure = minute_statistic("pressure", plain, imager)
    assert pressure["drop"].mean() < plain_pressure.mean() < pressure["rise"].mean()
    activity = {name: minute_statistic("activity", _planned_minutes(PlanTarget.parse(name),
                                                                    lobster_dir)[0], imager)
                for name in ("quiet", "busy")}
    assert activity["quiet"].mean() < minute_statistic("activity", plain, imager).mean() \
        < activity["busy"].mean()


def test_the_ensemble_flow_generates_reproducibly_and_records_its_minutes(lobster_dir):
    stream = load_source("AMZN", lobster_dir)
    start = int(len(stream) * 0.85)

    def run(seed):
        flow = make_flow("ensemble", "AMZN", start, lobster_dir, target="drop")
        book = OrderBook(1)
        seed_book_from_state(book, stream.book[start])
        begin = int(stream.events["time_ns"][start])
        out = run_alone(flow, book, begin, begin + 70 * 10**9, stream.source, seed)
        return flow, out

    flow, first = run(0)
    assert isinstance(flow, LMMFlow) and flow.planner is not None
    assert len(first) > 20 and len(flow.planner.chosen) >= 2  # it crossed a minute
    np.testing.assert_array_equal(first.events, run(0)[1].events)
    with pytest.raises(ValueError, match="flow .lmm. takes no option .target."):
        make_flow("lmm", "AMZN", start, lobster_dir, target="drop")
    with pytest.raises(ValueError, match="needs a planner"):
        LMMFlow(load_lmm("ensemble")[0], load_lmm("ensemble")[1], stream[:1000])


def test_env_and_vector_env_run_the_steered_ensemble(lobster_dir):
    env = ExecutionEnv(flow="ensemble", flow_target="busy", source="AMZN", horizon_s=20,
                       step_s=10, data_dir=lobster_dir)
    env.reset(seed=0)
    _, _, terminated, truncated, info = env.step(env.action_space.sample())
    assert not (terminated or truncated) and "filled" in info
    with pytest.raises(ValueError, match="flow_target is for the flows that take a target"):
        ExecutionEnv(flow="lmm", flow_target="drop")
    with pytest.raises(ValueError, match="bad target"):
        ExecutionEnv(flow="ensemble", flow_target="sideways")
    for flow, guidance in (("lmm", 1.0), ("ensemble", -1.0)):
        with pytest.raises(ValueError, match="flow_guidance"):
            ExecutionEnv(flow=flow, flow_guidance=guidance)
    vec = VectorExecutionEnv(num_envs=2, flow="ensemble", source="AMZN", horizon_s=20,
                             step_s=10, data_dir=lobster_dir)
    vec.reset(seed=0)
    vec.step(vec.action_space.sample())
    assert vec.service.generator.model.config.plan_features == PLAN_FEATURES


def test_generate_command_writes_lobster_files_and_a_minute_summary(tmp_path, capsys,
                                                                     lobster_dir):
    assert generate_main(["--flow", "ensemble", "--target", "drop", "--minutes", "0.5",
                          "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "pressure" in printed
    assert len(list(tmp_path.glob("AMZN-ensemble-drop_2012-06-21_*.csv"))) == 2


def test_plan_rows_follow_the_minutes_even_across_a_gap():
    plans = MinutePlans(np.array([10, 11, 14]), 0, np.zeros((3, PLAN_FEATURES), np.float32))
    times = np.array([5, 10, 11.5, 12, 13.9, 14, 20]) * NS_PER_MIN
    np.testing.assert_array_equal(plans.rows(times.astype(np.int64)), [0, 0, 1, 1, 1, 2, 2])
