"""Market impact curves: TWAP parent orders injected into simulated futures, against the same
futures without them, and the square-root-law fit ``Δp = c · σ · (Q / V)^δ``.

    mars-gym impact [--flows lmm hawkes noise replay] [--n-starts 16] [--out impact]

For every background flow, start time (equally spaced over the split) and side, the same seed is
run once with no parent order and once per (size, style): a TWAP parent of ``Q`` lots over
``execution_s`` (``Q`` a fraction of the median training volume ``V`` of such a window), either
``"aggressive"`` (each slice a market order) or ``"passive_then_cross"`` (each slice posted at the
near touch, what is left of it crossed at the next decision, the rest sent at market at the end
of the execution). The market then runs ``decay_s`` more. Impact at time ``t`` is the side-signed
mid difference with minus without the order, bps of the arrival mid; the peak is read at the end
of the execution and the permanent part at the end of the decay window. ``δ`` and ``c`` are fitted
by least squares through each size's mean peak impact (``σ``: the training mid volatility over
``execution_s``), and again through each size's 10 %-trimmed mean (robust to the rare runaway
paths of a generated market); the 95 % intervals for ``δ`` come from a bootstrap over runs.
With ``--lmm-observes-agents`` the LMM also reads the parent's orders as tokens of its own
sequence (:meth:`mars_gym.sim.flows.lmm.LMMFlow.observe`), as in MarS.
Every run's peak and permanent impact is kept in the JSON for other estimators.

Runs with and without the order share their random numbers draw by draw (common random
numbers): the ``lmm`` flow's draws are keyed by the run's seed (:mod:`mars_gym.lmm.keyed_draws`),
the other flows draw from generators seeded alike. Where the order barely changes what the
generator would do, both runs draw the same orders, so the difference measures the order's
effect instead of two unrelated futures; averages over runs estimate the impact. The ``lmm``
twins part within tens of orders, though (the model reads its own past orders and the changed
book: about a fifth of their tokens agree over two minutes on AMZN), so the coupling narrows
the first seconds of a curve, not its end. The runs are episodes of the impact task
(:class:`~mars_gym.envs.impact.ImpactEnv`): the parent over the execution, the rest at market
right after it, then the decay with no orders; the curve has one point per decision, from the
arrival to the end of the decay.
"""

from __future__ import annotations

import functools
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, stats

from mars_gym.apps import parsers
from mars_gym.data.calibration import calibrate
from mars_gym.envs.schedules import scheduled_action
from mars_gym.envs.vector import VectorImpactEnv
from mars_gym.parallel import fan_out, ray_workers, split_runs
from mars_gym.sim.flows.registry import flow_spec

STYLES = ("aggressive", "passive_then_cross")
TRIM = 0.1  # the robust fit's share of runs dropped at each end


@dataclass(frozen=True)
class ImpactStudy:
    source: str = "AMZN"
    split: str = "test"
    execution_s: float = 120.0
    decay_s: float = 120.0
    step_s: float = 10.0
    size_fractions: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2)
    styles: tuple[str, ...] = STYLES
    n_starts: int = 16
    seed: int = 30_000
    lmm_observes_agents: bool = False

    def __post_init__(self) -> None:
        if self.execution_s % self.step_s or self.decay_s % self.step_s:
            raise ValueError("execution_s and decay_s must be whole multiples of step_s")
        if unknown := set(self.styles) - set(STYLES):
            raise ValueError(f"unknown styles {sorted(unknown)}; choose from {STYLES}")
        if min(self.size_fractions) <= 0:
            raise ValueError(f"size fractions must be positive, got {self.size_fractions}")

    @property
    def n_execution(self) -> int:
        return round(self.execution_s / self.step_s)


def twap_actor(quantity: int, n_execution: int, style: str):
    """``act(obs, info)`` in lots mode: a TWAP of ``quantity`` lots over ``n_execution``
    decisions (market-order slices, or passive then crossing at the best price); the task
    sends what is left at market once the execution is over."""
    targets = np.round(np.arange(1, n_execution + 1) / n_execution * quantity)
    level = 0 if style == "aggressive" else 1

    def act(observation, info):
        k, filled = info["decision"], info["filled"]
        if quantity == 0 or k >= n_execution:
            return np.zeros(3, np.float32)
        return scheduled_action(targets, k, filled, quantity, style, level)

    return act


