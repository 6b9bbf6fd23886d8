"""Market-making baselines for ``MarS-MarketMaking-v0`` and their evaluation.

* :class:`SymmetricQuotes`: a fixed half spread on both sides, a fixed size.
* :class:`AvellanedaStoikov`: the quotes of Avellaneda & Stoikov (2008), "High-frequency
  trading in a limit order book": a reservation price ``r = s - q γ σ² τ`` (``q`` the
  inventory in quote units, ``τ`` the time left) and a total spread
  ``γ σ² τ + (2/γ) ln(1 + γ/k)``, with ``σ`` (mid volatility, ticks per √s) and ``k`` (how
  fast the rate of trades falls with their distance from the mid, per tick) estimated on the
  source's training split (:class:`MakerCalibration`).

A policy is ``reset(env)`` at each episode and maps ``(observation, info)`` to an action.
``mars-gym market-making [--agents DIR]`` evaluates the baselines and the saved makers of a
folder (``examples/train_market_maker.py --out``) under several flows on the test split and
writes a leaderboard (``python -m benchmarks.market_making``: the repository's, with its saved
makers).
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import stats
from tqdm.auto import tqdm

from agents import parsers
from agents.recipes import MarketMakingBoard, chosen
from mars_gym.apps.parsers import config_from_arguments
from mars_gym.data import EXECUTE, load_source, split_by_time
from mars_gym.data.schema import EventStream
from mars_gym.envs.market_making import MARKET_MAKING_OBSERVATION

TIME_LEFT = MARKET_MAKING_OBSERVATION.names.index("time_left")


@dataclass(frozen=True)
class MakerCalibration:
    """What the Avellaneda–Stoikov quotes need from a training stream."""

    source: str
    sigma_ticks: float  # mid volatility, ticks per square-root second
    k_per_tick: float   # trade rate ∝ exp(-k · distance from the mid in ticks)
    half_spread_ticks: float  # median half spread

    @classmethod
    def fit(cls, train: EventStream, grid_s: float = 1.0) -> MakerCalibration:
        times, mid = train.events["time_ns"], train.mid
        grid = np.arange(times[0], times[-1], int(grid_s * 1e9))
        on_grid = mid[np.minimum(np.searchsorted(times, grid, side="right") - 1, len(mid) - 1)]
        changes = np.diff(on_grid)
        sigma = float(np.nanstd(changes) / math.sqrt(grid_s))
        executions = np.flatnonzero(train.events["type"] == EXECUTE)
        executions = executions[executions > 0]
        before = mid[executions - 1]  # the mid just before each trade
        distance = np.abs(train.events["price"][executions] - before)
        distance = distance[np.isfinite(distance)]
        if len(distance) < 10:
            raise ValueError(f"{train.source.name}: too few trades in the training split to "
                             "estimate the trade-rate decay")
        # exponential tail beyond the nearest trades: maximum likelihood k = 1 / mean excess
        excess = distance - distance.min()
        k = 1.0 / max(float(excess.mean()), 1e-3)
        spread = train.book["ask"].astype(float) - train.book["bid"].astype(float)
        spread = spread[(train.book["ask"] > 0) & (train.book["bid"] > 0)]
        return cls(train.source.name, sigma, k, float(np.median(spread)) / 2)

    def as_dict(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=8)
def maker_calibration(source: str, data_dir=None) -> MakerCalibration:
    """:meth:`MakerCalibration.fit` on ``source``'s training split (cached)."""
    return MakerCalibration.fit(split_by_time(load_source(source, data_dir))["train"])


class MakerPolicy:
    """The interface: ``reset(env)`` once per episode, then ``act(observation, info)``."""

    name = "maker"

    def reset(self, env) -> None:
        env = env.unwrapped
        self.max_offset = float(env.action_space.high[0])
        self.max_quote = env.max_quote
        self.horizon_s = env.horizon_ns / 1e9

    def clone(self) -> MakerPolicy:
        return copy.deepcopy(self)

    def quote(self, bid_offset: float, ask_offset: float, size: float) -> np.ndarray:
        bid, ask = np.clip([bid_offset, ask_offset], 0.0, self.max_offset)
        size = min(size, self.max_quote)
        return np.array([bid, ask, size, size], dtype=np.float32)

    def act(self, observation: np.ndarray, info: dict) -> np.ndarray:
        raise NotImplementedError


