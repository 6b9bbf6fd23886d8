"""The book before any event, rebuilt from the nearest kept book, is the book a replay from the
start gives."""

from __future__ import annotations

import pytest

from mars_gym.data import load_source
from mars_gym.data.book_states import BookSnapshots, apply_events


def test_books_from_snapshots_equal_a_replay_from_the_start():
    stream = load_source("DEFAULT")
    events = stream.events[:5_000]
    initial = stream.book_before(0)
    books = BookSnapshots(initial, events, every=1_000)
    for index in (0, 1, 999, 1_000, 1_001, 2_500, 4_000, 4_999, 5_000, 1_500):  # out of order
        from_start = initial.copy()
        apply_events(from_start, events[:index])
        assert books(index).orders_array().tolist() == from_start.orders_array().tolist()
    assert len(books.kept) == 6  # books before events 0, 1000, ..., 5000
    fresh = books(2_500)
    fresh.cancel(int(fresh.orders_array()["order_id"][0]))  # a returned book is the caller's
    assert books(2_500).orders_array().tolist() != fresh.orders_array().tolist()
    with pytest.raises(IndexError, match="outside the stream"):
        books(5_001)


def test_the_embedded_market_rebuilds_its_books_from_snapshots():
    stream = load_source("DEFAULT")
    assert isinstance(stream.full_book, BookSnapshots)
    late = len(stream) - 10
    from_start = stream.full_book.kept[0].copy()
    apply_events(from_start, stream.events[:late])
    assert stream.book_before(late).orders_array().tolist() == (
        from_start.orders_array().tolist())
