"""The value domain of the book: reserved and out-of-range ids, level totals, re-entrant
arguments, book_from_orders and integer-only sizes. Each case once crashed or corrupted the book."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lob_core import (
    BUY,
    FOK,
    MAX_PRICE,
    MAX_QTY,
    ORDER_DTYPE,
    SELL,
    InvalidPriceError,
    InvalidQuantityError,
    OrderBook,
    OutOfRangeError,
    UnknownOrderError,
    book_from_orders,
)
from lob_core.lobster import LobsterFormatError, read_messages

EMPTY_SLOT_MARKER = -(2**63)


def _used_book() -> OrderBook:
    book = OrderBook(tick_size=100)
    for oid in range(20):
        book.limit(BUY if oid % 2 else SELL, 10_000 - 100 * (oid % 2) * (1 + oid % 3)
                   + 100 * (1 - oid % 2) * (1 + oid % 3), 5, oid)
    for oid in range(0, 20, 3):
        book.cancel(oid)
    return book


@pytest.mark.parametrize("fresh", [True, False], ids=["fresh book", "used book"])
@pytest.mark.parametrize("call", ["cancel", "order", "queue_position", "volume_ahead", "reduce",
                                  "modify"])
def test_the_empty_slot_marker_is_an_unknown_id_not_a_crash(fresh, call):
    book = OrderBook(100) if fresh else _used_book()
    before = book.orders_array()
    args = {"reduce": (1,), "modify": (10_000, 1)}.get(call, ())
    with pytest.raises(UnknownOrderError, match=str(EMPTY_SLOT_MARKER)):
        getattr(book, call)(EMPTY_SLOT_MARKER, *args)
    assert EMPTY_SLOT_MARKER not in book
    assert len(book) == len(before) and (book.orders_array() == before).all()


@pytest.mark.parametrize("value", [2**63, 2**64, -(2**63) - 1, 10**30])
def test_ids_outside_int64_raise_a_named_range_error(value):
    book = _used_book()
    before = book.orders_array()
    with pytest.raises(OutOfRangeError, match="order_id must fit in a signed 64-bit integer"):
        book.cancel(value)
    with pytest.raises(OutOfRangeError, match="order_id"):
        book.limit(BUY, 9_000, 1, value)
    with pytest.raises(OutOfRangeError, match="qty"):
        book.limit(BUY, 9_000, value, 99)
    assert value not in book
    assert (book.orders_array() == before).all()
    assert isinstance(OutOfRangeError("x"), ValueError)


def test_a_message_file_with_an_id_beyond_int64_names_the_line(tmp_path):
    path = tmp_path / "X_message_1.csv"
    path.write_text("34200.1,1,5,10,1000000,1\n34200.2,3,9300000000000000000,10,1000000,1\n")
    with pytest.raises(LobsterFormatError, match="X_message_1.csv:2: column 3 does not fit"):
        read_messages(path)


def test_replaying_a_file_with_an_id_beyond_int64_exits_with_an_error_not_a_crash(tmp_path):
    messages = tmp_path / "X_message_1.csv"
    messages.write_text("34200.1,1,5,10,1000000,1\n34200.2,1,6,10,1000100,-1\n"
                        "34200.3,3,9300000000000000000,10,1000000,1\n")
    orderbook = tmp_path / "X_orderbook_1.csv"
    orderbook.write_text("1000100,10,1000000,10\n" * 3)
    run = subprocess.run([sys.executable, "-m", "lob_core.replay", str(messages),
                          "--orderbook", str(orderbook)], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 1, run.stderr[-500:]
    assert "X_message_1.csv:3" in run.stderr


def test_ids_above_two_to_the_53_are_read_exactly(tmp_path):
    path = tmp_path / "X_message_1.csv"
    path.write_text("34200.1,1,9007199254740992,10,1000000,1\n"
                    "34200.2,1,9007199254740993,10,1000000,1\n")
    assert read_messages(path)["order_id"].tolist() == [2**53, 2**53 + 1]


def test_level_totals_stay_inside_the_domain_and_fok_still_fills():
    book = OrderBook(100)
    with pytest.raises(InvalidQuantityError, match="at most MAX_QTY"):
        book.limit(SELL, 10_000, 2**62, 1)  # once two of these made the level total negative
    book.limit(SELL, 10_000, 2**61 - 1, 1)
    book.limit(SELL, 10_000, 2**61 - 1, 2)
    assert book.level_volume(SELL, 10_000) == 2**62 - 2
    with pytest.raises(InvalidQuantityError, match="exceed MAX_QTY"):
        book.limit(SELL, 10_000, 2, 3)
    assert book.limit(BUY, 10_000, 2**62 - 2, 4, tif=FOK) == 2**62 - 2
    assert len(book) == 0


def test_an_order_that_would_overflow_a_level_is_refused_and_the_book_is_unchanged():
    book = OrderBook(100)
    book.limit(SELL, 10_000, MAX_QTY - 10, 1)
    before = book.orders_array()
    with pytest.raises(InvalidQuantityError, match="would make the level total exceed MAX_QTY"):
        book.limit(SELL, 10_000, 11, 2)
    with pytest.raises(InvalidQuantityError, match="at most MAX_QTY"):
        book.limit(SELL, 10_100, MAX_QTY + 1, 2)
    assert (book.orders_array() == before).all()
    book.limit(SELL, 10_000, 10, 2)  # exactly MAX_QTY is allowed
    assert book.level_volume(SELL, 10_000) == MAX_QTY
    book.limit(SELL, 10_100, MAX_QTY, 3)
    book.reduce(1, 10)
    assert book.limit(BUY, 10_100, MAX_QTY, 4, tif=FOK) == MAX_QTY  # FOK fills across levels
    assert book.level_volume(SELL, 10_000) == 0
    assert book.level_volume(SELL, 10_100) == MAX_QTY - 10


def test_modify_cannot_push_a_level_past_the_domain():
    book = OrderBook(100)
    book.limit(BUY, 10_000, MAX_QTY - 5, 1)
    book.limit(BUY, 9_900, 10, 2)
    with pytest.raises(InvalidQuantityError, match="exceed MAX_QTY"):
        book.modify(2, 10_000, 6)
    book.modify(1, 10_000, MAX_QTY)  # growing in place up to the limit is fine
    assert book.order(1)[2] == MAX_QTY


def test_prices_beyond_the_domain_are_refused_and_queries_stay_defined():
    book = OrderBook(1)
    with pytest.raises(InvalidPriceError, match="MAX_PRICE"):
        book.limit(BUY, MAX_PRICE + 1, 1, 1)
    book.limit(SELL, MAX_PRICE, 1, 1)
    assert book.best_ask == MAX_PRICE
    assert book.level_volume(SELL, -(2**63)) == 0 and book.level_volume(BUY, 2**63 - 1) == 0
    assert len(book.level_queue(BUY, -(2**63))) == 0


class CancelsOnIndex:
    """An argument whose conversion to int cancels a resting order."""

    def __init__(self, book: OrderBook, victim: int, value: int) -> None:
        self.book, self.victim, self.value = book, victim, value

    def __index__(self) -> int:
        if self.victim in self.book:
            self.book.cancel(self.victim)
        return self.value


@pytest.mark.parametrize("call", ["modify price", "modify qty", "modify ts", "reduce qty"])
def test_an_argument_that_cancels_the_order_while_converting_cannot_corrupt_the_book(call):
    book = OrderBook(100)
    book.limit(BUY, 10_000, 5, 1)
    book.limit(BUY, 10_000, 5, 2)
    evil = CancelsOnIndex(book, 1, {"modify price": 10_000, "reduce qty": 1}.get(call, 3))
    with pytest.raises(UnknownOrderError, match="order_id 1"):
        if call == "modify price":
            book.modify(1, evil, 3)
        elif call == "modify qty":
            book.modify(1, 9_900, evil)
        elif call == "modify ts":
            book.modify(1, 9_900, 3, ts=evil)
        else:
            book.reduce(1, evil)
    assert book.orders_array()["order_id"].tolist() == [2]
    assert len(book) == 1 and book.level_volume(BUY, 10_000) == 5
    book.limit(SELL, 10_000, 10, 3)  # the freed slot is reused once, not twice
    assert len(book) == 1 and book.orders_array()["order_id"].tolist() == [3]


def _orders(rows) -> np.ndarray:
    return np.array(rows, dtype=ORDER_DTYPE)


@pytest.mark.parametrize("rows, fragment", [
    ([(1, 10_000, 1, 0, 5, 0), (1, 9_900, 1, 0, 5, 0)], "order_id 1 appears more than once"),
    ([(0, 10_000, 1, 0, 5, 0)], "side must be BUY"),
    ([(1, 10_000, 1, 0, 0, 0)], "qty must be in"),
    ([(1, 10_000, 1, 0, -5, 0)], "qty must be in"),
    ([(1, -100, 1, 0, 5, 0)], "price must be in"),
    ([(1, 10_000, 1, 0, 5, 0), (-1, 10_000, 2, 0, 5, 0)], "crossed book"),
    ([(1, 10_000, -(2**63), 0, 5, 0)], "reserved"),
    ([(1, 10_000, 1, 0, MAX_QTY, 0), (1, 10_000, 2, 0, 1, 0)], "more than MAX_QTY"),
    ([(1, 10_050, 1, 0, 5, 0)], "tick size"),
])
def test_book_from_orders_validates_like_the_live_api(rows, fragment):
    with pytest.raises(ValueError, match=fragment):
        book_from_orders(100, _orders(rows))


def test_book_from_orders_keeps_anonymous_negative_ids():
    book = book_from_orders(100, _orders([(1, 10_000, -20_001, 0, 5, 0), (-1, 10_100, 7, 1, 2, 3)]))
    assert book.cancel(-20_001) == 5 and len(book) == 1


@pytest.mark.parametrize("call, fragment", [
    (lambda: OrderBook(tick_size=1.5), "tick_size must be an integer"),
    (lambda: OrderBook(100).depth(1.5), "n_levels must be an integer"),
    (lambda: OrderBook(100).tick_state(2.0), "n_ticks must be an integer"),
])
def test_fractional_sizes_are_refused_not_truncated(call, fragment):
    with pytest.raises(TypeError, match=fragment):
        call()


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: OrderBook(tick_size=2**64), OutOfRangeError, "tick_size"),
    (lambda: OrderBook(tick_size=0), ValueError, "tick_size"),
    (lambda: OrderBook(100).depth(-1), ValueError, "n_levels"),
    (lambda: OrderBook(100).depth(2**70), OutOfRangeError, "n_levels"),
    (lambda: OrderBook(100).limit(BUY, 10_000, 1, 1, ts=2**63), OutOfRangeError, "ts"),
    (lambda: OrderBook(100).limit(BUY, 10_000, 1, 1, agent_id=-(2**64)), OutOfRangeError,
     "agent_id"),
])
def test_out_of_range_arguments_name_the_argument(call, error, fragment):
    with pytest.raises(error, match=fragment):
        call()
