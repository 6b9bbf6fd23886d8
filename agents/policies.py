"""Execution policies behind one small interface, and the classic baselines.

A policy is reset with the episode's :class:`EpisodeSpec` and then maps ``(observation, info)``
of ``MarS-Execution-v0`` to an action of its ``action_mode`` (the env's argument of the same
name). The baselines trade in ``"lots"`` mode: each decision sends ``(passive lots at the near
touch, aggressive lots, level)``.

Scheduled baselines follow a cumulative target ``X[k]``, the fraction of the parent order to be
done by the end of decision interval ``k``, traded in one of the styles of
:mod:`mars_gym.envs.schedules`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from mars_gym.data.calibration import MarketCalibration
from mars_gym.envs.actions import N_AGGRESSIVE_LEVELS
from mars_gym.envs.schedules import STYLES, lots_action, scheduled_action


@dataclass(frozen=True)
class EpisodeSpec:
    """What a policy knows about an episode before it starts."""

    side: int          # +1 buy, -1 sell
    quantity: int      # parent order, lots
    n_decisions: int
    step_s: float

    @classmethod
    def from_env(cls, env) -> EpisodeSpec:
        env = env.unwrapped
        return cls(side=env.side, quantity=env.quantity, n_decisions=env.n_decisions,
                   step_s=env.step_ns / 1e9)


class ExecutionPolicy:
    """The interface: ``reset(spec)`` once per episode, then ``act(observation, info)``."""

    action_mode: ClassVar[str] = "lots"
    name: str = "policy"

    def env_kwargs(self) -> dict[str, Any]:
        """The env arguments that give this policy its action space."""
        return {"action_mode": self.action_mode}

    def clone(self) -> ExecutionPolicy:
        """A fresh copy for another simultaneous episode."""
        return copy.deepcopy(self)

    def reset(self, spec: EpisodeSpec) -> None:
        self.spec = spec

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError


def unflatten_actions(actions) -> np.ndarray:
    """Discrete action ids -> ``[passive ratio, aggressive level]`` rows."""
    a = np.asarray(actions, dtype=np.int64).reshape(-1)
    return np.stack([a // N_AGGRESSIVE_LEVELS, a % N_AGGRESSIVE_LEVELS], axis=1)


class ScheduledPolicy(ExecutionPolicy):
    """Follow a cumulative schedule (see the module docstring); subclasses give ``schedule``."""

    def __init__(self, style: str = "passive_then_cross", level: int = 1) -> None:
        if style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}, got {style!r}")
        if not 0 <= level <= 5:
            raise ValueError(f"level must be in 0..5, got {level}")
        self.style, self.level = style, level

    def schedule(self, spec: EpisodeSpec) -> np.ndarray:
        """Cumulative fraction to be done by the end of each decision interval (last = 1)."""
        raise NotImplementedError

    def reset(self, spec: EpisodeSpec) -> None:
        super().reset(spec)
        schedule = np.asarray(self.schedule(spec), dtype=float)
        if schedule.shape != (spec.n_decisions,) or np.any(np.diff(schedule) < -1e-12) \
                or not math.isclose(schedule[-1], 1.0) or schedule[0] < 0:
            raise ValueError(f"{self.name}: a schedule must rise from >= 0 to 1 over "
                             f"{spec.n_decisions} decisions, got {schedule}")
        self.targets = np.round(schedule * spec.quantity)

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        return scheduled_action(self.targets, info["decision"], info["filled"],
                                self.spec.quantity, self.style, self.level)


class MarketOrder(ScheduledPolicy):
    """Everything at once, as a market order at the start."""

    name = "market_at_start"

    def __init__(self) -> None:
        super().__init__(style="aggressive", level=0)

    def schedule(self, spec: EpisodeSpec) -> np.ndarray:
        return np.ones(spec.n_decisions)


class TWAP(ScheduledPolicy):
    """Equal slices: ``X[k] = (k + 1) / N``."""

    def __init__(self, style: str = "passive_then_cross", level: int = 1) -> None:
        super().__init__(style, level)
        self.name = f"twap_{style}" + (f"_l{level}" if style != "passive" else "")

    def schedule(self, spec: EpisodeSpec) -> np.ndarray:
        return np.arange(1, spec.n_decisions + 1) / spec.n_decisions


class VWAP(ScheduledPolicy):
    """Slices proportional to the training volume profile: ``X = cumsum(profile)``."""

    name = "vwap"

    def __init__(self, calibration: MarketCalibration, style: str = "passive_then_cross",
                 level: int = 1) -> None:
        super().__init__(style, level)
        self.profile = np.asarray(calibration.volume_profile, dtype=float)

    def schedule(self, spec: EpisodeSpec) -> np.ndarray:
        if len(self.profile) != spec.n_decisions:
            raise ValueError(f"the volume profile has {len(self.profile)} intervals, the "
                             f"episode {spec.n_decisions} decisions: calibrate with its step")
        return np.cumsum(self.profile) / self.profile.sum()


class AlmgrenChriss(ScheduledPolicy):
    """The Almgren–Chriss optimal trajectory for a mean-variance trader.

    Holdings ``x(t) = Q sinh(κ (T - t)) / sinh(κ T)`` with ``cosh(κ τ) = 1 + λ σ² τ² / (2 η̃)``,
    ``η̃ = η - γ τ / 2``, in units where prices are bps of the arrival price and quantities
    fractions of the parent order: ``σ`` (bps/√s) and ``η = eta_bps_per_lot · τ · Q`` (bps·s)
    and ``γ = gamma_bps_per_lot · Q`` (bps) come from the training calibration; the risk
    aversion ``λ`` is per bps² of the order's notional. ``λ → 0`` gives TWAP; a larger ``λ``
    front-loads.
    """

    def __init__(self, calibration: MarketCalibration, risk_aversion: float = 1e-2,
                 style: str = "passive_then_cross", level: int = 1) -> None:
        if risk_aversion < 0:
            raise ValueError(f"risk_aversion must be >= 0, got {risk_aversion}")
        super().__init__(style, level)
        self.calibration, self.risk_aversion = calibration, risk_aversion
        self.name = f"almgren_chriss_{risk_aversion:g}"

    def kappa(self, spec: EpisodeSpec) -> float:
        tau, c = spec.step_s, self.calibration
        eta = c.eta_bps_per_lot * tau * spec.quantity
        eta_tilde = eta - c.gamma_bps_per_lot * spec.quantity * tau / 2
        if eta_tilde <= 0:  # permanent impact dominates: the model's trade-off is undefined
            eta_tilde = eta
        if eta_tilde <= 0 or self.risk_aversion == 0:
            return 0.0
        return float(np.arccosh(1 + self.risk_aversion * c.sigma_bps ** 2 * tau ** 2
                                / (2 * eta_tilde)) / tau)

    def schedule(self, spec: EpisodeSpec) -> np.ndarray:
        kappa = self.kappa(spec)
        t = spec.step_s * np.arange(1, spec.n_decisions + 1)
        horizon = spec.step_s * spec.n_decisions
        if kappa * horizon < 1e-9:
            return t / horizon
        return 1 - np.sinh(kappa * (horizon - t)) / np.sinh(kappa * horizon)


class POV(ExecutionPolicy):
    """Participate in a fraction ``rate`` of the market volume.

    The target is ``rate`` times the volume traded since the start (``info["market_volume"]``);
    what the policy is behind it crosses at the ``level``-th price, and it posts passively
    ``rate`` times the volume expected in the next interval (the last interval's volume, or the
    training mean before the first).
    """

    def __init__(self, calibration: MarketCalibration, rate: float = 0.1,
                 level: int = 1) -> None:
        if not 0 < rate <= 1:
            raise ValueError(f"rate must be in (0, 1], got {rate}")
        self.rate, self.level = rate, level
        self.step_volume = calibration.step_volume
        self.name = f"pov_{rate:g}"

    def reset(self, spec: EpisodeSpec) -> None:
        super().reset(spec)
        self.last_market_volume = 0

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        volume = info["market_volume"]
        expected = (volume - self.last_market_volume) if info["decision"] > 0 \
            else self.step_volume
        self.last_market_volume = volume
        behind = min(self.rate * volume, self.spec.quantity) - info["filled"]
        passive = self.rate * expected
        return lots_action(round(passive), round(behind), self.level,
                           self.spec.quantity - info["filled"])


class FixedAction(ExecutionPolicy):
    """One MarS action every decision (``"ratio"`` mode): e.g. ``[10, 0]`` posts every slice
    passively."""

    action_mode = "ratio"

    def __init__(self, action, name: str | None = None) -> None:
        self.action = np.asarray(action)
        self.name = name or f"fixed_{'_'.join(str(int(a)) for a in self.action)}"

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        return self.action


class SB3Policy(ExecutionPolicy):
    """A trained stable-baselines3 model, acting deterministically in ``"ratio"`` mode."""

    action_mode = "ratio"

    def __init__(self, model, name: str = "sb3") -> None:
        self.model, self.name = model, name
        self.flat_actions = isinstance(model.action_space, spaces.Discrete)  # DQN

    def env_kwargs(self) -> dict[str, Any]:
        return {"action_mode": "ratio",
                "continuous": isinstance(self.model.action_space, spaces.Box)}

    def clone(self) -> SB3Policy:
        return self  # stateless between decisions: one model serves every episode

    @classmethod
    def load(cls, path, name: str | None = None, trust: bool = False) -> SB3Policy:
        """Load a model saved by :mod:`agents.train` (:func:`agents.saved.load_model`: the
        algorithm is read from the file's ``.json`` sidecar). Only a trusted file is loaded:
        see :mod:`agents.trust`."""
        from pathlib import Path

        from agents.saved import load_model

        path = Path(path)
        return cls(load_model(path, trust), name or path.stem)

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        action, _ = self.model.predict(observation, deterministic=True)
        return unflatten_actions(action)[0] if self.flat_actions else action


def baselines(calibration: MarketCalibration) -> list[ExecutionPolicy]:
    """Every baseline configuration of the leaderboard."""
    return [
        MarketOrder(),
        TWAP("passive_then_cross", 1),
        TWAP("passive"),
        TWAP("aggressive", 1),
        VWAP(calibration),
        POV(calibration, 0.05),
        POV(calibration, 0.1),
        AlmgrenChriss(calibration, 1e-3),
        AlmgrenChriss(calibration, 1e-1),
    ]
