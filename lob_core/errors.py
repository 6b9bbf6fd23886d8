"""Exceptions raised by the order book. Every rejected call leaves the book exactly as it was."""

from __future__ import annotations


class OrderBookError(Exception):
    """Base class of every error raised by :class:`lob_core.OrderBook`."""


class InvalidSideError(OrderBookError, ValueError):
    """The side is neither BUY (+1) nor SELL (-1)."""


class InvalidPriceError(OrderBookError, ValueError):
    """The price is not positive or not a multiple of the book's tick size."""


class InvalidQuantityError(OrderBookError, ValueError):
    """The quantity is not positive, or exceeds what the order has left."""


class InvalidOrderTypeError(OrderBookError, ValueError):
    """The time-in-force code is not one of GTC, IOC, FOK, POST_ONLY."""


class InvalidOrderIdError(OrderBookError, ValueError):
    """The order id is negative (negative ids are reserved for anonymous replay volume)."""


class DuplicateOrderError(OrderBookError, ValueError):
    """An incoming order reuses the id of an order that is still resting."""


class OutOfRangeError(OrderBookError, OverflowError, ValueError):
    """An integer argument that does not fit in a signed 64-bit integer."""


class UnknownOrderError(OrderBookError, KeyError):
    """No resting order has this id."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""
