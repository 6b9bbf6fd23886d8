"""A stream seen in a mirror: every buy a sell, every sell a buy, prices reflected.

One trading day has a direction (AMZN's training split falls 80 bps). A model that learns it
pushes every simulated window the same way, and in a simulation its own orders feed the move:
the touch-priced models carried AMZN's windows down by 20-280 bps in ten minutes, where the real
windows moved a few. Training on each stream and its mirror (``mars-gym train-lmm --mirror``)
gives the model no direction to learn: what it knows about sellers it knows about buyers.

Prices reflect about the highest price ``C`` the stream shows (``p -> 2C - p``), so the
mirrored prices stay positive and near the real level; the mirrored book's bid is the real ask
reflected, with the ask's volumes (a side that is empty stays empty).
"""

from __future__ import annotations

import numpy as np

from mars_gym.data.schema import EventStream


def mirrored(stream: EventStream) -> EventStream:
    """``stream`` with buyers and sellers exchanged (see the module docstring)."""
    events, book = stream.events.copy(), stream.book.copy()
    centre = int(max(events["price"].max(initial=0), book["ask"].max(initial=0),
                     book["bid"].max(initial=0)))
    events["side"] = -stream.events["side"]
    events["price"] = 2 * centre - stream.events["price"]
    bid, ask = stream.book["bid"], stream.book["ask"]
    book["bid"] = np.where(ask > 0, 2 * centre - ask, 0)
    book["ask"] = np.where(bid > 0, 2 * centre - bid, 0)
    book["bid_qty"], book["ask_qty"] = stream.book["ask_qty"], stream.book["bid_qty"]
    open_mid = None if stream.open_mid is None else 2 * centre - stream.open_mid
    return EventStream(stream.source, events, book, dict(stream.report), open_mid)
