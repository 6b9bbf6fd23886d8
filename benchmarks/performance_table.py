"""The performance table of ``benchmarks/RESULTS.md``, generated from the benchmark JSONs in
``benchmarks/results``.

``python -m benchmarks.performance_table`` prints the table; ``--write`` puts it into
``RESULTS.md`` between its ``<!-- performance -->`` markers. A test checks that the committed
table is the one these JSONs give, so the two cannot drift apart: rerun a benchmark with
``--out``, then this script with ``--write``.
"""

from __future__ import annotations

import argparse
import json

from benchmarks.common import RESULTS, ROOT

START, END = "<!-- performance -->", "<!-- /performance -->"


def _load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def _rate(value: float) -> str:
    return f"{value / 1e6:.2f} M/s" if value >= 1e6 else f"{value / 1e3:.1f} k/s"


def table() -> str:
    """The Markdown table (measurement, value, target, met) from the JSONs."""
    lob, sim = _load("bench_lob_cpu.json"), _load("bench_sim_cpu.json")
    lmm, cli = _load("bench_lmm_cpu.json"), _load("bench_cli.json")
    kv = lmm["results"]["default"]["batches"]
    rows = [
        ("engine: LOBSTER batch replay, messages", _rate(lob["batch_replay"]["msgs_per_s"]),
         ">= 5 M/s", lob["targets"]["batch_replay_ge_5M_msgs_per_s"]),
        ("engine: Python API, mixed orders (bench_lob)",
         _rate(lob["python_api"]["lob_core_orders_per_s"]), ">= 1 M/s",
         lob["targets"]["python_api_ge_1M_orders_per_s"]),
    ]
    for flow, target in (("replay", "1.4 M/s"), ("noise", "700 k/s"), ("hawkes", "700 k/s")):
        met = next(v for k, v in sim["targets"].items() if k.startswith(flow))
        rows.append((f"env, {flow} flow: background orders", _rate(
            sim["flows"][flow]["orders_per_s"]), f">= {target}", met))
    for flow in ("replay", "noise", "hawkes"):
        rows.append((f"simulator alone (no env steps), {flow} flow: orders",
                     _rate(sim["flows"][flow]["simulator"]["orders_per_s"]), "", None))
    rows += [
        (f"LMM generation, KV cache, batch {max(kv, key=int)}: orders",
         _rate(kv[max(kv, key=int)]["kv"]["orders_per_s"]), "", None),
        (f"LMM vector env ({sim['lmm']['batch']} envs), `step` / pure generation",
         f"{sim['lmm']['vector_env_over_pure_generation']:.0%}", ">= 70 %",
         sim["targets"]["lmm_vector_ge_70%_of_generation"]),
        (f"LMM vector env ({sim['lmm']['batch']} envs), `play` (studies) / pure generation",
         f"{sim['lmm']['vector_env_play_over_pure_generation']:.0%}", ">= 70 %",
         sim["targets"]["lmm_vector_play_ge_70%_of_generation"]),
        ("`mars-gym COMMAND --help`, slowest command", f"{max(cli['help_s'].values()):.2f} s",
         "< 2 s", cli["all_under_target"]),
    ]
    lines = ["| measurement (2 CPU cores) | value | target | met |", "|---|---|---|---|"]
    lines += [f"| {name} | {value} | {target} | {'' if met is None else 'yes' if met else 'no'} |"
              for name, value, target, met in rows]
    return "\n".join(lines)


RESULTS_FILE = ROOT / "benchmarks" / "RESULTS.md"


def with_table(document: str) -> str:
    """``document`` with the text between the markers replaced by :func:`table`."""
    if START not in document or END not in document:
        raise ValueError(f"{RESULTS_FILE.name} has no {START} ... {END} block")
    head, rest = document.split(START, 1)
    return f"{head}{START}\n{table()}\n{END}{rest.split(END, 1)[1]}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update RESULTS.md in place")
    args = parser.parse_args(argv)
    if args.write:
        RESULTS_FILE.write_text(with_table(RESULTS_FILE.read_text()))
    print(table())


if __name__ == "__main__":
    main()
