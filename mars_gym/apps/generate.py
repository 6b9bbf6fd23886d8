"""Generate a window of any background flow as LOBSTER files.

``mars-gym generate --flow lmm --source AMZN --start 12:45 --minutes 5 --level 1 --out DIR``
starts from the source's real book at ``--start`` (the book before the first event at or after
it), runs the flow alone for ``--minutes`` and writes the LOBSTER pair named by LOBSTER's
convention, ``DIR/TICKER_DATE_STARTMS_ENDMS_message_LEVEL.csv`` and its ``..._orderbook_...``
(TICKER: the source, flow and target, as ``AMZN-lmm``; STARTMS and ENDMS: milliseconds after
midnight), so ``mars-gym realism`` and every LOBSTER reader take them. It prints, per generated
clock minute, its orders, buy/sell pressure and mid return, with a legend under the table.
``--target`` steers the ``ensemble`` flow (``drop``, ``rise``, ``quiet``, ``busy`` or
``STATISTIC=VALUE``: :mod:`mars_gym.ensemble.control`). The model-free flows are calibrated on
the source's training split only: the noise agent's interval is the mean time between training
orders and its size unit the median training order size; the Hawkes flow is fitted by maximum
likelihood (:mod:`mars_gym.sim.flows.hawkes`).
"""

from __future__ import annotations

import datetime
import re
import sys

import numpy as np

from lob_core import OrderBook
from mars_gym.apps import parsers
from mars_gym.data import load_source
from mars_gym.data.lobster_export import to_lobster, write_lobster
from mars_gym.data.schema import EventStream, seed_book_from_state
from mars_gym.data.sources import LOBSTER_NAME, lobster_files
from mars_gym.data.units import NS_PER_DAY, NS_PER_MIN
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


LEGEND = ("time: the minute's start (HH:MM); orders: orders sent in it; pressure: (buys priced "
          "above the minute's opening mid - sells priced below it) / all buys and sells, +1 "
          "one-sided buying, -1 selling; return bps: the mid's change over the minute")


def lobster_stem(stream: EventStream, source: str, names: list[str], start_ns: int,
                 end_ns: int, data_dir=None) -> str:
    """``TICKER_DATE_STARTMS_ENDMS`` of a window of ``stream`` (LOBSTER's file-name convention):
    TICKER the instrument (the ticker of a LOBSTER file) and ``names`` joined by ``-``; the date
    the source's LOBSTER file names, else the day of its clock; the times in ms after that
    day's midnight."""
    day = int(stream.events["time_ns"][0]) // NS_PER_DAY * NS_PER_DAY
    date = datetime.datetime.fromtimestamp(day / 1e9, datetime.timezone.utc).date().isoformat()
    instrument = stream.source.name
    try:
        match = LOBSTER_NAME.match(lobster_files(source, data_dir)[0].name)
    except (ValueError, KeyError, FileNotFoundError):
        match = None  # not LOBSTER data: the source's name and the clock's day
    if match is not None:
        instrument, date = match.group("ticker"), match.group("date")
    ticker = re.sub(r"[^A-Za-z0-9.\-]", "-", "-".join([instrument, *names]).replace("=", ""))
    return f"{ticker}_{date}_{(start_ns - day) // 1_000_000}_{(end_ns - day) // 1_000_000}"


def summary_table(rows: list[dict]) -> str:
    """The per-minute summary as text, the legend under it."""
    lines = [f"{'time':>5s} {'orders':>7s} {'pressure':>9s} {'return bps':>11s}"]
    lines += [f"{parsers.hhmm(row['minute'] % 1440 * NS_PER_MIN):>5s} {row['orders']:7d} "
              f"{row['pressure']:9.3f} {row['return_bps']:11.2f}" for row in rows]
    return "\n".join([*lines, LEGEND])


def main(argv: list[str] | None = None) -> int:
    """``mars-gym generate``: check everything, generate, then write the two files."""
    args = parsers.generate().parse_args(argv)
    if args.target is not None:
        PlanTarget.parse(args.target)  # fail before loading anything
    stream = load_source(args.source, args.data_dir)
    times = stream.events["time_ns"]
    start_ns = parsers.start_in_data(args.start, int(times[0]), int(times[-1]),
                                     f"the data of {args.source}")
    duration_ns = int(args.minutes * 60e9)
    initial, generated = run_window(args.flow, args.source, start_ns, duration_ns, args.seed,
                                    args.data_dir, progress=args.progress, target=args.target,
                                    guidance=args.guidance, checkpoint=args.checkpoint)
    messages, orderbook = to_lobster(initial, generated.events, args.level)
    first = int(times[np.searchsorted(times, start_ns)])
    names = [args.flow, *([args.target] if args.target else [])]
    stem = lobster_stem(stream, args.source, names, first, first + duration_ns, args.data_dir)
    paths = write_lobster(args.out, stem, messages, orderbook)
    print("\n".join(str(p) for p in paths))
    print(summary_table(minute_summary(generated, args.source, args.data_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
