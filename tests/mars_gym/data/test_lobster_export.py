import numpy as np
import pytest

from lob_core import OrderBook
from lob_core.lobster import read_messages, read_orderbook
from lob_core.replay import replay
from mars_gym.data import SOURCES, load_source, split_by_time
from mars_gym.data.lobster_export import to_lobster, write_lobster
from mars_gym.data.schema import CANCEL, EVENT_DTYPE, EXECUTE, NEW, seed_book_from_state
from mars_gym.sim.flows import HawkesCalibration, HawkesFlow, run_alone


def _events(rows):
    out = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, row in enumerate(rows):
        out[i] = row
    return out


def test_level_1_filter_keeps_only_events_at_the_touch():
    book = OrderBook(1)
    events = _events([
        (1, NEW, 1, 100, 5, 1),      # new best bid: written
        (2, NEW, 1, 99, 5, 2),       # behind the touch: filtered at level 1
        (3, NEW, -1, 101, 3, 3),     # new best ask: written
        (4, CANCEL, 1, 99, 5, 2),    # not at the touch: filtered
        (5, EXECUTE, 1, 100, 2, 1),  # execution at the touch: written
    ])
    messages, orderbook = to_lobster(book, events, level=1)
    assert messages["time_ns"].tolist() == [1, 3, 5]
    assert messages["type"].tolist() == [1, 1, 4]
    assert orderbook.tolist() == [[9_999_999_999, 0, 10_000, 5], [10_100, 3, 10_000, 5],
                                  [10_100, 3, 10_000, 3]]


def test_level_2_keeps_the_second_level():
    events = _events([(1, NEW, 1, 100, 5, 1), (2, NEW, 1, 99, 5, 2), (3, NEW, 1, 98, 5, 3),
                      (4, CANCEL, 1, 99, 5, 2)])
    messages, orderbook = to_lobster(OrderBook(1), events, level=2)
    assert messages["order_id"].tolist() == [1, 2, 2]
    assert orderbook[-1].tolist() == [9_999_999_999, 0, 10_000, 5, 9_999_999_999, 0, 9_800, 5]


@pytest.mark.parametrize("level", [1, 5])
def test_exported_flow_replays_with_full_agreement(lobster_dir, tmp_path, level):
    """A generated stream exported at level N is a valid LOBSTER level-N pair: the lob_core
    replay of the written files agrees with their orderbook on every determined row."""
    stream = load_source("AAPL", lobster_dir)
    train = split_by_time(stream)["train"]
    book = OrderBook(1)
    seed_book_from_state(book, stream.book[-1])
    initial = book.copy()
    start = int(stream.events["time_ns"][-1])
    generated = run_alone(HawkesFlow(HawkesCalibration.fit(train)), book, start,
                         start + 120 * 10**9, SOURCES["AAPL"], seed=3)
    messages, orderbook = to_lobster(initial, generated.events, level)
    paths = write_lobster(tmp_path, "AAPL_gen", messages, orderbook)
    assert paths[0].name == f"AAPL_gen_message_{level}.csv"
    read_back = read_messages(paths[0])
    assert np.array_equal(read_back, messages)
    report, _, _ = replay(read_back, read_orderbook(paths[1]), stream_level=level)
    assert report.mismatches == 0 and report.compared_rows > 0.5 * len(messages)
