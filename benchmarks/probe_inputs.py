"""Crafted inputs at the data boundary: is each one refused (and with which message) or loaded?

Each case of :data:`CASES` is a small function that writes its file into a scratch folder and
loads it, returning a summary of what loaded; a case that raises was refused, and its message
is kept. Every case states the outcome it expects (``"refused"`` or ``"loaded"``); the JSON
object printed at the end lists each case with its outcome and counts the unexpected ones.

To add a case: write ``def my_case(folder: Path) -> dict`` and append
``Case("my_case", "refused", my_case)`` to :data:`CASES`.

Usage: ``python -m benchmarks.probe_inputs [--only NAME ...] [--out PATH]``
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.common import emit, machine

ORDER_HEADER = "time,type,side,price,size,id\n"
OB_HEADER = "id,timestamp,exchange_timestamp,price,volume,action,direction\n"


@dataclass(frozen=True)
class Case:
    """One crafted input: its name, the outcome it should have, and the function that loads it
    from a scratch folder (returning a summary of what loaded)."""

    name: str
    expect: str  # "refused" or "loaded"
    run: Callable[[Path], dict]


def order_events(folder: Path, rows: str, **units) -> dict:
    """Load ``rows`` as a plain order-event CSV (``units``: register_source's keywords); a
    summary of its events."""
    from mars_gym.data import EVENT_DTYPE, sources

    path = folder / "probe.csv"
    path.write_text(ORDER_HEADER + rows)
    _, load = sources.file_source(path, **units)
    events = load().events
    return {"events": len(events), "distinct_times": int(np.unique(events["time_ns"]).size),
            "first": {name: int(events[name][0]) for name in EVENT_DTYPE.names or ()}}


def ob_analytics(folder: Path, rows: str, **units) -> dict:
    """Load ``rows`` as an ob-analytics order file (tick 1, lot 1e-8); a summary."""
    from mars_gym.data import sources

    path = folder / "probe_orders.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(OB_HEADER + rows)
    _, load = sources.file_source(path, tick_value=1.0, lot_value=1e-8, **units)
    stream = load()
    return {"events": len(stream), "order_ids": stream.events["order_id"].tolist(),
            "time_ns": stream.events["time_ns"][:2].tolist(),
            "duplicate_created": stream.report["duplicate_created"]}


def epoch_milliseconds(folder: Path) -> dict:
    """Epoch milliseconds in a file read as seconds (once every time became -2**63)."""
    return order_events(folder, "1700000000000,new,buy,100.00,5,1\n")


def epoch_milliseconds_declared(folder: Path) -> dict:
    """The same file with ``time_unit="ms"``."""
    return order_events(folder, "1700000000000,new,buy,100.00,5,1\n", time_unit="ms")


def epoch_times_100_ns_apart(folder: Path) -> dict:
    """4,000 epoch times 100 ns apart (through float64 they collapsed to 1,563)."""
    return order_events(folder, "".join(f"1700000000.{k:07d},new,buy,100.00,1,{k + 1}\n"
                                        for k in range(4_000)))


def sub_nanosecond_time(folder: Path) -> dict:
    """A time with a tenth of a nanosecond."""
    return order_events(folder, "34200.0000000001,new,buy,100.00,5,1\n")


def ob_analytics_microseconds(folder: Path) -> dict:
    """ob-analytics timestamps in microseconds (once wrapped to -8.4e18)."""
    return ob_analytics(folder, "1,1430438404518000,1430438404000000,236,1.0,created,bid\n")


def ob_analytics_decimal_seconds(folder: Path) -> dict:
    """ob-analytics timestamps in seconds with millisecond decimals (once read as ms)."""
    return ob_analytics(folder, "1,1430438404.518,1430438404,236,1.0,created,bid\n")


def ob_analytics_ids_above_2_53(folder: Path) -> dict:
    """Two ids 1 apart above 2**53 (once one was dropped as a duplicate)."""
    return ob_analytics(folder, f"{2**53},1430438404518,1430438404518,236,1.0,created,bid\n"
                                f"{2**53 + 1},1430438404519,1430438404519,235,1.0,created,bid\n")


def price_off_tick_by_half_a_cent(folder: Path) -> dict:
    """Price 123456.785 at a 0.01 tick (once rounded by a relative tolerance)."""
    return order_events(folder, "34200,new,buy,123456.785,5,1\n")


def id_with_a_fraction(folder: Path) -> dict:
    """Id 1000000000.4 (once rounded to 1000000000)."""
    return order_events(folder, "34200,new,buy,100.00,5,1000000000.4\n")


def size_with_a_fraction(folder: Path) -> dict:
    """Size 2000000.9 at lot 1 (once rounded to 2000001)."""
    return order_events(folder, "34200,new,buy,100.00,2000000.9,1\n")


def size_2_53_plus_1(folder: Path) -> dict:
    """Size 2**53 + 1 (once rounded to 2**53)."""
    return order_events(folder, f"34200,new,buy,100.00,{2**53 + 1},1\n")


def size_2_62_minus_1(folder: Path) -> dict:
    """Size 2**62 - 1, the largest the book holds (once refused as 2**62)."""
    return order_events(folder, f"34200,new,buy,100.00,{2**62 - 1},1\n")


def execute_contradicting_its_order(folder: Path) -> dict:
    """An execute of order 7 (resting sell 100.05) that says buy 1.23 (once stored so)."""
    return order_events(folder, "34200,new,sell,100.05,5,7\n34201,execute,buy,1.23,2,7\n")


def zero_tick(folder: Path) -> dict:
    """A source registered with tick 0 (once a ZeroDivisionError at load)."""
    return order_events(folder, "34200,new,buy,100.00,5,1\n", tick_value=0.0)


def text_tick(folder: Path) -> dict:
    """A source registered with the tick ``"0.01"`` (a string)."""
    return order_events(folder, "34200,new,buy,100.00,5,1\n", tick_value="0.01")


CASES: list[Case] = [
    Case("epoch_milliseconds", "refused", epoch_milliseconds),
    Case("epoch_milliseconds_declared", "loaded", epoch_milliseconds_declared),
    Case("epoch_times_100_ns_apart", "loaded", epoch_times_100_ns_apart),
    Case("sub_nanosecond_time", "refused", sub_nanosecond_time),
    Case("ob_analytics_microseconds", "refused", ob_analytics_microseconds),
    Case("ob_analytics_decimal_seconds", "refused", ob_analytics_decimal_seconds),
    Case("ob_analytics_ids_above_2_53", "loaded", ob_analytics_ids_above_2_53),
    Case("price_off_tick_by_half_a_cent", "refused", price_off_tick_by_half_a_cent),
    Case("id_with_a_fraction", "refused", id_with_a_fraction),
    Case("size_with_a_fraction", "refused", size_with_a_fraction),
    Case("size_2_53_plus_1", "loaded", size_2_53_plus_1),
    Case("size_2_62_minus_1", "loaded", size_2_62_minus_1),
    Case("execute_contradicting_its_order", "refused", execute_contradicting_its_order),
    Case("zero_tick", "refused", zero_tick),
    Case("text_tick", "refused", text_tick),
]


def probe(case: Case) -> dict:
    """Run one case in a fresh scratch folder: its outcome, and the message or the summary."""
    outcome: dict[str, object]
    with tempfile.TemporaryDirectory() as scratch:
        try:
            loaded = case.run(Path(scratch))
        except (ValueError, TypeError, LookupError, OSError, ArithmeticError) as error:
            # a clear refusal, or (ArithmeticError: a ZeroDivisionError, an overflow) a crash
            kind = "crashed" if isinstance(error, ArithmeticError) else "refused"
            outcome = {"outcome": kind, "error": type(error).__name__,
                       "message": str(error).replace(scratch, "<scratch>")}
        else:
            outcome = {"outcome": "loaded", "loaded": loaded}
    return {"name": case.name, "expect": case.expect, **outcome,
            "as_expected": outcome["outcome"] == case.expect}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these cases")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    names = [case.name for case in CASES]
    unknown = sorted(set(args.only or []) - set(names))
    if unknown:
        parser.error(f"unknown cases {unknown}; known: {names}")
    results = [probe(case) for case in CASES if not args.only or case.name in args.only]
    emit({"benchmark": "probe_inputs", "cases": results,
          "unexpected": [r["name"] for r in results if not r["as_expected"]],
          "machine": machine()}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
