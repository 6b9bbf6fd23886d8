"""The hazard of cancels behind the touch that touch-only messages hide."""

from __future__ import annotations

import numpy as np
import pytest

from mars_gym.data import CANCEL, EXECUTE, NEW, load_source, split_by_time
from mars_gym.data.schema import BOOK_DTYPE, EVENT_DTYPE, EventStream, Source
from mars_gym.data.unseen_cancels import (
    fit_unseen_cancel_rate,
    hazard_from_trials,
    unseen_episodes,
)

TOUCH_ONLY = Source("TEST", 0, 0.01, 1.0, "USD", "a touch-only test source", visible_levels=1)


def test_a_known_hazard_is_recovered_from_its_trials():
    rng = np.random.default_rng(0)
    lengths = rng.uniform(0.1, 60.0, 20_000)
    cancelled = rng.random(20_000) < -np.expm1(-0.08 * lengths)
    assert hazard_from_trials(lengths, cancelled) == pytest.approx(0.08, rel=0.03)
    assert hazard_from_trials(lengths, np.zeros(20_000, bool)) == 0.0
    with pytest.raises(ValueError, match="every trial was cancelled"):
        hazard_from_trials(lengths, np.ones(20_000, bool))
    with pytest.raises(ValueError, match="> 0 seconds"):
        hazard_from_trials([0.0, 1.0], [True, False])


def test_episodes_behind_the_touch_are_read_from_a_hand_made_stream():
    """Order 1 (bid 100) is pushed behind by order 2 for 3 s, comes back and is cancelled in
    view: it survived. Order 10 (ask 110) is pushed behind by order 11 for 7 s, comes back, and
    its level is then traded away without it: cancelled unseen. Order 20 is never behind."""
    rows = [  # time s, type, side, price, size, id | bid, ask before the event
        (0, NEW, 1, 100, 5, 1, 100, 110),
        (1, NEW, 1, 101, 5, 2, 100, 110),
        (4, CANCEL, 1, 101, 5, 2, 101, 110),
        (5, CANCEL, 1, 100, 5, 1, 100, 110),
        (6, NEW, -1, 110, 5, 10, 100, 110),
        (8, NEW, -1, 109, 5, 11, 100, 110),
        (15, CANCEL, -1, 109, 5, 11, 100, 109),
        (16, EXECUTE, -1, 110, 5, 12, 100, 110),
        (17, NEW, 1, 100, 1, 20, 100, 111),
        (18, CANCEL, 1, 100, 1, 20, 100, 111),
    ]
    events = np.zeros(len(rows), EVENT_DTYPE)
    book = np.zeros(len(rows), BOOK_DTYPE)
    for i, (t, kind, side, price, size, order_id, bid, ask) in enumerate(rows):
        events[i] = (t * 10**9, kind, side, price, size, order_id)
        book[i]["bid"], book[i]["ask"] = bid, ask
    lengths, cancelled = unseen_episodes(EventStream(TOUCH_ONLY, events, book))
    np.testing.assert_allclose(lengths, [3.0, 7.0])
    assert cancelled.tolist() == [False, True]


def test_amzn_level_1_has_a_rate_and_deeper_sources_have_none(lobster_dir):
    amzn = split_by_time(load_source("AMZN", lobster_dir))["train"]
    lengths, cancelled = unseen_episodes(amzn)
    assert len(lengths) > 1_000 and 0.4 < cancelled.mean() < 0.8
    rate = fit_unseen_cancel_rate(amzn)
    assert 0.05 < rate < 0.15  # 0.069 per second: about 14 s behind the touch
    # the longer behind, the likelier cancelled: the data's shares rise with the episode
    short, long = cancelled[lengths < 1].mean(), cancelled[lengths > 60].mean()
    assert short < 0.3 and long > 0.95
    aapl = split_by_time(load_source("AAPL", lobster_dir))["train"]
    assert aapl.source.visible_levels == 50 and fit_unseen_cancel_rate(aapl) == 0.0
