"""Evaluate every baseline and every saved SB3 agent on the test protocol, per background flow.

    python -m benchmarks.leaderboard [--flows lmm hawkes replay] [--n-starts 12]

Writes ``benchmarks/LEADERBOARD.md`` and ``benchmarks/leaderboard.json`` and prints a JSON
summary; see :mod:`agents.leaderboard` for the protocol and the columns.
"""

from agents.leaderboard import main

if __name__ == "__main__":
    main()
