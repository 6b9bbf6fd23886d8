"""Training end to end on real data at a tiny size, checkpoints, resume, baselines."""

import itertools
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from mars_gym.apps import parsers
from mars_gym.apps.train_lmm import main
from mars_gym.checkpoint import save_checkpoint as save_file
from mars_gym.cli import main as cli
from mars_gym.lmm.baselines import FactorizedBaseline, UnigramBaseline
from mars_gym.lmm.checkpoint import CheckpointError, load_lmm, read_checkpoint, save_checkpoint
from mars_gym.lmm.model import LMM, ConditionTensors, LMMConfig
from mars_gym.lmm.train import TrainConfig, learning_rate, train

TINY = ["--sources", "AMZN", "--n-layer", "1", "--n-head", "2", "--n-embd", "16",
        "--context", "32", "--batch", "8", "--eval-windows", "8", "--no-progress",
        "--no-tensorboard", "--warmup", "5", "--lr", "1e-2", "--no-mirror"]


def config(argv: list[str]) -> TrainConfig:
    """The configuration ``mars-gym train-lmm ARGV`` trains."""
    return parsers.config_from_arguments(TrainConfig, parsers.train_lmm().parse_args(argv))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, lobster_dir):
    out = tmp_path_factory.mktemp("lmm")
    args = config(TINY + ["--out", str(out), "--steps", "60", "--eval-every", "30",
                                       "--data-dir", str(lobster_dir)])
    return out, train(args)


def test_training_lowers_the_loss_and_writes_everything(trained):
    out, metrics = trained
    history = metrics["history"]
    assert [h["step"] for h in history] == [30, 60]
    assert history[-1]["val_loss"] < math.log(49_152) - 0.5  # well below a uniform guess
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    assert (out / "last.pt").exists() and (out / "best.pt").exists()
    saved = json.loads((out / "metrics.json").read_text())
    assert set(saved["final"]["AMZN"]) >= {"val_ppl", "unigram_ppl", "factorized_ppl"}
    assert saved["history"][-1]["tokens_per_s"] > 0


def test_resume_continues_from_the_saved_step(trained, lobster_dir):
    out, _ = trained
    args = config(TINY + ["--out", str(out), "--steps", "90", "--eval-every", "30",
                                       "--data-dir", str(lobster_dir), "--resume"])
    resumed = train(args)
    assert [h["step"] for h in resumed["history"]] == [90]
    assert read_checkpoint(out / "last.pt")["step"] == 90


def test_checkpoint_round_trip(trained, tmp_path):
    out, _ = trained
    model, tokenizer = load_lmm(out / "best.pt")
    path = save_checkpoint(tmp_path / "half.pt", model, tokenizer, half=True)
    again, _ = load_lmm(path)
    for a, b in zip(model.parameters(), again.parameters(), strict=False):
        assert torch.allclose(a, b, atol=1e-3)
    assert again.config == model.config


def test_bad_checkpoints_are_clear_errors(trained, tmp_path):
    with pytest.raises(CheckpointError,
                       match="not found.*named checkpoints: default, ensemble, mid"):
        load_lmm(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00junk")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_lmm(tmp_path / "junk.pt")
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not an LMM checkpoint"):
        load_lmm(tmp_path / "other.pt")
    out, _ = trained
    payload = read_checkpoint(out / "best.pt")
    payload["version"] = 99
    torch.save(payload, tmp_path / "v99.pt")
    with pytest.raises(CheckpointError, match="version 99"):
        load_lmm(tmp_path / "v99.pt")
    payload = read_checkpoint(out / "best.pt")
    payload["config"]["n_embd"] = 64  # a consistent file whose config does not fit its weights
    save_file(tmp_path / "wrong_shape.pt", payload["format"], payload["version"],
              {k: v for k, v in payload.items() if k not in ("format", "version", "sha256")})
    with pytest.raises(CheckpointError, match="weights do not fit"):
        load_lmm(tmp_path / "wrong_shape.pt")


def test_learning_rate_warms_up_then_decays_to_the_floor():
    rates = [learning_rate(s, 1.0, 10, 100, 0.1) for s in range(100)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(rates[10:]))
    assert learning_rate(100, 1.0, 10, 100, 0.1) == pytest.approx(0.1)


def test_baselines_on_known_distributions():
    rng = np.random.default_rng(0)
    targets = rng.choice([5, 17, 40_000], size=20_000, p=[0.5, 0.25, 0.25])
    unigram = UnigramBaseline(targets, alpha=1e-9)
    entropy = -(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25))
    assert unigram.nll(targets) == pytest.approx(entropy, rel=0.01)
    factorized = FactorizedBaseline(targets, alpha=1e-9)
    assert factorized.nll(targets) >= unigram.nll(targets) - 1e-6  # independence costs


