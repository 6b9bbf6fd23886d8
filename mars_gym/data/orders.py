"""The order vocabulary: event streams into orders, each a buy, a sell or a cancel.

These are the orders that the tokens encode one per token (:mod:`mars_gym.tokens`), that the
background flows emit and that the simulator routes (:mod:`mars_gym.sim`).

* A ``NEW`` event is a limit order of its side at its price.
* A run of ``EXECUTE`` events at one time against one resting side is the work of one
  aggressor of the other side: a marketable order for the total executed size at the price it
  reached (the last execution price). A ``NEW`` of the aggressor's side right after it, at the
  same time and at a price at least as aggressive as the last fill, is the rest of that order
  resting: it joins it (size added, price = its limit).
* ``CANCEL`` and ``PARTIAL_CANCEL`` are cancel orders at their price for the size removed.

Each order keeps the index of its first event, whose book row is the book the order saw.
"""

from __future__ import annotations

import numpy as np

from mars_gym.data.schema import EXECUTE, NEW, EventStream, structured_from_rows

BUY_ORDER, SELL_ORDER, CANCEL_ORDER = 0, 1, 2
ORDER_KIND_NAMES = {BUY_ORDER: "buy", SELL_ORDER: "sell", CANCEL_ORDER: "cancel"}

TOKEN_ORDER_DTYPE = np.dtype(
    [
        ("time_ns", "<i8"),
        ("kind", "<i8"),    # BUY_ORDER / SELL_ORDER / CANCEL_ORDER
        ("side", "<i8"),    # +1 / -1: the side of the book the order belongs to
        ("price", "<i8"),   # ticks
        ("size", "<i8"),    # lots
        ("event", "<i8"),   # index of its first event (its book = stream.book[event])
        ("order_id", "<i8"),  # its id (a cancel: the id it cancels; an aggressor without a
                              # resting remainder: -1)
    ]
)


def events_to_orders(stream: EventStream) -> np.ndarray:
    """The orders behind a stream of events (see the module docstring)."""
    times, kinds = stream.events["time_ns"], stream.events["type"]
    sides, prices, sizes = stream.events["side"], stream.events["price"], stream.events["size"]
    ids = stream.events["order_id"]
    out = []
    i, n = 0, len(times)
    while i < n:
        if kinds[i] == EXECUTE:
            resting, start, total = sides[i], i, 0
            while (i < n and kinds[i] == EXECUTE and times[i] == times[start]
                   and sides[i] == resting):
                total += sizes[i]
                i += 1
            price, order_id = prices[i - 1], -1
            if (i < n and kinds[i] == NEW and times[i] == times[start] and sides[i] == -resting
                    and -resting * (prices[i] - price) >= 0):
                total += sizes[i]
                price, order_id = prices[i], ids[i]
                i += 1
            aggressor = -resting
            kind = BUY_ORDER if aggressor > 0 else SELL_ORDER
            out.append((times[start], kind, aggressor, price, total, start, order_id))
            continue
        if kinds[i] == NEW:
            kind = BUY_ORDER if sides[i] > 0 else SELL_ORDER
            out.append((times[i], kind, sides[i], prices[i], sizes[i], i, ids[i]))
        else:
            out.append((times[i], CANCEL_ORDER, sides[i], prices[i], sizes[i], i, ids[i]))
        i += 1
    return structured_from_rows(out, TOKEN_ORDER_DTYPE)


def split_orders_after(stream: EventStream, start: int, whole: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The orders after event ``start`` in two parts, without copying the whole stream's:
    ``head``, the parse of the order that ``start`` cuts (its events relative to ``start``),
    and ``tail``, a view of ``whole`` from the next order on (its events relative to the
    stream's first, as in ``whole``).

    The parse reads left to right and each order is decided by its own events, so a parse
    begun inside an order of the whole stream ends where that order ends (the rest of an
    aggressor's run, or the resting part it was joined with, stops at the same event); from
    there both parses are the same.
    """
    k = int(np.searchsorted(whole["event"], start, side="left"))
    cut_end = int(whole["event"][k]) if k < len(whole) else len(stream)
    return events_to_orders(stream[start:cut_end]), whole[k:]