class SymmetricQuotes(MakerPolicy):
    """Bid and ask ``half_spread`` ticks from the mid, ``size`` lots each (None: the max)."""

    def __init__(self, half_spread: float = 1.0, size: float | None = None) -> None:
        if not half_spread >= 0:
            raise ValueError(f"half_spread must be >= 0 ticks, got {half_spread}")
        self.half_spread, self.size = float(half_spread), size
        self.name = f"symmetric_{half_spread:g}"

    def act(self, observation, info):
        return self.quote(self.half_spread, self.half_spread, self.size or self.max_quote)


class AvellanedaStoikov(MakerPolicy):
    """Avellaneda–Stoikov quotes (see the module docstring); ``gamma``: risk aversion per
    tick and quote unit (``size`` lots, None: the env's max quote)."""

    def __init__(self, calibration: MakerCalibration, gamma: float = 0.001,
                 size: float | None = None) -> None:
        if not gamma > 0:
            raise ValueError(f"gamma must be > 0, got {gamma}")
        self.calibration, self.gamma, self.size = calibration, float(gamma), size
        self.name = f"avellaneda_stoikov_{gamma:g}"

    def offsets(self, inventory_units: float, time_left_s: float) -> tuple[float, float]:
        """(bid offset, ask offset) from the mid, ticks."""
        g, c = self.gamma, self.calibration
        risk = g * c.sigma_ticks**2 * time_left_s
        skew = inventory_units * risk  # the reservation price sits this far below the mid
        half = 0.5 * (risk + 2.0 / g * math.log1p(g / c.k_per_tick))
        return half + skew, half - skew

    def act(self, observation, info):
        size = self.size or self.max_quote
        bid, ask = self.offsets(info["inventory"] / size,
                                float(observation[TIME_LEFT]) * self.horizon_s)
        return self.quote(bid, ask, size)


class SB3Maker(MakerPolicy):
    """A saved stable-baselines3 maker (:func:`agents.saved.save`), acting deterministically."""

    def __init__(self, model, name: str) -> None:
        self.model, self.name = model, name

    @classmethod
    def load(cls, path, trust: bool = False) -> SB3Maker:
        """Load a trusted saved maker (listed in its folder's ``SHA256SUMS``, or ``trust``)."""
        from agents.saved import load_model

        path = Path(path)
        return cls(load_model(path, trust), path.stem)

    def clone(self) -> SB3Maker:
        return self  # the model is only read

    def act(self, observation, info):
        action, _ = self.model.predict(observation, deterministic=True)
        return np.asarray(action, dtype=np.float32)


# -- evaluation ------------------------------------------------------------------------------
MAKER_PROTOCOL = {"source": "AMZN", "split": "test", "horizon_s": 300.0, "step_s": 10.0,
                  "n_starts": 12, "seed": 20_000}


def evaluate_maker(policy: MakerPolicy, flow: str, protocol: dict | None = None,
                   data_dir=None, num_envs: int = 12, progress: bool = False) -> list[dict]:
    """Every episode of the protocol (``n_starts`` start times spread evenly over the split,
    fixed seeds) under ``flow``: final PnL (ticks x lots and per quote unit), total reward,
    the agent's volume and its largest inventory."""
    from mars_gym.envs.vector import VectorMarketMakingEnv

    p = {**MAKER_PROTOCOL, **(protocol or {})}
    vector = VectorMarketMakingEnv(num_envs=min(num_envs, p["n_starts"]), flow=flow,
                                   source=p["source"], split=p["split"],
                                   horizon_s=p["horizon_s"], step_s=p["step_s"],
                                   data_dir=data_dir)
    first, last = vector.envs[0].start_range
    starts = np.linspace(first, last - 1, p["n_starts"]).astype(int)
    episodes = [{"seed": p["seed"] + i, "options": {"start_index": int(s)}}
                for i, s in enumerate(starts)]

    def make_actor(env):
        actor = policy.clone()
        actor.reset(env)
        return actor.act

    results: list[dict] = [{} for _ in episodes]  # in the episodes' order
    for index, _, env, info, total in tqdm(vector.play(episodes, make_actor),
                                           total=len(episodes), desc=f"{policy.name} / {flow}",
                                           disable=not progress):
        results[index] = {"pnl": info["pnl"], "pnl_per_quote": info["pnl"] / env.max_quote,
                          "reward": total, "volume": info["volume"],
                          "max_abs_inventory": info["max_abs_inventory"]}
    vector.close()
    return results


