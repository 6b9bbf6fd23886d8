"""lob_core: a price-time priority limit order book in Cython, and LOBSTER replay.

This package never imports torch.
"""

from lob_core._book import (
    BUY,
    CANCELLED,
    FILL_DTYPE,
    FILLED,
    FOK,
    GTC,
    IOC,
    KILLED,
    ORDER_DTYPE,
    POST_ONLY,
    QUEUE_DTYPE,
    REJECTED,
    RESTED,
    SELL,
    OrderBook,
    book_from_orders,
)
from lob_core.errors import (
    DuplicateOrderError,
    InvalidOrderIdError,
    InvalidOrderTypeError,
    InvalidPriceError,
    InvalidQuantityError,
    InvalidSideError,
    OrderBookError,
    UnknownOrderError,
)

__all__ = [
    "BUY",
    "CANCELLED",
    "FILLED",
    "FILL_DTYPE",
    "FOK",
    "GTC",
    "IOC",
    "KILLED",
    "ORDER_DTYPE",
    "POST_ONLY",
    "QUEUE_DTYPE",
    "REJECTED",
    "RESTED",
    "SELL",
    "DuplicateOrderError",
    "InvalidOrderIdError",
    "InvalidOrderTypeError",
    "InvalidPriceError",
    "InvalidQuantityError",
    "InvalidSideError",
    "OrderBook",
    "OrderBookError",
    "UnknownOrderError",
    "book_from_orders",
]
