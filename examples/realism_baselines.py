"""Realism of the model-free baseline flows against a real trading day.

The AMZN afternoon (12:45-16:00, LOBSTER level 1) is the reference. It is compared with the
same day's morning (real vs. real), and with the MarS noise agent and the calibrated Hawkes flow,
each started from the real book at 12:45, run for the afternoon and exported at level 1 (so
the generated day is filtered and scored exactly like the real one). Prints a table; writes a
PNG of the distributions per comparison into ``--out``.

    python examples/realism_baselines.py --out runs/realism
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lob_core.lobster import read_messages, read_orderbook
from mars_gym.apps.generate import generate_window
from mars_gym.apps.realism import plot_distributions
from mars_gym.data.sources import default_data_dir
from mars_gym.metrics.realism import LobsterStream, compare, stylized_facts, summary

NOON = (34_200 + 57_600) // 2 * 10**9
CLOSE = 57_600 * 10**9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/realism"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = default_data_dir()
    day = LobsterStream(read_messages(data / "AMZN_2012-06-21_34200000_57600000_message_1.csv"),
                        read_orderbook(data / "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"))
    afternoon = day.window(NOON, CLOSE + 1)
    candidates = {"AMZN morning": day.window(0, NOON)}
    for flow in ("noise", "hawkes"):
        candidates[f"{flow} flow"] = generate_window(flow, "AMZN", NOON, CLOSE - NOON, level=1,
                                                     seed=args.seed, progress=True)
    tables = {name: compare(afternoon, stream) for name, stream in candidates.items()}
    features = list(next(iter(tables.values())))
    print(f"reference: AMZN afternoon, {len(afternoon.messages):,} messages")
    print(f"{'feature':18s}" + "".join(f"{name:>16s}" for name in tables) + "   (L1 | W1/std)")
    for feature in features:
        cells = "".join(f"{t[feature]['l1']:7.3f} |{t[feature]['wasserstein_norm']:6.2f}"
                        for t in tables.values())
        print(f"{feature:18s}{cells}")
    means = "".join(f"{summary(t)['mean_l1']:7.3f} |{summary(t)['mean_wasserstein_norm']:6.2f}"
                    for t in tables.values())
    print(f"{'mean':18s}{means}")
    facts = {"AMZN afternoon": stylized_facts(afternoon)} | {
        name: stylized_facts(stream) for name, stream in candidates.items()}
    print(f"\n{'stylized fact':24s}" + "".join(f"{name:>16s}" for name in facts))
    for key in ("excess_kurtosis_1min", "acf_return_lag1", "acf_abs_return_lag1",
                "excess_kurtosis_5min", "excess_kurtosis_10min"):
        print(f"{key:24s}" + "".join(f"{f[key]:16.3f}" for f in facts.values()))
    for name, stream in candidates.items():
        path = plot_distributions(afternoon, stream, args.out / f"{name.replace(' ', '_')}.png",
                                  ("AMZN afternoon", name))
        print(f"plot: {path}")


if __name__ == "__main__":
    main()
