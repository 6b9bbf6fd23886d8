"""A plain CSV of order events: the simplest way to bring any market's order flow in.

One header line, then one event per line (extra columns are ignored)::

    time,type,side,price,size,id
    34200.012345678,new,buy,580.12,100,1
    34200.020000000,new,sell,580.30,50,2
    34201.5,execute,sell,580.30,20,2
    34202,cancel,buy,580.12,100,1

* ``time``: seconds, decimal, non-decreasing (after midnight local, or Unix epoch: the time of
  day is read off it); a file in another unit says so (``time_unit="ms"``, ``"us"`` or
  ``"ns"``). Times are read exactly to the nanosecond and must be plausible in their unit (a
  Unix epoch time in 1980-2100, or under 7 days after midnight): epoch milliseconds read as
  seconds are refused, naming the unit that fits (:mod:`~mars_gym.data.exact_numbers`).
* ``type``: ``new`` (a limit order that rests), ``cancel`` (removes what is left),
  ``partial_cancel`` (takes ``size`` off), ``execute`` (a resting order traded ``size``).
* ``side``: ``buy`` / ``sell``, the side of the order the event concerns (for ``execute``: the
  resting order's). A ``cancel``, ``partial_cancel`` or ``execute`` repeats the side and price
  of the ``new`` that rested its order; a row that contradicts them is an error (both lines
  named), never stored with the row's own side and price.
* ``price``: in currency, a whole number of ticks; ``size``: in instrument units, a whole
  number of lots (tick and lot are the source's: :func:`~mars_gym.data.sources.register_source`).
  Both are read exactly off the text: ``123456.785`` at a 0.01 tick is refused, not rounded.
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
from mars_gym.data.exact_numbers import (
    OrderEventFormatError,
    check_time_unit,
    exact_fraction,
    line_of,
    times_ns,
    whole_units,
)
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


def coded_column(path: Path, table: pd.DataFrame, column: str,
                 codes: dict[str, int]) -> np.ndarray:
    """A text column mapped through ``codes`` (case and spaces ignored); an unknown word names
    its line."""
    mapped = table[column].str.strip().str.lower().map(codes)
    bad = np.flatnonzero(mapped.isna().to_numpy())
    if bad.size:
        raise OrderEventFormatError(f"{path}:{line_of(bad[0])}: column {column!r} must be one of "
                                    f"{sorted(codes)}, got {table[column].iloc[bad[0]]!r}")
    return mapped.to_numpy(dtype=np.int64)


def has_order_event_columns(columns) -> bool:
    return set(ORDER_EVENT_COLUMNS) <= {str(c).strip().lower() for c in columns}


def read_order_events(path: Path | str, tick_value: float, lot_value: float,
                      time_unit: str = "s") -> np.ndarray:
    """The events of a plain order-event CSV (:data:`~mars_gym.data.schema.EVENT_DTYPE`, prices
    in ticks and sizes in lots, times in ``time_unit``: ``"s"``, ``"ms"``, ``"us"`` or
    ``"ns"``); :class:`OrderEventFormatError` names the file and line."""
    return _read(Path(path), tick_value, lot_value, time_unit)[0]


def _read(path: Path, tick_value: float, lot_value: float,
          time_unit: str) -> tuple[np.ndarray, pd.DataFrame]:
    """:func:`read_order_events` and the file's table of texts."""
    check_time_unit(time_unit)
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
    events["time_ns"] = times_ns(path, "time", table["time"], time_unit, after_midnight=True)
    backwards = np.flatnonzero(np.diff(events["time_ns"]) < 0)
    if backwards.size:
        row = backwards[0] + 1
        raise OrderEventFormatError(f"{path}:{line_of(row)}: time goes backwards "
                                    f"({table['time'].iloc[row]} after "
                                    f"{table['time'].iloc[row - 1]})")
    events["type"] = coded_column(path, table, "type", _TYPES)
    events["side"] = coded_column(path, table, "side", _SIDES)
    for column, field, unit, high in (("price", "price", tick_value, MAX_PRICE),
                                      ("size", "size", lot_value, MAX_QTY),
                                      ("id", "order_id", 1, MAX_REAL_ORDER_ID)):
        events[field] = whole_units(path, column, table[column], exact_fraction(unit), 1, high)
    return events, table


def first_contradiction(events: np.ndarray) -> tuple[int, int] | None:
    """``(row, new_row)`` of the first event that is not a ``new`` whose side or price differs
    from the ``new`` event (``new_row``) of the order it names, or None.

    An event whose id has no earlier ``new`` is left to the replay (an unknown id)."""
    n = len(events)
    order = np.lexsort((np.arange(n), events["order_id"]))  # by id, then by row
    ids = events["order_id"][order]
    is_new = events["type"][order] == NEW
    last_new = np.maximum.accumulate(np.where(is_new, np.arange(n), -1))
    has_new = (last_new >= 0) & (ids[np.maximum(last_new, 0)] == ids)
    origin = order[np.maximum(last_new, 0)]
    differs = ((events["side"][order] != events["side"][origin])
               | (events["price"][order] != events["price"][origin]))
    bad = np.flatnonzero(has_new & ~is_new & differs)
    if not bad.size:
        return None
    first = bad[np.argmin(order[bad])]
    return int(order[first]), int(origin[first])


def load_order_events(source: Source, path: Path | str, time_unit: str = "s") -> EventStream:
    """A plain order-event CSV as an :class:`EventStream` whose ``book_before(i)`` is the exact
    book (every order, with its id) before event ``i``."""
    events, table = _read(Path(path), source.tick_value, source.lot_value, time_unit)
    contradiction = first_contradiction(events)
    try:
        book = apply_events(OrderBook(1), events)
    except EventReplayError as error:
        if contradiction is None or error.index < contradiction[0]:
            raise OrderEventFormatError(f"{path}:{line_of(error.index)}: {error.reason}"
                                        ) from error
    if contradiction is not None:
        row, new_row = contradiction
        said, rests = table.iloc[row], table.iloc[new_row]
        raise OrderEventFormatError(
            f"{path}:{line_of(row)}: {said['type'].strip()} of order {said['id'].strip()} says "
            f"{said['side'].strip()} at {said['price'].strip()}, but the order rests as "
            f"{rests['side'].strip()} at {rests['price'].strip()} (line {line_of(new_row)})")
    return EventStream(source, events, book, {"rows": len(events)},
                       full_book=BookSnapshots(OrderBook(1), events))
