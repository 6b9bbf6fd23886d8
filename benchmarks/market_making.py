"""The repository's market-making leaderboard: the baselines and the saved makers of
``benchmarks/agents/market_making`` under each flow on the test split.

    python benchmarks/market_making.py [--flows lmm hawkes replay] [--n-starts 12]

Writes ``benchmarks/results/market_making/leaderboard.{md,json}``; see
:mod:`agents.market_making` for the protocol and the columns.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# benchmarks/agents/market_making (saved makers, no code) must not be found as the module
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

from agents.market_making import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["--agents", str(HERE / "agents" / "market_making"),
                   "--out", str(HERE / "results" / "market_making"), *sys.argv[1:]]))
