import gzip

import numpy as np
import pytest

from mars_gym.data.bitstamp_events import OrderEventFormatError, load_bitstamp_events
from mars_gym.data.schema import CANCEL, EXECUTE, NEW, PARTIAL_CANCEL
from mars_gym.data.sources import SOURCES

HEADER = "id,timestamp,exchange_timestamp,price,volume,action,direction\n"
SOURCE = SOURCES["BTCUSD_2026"]


T0_MS = 1_777_689_380_000  # 2026-05-02 02:36:20 UTC


def _at_t0(rows: str) -> str:
    """``rows`` with their two timestamps, written as milliseconds after T0, made epoch ones."""
    out = []
    for row in rows.splitlines():
        fields = row.split(",")
        fields[1:3] = (str(T0_MS + int(f)) for f in fields[1:3])
        out.append(",".join(fields) + "\n")
    return "".join(out)


def _load(tmp_path, rows: str, **kwargs):
    """Load ``rows`` (timestamps in milliseconds after T0) as a BTCUSD_2026-like file."""
    return _load_text(tmp_path, _at_t0(rows), **kwargs)


def _load_text(tmp_path, rows: str, **kwargs):
    path = tmp_path / "orders.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(HEADER + rows)
    return load_bitstamp_events(SOURCE, path, price_scale=1, size_scale=1e8,
                                has_snapshot=False, **kwargs)


def test_crossing_order_becomes_executions_then_a_resting_remainder(tmp_path):
    stream = _load(tmp_path, (
        "1,1000,1000,100.0,1.0,created,ask\n"
        "2,1001,1001,101.0,0.5,created,ask\n"
        "3,1002,1002,101.0,2.0,created,bid\n"))
    events = stream.events[["type", "side", "price", "size", "order_id"]].tolist()
    assert events[2:] == [(EXECUTE, -1, 100, 100_000_000, 1), (EXECUTE, -1, 101, 50_000_000, 2),
                          (NEW, 1, 101, 50_000_000, 3)]
    assert stream.book["ask"][2] == 100 and stream.book["bid"][2] == 0


def test_changes_and_deletions(tmp_path):
    stream = _load(tmp_path, (
        "1,1000,1000,100.0,1.0,created,bid\n"
        "2,1001,1001,99.0,1.0,created,bid\n"
        "1,1002,1002,100.0,0.75,changed,bid\n"   # at the touch: traded
        "2,1003,1003,99.0,0.5,changed,bid\n"     # behind the touch: partial cancel
        "2,1004,1004,99.0,0.5,deleted,bid\n"     # deleted with volume left: cancel
        "1,1005,1005,100.0,0.0,deleted,bid\n"    # deleted at 0: filled
        "7,1006,1006,100.0,0.0,deleted,bid\n"))  # unknown id: skipped, counted
    kinds = stream.events["type"].tolist()
    assert kinds == [NEW, NEW, EXECUTE, PARTIAL_CANCEL, CANCEL, EXECUTE]
    assert stream.events["size"].tolist()[2:] == [25_000_000, 50_000_000, 50_000_000, 75_000_000]
    assert stream.report["unknown_id"] == 1


@pytest.mark.parametrize("row, fragment", [
    ("1,1000,1000,abc,1.0,created,bid\n", "column 'price' is not a number"),
    ("1,1000,1000,100.0,1.0,created,middle\n", "column 'direction' must be one of"),
    ("1,1000,1000,100.0,1.0,opened,bid\n", "column 'action' must be one of"),
    ("1,1000,1000,100.5,1.0,created,bid\n", r"price 100.5 must be a whole number in \[0, "),
])
def test_corrupt_rows_name_file_and_line(tmp_path, row, fragment):
    good = "9,999,999,100.0,1.0,created,ask\n"
    with pytest.raises(OrderEventFormatError, match=f"orders.csv.gz:3: {fragment}"):
        _load(tmp_path, good + row)


def test_time_going_backwards_is_raised_and_counted(tmp_path):
    stream = _load(tmp_path, "1,1000,1000,100.0,1.0,created,bid\n2,999,999,101.0,1.0,created,ask\n")
    assert stream.report["time_raised"] == 1
    assert np.diff(stream.events["time_ns"]).min() == 0
