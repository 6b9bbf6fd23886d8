"""Forecasting from generated futures: K simulated continuations of a real history, scored
against what really happened and against baselines scored the same way.

    mars-gym forecast [--flows lmm hawkes] [--n-starts 24] [--futures 16] [--out forecast]

At each of ``n_starts`` start times (equally spaced over the test split) a flow generates
``futures`` continuations from the real book and history (seeds differ, start is shared); the
indicator is the mid return in bps at each horizon. Every method gives ``K`` samples per start
and horizon; its point forecast is their mean. Scores per horizon:

* **direction accuracy** over up / flat / down, with the flat band ``|r| <= θ_h`` chosen on the
  training split so that the three classes are as balanced as the data allows (``θ_h``: the
  33rd percentile of ``|r|``);
* **CRPS** of the sample distribution, ``E|X - y| - ½ E|X - X'|`` (bps, lower is better);
* **calibration**: the PIT of the outcome in the samples (histogram, and its largest deviation
  from uniform).

Baselines: ``no_change`` (return 0), ``bootstrap`` (training returns at that horizon),
``linear`` (least squares on book imbalance, spread and the return over the last horizon, with
training residuals as its distribution), and any other flow's own Monte Carlo (``hawkes``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from mars_gym.apps import parsers
from mars_gym.data import load_source, split_by_time
from mars_gym.data.schema import EventStream
from mars_gym.envs.scenario import MarketScenario
from mars_gym.envs.vector import VectorImpactEnv
from mars_gym.parallel import fan_out, ray_workers, split_runs


@dataclass(frozen=True)
class ForecastStudy:
    source: str = "AMZN"
    split: str = "test"
    horizons_s: tuple[float, ...] = (30.0, 60.0, 120.0, 300.0)
    step_s: float = 30.0
    n_starts: int = 24
    futures: int = 16
    seed: int = 40_000

    def __post_init__(self) -> None:
        if any(h % self.step_s for h in self.horizons_s):
            raise ValueError(f"every horizon must be a multiple of step_s={self.step_s}")
        if self.futures < 2 or self.n_starts < 1:
            raise ValueError("need futures >= 2 and n_starts >= 1")


def realized_return(stream: EventStream, start: int, seconds: float) -> float:
    """Mid return in bps from the book before event ``start`` to the book ``seconds`` later."""
    times, mid = stream.events["time_ns"], stream.mid
    later = np.searchsorted(times, times[start] + int(seconds * 1e9), side="right")
    return float((mid[min(later, len(mid) - 1)] / mid[start] - 1) * 1e4)


def book_features(stream: EventStream, index: int, seconds: float) -> np.ndarray:
    """(1, top-of-book imbalance, spread in ticks, mid return over the last ``seconds``, bps)."""
    row = stream.book[index]
    bid, ask = row["bid_qty"][0], row["ask_qty"][0]
    imbalance = (bid - ask) / (bid + ask) if bid + ask else 0.0
    times, mid = stream.events["time_ns"], stream.mid
    earlier = max(int(np.searchsorted(times, times[index] - int(seconds * 1e9))), 0)
    past = (mid[index] / mid[earlier] - 1) * 1e4 if np.isfinite(mid[earlier]) else 0.0
    return np.array([1.0, imbalance, row["ask"] - row["bid"], past])


class TrainingBaselines:
    """The model-free baselines, fitted on the training split."""

    def __init__(self, train: EventStream, horizons_s, samples: int = 3_000,
                 seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        times = train.events["time_ns"]
        last = int(np.searchsorted(times, times[-1] - int(max(horizons_s) * 1e9)))
        first = int(np.searchsorted(times, times[0] + int(max(horizons_s) * 1e9)))
        points = np.sort(rng.choice(np.arange(first, last), size=min(samples, last - first),
                                    replace=False))
        points = points[np.isfinite(train.mid[points]) & (train.mid[points] > 0)]
        self.returns, self.thresholds, self.coefficients, self.residuals = {}, {}, {}, {}
        for h in horizons_s:
            r = np.array([realized_return(train, i, h) for i in points])
            ok = np.isfinite(r)
            x = np.array([book_features(train, i, h) for i in points[ok]])
            coefficients, *_ = np.linalg.lstsq(x, r[ok], rcond=None)
            self.returns[h] = r[ok]
            self.thresholds[h] = float(np.percentile(np.abs(r[ok]), 100 / 3))
            self.coefficients[h] = coefficients
            self.residuals[h] = r[ok] - x @ coefficients

    def samples(self, method: str, stream: EventStream, index: int, h: float, k: int,
                rng: np.random.Generator) -> np.ndarray:
        if method == "no_change":
            return np.zeros(k)
        if method == "bootstrap":
            return rng.choice(self.returns[h], size=k)
        if method == "linear":
            point = book_features(stream, index, h) @ self.coefficients[h]
            return point + rng.choice(self.residuals[h], size=k)
        raise ValueError(f"unknown baseline {method!r}")


def generate_futures(study: ForecastStudy, flow: str, starts: np.ndarray, data_dir=None,
                     progress: bool = True, ray: str | None = None,
                     workers: int | None = None) -> np.ndarray:
    """Mid returns (bps) of ``futures`` generated continuations per start, shape
    ``(starts, futures, horizons)``. With ``ray`` the futures are shared out over Ray workers
    (:mod:`mars_gym.parallel`), with the same result."""
    episodes = [{"seed": study.seed + i * study.futures + j,
                 "options": {"start_index": int(s)}}
                for i, s in enumerate(starts) for j in range(study.futures)]
    n_chunks = 1 if ray is None else ray_workers(ray, workers)
    chunks = [episodes[part.start:part.stop] for part in split_runs(len(episodes), n_chunks)]
    played = fan_out(functools.partial(_play_futures, study, flow, data_dir), chunks,
                     [len(chunk) for chunk in chunks], ray, workers, desc=f"futures / {flow}",
                     progress=progress)
    return np.concatenate(played).reshape(len(starts), study.futures, len(study.horizons_s))


def _play_futures(study: ForecastStudy, flow: str, data_dir, episodes: list[dict],
                  advance: Callable[[int], Any]) -> np.ndarray:
    """The mid returns (bps) at each horizon of ``episodes``, up to 64 at once."""
    # the impact task with no parent order: the market alone, one mid per decision
    vector = VectorImpactEnv(num_envs=min(64, len(episodes)), flow=flow,
                             source=study.source, split=study.split, execution_s=study.step_s,
                             decay_s=max(study.horizons_s), step_s=study.step_s, quantity=0,
                             data_dir=data_dir)
    columns = [round(h / study.step_s) for h in study.horizons_s]
    paths: list = [None] * len(episodes)  # in the episodes' order: futures of a start together
    idle = np.zeros(3, np.float32)
    for index, _, env, _, _ in vector.play(episodes, lambda env: lambda obs, info: idle):
        mids = np.asarray(env.mid_samples, dtype=float)
        paths[index] = (mids[columns] / env.arrival_mid - 1) * 1e4
        advance(1)
    vector.close()
    return np.array(paths)


def crps(samples: np.ndarray, outcome: float) -> float:
    """CRPS of an ensemble: ``E|X - y| - ½ E|X - X'|``."""
    samples = np.asarray(samples, dtype=float)
    return float(np.mean(np.abs(samples - outcome))
                 - 0.5 * np.mean(np.abs(samples[:, None] - samples[None, :])))


