"""The leaderboard: every baseline and every saved SB3 agent on the test protocol, per flow.

    mars-gym leaderboard [--agents DIR] [--out-dir /tmp/lb]
    python -m benchmarks.leaderboard [--flows lmm hawkes replay]   # the repository's table

For each background flow it runs :data:`agents.evaluation.TEST_PROTOCOL` for each policy and
reports mean, std and 95 % interval of every metric, and the paired difference of the price
advantage against the **best TWAP configuration** of that flow (the TWAP variant with the
highest mean price advantage on the same episodes, the strictest reference). Writes
``LEADERBOARD.md`` and ``leaderboard.json`` (the same rows, per-episode rows included).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from agents import parsers
from agents.evaluation import TEST_PROTOCOL, Protocol, compare, evaluate, summarize
from agents.policies import ExecutionPolicy, FixedAction, SB3Policy, baselines
from agents.recipes import LeaderboardConfig, chosen
from mars_gym.apps.parsers import config_from_arguments
from mars_gym.data.calibration import calibrate
from mars_gym.parallel import fan_out

PA = "price_advantage_vs_twap_bps"


def policies(agents_dir: Path | None, protocol: Protocol, data_dir=None,
             trusted: tuple[Path, ...] = ()) -> list[ExecutionPolicy]:
    """Every baseline configuration, the MarS-action TWAP, and the saved agents: every zip in
    ``agents_dir`` must be listed in its manifest or named in ``trusted`` (:mod:`agents.trust`)."""
    calibration = calibrate(protocol.source, protocol.horizon_s, protocol.step_s, data_dir)
    found = [*baselines(calibration), FixedAction([10, 0], "twap_ratio_passive")]
    if agents_dir is not None and agents_dir.exists():
        explicit = {Path(p).resolve() for p in trusted}
        found += [SB3Policy.load(p, trust=p.resolve() in explicit)
                  for p in sorted(agents_dir.glob("*.zip"))]
    return found


def is_twap(policy: ExecutionPolicy) -> bool:
    return policy.name.startswith("twap")  # every TWAP configuration is named so


def _cache_path(policy: ExecutionPolicy, flow: str, protocol: Protocol,
                cache: Path | None) -> Path | None:
    key = hashlib.sha1(json.dumps(protocol.as_dict(), sort_keys=True).encode()).hexdigest()[:10]
    return None if cache is None else cache / f"{flow}__{policy.name}__{key}.json"


def _evaluate_pair(protocol: Protocol, num_envs: int, data_dir, progress: bool,
                   pair: tuple[str, ExecutionPolicy],
                   advance: Callable[[int], Any]) -> list[dict]:
    """One policy's episode rows on one flow (a task of :func:`run`; ``progress``: its own
    bar of episodes too, when run in this process)."""
    flow, policy = pair
    rows = evaluate(policy, flow, protocol, num_envs, data_dir, progress=progress)
    advance(1)
    return rows


def run(found: list[ExecutionPolicy], flows=LeaderboardConfig.flows,
        protocol: Protocol = TEST_PROTOCOL, num_envs: int = LeaderboardConfig.num_envs,
        data_dir=None, cache: Path | None = None, ray: str | None = None,
        workers: int | None = None) -> dict:
    """Evaluate every policy of ``found`` (TWAP configurations among them) on every flow;
    returns the JSON document of the leaderboard. ``cache``: a folder of earlier evaluations
    to reuse (the rows are deterministic; delete it after changing the env, the flows or a
    policy). With ``ray`` the evaluations not in the cache run as Ray tasks, one per policy
    and flow (:mod:`mars_gym.parallel`), with the same rows."""
    document = {"protocol": {**protocol.as_dict(), "sizes": protocol.sizes(data_dir)},
                "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform()},
                "flows": {}}
    pairs = [(flow, policy) for flow in flows for policy in found]
    paths = [_cache_path(policy, flow, protocol, cache) for flow, policy in pairs]
    rows = [json.loads(path.read_text()) if path is not None and path.exists() else None
            for path in paths]
    missing = [k for k, cached in enumerate(rows) if cached is None]
    work = functools.partial(_evaluate_pair, protocol, num_envs, data_dir, ray is None)
    evaluated = fan_out(work, [pairs[k] for k in missing], [1] * len(missing), ray, workers,
                        desc="evaluations")
    for k, new_rows in zip(missing, evaluated, strict=True):
        rows[k] = new_rows
        path = paths[k]
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(new_rows, default=_json_default))
    evaluations = {(flow, policy.name): r for (flow, policy), r in zip(pairs, rows, strict=True)}
    for flow in flows:
        table = {policy.name: {"summary": summarize(evaluations[flow, policy.name]),
                               "episodes": evaluations[flow, policy.name]} for policy in found}
        twaps = [p.name for p in found if is_twap(p)]
        best = max(twaps, key=lambda n: table[n]["summary"][PA]["mean"])
        for entry in table.values():
            entry["vs_best_twap"] = compare(entry["episodes"], table[best]["episodes"], PA)
        document["flows"][flow] = {"best_twap": best, "policies": table}
    return document


def _cell(stat: dict, digits: int = 2) -> str:
    if stat["mean"] is None:
        return "n/a"
    low, high = stat["ci95"]
    return (f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f} "
            f"[{low:.{digits}f}, {high:.{digits}f}]")


def markdown(document: dict) -> str:
    """The leaderboard as Markdown tables, best price advantage first."""
    protocol = document["protocol"]
    lines = ["# MarS-Execution leaderboard", "",
             (f"Protocol: `{protocol['source']}` {protocol['split']} split, {protocol['n_starts']} "
             f"start times x sides {protocol['sides']} x parent sizes {protocol['sizes']} lots "
             f"({protocol['size_fractions']} of the median 5-minute training volume), "
             f"{protocol['horizon_s']:g} s horizon, a decision every {protocol['step_s']:g} s, "
             f"seeds from {protocol['seed']}. Cells: mean ± std [95 % interval of the mean]. "
             "IS: implementation shortfall vs. arrival mid (bps, lower is better); PA: price "
             "advantage vs. TWAP of the mid (bps, higher is better); slippage vs. market VWAP "
             "(bps, lower is better); PA − best TWAP: paired per-episode difference; median and "
             "wins: the median PA and the share of episodes where the policy beat the best "
             "TWAP (robust to the rare runaway prices of the generated markets)."), ""]
    for flow, entry in document["flows"].items():
        lines += [f"## Background: `{flow}` (best TWAP: `{entry['best_twap']}`)", "",
                  ("| policy | PA (bps) | PA − best TWAP (bps) | median PA | wins vs best "
                   "TWAP | IS (bps) | fill rate | slippage vs VWAP (bps) | episodes |"),
                  "|---|---|---|---|---|---|---|---|---|"]
        ranked = sorted(entry["policies"].items(),
                        key=lambda kv: -kv[1]["summary"][PA]["mean"])
        for name, result in ranked:
            s = result["summary"]
            versus = result["vs_best_twap"]
            wins = "-" if versus["positive_share"] is None or name == entry["best_twap"] \
                else f"{versus['positive_share']:.2f}"
            lines.append(f"| {name} | {_cell(s[PA])} | {_cell(versus)} | "
                         f"{s[PA]['median']:.2f} | {wins} | "
                         f"{_cell(s['implementation_shortfall_bps'])} | "
                         f"{s['fill_rate']['mean']:.3f} | {_cell(s['slippage_vs_vwap_bps'])} "
                         f"| {s[PA]['n']} |")
        lines.append("")
    return "\n".join(lines)


def write(config: LeaderboardConfig) -> dict:
    """The leaderboard ``config`` asks for (:func:`run` of :func:`policies` on the test
    protocol, its source and start times replaced where given), written as
    ``leaderboard.json`` and ``LEADERBOARD.md`` into ``config.out_dir``; returns its document."""
    protocol = Protocol(**{**TEST_PROTOCOL.as_dict(),
                           **chosen(n_starts=config.n_starts, source=config.source)})
    found = policies(config.agents, protocol, config.data_dir, config.trust_agent)
    if config.only:
        found = [p for p in found if p.name in config.only or is_twap(p)]
    document = run(found, config.flows, protocol, config.num_envs, config.data_dir,
                   config.cache, ray=config.ray, workers=config.workers)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    (config.out_dir / "leaderboard.json").write_text(json.dumps(document, indent=1,
                                                                default=_json_default))
    (config.out_dir / "LEADERBOARD.md").write_text(markdown(document))
    return document


def main(argv: list[str] | None = None) -> None:
    args = parsers.leaderboard().parse_args(argv)
    document = write(config_from_arguments(LeaderboardConfig, args))
    print(json.dumps({"benchmark": "leaderboard", "machine": document["machine"],
                      "flows": {flow: {"best_twap": e["best_twap"],
                                       "pa_mean": {n: r["summary"][PA]["mean"]
                                                   for n, r in e["policies"].items()}}
                                for flow, e in document["flows"].items()}}, indent=1))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


if __name__ == "__main__":
    main()
