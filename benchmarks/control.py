"""Does control move the generated market towards the target?  Prints JSON.

For start points spread over a source's test split, the ``ensemble`` flow generates
``--minutes`` of order flow alone from the real book (depth ladder included, as in the env),
once without a target and once per target (``drop``, ``rise``, ``quiet``, ``busy``), with the
same seeds. For every run it measures, on the *generated* events (not on the plans), each
minute's pressure and number of orders (:func:`mars_gym.ensemble.control.minute_statistic`) and the
mid's return over the window; and, on the plans the minute model chose, the same statistics, to
tell the minute model's choice from the order model's following it. The distance to a target is
``|statistic - value|`` (``busy``: minus the orders per minute, so lower is closer). With
several ``--guidance`` values, one result block per value (how strongly the orders are tilted
towards the chosen minutes: :mod:`mars_gym.ensemble.tilt`; 0 is selection alone).

    python -m benchmarks.control --source AMZN --starts 10 --seeds 2 --minutes 3 --guidance 0 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from benchmarks.common import emit
from lob_core import OrderBook
from mars_gym.data import load_source, split_by_time
from mars_gym.data.schema import seed_book_from_state
from mars_gym.data.units import NS_PER_MIN
from mars_gym.ensemble.control import NAMED_TARGETS, minute_statistic
from mars_gym.ensemble.flow import ENSEMBLE_GUIDANCE
from mars_gym.minutes.data import source_imager
from mars_gym.sim.depth import source_ladder
from mars_gym.sim.flows import run_alone
from mars_gym.sim.flows.factory import make_flow

TARGETS = (None, "drop", "rise", "quiet", "busy")


def run(source: str, start: int, target: str | None, seed: int, minutes: float, data_dir=None,
        checkpoint: str | None = None, guidance: float | None = None):
    """One generated window: per-minute statistics of the events and of the chosen plans."""
    stream = load_source(source, data_dir)
    flow = make_flow("ensemble", source, start, data_dir, checkpoint=checkpoint, target=target,
                     guidance=guidance)
    book = OrderBook(1)
    seed_book_from_state(book, stream.book[start])
    ladder = source_ladder(source, data_dir)
    if ladder is not None:
        ladder.prepare(book, seed)
    begin = int(stream.events["time_ns"][start])
    generated = run_alone(flow, book, begin, begin + int(minutes * NS_PER_MIN), stream.source,
                         seed, depth=ladder)
    imager = source_imager(source, data_dir)
    images = imager.images(generated).images
    chosen = np.array(flow.planner.chosen)
    mid = generated.mid[np.isfinite(generated.mid)]
    return {stat: {"events": float(minute_statistic(stat, images, imager).mean()),
                   "plans": float(minute_statistic(stat, chosen, imager).mean())}
            for stat in ("pressure", "activity")} | {
        "return_bps": float((mid[-1] / mid[0] - 1) * 1e4) if len(mid) else 0.0}


def starts_in_test(source: str, count: int, minutes: float, data_dir=None) -> list[int]:
    stream = load_source(source, data_dir)
    test = split_by_time(stream)["test"]
    first = len(stream) - len(test)
    last_time = int(stream.events["time_ns"][-1]) - int(minutes * NS_PER_MIN)
    last = int(np.searchsorted(stream.events["time_ns"], last_time)) - 1
    return [int(x) for x in np.linspace(first, last, count).round()]


def summarise(rows: dict) -> dict:
    """Mean statistics per target and the distance to each target with and without it."""
    out = {}
    for target, runs in rows.items():
        out[target] = {key: float(np.mean([r[key] if key == "return_bps" else r[key]["events"]
                                           for r in runs]))
                       for key in ("pressure", "activity", "return_bps")}
        out[target]["plan_pressure"] = float(np.mean([r["pressure"]["plans"] for r in runs]))
        out[target]["plan_activity"] = float(np.mean([r["activity"]["plans"] for r in runs]))
    for name in TARGETS[1:]:
        statistic, value = NAMED_TARGETS[name]
        out[name]["distance_to_target"] = {
            f"{kind}_{'with' if runs is rows[name] else 'without'}_control":
                _distance([r[statistic][kind] for r in runs], value)
            for kind in ("events", "plans") for runs in (rows[name], rows["none"])}
    return out


def _distance(values, value: float) -> float:
    values = np.asarray(values)
    return float(np.mean(-values if np.isinf(value) else np.abs(values - value)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="AMZN")
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--checkpoint", default=None,
                        help="ensemble order model (default: the shipped one)")
    parser.add_argument("--guidance", type=float, nargs="+", default=[ENSEMBLE_GUIDANCE],
                        help="plan guidance values to compare (one result block each)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    starts = starts_in_test(args.source, args.starts, args.minutes)
    results = {}
    for guidance in args.guidance:
        rows: dict[str, list] = {str(t).lower(): [] for t in TARGETS}
        jobs = [(s, t, seed) for s in starts for seed in range(args.seeds) for t in TARGETS]
        for start, target, seed in tqdm(jobs, desc=f"control, guidance {guidance:g}"):
            rows[str(target).lower()].append(run(args.source, start, target, seed, args.minutes,
                                                 checkpoint=args.checkpoint, guidance=guidance))
        results[f"guidance_{guidance:g}"] = summarise(rows)
    report = {"source": args.source, "starts": len(starts), "seeds": args.seeds,
              "minutes": args.minutes, "checkpoint": args.checkpoint,
              "seconds": time.perf_counter() - began,
              "targets": {t: dict(zip(("statistic", "value"), NAMED_TARGETS[t], strict=False))
                          for t in TARGETS[1:]},
              "results": results}
    for target in report["targets"].values():  # JSON has no infinity
        target["value"] = "max" if np.isinf(target["value"]) else target["value"]
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
