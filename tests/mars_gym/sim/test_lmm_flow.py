"""The shipped default LMM as a background flow, warm-started from real AMZN history."""

import numpy as np
import pytest

from lob_core import BUY, OrderBook
from mars_gym.data import load_source, split_by_time
from mars_gym.data.schema import seed_book_from_state
from mars_gym.lmm.checkpoint import load_lmm
from mars_gym.sim.flows import run_flow
from mars_gym.sim.flows.lmm import LMMFlow

SECONDS = 120


@pytest.fixture(scope="module")
def setup(lobster_dir):
    model, tokenizer = load_lmm("default")
    test = split_by_time(load_source("AMZN", lobster_dir))["test"]
    history = test[:2_000]
    return model, tokenizer, test, history


def _run(setup, seed, agent_order=False):
    model, tokenizer, test, history = setup
    book = OrderBook(1)
    seed_book_from_state(book, test.book[len(history)])
    if agent_order:  # a large agent bid at the touch: part of the live book the flow sees
        book.limit(BUY, int(test.book["bid"][len(history)]), 5_000, order_id=10**12,
                   agent_id=7)
    start = int(test.events["time_ns"][len(history)])
    flow = LMMFlow(model, tokenizer, history, history_orders=256)
    return run_flow(flow, book, start, start + SECONDS * 10**9, test.source, seed=seed)


def test_lmm_flow_generates_valid_realistic_orders(setup):
    stream = _run(setup, seed=0)
    assert len(stream) > 50
    book = stream.book
    both = (book["bid"] > 0) & (book["ask"] > 0)
    assert (book["bid"][both] < book["ask"][both]).all()
    sizes = stream.events["size"][stream.events["type"] == 0]
    values, counts = np.unique(sizes, return_counts=True)
    assert values[counts.argmax()] == 100  # AMZN's round lot is the most common size
    times = stream.events["time_ns"]
    assert (np.diff(times) >= 0).all() and times[-1] - times[0] <= SECONDS * 10**9


def test_same_seed_same_orders(setup):
    a, b = _run(setup, seed=3), _run(setup, seed=3)
    assert np.array_equal(a.events, b.events)


def test_the_flow_reacts_to_the_live_book(setup):
    """Same seed, one extra agent order in the book: the generated flow changes."""
    plain, with_agent = _run(setup, seed=3), _run(setup, seed=3, agent_order=True)
    n = min(len(plain), len(with_agent), 200)
    assert not np.array_equal(plain.events[:n], with_agent.events[:n])
