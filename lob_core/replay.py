"""Replay a LOBSTER message file through the engine and score it against an orderbook file.

Usage::

    python -m lob_core.replay MESSAGE_FILE --orderbook ORDERBOOK_FILE [--json]

The book is seeded from the first orderbook row (the book after message 0; ``--seed-orderbook``
takes the seed from another file, e.g. a deeper one), every later message is applied in C, and
each orderbook row is compared with the rebuilt top levels. Rows the data determines are
scored; rows that show levels the level-N message stream never described are counted as
undetermined (see :mod:`lob_core._replay` for the exact rule). ``--json`` prints one JSON object
with the keys ``messages``, ``agreement``, ``mismatches``, ``msgs_per_s`` and details.
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lob_core import _replay
from lob_core._book import MAX_PRICE, MAX_QTY, OrderBook
from lob_core._replay import (
    ROW_MATCH,
    ROW_MISMATCH,
    ROW_UNDETERMINED,
    replay_compare,
    replay_resume,
)
from lob_core.lobster import (
    EXECUTE,
    HALT,
    LOBSTER_TICK,
    MESSAGE_DTYPE,
    NEW,
    PathLike,
    level_from_filename,
    read_messages,
    read_orderbook,
)

__all__ = [
    "ReplayReport",
    "ReplaySnapshots",
    "apply_messages",
    "check_messages",
    "check_orderbook_row",
    "main",
    "replay",
    "seed",
]


@dataclass(frozen=True)
class ReplayReport:
    """Result of :func:`replay`."""

    messages: int            # messages in the file (message 0 is inside the seed row)
    agreement: float         # matched / compared rows (1.0 = every determined row agrees)
    mismatches: int          # determined rows whose top levels differ from the file
    msgs_per_s: float        # replay rate including the per-row comparison
    compared_rows: int       # rows the data determines, all scored
    undetermined_rows: int   # rows showing levels the message stream never described
    unresolved_messages: int  # messages naming volume the rebuilt book did not hold
    stream_level: int        # N of the message file (its level-N filter)
    compared_levels: int     # levels per side in the orderbook file
    first_mismatch_rows: list[int]  # up to 10 row indices (0-based) for inspection


def check_messages(messages: np.ndarray, tick_size: int, path: PathLike = "<messages>") -> None:
    """Raise ``ValueError`` naming the file and line of the first message the engine cannot
    apply: a wrong dtype, a type outside 1..7, a direction other than +-1, a book-changing
    message (types 1-4) with a size outside ``[1, MAX_QTY]`` or a price outside
    ``[1, MAX_PRICE]`` or off the tick, or a new order (type 1) with a negative id (negative
    ids are reserved for anonymous volume)."""
    if messages.dtype != MESSAGE_DTYPE:
        raise ValueError(f"{path}: messages must have dtype MESSAGE_DTYPE, got {messages.dtype}")
    changes_book = (messages["type"] >= NEW) & (messages["type"] <= EXECUTE)
    for bad, what in (
        ((messages["type"] < NEW) | (messages["type"] > HALT), "message type must be 1..7"),
        (np.abs(messages["direction"]) != 1, "direction must be 1 or -1"),
        (changes_book & ((messages["size"] <= 0) | (messages["size"] > MAX_QTY)),
         "size must be in [1, MAX_QTY]"),
        (changes_book & ((messages["price"] <= 0) | (messages["price"] > MAX_PRICE)),
         "price must be in [1, MAX_PRICE]"),
        ((messages["type"] == NEW) & (messages["order_id"] < 0),
         "a new order's id must be non-negative"),
        (changes_book & (messages["price"] % tick_size != 0),
         f"price is not a multiple of the tick size {tick_size}"),
    ):
        rows = np.flatnonzero(bad)
        if rows.size:
            row = messages[rows[0]]
            raise ValueError(
                f"{path}:{rows[0] + 1}: {what} (type {row['type']}, order {row['order_id']}, "
                f"size {row['size']}, price {row['price']}, direction {row['direction']})")


def check_orderbook_row(row: np.ndarray, tick_size: int) -> np.ndarray:
    """The row as contiguous int64 after checking that its occupied levels are on tick."""
    row = np.ascontiguousarray(row, dtype=np.int64)
    if row.ndim != 1 or row.size == 0 or row.size % 4:
        raise ValueError(f"an orderbook row has 4 columns per level, got shape {row.shape}")
    prices, sizes = row[0::2], row[1::2]
    bad = (sizes > 0) & ((prices <= 0) | (prices > MAX_PRICE) | (prices % tick_size != 0)
                         | (sizes > MAX_QTY))
    if bad.any():
        column = int(np.flatnonzero(bad)[0]) * 2 + 1
        raise ValueError(f"orderbook column {column}: price {prices[bad][0]} (size "
                         f"{sizes[bad][0]}) is not a positive multiple of the tick size "
                         f"{tick_size} inside the book's domain")
    return row


def seed(book: OrderBook, row: np.ndarray, ts: int = 0) -> None:
    """Add the occupied levels of one LOBSTER orderbook row to ``book`` as anonymous volume."""
    _replay.seed(book, check_orderbook_row(row, book.tick_size), ts)


def apply_messages(book: OrderBook, messages: np.ndarray) -> int:
    """Batch path: apply LOBSTER messages to ``book`` in C, without returning to Python per
    message. Returns the number of messages that named volume the book did not hold."""
    check_messages(messages, book.tick_size)
    return _replay.apply_messages(
        book, np.ascontiguousarray(messages).view(np.int64).reshape(-1, 6))


def _replay_inputs(messages: np.ndarray, orderbook: np.ndarray, seed_row: np.ndarray | None,
                   tick_size: int, path: PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked replay inputs as the compiled replay reads them: the messages as int64 ``(n,
    6)``, the orderbook rows as int64 and the seed row (default: the first row)."""
    if orderbook.shape[0] > messages.shape[0]:
        raise ValueError(
            f"the orderbook has {orderbook.shape[0]} rows but there are only "
            f"{messages.shape[0]} messages; row i must be the book after message i")
    check_messages(messages, tick_size, path)
    seed_row = check_orderbook_row(orderbook[0] if seed_row is None else seed_row, tick_size)
    return (np.ascontiguousarray(messages).view(np.int64).reshape(-1, 6),
            np.ascontiguousarray(orderbook, dtype=np.int64), seed_row)


