"""``MarS-MarketMaking-v0``: quote both sides of a simulated market that reacts, within
inventory limits. Built only from the parts (:class:`~mars_gym.envs.scenario.MarketScenario`,
:class:`~mars_gym.envs.observations.ObservationSpec`, :func:`~mars_gym.envs.actions.check_action`,
:class:`~mars_gym.envs.base.ScenarioEnv`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces

from lob_core import GTC
from mars_gym.data.default_market import DEFAULT_SOURCE
from mars_gym.envs.actions import check_action
from mars_gym.envs.arguments import MAX_HORIZON_S, MAX_PENALTY, real_number, whole_number
from mars_gym.envs.base import ScenarioEnv
from mars_gym.envs.execution import MAX_QUANTITY
from mars_gym.envs.metrics import currency_prices
from mars_gym.envs.observations import MAX_SPREAD_TICKS, Feature, ObservationSpec, touch_features
from mars_gym.envs.scenario import MarketScenario
from mars_gym.sim.ids import AGENT_ID
from mars_gym.sim.simulator import AGENT_CANCEL, AGENT_LIMIT, AGENT_MARKET, AgentOrder

MARKET_MAKING_OBSERVATION = ObservationSpec((
    Feature("time_left", 0, 1, "time left, fraction of the horizon"),
    Feature("inventory", -1, 1, "inventory / inventory limit (+ = long)"),
    Feature("imbalance", -1, 1, "top-of-book imbalance (bid - ask) / (bid + ask)"),
    Feature("spread_ticks", 0, MAX_SPREAD_TICKS, "spread in ticks (clipped)"),
    Feature("return_bps", -1000, 1000, "mid return since the start, bps"),
    Feature("volatility_bps", 0, 1000, "absolute mid return over the last step, bps"),
    Feature("market_volume", 0, 100, "market volume traded in the last step / max quote"),
    Feature("bid_resting", 0, 1, "the agent's resting bid quantity / max quote"),
    Feature("ask_resting", 0, 1, "the agent's resting ask quantity / max quote"),
))


class MarketMakingEnv(ScenarioEnv):
    """Quote a bid and an ask every step, hold inventory within limits, earn the spread.

    ## Description
    Every ``step_s`` seconds for ``horizon_s`` seconds the agent replaces its two quotes: a
    bid and an ask at offsets from the mid, with sizes. The rest of the market is a
    background flow (``lmm``, which reacts to the quotes and their fills; ``replay``, which
    does not; ``noise``; ``hawkes``; any registered flow), started from the real book of
    ``source`` at a start time of ``split``. Quotes reach the book after the latency. At the
    horizon the quotes are cancelled and the inventory is closed at market.

    ## Action Space
    ``Box([0, 0, 0, 0], [K, K, Q, Q])`` float32 with ``K = max_offset_ticks`` and
    ``Q = max_quote``: ``(bid offset, ask offset, bid size, ask size)``. The bid goes at
    ``floor(mid - bid offset)`` and the ask at ``ceil(mid + ask offset)`` ticks, never
    across the opposite touch (a quote that would cross is placed one tick inside it: the
    quotes are passive). Sizes are rounded lots; 0 sends no quote on that side. A bid is
    cut so that, filled in full, the inventory stays within ``+inventory_limit`` (an ask:
    ``-inventory_limit``).

    ## Observation Space
    ``Box(9,)`` float32 (:data:`MARKET_MAKING_OBSERVATION`):

    {observation_table}

    ## Rewards
    The change of the mark-to-market PnL (cash plus inventory at the mid, in ticks x lots)
    divided by ``max_quote`` (a full quote that earns one tick gives 1), minus
    ``inventory_penalty * (inventory / max_quote)**2`` per step. The last step includes
    closing the inventory at market (what the market could not absorb stays marked at the
    mid).

    ## Starting State
    As ``MarS-Execution-v0``: a start event of the split drawn with ``np_random`` (or
    ``options["start_index"]``), the real book there, the flow warm-started there, and the
    depth ladder for level-1 sources. Inventory and cash start at 0.

    ## Episode End
    Termination at the horizon (time is part of the observation), after the inventory is
    closed. There is no truncation.

    ## Arguments
    | kwarg | default | meaning |
    |---|---|---|
    | source | "DEFAULT" | a registered source name (DEFAULT: embedded) or a LOBSTER message file |
    | split | "train" | where episodes start |
    | flow | "lmm" | a registered flow name, a builder or an instance |
    | horizon_s | 300 | seconds |
    | step_s | 10 | seconds between quote updates |
    | max_offset_ticks | 20 | largest quote offset from the mid |
    | max_quote | 300 | largest quote size per side, lots (also the reward's unit) |
    | inventory_limit | 1500 | largest absolute inventory, lots |
    | inventory_penalty | 0.01 | per step, times ``(inventory / max_quote)**2`` |
    | latency_ns, latency_sigma | 1 ms, 0 | agent order latency as in ``MarS-Execution-v0`` |
    | depth_ladder | True | levels behind the touch for level-1 sources |
    | lmm_observes_agents | False | ``lmm`` / ``ensemble``: the quotes join the model's sequence |
    | lmm_checkpoint | None | another LMM checkpoint than the flow's shipped one |
    | render_mode | None | "rgb_array" or "human", as in ``MarS-Execution-v0`` |

    ``info``: ``pnl`` (ticks x lots, marked at the mid), ``inventory``, ``cash``, ``mid``,
    ``fills`` and ``volume`` (the agent's), ``max_abs_inventory``, ``time_ns`` and
    ``decision``; in currency: ``pnl_currency``, ``cash_currency``, ``mid_currency``
    (``currency`` names it, ``tick_value`` is one tick's worth).

    ## Version History
    * v0: initial version.
    """

    agent_id = AGENT_ID

    def __init__(self, source: str = DEFAULT_SOURCE.name, split: str = "train", flow: Any = "lmm",
                 horizon_s: float = 300.0, step_s: float = 10.0, max_offset_ticks: int = 20,
                 max_quote: int = 300, inventory_limit: int = 1_500,
                 inventory_penalty: float = 0.01, latency_ns: int = 1_000_000,
                 latency_sigma: float = 0.0, depth_ladder: bool = True, data_dir=None,
                 lmm_observes_agents: bool = False, lmm_checkpoint: str | None = None,
                 generator_service=None,
                 render_mode: str | None = None) -> None:
        self.set_render_mode(render_mode)
        horizon_s = real_number("horizon_s", horizon_s, 0.0, MAX_HORIZON_S, low_open=True)
        step_s = real_number("step_s", step_s, 1e-9, horizon_s)
        max_offset_ticks = whole_number("max_offset_ticks", max_offset_ticks, 0, 10**6)
        self.max_quote = whole_number("max_quote", max_quote, 1, MAX_QUANTITY)
        self.inventory_limit = whole_number("inventory_limit", inventory_limit, 1, MAX_QUANTITY)
        self.inventory_penalty = real_number("inventory_penalty", inventory_penalty, 0.0,
                                             MAX_PENALTY)
        self.horizon_ns, self.step_ns = int(horizon_s * 1e9), int(step_s * 1e9)
        self.n_decisions = math.ceil(horizon_s / step_s)
        self.action_space = spaces.Box(
            np.zeros(4, np.float32),
            np.array([max_offset_ticks, max_offset_ticks, self.max_quote, self.max_quote],
                     np.float32))
        self.observation_space = MARKET_MAKING_OBSERVATION.space
        self.scenario = MarketScenario(
            source, split, self.horizon_ns, flow,
            {"observe_agents": lmm_observes_agents, "checkpoint": lmm_checkpoint},
            latency_ns, latency_sigma, depth_ladder, data_dir, generator_service)

    # -- episode ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        options, start = self.start_episode(seed, options)
        self.sim = self.scenario.begin(start, int(self.np_random.integers(2**31)))
        self.start_ns = self.sim.now
        book = self.sim.book
        self.start_mid = self.sim.mid() or float(book.best_bid or book.best_ask)
        self.last_mid = self.start_mid
        self.decision, self.done = 0, False
        self.inventory, self.cash, self.fills_seen, self.volume = 0, 0, 0, 0
        self.max_abs_inventory = 0
        self.quote_ids: dict[int, int | None] = {1: None, -1: None}
        self.last_pnl = 0.0
        self.last_volume = 0
        self.path = [(self.sim.now, 0, 0.0)]  # (time ns, inventory lots, PnL ticks x lots)
        return self._observation(self.start_mid), self._info()

    @property
    def mid(self) -> float:
        return self.sim.mid() or self.last_mid

    def plan(self, action) -> tuple[float, float, int, int]:
        """(bid offset, ask offset, bid size, ask size) the action quotes, sizes cut to the
        inventory limit."""
        a = check_action(self.action_space, action)
        bid_size = min(round(float(a[2])), self.inventory_limit - self.inventory)
        ask_size = min(round(float(a[3])), self.inventory_limit + self.inventory)
        return float(a[0]), float(a[1]), max(0, bid_size), max(0, ask_size)

    def quote_prices(self, bid_offset: float, ask_offset: float) -> tuple[int, int]:
        """The bid and ask prices (ticks) of the offsets on the book as it is now."""
        book, mid = self.sim.book, self.mid
        bid, ask = math.floor(mid - bid_offset), math.ceil(mid + ask_offset)
        if book.best_ask is not None:
            bid = min(bid, book.best_ask - 1)
        if book.best_bid is not None:
            ask = max(ask, book.best_bid + 1)
        return bid, ask

    def send_orders(self, plan: tuple[float, float, int, int]) -> None:
        bid_offset, ask_offset, bid_size, ask_size = plan
        self._cancel_quotes()
        prices = dict(zip((1, -1), self.quote_prices(bid_offset, ask_offset), strict=False))
        for side, size in ((1, bid_size), (-1, ask_size)):
            if size > 0 and prices[side] > 0:
                self.quote_ids[side] = self.sim.submit(
                    AGENT_ID, AgentOrder(AGENT_LIMIT, side, prices[side], size, GTC))
        self.decision += 1
        self.step_end = self.start_ns + min(self.decision * self.step_ns, self.horizon_ns)
        self.target = self.step_end
        self.volume_before = self.sim.traded_volume
        self.closing = False

    def _cancel_quotes(self) -> None:
        for side, order_id in self.quote_ids.items():
            if order_id is not None:
                self.sim.submit(AGENT_ID, AgentOrder(AGENT_CANCEL, order_id=order_id))
                self.quote_ids[side] = None

    def _book_fills(self) -> None:
        fills = self.sim.account(AGENT_ID).fills[self.fills_seen:]
        self.fills_seen += len(fills)
        for fill in fills:
            self.inventory += fill.side * fill.size
            self.cash -= fill.side * fill.price * fill.size
            self.volume += fill.size
            self.max_abs_inventory = max(self.max_abs_inventory, abs(self.inventory))

    def advance(self) -> bool:
        """Run to the end of the step; after the last one, close the inventory at market."""
        while True:
            if not self.sim.run_until(self.target):
                return False
            if self.decision < self.n_decisions or self.closing:
                return True
            self._cancel_quotes()
            self._book_fills()  # fills up to now decide what is left to close
            if self.inventory:
                side = -1 if self.inventory > 0 else 1
                self.sim.submit(AGENT_ID, AgentOrder(AGENT_MARKET, side, size=abs(self.inventory)))
            self.target = self.step_end + self.scenario.arrival_bound_ns
            self.closing = True

    def finish_step(self):
        self._book_fills()
        self.last_volume = self.sim.traded_volume - self.volume_before
        mid = self.mid
        pnl = self.cash + self.inventory * mid
        penalty = self.inventory_penalty * (self.inventory / self.max_quote) ** 2
        reward = (pnl - self.last_pnl) / self.max_quote - penalty
        self.last_pnl = pnl
        self.path.append((self.sim.now, self.inventory, pnl))
        terminated = self.decision >= self.n_decisions
        self.done = terminated
        observation = self._observation(self.last_mid)
        self.last_mid = mid
        return observation, float(reward), terminated, False, self._info()

    def frame_extras(self):
        """The frame's panels: the inventory and the PnL (marked at the mid, in currency) at
        every decision; the reference line is the mid at the start."""
        from mars_gym.envs.rendering import FrameExtras

        times, inventory, pnl = zip(*self.path, strict=True)
        source = self.scenario.stream.source
        return FrameExtras(
            reference=("mid at the start", self.start_mid),
            panels={"inventory (lots)": (times, inventory),
                    f"PnL ({source.currency})": (times, [source.amount_in_currency(p)
                                                          for p in pnl])})

    # -- views -------------------------------------------------------------------------------
    def _resting(self, side: int) -> int:
        order_id, book = self.quote_ids[side], self.sim.book
        return book.order(order_id)[2] if order_id is not None and order_id in book else 0

    def _observation(self, previous_mid: float) -> np.ndarray:
        mid = self.mid
        return MARKET_MAKING_OBSERVATION.vector({
            "time_left": 1 - self.decision / self.n_decisions,
            "inventory": self.inventory / self.inventory_limit,
            **touch_features(self.sim.book),
            "return_bps": (mid / self.start_mid - 1) * 1e4,
            "volatility_bps": abs(mid / previous_mid - 1) * 1e4,
            "market_volume": self.last_volume / self.max_quote,
            "bid_resting": self._resting(1) / self.max_quote,
            "ask_resting": self._resting(-1) / self.max_quote,
        })

    def _info(self) -> dict[str, Any]:
        pnl = self.cash + self.inventory * self.mid
        source = self.scenario.stream.source
        return {"pnl": pnl, "inventory": self.inventory,
                "cash": self.cash, "mid": self.mid, "fills": self.fills_seen,
                "volume": self.volume, "max_abs_inventory": self.max_abs_inventory,
                "time_ns": self.sim.now, "decision": self.decision,
                "pnl_currency": source.amount_in_currency(pnl),
                "cash_currency": source.amount_in_currency(self.cash),
                **currency_prices(source, mid=self.mid)}


MarketMakingEnv.__doc__ = (MarketMakingEnv.__doc__ or "").replace(
    "{observation_table}", MARKET_MAKING_OBSERVATION.table().replace("\n", "\n    "))
