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
    LobsterFormatError,
    PathLike,
    check_uncrossed,
    level_from_filename,
    read_messages,
    read_orderbook,
)

__all__ = [
    "PairLengthError",
    "ReplayReport",
    "ReplaySnapshots",
    "apply_messages",
    "check_messages",
    "check_orderbook",
    "check_orderbook_row",
    "main",
    "read_pair",
    "replay",
    "seed",
]


class PairLengthError(LobsterFormatError):
    """An orderbook file whose row count is not its message file's message count."""


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


def check_orderbook(orderbook: np.ndarray, tick_size: int,
                    path: PathLike = "<orderbook>") -> np.ndarray:
    """The rows as contiguous int64 ``(rows, 4 * levels)`` after checking them: every occupied
    level a positive multiple of the tick inside the book's domain, and no row crossed (best bid
    at or above best ask). A ``ValueError`` names ``path`` and the 1-based row."""
    table = np.ascontiguousarray(orderbook, dtype=np.int64)
    if table.ndim != 2 or table.shape[1] == 0 or table.shape[1] % 4:
        raise ValueError(f"{path}: an orderbook row has 4 columns per level, got shape "
                         f"{table.shape}")
    prices, sizes = table[:, 0::2], table[:, 1::2]
    bad = (sizes > 0) & ((prices <= 0) | (prices > MAX_PRICE) | (prices % tick_size != 0)
                         | (sizes > MAX_QTY))
    if bad.any():
        row, level = np.argwhere(bad)[0]
        raise ValueError(f"{path}:{row + 1}: orderbook column {level * 2 + 1}: price "
                         f"{prices[row, level]} (size {sizes[row, level]}) is not a positive "
                         f"multiple of the tick size {tick_size} inside the book's domain")
    check_uncrossed(table, path)
    return table


def check_orderbook_row(row: np.ndarray, tick_size: int,
                        path: PathLike = "<orderbook row>") -> np.ndarray:
    """One row as contiguous int64 after the checks of :func:`check_orderbook`."""
    row = np.asarray(row)
    if row.ndim != 1:
        raise ValueError(f"{path}: an orderbook row has 4 columns per level, got shape "
                         f"{row.shape}")
    return check_orderbook(row[None, :], tick_size, path)[0]


def seed(book: OrderBook, row: np.ndarray, ts: int = 0) -> None:
    """Add the occupied levels of one LOBSTER orderbook row to an empty ``book`` as anonymous
    volume (one order per level). A row that is off tick or crossed, or a book that already
    holds orders, is refused and the book is left unchanged."""
    row = check_orderbook_row(row, book.tick_size)
    if len(book):
        raise ValueError(f"seed needs an empty book, this one holds {len(book)} orders")
    _replay.seed(book, row, ts)


def apply_messages(book: OrderBook, messages: np.ndarray) -> int:
    """Batch path: apply LOBSTER messages to ``book`` in C, without returning to Python per
    message. Returns the number of messages that named volume the book did not hold."""
    check_messages(messages, book.tick_size)
    return _replay.apply_messages(
        book, np.ascontiguousarray(messages).view(np.int64).reshape(-1, 6))


