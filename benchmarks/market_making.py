"""The repository's market-making leaderboard: the baselines and the saved makers of
``benchmarks/agents/market_making`` under each flow on the test split.

    python -m benchmarks.market_making [--flows lmm hawkes replay] [--n-starts 12]

Writes ``benchmarks/results/market_making/leaderboard.{md,json}``; see
:mod:`agents.market_making` for the protocol and the columns.
"""

import sys

from agents.market_making import main
from benchmarks.common import RESULTS, ROOT

if __name__ == "__main__":
    sys.exit(main(["--agents", str(ROOT / "benchmarks" / "agents" / "market_making"),
                   "--out", str(RESULTS / "market_making"), *sys.argv[1:]]))
