"""Differential fuzz of lob_core.OrderBook against the reference book, at scale.

Runs ``--ops`` operations (default 10^6) of :func:`lob_core.fuzz.random_operations` — ordinary
flow mixed with domain-edge values — in sequences of ``--sequence`` operations on fresh books,
each chunk in its own process so that a crash (a signal) is counted instead of ending the run.
Prints one JSON object: operations, refusals, crashes, mismatches, half-applied refusals and
invariant violations (every count but operations and refusals must be 0).

Usage: ``python -m benchmarks.fuzz_book [--ops 1000000] [--workers 2] [--seed 0]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, emit, machine

CHUNK_OPS = 50_000


def run_chunk(seed: int, n_ops: int, sequence: int) -> dict:
    """Fuzz ``n_ops`` operations in this process; the report as a dict."""
    from lob_core import fuzz

    rng = np.random.default_rng(seed)
    report = fuzz.FuzzReport()
    for first in range(0, n_ops, sequence):
        fuzz.check_operations(fuzz.random_operations(rng, min(sequence, n_ops - first)), report)
    return asdict(report)


def _chunk_in_subprocess(seed: int, n_ops: int, sequence: int) -> dict:
    run = subprocess.run([sys.executable, "-m", "benchmarks.fuzz_book", "--worker", str(seed),
                          str(n_ops), str(sequence)], capture_output=True, text=True,
                         check=False, cwd=ROOT)
    if run.returncode != 0:
        return {"crash": f"seed {seed}: exit {run.returncode}: {run.stderr[-300:]}",
                "operations": 0}
    return json.loads(run.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=1_000_000)
    parser.add_argument("--sequence", type=int, default=2_000,
                        help="operations per fresh book")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--worker", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_chunk(*args.worker)))
        return 0
    chunks = [(args.seed * 1_000_003 + k, min(CHUNK_OPS, args.ops - first), args.sequence)
              for k, first in enumerate(range(0, args.ops, CHUNK_OPS))]
    started = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        results = list(pool.map(lambda chunk: _chunk_in_subprocess(*chunk), chunks))
    seconds = time.perf_counter() - started
    counts = ("operations", "rejections", "mismatches", "half_applied_rejections",
              "invariant_violations")
    result = {"benchmark": "fuzz_book", "seed": args.seed, "chunks": len(chunks),
              **{name: sum(r.get(name, 0) for r in results) for name in counts},
              "crashes": sum("crash" in r for r in results),
              "failures": [f for r in results for f in r.get("first_failures", [])][:10]
              + [r["crash"] for r in results if "crash" in r][:10],
              "seconds": seconds, "ops_per_s": sum(r["operations"] for r in results) / seconds,
              "machine": machine()}
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
