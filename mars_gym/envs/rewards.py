"""Rewards of the execution task, pluggable: ``ExecutionEnv(reward=...)`` takes a name of
:data:`EXECUTION_REWARDS` or an instance (anything with ``reset(env)`` and
``__call__(env, fills, truncated) -> float``).

Both built-ins are in basis points of the arrival mid, weighted by the share of the parent
order, and both can add a quadratic holding cost (``risk_penalty_bps * left_fraction**2`` per
decision: the risk term of Almgren–Chriss in its simplest form, which favours trading early).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

BPS = 1e4


class ExecutionReward(Protocol):
    def reset(self, env) -> None:
        """A new episode of ``env`` (an :class:`~mars_gym.envs.execution.ExecutionEnv`)."""

    def __call__(self, env, fills: Sequence, truncated: bool) -> float:
        """The step's reward, given its new fills; ``truncated``: the horizon ended the
        episode with lots unfilled."""


def fill_advantage_bps(env, fills: Sequence) -> float:
    """Price advantage of ``fills`` against the arrival mid, bps, weighted by their share of
    the parent order (+ = better than the arrival mid)."""
    return sum(env.side * (env.arrival_mid - f.price) / env.arrival_mid * BPS * f.size
               for f in fills) / env.quantity


class _PenalisedReward:
    """What both rewards share: the penalty for what is unfilled at the end and the holding
    cost."""

    def __init__(self, unfilled_penalty_bps: float = 10.0, risk_penalty_bps: float = 0.0) -> None:
        self.unfilled_penalty_bps, self.risk_penalty_bps = unfilled_penalty_bps, risk_penalty_bps

    def charge(self, env, reward: float, truncated: bool) -> float:
        """``reward`` less the unfilled penalty (when truncated) and the holding cost."""
        if truncated:
            reward -= self.unfilled_penalty_bps * (env.quantity - env.filled) / env.quantity
        if self.risk_penalty_bps:
            reward -= self.risk_penalty_bps * ((env.quantity - env.filled) / env.quantity) ** 2
        return reward


class PriceAdvantage(_PenalisedReward):
    """Price advantage of each fill against the arrival mid, and at the end
    ``unfilled_penalty_bps`` per unfilled share of the parent (MarS's reward; the default)."""

    def reset(self, env) -> None:
        pass

    def __call__(self, env, fills: Sequence, truncated: bool) -> float:
        return self.charge(env, fill_advantage_bps(env, fills), truncated)


class ImplementationShortfall(_PenalisedReward):
    """Minus the change of the implementation shortfall (Perold) of the whole parent: fills at
    their prices and what is left marked at the current mid, against the arrival mid. The
    rewards sum to minus the final shortfall (plus ``unfilled_penalty_bps`` per unfilled share
    at the end), so a price that runs away while the order waits costs at once."""

    def shortfall_bps(self, env) -> float:
        left = env.quantity - env.filled
        paper = env.side * (env.mid - env.arrival_mid) / env.arrival_mid * BPS * left
        return self.paid_bps + paper / env.quantity

    def reset(self, env) -> None:
        self.paid_bps = 0.0  # shortfall of the fills so far
        self.last_bps = self.shortfall_bps(env)

    def __call__(self, env, fills: Sequence, truncated: bool) -> float:
        self.paid_bps -= fill_advantage_bps(env, fills)
        now = self.shortfall_bps(env)
        reward, self.last_bps = self.last_bps - now, now
        return self.charge(env, reward, truncated)


EXECUTION_REWARDS: dict[str, Callable[[float, float], ExecutionReward]] = {
    "price_advantage": PriceAdvantage, "implementation_shortfall": ImplementationShortfall}


def execution_reward(reward, unfilled_penalty_bps: float, risk_penalty_bps: float
                     ) -> ExecutionReward:
    """A reward by name (built with the env's penalties) or an instance as is."""
    if isinstance(reward, str):
        if reward not in EXECUTION_REWARDS:
            raise ValueError(f"reward must be one of {tuple(EXECUTION_REWARDS)} or an object "
                             f"with reset(env) and __call__(env, fills, truncated), got {reward!r}")
        return EXECUTION_REWARDS[reward](unfilled_penalty_bps, risk_penalty_bps)
    if not (callable(reward) and callable(getattr(reward, "reset", None))):
        # a ValueError like every bad env argument (Gymnasium's habit)
        raise ValueError(f"reward must be one of {tuple(EXECUTION_REWARDS)} or an object "  # noqa: TRY004
                         f"with reset(env) and __call__(env, fills, truncated), got {reward!r}")
    return reward
