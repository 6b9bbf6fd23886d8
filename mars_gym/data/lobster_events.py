"""LOBSTER message files into the event schema, with the book rebuilt by ``lob_core``.

The book state before each event comes from the checked replay (:func:`lob_core.replay.replay`):
message 0 is folded into the seed row and is not an event; hidden executions (type 5), cross
trades (6) and halts (7) do not change the visible book and are skipped, counted in the report.
For a level-N file only the best N levels are known (deeper book volumes are the replay's best
knowledge: see ``lob_core._replay``). ``EventStream.book_before(i)`` rebuilds that whole book,
with the real order ids, from the replay's nearest kept book before event i
(:class:`lob_core.replay.ReplaySnapshots`, one every
:data:`~mars_gym.data.book_states.SNAPSHOT_EVENTS` messages).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lob_core import OrderBook, book_from_orders
from lob_core.lobster import LOBSTER_TICK
from lob_core.replay import ReplaySnapshots, read_pair, replay
from mars_gym.data.book_states import SNAPSHOT_EVENTS
from mars_gym.data.schema import (
    BOOK_TICKS,
    CANCEL,
    EVENT_DTYPE,
    EXECUTE,
    NEW,
    PARTIAL_CANCEL,
    EventStream,
    Source,
    book_rows_from_tick_states,
)

# LOBSTER message type -> event type (None: skipped, counted)
_TYPE_MAP = {1: NEW, 2: PARTIAL_CANCEL, 3: CANCEL, 4: EXECUTE}
_SKIPPED_NAMES = {5: "skipped_hidden_executions", 6: "skipped_cross_trades", 7: "skipped_halts"}


def load_lobster_events(
    source: Source,
    message_file: Path,
    orderbook_file: Path,
    seed_orderbook_file: Path | None = None,
) -> EventStream:
    """Read a LOBSTER message/orderbook pair into an :class:`EventStream` (prices in cents).

    The pair is refused, naming the file and line, when the orderbook file has not one row per
    message, a row is crossed, or the messages rebuild a crossed book
    (:func:`lob_core.replay.read_pair`, :func:`lob_core.replay.replay`)."""
    messages, orderbook, stream_level, seed_row = read_pair(
        message_file, orderbook_file, seed_orderbook_file)
    seed_path = seed_orderbook_file or orderbook_file
    states = np.zeros((len(messages), 2 + 2 * BOOK_TICKS), dtype=np.int64)
    report, _, _ = replay(messages, orderbook, stream_level=stream_level, seed_row=seed_row,
                          states=states, path=message_file, orderbook_path=orderbook_file,
                          seed_path=seed_path)
    all_messages = messages
    messages, states = messages[1:], states[1:]
    keep = np.isin(messages["type"], list(_TYPE_MAP))
    kept = messages[keep]
    origin = np.flatnonzero(keep) + 1  # message index of each event
    type_lookup = np.full(8, -1, dtype=np.int64)
    for lobster_type, event_type in _TYPE_MAP.items():
        type_lookup[lobster_type] = event_type
    events = np.zeros(len(kept), dtype=EVENT_DTYPE)
    events["time_ns"] = kept["time_ns"]
    events["type"] = type_lookup[kept["type"]]
    events["side"] = kept["direction"]
    events["price"] = kept["price"] // LOBSTER_TICK
    events["size"] = kept["size"]
    events["order_id"] = kept["order_id"]
    counts = {name: int(np.count_nonzero(messages["type"] == code))
              for code, name in _SKIPPED_NAMES.items()}
    counts.update(messages=report.messages, folded_into_seed=1,
                  replay_mismatches=report.mismatches,
                  replay_undetermined_rows=report.undetermined_rows,
                  replay_unresolved_messages=report.unresolved_messages)
    rebuilt = ReplaySnapshots(all_messages, orderbook, stream_level=stream_level,
                              seed_row=seed_row, every=SNAPSHOT_EVENTS, path=message_file,
                              orderbook_path=orderbook_file, seed_path=seed_path)

    def full_book(index: int) -> OrderBook:
        """The whole rebuilt book before event ``index`` (prices in ticks, real ids)."""
        orders = rebuilt(int(origin[index])).orders_array()
        orders["price"] //= LOBSTER_TICK
        return book_from_orders(1, orders)

    return EventStream(source, events, book_rows_from_tick_states(states[keep], LOBSTER_TICK),
                       counts, full_book=full_book)
