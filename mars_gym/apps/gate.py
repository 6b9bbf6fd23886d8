"""The realism gate: every background flow scored by LOB-Bench's metrics on held-out windows.

For each source, windows of its **test** split (evenly spaced, ``minutes`` long) are the
reference, as LOBSTER recorded them. Each flow starts from the real book at each window's start
(``lmm`` / ``ensemble`` primed with the real history before it) and runs alone for the window,
once per seed; its events are exported at the level of the source's LOBSTER message file (its
level-N filter: AMZN 1, AAPL 50), and its orderbook rows cut to the levels the real orderbook
file shows (AAPL's is the touch only), so both are seen through the same filter. Real windows are
pooled, generated ones too (windows x seeds), and compared score by score
(:mod:`mars_gym.metrics.lob_bench`: L1 and Wasserstein with 99 % bootstrap intervals). Also per
flow: the visible message mix and rate, and the 1-minute return excess kurtosis and the 99th
percentile of |5-minute return| (returns on a 1-minute grid inside each window), and the
longest silence (the longest time between two visible messages) of all windows and of the
median window.

Generated windows are cached as ``.npz`` files (``cache``), so a long gate resumes where it
stopped. A cached window's name holds a hash of the LMM checkpoint it ran on and one of the code
that generates windows (:func:`code_tag`: the simulator, the flows, the tokens, the data path,
the model and the engine), so a change to any of them generates the windows again instead of
scoring stale ones. ``python -m benchmarks.realism`` is the command line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.stats import kurtosis
from tqdm.auto import tqdm

import lob_core
from lob_core.lobster import level_from_filename
from mars_gym.apps.generate import generate_window
from mars_gym.apps.report import real_window
from mars_gym.data import load_source
from mars_gym.data.sources import lobster_files
from mars_gym.data.splits import split_bounds
from mars_gym.data.units import NS_PER_MIN
from mars_gym.metrics import lob_bench
from mars_gym.metrics.realism import LobsterStream, mid_on_grid
from mars_gym.sim.flows.registry import flow_names, flow_spec

GATE_SOURCES = {"AMZN": 4, "AAPL": 2}  # source -> windows of its test split
GATE_MINUTES = {"AMZN": 10.0, "AAPL": 4.0}
# six seeds: AAPL's test split holds two 4-minute windows, and with three seeds its shares moved
# by 10 points from one set of seeds to the next (77 % / 67 % of the Hawkes rows)
GATE_SEEDS = (0, 1, 2, 3, 4, 5)
BASELINES = ("hawkes", "noise")
# the packages whose code makes a generated window (mars_gym's, then the engine)
GENERATION_CODE = (*(Path(__file__).resolve().parents[1] / name
                     for name in ("sim", "tokens", "data", "lmm", "minutes", "ensemble")),
                   Path(lob_core.__file__).parent)
SOURCE_SUFFIXES = (".py", ".pyx", ".pxd")


def window_starts(source: str, n_windows: int, minutes: float, data_dir=None) -> list[int]:
    """``n_windows`` evenly spaced start times (ns) of ``minutes``-long windows inside the test
    split of ``source``."""
    stream = load_source(source, data_dir)
    first, stop = split_bounds(stream)["test"]
    times = stream.events["time_ns"]
    t0, t1 = int(times[first]), int(times[stop - 1]) - int(minutes * NS_PER_MIN)
    if t1 <= t0:
        raise ValueError(f"the test split of {source} is shorter than {minutes} minutes")
    return [int(t) for t in np.linspace(t0, t1, n_windows)]


@lru_cache(maxsize=4)
def code_tag(folders: Sequence[Path] = GENERATION_CODE) -> str:
    """A short hash of the source files (``.py``, ``.pyx``, ``.pxd``) under ``folders``, names
    and contents: the cache key of the code that generated a window."""
    digest = hashlib.sha1()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.suffix in SOURCE_SUFFIXES and path.is_file():
                digest.update(f"{Path(folder).name}/{path.relative_to(folder)}".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _checkpoint_tag(checkpoint: str) -> str:
    """A short hash of the checkpoint file (named or a path), so the cache follows its content."""
    from mars_gym.lmm.checkpoint import NAMED

    return hashlib.sha1(NAMED.get(checkpoint, Path(checkpoint)).read_bytes()).hexdigest()[:10]


def _generate(task: tuple) -> tuple[tuple, np.ndarray, np.ndarray]:
    flow, source, start_ns, duration_ns, levels, seed, checkpoint, data_dir, path = task
    level, book_levels = levels  # of the message file's filter, of the orderbook file
    if path is not None and Path(path).is_file():
        with np.load(path, allow_pickle=False) as saved:
            return task, saved["messages"], saved["orderbook"][:, :4 * book_levels]
    stream = generate_window(flow, source, start_ns, duration_ns, level, seed, data_dir,
                             checkpoint=checkpoint)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(path).with_suffix(".tmp.npz")
        np.savez(tmp, messages=stream.messages, orderbook=stream.orderbook)
        tmp.replace(path)
    return task, stream.messages, stream.orderbook[:, :4 * book_levels]


def return_facts(streams: Sequence[LobsterStream]) -> dict:
    """1-minute return excess kurtosis and the 99th percentile of |5-minute return| (bps),
    from each stream's mid on a 1-minute grid (5-minute returns overlap), pooled."""
    one, five = [], []
    for stream in streams:
        mid = mid_on_grid(stream)
        log_mid = np.log(mid[np.isfinite(mid) & (mid > 0)])
        one.append(np.diff(log_mid))
        if len(log_mid) > 5:
            five.append(log_mid[5:] - log_mid[:-5])
    one_min = np.concatenate(one) if one else np.zeros(0)
    five_min = np.concatenate(five) if five else np.zeros(0)
    return {"returns_1min": len(one_min),
            "excess_kurtosis_1min": float(kurtosis(one_min)) if len(one_min) > 3 else None,
            "returns_5min": len(five_min),
            "abs_return_5min_p99_bps": (float(np.percentile(np.abs(five_min), 99) * 1e4)
                                        if len(five_min) else None)}


