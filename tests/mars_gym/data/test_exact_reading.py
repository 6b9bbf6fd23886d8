"""A user's order-event and ob-analytics files are read exactly off their text: times in their
declared unit and plausible, prices, sizes and ids whole numbers of their unit, an event true to
the order it names; anything else is refused naming the file and line, never rounded or wrapped.
"""

from __future__ import annotations

import gzip
import math
from fractions import Fraction

import numpy as np
import pytest

from mars_gym.data import load_source, register_source, sources
from mars_gym.data.bitstamp_events import load_bitstamp_events
from mars_gym.data.exact_numbers import (
    NOT_A_NUMBER,
    OK,
    OVERFLOW,
    OrderEventFormatError,
    _scale_one,
    scaled_integers,
)
from mars_gym.data.sources import SOURCES

HEADER = "time,type,side,price,size,id\n"
OB_HEADER = "id,timestamp,exchange_timestamp,price,volume,action,direction\n"


@pytest.fixture
def registry(monkeypatch):
    """Registrations made by a test stay in it."""
    monkeypatch.setattr(sources, "SOURCES", dict(sources.SOURCES))
    monkeypatch.setattr(sources, "_LOADERS", dict(sources._LOADERS))
    monkeypatch.setattr(sources, "_cache", {})


def _csv(tmp_path, rows: str):
    path = tmp_path / "my.csv"
    path.write_text(HEADER + rows)
    return path


def _ob(tmp_path, rows: str, **kwargs):
    path = tmp_path / "orders.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(OB_HEADER + rows)
    return load_bitstamp_events(SOURCES["BTCUSD_2026"], path, price_scale=1, size_scale=1e8,
                                has_snapshot=False, **kwargs)


def test_epoch_milliseconds_are_refused_naming_file_and_line(tmp_path):
    path = _csv(tmp_path, "1700000000000,new,buy,100.00,5,1\n")
    with pytest.raises(OrderEventFormatError, match=(
            r"my.csv:2: time 1700000000000 is not a plausible time in s \(a Unix epoch time in "
            r"1980-2100 or a time after midnight under 7 days\); read in ms it is 2023-11-14 "
            r"22:13:20 UTC: pass time_unit='ms'")):
        load_source(path)


def test_epoch_milliseconds_load_exactly_when_declared(tmp_path, registry):
    path = _csv(tmp_path, "1700000000000,new,buy,100.00,5,1\n1700000000001,cancel,buy,100.00,5,1\n")
    register_source("MS", path, time_unit="ms")
    assert load_source("MS").events["time_ns"].tolist() == [1_700_000_000_000_000_000,
                                                            1_700_000_000_001_000_000]


def test_epoch_times_100_ns_apart_stay_distinct(tmp_path):
    rows = "".join(f"1700000000.{k:07d},new,buy,100.00,1,{k + 1}\n" for k in range(4_000))
    times = load_source(_csv(tmp_path, rows)).events["time_ns"]
    assert len(np.unique(times)) == 4_000
    assert times[0] == 1_700_000_000 * 10**9 and set(np.diff(times).tolist()) == {100}


def test_a_time_finer_than_a_nanosecond_is_refused(tmp_path):
    with pytest.raises(OrderEventFormatError, match=r"my.csv:2: time 34200.0000000001 \(s\) is "
                                                    "not a whole number of nanoseconds"):
        load_source(_csv(tmp_path, "34200.0000000001,new,buy,100.00,5,1\n"))


def test_an_unknown_time_unit_is_refused_at_registration(tmp_path, registry):
    path = _csv(tmp_path, "34200,new,buy,100.00,5,1\n")
    with pytest.raises(ValueError, match=r"time_unit 'minutes' must be one of \['ms', 'ns', "
                                         r"'s', 'us'\]"):
        register_source("MIN", path, time_unit="minutes")
    assert "MIN" not in sources.SOURCES


def test_an_execute_contradicting_its_order_is_refused_naming_both_lines(tmp_path):
    path = _csv(tmp_path, "34200,new,sell,100.05,5,7\n34201,execute,buy,1.23,2,7\n")
    with pytest.raises(OrderEventFormatError, match=(
            r"my.csv:3: execute of order 7 says buy at 1.23, but the order rests as sell at "
            r"100.05 \(line 2\)")):
        load_source(path)


