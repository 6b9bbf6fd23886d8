from pathlib import Path

import numpy as np
import pytest

from lob_core.lobster import (
    MESSAGE_DTYPE,
    LobsterFormatError,
    level_from_filename,
    read_messages,
    read_orderbook,
)

AMZN_MESSAGES = "AMZN_2012-06-21_34200000_57600000_message_1.csv"
AMZN_ORDERBOOK = "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"


def test_reads_the_amzn_level_1_day(lobster_dir):
    messages = read_messages(lobster_dir / AMZN_MESSAGES)
    book = read_orderbook(lobster_dir / AMZN_ORDERBOOK)
    assert messages.dtype == MESSAGE_DTYPE and len(messages) == 57_515 == len(book)
    assert book.shape == (57_515, 4) and book.dtype == np.int64
    assert messages[1].tolist() == (34_200_189_607_670, 1, 11885113, 21, 2238100, 1)
    counts = np.bincount(messages["type"], minlength=8)[1:6].tolist()
    assert counts == [27_845, 16, 18_235, 8_974, 2_445]  # as documented in SOURCES.md


def test_times_are_exact_nanoseconds(lobster_dir):
    path = lobster_dir / "AAPL_2012-06-21_34200000_37800000_message_50.csv"
    messages = read_messages(path)
    with open(path) as handle:
        texts = [handle.readline().split(",")[0] for _ in range(2_000)]
    expected = [int(t.split(".")[0]) * 10**9 + int(t.split(".")[1].ljust(9, "0")) for t in texts]
    assert messages["time_ns"][:2_000].tolist() == expected


def test_level_is_read_from_the_file_name():
    assert level_from_filename("AAPL_2012-06-21_34200000_37800000_message_50.csv") == 50
    assert level_from_filename("x/AMZN_2012_orderbook_1.csv") == 1
    assert level_from_filename("messages.csv") is None


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = "34200.1,1,5,10,1000000,1\n34200.2,3,5,10,1000000,1\n"


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        (GOOD + "34200.3,1,6,10,abc,1\n", 3, "column 5 is not an integer"),
        (GOOD + "x34200.3,1,6,10,10,1\n", 3, "column 1 is not a number"),
        (GOOD + "34200.3,1,6,10\n", 3, "expected 6 columns"),
        (GOOD + "34200.3,9,6,10,1000000,1\n", 3, "type must be 1..7"),
        (GOOD + "34200.3,1,6,10,1000000,0\n", 3, "direction"),
        (GOOD + "34200.3,1,6,-10,1000000,1\n", 3, "size must be non-negative"),
        (GOOD + "34200.0,1,6,10,1000000,1\n", 3, "time goes backwards"),
        (GOOD + "34200.3,1,6.5,10,1000000,1\n", 3, "column 3 is not an integer"),
        (GOOD + "34200.3,1,9300000000000000000,10,1000000,1\n", 3,
         "column 3 does not fit in int64"),
    ],
)
def test_corrupt_message_file_names_file_and_line(tmp_path, text, line, fragment):
    path = _write(tmp_path, "bad_message_1.csv", text)
    with pytest.raises(LobsterFormatError, match=f"bad_message_1.csv:{line}: .*{fragment}"):
        read_messages(path)


def test_corrupt_orderbook_file_names_file_and_line(tmp_path):
    path = _write(tmp_path, "ob.csv", "100,1,99,2\n100,1,x,2\n")
    with pytest.raises(LobsterFormatError, match="ob.csv:2: column 3 is not an integer"):
        read_orderbook(path)
    path = _write(tmp_path, "ob3.csv", "100,1,99\n")
    with pytest.raises(LobsterFormatError, match="4 columns per level"):
        read_orderbook(path)
    path = _write(tmp_path, "ob_neg.csv", "100,1,99,2\n100,-1,99,2\n")
    with pytest.raises(LobsterFormatError, match="ob_neg.csv:2: sizes"):
        read_orderbook(path)


def test_missing_and_empty_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_messages(tmp_path / "nope.csv")
    with pytest.raises(LobsterFormatError, match="no rows"):
        read_messages(_write(tmp_path, "empty.csv", ""))


def test_a_huge_line_is_refused_after_one_bounded_read_with_a_short_message(tmp_path):
    path = tmp_path / "huge_message_1.csv"
    path.write_bytes(b"34200.1,1,5,10,1000000,1\n" + b"7" * 5_000_000 + b"\n")
    with pytest.raises(LobsterFormatError) as caught:
        read_messages(path)
    assert "huge_message_1.csv:2: line longer than" in str(caught.value)
    assert len(str(caught.value)) < 300 + len(str(path))


def test_a_long_bad_field_is_quoted_as_an_excerpt(tmp_path):
    path = tmp_path / "ob.csv"
    path.write_text("100,1,99,2\n100,1," + "x" * 10_000 + ",2\n")
    with pytest.raises(LobsterFormatError,
                       match=r"ob.csv:2: column 3 is not an integer: 'x{60}\.\.\.'$"):
        read_orderbook(path)


def test_a_directory_is_named_as_a_directory(tmp_path):
    with pytest.raises(LobsterFormatError, match="is a directory"):
        read_messages(tmp_path)


def test_replay_errors_name_the_message_file(tmp_path, capsys):
    from lob_core.replay import main

    messages = tmp_path / "Z_message_1.csv"
    messages.write_text("34200.1,1,5,10,1000000,1\n34200.2,1,6,10,1000050,-1\n")
    orderbook = tmp_path / "Z_orderbook_1.csv"
    orderbook.write_text("1000100,10,1000000,10\n" * 2)
    with pytest.raises(ValueError, match="Z_message_1.csv:2: price is not a multiple"):
        main([str(messages), "--orderbook", str(orderbook)])


def test_a_crossed_or_locked_orderbook_row_names_file_and_row(tmp_path):
    path = _write(tmp_path, "ob_1.csv", "10100,1,10000,2\n10000,1,10000,2\n")
    with pytest.raises(LobsterFormatError, match=r"ob_1.csv:2: crossed book: best bid 10000 >= "
                                                 r"best ask 10000$"):
        read_orderbook(path)


def test_an_orderbook_with_more_levels_than_its_name_says_is_refused(tmp_path):
    path = _write(tmp_path, "X_orderbook_1.csv", "10100,1,10000,2,10200,1,9900,2\n")
    with pytest.raises(LobsterFormatError, match=r"X_orderbook_1.csv:1: 2 levels per row, but the "
                                                 r"file name says level 1 \(at most 4 columns\)"):
        read_orderbook(path)


def test_a_top_of_book_extract_of_a_deeper_file_reads_its_levels(tmp_path):
    path = _write(tmp_path, "X_orderbook_50.csv", "10100,1,10000,2\n")
    assert read_orderbook(path).tolist() == [[10100, 1, 10000, 2]]