def silence_facts(streams: Sequence[LobsterStream]) -> dict:
    """The longest time between two consecutive visible messages (seconds), over all
    ``streams`` and in the median stream (each stream's own longest, then their median)."""
    longest = [float(np.diff(s.messages["time_ns"]).max()) / 1e9 for s in streams
               if len(s.messages) >= 2]
    return {"longest_silence_s": max(longest) if longest else None,
            "median_longest_silence_s": float(np.median(longest)) if longest else None}


def run_gate(flows: Sequence[str], sources: dict[str, int] | None = None,
             seeds: Sequence[int] = GATE_SEEDS, minutes: dict[str, float] | None = None,
             checkpoint: str = "default", n_bootstrap: int = 100, workers: int = 1,
             cache: Path | None = None, data_dir=None, progress: bool = True) -> dict:
    """Score every flow on every source (see the module docstring); the gate's document,
    with the pooled streams under ``"_streams"`` for plotting."""
    sources = GATE_SOURCES if sources is None else sources
    minutes = {**GATE_MINUTES, **(minutes or {})}
    # the checkpoint replaces the model of the flows that run on the default LMM; every other
    # learned flow keeps its own shipped model
    models = {}
    for flow in flows:
        shipped = flow_spec(flow).checkpoint
        models[flow] = checkpoint if shipped == "default" else shipped
    document = {"checkpoint": checkpoint, "seeds": list(seeds), "n_bootstrap": n_bootstrap,
                "sources": {}, "_streams": {}}
    tasks, reals = [], {}
    for source, n_windows in sources.items():
        duration = int(minutes[source] * NS_PER_MIN)
        starts = window_starts(source, n_windows, minutes[source], data_dir)
        reals[source] = [real_window(source, s, s + duration, data_dir) for s in starts]
        book_levels = lob_bench.levels_of(reals[source][0])
        level = level_from_filename(lobster_files(source, data_dir)[0]) or book_levels
        for flow in flows:
            for start in starts:
                for seed in seeds:
                    model = "" if models[flow] is None else "_" + _checkpoint_tag(models[flow])
                    path = None if cache is None else (
                        cache / (f"{source}_{flow}{model}_{start}_{duration}_{level}_s{seed}"
                                 f"_{code_tag()}.npz"))
                    tasks.append((flow, source, start, duration, (level, book_levels), seed,
                                  models[flow], data_dir, None if path is None else str(path)))
        document["sources"][source] = {"windows": [[s, s + duration] for s in starts],
                                       "minutes": minutes[source], "level": level,
                                       "book_levels": book_levels}
    generated: dict[tuple[str, str], list[LobsterStream]] = {}
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    results = pool.map(_generate, tasks) if pool else map(_generate, tasks)
    for task, messages, orderbook in tqdm(results, total=len(tasks), desc="gate windows",
                                          disable=not progress):
        generated.setdefault((task[1], task[0]), []).append(
            LobsterStream(messages, orderbook) if len(messages) >= 2 else None)
    if pool:
        pool.shutdown()
    for source in sources:
        real = reals[source]
        entry = document["sources"][source]
        entry["real"] = {"mix": lob_bench.message_mix(real), "returns": return_facts(real),
                         "silence": silence_facts(real)}
        entry["flows"] = {}
        document["_streams"][source] = {"real": real}
        for flow in flows:
            streams = [s for s in generated[(source, flow)] if s is not None]
            document["_streams"][source][flow] = streams
            entry["flows"][flow] = {
                "windows_scored": len(streams),
                "mix": lob_bench.message_mix(streams) if streams else None,
                "returns": return_facts(streams),
                "silence": silence_facts(streams),
                "scores": lob_bench.compare(real, streams, n_bootstrap) if streams else {}}
        entry["ranking"] = rank(entry["flows"])
    return document