def test_a_cancel_at_another_price_is_refused(tmp_path):
    path = _csv(tmp_path, "34200,new,buy,10.00,5,1\n34200,new,buy,10.00,5,2\n"
                          "34201,cancel,buy,10.01,5,2\n")
    with pytest.raises(OrderEventFormatError, match=r"my.csv:4: cancel of order 2 says buy at "
                                                    r"10.01, but the order rests as buy at 10.00 "
                                                    r"\(line 3\)"):
        load_source(path)


def test_an_earlier_unknown_id_is_named_before_a_later_contradiction(tmp_path):
    path = _csv(tmp_path, "34200,new,sell,100.05,5,7\n34201,cancel,buy,10.00,5,9\n"
                          "34202,execute,buy,1.23,2,7\n")
    with pytest.raises(OrderEventFormatError, match=r"my.csv:3: .*9"):
        load_source(path)


@pytest.mark.parametrize(("row", "fragment"), [
    ("34200,new,buy,123456.785,5,1",
     r"my.csv:2: price 123456.785 must be a whole number of 0.01 in \[1, 2305843009213693951\]"),
    ("34200,new,buy,100.00,5,1000000000.4",
     r"my.csv:2: id 1000000000.4 must be a whole number in \[1, 1099511627775\]"),
    ("34200,new,buy,100.00,2000000.9,1",
     r"my.csv:2: size 2000000.9 must be a whole number in \[1, 4611686018427387903\]"),
    ("34200,new,buy,100.00,4611686018427387904,1",
     r"my.csv:2: size 4611686018427387904 must be a whole number in \[1, "),
    ("34200,new,buy,1e30,5,1", r"my.csv:2: price 1e30 must be a whole number of 0.01"),
])
def test_near_whole_numbers_are_refused_not_rounded(tmp_path, row, fragment):
    with pytest.raises(OrderEventFormatError, match=fragment):
        load_source(_csv(tmp_path, row + "\n"))


def test_sizes_near_2_53_and_up_to_2_62_minus_1_load_exactly(tmp_path):
    rows = (f"34200,new,buy,10.00,{2**53 + 1},1\n34200,new,sell,10.01,{2**62 - 1},2\n"
            "34200,new,sell,10.02,0.5e1,3\n")
    assert load_source(_csv(tmp_path, rows)).events["size"].tolist() == [2**53 + 1, 2**62 - 1, 5]


def test_microsecond_timestamps_are_refused_naming_the_unit(tmp_path):
    rows = "1,1430438404518000,1430438404000000,236.0,1.0,created,bid\n"
    with pytest.raises(OrderEventFormatError, match=(
            r"orders.csv.gz:2: timestamp 1430438404518000 is not a plausible time in ms \(a Unix "
            r"epoch time in 1980-2100\); read in us it is 2015-05-01 00:00:04 UTC: pass "
            r"time_unit='us'")):
        _ob(tmp_path, rows)
    assert _ob(tmp_path, rows, time_unit="us").events["time_ns"].tolist() == [
        1_430_438_404_518_000_000]


def test_seconds_with_millisecond_decimals_are_not_read_as_milliseconds(tmp_path):
    rows = "1,1430438404.518,1430438404,236.0,1.0,created,bid\n"
    with pytest.raises(OrderEventFormatError, match=(
            r"orders.csv.gz:2: timestamp 1430438404.518 is not a plausible time in ms.*"
            r"time_unit='s'")):
        _ob(tmp_path, rows)
    assert _ob(tmp_path, rows, time_unit="s").events["time_ns"].tolist() == [
        1_430_438_404_518_000_000]


def test_ob_analytics_ids_above_2_53_stay_distinct(tmp_path):
    rows = (f"{2**53},1430438404518,1430438404518,236.0,1.0,created,bid\n"
            f"{2**53 + 1},1430438404519,1430438404519,235.0,1.0,created,bid\n")
    stream = _ob(tmp_path, rows)
    assert stream.events["order_id"].tolist() == [2**53, 2**53 + 1]
    assert stream.report["duplicate_created"] == 0


def test_an_overflowing_ob_analytics_price_is_refused_as_out_of_range(tmp_path):
    rows = "1,1430438404518,1430438404518,1e20,1.0,created,bid\n"
    with pytest.raises(OrderEventFormatError, match=r"orders.csv.gz:2: price 1e20 must be a "
                                                    r"whole number in \[0, 2305843009213693951\]"):
        _ob(tmp_path, rows)


