"""The repository's leaderboard: every baseline and every saved SB3 agent of
``benchmarks/agents`` on the test protocol, per background flow.

    python -m benchmarks.leaderboard [--flows lmm hawkes replay] [--n-starts 12]

Writes ``benchmarks/LEADERBOARD.md`` and ``benchmarks/leaderboard.json`` and prints a JSON
summary; see :mod:`agents.leaderboard` for the protocol and the columns.
"""

import sys
from pathlib import Path

from agents.leaderboard import main

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    main(["--agents", str(HERE / "agents"), "--out-dir", str(HERE), *sys.argv[1:]])
