"""Crafted books and embedded-market files, and what the package does with each.

Every case is an input the loaders must refuse at the boundary: LOBSTER pairs (an orderbook
shorter than its messages, a crossed orderbook row, a crossed seed row, an orderbook deeper than
its file name's level, a message the engine cannot apply, messages that rebuild a crossed book)
built from the first AMZN lines of the shared data, and default-market ``.npz`` files (NaN
times, backwards times, a missing array, a wrong dtype, an unexpected member, column lengths
that differ, a start book that is not a book, a small file whose header declares a huge column)
built from the shipped file. Prints one JSON object: per case the outcome (``refused`` with the
error class and message, or ``accepted``), the number refused, and for the huge column the file
size and the memory the refusal cost.

Usage: ``python -m benchmarks.probe_books [--data-dir DIR]``
"""

from __future__ import annotations

import argparse
import io
import resource
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.common import emit, machine
from lob_core import OrderBook
from lob_core.lobster import MESSAGE_DTYPE
from lob_core.replay import replay, seed
from mars_gym.data.default_market import DEFAULT_MARKET_FILE, load_default_market
from mars_gym.data.sources import LOBSTER_FILES, default_data_dir, load_source

PAIR_LINES = 3_000  # AMZN's first messages, the pair every LOBSTER case starts from
HUGE_EVENTS = 30_000_000  # the declared column of the huge case: 240 MB of int64 zeros


def outcome(run: Callable[[], object], folder: Path) -> dict:
    """``refused`` with the error's class and message (the temporary folder cut), or
    ``accepted``."""
    try:
        run()
    except Exception as error:  # noqa: BLE001  (the probe reports whatever is raised)
        return {"outcome": "refused", "error": type(error).__name__,
                "message": str(error).replace(f"{folder}/", "")}
    return {"outcome": "accepted"}


def _edit(lines: list[str], index: int, column: int, value: Callable[[list[str]], str]
          ) -> list[str]:
    """``lines`` with field ``column`` of line ``index`` (0-based) replaced."""
    fields = lines[index].strip().split(",")
    fields[column] = value(fields)
    return [*lines[:index], ",".join(fields) + "\n", *lines[index + 1:]]


def lobster_cases(data_dir: Path, folder: Path) -> dict[str, dict]:
    """The crossed-book cases, each a LOBSTER pair (or a row) written under ``folder``."""
    originals = [data_dir / name for name in LOBSTER_FILES["AMZN"]]
    lines = {}
    for kind, path in zip(("message", "orderbook"), originals, strict=True):
        with open(path) as source:
            lines[kind] = [next(source) for _ in range(PAIR_LINES)]

    def pair(name: str, messages: list[str], orderbook: list[str]) -> Callable[[], object]:
        (folder / name).mkdir()
        for kind, text in (("message", messages), ("orderbook", orderbook)):
            (folder / name / originals[0].name.replace("message", kind)).write_text("".join(text))
        return lambda: load_source(folder / name / originals[0].name)

    empty_levels = ",9999999999,0,-9999999999,0" * 9
    one_row = np.array([[10_100, 5, 10_000, 5]])
    crossing = np.zeros(3, dtype=MESSAGE_DTYPE)
    crossing["type"], crossing["direction"], crossing["size"] = 1, 1, 5
    crossing["order_id"], crossing["price"] = [1, 2, 3], [10_000, 10_000, 10_200]
    cases = {
        "short_orderbook": ("an orderbook file of 200 rows beside 3,000 messages", pair(
            "short", lines["message"], lines["orderbook"][:200])),
        "crossed_orderbook_row": ("orderbook line 101 with its best bid a cent above its ask",
                                  pair("crossed", lines["message"], _edit(
                                      lines["orderbook"], 100, 2,
                                      lambda f: str(int(f[0]) + 100)))),
        "crossed_seed_row": ("lob_core.replay.seed from a row with bid 101.00 > ask 100.00",
                             lambda: seed(OrderBook(100), np.array([10_000, 5, 10_100, 5]))),
        "wrong_level": ("10-level orderbook rows in a file named _orderbook_1.csv", pair(
            "deep", lines["message"],
            [line.strip() + empty_levels + "\n" for line in lines["orderbook"]])),
        "message_size_0": ("message line 101 with size 0", pair(
            "size0", _edit(lines["message"], 100, 3, lambda f: "0"), lines["orderbook"])),
        "messages_rebuild_a_crossed_book": (
            "replay: a buy above the ask with no orderbook row after it",
            lambda: replay(crossing, one_row, stream_level=1, path="m.csv")),
    }
    return {name: {"input": what, **outcome(run, folder)} for name, (what, run) in cases.items()}


