"""Market impact in a simulated market: TWAP parents of growing size, the square-root law.

Injects TWAP parent orders (1 % to 20 % of the median 2-minute volume, spread over 2 minutes,
market-order slices and passive-then-cross slices) into LMM-generated futures and into the same
futures without them, then fits ``Δp = c · σ · (Q/V)^δ``. Replay is run alongside: it cannot
react, so it shows no lasting impact. Writes ``impact/impact.json`` and ``impact/impact.png``.

    python examples/market_impact.py [--n-starts 4]
"""

from __future__ import annotations

import argparse

from mars_gym.apps.impact import main as impact

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-starts", type=int, default=4)
    parser.add_argument("--out", default="impact")
    args = parser.parse_args()
    impact(["--flows", "lmm", "replay", "--n-starts", str(args.n_starts), "--out", args.out])