def test_cli_prints_the_comparison_and_writes_tensorboard_scalars(tmp_path, lobster_dir,
                                                                   capsys):
    with_tensorboard = [a for a in TINY if a != "--no-tensorboard"]
    assert main(with_tensorboard + ["--out", str(tmp_path), "--steps", "10", "--eval-every", "10",
                                    "--data-dir", str(lobster_dir)]) == 0
    assert "beats both" in capsys.readouterr().out
    events = list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0


def test_model_sizes():
    assert 0.9e6 < LMM(LMMConfig()).n_params() < 1.2e6  # the default shape: ~1 M


def _hidden_under(model, time_of_day, change):
    g = torch.Generator().manual_seed(3)
    tokens = torch.randint(0, 49_152, (2, 12), generator=g)
    cond = ConditionTensors(torch.rand(2, 12, model.config.book_features, generator=g),
                            torch.full((2, 12), time_of_day), torch.full((2, 12), change),
                            torch.zeros(2, 12, dtype=torch.long))
    with torch.no_grad():
        return model.hidden(tokens, cond)


def test_a_model_without_time_of_day_and_price_change_reads_neither():
    torch.manual_seed(0)
    blind = LMM(LMMConfig(n_layer=1, n_head=2, n_embd=16, context=16, tod_frequencies=0,
                          price_change=False)).eval()
    assert not any(k.startswith(("time_in", "change_in")) for k in blind.state_dict())
    assert torch.equal(_hidden_under(blind, 0, 0), _hidden_under(blind, 9_000, 350))
    torch.manual_seed(0)
    seeing = LMM(LMMConfig(n_layer=1, n_head=2, n_embd=16, context=16)).eval()
    # the same change of inputs moves every hidden state of a model that reads them
    moved = (_hidden_under(seeing, 0, 0) - _hidden_under(seeing, 9_000, 350)).abs()
    assert moved.amax(-1).min() > 1e-3
    with pytest.raises(TypeError, match="price_change must be True or False"):
        LMMConfig(price_change="no")


def test_training_without_time_of_day_and_price_change_saves_a_model_that_reads_neither(
        tmp_path, lobster_dir):
    args = config(TINY + ["--out", str(tmp_path), "--steps", "4", "--eval-every",
                                       "4", "--data-dir", str(lobster_dir),
                                       "--tod-frequencies", "0", "--no-price-change"])
    train(args)
    model, _ = load_lmm(tmp_path / "best.pt")
    assert model.config.tod_frequencies == 0 and model.config.price_change is False
    assert model.time_in is None and model.change_in is None


def _weights(path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)["model"]