def rank(flows: dict[str, dict]) -> dict:
    """Per (score, distance) row: each flow's rank (1 = closest to real, ties share a rank;
    undefined rows left out), and the share of rows where each learned flow (one that runs on
    an LMM checkpoint: ``lmm``, ``ensemble``) is strictly closer than each baseline."""
    names = sorted({name for f in flows.values() for name in f["scores"]})
    ranks: dict[str, dict[str, int]] = {}
    for name in names:
        for distance in ("l1", "wasserstein"):
            values = {flow: f["scores"].get(name, {}).get(distance) for flow, f in flows.items()}
            defined = {flow: v for flow, v in values.items() if v is not None}
            # competition ranking: ties share the better rank
            ranks[f"{name}/{distance}"] = {
                flow: 1 + sum(other < v for other in defined.values())
                for flow, v in defined.items()}
    wins = {}
    learned_flows = [f for f in flows if f in flow_names() and flow_spec(f).checkpoint]
    for learned in learned_flows:
        for baseline in BASELINES:
            if learned in flows and baseline in flows:
                rows = [r for r in ranks.values() if learned in r and baseline in r]
                wins[f"{learned}_beats_{baseline}"] = (
                    sum(r[learned] < r[baseline] for r in rows) / len(rows) if rows else None)
    return {"ranks": ranks, "wins": wins}


def _cell(row: dict | None, distance: str) -> str:
    if not row or row.get(distance) is None:
        return "undefined"
    low, high = row[f"{distance}_ci"]
    return f"{row[distance]:.3f} [{low:.2f}, {high:.2f}]"


