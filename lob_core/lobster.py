"""Readers for LOBSTER message and orderbook files (any level N).

Message file: one row per event, no header, 6 columns: time (seconds after midnight, up to ns
precision), type (1 new limit order, 2 partial cancel, 3 delete, 4 visible execution, 5 hidden
execution, 6 cross trade, 7 halt), order id, size, price (dollars x 10 000), direction (1 buy,
-1 sell; for executions the side of the resting order). Times become integer nanoseconds.

Orderbook file: row i is the book after message i; for each level k = 1..N the columns are ask
price, ask size, bid price, bid size. Empty levels hold dummy prices (+-9999999999) with size 0.

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
DUMMY_ASK_PRICE = 9_999_999_999
DUMMY_BID_PRICE = -9_999_999_999
# Largest float64 value that is still an exact integer: orderbook values must stay below it.
_EXACT_FLOAT_LIMIT = 2**53

_LEVEL_IN_NAME = re.compile(r"_(?:message|orderbook)_(\d+)\.csv$")

PathLike = str | os.PathLike


class LobsterFormatError(ValueError):
    """A LOBSTER file that does not follow the format; the message names file and line."""


def level_from_filename(path: PathLike) -> int | None:
    """The level N in a LOBSTER file name (``..._message_10.csv`` -> 10), else ``None``."""
    match = _LEVEL_IN_NAME.search(Path(path).name)
    return int(match.group(1)) if match else None


def _first_bad_line(path: Path, n_columns: int, parse_field) -> str:
    """Scan a file that numpy refused and describe its first offending line."""
    with open(path, encoding="ascii", errors="replace") as handle:
        for lineno, line in enumerate(handle, start=1):
            fields = line.strip().split(",")
            if len(fields) != n_columns:
                return f"{path}:{lineno}: expected {n_columns} columns, got {len(fields)}: {line.strip()!r}"
            for column, field in enumerate(fields, start=1):
                try:
                    parse_field(field)
                except ValueError:
                    return f"{path}:{lineno}: column {column} is not a number: {field!r}"
    return f"{path}: cannot be parsed as {n_columns} comma-separated numeric columns"


def _load(path: Path, n_columns: int | None) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"LOBSTER file not found: {path}")
    if path.stat().st_size == 0:
        raise LobsterFormatError(f"{path}: the file holds no rows")
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError:
        if n_columns is None:
            with open(path, encoding="ascii", errors="replace") as handle:
                n_columns = len(handle.readline().split(","))
        raise LobsterFormatError(_first_bad_line(path, n_columns, float)) from None
    if table.shape[0] == 0:
        raise LobsterFormatError(f"{path}: the file holds no rows")
    if n_columns is not None and table.shape[1] != n_columns:
        raise LobsterFormatError(
            f"{path}:1: expected {n_columns} columns, got {table.shape[1]}")
    if not np.isfinite(table).all():
        line = int(np.argwhere(~np.isfinite(table))[0, 0]) + 1
        raise LobsterFormatError(f"{path}:{line}: value is not finite")
    return table


def _fail_at(path: Path, bad: np.ndarray, what: str) -> None:
    rows = np.flatnonzero(bad)
    if rows.size:
        raise LobsterFormatError(f"{path}:{rows[0] + 1}: {what}")


def read_messages(path: PathLike) -> np.ndarray:
    """Read a LOBSTER message file into an array of :data:`MESSAGE_DTYPE`.

    Checks: 6 numeric columns, integer fields are integers, type in 1..7, direction +-1,
    non-negative sizes, non-decreasing times.
    """
    path = Path(path)
    table = _load(path, 6)
    integer_part = table[:, 1:]
    _fail_at(path, (integer_part != np.round(integer_part)).any(axis=1),
             "type, order id, size, price and direction must be integers")
    out = np.empty(table.shape[0], dtype=MESSAGE_DTYPE)
    # float64 holds 9-decimal times below 1e5 s to well under 1 ns, so rounding is exact.
    out["time_ns"] = np.rint(table[:, 0] * 1e9).astype(np.int64)
    for column, name in enumerate(MESSAGE_DTYPE.names[1:], start=1):
        out[name] = table[:, column].astype(np.int64)
    _fail_at(path, (out["type"] < NEW) | (out["type"] > HALT),
             "message type must be 1..7")
    _fail_at(path, np.abs(out["direction"]) != 1, "direction must be 1 or -1")
    _fail_at(path, out["size"] < 0, "size must be non-negative")
    _fail_at(path, np.r_[False, np.diff(out["time_ns"]) < 0], "time goes backwards")
    return out


def read_orderbook(path: PathLike, levels: int | None = None) -> np.ndarray:
    """Read a LOBSTER orderbook file into an int64 array of shape ``(rows, 4 * levels)``.

    ``levels`` defaults to the column count / 4; a file with fewer columns is an error.
    """
    path = Path(path)
    table = _load(path, None if levels is None else 4 * levels)
    if table.shape[1] % 4 != 0:
        raise LobsterFormatError(
            f"{path}:1: an orderbook row has 4 columns per level, got {table.shape[1]}")
    if (table != np.round(table)).any() or (np.abs(table) >= _EXACT_FLOAT_LIMIT).any():
        bad = ((table != np.round(table)) | (np.abs(table) >= _EXACT_FLOAT_LIMIT)).any(axis=1)
        _fail_at(path, bad, "orderbook values must be integers")
    book = np.ascontiguousarray(table.astype(np.int64))
    sizes = book[:, 1::2]
    _fail_at(path, (sizes < 0).any(axis=1), "sizes must be non-negative")
    return book