def test_a_run_with_dropout_killed_and_resumed_ends_bit_identical_to_a_straight_run(
        tmp_path, lobster_dir):
    run = TINY + ["--steps", "60", "--eval-every", "1", "--eval-windows", "1", "--dropout", "0.3",
                  "--device", "cpu",  # CUDA kernels may sum in another order on every run
                  "--data-dir", str(lobster_dir)]
    train(config(run + ["--out", str(tmp_path / "straight")]))
    killed = tmp_path / "killed"
    threads = {"OMP_NUM_THREADS": str(torch.get_num_threads())}  # the same reduction order
    process = subprocess.Popen([sys.executable, "-m", "mars_gym.apps.train_lmm", *run, "--out",
                                str(killed)], env=os.environ | threads,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (killed / "last.pt").exists() or read_checkpoint(killed / "last.pt")["step"] < 3:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert read_checkpoint(killed / "last.pt")["step"] < 60  # it died mid-run
    stale = killed / ".last.pt.x1y2z3w4.tmp"  # as a kill during a save leaves it
    stale.write_bytes(b"half")
    train(config(run + ["--out", str(killed), "--resume"]))
    assert not stale.exists()
    straight, resumed = _weights(tmp_path / "straight" / "last.pt"), _weights(killed / "last.pt")
    assert all(torch.equal(straight[name], resumed[name]) for name in straight)
    assert read_checkpoint(killed / "last.pt")["step"] == 60


def test_a_diverging_run_stops_at_the_first_non_finite_loss_and_keeps_its_checkpoints(
        tmp_path, lobster_dir, capsys):
    run = TINY + ["--out", str(tmp_path), "--eval-every", "5", "--data-dir", str(lobster_dir)]
    train(config(run + ["--steps", "10"]))
    before = {name: (tmp_path / name).read_bytes() for name in ("last.pt", "best.pt")}
    assert cli(["train-lmm", *run, "--steps", "20", "--lr", "1e30", "--resume"]) == 1
    assert re.search(r"error: step 12: the training loss is nan \(the run diverged and stops; "
                     r"last\.pt and best\.pt keep the weights of step 10 or before\): lower --lr "
                     r"\(now 1e\+30\)", capsys.readouterr().err)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before


def test_resume_with_another_model_shape_names_the_fields_that_differ(trained, tmp_path,
                                                                      lobster_dir):
    out, _ = trained
    shutil.copy(out / "last.pt", tmp_path / "last.pt")
    other = [a if a != "16" else "32" for a in TINY]  # --n-embd 32
    with pytest.raises(ValueError, match=r"last\.pt was trained with n_embd=16; this run asks "
                                         r"n_embd=32: resume with the options of that run"):
        train(config(other + ["--out", str(tmp_path), "--steps", "90", "--resume",
                              "--data-dir", str(lobster_dir)]))


def _edited_last(trained, tmp_path, edit) -> None:
    """The trained run's last.pt in ``tmp_path``, with ``edit`` applied (a valid digest)."""
    payload = read_checkpoint(trained[0] / "last.pt")
    edit(payload)
    save_file(tmp_path / "last.pt", payload["format"], payload["version"],
              {k: v for k, v in payload.items() if k not in ("format", "version", "sha256")})


def test_resume_with_other_optimizer_groups_says_how_they_differ(trained, tmp_path, lobster_dir):
    def one_group(payload):
        payload["optimizer"]["param_groups"] = payload["optimizer"]["param_groups"][:1]

    _edited_last(trained, tmp_path, one_group)
    with pytest.raises(ValueError, match=r"the optimizer of .*last\.pt has parameter groups of "
                                         r"\[\d+\] parameters, this run's of \[\d+, \d+\]: "
                                         r"resume with the options of that run"):
        train(config(TINY + ["--out", str(tmp_path), "--steps", "90", "--resume",
                             "--data-dir", str(lobster_dir)]))


def test_resume_from_a_file_without_optimizer_names_what_is_missing(trained, tmp_path,
                                                                    lobster_dir, capsys):
    _edited_last(trained, tmp_path, lambda payload: payload.pop("optimizer"))
    assert cli(["train-lmm", *TINY, "--out", str(tmp_path), "--steps", "90", "--resume",
                "--data-dir", str(lobster_dir)]) == 1
    assert re.search(r"error: --resume: .*last\.pt holds no optimizer \(not a last\.pt that "
                     r"train-lmm wrote\): start a new --out", capsys.readouterr().err)