def _play_runs(study: ImpactStudy, flow: str, data_dir, sizes: list[int],
               variants: list[tuple[str, int]], chunk: range,
               advance: Callable[[int], Any]) -> dict[tuple[str, int], np.ndarray]:
    """The side-signed mid paths (bps of the arrival mid) of the runs in ``chunk`` for every
    (style, quantity) variant, all runs of the chunk batched in one vector env."""
    vector = VectorImpactEnv(
        num_envs=len(chunk), flow=flow, source=study.source, split=study.split,
        execution_s=study.execution_s, decay_s=study.decay_s, step_s=study.step_s,
        quantity=0, max_quantity=max(sizes), data_dir=data_dir,
        lmm_observes_agents=(study.lmm_observes_agents
                             and "observe_agents" in flow_spec(flow).options))
    first, last = vector.envs[0].start_range
    starts = np.linspace(first, last - 1, study.n_starts).astype(int)
    runs = [{"seed": study.seed + i, "options": {"start_index": int(s), "side": side}}
            for i, (s, side) in enumerate((s, side) for s in starts for side in ("buy", "sell"))]
    paths = {}
    for style, quantity in variants:
        episodes = [{"seed": runs[i]["seed"], "options": {**runs[i]["options"],
                                                           "quantity": quantity}}
                    for i in chunk]
        mids: list = [None] * len(episodes)  # in the runs' order: paired across variants
        for index, episode, env, _, _ in vector.play(
                episodes, lambda env, q=quantity, s=style: twap_actor(q, study.n_execution, s)):
            side = 1 if episode["options"]["side"] == "buy" else -1
            mids[index] = side * np.asarray(env.mid_samples, dtype=float) / env.arrival_mid * 1e4
            advance(1)
        paths[style, quantity] = np.array(mids)
    vector.close()
    return paths


def run_study(study: ImpactStudy, flow: str, data_dir=None, progress: bool = True,
              ray: str | None = None, workers: int | None = None) -> dict:
    """Every run of one flow: impact paths (bps) per style and size. With ``ray`` the runs
    are shared out over Ray workers (:mod:`mars_gym.parallel`), with the same result."""
    calibration = calibrate(study.source, study.execution_s, study.step_s, data_dir)
    volume = calibration.horizon_volume
    sizes = [max(1, round(f * volume)) for f in study.size_fractions]
    n_runs = study.n_starts * 2
    n_chunks = 1 if ray is None else ray_workers(ray, workers)
    chunks = split_runs(n_runs, n_chunks)
    variants = [("none", 0)] + [(style, q) for style in study.styles for q in sizes]
    work = functools.partial(_play_runs, study, flow, data_dir, sizes, variants)
    played = fan_out(work, chunks, [len(c) * len(variants) for c in chunks], ray, workers,
                     desc=f"impact / {flow}", progress=progress)
    paths = {variant: np.concatenate([chunk[variant] for chunk in played])
             for variant in variants}
    baseline = paths.pop(("none", 0))
    sigma = calibration.sigma_bps * math.sqrt(study.execution_s)
    result = {"flow": flow, "volume": volume, "sigma_bps": sigma, "sizes": sizes,
              "times_s": (np.arange(baseline.shape[1]) * study.step_s).tolist(), "styles": {}}
    for style in study.styles:
        curves = {q: paths[style, q] - baseline for q in sizes}
        peak = np.stack([curves[q][:, study.n_execution] for q in sizes], axis=1)
        x = np.array(sizes) / volume
        result["styles"][style] = {
            "curves": {str(q): {"mean": c.mean(0).tolist(),
                                "ci95": (stats.sem(c, axis=0) * 1.96).tolist()}
                       for q, c in curves.items()},
            "peak": {str(q): _mean_ci(curves[q][:, study.n_execution]) for q in sizes},
            "permanent": {str(q): _mean_ci(curves[q][:, -1]) for q in sizes},
            "runs": {"peak": peak.tolist(),
                     "permanent": np.stack([curves[q][:, -1] for q in sizes], 1).tolist()},
            "fit": fit_impact_law(x, peak, sigma, seed=study.seed),
            "fit_trimmed": fit_impact_law(x, peak, sigma, trim=TRIM, seed=study.seed),
        }
    return result


