"""An LMM flow whose model reads the trade memory: live, it counts every execution on its book
(an agent's included) exactly as training counts the real ones."""

import numpy as np
import pytest
import torch

from lob_core import OrderBook
from mars_gym.data import load_source, split_by_time
from mars_gym.data.schema import EXECUTE, seed_book_from_state
from mars_gym.lmm.checkpoint import save_checkpoint
from mars_gym.lmm.model import LMM, LMMConfig
from mars_gym.sim.flows.lmm import LMMFlow, LMMFlowOptions
from mars_gym.sim.simulator import AGENT_MARKET, AgentOrder, Simulator
from mars_gym.tokens import OrderTokenizer
from mars_gym.tokens.conditions import TRADE_MEMORY_S
from mars_gym.tokens.trade_memory import executions, memory_at
from tests.mars_gym.envs.test_vector import episode_alone_and_beside_another

S = 10**9


@pytest.fixture(scope="module")
def setup(lobster_dir):
    amzn = split_by_time(load_source("AMZN", lobster_dir))
    tokenizer = OrderTokenizer.fit([amzn["train"]], "touch", TRADE_MEMORY_S)
    torch.manual_seed(0)  # a small untrained model: the memory's path, not its use, is tested
    model = LMM(LMMConfig(n_layer=1, n_head=2, n_embd=32, context=512,
                          book_features=tokenizer.book_features)).eval()
    test = amzn["test"]
    return model, tokenizer, test, test[:2_000]


def _simulator(setup, seed):
    model, tokenizer, test, history = setup
    book = OrderBook(1)
    seed_book_from_state(book, test.book[len(history)])
    start = int(test.events["time_ns"][len(history)])
    flow = LMMFlow(model, tokenizer, history, LMMFlowOptions(history_orders=64))
    sim = Simulator(flow)
    sim.reset(book, start, seed=seed)
    return sim, flow, start


def test_the_live_memory_is_the_training_memory_of_history_and_simulation(setup):
    """The memory the flow last read equals :func:`memory_at` over the history's events and
    the simulation's recorded ones, the agent's market buy among them."""
    _, _, _, history = setup
    sim, flow, start = _simulator(setup, seed=2)
    sim.run_until(start + S)
    sim.submit(1, AgentOrder(AGENT_MARKET, side=1, size=300))
    arrival = sim.in_flight[0][0]
    sim.run_until(arrival)
    sim.run_until(sim.loop.pending.time_ns)  # the flow draws again after the agent's trade
    recorded = sim.recording.events()
    bought = sum(f.size for f in sim.account(1).fills)
    assert bought > 0 and flow.trade_feed.seen > int(np.flatnonzero(
        (recorded["type"] == EXECUTE) & (recorded["time_ns"] == arrival))[-1])
    events = np.concatenate([history.events, recorded[:flow.trade_feed.seen]])
    _, times, signed = executions(events)
    expected = memory_at(times, signed, np.array([len(signed)]), np.array([flow.time_ns]),
                         TRADE_MEMORY_S)[0]
    np.testing.assert_allclose(flow.trade_feed.memory.at(flow.time_ns), expected, rtol=1e-9)
    # the agent's buy is in it: without its executions the memory is lower by its decayed size
    agent = (events["type"] == EXECUTE) & (events["time_ns"] == arrival) & (events["side"] < 0)
    _, times, signed = executions(events[~agent])
    without = memory_at(times, signed, np.array([len(signed)]), np.array([flow.time_ns]),
                        TRADE_MEMORY_S)[0]
    decay = np.exp(-(flow.time_ns - arrival) / S / np.array(TRADE_MEMORY_S))
    np.testing.assert_allclose(expected - without, bought * decay, rtol=1e-9)


def test_a_flow_that_reads_trades_needs_its_book_s_recording(setup):
    model, tokenizer, test, history = setup
    book = OrderBook(1)
    seed_book_from_state(book, test.book[len(history)])
    flow = LMMFlow(model, tokenizer, history, LMMFlowOptions(history_orders=64))
    flow.reset(0, book, int(test.events["time_ns"][len(history)]))
    flow.next_order()  # primed at the reset, from the history's memory
    with pytest.raises(RuntimeError, match="reads the trades on its book"):
        flow.next_order()


def test_batched_streams_each_read_their_own_memory(setup, lobster_dir, tmp_path):
    """In the vector env the waiting flows' memories are submitted together: an episode runs
    alike alone and beside another one."""
    model, tokenizer, _, _ = setup
    path = save_checkpoint(tmp_path / "reads_trades.pt", model, tokenizer)
    alone, beside = episode_alone_and_beside_another(
        flow="lmm", source="AMZN", data_dir=lobster_dir, action_mode="lots",
        lmm_checkpoint=str(path), horizon_s=20, step_s=10, quantity=500)
    assert alone == beside
