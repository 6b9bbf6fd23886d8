"""A realism report of every background flow against the real AMZN test split.

Each flow (LMM, replay, noise, Hawkes) runs alone from the real book at the start of the test
split; its order flow and book are scored against the recorded ones (distribution distances and
stylized facts). Writes ``report/report.md`` with its tables and one PNG per flow.

    python examples/realism_report.py [--minutes 30]
"""

from __future__ import annotations

import argparse

from mars_gym.apps.report import main as report

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--out", default="report")
    args = parser.parse_args()
    report(["--minutes", str(args.minutes), "--out", args.out])