def replay(
    messages: np.ndarray,
    orderbook: np.ndarray,
    *,
    stream_level: int,
    seed_row: np.ndarray | None = None,
    tick_size: int = LOBSTER_TICK,
    states: np.ndarray | None = None,
    path: PathLike = "<messages>",
) -> tuple[ReplayReport, np.ndarray, OrderBook]:
    """Replay ``messages`` and score them against ``orderbook`` rows.

    Parameters
    ----------
    messages : array of :data:`lob_core.lobster.MESSAGE_DTYPE`
    orderbook : int64 array ``(rows, 4 * levels)``, row i = book after message i
        May hold fewer rows than there are messages; only those rows are compared.
    stream_level : int
        N of the message file's level-N filter.
    seed_row : int64 array, optional
        Book after message 0 used as the seed (default ``orderbook[0]``).
    tick_size : int
        Price tick of the book (LOBSTER: 100 = one cent).
    states : int64 array ``(n_messages, 2 + 2 * k)``, optional
        Filled with the book's :meth:`OrderBook.tick_state` (k ticks) just before each message.
    path : str or path
        The message file's name, used in error messages.

    Returns
    -------
    report, status, book
        The summary, one ``ROW_*`` code per orderbook row, and the final book.
    """
    as_int64, rows, seed_row = _replay_inputs(messages, orderbook, seed_row, tick_size, path)
    book = OrderBook(tick_size)
    start = time.perf_counter()
    status, unresolved = replay_compare(book, as_int64, rows, seed_row, stream_level, states)
    elapsed = time.perf_counter() - start
    matched = int(np.count_nonzero(status == ROW_MATCH))
    mismatched = np.flatnonzero(status == ROW_MISMATCH)
    compared = matched + mismatched.size
    report = ReplayReport(
        messages=int(messages.shape[0]),
        agreement=matched / compared if compared else float("nan"),
        mismatches=int(mismatched.size),
        msgs_per_s=messages.shape[0] / elapsed if elapsed > 0 else float("inf"),
        compared_rows=compared,
        undetermined_rows=int(np.count_nonzero(status == ROW_UNDETERMINED)),
        unresolved_messages=int(unresolved),
        stream_level=stream_level,
        compared_levels=orderbook.shape[1] // 4,
        first_mismatch_rows=mismatched[:10].tolist(),
    )
    return report, status, book