def _save(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    np.savez_compressed(path, **arrays)
    return path


def _huge(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """The shipped arrays with a time_ns column of HUGE_EVENTS zeros, compressed (a small file
    that a loader materializing it would need HUGE_EVENTS * 8 bytes for)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            if name != "time_ns":
                buffer = io.BytesIO()
                np.save(buffer, array)
                archive.writestr(f"{name}.npy", buffer.getvalue())
        with archive.open("time_ns.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(
                member, {"descr": "<i8", "fortran_order": False, "shape": (HUGE_EVENTS,)})
            zeros = bytes(1 << 24)
            for _ in range(HUGE_EVENTS * 8 // len(zeros)):
                member.write(zeros)
            member.write(bytes(HUGE_EVENTS * 8 % len(zeros)))
    return path


def npz_cases(folder: Path) -> dict[str, dict]:
    """The embedded-market cases, each a file written under ``folder`` from the shipped one."""
    with np.load(DEFAULT_MARKET_FILE, allow_pickle=False) as saved:
        shipped = {name: saved[name] for name in saved.files}
    nan_times = shipped["time_ns"].astype(np.float64)
    nan_times[7] = np.nan
    backwards = shipped["time_ns"].copy()
    backwards[100] = backwards[99] - 1
    bad_side = shipped["initial_orders"].copy()
    bad_side["side"][3] = 2
    without_side = {name: a for name, a in shipped.items() if name != "side"}
    files = {
        "nan_times": ("time_ns as float64 with a NaN", {**shipped, "time_ns": nan_times}),
        "backwards_times": ("event 100 one ns before event 99", {**shipped, "time_ns": backwards}),
        "missing_array": ("no side array", without_side),
        "wrong_dtype": ("initial_orders as int64 zeros",
                        {**shipped, "initial_orders": np.zeros(5, dtype=np.int64)}),
        "unexpected_member": ("an extra array", {**shipped, "extra": np.zeros(3)}),
        "column_lengths_differ": ("type one event short",
                                  {**shipped, "type": shipped["type"][:-1]}),
        "start_book_not_a_book": ("a start order with side 2",
                                  {**shipped, "initial_orders": bad_side}),
    }
    results = {name: {"input": what, **outcome(
        lambda name=name, arrays=arrays: load_default_market(_save(folder / f"{name}.npz",
                                                                    arrays)), folder)}
               for name, (what, arrays) in files.items()}
    huge = _huge(folder / "huge.npz", shipped)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results["huge_declared_column"] = {
        "input": f"time_ns of {HUGE_EVENTS:,} int64 zeros ({HUGE_EVENTS * 8 / 1e6:,.0f} MB) "
                 "compressed", **outcome(lambda: load_default_market(huge), folder),
        "file_bytes": huge.stat().st_size,
        "peak_rss_growth_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before}
    return results


def main(argv: list[str] | None = None) -> dict:
    """Run every case; print (and return) the JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="the shared data folder (default: mars_gym's)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "lobster").mkdir()
        (folder / "npz").mkdir()
        cases = {**lobster_cases(args.data_dir or default_data_dir(), folder / "lobster"),
                 **npz_cases(folder / "npz")}
    result = {"metric": "crafted inputs refused", "unit": "cases",
              "refused": sum(case["outcome"] == "refused" for case in cases.values()),
              "cases_total": len(cases), "cases": cases, "machine": machine()}
    emit(result)
    return result


if __name__ == "__main__":
    main()
