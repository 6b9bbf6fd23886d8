"""The order tokenizer on the real shared data."""

import json

import numpy as np
import pytest
import torch

from lob_core import OrderBook
from mars_gym.data import DATA_SOURCES, EXECUTE, NEW, SOURCES, load_source, split_by_time
from mars_gym.data.orders import BUY_ORDER, CANCEL_ORDER, SELL_ORDER, events_to_orders
from mars_gym.data.recording import RecordingBook
from mars_gym.lmm.checkpoint import NAMED
from mars_gym.sim._event_loop import EventLoop
from mars_gym.sim.flows.base import FlowOrder
from mars_gym.tokens import (
    VOCAB_SIZE,
    OrderTokenizer,
    TokenizerFileError,
    compose,
    decompose,
)
from mars_gym.tokens.conditions import N_CHANGE, N_TIME_OF_DAY, mids, touches
from mars_gym.tokens.scheme import CROSS, price_coordinate


@pytest.fixture(scope="module")
def splits(lobster_dir):
    return {name: split_by_time(load_source(name, lobster_dir)) for name in DATA_SOURCES}


@pytest.fixture(scope="module")
def tokenizers(splits):
    train = [parts["train"] for parts in splits.values()]
    return {reference: OrderTokenizer.fit(train, reference) for reference in ("touch", "mid")}


@pytest.fixture(scope="module")
def tokenizer(tokenizers):
    return tokenizers["touch"]


def _touch_of(stream, events):
    book = stream.book[events]
    return touches(book["bid"], book["ask"], stream.open_mid)


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
    buys = aggressive["kind"] == BUY_ORDER
    assert (aggressive["price"][buys] >= book["ask"][buys]).all()  # marketable
    assert (aggressive["price"][~buys] <= book["bid"][~buys]).all()
    # volume is conserved: executed + resting remainders + cancelled = all event sizes
    assert orders["size"].sum() == amzn.events["size"].sum()


@pytest.mark.parametrize("reference", ["touch", "mid"])
@pytest.mark.parametrize("name", sorted(DATA_SOURCES))
def test_decoded_values_fall_in_the_encoded_bins(splits, tokenizers, name, reference):
    tokenizer = tokenizers[reference]
    stream = splits[name]["val"]
    tokens = tokenizer.encode(stream)
    bid, ask = _touch_of(stream, tokens.orders["event"])
    mid = mids(stream, tokens.orders["event"])
    if reference == "mid":  # the book's own mid (one-sided rows: the last two-sided one)
        bid, ask = mid - 0.5, mid + 0.5
    decoded = tokenizer.decode(tokens.ids, bid, ask, stream.source.source_id,
                               np.random.default_rng(0))
    kind, price_bin, volume_bin, interval_bin = decompose(tokens.ids)
    offset = (decoded.price - mid if reference == "mid" else
              price_coordinate(kind, decoded.side, decoded.price, bid, ask))
    for k in range(3):
        mask = kind == k
        same = tokenizer.price_bins[k].transform(offset[mask]) == price_bin[mask]
        if reference == "touch" and k != CANCEL_ORDER:
            # an improvement is a share of the spread, rounded to this book's ticks: it stays
            # between the near touch and the far one; every other token keeps its bin
            lower = tokenizer.price_bins[k].lower[price_bin[mask]]
            improving = (lower > 0) & (lower < CROSS / 2)
            assert same[~improving].all()
            x = offset[mask][improving]
            assert ((x == 0) | ((x > 0) & (x < 1))).all()
        else:
            assert same.all()
        scaled = decoded.size[mask] / tokenizer.volume_scale[stream.source.source_id]
        assert np.array_equal(tokenizer.volume_bins[k].transform(scaled), volume_bin[mask])
    assert np.array_equal(tokenizer.interval_bins.transform(decoded.interval_ns), interval_bin)
    assert np.array_equal(decoded.side, tokens.orders["side"])


