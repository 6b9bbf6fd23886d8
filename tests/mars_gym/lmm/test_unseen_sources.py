"""The LMM on sources it was not trained on: training and fine-tuning on a file by path, the
generic source row trained by source dropout, and a clear refusal when there is neither."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mars_gym.apps import parsers
from mars_gym.data import load_source, split_by_time
from mars_gym.lmm.checkpoint import load_lmm
from mars_gym.lmm.evaluate import score
from mars_gym.lmm.model import LMM
from mars_gym.lmm.sources import GENERIC_SOURCE_ROW, bind_source, median_order_size, own_row
from mars_gym.lmm.train import TrainConfig, train
from mars_gym.sim.flows.factory import make_flow

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--context", "32", "--batch", "8",
        "--eval-windows", "4", "--no-progress", "--no-tensorboard", "--warmup", "2",
        "--lr", "1e-2", "--steps", "20", "--eval-every", "20", "--no-mirror"]


def run(folder, *extra) -> str:
    """Train a tiny model into ``folder``; the path of its best checkpoint."""
    argv = [*TINY, "--out", str(folder), *map(str, extra)]
    train(parsers.config_from_arguments(TrainConfig, parsers.train_lmm().parse_args(argv)))
    return str(folder / "best.pt")


@pytest.fixture(scope="module")
def on_path_only(tmp_path_factory, new_ticker):
    """A tiny model trained on the unknown ticker alone, half its windows read through the
    generic row."""
    return run(tmp_path_factory.mktemp("path_only"), "--sources", new_ticker,
               "--source-dropout", "0.5")


def test_a_model_trains_on_a_file_by_path_and_generates_on_it(on_path_only, new_ticker):
    _, tokenizer = load_lmm(on_path_only)
    assert tokenizer.source_rows == {"ZZZZ_2012-06-21": 0} and tokenizer.generic_source
    assert own_row(tokenizer, load_source(new_ticker)) == 0
    # AMZN's id is 0 too, but the row now belongs to ZZZZ: AMZN is read through the generic row
    assert own_row(tokenizer, load_source("AMZN")) is None
    flow = make_flow("lmm", str(new_ticker), 6_000, checkpoint=on_path_only)
    assert flow.source == 0
    assert make_flow("lmm", "AMZN", 6_000, checkpoint=on_path_only).source == GENERIC_SOURCE_ROW


def test_an_unseen_source_reads_the_generic_row_with_its_own_size_scale(on_path_only):
    _, tokenizer = load_lmm(on_path_only)
    aapl = load_source("AAPL")
    bound_tokenizer, bound = bind_source(tokenizer, aapl)
    assert bound.source.source_id == GENERIC_SOURCE_ROW
    scale = median_order_size(split_by_time(aapl)["train"])
    assert bound_tokenizer.volume_scale[GENERIC_SOURCE_ROW] == scale
    assert GENERIC_SOURCE_ROW not in tokenizer.volume_scale  # the given tokenizer is untouched
    row = score(on_path_only, "val", ["AAPL"], max_windows=4)["sources"]["AAPL"]
    assert row["generic"] and np.log(49_152) > row["lmm_nll"] > 0


def test_a_model_without_a_generic_row_refuses_an_unseen_source_and_says_what_to_do(
        new_ticker):
    with pytest.raises(ValueError, match="no generic source row.*--init default --sources PATH"):
        make_flow("lmm", str(new_ticker), 6_000, checkpoint="mid")  # the first default
    # the shipped default was trained with source dropout: it reads it through the generic row
    assert make_flow("lmm", str(new_ticker), 6_000).source == GENERIC_SOURCE_ROW


def test_fine_tuning_the_default_keeps_its_rows_and_adds_the_new_source(tmp_path, new_ticker):
    path = run(tmp_path, "--init", "default", "--sources", new_ticker, "--steps", "4",
               "--eval-every", "4", "--source-dropout", "0", "--context", "256")
    _, tokenizer = load_lmm(path)
    _, default_tokenizer = load_lmm("default")
    assert tokenizer.source_rows["ZZZZ_2012-06-21"] == 4  # rows 0-3 are the shared sources'
    assert {k: tokenizer.volume_scale[k] for k in default_tokenizer.volume_scale} == (
        default_tokenizer.volume_scale)
    assert tokenizer.generic_source == default_tokenizer.generic_source
    assert make_flow("lmm", str(new_ticker), 6_000, checkpoint=path).source == 4
    assert make_flow("lmm", "AMZN", 6_000, checkpoint=path).source == 0


def test_source_dropout_is_what_trains_the_generic_row(tmp_path, lobster_dir):
    """Same seed, same initial weights: without dropout the generic row never moves; with
    every window dropped, AMZN's own row never does and the generic row does."""
    rows = {}
    for dropout in (0.0, 1.0):
        path = run(tmp_path / str(dropout), "--sources", "AMZN", "--seed", "3",
                   "--source-dropout", dropout, "--weight-decay", "0", "--data-dir", lobster_dir)
        rows[dropout] = load_lmm(path)[0].source_in.weight.detach()
    config = load_lmm(path)[0].config
    torch.manual_seed(3)  # as training does before building its model
    initial = LMM(config).source_in.weight.detach()
    assert torch.equal(rows[0.0][GENERIC_SOURCE_ROW], initial[GENERIC_SOURCE_ROW])
    assert torch.equal(rows[1.0][0], initial[0])
    assert (rows[1.0][GENERIC_SOURCE_ROW] - initial[GENERIC_SOURCE_ROW]).abs().max() > 1e-3
    assert (rows[0.0][0] - initial[0]).abs().max() > 1e-3


def test_trade_memory_cannot_be_added_by_fine_tuning(tmp_path):
    with pytest.raises(ValueError, match=r"--trade-memory \(on by default\): mid reads no trade"):
        run(tmp_path, "--init", "mid", "--trade-memory")
