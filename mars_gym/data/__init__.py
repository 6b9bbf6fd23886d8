"""Real order flow in one event schema and the order vocabulary: loaders, sources, splits."""

from mars_gym.data.orders import (
    BUY_ORDER,
    CANCEL_ORDER,
    ORDER_KIND_NAMES,
    SELL_ORDER,
    TOKEN_ORDER_DTYPE,
    events_to_orders,
    split_orders_after,
)
from mars_gym.data.schema import (
    BOOK_DTYPE,
    CANCEL,
    EVENT_DTYPE,
    EXECUTE,
    NEW,
    PARTIAL_CANCEL,
    EventStream,
    Source,
)
from mars_gym.data.sources import DATA_SOURCES, SOURCES, load_source, register_source
from mars_gym.data.splits import SPLIT_FRACTIONS, split_by_time

__all__ = [
    "BOOK_DTYPE",
    "BUY_ORDER",
    "CANCEL",
    "CANCEL_ORDER",
    "DATA_SOURCES",
    "EVENT_DTYPE",
    "EXECUTE",
    "NEW",
    "ORDER_KIND_NAMES",
    "PARTIAL_CANCEL",
    "SELL_ORDER",
    "SOURCES",
    "SPLIT_FRACTIONS",
    "TOKEN_ORDER_DTYPE",
    "EventStream",
    "Source",
    "events_to_orders",
    "load_source",
    "register_source",
    "split_by_time",
    "split_orders_after",
]