def test_a_decoded_order_crosses_the_live_book_exactly_when_its_token_crosses(tokenizer):
    """The touch reference's point: whatever the spread, an improving order never crosses and a
    crossing one always does (prices against the mid broke this when spreads differed)."""
    rng = np.random.default_rng(1)
    for k in (BUY_ORDER, SELL_ORDER):
        bins = tokenizer.price_bins[k]
        crossing_bins = bins.lower >= CROSS / 2
        assert crossing_bins.any() and (~crossing_bins).any()
        for spread in (1, 2, 3, 7, 15, 40):
            n = 400
            bin_ids = rng.integers(0, bins.n_bins, n)
            ids = compose(np.full(n, k), bin_ids, np.zeros(n, int), np.zeros(n, int))
            d = tokenizer.decode(ids, 1_000.0, 1_000.0 + spread, 0, rng)
            far = np.where(d.side > 0, 1_000 + spread, 1_000)
            crosses = d.side * (d.price - far) >= 0
            assert np.array_equal(crosses, crossing_bins[bin_ids]), spread


def test_cancels_name_their_side_and_depth_behind_the_touch(tokenizer):
    for side in (1, -1):
        for depth in (0, 3):
            price = (1_000 - depth) if side > 0 else (1_010 + depth)
            token = tokenizer.encode_order(CANCEL_ORDER, side, price, 10, 1_000_000, 1_000,
                                           1_010, 0)
            d = tokenizer.decode([token], 2_000, 2_004, 0, np.random.default_rng(0))
            assert d.side[0] == side
            near = 2_000 if side > 0 else 2_004
            assert side * (near - d.price[0]) >= 0  # at or behind its own touch


def test_version_1_files_keep_prices_against_the_mid(tokenizers, tmp_path):
    from mars_gym.lmm.checkpoint import load_lmm

    model, old = load_lmm("mid")  # trained with prices against the mid
    assert old.price_reference == "mid" and old.book_features == 10
    assert model.config.book_features == 10
    mid = tokenizers["mid"]
    mid.save(tmp_path / "mid.npz")
    assert OrderTokenizer.load(tmp_path / "mid.npz").price_reference == "mid"


def test_version_2_touch_files_with_improvements_in_ticks_are_refused(tokenizers, tmp_path):
    """Early version-2 files counted an improving order's touch coordinate in ticks; read as a
    share of the spread, every improving token would jump to one tick from the far touch. Such
    a file is refused; version-2 files with shares of the spread, and mid files, still load."""
    import json

    def as_version_2(reference, improving_in_ticks):
        state = tokenizers[reference].state()
        header = json.loads(bytes(state["header"]).decode())
        state["header"] = np.frombuffer(json.dumps({**header, "version": 2}).encode(),
                                        dtype=np.uint8)
        if improving_in_ticks:  # the bins' improving bounds as ticks (x 20: up to 20 ticks)
            for kind in (BUY_ORDER, SELL_ORDER):
                for key in (f"price{kind}.lower", f"price{kind}.values"):
                    values = state[key].astype(np.float64)
                    share = (values > 0) & (values <= 1)
                    state[key] = np.where(share, values * 20, values).astype(state[key].dtype)
        path = tmp_path / f"v2_{reference}_{improving_in_ticks}.npz"
        np.savez(path, **state)
        return path

    with pytest.raises(TokenizerFileError, match=r"v2_touch_True\.npz.*in ticks.*train-lmm"):
        OrderTokenizer.load(as_version_2("touch", True))
    shares = OrderTokenizer.load(as_version_2("touch", False))
    assert np.array_equal(shares.price_bins[BUY_ORDER].lower,
                          tokenizers["touch"].price_bins[BUY_ORDER].lower)
    assert OrderTokenizer.load(as_version_2("mid", False)).price_reference == "mid"


def test_improving_bins_hold_shares_of_the_spread(tokenizers):
    """Between the joining bin (0) and the crossing bins, a touch tokenizer's buy and sell bins
    cover (0, 1]: the share of the spread an improving order takes, never ticks."""
    tokenizer = tokenizers["touch"]
    for kind in (BUY_ORDER, SELL_ORDER):
        lower = np.asarray(tokenizer.price_bins[kind].lower)
        improving = lower[(lower > 0) & (lower < CROSS / 2)]
        assert len(improving) >= 4  # real orders improve the touch often: several bins
        assert improving.max() <= 1.0


