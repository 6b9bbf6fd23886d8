"""The order tokenizer on the real shared data."""

import numpy as np
import pytest

from lob_core import OrderBook
from mars_gym.data import EXECUTE, NEW, SOURCES, load_source, split_by_time
from mars_gym.sim.background_orders import submit_background
from mars_gym.sim.flows.base import FlowOrder
from mars_gym.tokens import (
    BUY,
    CANCEL_ORDER,
    SELL,
    VOCAB_SIZE,
    OrderTokenizer,
    TokenizerFileError,
    compose,
    decompose,
    events_to_orders,
)
from mars_gym.tokens.order_tokenizer import N_CHANGE, N_TIME_OF_DAY, _mids


@pytest.fixture(scope="module")
def splits(lobster_dir):
    return {name: split_by_time(load_source(name, lobster_dir)) for name in SOURCES}


@pytest.fixture(scope="module")
def tokenizer(splits):
    return OrderTokenizer.fit([parts["train"] for parts in splits.values()])


def test_vocabulary_is_the_mars_scheme():
    assert VOCAB_SIZE == 3 * 32 * 32 * 16 == 49_152
    ids = np.arange(VOCAB_SIZE)
    assert np.array_equal(compose(*decompose(ids)), ids)
    with pytest.raises(ValueError, match="token ids"):
        decompose([VOCAB_SIZE])


def test_executions_become_one_marketable_order_of_the_aggressor(splits):
    amzn = splits["AMZN"]["train"]
    orders = events_to_orders(amzn)
    kinds = amzn.events["type"]
    assert len(orders) < len(amzn)  # execution runs are merged
    aggressive = orders[(orders["kind"] != CANCEL_ORDER)
                        & (kinds[orders["event"]] == EXECUTE)]
    book = amzn.book[aggressive["event"]]
    buys = aggressive["kind"] == BUY
    assert (aggressive["price"][buys] >= book["ask"][buys]).all()  # marketable
    assert (aggressive["price"][~buys] <= book["bid"][~buys]).all()
    # volume is conserved: executed + resting remainders + cancelled = all event sizes
    assert orders["size"].sum() == amzn.events["size"].sum()


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_decoded_values_fall_in_the_encoded_bins(splits, tokenizer, name):
    stream = splits[name]["val"]
    tokens = tokenizer.encode(stream)
    mid = _mids(stream, tokens.orders["event"])
    decoded = tokenizer.decode(tokens.ids, mid, stream.source.source_id,
                               np.random.default_rng(0))
    kind, price_bin, volume_bin, interval_bin = decompose(tokens.ids)
    for k in range(3):
        mask = kind == k
        assert np.array_equal(tokenizer.price_bins[k].transform(decoded.price[mask] - mid[mask]),
                              price_bin[mask])
        scaled = decoded.size[mask] / tokenizer.volume_scale[stream.source.source_id]
        assert np.array_equal(tokenizer.volume_bins[k].transform(scaled), volume_bin[mask])
    assert np.array_equal(tokenizer.interval_bins.transform(decoded.interval_ns), interval_bin)
    assert np.array_equal(decoded.side, tokens.orders["side"])


def test_conditions_have_the_documented_ranges(splits, tokenizer):
    tokens = tokenizer.encode(splits["AAPL"]["test"])
    c = tokens.conditions
    assert c.book.shape == (len(tokens.ids), 10) and c.book.dtype == np.float32
    assert (c.book >= 0).all() and c.book.max() > 0
    assert ((0 <= c.time_of_day) & (c.time_of_day < N_TIME_OF_DAY)).all()
    assert 10 * 3600 // 5 <= c.time_of_day.min()  # the AAPL test split is after 10:00
    assert ((0 <= c.change) & (c.change < N_CHANGE)).all()
    assert (c.source == SOURCES["AAPL"].source_id).all()


def test_decoded_sequences_drive_the_engine_without_errors(splits, tokenizer):
    """Decode a real token sequence step by step against a live book and submit it."""
    stream = splits["AMZN"]["test"]
    tokens = tokenizer.encode(stream)
    ids = tokens.ids[:3_000]
    book, rng = OrderBook(1), np.random.default_rng(3)
    first = stream.book[0]
    for k in range(5):  # seed with the real book the test window starts from
        for side, price, qty in ((1, first["bid"] - k, first["bid_qty"][k]),
                                 (-1, first["ask"] + k, first["ask_qty"][k])):
            if qty:
                book.limit(side, int(price), int(qty), order_id=10**9 + 2 * k + (side < 0))
    t, executed = 0, 0
    for order_id, token in enumerate(ids.tolist()):
        bid, ask = book.best_bid, book.best_ask
        mid = (bid + ask) / 2 if bid and ask else float(bid or ask)
        d = tokenizer.decode([token], mid, stream.source.source_id, rng)
        t += int(d.interval_ns[0])
        order = FlowOrder(t, int(d.kind[0]), int(d.side[0]), int(d.price[0]), int(d.size[0]))
        done = submit_background(book, order, order_id, rng)
        executed += done if d.kind[0] != CANCEL_ORDER else 0
        assert book.best_bid is None or book.best_ask is None or book.best_bid < book.best_ask
    assert len(book) > 0 and executed > 0


def test_save_load_round_trip_and_clear_errors(tmp_path, tokenizer, splits):
    path = tmp_path / "tokenizer.npz"
    tokenizer.save(path)
    again = OrderTokenizer.load(path)
    stream = splits["BTCUSD_2015"]["val"]
    assert np.array_equal(again.encode(stream).ids, tokenizer.encode(stream).ids)
    with pytest.raises(TokenizerFileError, match="not found"):
        OrderTokenizer.load(tmp_path / "missing.npz")
    (tmp_path / "corrupt.npz").write_bytes(b"not a zip file")
    with pytest.raises(TokenizerFileError, match="corrupt.npz"):
        OrderTokenizer.load(tmp_path / "corrupt.npz")
    state = tokenizer.state()
    state["header"] = np.frombuffer(b'{"format": "mars_gym.order_tokenizer", "version": 99}',
                                    dtype=np.uint8)
    np.savez(tmp_path / "v99.npz", **state)
    with pytest.raises(TokenizerFileError, match="version 99"):
        OrderTokenizer.load(tmp_path / "v99.npz")


def test_unknown_source_is_refused(splits):
    amzn_only = OrderTokenizer.fit([splits["AMZN"]["train"]])
    with pytest.raises(KeyError, match="was not in the tokenizer's training data"):
        amzn_only.encode(splits["AAPL"]["val"])


def test_new_orders_are_limit_orders_of_their_side(splits):
    stream = splits["BTCUSD_2026"]["train"]
    orders = events_to_orders(stream)
    plain = orders[stream.events["type"][orders["event"]] == NEW]
    assert set(np.unique(plain["kind"])) == {BUY, SELL}
    assert np.array_equal(np.where(plain["kind"] == BUY, 1, -1), plain["side"])
