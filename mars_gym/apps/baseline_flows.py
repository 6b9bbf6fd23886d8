"""Generate a window of a model-free baseline flow as LOBSTER files.

``mars-gym baseline-flow --flow noise|hawkes --source AMZN --start 12:45 --minutes 195
--level 1 --out DIR`` starts from the source's real book at ``--start`` (the book before the
first event at or after it), runs the flow alone for ``--minutes``, and writes
``DIR/{SOURCE}_{flow}_message_{level}.csv`` and ``..._orderbook_{level}.csv``. The flows are
calibrated on the source's training split only: the noise agent's interval is the mean time
between training orders and its size unit the median training order size; the Hawkes flow is
fitted by maximum likelihood (:mod:`mars_gym.sim.flows.hawkes`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from lob_core import OrderBook
from mars_gym.data import load_source
from mars_gym.data.lobster_export import to_lobster, write_lobster
from mars_gym.data.schema import seed_book_from_state
from mars_gym.metrics.realism import LobsterStream
from mars_gym.sim.depth import source_ladder
from mars_gym.sim.flows import run_flow
from mars_gym.sim.flows.factory import make_flow

FLOWS = ("noise", "hawkes")


def generate_window(flow_name: str, source_name: str, start_ns: int, duration_ns: int,
                    level: int, seed: int = 0, data_dir=None,
                    progress: bool = False) -> LobsterStream:
    """Run a flow (any of :data:`mars_gym.sim.flows.factory.FLOWS`; ``lmm`` primed with the real
    history) alone from the real book at ``start_ns`` (with the source's depth ladder, if it has
    one: :func:`mars_gym.sim.depth.source_ladder`); LOBSTER view."""
    stream = load_source(source_name, data_dir)
    first = int(np.searchsorted(stream.events["time_ns"], start_ns))
    if first >= len(stream):
        raise ValueError(f"{source_name} has no event at or after {start_ns} ns")
    flow = make_flow(flow_name, source_name, first, data_dir)
    book = OrderBook(1)
    seed_book_from_state(book, stream.book[first])
    ladder = source_ladder(source_name, data_dir)
    if ladder is not None:
        ladder.prepare(book, seed)
    initial = book.copy()
    start = int(stream.events["time_ns"][first])
    generated = run_flow(flow, book, start, start + duration_ns, stream.source, seed, progress,
                         depth=ladder)
    messages, orderbook = to_lobster(initial, generated.events, level)
    return LobsterStream(messages, orderbook)


def _clock_to_ns(text: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    return (hours * 3600 + minutes * 60) * 1_000_000_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mars-gym baseline-flow", description=__doc__)
    parser.add_argument("--flow", choices=FLOWS, required=True)
    parser.add_argument("--source", default="AMZN")
    parser.add_argument("--start", default="12:45", help="HH:MM time of day to start from")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--level", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    stream = load_source(args.source)
    day = int(stream.events["time_ns"][0]) // 86_400_000_000_000 * 86_400_000_000_000
    window = generate_window(args.flow, args.source, day + _clock_to_ns(args.start),
                             int(args.minutes * 60e9), args.level, args.seed, progress=True)
    paths = write_lobster(args.out, f"{args.source}_{args.flow}", window.messages,
                          window.orderbook)
    print("\n".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
