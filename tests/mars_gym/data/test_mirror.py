"""A stream seen in a mirror, and training on it: the model gets no direction to learn."""

import numpy as np
import pytest

from mars_gym.data import load_source, split_by_time
from mars_gym.data.mirror import mirrored
from mars_gym.data.orders import BUY_ORDER, CANCEL_ORDER, SELL_ORDER, events_to_orders
from mars_gym.lmm.train import TrainConfig, prepare_data
from mars_gym.tokens import OrderTokenizer, decompose
from mars_gym.tokens.conditions import BOOK_FEATURES, CHANGE_CLIP_BPS, TRADE_MEMORY_S


@pytest.fixture(scope="module")
def stream(lobster_dir):
    return split_by_time(load_source("AMZN", lobster_dir))["val"]


def test_buyers_become_sellers_and_prices_reflect(stream):
    mirror = mirrored(stream)
    centre = int(stream.events["price"].max())  # the highest price the stream shows
    real, seen = events_to_orders(stream), events_to_orders(mirror)
    assert len(real) == len(seen) > 1_000
    swap = {BUY_ORDER: SELL_ORDER, SELL_ORDER: BUY_ORDER, CANCEL_ORDER: CANCEL_ORDER}
    assert [swap[k] for k in real["kind"]] == seen["kind"].tolist()
    assert np.array_equal(seen["side"], -real["side"])
    assert np.array_equal(seen["price"], 2 * centre - real["price"])
    for field in ("time_ns", "size", "event"):
        assert np.array_equal(seen[field], real[field])
    bid, ask = mirror.book["bid"], mirror.book["ask"]
    both = (bid > 0) & (ask > 0)
    assert both.mean() > 0.99 and (bid[both] < ask[both]).all()
    assert np.array_equal(ask - bid, stream.book["ask"] - stream.book["bid"])
    assert np.array_equal(mirror.book["bid_qty"], stream.book["ask_qty"])
    assert mirror.open_mid == 2 * centre - stream.open_mid
    assert (mirror.events["price"] > 0).all()


def test_a_tokenizer_fitted_on_both_reads_the_mirror_as_the_stream_with_sides_exchanged(stream):
    mirror = mirrored(stream)
    tokenizer = OrderTokenizer.fit([stream, mirror], "touch", TRADE_MEMORY_S)
    assert np.array_equal(tokenizer.price_bins[BUY_ORDER].lower,
                          tokenizer.price_bins[SELL_ORDER].lower)
    real, seen = tokenizer.encode(stream), tokenizer.encode(mirror)
    kind, price, volume, interval = decompose(real.ids)
    kind_m, price_m, volume_m, interval_m = decompose(seen.ids)
    trades = kind != CANCEL_ORDER
    assert np.array_equal(np.where(trades, 1 - kind, kind), kind_m)
    assert np.array_equal(price[trades], price_m[trades])
    n_cancel_bins = len(tokenizer.price_bins[CANCEL_ORDER].lower)  # bid side <-> ask side
    assert np.array_equal(price[~trades], n_cancel_bins - 1 - price_m[~trades])
    assert np.array_equal(volume, volume_m) and np.array_equal(interval, interval_m)
    book, book_m = real.conditions.book, seen.conditions.book
    assert np.array_equal(book[:, :5], book_m[:, 5:10])  # the bid's volumes are the ask's
    assert np.array_equal(book[:, 10], book_m[:, 10])    # the same spread
    np.testing.assert_allclose(book[:, BOOK_FEATURES + 1:], -book_m[:, BOOK_FEATURES + 1:],
                               atol=1e-5)  # the aggressors' volume changes sign
    change, change_m = (c.change - CHANGE_CLIP_BPS for c in (real.conditions, seen.conditions))
    assert np.abs(change + change_m).max() <= 3  # a fall of x bps is a rise of about x


def test_training_with_the_mirror_doubles_the_training_sequences(lobster_dir):
    config = TrainConfig(sources=("AMZN",), data_dir=lobster_dir, trade_memory=True, mirror=True)
    tokenizer, train, val, _ = prepare_data(config)
    assert len(train) == 2 and len(val) == 1
    assert len(train[0]) == len(train[1])
    assert np.array_equal(tokenizer.price_bins[BUY_ORDER].lower,
                          tokenizer.price_bins[SELL_ORDER].lower)
    with pytest.raises(ValueError, match=r"--mirror \(on by default\) does not go with --plan"):
        prepare_data(config, plans=object())
