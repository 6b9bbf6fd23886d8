"""The task of impact studies: a scheduled parent order, then a decay phase with no orders.

:class:`ImpactEnv` trades a parent of ``quantity`` lots (0: none, the twin run without the
order) over ``execution_s`` with the actor's lots actions, sends what is left at market at the
first decision after the execution, and lets the market run ``decay_s`` more. The mid at every
decision is kept in ``mid_samples`` (the arrival first): the impact path. Built from the same
parts as ``MarS-Execution-v0`` (:class:`~mars_gym.envs.scenario.MarketScenario`, the lots
actions of :class:`~mars_gym.envs.actions.ExecutionActions`, the same order sending).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mars_gym.envs.actions import ExecutionActions, send_parent_orders
from mars_gym.envs.arguments import real_number, whole_number
from mars_gym.envs.base import ScenarioEnv
from mars_gym.envs.execution import MAX_QUANTITY
from mars_gym.envs.observations import Feature, ObservationSpec
from mars_gym.envs.rewards import fill_advantage_bps
from mars_gym.envs.scenario import MarketScenario
from mars_gym.sim.ids import AGENT_ID

IMPACT_OBSERVATION = ObservationSpec((
    Feature("time_left", 0, 1, "time left, fraction of execution and decay"),
    Feature("quantity_left", 0, 1, "quantity left, fraction of the parent (0 without one)"),
    Feature("return_bps", -1000, 1000,
            "mid return since arrival, bps, signed by side (+ = price moved against)"),
    Feature("decaying", 0, 1, "1 once the execution is over"),
))


class ImpactEnv(ScenarioEnv):
    """A parent order over ``execution_s``, then ``decay_s`` of market alone (see the module
    docstring). Actions are ``"lots"`` actions of ``MarS-Execution-v0`` (passive lots at the
    near touch, aggressive lots, level), capped by what is left, and are only read during the
    execution. The reward is the fills' price advantage against the arrival mid (bps, share
    of the parent); the episode terminates after the decay. ``reset`` options:
    ``start_index``, ``side`` ("buy"/"sell") and ``quantity`` (0 allowed)."""

    agent_id = AGENT_ID
    reset_options = ("start_index", "side", "quantity")

    def __init__(self, source: str = "AMZN", split: str = "test", flow: Any = "lmm",
                 execution_s: float = 120.0, decay_s: float = 120.0, step_s: float = 10.0,
                 quantity: int = 100, side: str = "buy", max_quantity: int | None = None,
                 latency_ns: int = 1_000_000, latency_sigma: float = 0.0,
                 depth_ladder: bool = True, data_dir=None, lmm_observes_agents: bool = False,
                 lmm_checkpoint: str | None = None, generator_service=None,
                 render_mode: str | None = None) -> None:
        self.set_render_mode(render_mode)
        step_s = real_number("step_s", step_s, 1e-9, low_open=False)
        execution_s = real_number("execution_s", execution_s, step_s)
        decay_s = real_number("decay_s", decay_s, 0.0)
        if not (execution_s / step_s).is_integer() or not (decay_s / step_s).is_integer():
            raise ValueError("execution_s and decay_s must be whole multiples of step_s")
        if side not in ("buy", "sell"):
            raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
        self.quantity = whole_number("quantity", quantity, 0, MAX_QUANTITY)
        most = whole_number("max_quantity", max_quantity or max(self.quantity, 1), 1,
                            MAX_QUANTITY)
        self.side = 1 if side == "buy" else -1
        self.actions = ExecutionActions("lots", max_quantity=most)
        self.action_space = self.actions.space
        self.observation_space = IMPACT_OBSERVATION.space
        self.step_ns = int(step_s * 1e9)
        self.n_execution = round(execution_s / step_s)
        self.n_decisions = self.n_execution + round(decay_s / step_s)
        self.horizon_ns = self.n_decisions * self.step_ns
        self.scenario = MarketScenario(
            source, split, self.horizon_ns, flow,
            {"observe_agents": lmm_observes_agents, "checkpoint": lmm_checkpoint},
            latency_ns, latency_sigma, depth_ladder, data_dir, generator_service)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        options, start = self.start_episode(seed, options)
        if "side" in options:
            if options["side"] not in ("buy", "sell"):
                raise ValueError(f"options['side'] must be 'buy' or 'sell', got "
                                 f"{options['side']!r}")
            self.side = 1 if options["side"] == "buy" else -1
        self.quantity = whole_number("options['quantity']",
                                     options.get("quantity", self.quantity), 0,
                                     self.actions.max_quantity)
        self.sim = self.scenario.begin(start, int(self.np_random.integers(2**31)))
        self.start_ns = self.sim.now
        book = self.sim.book
        self.arrival_mid = self.sim.mid() or float(book.best_bid or book.best_ask)
        self.last_mid = self.arrival_mid
        self.mid_samples = [self.arrival_mid]
        self.decision, self.done, self.fills_seen = 0, False, 0
        self.passive_id: int | None = None
        return self._observation(), self._info()

    @property
    def filled(self) -> int:
        return self.sim.account(AGENT_ID).filled

    def plan(self, action) -> tuple[int, int, int]:
        """The actor's orders during the execution, the rest at market at the first decision
        after it, nothing later."""
        left = self.quantity - self.filled
        orders = self.actions.orders(action, left, max(self.n_execution - self.decision, 1))
        if self.decision < self.n_execution:
            return orders
        if self.decision == self.n_execution and left > 0:
            return 0, left, 0
        return 0, 0, 0

    def send_orders(self, orders: tuple[int, int, int]) -> None:
        self.passive_id = send_parent_orders(self.sim, AGENT_ID, self.side, self.passive_id,
                                             *orders)
        self.decision += 1
        self.target = self.start_ns + self.decision * self.step_ns

    def finish_step(self):
        fills = self.sim.account(AGENT_ID).fills[self.fills_seen:]
        self.fills_seen += len(fills)
        reward = fill_advantage_bps(self, fills) if self.quantity else 0.0
        self.last_mid = self.sim.mid() or self.last_mid
        self.mid_samples.append(self.last_mid)
        terminated = self.decision >= self.n_decisions
        self.done = terminated
        return self._observation(), float(reward), terminated, False, self._info()

    def _observation(self) -> np.ndarray:
        left = (self.quantity - self.filled) / self.quantity if self.quantity else 0.0
        return IMPACT_OBSERVATION.vector({
            "time_left": 1 - self.decision / self.n_decisions,
            "quantity_left": left,
            "return_bps": self.side * (self.last_mid / self.arrival_mid - 1) * 1e4,
            "decaying": float(self.decision >= self.n_execution),
        })

    def _info(self) -> dict[str, Any]:
        return {"decision": self.decision, "filled": self.filled, "quantity": self.quantity,
                "side": self.side, "mid": self.last_mid, "arrival_mid": self.arrival_mid,
                "time_ns": self.sim.now}

