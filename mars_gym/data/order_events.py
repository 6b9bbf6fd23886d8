"""A plain CSV of order events: the simplest way to bring any market's order flow in.

One header line, then one event per line (extra columns are ignored)::

    time,type,side,price,size,id
    34200.012345678,new,buy,580.12,100,1
    34200.020000000,new,sell,580.30,50,2
    34201.5,execute,sell,580.30,20,2
    34202,cancel,buy,580.12,100,1

* ``time``: seconds, decimal, non-decreasing (after midnight local, or Unix epoch: the time of
  day is read off it).
* ``type``: ``new`` (a limit order that rests), ``cancel`` (removes what is left),
  ``partial_cancel`` (takes ``size`` off), ``execute`` (a resting order traded ``size``).
* ``side``: ``buy`` / ``sell``, the side of the order the event concerns (for ``execute``: the
  resting order's).
* ``price``: in currency, a whole number of ticks; ``size``: in instrument units, a whole
  number of lots (tick and lot are the source's: :func:`~mars_gym.data.sources.register_source`).
* ``id``: the order's integer id, 1 to 2**40 - 1.

The semantics are the event schema's (:mod:`mars_gym.data.schema`, LOBSTER's conventions): an
incoming order that crosses is written as the ``execute`` events of the resting orders it hit,
then a ``new`` for any remainder that rests. The book starts empty: a snapshot is the ``new``
events of the orders resting when the capture starts. Events are applied to a ``lob_core``
book; an event the book cannot apply (an unknown id, a ``new`` that would cross) is an error
naming the file and line, as is any malformed field.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lob_core import MAX_PRICE, MAX_QTY, OrderBook
from mars_gym.data.book_states import BookSnapshots, EventReplayError, apply_events
from mars_gym.data.schema import (
    CANCEL,
    EVENT_DTYPE,
    EXECUTE,
    MAX_REAL_ORDER_ID,
    NEW,
    PARTIAL_CANCEL,
    EventStream,
    Source,
)

ORDER_EVENT_COLUMNS = ("time", "type", "side", "price", "size", "id")
_TYPES = {"new": NEW, "cancel": CANCEL, "partial_cancel": PARTIAL_CANCEL, "execute": EXECUTE}
_SIDES = {"buy": 1, "sell": -1}


class OrderEventFormatError(ValueError):
    """A row of an order-event file that does not follow its format (names file and line)."""


def _line(row: int) -> int:
    return row + 2  # 1-based, after the header


def numeric_column(path: Path, table: pd.DataFrame, column: str) -> np.ndarray:
    """A column of a CSV read as text, as finite floats; anything else names its line."""
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise OrderEventFormatError(f"{path}:{_line(bad[0])}: column {column!r} is not a "
                                    f"number: {table[column].iloc[bad[0]]!r}")
    return values


def _whole(path: Path, column: str, values: np.ndarray, unit: float, low: float,
           high: float) -> np.ndarray:
    """``values / unit`` as exact integers in [low, high]; anything else names its line."""
    scaled = values / unit
    whole = np.rint(scaled)
    bad = np.flatnonzero((np.abs(scaled - whole) > 1e-6 * np.maximum(1.0, np.abs(scaled)))
                         | (whole < low) | (whole > high))
    if bad.size:
        what = f"a whole number of {unit:g}" if unit != 1 else "a whole number"
        raise OrderEventFormatError(f"{path}:{_line(bad[0])}: {column} {values[bad[0]]:g} must "
                                    f"be {what} in [{low:g}, {high:g}]")
    return whole.astype(np.int64)


def coded_column(path: Path, table: pd.DataFrame, column: str,
                 codes: dict[str, int]) -> np.ndarray:
    """A text column mapped through ``codes`` (case and spaces ignored); an unknown word names
    its line."""
    mapped = table[column].str.strip().str.lower().map(codes)
    bad = np.flatnonzero(mapped.isna().to_numpy())
    if bad.size:
        raise OrderEventFormatError(f"{path}:{_line(bad[0])}: column {column!r} must be one of "
                                    f"{sorted(codes)}, got {table[column].iloc[bad[0]]!r}")
    return mapped.to_numpy(dtype=np.int64)


def has_order_event_columns(columns) -> bool:
    return set(ORDER_EVENT_COLUMNS) <= {str(c).strip().lower() for c in columns}


def read_order_events(path: Path | str, tick_value: float, lot_value: float) -> np.ndarray:
    """The events of a plain order-event CSV (:data:`~mars_gym.data.schema.EVENT_DTYPE`, prices
    in ticks and sizes in lots); :class:`OrderEventFormatError` names the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such order-event file")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in ORDER_EVENT_COLUMNS if c not in table.columns]
    if missing:
        raise OrderEventFormatError(f"{path}:1: missing columns {missing}; the header must name "
                                    f"{', '.join(ORDER_EVENT_COLUMNS)}")
    if table.empty:
        raise OrderEventFormatError(f"{path}: no events after the header")
    events = np.zeros(len(table), dtype=EVENT_DTYPE)
    seconds = numeric_column(path, table, "time")
    events["time_ns"] = np.rint(seconds * 1e9).astype(np.int64)
    backwards = np.flatnonzero(np.diff(events["time_ns"]) < 0)
    if backwards.size:
        row = backwards[0] + 1
        raise OrderEventFormatError(f"{path}:{_line(row)}: time goes backwards "
                                    f"({seconds[row]:.9f} after {seconds[row - 1]:.9f})")
    events["type"] = coded_column(path, table, "type", _TYPES)
    events["side"] = coded_column(path, table, "side", _SIDES)
    for column, field, unit, high in (("price", "price", tick_value, MAX_PRICE),
                                      ("size", "size", lot_value, MAX_QTY),
                                      ("id", "order_id", 1, MAX_REAL_ORDER_ID)):
        events[field] = _whole(path, column, numeric_column(path, table, column), unit, 1, high)
    return events


def load_order_events(source: Source, path: Path | str) -> EventStream:
    """A plain order-event CSV as an :class:`EventStream` whose ``book_before(i)`` is the exact
    book (every order, with its id) before event ``i``."""
    events = read_order_events(path, source.tick_value, source.lot_value)
    try:
        book = apply_events(OrderBook(1), events)
    except EventReplayError as error:
        raise OrderEventFormatError(f"{path}:{_line(error.index)}: {error.reason}") from error
    return EventStream(source, events, book, {"rows": len(events)},
                       full_book=BookSnapshots(OrderBook(1), events))
