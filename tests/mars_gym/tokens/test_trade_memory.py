"""The trade memory: recent executed volume signed by the aggressor, in training and live."""

import json

import numpy as np
import pytest

from lob_core import OrderBook
from mars_gym.data import DATA_SOURCES, load_source, split_by_time
from mars_gym.data.recording import RecordingBook
from mars_gym.data.schema import EVENT_DTYPE, EXECUTE, NEW
from mars_gym.tokens import OrderTokenizer, TokenizerFileError
from mars_gym.tokens.conditions import BOOK_FEATURES, TRADE_MEMORY_S
from mars_gym.tokens.trade_memory import TradeMemory, executions, memory_at

S = 1_000_000_000


def _events(rows):
    return np.array([tuple(row) for row in rows], dtype=EVENT_DTYPE)


# time, type, side (the resting order's), price, size, order id
SMALL = _events([(0, NEW, -1, 101, 50, 1),
                 (1 * S, EXECUTE, -1, 101, 30, 1),    # a buyer takes 30 from the ask
                 (3 * S, NEW, 1, 99, 20, 2),
                 (4 * S, EXECUTE, 1, 99, 20, 2),      # a seller takes 20 from the bid
                 (4 * S, EXECUTE, 1, 98, 5, 3)])


def _by_hand(events, count, at_ns, tau_s):
    """The definition, one execution at a time."""
    total = 0.0
    for e in events[events["type"] == EXECUTE][:count]:
        total += -e["side"] * e["size"] * np.exp(-(at_ns - e["time_ns"]) / S / tau_s)
    return total


def test_memory_is_the_aggressor_signed_volume_decayed_by_time():
    index, times, signed = executions(SMALL)
    assert index.tolist() == [1, 3, 4] and signed.tolist() == [30.0, -20.0, -5.0]
    counts, at = np.array([0, 1, 1, 3]), np.array([0, 1 * S, 3 * S, 6 * S])
    got = memory_at(times, signed, counts, at, (1.0, 10.0))
    for k, tau in enumerate((1.0, 10.0)):
        expected = [_by_hand(SMALL, c, t, tau) for c, t in zip(counts, at, strict=True)]
        np.testing.assert_allclose(got[:, k], expected, rtol=1e-12)
    # a buyer's 30 lots 2 s ago on the 1 s scale: 30 e^-2 = 4.06; then two sells pull it down
    assert got[2, 0] == pytest.approx(30 * np.exp(-2))
    assert got[3, 1] == pytest.approx(30 * np.exp(-0.5) - 25 * np.exp(-0.2))
    assert got[3, 1] < 0 < got[2, 1]


def test_the_live_memory_read_in_pieces_equals_the_whole():
    live = TradeMemory((1.0, 10.0))
    live.start(SMALL[:2], at_ns=2 * S)  # the history: one buy
    assert live.at(2 * S) == pytest.approx([30 * np.exp(-1), 30 * np.exp(-0.1)])
    live.add(SMALL[2:4])
    live.add(SMALL[4:])
    _, times, signed = executions(SMALL)
    whole = memory_at(times, signed, np.array([3]), np.array([7 * S]), live.timescales_s)[0]
    np.testing.assert_allclose(live.at(7 * S), whole, rtol=1e-12)


@pytest.fixture(scope="module")
def amzn(lobster_dir):
    return split_by_time(load_source("AMZN", lobster_dir))


@pytest.fixture(scope="module")
def reading(lobster_dir):
    train = [split_by_time(load_source(name, lobster_dir))["train"] for name in DATA_SOURCES]
    return OrderTokenizer.fit(train, "touch", TRADE_MEMORY_S)


def test_conditions_read_the_memory_before_each_order_at_the_time_of_the_one_before(amzn,
                                                                                  reading):
    stream = amzn["val"]
    encoded = reading.encode(stream)
    assert reading.book_features == BOOK_FEATURES + 1 + 2 == encoded.conditions.book.shape[1]
    events = encoded.orders["event"]
    scale = reading.volume_scale[stream.source.source_id]
    for j in (1, 50, 400, len(events) - 1):
        count = int((np.flatnonzero(stream.events["type"] == EXECUTE) < events[j]).sum())
        at = int(stream.events["time_ns"][events[j] - 1])
        for k, tau in enumerate(TRADE_MEMORY_S):
            m = _by_hand(stream.events, count, at, tau)
            assert encoded.conditions.book[j, BOOK_FEATURES + 1 + k] == pytest.approx(
                np.sign(m) * np.log1p(abs(m) / scale), abs=1e-5)
    memory = encoded.conditions.book[:, -2:]
    # trades on AMZN are frequent enough that the 10 s memory is almost never empty, and both
    # directions occur
    assert (np.abs(memory[:, 1]) > 1e-3).mean() > 0.9
    assert (memory[:, 1] > 0.5).mean() > 0.1 and (memory[:, 1] < -0.5).mean() > 0.1


