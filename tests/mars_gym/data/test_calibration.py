"""Training-split market statistics: a constructed book, then the real data."""

from __future__ import annotations

import numpy as np
import pytest

from mars_gym.data.calibration import _sweep_cost, calibrate
from mars_gym.data.schema import BOOK_DTYPE, EVENT_DTYPE, EventStream, Source


def test_sweep_cost_follows_the_book():
    """Only the touch (1,000 lots, one tick from the mid): every size up to the visible depth
    costs the half spread. Touch 100 lots then 1,000 one tick behind: the cost rises."""
    n = 50
    book = np.zeros(n, BOOK_DTYPE)
    book["bid"], book["ask"] = 999, 1_001
    book["bid_qty"][:, 0] = book["ask_qty"][:, 0] = 1_000
    events = np.zeros(n, EVENT_DTYPE)
    events["time_ns"] = np.arange(n)
    stream = EventStream(Source("flat", 0, 0.01, 1.0, "USD", "flat book"), events, book)
    intercept, slope = _sweep_cost(stream, samples=n)
    assert intercept == pytest.approx(1 / 1_000 * 1e4)
    assert slope == pytest.approx(0.0, abs=1e-9)
    book["bid_qty"][:, 0] = book["ask_qty"][:, 0] = 100
    book["bid_qty"][:, 1] = book["ask_qty"][:, 1] = 1_000
    stream = EventStream(Source("flat", 0, 0.01, 1.0, "USD", "flat book"), events, book)
    intercept, slope = _sweep_cost(stream, samples=n)
    assert slope > 0


def test_calibration_on_real_training_data(lobster_dir):
    c = calibrate("AMZN", data_dir=lobster_dir)
    assert len(c.volume_profile) == 10 and sum(c.volume_profile) == pytest.approx(1.0)
    assert c.sigma_bps > 0 and c.half_spread_bps > 0 and c.eta_bps_per_lot >= 0
    assert c.step_volume * 10 >= c.horizon_volume > 0
