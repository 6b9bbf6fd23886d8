"""Build the embedded default market (a maintainer's command; needs the shared data and a clone).

``python -m tools.make_default_market`` (from the repository's root) regenerates
:data:`~mars_gym.data.default_market.DEFAULT_MARKET_FILE` (what it holds and why:
:mod:`mars_gym.data.default_market`). The same seed rebuilds the same arrays.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lob_core import OrderBook
from mars_gym.data.default_market import (
    DEFAULT_MARKET_FILE,
    DEFAULT_MARKET_VERSION,
    EVENT_COLUMNS,
)
from mars_gym.data.schema import BOOK_TICKS, EventStream
from mars_gym.data.sources import load_source
from mars_gym.data.splits import split_by_time
from mars_gym.sim.flows.hawkes import HawkesCalibration, HawkesFlow
from mars_gym.sim.simulator import Simulator

CALIBRATION_SOURCE = "AAPL"  # the real source whose training split calibrates the generator
SESSION_MINUTES = 70.0  # a test split (15 %) of 10.5 minutes: a 5-minute episode with history
WARMUP_MINUTES = 10.0
START_LEVELS = 20  # price levels per side of the laid start book


def start_book(train: EventStream, levels: int = START_LEVELS) -> OrderBook:
    """A tick-1 book around the training split's median touch: its median spread, and at each
    of ``levels`` prices per side the mean training volume at that distance from the touch
    (the book rows know :data:`~mars_gym.data.schema.BOOK_TICKS` distances; deeper prices
    repeat the deepest), one order per price."""
    both = (train.book["bid"] > 0) & (train.book["ask"] > 0)
    rows = train.book[both]
    spread = max(1, int(np.median(rows["ask"] - rows["bid"])))
    bid = int(np.median(rows["bid"]))
    depth = {1: rows["bid_qty"].mean(axis=0), -1: rows["ask_qty"].mean(axis=0)}
    book, order_id = OrderBook(1), 1
    for side, touch in ((1, bid), (-1, bid + spread)):
        for k in range(levels):
            qty = max(1, round(float(depth[side][min(k, BOOK_TICKS - 1)])))
            book.limit(side, touch - side * k, qty, order_id)
            order_id += 1
    return book


def build(data_dir=None, seed: int = 0) -> dict[str, np.ndarray]:
    """The arrays of the default market file, generated from the calibration source's training
    split (see the module docstring)."""
    real = load_source(CALIBRATION_SOURCE, data_dir)
    train = split_by_time(real)["train"]
    sim = Simulator(HawkesFlow(HawkesCalibration.fit(train).symmetric()))
    open_ns = int(real.events["time_ns"][0])
    warmup_start = open_ns - int(WARMUP_MINUTES * 60e9)
    sim.reset(start_book(train), warmup_start, seed)
    sim.run_until(open_ns)
    initial = sim.book.orders_array()
    recording_start = len(sim.recording)
    sim.run_until(open_ns + int(SESSION_MINUTES * 60e9))
    events = sim.recording.events()[recording_start:]
    # the simulator gives flow orders ids of its own range: renumber them as a data source's
    _, dense = np.unique(np.concatenate([initial["order_id"], events["order_id"]]),
                           return_inverse=True)
    initial["order_id"] = dense[:len(initial)] + 1
    events["order_id"] = dense[len(initial):] + 1
    return {"version": np.array(DEFAULT_MARKET_VERSION), "seed": np.array(seed),
            "initial_orders": initial, **{column: events[column] for column in EVENT_COLUMNS}}


def write(arrays: dict[str, np.ndarray], path: Path = DEFAULT_MARKET_FILE) -> None:
    """Write the file compressed, atomically (a temporary file renamed over the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp.npz")
    np.savez_compressed(temporary, **arrays)
    temporary.replace(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rebuild the embedded default market from the "
                                     "shared data (a maintainer's command).")
    parser.add_argument("--data-dir", default=None, help="the shared data folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_MARKET_FILE)
    args = parser.parse_args(argv)
    arrays = build(args.data_dir, args.seed)
    write(arrays, args.out)
    print(f"{args.out}: {len(arrays['time_ns'])} events, {len(arrays['initial_orders'])} "
          f"resting orders at the start, {args.out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