def test_the_timescales_are_saved_and_older_files_read_no_trades(reading, tmp_path, amzn):
    reading.save(tmp_path / "t.npz")
    again = OrderTokenizer.load(tmp_path / "t.npz")
    assert again.trade_memory_s == TRADE_MEMORY_S
    stream = amzn["test"]
    np.testing.assert_array_equal(again.encode(stream).conditions.book,
                                  reading.encode(stream).conditions.book)
    state = reading.state()
    header = json.loads(bytes(state["header"]).decode())
    del header["trade_memory_s"]  # as written before the trade memory
    state["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(tmp_path / "old.npz", **state)
    old = OrderTokenizer.load(tmp_path / "old.npz")
    assert old.trade_memory_s == () and old.book_features == BOOK_FEATURES + 1
    header["trade_memory_s"] = [1.0, -2.0]
    state["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(tmp_path / "bad.npz", **state)
    with pytest.raises(TokenizerFileError, match="bad.npz: trade_memory_s"):
        OrderTokenizer.load(tmp_path / "bad.npz")


def test_live_conditions_need_the_memory_of_every_book(reading):
    state = np.zeros((2, 12))
    state[:, 0], state[:, 1], state[:, 2:] = 100, 104, 200
    live = reading.live_conditions(state, 0, 102.0, 0, np.array([[500.0, 0.0], [-500.0, 20.0]]))
    scale = reading.volume_scale[0]
    np.testing.assert_allclose(live.book[:, -2:], [[np.log1p(500 / scale), 0.0],
                                                   [-np.log1p(500 / scale), np.log1p(20 / scale)]],
                               rtol=1e-6)
    with pytest.raises(ValueError, match=r"trade memory on 2 timescales.*\(2, 2\)"):
        reading.live_conditions(state, 0, 102.0, 0)


def test_a_recording_hands_over_only_what_a_reader_has_not_seen():
    recording = RecordingBook(OrderBook(1))
    recording.limit(-1, 101, 50, 1, 0)
    seen = len(recording)
    recording.limit(1, 101, 30, 2, S)  # crosses: an execution of the resting ask
    new = recording.events_since(seen)
    assert new["type"].tolist() == [EXECUTE] and executions(new)[2].tolist() == [30.0]
    assert len(recording.events_since(len(recording))) == 0
    with pytest.raises(ValueError, match="start must be in"):
        recording.events_since(len(recording) + 1)


def test_a_file_whose_conditions_read_a_trade_rate_is_refused(reading, tmp_path):
    """The trade rate (executions counted, decayed) was tried and not shipped: no shipped
    tokenizer names it, a file that reads it is refused, an empty one is read."""
    state = reading.state()
    header = json.loads(bytes(state["header"]).decode())
    assert "trade_rate_s" not in header
    for rate, name in (([], "empty.npz"), ([60.0, 600.0], "rate.npz")):
        header["trade_rate_s"] = rate
        state["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        np.savez(tmp_path / name, **state)
    assert OrderTokenizer.load(tmp_path / "empty.npz").book_features == reading.book_features
    with pytest.raises(TokenizerFileError, match=r"rate.npz: .*trade rate.*\[60.0, 600.0\]"):
        OrderTokenizer.load(tmp_path / "rate.npz")
    with pytest.raises(TypeError):
        OrderTokenizer.fit([], "touch", TRADE_MEMORY_S, (60.0,))  # no such argument


def test_no_shipped_tokenizer_reads_a_trade_rate():
    from mars_gym.lmm.checkpoint import NAMED, load_lmm, read_checkpoint

    for name in NAMED:
        state = read_checkpoint(name)["tokenizer"]
        header = json.loads(bytes(state["header"].numpy().astype(np.uint8)).decode())
        assert not header.get("trade_rate_s"), name
        assert load_lmm(name)[1].book_features > 0
