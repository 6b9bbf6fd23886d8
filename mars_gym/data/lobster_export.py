"""Write any event stream as LOBSTER message + orderbook files at level N.

The filter is LOBSTER's: an event is written when it touches the best N price levels of its
side (a new order resting within the best N levels after it arrives; a cancel or execution at a
price within the best N levels before it), and every written message is followed by the book's
best N levels in the orderbook file (dummy prices +-9999999999 with size 0 where a side has
fewer levels). Event types map to LOBSTER types: NEW 1, PARTIAL_CANCEL 2, CANCEL 3, EXECUTE 4.
Prices are written as ticks x ``price_unit`` (LOBSTER units: dollars x 10 000, so 100 for a
one-cent tick); times as seconds with nanoseconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lob_core import OrderBook
from lob_core.lobster import DUMMY_ASK_PRICE, DUMMY_BID_PRICE, MESSAGE_DTYPE
from mars_gym.data.schema import CANCEL, EXECUTE, NEW, PARTIAL_CANCEL, structured_from_rows

_LOBSTER_TYPE = {NEW: 1, PARTIAL_CANCEL: 2, CANCEL: 3, EXECUTE: 4}


def to_lobster(book: OrderBook, events: np.ndarray, level: int,
               price_unit: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``events`` to ``book`` (in place; tick size 1) and return the LOBSTER view:
    ``(messages, orderbook)`` as :data:`~lob_core.lobster.MESSAGE_DTYPE` and int64 arrays."""
    if level < 1:
        raise ValueError(f"level must be >= 1, got {level}")
    messages, rows = [], []
    depth = np.empty((4, level), dtype=np.int64)
    for t, kind, side, price, size, order_id in events.tolist():
        if kind == NEW:
            book.limit(side, price, size, order_id, ts=t)
            visible = _within_best(book, side, price, level)
        else:
            visible = _within_best(book, side, price, level)
            if kind == CANCEL:
                book.cancel(order_id)
            else:
                book.reduce(order_id, size)
        if not visible:
            continue
        messages.append((t, _LOBSTER_TYPE[kind], order_id, size, price * price_unit, side))
        book.depth_into(depth)
        row = np.empty(4 * level, dtype=np.int64)
        row[0::4] = np.where(depth[3] > 0, depth[2] * price_unit, DUMMY_ASK_PRICE)
        row[1::4] = depth[3]
        row[2::4] = np.where(depth[1] > 0, depth[0] * price_unit, DUMMY_BID_PRICE)
        row[3::4] = depth[1]
        rows.append(row)
    return (structured_from_rows(messages, MESSAGE_DTYPE),
            np.array(rows, dtype=np.int64).reshape(-1, 4 * level))


def _within_best(book: OrderBook, side: int, price: int, level: int) -> bool:
    best = book.best_bid if side > 0 else book.best_ask
    if best is None or side * price > side * best:
        return False
    prices = book.depth(level)[0 if side > 0 else 2]
    return price in prices[prices > 0]


def write_lobster(directory: Path | str, stem: str, messages: np.ndarray,
                  orderbook: np.ndarray) -> tuple[Path, Path]:
    """Write ``STEM_message_N.csv`` and ``STEM_orderbook_N.csv``; return their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    level = orderbook.shape[1] // 4
    message_path = directory / f"{stem}_message_{level}.csv"
    orderbook_path = directory / f"{stem}_orderbook_{level}.csv"
    seconds = messages["time_ns"] // 1_000_000_000
    fraction = messages["time_ns"] % 1_000_000_000
    with open(message_path, "w") as handle:
        handle.writelines(f"{s}.{f:09d},{m[1]},{m[2]},{m[3]},{m[4]},{m[5]}\n"
                          for s, f, m in zip(seconds.tolist(), fraction.tolist(),
                                             messages.tolist(), strict=True))
    np.savetxt(orderbook_path, orderbook, fmt="%d", delimiter=",")
    return message_path, orderbook_path
