"""LOBSTER replay through the engine: agreement with the real orderbook files."""

import json

import numpy as np
import pytest

from lob_core import OrderBook
from lob_core._replay import ROW_MATCH, ROW_MISMATCH, ROW_SEED, ROW_UNDETERMINED
from lob_core.lobster import MESSAGE_DTYPE, read_messages, read_orderbook
from lob_core.replay import (
    ReplaySnapshots,
    apply_messages,
    check_messages,
    main,
    replay,
    seed,
)

AMZN = "AMZN_2012-06-21_34200000_57600000_{}_1.csv"
AAPL_MESSAGES = "AAPL_2012-06-21_34200000_37800000_message_50.csv"
AAPL_FULL_DEPTH = "derived/bigfatwhale_tests/AAPL_2012-06-21_orderbook_50.csv"  # 672 rows
AAPL_TOP_OF_BOOK = "derived/bigfatwhale_juypter/AAPL_2012-06-21_orderbook_50.csv"  # 91,997 rows


@pytest.fixture(scope="module")
def amzn(lobster_dir):
    return (read_messages(lobster_dir / AMZN.format("message")),
            read_orderbook(lobster_dir / AMZN.format("orderbook")))


@pytest.fixture(scope="module")
def aapl(lobster_dir):
    return (read_messages(lobster_dir / AAPL_MESSAGES),
            read_orderbook(lobster_dir / AAPL_FULL_DEPTH),
            read_orderbook(lobster_dir / AAPL_TOP_OF_BOOK))


def test_amzn_level_1_day_agrees_on_every_determined_row(amzn):
    messages, orderbook = amzn
    report, status, _ = replay(messages, orderbook, stream_level=1)
    assert report.mismatches == 0 and report.agreement == 1.0
    assert report.unresolved_messages == 0
    # most rows are determined by the messages; the rest reveal never-reported levels
    assert report.compared_rows > 0.7 * len(messages)
    assert report.compared_rows + report.undetermined_rows == len(messages) - 1
    assert status[0] == ROW_SEED


def test_aapl_level_50_hour_agrees_with_the_full_depth_rows(aapl):
    messages, full_depth, _ = aapl
    report, _, _ = replay(messages[: len(full_depth)], full_depth, stream_level=50)
    assert report.compared_levels == 50
    assert report.mismatches == 0 and report.agreement == 1.0
    assert report.compared_rows > 0.8 * (len(full_depth) - 1)


def test_aapl_level_50_hour_agrees_with_the_top_of_book_file(aapl):
    messages, full_depth, top_of_book = aapl
    for seed_row in (full_depth[0], top_of_book[0]):
        report, _, _ = replay(messages, top_of_book, stream_level=50, seed_row=seed_row)
        assert report.mismatches == 0 and report.agreement == 1.0
        assert report.compared_rows > 0.99 * (len(messages) - 1)


def test_a_corrupted_message_is_detected_then_resynchronised(amzn):
    messages, orderbook = amzn
    corrupted = messages.copy()
    row = np.flatnonzero(corrupted["type"] == 1)[100]
    corrupted["size"][row] += 7
    report, status, _ = replay(corrupted, orderbook, stream_level=1)
    assert report.mismatches >= 1 and report.agreement < 1.0
    assert report.first_mismatch_rows[0] >= row
    # one error is counted where it shows, not on every later row
    assert report.mismatches < 20
    assert np.count_nonzero(status == ROW_MISMATCH) == report.mismatches


def test_batch_path_rebuilds_the_same_book_as_the_checked_path(aapl):
    messages, full_depth, _ = aapl
    _, _, checked = replay(messages[:600], full_depth[:600], stream_level=50)
    batch = OrderBook(100)
    seed(batch, full_depth[0], ts=int(messages["time_ns"][0]))
    unresolved = apply_messages(batch, messages[1:600])
    assert unresolved >= 0
    # rows after a sync may differ in how volume is split into orders, never in L2 depth
    assert [a.tolist() for a in batch.depth(50)] == [a.tolist() for a in checked.depth(50)]
    assert batch.depth(50)[0].tolist() == [p for p in full_depth[599][2::4].tolist()]


def test_row_status_codes_are_distinct():
    assert len({ROW_MATCH, ROW_MISMATCH, ROW_UNDETERMINED, ROW_SEED}) == 4


def test_off_tick_message_price_names_the_line(amzn):
    messages = amzn[0][:20].copy()
    row = np.flatnonzero(messages["type"] == 1)[1]
    messages["price"][row] += 1
    with pytest.raises(ValueError, match=f"messages.csv:{row + 1}: price is not a multiple"):
        check_messages(messages, 100, "messages.csv")


@pytest.mark.parametrize("field, value, fragment", [
    ("direction", 0, "direction must be 1 or -1"),
    ("type", 9, "message type must be 1..7"),
    ("size", 0, r"size must be in \[1, MAX_QTY\]"),
])
def test_batch_path_refuses_bad_messages_and_leaves_the_book_alone(amzn, field, value, fragment):
    messages, orderbook = amzn
    book = OrderBook(100)
    seed(book, orderbook[0])
    before = book.orders_array()
    bad = messages[:20].copy()
    row = np.flatnonzero(bad["type"] == 1)[1]
    bad[field][row] = value
    with pytest.raises(ValueError, match=f":{row + 1}: {fragment}"):
        apply_messages(book, bad)
    assert (book.orders_array() == before).all()


def test_seed_refuses_an_off_tick_row():
    with pytest.raises(ValueError, match="column 3: price 10050"):
        seed(OrderBook(100), np.array([10_100, 5, 10_050, 5]))