def test_a_bad_trades_file_id_names_its_file_and_line(tmp_path):
    trades = tmp_path / "trades.csv"
    trades.write_text("buy_order_id,sell_order_id,side\n1,2,buy\n3,x4,sell\n")
    rows = "1,1430438404518,1430438404518,236.0,1.0,created,bid\n"
    with pytest.raises(OrderEventFormatError, match=r"trades.csv:3: column 'sell_order_id' is "
                                                    r"not a number: 'x4'"):
        _ob(tmp_path, rows, trades_file=trades)


@pytest.mark.parametrize(("field", "value", "error", "fragment"), [
    ("tick_value", 0, ValueError, "tick_value must be a positive, finite number, got 0"),
    ("tick_value", -0.01, ValueError, "tick_value must be a positive, finite number, got -0.01"),
    ("lot_value", math.nan, ValueError, "lot_value must be a positive, finite number, got nan"),
    ("lot_value", math.inf, ValueError, "lot_value must be a positive, finite number, got inf"),
    ("tick_value", "0.01", TypeError, r"tick_value must be a positive number, got '0.01' \(str\)"),
    ("lot_value", True, TypeError, r"lot_value must be a positive number, got True \(bool\)"),
])
def test_register_source_refuses_a_unit_that_is_not_a_positive_number(tmp_path, registry,
                                                                      field, value, error,
                                                                      fragment):
    path = _csv(tmp_path, "34200,new,buy,100.00,5,1\n")
    with pytest.raises(error, match=fragment):
        register_source("BAD", path, **{field: value})
    assert "BAD" not in sources.SOURCES and "BAD" not in sources._LOADERS


def test_the_fast_parse_matches_the_decimal_reference():
    """Array parsing against :class:`~decimal.Decimal` row by row, on many shapes of text."""
    rng = np.random.default_rng(0)
    texts = ["0", "-0", "+7", "5.", ".5", "-.25", "1e3", "7.18e-06", " 3", "", "-", ".", "1.2.3",
             "nan", "inf", "12345678901234567890", "9223372036854775807", "0.000000000000000001",
             "-123456789012345678.", "0" * 30 + "17.50", "1" * 21, "x" * 100_000]
    for _ in range(3_000):
        whole = str(rng.integers(0, 10**int(rng.integers(1, 19))))
        fraction = "".join(rng.choice(list("0123456789"), size=int(rng.integers(0, 12))))
        sign = rng.choice(["", "-", "+"])
        texts.append(f"{sign}{whole}.{fraction}" if fraction or rng.random() < 0.3
                     else f"{sign}{whole}")
    array = np.array(texts, dtype=object)
    for multiplier in (Fraction(1), Fraction(100), Fraction(10**8), Fraction(10**9),
                       Fraction(1, 3), Fraction(200)):
        values, status = scaled_integers(array, multiplier)
        reference = [_scale_one(text, multiplier) for text in texts]
        assert values.tolist() == [v for v, _ in reference]
        assert status.tolist() == [s for _, s in reference]
    statuses = dict(zip(texts, scaled_integers(array, Fraction(1))[1].tolist(), strict=True))
    assert statuses["9223372036854775807"] == OK and statuses["12345678901234567890"] == OVERFLOW
    assert statuses["1.2.3"] == statuses["-"] == statuses["nan"] == NOT_A_NUMBER


def test_a_time_unit_other_than_seconds_is_refused_for_lobster(tmp_path):
    with pytest.raises(ValueError, match=r"X_2012-06-21_1_2_message_1.csv: a LOBSTER message "
                                         r"file's times are seconds after midnight; time_unit "
                                         r"'ms' does not apply"):
        sources.file_source(tmp_path / "X_2012-06-21_1_2_message_1.csv", time_unit="ms")


def test_numpy_and_fraction_units_are_accepted_exactly(tmp_path, registry):
    path = _csv(tmp_path, "34200,new,buy,0.9,5,1\n")
    register_source("THIRD", path, tick_value=Fraction(3, 10), lot_value=np.int64(1))
    assert load_source("THIRD").events["price"].tolist() == [3]


def test_a_missing_trades_file_is_named_as_such(tmp_path):
    rows = "1,1430438404518,1430438404518,236.0,1.0,created,bid\n"
    with pytest.raises(FileNotFoundError, match=r"trades.csv: no such file"):
        _ob(tmp_path, rows, trades_file=tmp_path / "trades.csv")
