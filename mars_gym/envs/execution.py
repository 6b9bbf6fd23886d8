"""``MarS-Execution-v0``: execute a parent order against a simulated market that reacts.

Built from parts: the market comes from a :class:`~mars_gym.envs.scenario.MarketScenario`,
the action from :class:`~mars_gym.envs.actions.ExecutionActions`, the observation from
:data:`EXECUTION_OBSERVATION`, the reward from :mod:`mars_gym.envs.rewards` and the info from
:func:`~mars_gym.envs.metrics.execution_metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from mars_gym.data.default_market import DEFAULT_SOURCE
from mars_gym.envs.actions import ACTION_MODES, ExecutionActions, send_parent_orders
from mars_gym.envs.arguments import MAX_HORIZON_S, MAX_PENALTY, real_number, whole_number
from mars_gym.envs.base import ScenarioEnv
from mars_gym.envs.metrics import OPTIONAL_INFO, execution_metrics
from mars_gym.envs.observations import MAX_SPREAD_TICKS, Feature, ObservationSpec, touch_features
from mars_gym.envs.rewards import execution_reward
from mars_gym.envs.scenario import MarketScenario
from mars_gym.sim.ids import AGENT_ID
from mars_gym.sim.simulator import AGENT_CANCEL, AGENT_MARKET, AgentOrder

# Lot counts stay exact in the float32 action and observation spaces.
MAX_QUANTITY = 2**24
EXECUTION_OBSERVATION = ObservationSpec((
    Feature("time_left", 0, 1, "time left, fraction of the horizon"),
    Feature("quantity_left", 0, 1, "quantity left, fraction of the parent order"),
    Feature("imbalance", -1, 1, "top-of-book imbalance (bid - ask) / (bid + ask)"),
    Feature("spread_ticks", 0, MAX_SPREAD_TICKS, "spread in ticks (clipped)"),
    Feature("return_bps", -1000, 1000,
            "mid return since arrival, bps, signed by side (+ = price moved against)"),
    Feature("volatility_bps", 0, 1000, "absolute mid return over the last step, bps"),
    Feature("market_volume", 0, 100,
            "market volume traded in the last step / parent quantity (clipped)"),
    Feature("resting_passive", 0, 1, "the agent's resting passive quantity / parent quantity"),
))
__all__ = ["ACTION_MODES", "EXECUTION_OBSERVATION", "MAX_QUANTITY", "OPTIONAL_INFO",
           "ExecutionEnv"]


class ExecutionEnv(ScenarioEnv):
    """Buy or sell a parent order within a horizon, in a simulated market (MarS's task).

    ## Description
    The agent must execute ``quantity`` lots on ``side`` within ``horizon_s`` seconds, deciding
    every ``step_s`` seconds. The rest of the market is a background flow (``lmm``: the Large
    Market Model, which reacts to the agent's orders; ``replay``: the recorded orders, which
    do not; ``noise``; ``hawkes``), started from the real book and history of ``source`` at a
    start time of one of its splits (``split``: train by default; the evaluation protocol of
    :mod:`agents.evaluation` uses test). Agent orders reach the book after ``latency_ns``.
    ``quantity`` and ``side`` may name several values: each episode then draws one.

    ## Action Space
    ``MultiDiscrete([11, 6])``. ``action[0] = r`` posts a passive limit order of
    ``round(r / 10 * slice)`` lots at the near touch (best bid for a buy), replacing the previous
    one; ``slice = ceil(remaining / decisions_left)``. ``action[1] = k`` (1..5) crosses the spread
    with an IOC order for the rest of the slice at the k-th best opposite price level (0: none).
    ``MarS-ExecutionContinuous-v0`` takes ``Box([0, 0], [1, 5])`` (ratio, level rounded).

    ``action_mode="lots"`` (for scheduled strategies such as the baselines of :mod:`agents`,
    which may trade faster than ``slice``) takes ``Box([0, 0, 0], [Q, Q, 5])``: ``(passive
    lots at the near touch, aggressive lots, level)``, rounded and capped by what is left; the
    aggressive lots cross with an IOC order at the ``level``-th opposite price, or go as a
    market order when ``level`` is 0.

    ## Observation Space
    ``Box(8,)`` float32 (:data:`EXECUTION_OBSERVATION`, names in its ``names``):

    {observation_table}

    ## Rewards
    ``reward="price_advantage"`` (default): price advantage in basis points against the
    arrival mid, weighted by the filled fraction: for each fill,
    ``side * (arrival_mid - price) / arrival_mid * 1e4 * size / quantity`` (side = +1 buy,
    -1 sell). At the horizon what is left is sent at market (its fills count the same way)
    and anything still unfilled costs ``unfilled_penalty_bps * left / quantity``.
    ``reward="implementation_shortfall"``: minus the change of the whole parent's shortfall,
    what is left marked at the mid. Either adds ``risk_penalty_bps * left_fraction**2`` per
    decision when set; any object with ``reset(env)`` and ``__call__(env, fills, truncated)``
    is taken as the reward (:mod:`mars_gym.envs.rewards`).

    ## Starting State
    A start time drawn with ``np_random`` among the events of the split that leave a full
    horizon and, where the split is long enough, follow one horizon of it (or
    ``options["start_index"]``; the range is ``env.start_range``), and the whole book the data
    gives at that moment (LOBSTER sources: every known level with the real order ids; other
    sources: the touch and 4 ticks behind it on each side). Where the data shows fewer than 10
    levels (AMZN, level 1) and ``depth_ladder`` is on, the book keeps only the levels the data
    shows and a ladder of levels behind the touch is kept full all episode, drawn from what
    stood behind real used-up touches in training (:mod:`mars_gym.sim.depth`).

    ## Episode End
    Termination: the parent order is filled. Truncation: the horizon is reached (after the
    completion at market).

    ## Arguments
    | kwarg | default | meaning |
    |---|---|---|
    | side | "buy" | "buy", "sell" or "both" (drawn per episode) |
    | quantity | 2000 | parent order, lots (a sequence: drawn per episode) |
    | horizon_s | 300 | seconds |
    | step_s | 30 | seconds between decisions |
    | flow | "lmm" | a registered flow (lmm, ensemble, replay, noise, hawkes, or your own: :mod:`mars_gym.sim.flows.registry`), a builder ``(source, start, data_dir) -> flow`` or a flow instance |
    | flow_target | None | ensemble flow only: the market to steer towards ("drop", "rise", "quiet", "busy" or "STATISTIC=VALUE", :mod:`mars_gym.ensemble.control`) |
    | flow_guidance | None | ensemble flow with a target only: how strongly its orders are tilted towards the minutes the target picks (None: the flow's default, 0: off, :mod:`mars_gym.ensemble.tilt`) |
    | source | "DEFAULT" | a source of :mod:`mars_gym.data.sources`: a registered name (``DEFAULT``, the embedded market, needs no data folder) or the path of a LOBSTER message file |
    | split | "train" | where episodes start: "train", "val" or "test" |
    | latency_ns | 1_000_000 | agent order latency (its median when sampled), ns |
    | latency_sigma | 0 | > 0: log-normal latency with this shape, drawn per order |
    | unfilled_penalty_bps | 10 | cost of a lot still unfilled at the end |
    | reward | "price_advantage" | "price_advantage", "implementation_shortfall" or a reward object (see Rewards) |
    | risk_penalty_bps | 0 | quadratic holding cost per decision (see Rewards) |
    | continuous | False | Box actions instead of MultiDiscrete |
    | action_mode | "ratio" | "ratio" (the MarS action) or "lots" (see Action Space) |
    | depth_ladder | True | keep levels behind the touch for level-1 sources (see Starting State) |
    | lmm_observes_agents | False | ``lmm`` / ``ensemble``: the agent's orders join the model's sequence (as in MarS) |
    | lmm_checkpoint | None | ``lmm`` / ``ensemble``: another checkpoint (a name or a path) than the flow's shipped one |
    | render_mode | None | "rgb_array" (a frame of the book, the mid path and the agent's orders and fills) or "human" (the same in a window after every step) |

    ``info`` holds the filled quantity, average price, implementation shortfall vs. the arrival
    mid (bps, + = cost), price advantage vs. TWAP of the mid (bps, + = better), fill rate, the
    market VWAP and the slippage against it (bps, + = cost), the market volume traded since
    the start, and the episode's side (+1 buy, -1 sell) and parent quantity. Prices are in ticks
    (``average_price``, ``arrival_mid``, ``market_vwap``) and in currency per instrument unit
    under the same names with ``_currency`` (``currency`` names it, ``tick_value`` is one
    tick's worth). A metric that is
    not defined yet (no fill, no market trade: :data:`OPTIONAL_INFO`) is ``None`` — in the
    vector env too, whose arrays of these keys have dtype object.

    Every argument is checked when the env is made (a ValueError naming it); quantities are
    whole numbers up to :data:`MAX_QUANTITY`. ``step`` after the episode ended (terminated or
    truncated) raises until ``reset``.

    ## Version History
    * v0: initial version.
    """

    optional_info = OPTIONAL_INFO
    reset_options = ("start_index", "side", "quantity")
    agent_id = AGENT_ID

    def __init__(self, side: str = "buy", quantity: int | Sequence[int] = 2_000,
                 horizon_s: float = 300.0, step_s: float = 30.0, flow: Any = "lmm",
                 source: str = DEFAULT_SOURCE.name, split: str = "train", latency_ns: int = 1_000_000,
                 latency_sigma: float = 0.0, unfilled_penalty_bps: float = 10.0,
                 continuous: bool = False, action_mode: str = "ratio", data_dir=None,
                 depth_ladder: bool = True, lmm_observes_agents: bool = False,
                 generator_service=None,
                 flow_target: str | None = None, flow_guidance: float | None = None,
                 reward: Any = "price_advantage", risk_penalty_bps: float = 0.0,
                 lmm_checkpoint: str | None = None,
                 render_mode: str | None = None) -> None:
        self.set_render_mode(render_mode)
        if side not in ("buy", "sell", "both"):
            raise ValueError(f"side must be 'buy', 'sell' or 'both', got {side!r}")
        quantities = tuple(whole_number("quantity", q, 1, MAX_QUANTITY)
                           for q in np.atleast_1d(np.asarray(quantity, dtype=object)))
        if not quantities:
            raise ValueError("quantity must name at least one parent size")
        horizon_s = real_number("horizon_s", horizon_s, 0.0, MAX_HORIZON_S, low_open=True)
        step_s = real_number("step_s", step_s, 1e-9, horizon_s)
        unfilled_penalty_bps = real_number("unfilled_penalty_bps", unfilled_penalty_bps, 0.0,
                                           MAX_PENALTY)
        risk_penalty_bps = real_number("risk_penalty_bps", risk_penalty_bps, 0.0, MAX_PENALTY)
        self.actions = ExecutionActions(action_mode, continuous, max(quantities))
        self.reward = execution_reward(reward, unfilled_penalty_bps, risk_penalty_bps)
        self.sides = {"buy": (1,), "sell": (-1,), "both": (1, -1)}[side]
        self.quantities = quantities
        self.side, self.quantity = self.sides[0], quantities[0]
        self.horizon_ns = int(horizon_s * 1e9)
        self.step_ns = int(step_s * 1e9)
        self.n_decisions = math.ceil(horizon_s / step_s)
        self.continuous, self.action_mode = continuous, action_mode
        self.action_space = self.actions.space
        self.observation_space = EXECUTION_OBSERVATION.space
        self.scenario = MarketScenario(
            source, split, self.horizon_ns, flow,
            {"observe_agents": lmm_observes_agents, "target": flow_target,
             "guidance": flow_guidance, "checkpoint": lmm_checkpoint},
            latency_ns, latency_sigma, depth_ladder, data_dir, generator_service)

    # -- episode ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        options, start = self.start_episode(seed, options)
        self.side = self._episode_side(options.get("side"))
        drawn_quantity = self._draw(self.quantities)
        self.quantity = whole_number("options['quantity']",
                                     options.get("quantity", drawn_quantity), 1,
                                     self.actions.max_quantity or MAX_QUANTITY)
        self.sim = self.scenario.begin(start, int(self.np_random.integers(2**31)))
        self.start_ns = self.sim.now
        book = self.sim.book
        self.arrival_mid = self.sim.mid() or float(book.best_bid or book.best_ask)
        self.decision = 0
        self.done = False
        self.passive_id: int | None = None
        self.fills_seen = 0
        self.last_mid = self.arrival_mid
        self.last_volume = 0
        self.start_volume = self.sim.traded_volume
        self.mid_samples = [self.arrival_mid]
        self.reward.reset(self)
        return self._observation(), execution_metrics(self)

    def _draw(self, choices: tuple[int, ...]) -> int:
        return choices[self.np_random.integers(len(choices))] if len(choices) > 1 else choices[0]

    def _episode_side(self, side: str | None) -> int:
        if side is None:
            return self._draw(self.sides)
        if side not in ("buy", "sell"):
            raise ValueError(f"options['side'] must be 'buy' or 'sell', got {side!r}")
        return 1 if side == "buy" else -1

    @property
    def filled(self) -> int:
        return self.sim.account(AGENT_ID).filled

    @property
    def mid(self) -> float:
        """The mid now (the last one seen while a side is empty)."""
        return self.sim.mid() or self.last_mid

    def plan(self, action) -> tuple[int, int, int]:
        """The orders ``action`` sends now: (passive lots, aggressive lots, level)."""
        return self.actions.orders(action, self.quantity - self.filled,
                                   self.n_decisions - self.decision)

    def send_orders(self, orders: tuple[int, int, int]) -> None:
        """Send the orders :meth:`plan` gave for this decision."""
        sim = self.sim
        self.passive_id = send_parent_orders(sim, AGENT_ID, self.side, self.passive_id, *orders)
        self.decision += 1
        self.step_end = self.start_ns + min(self.decision * self.step_ns, self.horizon_ns)
        self.target = self.step_end
        self.volume_before = sim.traded_volume
        self.completing = False

    def advance(self) -> bool:
        """Run the market to the end of the step (the market completion included at the
        horizon); False while the background flow waits for a batched token."""
        while True:
            if not self.sim.run_until(self.target):
                return False
            last = self.decision >= self.n_decisions or self.filled >= self.quantity
            if not last or self.completing or self.filled >= self.quantity:
                return True
            if self.passive_id is not None:
                self.sim.submit(AGENT_ID, AgentOrder(AGENT_CANCEL, order_id=self.passive_id))
                self.passive_id = None
            self.sim.submit(AGENT_ID, AgentOrder(AGENT_MARKET, self.side, size=self.quantity - self.filled))
            self.target = self.step_end + self.scenario.arrival_bound_ns
            self.completing = True

    def finish_step(self):
        """Reward, observation and info of the step (its last part)."""
        sim = self.sim
        last = self.decision >= self.n_decisions or self.filled >= self.quantity
        self.last_volume = sim.traded_volume - self.volume_before
        fills = sim.account(AGENT_ID).fills[self.fills_seen:]
        self.fills_seen += len(fills)
        terminated = self.filled >= self.quantity
        truncated = last and not terminated
        self.done = terminated or truncated
        reward = self.reward(self, fills, truncated)
        mid = self.mid
        self.mid_samples.append(mid)
        observation = self._observation(previous_mid=self.last_mid)
        self.last_mid = mid
        return observation, float(reward), terminated, truncated, execution_metrics(self)

    # -- views -------------------------------------------------------------------------------
    def _observation(self, previous_mid: float | None = None) -> np.ndarray:
        book = self.sim.book
        mid = self.sim.mid() or self.arrival_mid
        previous_mid = previous_mid or mid
        resting = 0
        if self.passive_id is not None and self.passive_id in book:
            resting = book.order(self.passive_id)[2]
        return EXECUTION_OBSERVATION.vector({
            "time_left": 1 - self.decision / self.n_decisions,
            "quantity_left": (self.quantity - self.filled) / self.quantity,
            **touch_features(book),
            "return_bps": self.side * (mid / self.arrival_mid - 1) * 1e4,
            "volatility_bps": abs(mid / previous_mid - 1) * 1e4,
            "market_volume": self.last_volume / self.quantity,
            "resting_passive": resting / self.quantity,
        })


ExecutionEnv.__doc__ = (ExecutionEnv.__doc__ or "").replace(
    "{observation_table}", EXECUTION_OBSERVATION.table().replace("\n", "\n    "))