def test_orderbook_longer_than_messages_is_refused(amzn):
    messages, orderbook = amzn
    with pytest.raises(ValueError, match="row i must be the book after message i"):
        replay(messages[:10], orderbook[:11], stream_level=1)


def test_cli_prints_one_json_object_with_the_required_keys(lobster_dir, capsys):
    code = main([str(lobster_dir / AMZN.format("message")),
                 "--orderbook", str(lobster_dir / AMZN.format("orderbook")), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {"messages", "agreement", "mismatches", "msgs_per_s"} <= set(result)
    assert result["messages"] == 57_515 and result["agreement"] == 1.0
    assert result["mismatches"] == 0 and result["msgs_per_s"] > 0


def test_cli_human_readable_report_with_a_seed_file(lobster_dir, capsys):
    code = main([str(lobster_dir / AAPL_MESSAGES), "--orderbook",
                 str(lobster_dir / AAPL_TOP_OF_BOOK), "--seed-orderbook",
                 str(lobster_dir / AAPL_FULL_DEPTH)])
    out = capsys.readouterr().out
    assert code == 0 and "agreement           100.0000%" in out and "stream level        50" in out


def test_replay_records_the_book_state_before_each_message(amzn):
    messages, orderbook = amzn
    states = np.zeros((len(messages), 4), dtype=np.int64)
    replay(messages, orderbook, stream_level=1, states=states)
    # the state before message i is the book after message i-1: row i-1 of the file
    # wherever that row was scored (and matched)
    _, status, _ = replay(messages, orderbook, stream_level=1)
    scored = np.flatnonzero(status[:-1] == ROW_MATCH)
    assert (states[scored + 1, 0] == orderbook[scored, 2]).all()  # best bid
    assert (states[scored + 1, 1] == orderbook[scored, 0]).all()  # best ask
    assert (states[scored + 1, 2] == orderbook[scored, 3]).all()  # volume at the bid


def _same_book(a: OrderBook, b: OrderBook) -> bool:
    return np.array_equal(a.orders_array(), b.orders_array())


@pytest.mark.real_data  # its fixtures come through request.getfixturevalue
@pytest.mark.parametrize("name", ["amzn", "aapl"])
def test_kept_books_give_the_book_a_replay_from_the_start_holds(name, request):
    messages, orderbook = request.getfixturevalue(name)[:2]
    messages, orderbook = messages[:5_000], orderbook[:5_000]
    level = 1 if name == "amzn" else 50
    snapshots = ReplaySnapshots(messages, orderbook, stream_level=level, every=1_000)
    for index in (1, 2, 999, 1_000, 1_001, 3_456, 4_999, 5_000):
        _, _, whole = replay(messages[:index], orderbook[:index], stream_level=level,
                             seed_row=orderbook[0])
        assert _same_book(snapshots(index), whole), index
    assert [start for start, *_ in snapshots.kept] == [1, 1_000, 2_000, 3_000, 4_000]
    again = snapshots(3_456)
    again.cancel(int(again.orders_array()["order_id"][0]))  # a fresh book each call
    assert _same_book(snapshots(3_456), replay(messages[:3_456], orderbook[:3_456],
                                                 stream_level=level)[2])


def test_kept_books_refuse_indices_outside_the_replay(amzn):
    messages, orderbook = amzn
    snapshots = ReplaySnapshots(messages[:10], orderbook[:10], stream_level=1, every=4)
    assert _same_book(snapshots(1), replay(messages[:1], orderbook[:1], stream_level=1)[2])
    for index in (0, 11):
        with pytest.raises(IndexError, match="outside the replay"):
            snapshots(index)
    with pytest.raises(ValueError, match="every must be positive"):
        ReplaySnapshots(messages, orderbook, stream_level=1, every=0)


def test_seed_refuses_a_crossed_row_and_leaves_the_book_empty():
    book = OrderBook(100)
    with pytest.raises(ValueError, match=r"<orderbook row>:1: crossed book: best bid 10100 >= "
                                         r"best ask 10000$"):
        seed(book, np.array([10_000, 5, 10_100, 5]))
    assert len(book) == 0


def test_seed_refuses_a_book_that_already_holds_orders():
    book = OrderBook(100)
    seed(book, np.array([10_100, 5, 10_000, 5]))
    with pytest.raises(ValueError, match="seed needs an empty book, this one holds 2 orders"):
        seed(book, np.array([10_100, 5, 10_000, 5]))
    assert len(book) == 2


def test_messages_that_rebuild_a_crossed_book_are_refused_naming_the_line():
    messages = np.zeros(3, dtype=MESSAGE_DTYPE)
    messages["type"], messages["direction"] = 1, 1
    messages["order_id"], messages["size"] = [1, 2, 3], 5
    messages["price"] = [10_000, 10_000, 10_200]  # line 3: a bid above the best ask
    with pytest.raises(ValueError, match=r"m.csv:3: the book rebuilt after this message is crossed "
                                         r"\(best bid 10200 >= best ask 10100\)"):
        replay(messages, np.array([[10_100, 5, 10_000, 5]]), stream_level=1, path="m.csv")
    rebuilt = ReplaySnapshots(messages, np.array([[10_100, 5, 10_000, 5]]), stream_level=1,
                              every=2, path="m.csv")
    with pytest.raises(ValueError, match=r"m.csv:3: the book rebuilt after this message"):
        rebuilt(2)


def test_an_off_tick_orderbook_row_names_the_orderbook_file_and_row(amzn):
    messages, orderbook = amzn
    bad = orderbook[:50].copy()
    bad[41, 2] += 1
    with pytest.raises(ValueError, match=r"^ob.csv:42: orderbook column 3: price \d+ \(size"):
        replay(messages[:50], bad, stream_level=1, orderbook_path="ob.csv")