def markdown(document: dict) -> str:
    lines = [f"# Realism gate (LMM checkpoint: {document['checkpoint']})", "",
             (f"Seeds {document['seeds']}; windows of each source's test split; pooled scores, "
              f"L1 and Wasserstein (standardised) with 99 % bootstrap intervals "
              f"({document['n_bootstrap']} resamples); lower is closer; (r) is the flow's rank."),
             ""]
    for source, entry in document["sources"].items():
        flows = list(entry["flows"])
        lines += [(f"## {source}: {len(entry['windows'])} windows of {entry['minutes']:g} min, "
                   f"messages at LOBSTER level {entry['level']}, orderbook "
                   f"{entry.get('book_levels', entry['level'])} level(s)"), "",
                  "| score | distance | " + " | ".join(flows) + " |",
                  "|---|---|" + "---|" * len(flows)]
        ranks = entry["ranking"]["ranks"]
        for key, by_flow in ranks.items():
            name, distance = key.split("/")
            cells = [f"{_cell(entry['flows'][f]['scores'].get(name), distance)} "
                     f"({by_flow[f]})" if f in by_flow else "undefined" for f in flows]
            lines.append(f"| {name} | {distance} | " + " | ".join(cells) + " |")
        mean_rank = {f: np.mean([r[f] for r in ranks.values() if f in r]) for f in flows}
        lines += ["| **mean rank** | | " + " | ".join(f"{mean_rank[f]:.2f}" for f in flows) + " |",
                  "", "Wins of the learned flows over the baselines (share of rows): " + ", ".join(
                      f"{k} {v:.0%}" for k, v in entry["ranking"]["wins"].items()
                      if v is not None), "",
                  "| | real | " + " | ".join(flows) + " |", "|---|---|" + "---|" * len(flows)]
        columns = [entry["real"], *(entry["flows"][f] for f in flows)]
        for key, label, fmt in (("new", "new orders", "{:.1%}"), ("cancel", "cancels", "{:.1%}"),
                                ("execute", "executions", "{:.1%}"),
                                ("messages_per_minute", "messages / min", "{:.0f}")):
            lines.append(f"| {label} | " + " | ".join(
                "undefined" if not c["mix"] or c["mix"][key] is None
                else fmt.format(c["mix"][key]) for c in columns) + " |")
        for key, label in (("excess_kurtosis_1min", "1-min excess kurtosis"),
                           ("abs_return_5min_p99_bps", "p99 abs 5-min return, bps")):
            lines.append(f"| {label} | " + " | ".join(
                "undefined" if c["returns"][key] is None else f"{c['returns'][key]:.2f}"
                for c in columns) + " |")
        for key, label in (("longest_silence_s", "longest silence, s"),
                           ("median_longest_silence_s", "median window's longest silence, s")):
            lines.append(f"| {label} | " + " | ".join(
                "undefined" if (c.get("silence") or {}).get(key) is None
                else f"{c['silence'][key]:.2f}" for c in columns) + " |")
        lines.append("")
    return "\n".join(lines)


PLOTTED = ("spread", "orderbook_imbalance", "log_inter_arrival_time", "log_time_to_cancel",
           "bid_volume_touch", "limit_bid_order_depth", "bid_cancellation_depth",
           "volume_per_minute", "ofi")


def plot(document: dict, path: Path) -> Path:
    """One row of panels per source: real and each flow's pooled distribution of a score."""
    import matplotlib.pyplot as plt

    from mars_gym.apps.realism import save_figure  # sets the Agg backend

    streams = document["_streams"]
    figure, axes = plt.subplots(len(streams), len(PLOTTED),
                                figsize=(2.6 * len(PLOTTED), 2.4 * len(streams)), squeeze=False)
    for row, (source, by_flow) in enumerate(streams.items()):
        for column, name in enumerate(PLOTTED):
            axis = axes[row, column]
            samples = {label: lob_bench.sample(s, name) for label, s in by_flow.items() if s}
            pooled = np.concatenate([v for v in samples.values() if len(v)] or [np.zeros(1)])
            low, high = np.quantile(pooled, [0.01, 0.99])
            edges = np.linspace(low, high if high > low else low + 1, 30)
            for label, values in samples.items():
                if len(values):
                    axis.hist(np.clip(values, edges[0], edges[-1]), edges, density=True,
                              histtype="step", linewidth=2.2 if label == "real" else 1.0,
                              color="black" if label == "real" else None, label=label)
            axis.set_title(f"{source}: {name}", fontsize=8)
            axis.tick_params(labelsize=6)
    axes[0, 0].legend(fontsize=6)
    return save_figure(figure, path, dpi=80)