def pit(samples: np.ndarray, outcome: float) -> float:
    """Probability integral transform of the outcome, ties counted half."""
    samples = np.asarray(samples, dtype=float)
    return float(np.mean(samples < outcome) + 0.5 * np.mean(samples == outcome))


def direction(values, threshold: float) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.where(values > threshold, 1, np.where(values < -threshold, -1, 0))


def score(samples: np.ndarray, outcomes: np.ndarray, threshold: float) -> dict:
    """Scores of ``samples`` (starts, K) against ``outcomes`` (starts,) at one horizon."""
    points = samples.mean(axis=1)
    pits = np.array([pit(s, y) for s, y in zip(samples, outcomes, strict=False)])
    histogram = np.histogram(pits, bins=10, range=(0, 1))[0] / len(pits)
    return {"direction_accuracy": float(np.mean(direction(points, threshold)
                                                == direction(outcomes, threshold))),
            "crps": float(np.mean([crps(s, y) for s, y in zip(samples, outcomes, strict=False)])),
            "mae": float(np.mean(np.abs(points - outcomes))),
            "pit_histogram": histogram.tolist(),
            "pit_max_deviation": float(np.max(np.abs(histogram - 0.1)))}


def run(study: ForecastStudy, flows=("lmm", "hawkes"), data_dir=None,
        progress: bool = True, ray: str | None = None, workers: int | None = None) -> dict:
    """Generate (on Ray workers with ``ray``), score every method, return the JSON document."""
    say = tqdm.write if progress else (lambda text: None)
    say(f"forecast: loading {study.source} and fitting the baselines on its training split")
    stream = load_source(study.source, data_dir)
    baselines = TrainingBaselines(split_by_time(stream)["train"], study.horizons_s,
                                  seed=study.seed)
    horizon_ns = int((max(study.horizons_s) + study.step_s) * 1e9)
    first, last = MarketScenario(study.source, study.split, horizon_ns, "replay",
                                 data_dir=data_dir).start_range
    starts = np.linspace(first, last - 1, study.n_starts).astype(int)
    outcomes = np.array([[realized_return(stream, s, h) for h in study.horizons_s]
                         for s in starts])
    samples = {}
    for flow in flows:
        say(f"forecast: starting {len(starts) * study.futures} {flow} futures (loading the "
            "flow first)")
        samples[flow] = generate_futures(study, flow, starts, data_dir, progress, ray, workers)
    rng = np.random.default_rng(study.seed)
    for method in ("no_change", "bootstrap", "linear"):
        samples[method] = np.array([[baselines.samples(method, stream, s, h, study.futures, rng)
                                     for h in study.horizons_s] for s in starts]
                                   ).transpose(0, 2, 1)
    scores = {method: {str(h): score(values[:, :, j], outcomes[:, j], baselines.thresholds[h])
                       for j, h in enumerate(study.horizons_s)}
              for method, values in samples.items()}
    return {"study": asdict(study), "thresholds_bps": {str(h): t for h, t in
                                                       baselines.thresholds.items()},
            "outcomes_bps": outcomes.tolist(), "scores": scores}