def _replay_inputs(messages: np.ndarray, orderbook: np.ndarray, seed_row: np.ndarray | None,
                   tick_size: int, paths: tuple[PathLike, PathLike, PathLike],
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked replay inputs as the compiled replay reads them: the messages as int64 ``(n,
    6)``, the orderbook rows as int64 and the seed row (default: the first row). ``paths``:
    the message, orderbook and seed files' names for the error messages."""
    if orderbook.shape[0] > messages.shape[0]:
        raise ValueError(
            f"{paths[1]}: the orderbook has {orderbook.shape[0]} rows but there are only "
            f"{messages.shape[0]} messages; row i must be the book after message i")
    check_messages(messages, tick_size, paths[0])
    rows = check_orderbook(orderbook, tick_size, paths[1])
    seed_row = rows[0] if seed_row is None else check_orderbook_row(seed_row, tick_size, paths[2])
    return np.ascontiguousarray(messages).view(np.int64).reshape(-1, 6), rows, seed_row


def _refuse_crossed(states: np.ndarray, book: OrderBook, path: PathLike) -> None:
    """Raise ``ValueError`` naming the message file's line after which the rebuilt book is
    crossed (``states[i]``: best bid and ask just before message i, 0 for an empty side;
    ``book``: after the last message). The orderbook rows then do not describe the messages
    (a short or foreign orderbook file leaves the replay nothing to re-synchronise on)."""
    bids = np.r_[states[1:, 0], book.best_bid or 0]
    asks = np.r_[states[1:, 1], book.best_ask or 0]
    crossed = np.flatnonzero((bids > 0) & (asks > 0) & (bids >= asks))
    if crossed.size:
        i = crossed[0]
        raise ValueError(f"{path}:{i + 1}: the book rebuilt after this message is crossed "
                         f"(best bid {bids[i]} >= best ask {asks[i]}): the orderbook rows do "
                         "not describe these messages")


def replay(
    messages: np.ndarray,
    orderbook: np.ndarray,
    *,
    stream_level: int,
    seed_row: np.ndarray | None = None,
    tick_size: int = LOBSTER_TICK,
    states: np.ndarray | None = None,
    path: PathLike = "<messages>",
    orderbook_path: PathLike = "<orderbook>",
    seed_path: PathLike = "<seed row>",
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
    path, orderbook_path, seed_path : str or path
        The message, orderbook and seed files' names, used in error messages.

    Returns
    -------
    report, status, book
        The summary, one ``ROW_*`` code per orderbook row, and the final book.

    Raises
    ------
    ValueError
        A message or row the engine cannot apply, a crossed row, or messages that rebuild a
        crossed book (the orderbook rows do not describe them), naming file and line.
    """
    as_int64, rows, seed_row = _replay_inputs(messages, orderbook, seed_row, tick_size,
                                              (path, orderbook_path, seed_path))
    book = OrderBook(tick_size)
    if states is None:  # the best prices only, for the crossed-book check
        states = np.empty((len(messages), 2), dtype=np.int64)
    start = time.perf_counter()
    status, unresolved = replay_compare(book, as_int64, rows, seed_row, stream_level, states)
    elapsed = time.perf_counter() - start
    _refuse_crossed(states, book, path)
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
    just before message ``index`` (after messages 0 .. index - 1; message 0 is in the seed). The
    first call refuses messages that rebuild a crossed book, like :func:`replay`.
    """

    def __init__(self, messages: np.ndarray, orderbook: np.ndarray, *, stream_level: int,
                 seed_row: np.ndarray | None = None, tick_size: int = LOBSTER_TICK,
                 every: int = 1_024, path: PathLike = "<messages>",
                 orderbook_path: PathLike = "<orderbook>",
                 seed_path: PathLike = "<seed row>") -> None:
        if every < 1:
            raise ValueError(f"every must be positive, got {every}")
        self.messages, self.orderbook, self.seed_row = _replay_inputs(
            messages, orderbook, seed_row, tick_size, (path, orderbook_path, seed_path))
        self.stream_level, self.tick_size, self.every, self.path = (
            stream_level, tick_size, every, path)
        self.kept: list[tuple[int, OrderBook, int, int]] = []
        self.starts: list[int] = []

    def __call__(self, index: int) -> OrderBook:
        if not 1 <= index <= len(self.messages):
            raise IndexError(f"message {index} is outside the replay (1..{len(self.messages)})")
        if not self.kept:
            book, states = OrderBook(self.tick_size), np.empty((len(self.messages), 2), np.int64)
            replay_compare(book, self.messages, self.orderbook, self.seed_row,
                           self.stream_level, states, self.every, self.kept)
            _refuse_crossed(states, book, self.path)
            self.starts = [start for start, *_ in self.kept]
        start, kept, known_bid, known_ask = self.kept[bisect.bisect_right(self.starts, index) - 1]
        book = kept.copy()
        replay_resume(book, known_bid, known_ask, self.messages, self.orderbook,
                      self.stream_level, start, index)
        return book


def read_pair(message_file: PathLike, orderbook_file: PathLike,
              seed_orderbook_file: PathLike | None = None, level: int | None = None,
              ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray | None]:
    """Read a LOBSTER message/orderbook pair for :func:`replay`: ``(messages, orderbook,
    stream_level, seed_row)``. ``stream_level`` is ``level``, else the message file name's N,
    else the orderbook's level count; ``seed_row`` the first row of ``seed_orderbook_file``
    (``None`` without one). An orderbook whose row count is not the message count is a
    :class:`PairLengthError` naming both files (LOBSTER writes one row per message: a shorter
    file would leave messages no row describes)."""
    messages = read_messages(message_file)
    orderbook = read_orderbook(orderbook_file)
    if orderbook.shape[0] != messages.shape[0]:
        raise PairLengthError(
            f"{orderbook_file} has {orderbook.shape[0]:,} rows but {message_file} has "
            f"{messages.shape[0]:,} messages: LOBSTER writes one row per message")
    stream_level = level or level_from_filename(message_file) or orderbook.shape[1] // 4
    seed_row = (None if seed_orderbook_file is None
                else read_orderbook(seed_orderbook_file)[0])
    return messages, orderbook, stream_level, seed_row


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
    try:
        messages, orderbook, stream_level, seed_row = read_pair(
            args.message_file, args.orderbook, args.seed_orderbook, args.level)
    except PairLengthError as error:  # a usage error: the wrong file given
        command.error(str(error))
    report, _, _ = replay(messages, orderbook, stream_level=stream_level, seed_row=seed_row,
                          tick_size=args.tick, path=args.message_file,
                          orderbook_path=args.orderbook,
                          seed_path=args.seed_orderbook or "<seed row>")
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
