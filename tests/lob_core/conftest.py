from __future__ import annotations

import pytest

from lob_core import OrderBook


@pytest.fixture
def book() -> OrderBook:
    """An empty book with a tick of 100 (one cent in LOBSTER units)."""
    return OrderBook(tick_size=100)

