"""Forecast the mid from many generated futures and score it against what really happened.

At equally spaced points of the AMZN test split, the LMM (and the Hawkes flow, as a model-based
baseline) generate K futures from the real book and history; their returns at 30 s to 5 min are
scored by direction accuracy, CRPS and PIT calibration next to no-change, historical bootstrap
and a linear model on book features. Writes ``forecast/forecast.{json,md,png}``.

    python examples/forecast.py [--n-starts 12] [--futures 16]
"""

from __future__ import annotations

import argparse

from mars_gym.apps.forecast import main as forecast

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-starts", type=int, default=12)
    parser.add_argument("--futures", type=int, default=16)
    parser.add_argument("--out", default="forecast")
    args = parser.parse_args()
    forecast(["--flows", "lmm", "hawkes", "--n-starts", str(args.n_starts), "--futures",
              str(args.futures), "--out", args.out])
