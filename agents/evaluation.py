"""The fixed evaluation protocol of execution policies, and its statistics.

The protocol (:data:`TEST_PROTOCOL`; :data:`VALIDATION_PROTOCOL` is the same on the validation
split, with fewer start times, for model selection during training):

* data: ``AMZN`` (NASDAQ, 2012-06-21, a full trading day), episodes start in the **test** split
  (the last 15 % of the day's clock time), decisions every 30 s over 5 minutes;
* start times: ``n_starts`` event indices equally spaced over the env's start range;
* parent sizes: 2 %, 5 % and 10 % of the median volume traded in 5 minutes of the training split;
* both sides, every (start, side, size) once: ``n_starts × 2 × 3`` episodes;
* seeds: episode ``i`` is reset with ``seed + i``; with the ``lmm`` background the shared sampler
  of each batch of episodes is seeded with ``seed + first episode of the batch``;
* background flows: ``lmm``, ``hawkes`` and ``replay`` (one table each).

Metrics per episode come from the env's final ``info``: implementation shortfall vs. the arrival
mid (bps, + = cost), price advantage vs. TWAP of the mid (bps, + = better), fill rate and
slippage vs. the market VWAP (bps, + = cost); :func:`summarize` gives mean, std and a 95 %
t-interval of the mean, :func:`compare` the same for paired per-episode differences.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats
from tqdm.auto import tqdm

from agents.policies import EpisodeSpec, ExecutionPolicy
from mars_gym.data.calibration import calibrate
from mars_gym.envs.vector import VectorExecutionEnv

METRICS = ("implementation_shortfall_bps", "price_advantage_vs_twap_bps", "fill_rate",
           "slippage_vs_vwap_bps", "reward")


@dataclass(frozen=True)
class Protocol:
    source: str = "AMZN"
    split: str = "test"
    horizon_s: float = 300.0
    step_s: float = 30.0
    size_fractions: tuple[float, ...] = (0.02, 0.05, 0.10)
    sides: tuple[str, ...] = ("buy", "sell")
    n_starts: int = 12
    seed: int = 10_000

    def sizes(self, data_dir=None) -> tuple[int, ...]:
        """Parent sizes in lots: fractions of the training median horizon volume."""
        volume = calibrate(self.source, self.horizon_s, self.step_s, data_dir).horizon_volume
        return tuple(max(1, round(f * volume)) for f in self.size_fractions)

    def env_kwargs(self, data_dir=None) -> dict:
        return {"source": self.source, "split": self.split, "horizon_s": self.horizon_s,
                "step_s": self.step_s, "quantity": self.sizes(data_dir), "side": "both",
                "data_dir": data_dir}

    def episodes(self, start_range: tuple[int, int], data_dir=None) -> list[dict]:
        """Every episode: its seed and reset options."""
        starts = np.linspace(start_range[0], start_range[1] - 1, self.n_starts).astype(int)
        rows = [{"start_index": int(s), "side": side, "quantity": q}
                for s in starts for side in self.sides for q in self.sizes(data_dir)]
        return [{"seed": self.seed + i, "options": row} for i, row in enumerate(rows)]

    def as_dict(self) -> dict:
        return asdict(self)


TEST_PROTOCOL = Protocol()
VALIDATION_PROTOCOL = Protocol(split="val", n_starts=4, seed=20_000)


def evaluate(policy: ExecutionPolicy, flow: str = "lmm", protocol: Protocol = TEST_PROTOCOL,
             num_envs: int = 32, data_dir=None, progress: bool = True) -> list[dict]:
    """Run ``policy`` on every episode of ``protocol`` with ``flow`` in the background.

    Returns one row per episode: its seed and options, and the final metrics.
    """
    kwargs = {**protocol.env_kwargs(data_dir), **policy.env_kwargs()}
    vector = VectorExecutionEnv(num_envs=num_envs, flow=flow, **kwargs)
    episodes = protocol.episodes(vector.envs[0].start_range, data_dir)

    def make_actor(env):
        agent = policy.clone()
        agent.reset(EpisodeSpec.from_env(env))
        return agent.act

    rows: list[dict] = [{} for _ in episodes]  # in the protocol's order
    for index, episode, _, info, total in tqdm(
            vector.play(episodes, make_actor), total=len(episodes),
            desc=f"{policy.name} / {flow}", disable=not progress, leave=False):
        rows[index] = {"seed": episode["seed"], **episode["options"],
                       **{m: info[m] for m in METRICS if m != "reward"}, "reward": total}
    vector.close()
    return rows


def interval(values) -> dict:
    """Mean, std, n and the 95 % t-interval of the mean of the defined (not None) values, with
    the median and the share of positive values (robust views for heavy-tailed outcomes)."""
    x = np.array([v for v in values if v is not None], dtype=float)
    if len(x) == 0:
        return {"mean": None, "std": None, "n": 0, "ci95": [None, None], "median": None,
                "positive_share": None}
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if len(x) > 1 else 0.0
    half = float(stats.t.ppf(0.975, len(x) - 1) * std / np.sqrt(len(x))) if len(x) > 1 else 0.0
    return {"mean": mean, "std": std, "n": len(x), "ci95": [mean - half, mean + half],
            "median": float(np.median(x)), "positive_share": float(np.mean(x > 0))}


def summarize(rows: list[dict]) -> dict:
    """Every metric's :func:`interval` over episodes."""
    return {m: interval(row[m] for row in rows) for m in METRICS}


def compare(rows: list[dict], reference: list[dict],
            metric: str = "price_advantage_vs_twap_bps") -> dict:
    """Paired per-episode difference ``rows - reference`` of ``metric`` (same seed, start,
    side and size), with its 95 % interval."""
    by_seed = {r["seed"]: r[metric] for r in reference}
    missing = [r["seed"] for r in rows if r["seed"] not in by_seed]
    if missing:
        raise ValueError(f"episodes {missing[:5]} are not in the reference rows")
    return interval(None if r[metric] is None or by_seed[r["seed"]] is None
                    else r[metric] - by_seed[r["seed"]] for r in rows)
