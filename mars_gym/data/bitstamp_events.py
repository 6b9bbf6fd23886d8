"""Bitstamp order events (ob-analytics CSV format) into the event schema.

Input columns: ``id, timestamp, exchange[._]timestamp, price, volume, action, direction`` with
``action`` in created / changed / deleted and ``direction`` in bid / ask; ``timestamp`` is the
receive time in epoch milliseconds (another unit is declared: ``time_unit``) and is the event
time. Ids, times, prices and volumes are read exactly off the text (an id above 2**53 stays
itself; a price that is not a whole number of ticks is refused) and a time must be a Unix
epoch time in 1980-2100 (:mod:`~mars_gym.data.exact_numbers`). Each row is applied to a
``lob_core`` book (tick = one price tick of the source, sizes in lots):

* ``created``: submitted as a limit order. If it crosses, the engine's fills become ``EXECUTE``
  events of the resting orders (the aggressor's executions, as in LOBSTER), and what rests
  becomes a ``NEW`` event. When a trades file names the real takers, a new order that is not
  one of them cannot have traded: the opposite orders it would cross are stale (their
  deletions arrive later within the same milliseconds) and are cancelled first, counted.
* ``changed`` to a smaller volume: an ``EXECUTE`` if the order traded (listed as a maker in the
  trades file when one is given, otherwise: it rests at the touch), else a ``PARTIAL_CANCEL``.
  A change to the volume the book already holds (the engine's own fill) is not an event. A
  larger volume is a cancel and a new order (priority lost).
* A change or deletion of an order the book no longer holds (filled by the engine, or removed
  as stale) is not an event; it is counted.
* ``deleted``: ``EXECUTE`` of what is left if the order traded (maker in the trades file, or,
  without one, volume 0), else ``CANCEL``.

Orders that rested before the capture appear only as changes or deletions of unknown ids; they
are skipped and counted (so early in a capture without a snapshot the book is incomplete), and so
are orders at a non-positive price (far bids that the file rounded to 0). A
leading snapshot (the ``created`` rows at the first timestamp, when ``has_snapshot``) seeds
the book without events; the trailing synthetic ``deleted`` rows at the last timestamp are
dropped, counted. Timestamps that go backwards are raised to the previous one, counted.
"""

from __future__ import annotations

import io
import lzma
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from lob_core import BUY, MAX_PRICE, MAX_QTY, SELL, OrderBook
from mars_gym.data.exact_numbers import (
    INT64_MAX,
    OrderEventFormatError,
    exact_fraction,
    times_ns,
    whole_units,
)
from mars_gym.data.order_events import coded_column
from mars_gym.data.recording import RecordingBook
from mars_gym.data.schema import EventStream, Source

CREATED, CHANGED, DELETED = 0, 1, 2
OB_ANALYTICS_COLUMNS = frozenset({"id", "timestamp", "price", "volume", "action", "direction"})
_ACTIONS = {"created": CREATED, "changed": CHANGED, "deleted": DELETED}
_SIDES = {"bid": BUY, "ask": SELL}


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix == ".xz":  # pandas infers gzip itself; xz is read through lzma explicitly
        with lzma.open(path, "rt") as handle:
            return pd.read_csv(io.StringIO(handle.read()), dtype=str, keep_default_na=False)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def read_trade_ids(trades_file: Path) -> tuple[set[int], set[int]]:
    """``(maker_ids, taker_ids)`` of a Bitstamp trades file (``side`` = the taker's side)."""
    trades_file = Path(trades_file)
    trades = _read_table(trades_file)
    missing = {"buy_order_id", "sell_order_id", "side"} - set(trades.columns)
    if missing:
        raise OrderEventFormatError(f"{trades_file}:1: missing columns {sorted(missing)}")
    taker_buys = coded_column(trades_file, trades, "side", {"buy": 1, "sell": 0}) == 1
    buys, sells = (whole_units(trades_file, column, trades[column], Fraction(1), 0, INT64_MAX)
                   for column in ("buy_order_id", "sell_order_id"))
    makers = np.where(taker_buys, sells, buys)
    takers = np.where(taker_buys, buys, sells)
    return set(makers.tolist()), set(takers.tolist())


