"""How long ``mars-gym COMMAND --help`` takes, for every command (target: under 2 s each).

Each command runs as a fresh process (``python -m mars_gym.cli COMMAND --help``), as a user
runs it; the time is the median of ``--repeats`` runs. ``python -c pass`` and ``import
mars_gym`` are measured in the same run as the floor any command pays.

Usage: ``python -m benchmarks.bench_cli [--repeats 5] [--out benchmarks/results/bench_cli.json]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import emit, machine
from mars_gym.cli import COMMANDS

TARGET_S = 2.0


def seconds(command: list[str], repeats: int) -> float:
    """Median wall time of running ``command`` ``repeats`` times (it must succeed)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    python = [sys.executable]
    help_s = {name: round(seconds([*python, "-m", "mars_gym.cli", name, "--help"],
                                  args.repeats), 3) for name in COMMANDS}
    emit({"benchmark": "cli_help", "machine": machine(), "repeats": args.repeats,
          "python_start_s": round(seconds([*python, "-c", "pass"], args.repeats), 3),
          "import_mars_gym_s": round(seconds([*python, "-c", "import mars_gym"], args.repeats), 3),
          "help_s": help_s, "slowest": max(help_s, key=help_s.__getitem__),
          "target_s": TARGET_S, "all_under_target": max(help_s.values()) < TARGET_S}, args.out)


if __name__ == "__main__":
    main()
