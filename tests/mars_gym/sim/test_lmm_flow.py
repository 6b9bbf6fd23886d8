"""The shipped default LMM as a background flow, warm-started from real AMZN history."""

import numpy as np
import pytest

from lob_core import BUY, OrderBook
from mars_gym.data import load_source, split_by_time
from mars_gym.data.orders import BUY_ORDER
from mars_gym.data.schema import seed_book_from_state
from mars_gym.lmm.checkpoint import load_lmm
from mars_gym.sim.flows import run_alone
from mars_gym.sim.flows.lmm import LMMFlow, LMMFlowOptions
from mars_gym.sim.simulator import AGENT_MARKET, AgentOrder, Simulator

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
    flow = LMMFlow(model, tokenizer, history, LMMFlowOptions(history_orders=256))
    return run_alone(flow, book, start, start + SECONDS * 10**9, test.source, seed=seed)


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



def test_agent_orders_join_the_flows_sequence(setup):
    """An agent's market order reaches the book before the flow's drawn next order: that order
    is withdrawn, the model reads the agent's order as the next token of its sequence, and the
    flow's next order comes after the agent's."""
    model, tokenizer, test, history = setup
    book = OrderBook(1)
    seed_book_from_state(book, test.book[len(history)])
    start = int(test.events["time_ns"][len(history)])
    flow = LMMFlow(model, tokenizer, history,
                   LMMFlowOptions(history_orders=256, observe_agents=True))
    sim = Simulator(flow)
    sim.reset(book, start, seed=4)
    sim.run_until(start + 2 * 10**9)
    sim.submit(1, AgentOrder(AGENT_MARKET, side=1, size=300))
    arrival = sim.in_flight[0][0]
    sim.run_until(arrival - 1)  # the flow's drawn order now lies at or after the arrival
    withdrawn, previous_ns = sim.loop.pending, flow.agent_orders.before[0]
    assert withdrawn.time_ns >= arrival
    generator = flow.generation.generator
    position = int(generator.lengths[0])  # where the next token the model reads goes
    assert book.best_ask is not None  # the market buy has asks to hit
    # the touch the model reads the agent's order against: the flow's last two-sided one
    # while a side is empty (LMMFlow.observe)
    expected = tokenizer.encode_order(BUY_ORDER, 1, book.best_ask, 300, arrival - previous_ns,
                                      *(sim.touch() or flow.last_touch), test.source.source_id)
    offered = int(book.depth(1 << 10)[3].sum())  # the market order takes what the asks hold
    sim.run_until(arrival)
    assert int(generator.history.tokens[0, position]) == expected
    assert flow.time_ns >= arrival and sim.loop.pending.time_ns >= arrival
    assert sum(f.size for f in sim.account(1).fills) == min(300, offered)


def test_encode_order_matches_the_stream_encoder(setup):
    _, tokenizer, test, _ = setup
    window = test[:3_000]
    encoded = tokenizer.encode(window)
    orders, mids = encoded.orders, window.mid[encoded.orders["event"]]
    book = window.book[orders["event"]]
    intervals = np.diff(orders["time_ns"], prepend=orders["time_ns"][:1])
    picked = [i for i in range(1, len(orders)) if np.isfinite(mids[i])][:200]
    assert {int(orders["kind"][i]) for i in picked} == {0, 1, 2}
    for i in picked:
        assert tokenizer.encode_order(int(orders["kind"][i]), int(orders["side"][i]),
                                      int(orders["price"][i]), int(orders["size"][i]),
                                      int(intervals[i]), float(book["bid"][i]),
                                      float(book["ask"][i]), test.source.source_id
                                      ) == int(encoded.ids[i])


def test_without_the_option_the_flow_does_not_read_agent_orders(setup):
    """By default an agent's order changes the book the flow reads, not its token sequence."""
    model, tokenizer, test, history = setup
    book = OrderBook(1)
    seed_book_from_state(book, test.book[len(history)])
    start = int(test.events["time_ns"][len(history)])
    flow = LMMFlow(model, tokenizer, history, LMMFlowOptions(history_orders=256))
    sim = Simulator(flow)
    sim.reset(book, start, seed=4)
    sim.run_until(start + 2 * 10**9)
    sim.submit(1, AgentOrder(AGENT_MARKET, side=1, size=300))
    arrival = sim.in_flight[0][0]
    sim.run_until(arrival - 1)
    drawn = sim.loop.pending
    sim.run_until(arrival)
    assert sim.loop.pending == drawn  # the drawn order stands


def test_on_a_touch_only_source_the_lmm_flow_cancels_orders_behind_the_touch(lobster_dir):
    """AMZN's messages show only the touch, so the model never cancels behind it; the loop does
    it at the fitted rate. Over a simulated minute from the real book (depth ladder on), the
    unseen cancels take the flow's orders off behind the touch: the book ends with fewer of
    them there than the same run without them. AAPL's messages show 50 levels: no rate."""
    from mars_gym.sim.depth import source_ladder
    from mars_gym.sim.flows.factory import make_flow, unseen_cancel_rate
    from mars_gym.sim.ids import FIRST_FLOW_ORDER_ID, FIRST_LADDER_ORDER_ID

    stream = load_source("AMZN", lobster_dir)
    start = len(stream) - 6_000
    rate = unseen_cancel_rate("AMZN", lobster_dir)
    assert 0.05 < rate < 0.15
    behind, reports = {}, {}
    for unseen in (True, False):
        flow = make_flow("lmm", "AMZN", start, lobster_dir, unseen_cancels=unseen)
        assert flow.unseen_cancel_rate == (rate if unseen else 0.0)
        book = OrderBook(1)
        seed_book_from_state(book, stream.book[start])
        ladder = source_ladder("AMZN", lobster_dir)
        ladder.prepare(book, 0)
        begin = int(stream.events["time_ns"][start])
        reports[unseen] = run_alone(flow, book, begin, begin + 60 * 10**9, stream.source, 0,
                                   depth=ladder).report
        orders = book.orders_array()
        near = np.where(orders["side"] > 0, book.best_bid, book.best_ask)
        flows = (orders["order_id"] >= FIRST_FLOW_ORDER_ID) & (
            orders["order_id"] < FIRST_LADDER_ORDER_ID)  # the ladder's are never cancelled
        behind[unseen] = int((flows & (orders["side"] * (near - orders["price"]) > 0)).sum())
    assert reports[False]["unseen_cancels"] == 0 and reports[True]["unseen_cancels"] >= 10
    assert behind[True] < behind[False], behind
    assert make_flow("lmm", "AAPL", 5_000, lobster_dir).unseen_cancel_rate == 0.0
