"""``MarS-Execution-v0``: execute a parent order against a simulated market that reacts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from lob_core import GTC, IOC
from mars_gym.batch.control import PlanTarget
from mars_gym.data import EXECUTE, load_source
from mars_gym.data.splits import SPLIT_FRACTIONS, split_bounds
from mars_gym.envs.arguments import real_number, whole_number
from mars_gym.sim.depth import source_ladder
from mars_gym.sim.flows.factory import FLOWS, make_flow
from mars_gym.sim.latency import ConstantLatency, LogNormalLatency
from mars_gym.sim.simulator import CANCEL, LIMIT, MARKET, AgentOrder, Simulator

AGENT = 1
OBSERVATION_NAMES = ("time_left", "quantity_left", "imbalance", "spread_ticks",
                     "return_bps", "volatility_bps", "market_volume", "resting_passive")
N_PASSIVE_RATIOS, N_AGGRESSIVE_LEVELS = 11, 6
ACTION_MODES = ("ratio", "lots")
# Lot counts stay exact in the float32 action and observation spaces.
MAX_QUANTITY = 2**24
# Metrics that are not defined before the first fill (or market trade): None in ``info``, in
# the single env and in the vector env alike.
OPTIONAL_INFO = ("average_price", "implementation_shortfall_bps", "price_advantage_vs_twap_bps",
                 "market_vwap", "slippage_vs_vwap_bps")


class ExecutionEnv(gym.Env):
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
    ``Box(8,)`` float32:

    | index | observation | min | max |
    |---|---|---|---|
    | 0 | time left, fraction of the horizon | 0 | 1 |
    | 1 | quantity left, fraction of the parent order | 0 | 1 |
    | 2 | top-of-book imbalance (bid - ask) / (bid + ask) | -1 | 1 |
    | 3 | spread in ticks (clipped) | 0 | 100 |
    | 4 | mid return since arrival, bps, signed by side (+ = price moved against) | -1000 | 1000 |
    | 5 | absolute mid return over the last step, bps | 0 | 1000 |
    | 6 | market volume traded in the last step / parent quantity (clipped) | 0 | 100 |
    | 7 | the agent's resting passive quantity / parent quantity | 0 | 1 |

    ## Rewards
    Price advantage in basis points against the arrival mid, weighted by the filled fraction:
    for each fill, ``side * (arrival_mid - price) / arrival_mid * 1e4 * qty / quantity``
    (side = +1 buy, -1 sell). At the horizon what is left is sent at market (its fills count
    the same way) and anything still unfilled costs ``unfilled_penalty_bps * left / quantity``.

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
    | flow | "lmm" | lmm, ensemble, replay, noise or hawkes |
    | flow_target | None | ensemble flow only: the market to steer towards ("drop", "rise", "quiet", "busy" or "STATISTIC=VALUE", :mod:`mars_gym.batch.control`) |
    | flow_guidance | None | ensemble flow with a target only: how strongly its orders are tilted towards the minutes the target picks (None: the flow's default, 0: off, :mod:`mars_gym.batch.tilt`) |
    | source | "AAPL" | a source of :mod:`mars_gym.data.sources` |
    | split | "train" | where episodes start: "train", "val" or "test" |
    | latency_ns | 1_000_000 | agent order latency (its median when sampled), ns |
    | latency_sigma | 0 | > 0: log-normal latency with this shape, drawn per order |
    | unfilled_penalty_bps | 10 | cost of a lot still unfilled at the end |
    | continuous | False | Box actions instead of MultiDiscrete |
    | action_mode | "ratio" | "ratio" (the MarS action) or "lots" (see Action Space) |
    | depth_ladder | True | keep levels behind the touch for level-1 sources (see Starting State) |
    | lmm_recompute | False | benchmarks only: the LMM without KV cache (MarS-style loop) |
    | lmm_observes_agents | False | ``lmm`` / ``ensemble``: the agent's orders join the model's sequence (as in MarS) |

    ``info`` holds the filled quantity, average price, implementation shortfall vs. the arrival
    mid (bps, + = cost), price advantage vs. TWAP of the mid (bps, + = better), fill rate, the
    market VWAP and the slippage against it (bps, + = cost), the market volume traded since
    the start, and the episode's side (+1 buy, -1 sell) and parent quantity. A metric that is
    not defined yet (no fill, no market trade: :data:`OPTIONAL_INFO`) is ``None`` — in the
    vector env too, whose arrays of these keys have dtype object.

    Every argument is checked when the env is made (a ValueError naming it); quantities are
    whole numbers up to :data:`MAX_QUANTITY`. ``step`` after the episode ended (terminated or
    truncated) raises until ``reset``.

    ## Version History
    * v0: initial version.
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, side: str = "buy", quantity: int | Sequence[int] = 2_000,
                 horizon_s: float = 300.0, step_s: float = 30.0, flow: str = "lmm",
                 source: str = "AAPL", split: str = "train", latency_ns: int = 1_000_000,
                 latency_sigma: float = 0.0, unfilled_penalty_bps: float = 10.0,
                 continuous: bool = False, action_mode: str = "ratio", data_dir=None,
                 depth_ladder: bool = True, lmm_recompute: bool = False,
                 lmm_observes_agents: bool = False, generator_service=None,
                 flow_target: str | None = None, flow_guidance: float | None = None) -> None:
        if side not in ("buy", "sell", "both"):
            raise ValueError(f"side must be 'buy', 'sell' or 'both', got {side!r}")
        quantities = tuple(whole_number("quantity", q, 1, MAX_QUANTITY)
                           for q in np.atleast_1d(np.asarray(quantity, dtype=object)))
        if not quantities:
            raise ValueError("quantity must name at least one parent size")
        horizon_s = real_number("horizon_s", horizon_s, 0.0, low_open=True)
        step_s = real_number("step_s", step_s, 1e-9, horizon_s)
        latency_ns = whole_number("latency_ns", latency_ns, 0, 10**12)
        latency_sigma = real_number("latency_sigma", latency_sigma, 0.0, 10.0)
        unfilled_penalty_bps = real_number("unfilled_penalty_bps", unfilled_penalty_bps, 0.0)
        if flow not in FLOWS:
            raise ValueError(f"flow must be one of {FLOWS}, got {flow!r}")
        if flow_target is not None:
            if flow != "ensemble":
                raise ValueError(f"flow_target steers the ensemble flow only, not {flow!r}")
            PlanTarget.parse(flow_target)  # a bad target fails here, not at the first reset
        if flow_guidance is not None:
            if flow != "ensemble":
                raise ValueError(f"flow_guidance weighs the ensemble flow only, not {flow!r}")
            flow_guidance = real_number("flow_guidance", flow_guidance, 0.0)
        if split not in SPLIT_FRACTIONS:
            raise ValueError(f"split must be one of {tuple(SPLIT_FRACTIONS)}, got {split!r}")
        if action_mode not in ACTION_MODES:
            raise ValueError(f"action_mode must be one of {ACTION_MODES}, got {action_mode!r}")
        if continuous and action_mode != "ratio":
            raise ValueError("continuous=True is the Box form of the 'ratio' action mode")
        self.sides = {"buy": (1,), "sell": (-1,), "both": (1, -1)}[side]
        self.quantities = quantities
        self.side, self.quantity = self.sides[0], quantities[0]
        self.horizon_ns = int(horizon_s * 1e9)
        self.step_ns = int(step_s * 1e9)
        self.n_decisions = math.ceil(horizon_s / step_s)
        self.flow_name, self.source, self.data_dir = flow, source, data_dir
        self.flow_target, self.flow_guidance = flow_target, flow_guidance
        self.lmm_recompute, self.depth_ladder = lmm_recompute, depth_ladder
        self.lmm_observes_agents = lmm_observes_agents
        self.generator_service = generator_service  # set by the vector env: batched LMM
        self.latency = (LogNormalLatency(int(latency_ns), float(latency_sigma))
                        if latency_sigma > 0 else ConstantLatency(int(latency_ns)))
        # the final market order arrives within this (a sampled latency: its 1e-6 tail aside)
        self.completion_wait_ns = int(latency_ns * (np.exp(5 * latency_sigma) + 1)) + 1
        self.penalty_bps = float(unfilled_penalty_bps)
        self.continuous, self.action_mode = continuous, action_mode
        if action_mode == "lots":
            most = float(max(quantities))
            self.action_space = spaces.Box(np.zeros(3, np.float32),
                                           np.array([most, most, 5.0], np.float32))
        elif continuous:
            self.action_space = spaces.Box(np.array([0.0, 0.0], np.float32),
                                           np.array([1.0, 5.0], np.float32))
        else:
            self.action_space = spaces.MultiDiscrete([N_PASSIVE_RATIOS, N_AGGRESSIVE_LEVELS])
        high = np.array([1, 1, 1, 100, 1000, 1000, 100, 1], dtype=np.float32)
        low = np.array([0, 0, -1, 0, -1000, 0, 0, 0], dtype=np.float32)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        stream = load_source(source, data_dir)
        split_start, split_stop = split_bounds(stream)[split]
        times = stream.events["time_ns"]
        last_start = int(np.searchsorted(times, times[split_stop - 1] - self.horizon_ns - 10**9))
        # starts keep one horizon of the split's own history before them when it is that long
        first_start = int(np.searchsorted(times, times[split_start] + self.horizon_ns))
        if last_start <= first_start:
            first_start = split_start
        if last_start <= first_start:
            raise ValueError(f"the {split} split of {source} is shorter than the horizon")
        self.split = split
        self.start_range = (first_start, last_start)
        self.stream = stream
        self.sim: Simulator | None = None

    # -- episode ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if options is not None and not isinstance(options, dict):
            raise ValueError(f"options must be a dict, got {options!r}")
        unknown = set(options or {}) - {"start_index", "side", "quantity"}
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}; the env takes start_index, "
                             "side and quantity")
        super().reset(seed=seed)
        options = options or {}
        start = whole_number("options['start_index']", options.get(
            "start_index", self.np_random.integers(*self.start_range)), self.start_range[0],
            self.start_range[1] - 1)
        self.side = self._episode_side(options.get("side"))
        most = int(self.action_space.high[0]) if self.action_mode == "lots" else MAX_QUANTITY
        self.quantity = whole_number("options['quantity']",
                                     options.get("quantity", self._draw(self.quantities)), 1, most)
        book = self.stream.book_before(start)  # every level the data knows, real order ids
        self.start_ns = int(self.stream.events["time_ns"][start])
        if self.sim is not None and getattr(self.sim.flow, "stream", None) is not None:
            self.generator_service.close(self.sim.flow.stream)  # a new episode, a new stream
        flow = make_flow(self.flow_name, self.source, start, self.data_dir,
                         recompute=self.lmm_recompute, service=self.generator_service,
                         observe_agents=self.lmm_observes_agents,
                         target=self.flow_target, guidance=self.flow_guidance)
        ladder = source_ladder(self.source, self.data_dir) if self.depth_ladder else None
        self.sim = Simulator(flow, self.latency, ladder)
        self.sim.reset(book, self.start_ns, int(self.np_random.integers(2**31)))
        self.arrival_mid = self.sim.mid() or float(book.best_bid or book.best_ask)
        self.decision = 0
        self.done = False
        self.passive_id = None
        self.fills_seen = 0
        self.last_mid = self.arrival_mid
        self.last_volume = 0
        self.start_volume = self.sim.traded_volume
        self.mid_samples = [self.arrival_mid]
        return self._observation(), self._info()

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
        return sum(f.qty for f in self.sim.account(AGENT).fills)

    def _check_action(self, action) -> tuple[int, int, int]:
        """The action as (passive lots, aggressive lots, level); level 0 with aggressive lots
        (lots mode only) means a market order."""
        a = np.asarray(action)
        size = self.action_space.shape[0]
        if a.dtype.kind not in "iuf" or a.shape != (size,) or not np.isfinite(a).all():
            raise ValueError(f"action must be {size} finite real numbers, got {action!r}")
        if isinstance(self.action_space, spaces.MultiDiscrete) and (a != np.round(a)).any():
            raise ValueError(f"action must be whole numbers in {self.action_space}, got "
                             f"{action!r}")
        if not self.action_space.contains(a.astype(self.action_space.dtype)):
            raise ValueError(f"action {action!r} is outside the action space {self.action_space}")
        remaining = self.quantity - self.filled
        if self.action_mode == "lots":
            passive = min(remaining, round(float(a[0])))
            return passive, min(remaining - passive, round(float(a[1]))), round(float(a[2]))
        ratio, level = ((float(a[0]), round(float(a[1]))) if self.continuous else
                        (int(a[0]) / (N_PASSIVE_RATIOS - 1), int(a[1])))
        decisions_left = self.n_decisions - self.decision
        slice_qty = math.ceil(remaining / decisions_left) if remaining > 0 else 0
        passive = min(remaining, round(ratio * slice_qty))
        aggressive = min(slice_qty - passive, remaining - passive) if level > 0 else 0
        return passive, aggressive, level

    def step(self, action):
        self.begin_step(action)
        if not self.advance():
            raise RuntimeError("the background flow waits for a batched token: step this env "
                               "through its vector env")
        return self.finish_step()

    def check_step(self, action) -> tuple[int, int, int]:
        """Raise unless ``step(action)`` may run now; the orders it would send (passive lots,
        aggressive lots, level). Nothing changes."""
        if self.sim is None:
            raise RuntimeError("call reset() before step()")
        if self.done:
            raise RuntimeError("the episode is over (terminated or truncated): call reset()")
        return self._check_action(action)

    def begin_step(self, action) -> None:
        """Check the action and send this decision's orders (the first part of ``step``)."""
        self.send_orders(self.check_step(action))

    def send_orders(self, orders: tuple[int, int, int]) -> None:
        """Send the orders :meth:`check_step` planned for this decision."""
        passive, aggressive, level = orders
        sim, book = self.sim, self.sim.book
        if self.passive_id is not None:
            sim.submit(AGENT, AgentOrder(CANCEL, order_id=self.passive_id))
            self.passive_id = None
        near = book.best_bid if self.side > 0 else book.best_ask
        if passive > 0 and near is not None:
            self.passive_id = sim.submit(AGENT, AgentOrder(LIMIT, self.side, near, passive, GTC))
        if aggressive > 0 and level == 0:
            sim.submit(AGENT, AgentOrder(MARKET, self.side, qty=aggressive))
        elif aggressive > 0:
            opposite = book.depth(level)[2 if self.side > 0 else 0]
            prices = opposite[opposite > 0]
            if len(prices):
                sim.submit(AGENT, AgentOrder(LIMIT, self.side, int(prices[-1]), aggressive, IOC))
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
                self.sim.submit(AGENT, AgentOrder(CANCEL, order_id=self.passive_id))
                self.passive_id = None
            self.sim.submit(AGENT, AgentOrder(MARKET, self.side, qty=self.quantity - self.filled))
            self.target = self.step_end + self.completion_wait_ns
            self.completing = True

    def finish_step(self):
        """Reward, observation and info of the step (its last part)."""
        sim = self.sim
        last = self.decision >= self.n_decisions or self.filled >= self.quantity
        self.last_volume = sim.traded_volume - self.volume_before
        reward = self._new_fill_reward()
        terminated = self.filled >= self.quantity
        truncated = last and not terminated
        self.done = terminated or truncated
        if truncated:
            reward -= self.penalty_bps * (self.quantity - self.filled) / self.quantity
        mid = sim.mid() or self.last_mid
        self.mid_samples.append(mid)
        observation = self._observation(previous_mid=self.last_mid)
        self.last_mid = mid
        return observation, float(reward), terminated, truncated, self._info()

    def _new_fill_reward(self) -> float:
        fills = self.sim.account(AGENT).fills[self.fills_seen:]
        self.fills_seen += len(fills)
        return sum(self.side * (self.arrival_mid - f.price) / self.arrival_mid * 1e4 * f.qty
                   for f in fills) / self.quantity

    # -- views -------------------------------------------------------------------------------
    def _observation(self, previous_mid: float | None = None) -> np.ndarray:
        book = self.sim.book
        state = book.tick_state(1)
        bid, ask, bid_qty, ask_qty = (int(x) for x in state)
        mid = self.sim.mid() or self.arrival_mid
        previous_mid = previous_mid or mid
        resting = 0
        if self.passive_id is not None and self.passive_id in book:
            resting = book.order(self.passive_id)[2]
        values = [
            1 - self.decision / self.n_decisions,
            (self.quantity - self.filled) / self.quantity,
            (bid_qty - ask_qty) / (bid_qty + ask_qty) if bid_qty + ask_qty else 0.0,
            (ask - bid) if bid and ask else 100.0,
            self.side * (mid / self.arrival_mid - 1) * 1e4,
            abs(mid / previous_mid - 1) * 1e4,
            self.last_volume / self.quantity,
            resting / self.quantity,
        ]
        return np.clip(np.array(values, dtype=np.float32), self.observation_space.low,
                       self.observation_space.high)

    def _info(self) -> dict[str, Any]:
        """Execution metrics so far; a metric that is not defined yet (no fill, no market
        trade) is ``None``."""
        fills = self.sim.account(AGENT).fills
        filled = sum(f.qty for f in fills)
        average = sum(f.price * f.qty for f in fills) / filled if filled else None
        twap = float(np.mean(self.mid_samples))
        vwap = self._market_vwap()
        return {
            "filled": filled,
            "fill_rate": filled / self.quantity,
            "average_price": average,
            "arrival_mid": self.arrival_mid,
            "implementation_shortfall_bps": (None if average is None else
                                             self.side * (average / self.arrival_mid - 1) * 1e4),
            "price_advantage_vs_twap_bps": (None if average is None else
                                            self.side * (twap - average) / twap * 1e4),
            "market_vwap": vwap,
            "slippage_vs_vwap_bps": (None if average is None or vwap is None else
                                     self.side * (average / vwap - 1) * 1e4),
            "market_volume": self.sim.traded_volume - self.start_volume,
            "side": self.side,
            "quantity": self.quantity,
            "time_ns": self.sim.now,
            "decision": self.decision,
        }

    def _market_vwap(self) -> float | None:
        events = self.sim.recording.events()
        executions = events[events["type"] == EXECUTE]
        if len(executions) == 0:
            return None
        return float(np.average(executions["price"], weights=executions["size"]))

