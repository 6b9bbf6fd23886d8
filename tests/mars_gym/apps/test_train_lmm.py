"""``mars-gym train-lmm``: its options are :class:`TrainConfig`'s fields, and with none it
trains the shipped default's recipe again."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mars_gym.apps import parsers
from mars_gym.apps.train_lmm import main, plans_from_arguments
from mars_gym.lmm.checkpoint import load_lmm, read_checkpoint
from mars_gym.lmm.recipe import TrainConfig
from mars_gym.lmm.train import model_config, prepare_tokenizer


def resolved(*argv: str) -> TrainConfig:
    """The configuration ``mars-gym train-lmm ARGV`` runs."""
    return parsers.config_from_arguments(TrainConfig, parsers.train_lmm().parse_args(list(argv)))


def test_every_field_of_the_config_is_an_option_with_the_field_default():
    assert resolved() == TrainConfig()
    options = vars(parsers.train_lmm().parse_args([]))
    assert {f.name for f in dataclasses.fields(TrainConfig)} <= set(options)
    assert set(options) - {f.name for f in dataclasses.fields(TrainConfig)} == {
        "plan_tokenizer", "plan_model"}


def test_switches_of_the_recipe_can_be_turned_off():
    config = resolved("--no-trade-memory", "--no-mirror", "--price-change", "--no-tensorboard",
                      "--sources", "AMZN", "--context", "32")
    assert not config.trade_memory and not config.mirror and config.price_change
    assert not config.tensorboard and config.sources == ("AMZN",) and config.context == 32
    assert resolved("--trade-memory", "--no-price-change") == TrainConfig()  # the old spellings


def test_the_trade_rate_option_is_retired(capsys):
    with pytest.raises(SystemExit):
        parsers.train_lmm().parse_args(["--trade-rate"])
    assert "unrecognized arguments: --trade-rate" in capsys.readouterr().err
    assert not hasattr(TrainConfig(), "trade_rate")


def test_train_lmm_with_no_flags_resolves_to_the_shipped_recipe(lobster_dir):
    config = dataclasses.replace(resolved(), data_dir=lobster_dir)
    shipped = read_checkpoint("default")
    assert model_config(config).to_dict() == shipped["config"]
    _, shipped_tokenizer = load_lmm("default")
    # the tokenizer the recipe fits on the shared data is the shipped one, array for array
    # (price reference, trade memory, the mirrors' bins, source rows, the generic row)
    tokenizer, _ = prepare_tokenizer(config)
    assert tokenizer.price_reference == shipped_tokenizer.price_reference == "touch"
    assert tokenizer.trade_memory_s == shipped_tokenizer.trade_memory_s
    assert tokenizer.source_rows == shipped_tokenizer.source_rows
    assert tokenizer.generic_source and shipped_tokenizer.generic_source
    ours, theirs = tokenizer.state(), shipped_tokenizer.state()
    assert set(ours) == set(theirs)
    assert all(np.array_equal(ours[key], theirs[key]) for key in ours)
    # without the mirror the recipe's bins would differ: the comparison sees it
    unmirrored, _ = prepare_tokenizer(dataclasses.replace(config, mirror=False))
    assert not np.array_equal(unmirrored.state()["price0.lower"], theirs["price0.lower"])


def test_a_plan_model_needs_a_plan_tokenizer():
    assert plans_from_arguments(parsers.train_lmm().parse_args([])) is None
    with pytest.raises(ValueError, match="--plan-model needs --plan-tokenizer"):
        main(["--plan-model", "x.pt", "--out", "unused"])