def test_conditions_have_the_documented_ranges(splits, tokenizer):
    stream = splits["AAPL"]["test"]
    tokens = tokenizer.encode(stream)
    c = tokens.conditions
    assert c.book.shape == (len(tokens.ids), 11) and c.book.dtype == np.float32
    bid, ask = _touch_of(stream, tokens.orders["event"])
    assert np.allclose(c.book[:, 10], np.log1p(ask - bid))  # the spread, in ticks
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
    loop = EventLoop(None, RecordingBook(book), rng)
    for token in ids.tolist():
        bid, ask = book.best_bid, book.best_ask
        if bid is None or ask is None:
            bid, ask = (ask - 1, ask) if bid is None else (bid, bid + 1)
        d = tokenizer.decode([token], bid, ask, stream.source.source_id, rng)
        t += int(d.interval_ns[0])
        order = FlowOrder(t, int(d.kind[0]), int(d.side[0]), int(d.price[0]), int(d.size[0]))
        done = loop.submit(order)
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
    assert set(np.unique(plain["kind"])) == {BUY_ORDER, SELL_ORDER}
    assert np.array_equal(np.where(plain["kind"] == BUY_ORDER, 1, -1), plain["side"])


def test_a_bin_index_past_the_fitted_bins_decodes_as_the_last_bin(tokenizer):
    """A tokenizer may fill fewer than 32 price bins of a kind; a model can still draw such an
    index (no training token had it): it decodes like the last bin instead of failing."""
    bins = tokenizer.price_bins[CANCEL_ORDER]
    assert bins.n_bins < 32
    rng = np.random.default_rng(0)
    past = tokenizer.decode(compose([CANCEL_ORDER], [31], [0], [0]), 1_000, 1_002, 0, rng)
    last = tokenizer.decode(compose([CANCEL_ORDER], [bins.n_bins - 1], [0], [0]), 1_000, 1_002,
                            0, np.random.default_rng(0))
    assert past.price.tolist() == last.price.tolist() and past.side.tolist() == last.side.tolist()


@pytest.mark.parametrize("reference", ["touch", "mid"])
def test_decoding_one_token_gives_what_decoding_arrays_gives(tokenizers, reference):
    """The live flow's scalar decoding (decode_one) against decode, draw for draw: random
    tokens of every part (bins past the fitted ones included), narrow, wide, odd and one-tick
    touches, and the generator in the same state afterwards."""
    tokenizer = tokenizers[reference]
    pick = np.random.default_rng(11)
    tokens = pick.integers(0, VOCAB_SIZE, 3_000)
    touches = [(1_000, 1_001), (1_000, 1_002), (995, 1_007), (20_000, 20_013), (5, 6)]
    for i, token in enumerate(tokens.tolist()):
        bid, ask = touches[i % len(touches)]
        source = SOURCES[DATA_SOURCES[i % len(DATA_SOURCES)]].source_id
        arrays, one = np.random.default_rng(i), np.random.default_rng(i)
        d = tokenizer.decode([token], bid, ask, source, arrays)
        expected = (int(d.kind[0]), int(d.side[0]), int(d.price[0]), int(d.size[0]),
                    int(d.interval_ns[0]))
        assert tokenizer.decode_one(token, bid, ask, source, one) == expected
        assert one.random() == arrays.random()
    with pytest.raises(ValueError, match="token ids must be in"):
        tokenizer.decode_one(VOCAB_SIZE, 1_000, 1_001, 0, np.random.default_rng(0))


def _shipped_arrays() -> dict[str, np.ndarray]:
    """The shipped default model's tokenizer arrays."""
    payload = torch.load(NAMED["default"], map_location="cpu", weights_only=True)
    return {k: v.numpy().copy() for k, v in payload["tokenizer"].items()}