def summarize_maker(results: list[dict]) -> dict:
    """Mean, std and 95 % interval of each metric over episodes."""
    summary = {}
    for key in results[0]:
        values = np.array([r[key] for r in results], dtype=float)
        half = (stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
                if len(values) > 1 else math.nan)
        summary[key] = {"mean": float(values.mean()), "std": float(values.std(ddof=1))
                        if len(values) > 1 else 0.0,
                        "ci95": [float(values.mean() - half), float(values.mean() + half)]}
    return summary


def baselines(source: str, data_dir=None) -> list[MakerPolicy]:
    calibration = maker_calibration(source, data_dir)
    return [SymmetricQuotes(1.0), SymmetricQuotes(round(calibration.half_spread_ticks)),
            AvellanedaStoikov(calibration, 0.001), AvellanedaStoikov(calibration, 0.01)]


def _cell(summary: dict) -> str:
    return f"{summary['mean']:.2f} [{summary['ci95'][0]:.2f}, {summary['ci95'][1]:.2f}]"


def leaderboard_markdown(document: dict) -> str:
    p = document["protocol"]
    lines = ["# Market-making leaderboard (MarS-MarketMaking-v0)", "",
             f"{p['source']} {p['split']} split, {p['n_starts']} starts, {p['horizon_s']:g} s "
             f"episodes quoting every {p['step_s']:g} s, fixed seeds; PnL in ticks x lots per "
             "quote unit (max quote), mean [95 % interval]; inventory closed at market at the "
             "end. Avellaneda–Stoikov parameters from the training split: "
             + ", ".join(f"{k} {v:.3g}" for k, v in document["calibration"].items()
                         if k != "source") + ".", "",
             "| flow | policy | PnL / quote | reward | volume (lots) | max abs inventory |",
             "|---|---|---|---|---|---|"]
    for flow, rows in document["flows"].items():
        for name, s in rows.items():
            lines.append(f"| {flow} | {name} | {_cell(s['pnl_per_quote'])} | "
                         f"{_cell(s['reward'])} | {s['volume']['mean']:.0f} | "
                         f"{s['max_abs_inventory']['mean']:.0f} |")
    return "\n".join(lines) + "\n"


def write(config: MarketMakingBoard) -> dict:
    """The leaderboard of the baselines and ``config.agents``' saved makers under each flow on
    the maker protocol (its source and start times replaced where given), written as
    ``leaderboard.json`` and ``leaderboard.md`` into ``config.out``; returns its document."""
    protocol = {**MAKER_PROTOCOL, **chosen(n_starts=config.n_starts, source=config.source)}
    source = protocol["source"]
    document = {"protocol": protocol,
                "calibration": maker_calibration(source, config.data_dir).as_dict(),
                "flows": {}}
    saved = ([] if config.agents is None else
             [SB3Maker.load(path) for path in sorted(config.agents.glob("*.zip"))])
    for flow in config.flows:
        document["flows"][flow] = {
            policy.name: summarize_maker(evaluate_maker(policy, flow, protocol, config.data_dir,
                                                        progress=True))
            for policy in [*baselines(source, config.data_dir), *saved]}
    config.out.mkdir(parents=True, exist_ok=True)
    (config.out / "leaderboard.json").write_text(json.dumps(document, indent=1))
    (config.out / "leaderboard.md").write_text(leaderboard_markdown(document))
    return document


def main(argv: list[str] | None = None) -> int:
    """``mars-gym market-making``: :func:`write` with the parsed options, then the table."""
    args = parsers.market_making().parse_args(argv)
    print(leaderboard_markdown(write(config_from_arguments(MarketMakingBoard, args))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
