"""Flows by name, builder or instance: a new flow is one class and one registration line, and
what a flow can do beyond drawing orders is a protocol, not its name."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import mars_gym  # noqa: F401  registers the environments
from mars_gym.data.orders import BUY_ORDER, SELL_ORDER
from mars_gym.sim.flow_names import FLOWS
from mars_gym.sim.flows import FlowOrder
from mars_gym.sim.flows.base import AgentObservingFlow, BatchedFlow, observes_agents
from mars_gym.sim.flows.factory import make_flow
from mars_gym.sim.flows.registry import flow_names, flow_spec, register_flow
from mars_gym.sim.ids import FIRST_FLOW_ORDER_ID

SHORT = {"split": "test", "horizon_s": 40, "step_s": 20, "quantity": 300, "source": "AAPL"}


class QuoteFlow:
    """Joins the touch, alternating sides, every ``interval_ns``: a flow a user might add."""

    def __init__(self, interval_ns: int = 50_000_000, size: int = 100) -> None:
        self.interval_ns, self.size = interval_ns, size

    def reset(self, seed, book, start_ns):
        self.book, self.time_ns, self.n = book, start_ns, 0
        self.rng = np.random.default_rng(seed)

    def next_order(self):
        self.time_ns += self.interval_ns
        self.n += 1
        side = 1 if self.n % 2 else -1
        price = (self.book.best_bid if side > 0 else self.book.best_ask) or 10_000
        return FlowOrder(self.time_ns, BUY_ORDER if side > 0 else SELL_ORDER, side, price,
                         self.size * int(self.rng.integers(1, 4)))


def quote_builder(source, start, data_dir):
    return QuoteFlow()


register_flow("quote_test", quote_builder, description="joins the touch (test flow)")


def episode(flow, lobster_dir, seed=3):
    env = gym.make("MarS-Execution-v0", flow=flow, data_dir=lobster_dir, **SHORT).unwrapped
    env.action_space.seed(seed)
    env.reset(seed=seed)
    rewards, done = [], False
    while not done:
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        rewards.append(reward)
        done = terminated or truncated
    return rewards, info, env


def test_a_registered_flow_runs_by_name_like_its_builder_and_an_instance(lobster_dir):
    assert "quote_test" in flow_names() and flow_names()[:len(FLOWS)] == FLOWS
    by_name, info, env = episode("quote_test", lobster_dir)
    assert isinstance(env.sim.flow, QuoteFlow)
    assert env.sim.next_flow_id - FIRST_FLOW_ORDER_ID >= 40 * 20 * 0.9  # ~20 orders a second ran
    assert info["filled"] == 300
    assert episode(quote_builder, lobster_dir)[0] == by_name
    instance = QuoteFlow()
    assert episode(instance, lobster_dir)[0] == by_name
    assert episode(instance, lobster_dir)[0] == by_name  # reset at every episode


def test_flow_options_are_checked_per_flow(lobster_dir):
    with pytest.raises(ValueError, match="flow 'quote_test' takes no option 'history_orders'"):
        make_flow("quote_test", "AAPL", 10, lobster_dir, history_orders=64)
    with pytest.raises(ValueError, match="are for registered flows"):
        make_flow(QuoteFlow(), "AAPL", 10, lobster_dir, history_orders=64)
    with pytest.raises(ValueError, match="unknown flow 'nope'.*register_flow"):
        make_flow("nope", "AAPL", 10, lobster_dir)
    with pytest.raises(ValueError, match="flow must be a registered name"):
        gym.make("MarS-Execution-v0", flow=3, data_dir=lobster_dir, **SHORT)
    with pytest.raises(ValueError, match="already registered"):
        register_flow("quote_test", quote_builder)
    with pytest.raises(ValueError, match="identifier"):
        register_flow("no spaces", quote_builder)
    with pytest.raises(TypeError, match="must be callable"):
        register_flow("not_callable", 3)
    assert flow_spec("lmm").checkpoint == "default"
    assert flow_spec("ensemble").checkpoint == "ensemble"
    assert flow_spec("hawkes").checkpoint is None and flow_spec("replay").options == frozenset()


def test_abilities_are_protocols_not_names(lobster_dir):
    lmm = make_flow("lmm", "AMZN", 5_000, lobster_dir)
    watching = make_flow("lmm", "AMZN", 5_000, lobster_dir, observe_agents=True)
    noise = make_flow("noise", "AMZN", 5_000, lobster_dir)
    assert isinstance(lmm, BatchedFlow) and isinstance(lmm, AgentObservingFlow)
    assert not observes_agents(lmm) and observes_agents(watching)
    assert not isinstance(noise, BatchedFlow) and not observes_agents(noise)
    assert not isinstance(QuoteFlow(), BatchedFlow) and not observes_agents(QuoteFlow())
