"""Readers for LOBSTER message and orderbook files (any level N).

Message file: one row per event, no header, 6 columns: time (seconds after midnight, up to ns
precision), type (1 new limit order, 2 partial cancel, 3 delete, 4 visible execution, 5 hidden
execution, 6 cross trade, 7 halt), order id, size, price (dollars x 10 000), direction (1 buy,
-1 sell; for executions the side of the resting order). Times become integer nanoseconds.

Orderbook file: row i is the book after message i; for each level k = 1..N the columns are ask
price, ask size, bid price, bid size. Empty levels hold dummy prices (+-9999999999) with size 0.
No row may be crossed (its best bid at or above its best ask). A file named ``..._orderbook_N.csv``
holds at most N levels per row; it may hold fewer (a top-of-book extract of a level-N file, as
the shared AAPL ``derived/bigfatwhale_juypter/AAPL_2012-06-21_orderbook_50.csv`` is): then only
the levels it holds are known.

A file that does not follow the format raises :class:`LobsterFormatError` naming the file and
the 1-based line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

MESSAGE_DTYPE = np.dtype(
    [
        ("time_ns", "<i8"),
        ("type", "<i8"),
        ("order_id", "<i8"),
        ("size", "<i8"),
        ("price", "<i8"),
        ("direction", "<i8"),
    ]
)
"""One LOBSTER message. All fields are int64 so an array views as ``int64[n, 6]``."""

NEW, PARTIAL_CANCEL, DELETE, EXECUTE, EXECUTE_HIDDEN, CROSS, HALT = range(1, 8)
LOBSTER_TICK = 100  # one cent in LOBSTER price units (dollars x 10 000)
DUMMY_ASK_PRICE = 9_999_999_999
DUMMY_BID_PRICE = -9_999_999_999
_LEVEL_IN_NAME = re.compile(r"_(?:message|orderbook)_(\d+)\.csv$")
# LOBSTER lines are short (a level-200 orderbook row is under 10 kB): a longer line is corruption,
# refused before anything is parsed so a bad file cannot cost memory beyond one read.
MAX_LINE_BYTES = 1 << 16
_READ_BYTES = 1 << 20
_EXCERPT_CHARS = 60
_NUMPY_ROW = re.compile(r"at row (\d+), column (\d+)")

PathLike = str | os.PathLike


class LobsterFormatError(ValueError):
    """A LOBSTER file that does not follow the format; the message names file and line."""


def level_from_filename(path: PathLike) -> int | None:
    """The level N in a LOBSTER file name (``..._message_10.csv`` -> 10), else ``None``."""
    match = _LEVEL_IN_NAME.search(Path(path).name)
    return int(match.group(1)) if match else None


def excerpt(text: str | bytes) -> str:
    """``text`` cut to a readable length for an error message."""
    if isinstance(text, bytes):
        text = text.decode("ascii", errors="replace")
    text = text.rstrip("\r\n")
    return repr(text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "...")


def _check_file(path: Path) -> None:
    """A readable, non-empty regular file whose lines are all shorter than MAX_LINE_BYTES,
    scanned in bounded reads."""
    if path.is_dir():
        raise LobsterFormatError(f"{path}: is a directory, not a LOBSTER file")
    if not path.is_file():
        raise FileNotFoundError(f"LOBSTER file not found: {path}")
    if path.stat().st_size == 0:
        raise LobsterFormatError(f"{path}: the file holds no rows")
    line, line_length, line_head = 1, 0, b""
    with open(path, "rb") as handle:
        while chunk := handle.read(_READ_BYTES):
            ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == ord("\n"))
            starts = np.r_[0, ends + 1]
            lengths = np.r_[ends, len(chunk)] - starts
            lengths[0] += line_length
            too_long = np.flatnonzero(lengths > MAX_LINE_BYTES)
            if too_long.size:
                k = int(too_long[0])
                head = line_head + chunk[:64] if k == 0 else chunk[starts[k]:starts[k] + 64]
                raise LobsterFormatError(
                    f"{path}:{line + k}: line longer than {MAX_LINE_BYTES} bytes "
                    f"(starts {excerpt(head)})")
            line += ends.size
            line_length = int(lengths[-1])
            line_head = (line_head if ends.size == 0 else b"") + chunk[starts[-1]:][:64]


def _describe_bad_line(path: Path, line: int, parsers) -> str:
    """What is wrong with 1-based ``line`` of a file whose lines are bounded (_check_file)."""
    with open(path, encoding="ascii", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):  # noqa: B007  (text: read after)
            if number == line:
                break
        else:
            return f"{path}: cannot be parsed as comma-separated numeric columns"
    fields = text.strip().split(",")
    if parsers is not None and len(fields) != len(parsers):
        return (f"{path}:{line}: expected {len(parsers)} columns, got {len(fields)}: "
                f"{excerpt(text)}")
    for column, field in enumerate(fields, start=1):
        parse = float if parsers is None else parsers[column - 1]
        try:
            value = parse(field)
        except ValueError:
            kind = "an integer" if parse is int else "a number"
            return f"{path}:{line}: column {column} is not {kind}: {excerpt(field)}"
        if parse is int and not -(2**63) <= value < 2**63:
            return f"{path}:{line}: column {column} does not fit in int64: {excerpt(field)}"
    return f"{path}:{line}: cannot be parsed: {excerpt(text)}"


def _load(path: Path, dtype: np.dtype, parsers) -> np.ndarray:
    """The rows of a comma-separated file, each column parsed exactly as ``dtype`` says
    (integers as int64, never through float64): one record per row for a structured dtype,
    else a 2-D table."""
    _check_file(path)
    try:
        table = np.loadtxt(path, delimiter=",", dtype=dtype, ndmin=1 if dtype.names else 2)
    except ValueError as error:
        found = _NUMPY_ROW.search(str(error))
        line = int(found.group(1)) + 1 if found else 0
        if found is None:  # a column-count error names the 1-based row differently
            found = re.search(r"at row (\d+)", str(error))
            line = int(found.group(1)) if found else 1
        raise LobsterFormatError(_describe_bad_line(path, line, parsers)) from None
    if table.shape[0] == 0:
        raise LobsterFormatError(f"{path}: the file holds no rows")
    return table


def check_uncrossed(orderbook: np.ndarray, path: PathLike = "<orderbook>") -> None:
    """Raise :class:`LobsterFormatError` naming ``path`` and the 1-based row of the first
    orderbook row (int64 ``(rows, 4 * levels)``) whose best occupied bid is at or above its best
    occupied ask: no book holds that (the engine would match them)."""
    asks = np.where(orderbook[:, 1::4] > 0, orderbook[:, 0::4], np.iinfo(np.int64).max).min(axis=1)
    bids = np.where(orderbook[:, 3::4] > 0, orderbook[:, 2::4], np.iinfo(np.int64).min).max(axis=1)
    rows = np.flatnonzero(bids >= asks)
    if rows.size:
        row = rows[0]
        raise LobsterFormatError(f"{path}:{row + 1}: crossed book: best bid {bids[row]} >= "
                                 f"best ask {asks[row]}")


def _fail_at(path: Path, bad: np.ndarray, what: str) -> None:
    rows = np.flatnonzero(bad)
    if rows.size:
        raise LobsterFormatError(f"{path}:{rows[0] + 1}: {what}")


_MESSAGE_COLUMNS = np.dtype([("time_s", "<f8")] + MESSAGE_DTYPE.descr[1:])


def read_messages(path: PathLike) -> np.ndarray:
    """Read a LOBSTER message file into an array of :data:`MESSAGE_DTYPE`.

    Integer columns are parsed exactly (an id above ``2**63 - 1`` is an error, never rounded).
    Checks: 6 numeric columns, type in 1..7, direction +-1, non-negative sizes, non-decreasing
    times, lines shorter than :data:`MAX_LINE_BYTES`.
    """
    path = Path(path)
    table = _load(path, _MESSAGE_COLUMNS, [float] + [int] * 5)
    out = np.empty(table.shape[0], dtype=MESSAGE_DTYPE)
    if not np.isfinite(table["time_s"]).all():
        _fail_at(path, ~np.isfinite(table["time_s"]), "time is not finite")
    # float64 holds 9-decimal times below 1e5 s to well under 1 ns, so rounding is exact.
    _fail_at(path, (table["time_s"] < 0) | (table["time_s"] >= 1e5),
             "time must be in [0, 100000) seconds after midnight")
    out["time_ns"] = np.rint(table["time_s"] * 1e9).astype(np.int64)
    for name in MESSAGE_DTYPE.names[1:]:
        out[name] = table[name]
    _fail_at(path, (out["type"] < NEW) | (out["type"] > HALT),
             "message type must be 1..7")
    _fail_at(path, np.abs(out["direction"]) != 1, "direction must be 1 or -1")
    _fail_at(path, out["size"] < 0, "size must be non-negative")
    _fail_at(path, np.r_[False, np.diff(out["time_ns"]) < 0], "time goes backwards")
    return out


def read_orderbook(path: PathLike, levels: int | None = None) -> np.ndarray:
    """Read a LOBSTER orderbook file into an int64 array of shape ``(rows, 4 * levels)``.

    ``levels`` defaults to the column count / 4; a file with fewer columns is an error, and so
    is one with more levels than its name's N (``..._orderbook_N.csv``; fewer is a top-of-book
    extract: see the module docstring) or a crossed row. Values are parsed exactly as int64.
    """
    path = Path(path)
    _check_file(path)  # before the first line is read: it may be any length
    with open(path, encoding="ascii", errors="replace") as handle:
        n_columns = len(handle.readline().split(","))
    if levels is not None and n_columns != 4 * levels:
        raise LobsterFormatError(f"{path}:1: expected {4 * levels} columns, got {n_columns}")
    if n_columns % 4 != 0:
        raise LobsterFormatError(
            f"{path}:1: an orderbook row has 4 columns per level, got {n_columns}")
    named = level_from_filename(path)
    if named is not None and n_columns > 4 * named:
        raise LobsterFormatError(
            f"{path}:1: {n_columns // 4} levels per row, but the file name says level {named} "
            f"(at most {4 * named} columns)")
    book = np.ascontiguousarray(_load(path, np.dtype(np.int64), [int] * n_columns))
    sizes = book[:, 1::2]
    _fail_at(path, (sizes < 0).any(axis=1), "sizes must be non-negative")
    check_uncrossed(book, path)
    return book
