"""Actions of the parent-order tasks (execution, impact): the check every task's action goes
through, the interpreter that turns an execution action into a decision's orders, and how
those orders are sent."""

from __future__ import annotations

import math

import numpy as np
from gymnasium import spaces

from lob_core import GTC, IOC
from mars_gym.sim.simulator import AGENT_CANCEL, AGENT_LIMIT, AGENT_MARKET, AgentOrder, Simulator

N_PASSIVE_RATIOS, N_AGGRESSIVE_LEVELS = 11, 6
ACTION_MODES = ("ratio", "lots")


def check_action(space: spaces.Space, action) -> np.ndarray:
    """``action`` as an array inside ``space`` (a Box or a MultiDiscrete), or a ValueError
    saying what is wrong with it."""
    a = np.asarray(action)
    assert space.shape is not None  # Box and MultiDiscrete spaces have a shape
    size = space.shape[0]
    # checked as Python numbers: numpy's per-call cost on a few numbers is most of a step's
    values = a.tolist() if a.dtype.kind in "iuf" and a.shape == (size,) else None
    if values is None or not all(math.isfinite(v) for v in values):
        raise ValueError(f"action must be {size} finite real numbers, got {action!r}")
    if isinstance(space, spaces.MultiDiscrete):
        if any(v != round(v) for v in values):
            raise ValueError(f"action must be whole numbers in {space}, got {action!r}")
        low, high = space.start.tolist(), (space.start + space.nvec - 1).tolist()
    elif isinstance(space, spaces.Box):
        low, high = space.low.tolist(), space.high.tolist()
    else:
        raise TypeError(f"actions are checked in a Box or a MultiDiscrete space, not {space}")
    # the bounds ``space.contains`` checks, in the space's dtype
    cast = a.astype(space.dtype).tolist()
    if not all(lo <= v <= hi for lo, v, hi in zip(low, cast, high, strict=True)):
        raise ValueError(f"action {action!r} is outside the action space {space}")
    return a


class ExecutionActions:
    """The execution task's action space and how an action becomes (passive lots,
    aggressive lots, level) — see :class:`~mars_gym.envs.execution.ExecutionEnv`'s Action
    Space.

    ``mode="ratio"``: ``MultiDiscrete([11, 6])`` (or, ``continuous``, ``Box([0, 0], [1, 5])``),
    a passive share of the decision's slice and an aggressive price level; ``mode="lots"``:
    ``Box([0, 0, 0], [Q, Q, 5])`` with ``Q = max_quantity``, lots directly.
    """

    def __init__(self, mode: str = "ratio", continuous: bool = False,
                 max_quantity: int = 1) -> None:
        if mode not in ACTION_MODES:
            raise ValueError(f"action_mode must be one of {ACTION_MODES}, got {mode!r}")
        if continuous and mode != "ratio":
            raise ValueError("continuous=True is the Box form of the 'ratio' action mode")
        self.mode, self.continuous = mode, continuous
        self.space: spaces.Box | spaces.MultiDiscrete
        if mode == "lots":
            most = float(max_quantity)
            self.space = spaces.Box(np.zeros(3, np.float32),
                                    np.array([most, most, 5.0], np.float32))
        elif continuous:
            self.space = spaces.Box(np.array([0.0, 0.0], np.float32),
                                    np.array([1.0, 5.0], np.float32))
        else:
            self.space = spaces.MultiDiscrete([N_PASSIVE_RATIOS, N_AGGRESSIVE_LEVELS])

    @property
    def max_quantity(self) -> int | None:
        """The largest parent order the lots space can express (``None``: no limit)."""
        if not isinstance(self.space, spaces.Box) or self.mode != "lots":
            return None
        return int(self.space.high[0])

    def orders(self, action, remaining: int, decisions_left: int) -> tuple[int, int, int]:
        """The checked action as (passive lots, aggressive lots, level) for a parent with
        ``remaining`` lots and ``decisions_left`` decisions (this one included); level 0 with
        aggressive lots (lots mode only) means a market order."""
        a = check_action(self.space, action)
        if self.mode == "lots":
            passive = min(remaining, round(float(a[0])))
            return passive, min(remaining - passive, round(float(a[1]))), round(float(a[2]))
        ratio, level = ((float(a[0]), round(float(a[1]))) if self.continuous else
                        (int(a[0]) / (N_PASSIVE_RATIOS - 1), int(a[1])))
        slice_size = math.ceil(remaining / decisions_left) if remaining > 0 else 0
        passive = min(remaining, round(ratio * slice_size))
        aggressive = min(slice_size - passive, remaining - passive) if level > 0 else 0
        return passive, aggressive, level


def send_parent_orders(sim: Simulator, agent: int, side: int, passive_id: int | None,
                       passive: int, aggressive: int, level: int) -> int | None:
    """Send one decision of a parent order: cancel the resting passive order, post
    ``passive`` lots at the near touch, cross with ``aggressive`` lots (level 0: a market
    order; else an IOC order at the ``level``-th opposite price). Returns the new passive
    order's id (None without one)."""
    book = sim.book
    if passive_id is not None:
        sim.submit(agent, AgentOrder(AGENT_CANCEL, order_id=passive_id))
        passive_id = None
    near = book.best_bid if side > 0 else book.best_ask
    if passive > 0 and near is not None:
        passive_id = sim.submit(agent, AgentOrder(AGENT_LIMIT, side, near, passive, GTC))
    if aggressive > 0 and level == 0:
        sim.submit(agent, AgentOrder(AGENT_MARKET, side, size=aggressive))
    elif aggressive > 0:
        opposite = book.depth(level)[2 if side > 0 else 0]
        prices = opposite[opposite > 0]
        if len(prices):
            sim.submit(agent, AgentOrder(AGENT_LIMIT, side, int(prices[-1]), aggressive, IOC))
    return passive_id
