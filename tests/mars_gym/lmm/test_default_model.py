"""The shipped default checkpoint: loads offline by name, beats the baselines, reads the book."""

import numpy as np
import torch

from mars_gym.data import load_source, split_by_time
from mars_gym.lmm.checkpoint import NAMED, load_lmm
from mars_gym.lmm.data import history_inputs
from mars_gym.lmm.evaluate import score


def test_default_is_small_and_loads_by_name():
    assert NAMED["default"].stat().st_size < 5 * 2**20
    model, tokenizer = load_lmm("default")
    assert 0.9e6 < model.n_params() < 1.2e6
    assert sorted(tokenizer.volume_scale) == [0, 1, 2, 3]
    assert tokenizer.price_reference == "mid" and model.config.book_features == 10
    touch, touch_tokenizer = load_lmm("touch")  # the touch-token model, shipped by name
    assert touch_tokenizer.price_reference == "touch" and touch.config.book_features == 11
    assert NAMED["touch"].stat().st_size < 5 * 2**20 and 0.9e6 < touch.n_params() < 1.2e6


def test_default_beats_both_baselines_on_amzn_validation(lobster_dir):
    result = score("default", "val", sources=["AMZN"], data_dir=lobster_dir)["sources"]["AMZN"]
    assert result["lmm_ppl"] < 0.5 * min(result["unigram_ppl"], result["factorized_ppl"])


def test_the_touch_model_beats_both_baselines_on_amzn_validation(lobster_dir):
    """Measured: 464 against a unigram of 871 and a factorized baseline of 4,278 (its touch
    tokenizer's bins make the unigram far stronger than the default's, 15,433)."""
    result = score("touch", "val", sources=["AMZN"], data_dir=lobster_dir)["sources"]["AMZN"]
    assert result["lmm_ppl"] < 0.6 * min(result["unigram_ppl"], result["factorized_ppl"])


@torch.no_grad()
def test_next_order_distribution_depends_on_the_live_book(lobster_dir):
    model, tokenizer = load_lmm("default")
    test = split_by_time(load_source("AMZN", lobster_dir))["test"]
    i, history = 2_000, test[:2_000]
    state = np.r_[test.book["bid"][i], test.book["ask"][i], test.book["bid_qty"][i],
                  test.book["ask_qty"][i]]
    time_ns = int(test.events["time_ns"][i])

    def next_order_log_probs(tick_state):
        live = tokenizer.live_conditions(tick_state, time_ns, test.open_mid, 0)
        tokens, cond = history_inputs(tokenizer, history, live, 256)
        return model.joint_log_probs(model.hidden(tokens, cond)[:, -1])[0]

    heavy_bid = state.copy()
    heavy_bid[2] += 5_000  # a large bid at the touch
    p, q = next_order_log_probs(state).exp(), next_order_log_probs(heavy_bid).exp()
    assert float((p - q).abs().sum() / 2) > 0.1  # total variation distance
