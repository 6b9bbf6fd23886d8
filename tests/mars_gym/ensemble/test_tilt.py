"""Plan guidance: the biases that tilt the order model towards a chosen minute, and their
effect on sampled tokens and on the generated flow."""

import numpy as np
import pytest
import torch

from lob_core import OrderBook
from mars_gym.data import SOURCES, load_source
from mars_gym.data.orders import BUY_ORDER, CANCEL_ORDER, SELL_ORDER
from mars_gym.data.schema import seed_book_from_state
from mars_gym.ensemble.control import minute_statistic
from mars_gym.ensemble.tilt import MAX_BIAS, PlanTilt
from mars_gym.lmm.checkpoint import load_lmm
from mars_gym.lmm.keyed_draws import StreamNoise
from mars_gym.lmm.model import LMM, LMMConfig
from mars_gym.minutes.tokenizer import MinuteTokenizer
from mars_gym.sim.flows import run_alone
from mars_gym.sim.flows.factory import make_flow
from mars_gym.tokens.scheme import N_PRICE_BINS


@pytest.fixture(scope="module")
def tilt():
    tokenizer = load_lmm("ensemble")[1]
    imager = MinuteTokenizer.load("default").imagers["AMZN"]
    source = SOURCES["AMZN"].source_id
    return PlanTilt(tokenizer, imager, source, guidance=1.0)


def _minute(buys, sells, cancels, sell_slot=None):
    counts = np.zeros((3, 32, 32))
    counts[BUY_ORDER, 14:18, 10] = buys / 4
    counts[SELL_ORDER, 14:18, 10] = sells / 4
    counts[CANCEL_ORDER, 14:18, 10] = cancels / 4
    if sell_slot is not None:  # the sells, all in one price slot
        counts[SELL_ORDER, :, :] = 0
        counts[SELL_ORDER, sell_slot, 10] = sells
    return counts


def test_biases_follow_the_chosen_minute_against_the_expected_one(tilt):
    expected = _minute(40, 40, 40)
    assert tilt.biases(tilt.shares(expected, expected), 0.0, 1.0, 1.0) is None  # same minute
    slots = tilt.imager.price_bins.transform(tilt.price_offset[SELL_ORDER])  # of the sell bins
    slot = slots[N_PRICE_BINS // 2]
    chosen = _minute(10, 80, 40, sell_slot=slot)
    kind, price, volume, interval = tilt.biases(tilt.shares(chosen, expected), 0.0, 3.0, 1.0)
    assert kind[SELL_ORDER] > 0 > kind[BUY_ORDER]  # more sells than expected
    sells = price[SELL_ORDER]
    assert sells[slots == slot].min() > sells[slots != slot].max()  # where they sit
    assert np.all(np.diff(interval) <= 0)  # a faster rate is needed: shorter waits
    assert np.abs(np.concatenate([b.ravel() for b in (kind, price, volume, interval)])).max() \
        <= MAX_BIAS
    slower = tilt.biases(tilt.shares(_minute(10, 80, 40), expected), 0.0, 0.5, 2.0)[3]
    assert np.all(np.diff(slower) >= 0)  # the flow runs ahead of the plan: longer waits
    off = PlanTilt(load_lmm("ensemble")[1], tilt.imager, 0, guidance=0.0)
    assert off.biases(off.shares(_minute(10, 80, 40), expected), 0.0, 3.0, 1.0) is None
    with pytest.raises(ValueError, match="non-negative"):
        PlanTilt(load_lmm("ensemble")[1], tilt.imager, 0, guidance=-1.0)


def test_sampling_adds_each_parts_bias_by_the_drawn_kind():
    torch.manual_seed(0)
    model = LMM(LMMConfig(n_layer=1, n_head=2, n_embd=32, context=16)).eval()
    h = torch.randn(1, 32).expand(500, -1)
    no_bias = [torch.zeros(500, 3), torch.zeros(500, 3, 32), torch.zeros(500, 3, 32),
               torch.zeros(500, 16)]
    noise = StreamNoise(1, 500).next()
    plain = model.sample(h, noise)
    assert torch.equal(plain, model.sample(h, noise, bias=no_bias))
    bias = [b.clone() for b in no_bias]
    bias[0][:, SELL_ORDER] = 50.0           # every draw a sell …
    bias[1][:, SELL_ORDER, 7] = 50.0        # … in price bin 7 (for sells only)
    bias[1][:, BUY_ORDER, 3] = 50.0
    ids = model.sample(h, noise, bias=bias)
    kind, price = ids // (32 * 32 * 16), ids // (32 * 16) % 32
    assert (kind == SELL_ORDER).all() and (price == 7).all()


def _pressure(guidance, seed, lobster_dir):
    stream = load_source("AMZN", lobster_dir)
    start = int(len(stream) * 0.85)
    flow = make_flow("ensemble", "AMZN", start, lobster_dir, target="drop", guidance=guidance)
    book = OrderBook(1)
    seed_book_from_state(book, stream.book[start])
    begin = int(stream.events["time_ns"][start])
    generated = run_alone(flow, book, begin, begin + 60 * 10**9, stream.source, seed)
    imager = flow.planner.imager
    return minute_statistic("pressure", imager.images(generated).images, imager).mean()


def test_guided_flow_follows_a_drop_target(lobster_dir):
    """The chosen minutes of a 'drop' lean to selling; with guidance the generated orders do
    too (measured on the generated events), without it much less."""
    guided = np.mean([_pressure(1.0, seed, lobster_dir) for seed in (0, 1)])
    unguided = np.mean([_pressure(0.0, seed, lobster_dir) for seed in (0, 1)])
    assert guided < unguided - 0.1