def load_bitstamp_events(
    source: Source,
    orders_file: Path,
    *,
    price_scale: float | Fraction,
    size_scale: float | Fraction,
    has_snapshot: bool,
    trades_file: Path | None = None,
    time_unit: str = "ms",
) -> EventStream:
    """Read an ob-analytics order-event file into an :class:`EventStream`.

    ``price_scale`` turns a file price into ticks (100 for a 0.01 tick), ``size_scale`` a file
    volume into lots (1e8 for BTC given in BTC, 1 when the file already holds satoshis), both
    exactly (a float is taken as the decimal it spells: pass a :class:`~fractions.Fraction`
    for a scale no decimal spells). ``time_unit`` is the unit of ``timestamp``.
    """
    path = Path(orders_file)
    table = _read_table(path)
    missing = OB_ANALYTICS_COLUMNS - set(table.columns)
    if missing:
        raise OrderEventFormatError(f"{path}:1: missing columns {sorted(missing)}")
    ids = whole_units(path, "id", table["id"], Fraction(1), 0, INT64_MAX)
    times = times_ns(path, "timestamp", table["timestamp"], time_unit, after_midnight=False)
    prices = whole_units(path, "price", table["price"], 1 / exact_fraction(price_scale), 0,
                         MAX_PRICE)
    sizes = whole_units(path, "volume", table["volume"], 1 / exact_fraction(size_scale), 0,
                        MAX_QTY)
    actions = coded_column(path, table, "action", _ACTIONS)
    sides = coded_column(path, table, "direction", _SIDES)
    report = {"rows": len(table), "time_raised": int(np.count_nonzero(np.diff(times) < 0))}
    times = np.maximum.accumulate(times)

    n_seed = 0
    if has_snapshot:
        while n_seed < len(table) and actions[n_seed] == CREATED and times[n_seed] == times[0]:
            n_seed += 1
    end = len(table)
    if has_snapshot:
        while end > n_seed and actions[end - 1] == DELETED and times[end - 1] == times[-1]:
            end -= 1
    report["snapshot_rows"] = n_seed
    report["dropped_synthetic_deletes"] = len(table) - end
    makers, takers = read_trade_ids(trades_file) if trades_file is not None else (None, None)
    recording = _replay_rows(ids, times, prices, sizes, actions, sides, n_seed, end, makers,
                             takers, report)
    return recording.stream(source, report)


def _remove_stale_crossing(rec: RecordingBook, side: int, price: int, t: int) -> int:
    """Cancel the opposite orders a non-aggressive new order would cross; return how many."""
    removed = 0
    while True:
        best = rec.book.best_ask if side == BUY else rec.book.best_bid
        if best is None or side * price < side * best:
            return removed
        for order_id in rec.book.level_queue(-side, best)["order_id"].tolist():
            rec.cancel(order_id, t)
            removed += 1


def _seed_snapshot(book, ids, times, prices, sizes, sides, n_seed, off_grid, counts) -> None:
    """Rest the snapshot's first ``n_seed`` orders in ``book``, counting what cannot rest."""
    for i in range(n_seed):
        if ids[i] in off_grid:
            counts["non_positive_price"] += 1
            continue
        if ids[i] in book or sizes[i] == 0:
            counts["duplicate_created"] += 1
            continue
        if book.limit(int(sides[i]), int(prices[i]), int(sizes[i]), int(ids[i]), ts=int(times[i])):
            counts["snapshot_crossed"] += 1


def _replay_rows(ids, times, prices, sizes, actions, sides, n_seed, end, makers, takers,
                 report) -> RecordingBook:
    book = OrderBook(1)
    counts = dict.fromkeys(["unknown_id", "duplicate_created", "zero_volume_created",
                            "non_positive_price", "size_increase", "already_removed",
                            "snapshot_crossed", "stale_crossing_removed"], 0)
    # orders priced at or below 0 ticks (far-away bids rounded down by the file) cannot rest
    off_grid = set(ids[:end][prices[:end] <= 0].tolist())
    _seed_snapshot(book, ids, times, prices, sizes, sides, n_seed, off_grid, counts)
    rec = RecordingBook(book)
    seen = set(ids[:n_seed].tolist())
    for i in range(n_seed, end):
        oid, t, side, price, size, action = (int(ids[i]), int(times[i]), int(sides[i]),
                                             int(prices[i]), int(sizes[i]), int(actions[i]))
        if oid in off_grid:
            counts["non_positive_price"] += 1
        elif action == CREATED:
            if oid in book:
                counts["duplicate_created"] += 1
            elif size == 0:
                counts["zero_volume_created"] += 1
            else:
                seen.add(oid)
                if takers is not None and oid not in takers:
                    counts["stale_crossing_removed"] += _remove_stale_crossing(rec, side, price, t)
                rec.limit(side, price, size, oid, t)
        elif oid not in book:
            counts["already_removed" if oid in seen else "unknown_id"] += 1
        else:
            # the order's own side and price: a deletion row may carry another price
            side, price, remaining = book.order(oid)[:3]
            traded = (oid in makers) if makers is not None else None
            if action == CHANGED and size > remaining:
                counts["size_increase"] += 1
                rec.cancel(oid, t)
                rec.limit(side, price, size, oid, t)
            elif action == CHANGED and size < remaining:
                at_touch = price == (book.best_bid if side == BUY else book.best_ask)
                rec.reduce(oid, remaining - size, t,
                           executed=traded if traded is not None else at_touch)
            elif action == DELETED:
                if traded if traded is not None else size == 0:
                    rec.reduce(oid, remaining, t, executed=True)
                else:
                    rec.cancel(oid, t)
    report.update(counts)
    return rec
