"""The shipped default checkpoint: loads offline by name, beats the baselines, reads the book."""

import numpy as np
import torch

from mars_gym.data import load_source, split_by_time
from mars_gym.lmm.checkpoint import NAMED, load_lmm
from mars_gym.lmm.data import history_inputs
from mars_gym.lmm.evaluate import score
from mars_gym.tokens.conditions import BOOK_FEATURES, TRADE_MEMORY_S
from mars_gym.tokens.trade_memory import TradeMemory


def test_default_is_small_and_loads_by_name():
    assert NAMED["default"].stat().st_size < 5 * 2**20
    model, tokenizer = load_lmm("default")
    assert 0.9e6 < model.n_params() < 1.2e6
    assert sorted(tokenizer.volume_scale) == [0, 1, 2, 3]
    # touch prices, the spread and the trade memory's two timescales in the conditions
    assert tokenizer.price_reference == "touch" and tokenizer.trade_memory_s == TRADE_MEMORY_S
    assert model.config.book_features == BOOK_FEATURES + 1 + 2
    assert tokenizer.generic_source  # it serves instruments it was not trained on
    # the same buy and sell price bins: it was trained on each day and its mirror
    assert np.array_equal(tokenizer.price_bins[0].lower, tokenizer.price_bins[1].lower)
    # no clock and no price level: trained on one day per source, those teach the day's path
    assert model.config.tod_frequencies == 0 and model.config.price_change is False
    mid, mid_tokenizer = load_lmm("mid")  # the first default, kept by name
    assert mid_tokenizer.price_reference == "mid" and not mid_tokenizer.trade_memory_s
    assert mid.config.book_features == BOOK_FEATURES
    assert NAMED["mid"].stat().st_size < 5 * 2**20 and 0.9e6 < mid.n_params() < 1.2e6


def test_default_beats_both_baselines_on_amzn_validation(lobster_dir):
    result = score("default", "val", sources=["AMZN"], data_dir=lobster_dir)["sources"]["AMZN"]
    assert result["lmm_ppl"] < 0.5 * min(result["unigram_ppl"], result["factorized_ppl"])


@torch.no_grad()
def test_next_order_distribution_depends_on_the_live_book(lobster_dir):
    model, tokenizer = load_lmm("default")
    test = split_by_time(load_source("AMZN", lobster_dir))["test"]
    i, history = 2_000, test[:2_000]
    state = np.r_[test.book["bid"][i], test.book["ask"][i], test.book["bid_qty"][i],
                  test.book["ask_qty"][i]]
    time_ns = int(test.events["time_ns"][i])

    memory = TradeMemory(tokenizer.trade_memory_s)  # the real trades before the book
    memory.start(history.events, time_ns)

    def next_order_log_probs(tick_state):
        live = tokenizer.live_conditions(tick_state, time_ns, test.open_mid, 0,
                                         memory.at(time_ns)[None])
        tokens, cond = history_inputs(tokenizer, history, live, 256)
        return model.joint_log_probs(model.hidden(tokens, cond)[:, -1])[0]

    heavy_bid = state.copy()
    heavy_bid[2] += 5_000  # a large bid at the touch
    p, q = next_order_log_probs(state).exp(), next_order_log_probs(heavy_bid).exp()
    assert float((p - q).abs().sum() / 2) > 0.1  # total variation distance
