"""The realism gate: every flow against held-out real windows, by LOB-Bench's metrics.

Usage::

    python -m benchmarks.realism [--flows lmm ensemble hawkes noise replay] [--seeds 0 1 2 3 4 5]
        [--checkpoint default] [--workers 2] [--out benchmarks/results/realism]

Writes ``realism.json``, ``realism.md`` (one table per source: score x distance x flow with
each flow's rank, wins of the learned flows over the baselines, message mix and rate, return
facts) and ``realism.png``; prints the JSON with the machine. Generated windows are cached in
``OUT/cache`` (or ``--cache``) so an interrupted gate resumes (see :mod:`mars_gym.apps.gate`);
the cache is keyed by flow, window, seed, LMM checkpoint and the generating code
(:func:`~mars_gym.apps.gate.code_tag`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks.common import RESULTS, emit, machine
from mars_gym.apps.gate import GATE_SEEDS, GATE_SOURCES, markdown, plot, run_gate
from mars_gym.sim.flow_names import FLOWS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", nargs="+", choices=FLOWS, default=list(FLOWS))
    parser.add_argument("--sources", nargs="+", default=list(GATE_SOURCES),
                        help="LOBSTER sources (windows per source: AMZN 4, AAPL 2)")
    parser.add_argument("--windows", type=int, default=None,
                        help="windows per source instead of the defaults")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(GATE_SEEDS))
    parser.add_argument("--checkpoint", default="default",
                        help="LMM checkpoint of the lmm flow: a name or a path")
    parser.add_argument("--n-bootstrap", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "realism")
    parser.add_argument("--cache", type=Path, default=None,
                        help="folder of generated windows (default OUT/cache); share it between "
                             "runs that compare checkpoints: only the lmm windows differ")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    sources = {s: args.windows or GATE_SOURCES.get(s, 2) for s in args.sources}
    started = time.perf_counter()
    document = run_gate(args.flows, sources, args.seeds, checkpoint=args.checkpoint,
                        n_bootstrap=args.n_bootstrap, workers=args.workers,
                        cache=args.cache or args.out / "cache", data_dir=args.data_dir)
    plot(document, args.out / "realism.png")
    del document["_streams"]
    document.update(benchmark="realism", seconds=time.perf_counter() - started,
                    machine=machine())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "realism.md").write_text(markdown(document))
    emit(document, args.out / "realism.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
