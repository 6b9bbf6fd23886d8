"""Order images of real and simulated streams: every order counted once, in its minute."""

import numpy as np
import pytest

from lob_core import OrderBook
from mars_gym.data import load_source, split_by_time
from mars_gym.data.orders import BUY_ORDER, CANCEL_ORDER, SELL_ORDER, events_to_orders
from mars_gym.data.schema import seed_book_from_state
from mars_gym.data.units import NS_PER_MIN
from mars_gym.sim.flows import NoiseFlow, run_alone
from mars_gym.tokens.images import IMAGE_SHAPE, OrderImager


@pytest.fixture(scope="module")
def amzn(lobster_dir):
    return split_by_time(load_source("AMZN", lobster_dir))


@pytest.fixture(scope="module")
def imager(amzn):
    return OrderImager.fit(amzn["train"])


def _check_counts(images, stream, offset_ns=0):
    orders = events_to_orders(stream)
    minute = (orders["time_ns"] - offset_ns) // NS_PER_MIN
    assert images.images.shape[1:] == IMAGE_SHAPE
    assert images.images.sum() == len(orders)
    for channel, kind in enumerate((BUY_ORDER, SELL_ORDER, CANCEL_ORDER)):
        assert images.images[:, channel].sum() == np.count_nonzero(orders["kind"] == kind)
    per_minute = np.bincount(minute - images.minute[0], minlength=len(images))
    np.testing.assert_array_equal(images.images.sum(axis=(1, 2, 3)), per_minute)


def test_real_minutes_count_every_order_once(amzn, imager):
    images = imager.images(amzn["val"])
    _check_counts(images, amzn["val"])
    assert np.all(np.diff(images.minute) == 1)
    assert not np.isnan(images.open_mid).any() and not np.isnan(images.close_mid).any()
    np.testing.assert_array_equal(images.open_mid[1:], images.close_mid[:-1])  # minutes chain


def test_shifted_minutes_count_the_same_orders(amzn, imager):
    _check_counts(imager.images(amzn["val"], offset_ns=30 * 10**9), amzn["val"], 30 * 10**9)
    with pytest.raises(ValueError, match="offset_ns"):
        imager.images(amzn["val"], offset_ns=NS_PER_MIN)


def test_buys_sit_below_sells_in_price_slots(amzn, imager):
    images = imager.images(amzn["val"]).images.sum(axis=(0, 3))  # (channel, price slot)
    slots = np.arange(images.shape[1])
    mean_slot = (images * slots).sum(axis=1) / images.sum(axis=1)
    assert mean_slot[0] + 2 < mean_slot[1]  # buy orders below the mid, sell orders above


def test_simulated_streams_make_images_too(amzn, imager):
    book = OrderBook(1)
    seed_book_from_state(book, amzn["test"].book[0])
    start = int(amzn["test"].events["time_ns"][0])
    generated = run_alone(NoiseFlow(interval_ns=100_000_000, volume_scale=100), book, start,
                         start + 150 * 10**9, amzn["test"].source, seed=0)
    images = imager.images(generated)
    _check_counts(images, generated)
    assert len(images) >= 3


def test_slots_survive_a_save_and_load(amzn, imager):
    again = OrderImager.from_arrays(imager.to_arrays("AMZN"), "AMZN")
    np.testing.assert_array_equal(again.images(amzn["val"]).images,
                                  imager.images(amzn["val"]).images)


def test_an_empty_stream_is_a_clear_error(amzn, imager):
    with pytest.raises(ValueError, match="empty stream"):
        imager.images(amzn["val"][:0])
