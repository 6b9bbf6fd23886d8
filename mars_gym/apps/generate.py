"""Generate a window of any background flow as LOBSTER files.

``mars-gym generate --flow ensemble --target drop --source AMZN --start 12:45 --minutes 5
--level 1 --out DIR`` starts from the source's real book at ``--start`` (the book before the
first event at or after it), runs the flow alone for ``--minutes``, writes
``DIR/{SOURCE}_{flow}_message_{level}.csv`` and ``..._orderbook_{level}.csv`` and prints, per
generated minute, its orders, buy/sell pressure and mid return. ``--target`` steers the
``ensemble`` flow (``drop``, ``rise``, ``quiet``, ``busy`` or ``STATISTIC=VALUE``:
:mod:`mars_gym.ensemble.control`). The model-free flows are calibrated on the source's training
split only: the noise agent's interval is the mean time between training orders and its size
unit the median training order size; the Hawkes flow is fitted by maximum likelihood
(:mod:`mars_gym.sim.flows.hawkes`).
"""

from __future__ import annotations

import sys

import numpy as np

from lob_core import OrderBook
from mars_gym.apps import parsers
from mars_gym.data import load_source
from mars_gym.data.lobster_export import to_lobster, write_lobster
from mars_gym.data.schema import EventStream, seed_book_from_state
from mars_gym.ensemble.control import PlanTarget, minute_statistic
from mars_gym.metrics.realism import LobsterStream
from mars_gym.minutes.data import source_imager
from mars_gym.sim.depth import source_ladder
from mars_gym.sim.flows import run_alone
from mars_gym.sim.flows.factory import make_flow


def run_window(flow_name: str, source_name: str, start_ns: int, duration_ns: int,
               seed: int = 0, data_dir=None, progress: bool = False,
               target: str | None = None, guidance: float | None = None,
               checkpoint: str | None = None) -> tuple[OrderBook, EventStream]:
    """Run a flow (any of :data:`mars_gym.sim.flows.factory.FLOWS`; ``lmm`` and ``ensemble``
    primed with the real history; ``checkpoint``: the LMM's, ``None`` for the flow's shipped
    one) alone from the real book at
    ``start_ns`` (with the source's depth ladder, if it has one:
    :func:`mars_gym.sim.depth.source_ladder`); the book it started from and the generated
    events."""
    stream = load_source(source_name, data_dir)
    first = int(np.searchsorted(stream.events["time_ns"], start_ns))
    if first >= len(stream):
        raise ValueError(f"{source_name} has no event at or after {start_ns} ns")
    flow = make_flow(flow_name, source_name, first, data_dir, checkpoint=checkpoint,
                     target=target, guidance=guidance)
    book = OrderBook(1)
    seed_book_from_state(book, stream.book[first])
    ladder = source_ladder(source_name, data_dir)
    if ladder is not None:
        ladder.prepare(book, seed)
    initial = book.copy()
    start = int(stream.events["time_ns"][first])
    generated = run_alone(flow, book, start, start + duration_ns, stream.source, seed, progress,
                         depth=ladder)
    return initial, generated


def generate_window(flow_name: str, source_name: str, start_ns: int, duration_ns: int,
                    level: int, seed: int = 0, data_dir=None, progress: bool = False,
                    target: str | None = None, checkpoint: str | None = None) -> LobsterStream:
    """:func:`run_window` in the LOBSTER view."""
    initial, generated = run_window(flow_name, source_name, start_ns, duration_ns, seed,
                                    data_dir, progress, target, checkpoint=checkpoint)
    messages, orderbook = to_lobster(initial, generated.events, level)
    return LobsterStream(messages, orderbook)


def minute_summary(generated: EventStream, source: str, data_dir=None) -> list[dict]:
    """Per clock minute of a generated stream of ``source`` (a name or a path): orders,
    pressure (:mod:`mars_gym.ensemble.control`) and the mid's return over the minute (bps)."""
    imager = source_imager(source, data_dir)
    minutes = imager.images(generated)
    pressure = minute_statistic("pressure", minutes.images, imager)
    returns = (minutes.close_mid / minutes.open_mid - 1) * 1e4
    return [{"minute": int(m), "orders": int(img.sum()), "pressure": float(p),
             "return_bps": float(r)}
            for m, img, p, r in zip(minutes.minute, minutes.images, pressure, returns,
                                    strict=False)]


def _clock_to_ns(text: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    return (hours * 3600 + minutes * 60) * 1_000_000_000


def main(argv: list[str] | None = None) -> int:
    args = parsers.generate().parse_args(argv)
    if args.target is not None:
        PlanTarget.parse(args.target)  # fail before loading anything
    stream = load_source(args.source)
    day = int(stream.events["time_ns"][0]) // 86_400_000_000_000 * 86_400_000_000_000
    initial, generated = run_window(args.flow, args.source, day + _clock_to_ns(args.start),
                                    int(args.minutes * 60e9), args.seed, progress=True,
                                    target=args.target, guidance=args.guidance)
    messages, orderbook = to_lobster(initial, generated.events, args.level)
    name = f"{stream.source.name}_{args.flow}" + (f"_{args.target}" if args.target else "")
    paths = write_lobster(args.out, name.replace("=", ""), messages, orderbook)
    print("\n".join(str(p) for p in paths))
    print(f"{'minute':>8s} {'orders':>7s} {'pressure':>9s} {'return bps':>11s}")
    for row in minute_summary(generated, args.source):
        print(f"{row['minute']:8d} {row['orders']:7d} {row['pressure']:9.3f} "
              f"{row['return_bps']:11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