def plot(document: dict, path) -> None:
    """CRPS and direction accuracy per horizon for every method, and the PIT histograms at the
    longest horizon."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = document["scores"]
    horizons = list(next(iter(scores.values())))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for method, by_h in scores.items():
        x = [float(h) for h in horizons]
        axes[0].plot(x, [by_h[h]["crps"] for h in horizons], "o-", label=method)
        axes[1].plot(x, [by_h[h]["direction_accuracy"] for h in horizons], "o-", label=method)
        axes[2].step(np.arange(10) / 10, by_h[horizons[-1]]["pit_histogram"], where="post",
                     label=method)
    axes[0].set(xlabel="horizon (s)", ylabel="CRPS (bps)", title="lower is better")
    axes[1].axhline(1 / 3, color="grey", lw=0.8, ls="--")
    axes[1].set(xlabel="horizon (s)", ylabel="direction accuracy", title="higher is better")
    axes[2].axhline(0.1, color="grey", lw=0.8, ls="--")
    axes[2].set(xlabel="PIT", ylabel="share", title=f"PIT at {horizons[-1]} s (flat = calibrated)")
    axes[0].legend(fontsize=8)
    study = document["study"]
    fig.suptitle(f"{study['source']}, {study['split']} split: {study['n_starts']} start points x "
                 f"{study['futures']} generated futures, seed {study['seed']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(document: dict) -> str:
    scores = document["scores"]
    horizons = list(next(iter(scores.values())))
    lines = ["| method | " + " | ".join(f"{h} s: CRPS / dir. acc. / PIT dev." for h in horizons)
             + " |", "|---|" + "---|" * len(horizons)]
    for method, by_h in scores.items():
        cells = [f"{by_h[h]['crps']:.3f} / {by_h[h]['direction_accuracy']:.2f} / "
                 f"{by_h[h]['pit_max_deviation']:.2f}" for h in horizons]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = parsers.forecast().parse_args(argv)
    study = ForecastStudy(source=args.source, horizons_s=tuple(args.horizons),
                          step_s=args.step_s, n_starts=args.n_starts, futures=args.futures,
                          seed=args.seed)
    document = run(study, tuple(args.flows), args.data_dir, progress=args.progress,
                   ray=args.ray, workers=args.workers)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "forecast.json").write_text(json.dumps(document, indent=1))
    (out / "forecast.md").write_text(markdown(document))
    plot(document, out / "forecast.png")
    print(markdown(document))
    print(f"wrote {out / 'forecast.json'}, {out / 'forecast.md'} and {out / 'forecast.png'}")


if __name__ == "__main__":
    main()