def _mean_ci(values: np.ndarray) -> dict:
    mean = float(np.mean(values))
    half = float(stats.t.ppf(0.975, len(values) - 1) * stats.sem(values))
    return {"mean": mean, "ci95": [mean - half, mean + half], "n": len(values)}


def fit_power_law(x: np.ndarray, impact: np.ndarray, sigma: float) -> dict:
    """Least-squares ``impact = c · sigma · x^δ`` through one impact per size."""
    x, impact = np.asarray(x, float), np.asarray(impact, float)
    if len(np.unique(x)) < 2:
        return {"c": None, "delta": None, "error": "a power law needs two sizes or more"}
    if not np.any(impact > 0):  # e.g. replay: no impact, no exponent
        return {"c": None, "delta": None, "error": "no positive impact to fit"}
    try:
        with warnings.catch_warnings():  # two sizes fit exactly: no covariance, none needed
            warnings.simplefilter("ignore", optimize.OptimizeWarning)
            (c, delta), _ = optimize.curve_fit(lambda v, c, d: c * sigma * v ** d, x, impact,
                                               p0=(1.0, 0.5), maxfev=10_000)
    except RuntimeError as error:  # no convergence: say so rather than invent a fit
        return {"c": None, "delta": None, "error": str(error)}
    return {"c": float(c), "delta": float(delta)}


def fit_impact_law(x: np.ndarray, impacts: np.ndarray, sigma: float, trim: float = 0.0,
                   n_boot: int = 500, seed: int = 0) -> dict:
    """The power law through each size's mean impact (``trim`` > 0: the mean without that
    fraction of runs at each end), with a bootstrap 95 % interval for ``δ``.

    ``impacts`` is ``(runs, sizes)``: every size ran on the same seeds, so the bootstrap
    resamples whole runs and keeps the sizes' shared randomness together. A symmetric trim
    stays centred on the impact when a run's difference is the impact plus the difference of
    two decoupled paths, and drops the rare runaway paths of a generated market; a median would
    not do, since many coupled runs show exactly no difference.
    """
    impacts = np.asarray(impacts, float)
    if impacts.ndim != 2 or impacts.shape[1] != len(x):
        raise ValueError(f"impacts must be (runs, {len(x)} sizes), got {impacts.shape}")

    def locations(rows: np.ndarray) -> np.ndarray:
        return stats.trim_mean(rows, trim, axis=0) if trim else rows.mean(axis=0)

    level = locations(impacts)
    fit = {**fit_power_law(x, level, sigma), "trim": trim, "impact_bps": level.tolist()}
    if fit["delta"] is None:
        return {**fit, "delta_ci95": [None, None]}
    rng = np.random.default_rng(seed)
    deltas = []
    for _ in range(n_boot):
        resampled = impacts[rng.integers(len(impacts), size=len(impacts))]
        delta = fit_power_law(x, locations(resampled), sigma)["delta"]
        if delta is not None:
            deltas.append(delta)
    low, high = np.percentile(deltas, [2.5, 97.5]).tolist() if deltas else (None, None)
    return {**fit, "delta_ci95": [low, high], "bootstrap_fits": f"{len(deltas)}/{n_boot}"}