class ReplaySnapshots:
    """The book a :func:`replay` holds just before any message, rebuilt from the nearest kept
    book at or before it (one every ``every`` messages, all kept in one pass at the first call)
    instead of from the start: the same book, for at most ``every`` messages of work.

    Calling the object with ``index`` (1 .. number of messages) returns a fresh book as it was
    just before message ``index`` (after messages 0 .. index - 1; message 0 is in the seed).
    """

    def __init__(self, messages: np.ndarray, orderbook: np.ndarray, *, stream_level: int,
                 seed_row: np.ndarray | None = None, tick_size: int = LOBSTER_TICK,
                 every: int = 1_024, path: PathLike = "<messages>") -> None:
        if every < 1:
            raise ValueError(f"every must be positive, got {every}")
        self.messages, self.orderbook, self.seed_row = _replay_inputs(
            messages, orderbook, seed_row, tick_size, path)
        self.stream_level, self.tick_size, self.every = stream_level, tick_size, every
        self.kept: list[tuple[int, OrderBook, int, int]] = []
        self.starts: list[int] = []

    def __call__(self, index: int) -> OrderBook:
        if not 1 <= index <= len(self.messages):
            raise IndexError(f"message {index} is outside the replay (1..{len(self.messages)})")
        if not self.kept:
            replay_compare(OrderBook(self.tick_size), self.messages, self.orderbook,
                           self.seed_row, self.stream_level, None, self.every, self.kept)
            self.starts = [start for start, *_ in self.kept]
        start, kept, known_bid, known_ask = self.kept[bisect.bisect_right(self.starts, index) - 1]
        book = kept.copy()
        replay_resume(book, known_bid, known_ask, self.messages, self.orderbook,
                      self.stream_level, start, index)
        return book


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mars-gym replay",  # also: python -m lob_core.replay
        description="Replay a LOBSTER message file and score it against an orderbook file.")
    parser.add_argument("message_file", type=Path, help="LOBSTER message file")
    parser.add_argument("--orderbook", type=Path, required=True,
                        help="LOBSTER orderbook file, row i = book after message i")
    parser.add_argument("--seed-orderbook", type=Path,
                        help="take the seed (book after message 0) from this file's first row")
    parser.add_argument("--level", type=int,
                        help="N of the message file's level-N filter (default: from its name)")
    parser.add_argument("--tick", type=int, default=LOBSTER_TICK,
                        help="price tick in file units (default 100 = one cent)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    command = parser()
    args = command.parse_args(argv)
    messages = read_messages(args.message_file)
    orderbook = read_orderbook(args.orderbook)
    if orderbook.shape[0] != messages.shape[0]:  # a truncated file would score a prefix only
        command.error(f"{args.orderbook} has {orderbook.shape[0]:,} rows but {args.message_file} "
                     f"has {messages.shape[0]:,} messages: LOBSTER writes one row per message")
    stream_level = args.level or level_from_filename(args.message_file) or orderbook.shape[1] // 4
    seed_row = None if args.seed_orderbook is None else read_orderbook(args.seed_orderbook)[0]
    report, _, _ = replay(messages, orderbook, stream_level=stream_level, seed_row=seed_row,
                          tick_size=args.tick, path=args.message_file)
    if args.json:
        print(json.dumps(asdict(report)))
    else:
        print(f"messages            {report.messages:,}")
        print(f"stream level        {report.stream_level}; "
              f"compared levels {report.compared_levels}")
        print(f"rows compared       {report.compared_rows:,} (undetermined by the data: "
              f"{report.undetermined_rows:,})")
        print(f"agreement           {report.agreement:.4%}")
        print(f"mismatches          {report.mismatches:,}" + (
            f" (first rows {report.first_mismatch_rows})" if report.mismatches else ""))
        print(f"unresolved messages {report.unresolved_messages:,}")
        print(f"msgs/s              {report.msgs_per_s:,.0f}")
    return 0 if report.mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
