"""The repository's market-making leaderboard: the baselines and the saved makers of
``benchmarks/agents/market_making`` under each flow on the test split.

    python benchmarks/market_making.py [--flows lmm hawkes replay] [--n-starts 12]

Writes ``benchmarks/results/market_making/leaderboard.{md,json}``; see
:mod:`agents.market_making` for the protocol and the columns.
"""

import sys
from pathlib import Path

from agents.market_making import main

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    sys.exit(main(["--agents", str(HERE / "agents" / "market_making"),
                   "--out", str(HERE / "results" / "market_making"), *sys.argv[1:]]))