def plot(results: list[dict], study: ImpactStudy, path) -> None:
    """Impact curves over time (aggressive style, every size) and peak impact vs. Q/V (means
    with 95 % intervals, trimmed means) with both fits, one column per flow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(results), figsize=(4.5 * len(results), 7), squeeze=False)
    for column, result in enumerate(results):
        top, bottom = axes[0, column], axes[1, column]
        style = study.styles[0]
        for q, curve in result["styles"][style]["curves"].items():
            mean, half = np.array(curve["mean"]), np.array(curve["ci95"])
            top.plot(result["times_s"], mean, label=f"Q = {q} lots")
            top.fill_between(result["times_s"], mean - half, mean + half, alpha=0.15)
        top.axvline(study.execution_s, color="grey", lw=0.8, ls="--")
        top.set(title=f"{result['flow']}: {style} TWAP", xlabel="seconds since arrival",
                ylabel="impact (bps)")
        top.legend(fontsize=7)
        for style_name, entry in result["styles"].items():
            x = np.array(result["sizes"]) / result["volume"]
            peaks = [entry["peak"][str(q)] for q in result["sizes"]]
            y = np.array([p["mean"] for p in peaks])
            errors = np.abs(np.array([p["ci95"] for p in peaks]).T - y)
            dots = bottom.errorbar(x, y, yerr=errors, fmt="o", capsize=2, label=style_name)
            bottom.plot(x, entry["fit_trimmed"]["impact_bps"], "x", color=dots[0].get_color(),
                        label=f"{style_name}, trimmed")
            for key, line in (("fit", "-"), ("fit_trimmed", ":")):
                fit = entry[key]
                if fit["delta"] is not None:
                    grid = np.geomspace(x.min(), x.max(), 50)
                    bottom.plot(grid, fit["c"] * result["sigma_bps"] * grid ** fit["delta"],
                                line, lw=1, color=dots[0].get_color(),
                                label=f"δ = {fit['delta']:.2f}" + (" (trimmed)" if "trim" in key
                                                                    else ""))
        bottom.set(xscale="log", xlabel="Q / V (parent over the window's volume)",
                   ylabel="peak impact (bps)")
        sizes = np.array(result["sizes"]) / result["volume"]
        bottom.set_xticks(sizes, [f"{v:.3g}" for v in sizes])
        bottom.minorticks_off()
        bottom.legend(fontsize=7)
    fig.suptitle(f"{study.source}, {study.split} split: parents over {study.execution_s:g} s, "
                 f"then {study.decay_s:g} s of decay; {study.n_starts * 2} runs per size and style")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summary_table(results: list[dict]) -> str:
    """Per flow and style: the fitted exponent with its 95 % interval, the trimmed fit's, and
    the permanent impact of the largest size; a legend under the table."""
    header = (f"{'flow':8s} {'style':20s} {'delta':>6s} {'95 % interval':>16s} "
              f"{'trimmed':>8s} {'95 % interval':>16s} {'permanent bps':>14s}")
    lines = [header]

    def cell(interval) -> str:
        if interval is None or None in interval:
            return "-"
        return f"[{interval[0]:.2f}, {interval[1]:.2f}]"

    def number(value) -> str:
        return "-" if value is None or not math.isfinite(value) else f"{value:.2f}"

    for r in results:
        for style, e in r["styles"].items():
            fit, trimmed = e["fit"], e["fit_trimmed"]
            lines.append(f"{r['flow']:8s} {style:20s} {number(fit['delta']):>6s} "
                         f"{cell(fit['delta_ci95']):>16s} {number(trimmed['delta']):>8s} "
                         f"{cell(trimmed['delta_ci95']):>16s} "
                         f"{number(e['permanent'][str(r['sizes'][-1])]['mean']):>14s}")
    lines.append("delta: the exponent of the square-root-law fit through each size's mean peak "
                 "impact; trimmed: the same through 10 %-trimmed means; permanent bps: the mean "
                 "impact of the largest size at the end of the decay")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """``mars-gym impact``: the table on stdout, impact.json and impact.png in ``--out``."""
    args = parsers.impact().parse_args(argv)
    study = ImpactStudy(source=args.source, execution_s=args.execution_s, decay_s=args.decay_s,
                        step_s=args.step_s, size_fractions=tuple(args.sizes),
                        n_starts=args.n_starts, lmm_observes_agents=args.lmm_observes_agents,
                        seed=args.seed)
    results = [run_study(study, flow, args.data_dir, ray=args.ray, workers=args.workers,
                         progress=args.progress) for flow in args.flows]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "impact.json").write_text(json.dumps({"study": asdict(study), "results": results},
                                                indent=1))
    plot(results, study, out / "impact.png")
    print(summary_table(results))
    print(f"wrote {out / 'impact.json'} and {out / 'impact.png'}")


if __name__ == "__main__":
    main()
