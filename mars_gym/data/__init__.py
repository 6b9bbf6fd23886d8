"""Real order flow in one event schema: loaders, sources, splits."""

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
    "CANCEL",
    "DATA_SOURCES",
    "EVENT_DTYPE",
    "EXECUTE",
    "NEW",
    "PARTIAL_CANCEL",
    "SOURCES",
    "SPLIT_FRACTIONS",
    "EventStream",
    "Source",
    "load_source",
    "register_source",
    "split_by_time",
]
