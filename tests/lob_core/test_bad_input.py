"""Every kind of bad input raises a clear error and leaves the book exactly as it was."""

import numpy as np
import pytest

from lob_core import (
    BUY,
    SELL,
    DuplicateOrderError,
    InvalidOrderIdError,
    InvalidOrderTypeError,
    InvalidPriceError,
    InvalidQuantityError,
    InvalidSideError,
    OrderBook,
    OrderBookError,
    UnknownOrderError,
)


@pytest.fixture
def seeded() -> OrderBook:
    book = OrderBook(tick_size=100)
    book.limit(BUY, 10_000, 5, order_id=1)
    book.limit(BUY, 9_900, 5, order_id=2)
    book.limit(SELL, 10_100, 5, order_id=3)
    book.market(BUY, 1, order_id=50)  # leaves fills in the buffer
    return book


BAD_CALLS = [
    ("off-tick limit price", lambda b: b.limit(BUY, 10_050, 1, 10), InvalidPriceError, "10050"),
    ("zero limit price", lambda b: b.limit(BUY, 0, 1, 10), InvalidPriceError, "got 0"),
    ("negative limit price", lambda b: b.limit(SELL, -100, 1, 10), InvalidPriceError, "-100"),
    ("zero quantity", lambda b: b.limit(BUY, 10_000, 0, 10), InvalidQuantityError, "got 0"),
    ("negative quantity", lambda b: b.limit(SELL, 10_200, -3, 10), InvalidQuantityError, "-3"),
    ("bad side", lambda b: b.limit(0, 10_000, 1, 10), InvalidSideError, "got 0"),
    ("bad side market", lambda b: b.market(2, 1, 10), InvalidSideError, "got 2"),
    ("duplicate id", lambda b: b.limit(SELL, 10_200, 1, 1), DuplicateOrderError, "order_id 1"),
    ("duplicate id market", lambda b: b.market(SELL, 1, 3), DuplicateOrderError, "order_id 3"),
    ("negative id", lambda b: b.limit(BUY, 10_000, 1, -5), InvalidOrderIdError, "-5"),
    ("bad tif", lambda b: b.limit(BUY, 10_000, 1, 10, tif=9), InvalidOrderTypeError, "got 9"),
    ("market zero quantity", lambda b: b.market(BUY, 0, 10), InvalidQuantityError, "got 0"),
    ("cancel unknown id", lambda b: b.cancel(77), UnknownOrderError, "order_id 77"),
    ("reduce unknown id", lambda b: b.reduce(77, 1), UnknownOrderError, "order_id 77"),
    ("reduce by zero", lambda b: b.reduce(1, 0), InvalidQuantityError, "got 0"),
    ("reduce too much", lambda b: b.reduce(1, 6), InvalidQuantityError, "only 5 left"),
    ("modify unknown id", lambda b: b.modify(77, 10_000, 1), UnknownOrderError, "order_id 77"),
    ("modify off-tick", lambda b: b.modify(1, 10_001, 1), InvalidPriceError, "10001"),
    ("modify zero size", lambda b: b.modify(1, 10_000, 0), InvalidQuantityError, "got 0"),
    ("level query bad side", lambda b: b.level_volume(3, 10_000), InvalidSideError, "got 3"),
    ("order of unknown id", lambda b: b.order(77), UnknownOrderError, "order_id 77"),
    ("float price", lambda b: b.limit(BUY, 10_000.5, 1, 10), TypeError, "price must be an integer"),
    ("float order id", lambda b: b.cancel(1.0), TypeError, "order_id must be an integer"),
    ("huge side", lambda b: b.limit(2**32 + 1, 10_000, 1, 10), InvalidSideError, "4294967297"),
]


@pytest.mark.parametrize("name, call, error, fragment", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_is_rejected_and_leaves_book_unchanged(seeded, name, call, error, fragment):
    orders_before = seeded.orders_array()
    fills_before = seeded.fills.copy()
    outcome_before = seeded.last_outcome
    with pytest.raises(error, match=fragment):
        call(seeded)
    assert np.array_equal(seeded.orders_array(), orders_before)
    assert np.array_equal(seeded.fills, fills_before)
    assert seeded.last_outcome == outcome_before
    # the book still behaves exactly as before: the next real order sees the same queue
    assert seeded.market(SELL, 6, order_id=99) == 6
    assert seeded.fills["maker_order_id"].tolist() == [1, 2]


def test_errors_share_one_base_and_are_value_or_key_errors():
    assert issubclass(InvalidPriceError, OrderBookError)
    assert issubclass(InvalidPriceError, ValueError)
    assert issubclass(UnknownOrderError, OrderBookError) and issubclass(UnknownOrderError, KeyError)
    assert str(UnknownOrderError("no resting order with order_id 5")) == (
        "no resting order with order_id 5")


def test_tick_size_must_be_positive():
    with pytest.raises(ValueError, match="tick_size"):
        OrderBook(tick_size=0)