def _with_header(arrays: dict[str, np.ndarray], **fields) -> dict[str, np.ndarray]:
    header = json.loads(bytes(arrays["header"]).decode()) | fields
    return arrays | {"header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)}


def _bins(arrays, prefix, lower, lengths, values, weights) -> dict[str, np.ndarray]:
    return arrays | {f"{prefix}.lower": np.asarray(lower, dtype=np.float64),
                     f"{prefix}.lengths": np.asarray(lengths, dtype=np.int64),
                     f"{prefix}.values": np.asarray(values, dtype=np.float64),
                     f"{prefix}.weights": np.asarray(weights, dtype=np.float64)}


def _scale(arrays, value):
    header = json.loads(bytes(arrays["header"]).decode())
    return _with_header(arrays, volume_scale=header["volume_scale"] | {"2": value})


def _shifted(arrays, name, edit):
    return arrays | {name: edit(arrays[name].copy())}


BAD_TOKENIZER_ARRAYS = {
    "empty bins": (lambda a: _bins(a, "price1", [], [], [], []),
                   r"price1\.lower holds 0 bins, not 1 to 32"),
    "overlong bins": (lambda a: _bins(a, "volume0", np.arange(33), np.ones(33), np.arange(33),
                                      np.ones(33)),
                      r"volume0\.lower holds 33 bins, not 1 to 32"),
    "unsorted edges": (lambda a: _shifted(a, "interval.lower", lambda x: x[::-1]),
                       r"interval\.lower must be finite and increasing"),
    "NaN edge": (lambda a: _shifted(a, "price0.lower", lambda x: np.r_[x[:-1], np.nan]),
                 r"price0\.lower must be finite and increasing"),
    "lengths past the values": (
        lambda a: _shifted(a, "price2.values", lambda x: x[:-1]),
        r"price2\.lengths add up to 510, but price2\.values holds 509 and price2\.weights 510"),
    "NaN value": (lambda a: _shifted(a, "volume1.values", lambda x: np.r_[np.nan, x[1:]]),
                  r"volume1\.values holds NaN or infinite values"),
    "negative weight": (lambda a: _shifted(a, "interval.weights", lambda x: -x),
                        r"interval\.weights must be finite and non-negative"),
    "weights not adding up to 1": (lambda a: _shifted(a, "interval.weights", lambda x: x / 2),
                                   r"interval\.weights of bin 0 add up to 0\.5, not 1"),
    "a part without its bins": (
        lambda a: {k: v for k, v in a.items() if not k.startswith("volume2.")},
        r"missing array 'volume2\.lower'"),
    "NaN volume scale": (lambda a: _scale(a, float("nan")),
                         r"volume_scale of source 2 must be a finite number of lots > 0, got nan"),
    "zero volume scale": (lambda a: _scale(a, 0),
                          r"volume_scale of source 2 must be a finite number of lots > 0, got 0"),
    "a source without its volume scale": (
        lambda a: _with_header(a, volume_scale={"0": 100.0}),
        r"volume_scale has no entry for the rows of source_rows \['AAPL', 'BTCUSD_2015'"),
    "another scheme": (lambda a: _with_header(a, scheme=[3, 64, 32, 16]),
                       r"header field scheme is \[3, 64, 32, 16\]"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENIZER_ARRAYS))
def test_bad_tokenizer_arrays_are_refused_at_load_naming_the_file_and_the_field(case, tmp_path):
    edit, message = BAD_TOKENIZER_ARRAYS[case]
    path = tmp_path / "bad.npz"
    np.savez(path, **edit(_shipped_arrays()))
    with pytest.raises(TokenizerFileError, match=f"^{tmp_path / 'bad.npz'}: {message}"):
        OrderTokenizer.load(path)


def test_the_shipped_tokenizer_arrays_pass_the_load_checks(tmp_path):
    path = tmp_path / "shipped.npz"
    np.savez(path, **_shipped_arrays())
    assert OrderTokenizer.load(path).price_bins[2].n_bins == 23
