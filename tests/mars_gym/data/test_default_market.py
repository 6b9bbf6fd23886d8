"""The embedded default market: small, code-free, exact, generated (not exchange data), and
enough for the main job on a machine without a data folder."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mars_gym.data import SOURCES, load_source
from mars_gym.data.default_market import (
    DEFAULT_MARKET_FILE,
    DefaultMarketError,
    load_default_market,
)
from mars_gym.data.schema import BOOK_TICKS
from tools.make_default_market import build, write

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_the_file_is_small_and_holds_plain_arrays_only():
    assert DEFAULT_MARKET_FILE.stat().st_size < 3_000_000
    with zipfile.ZipFile(DEFAULT_MARKET_FILE) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    with np.load(DEFAULT_MARKET_FILE, allow_pickle=False) as saved:
        assert all(saved[name].dtype != object for name in saved.files)


def test_it_is_a_source_that_needs_no_data_folder(tmp_path):
    stream = load_source("DEFAULT", data_dir=tmp_path / "no_such_folder")
    span_minutes = (stream.events["time_ns"][-1] - stream.events["time_ns"][0]) / 60e9
    assert 69 < span_minutes <= 70 and len(stream) > 100_000
    assert stream.source.source_id == SOURCES["AAPL"].source_id  # the LMM's row


def test_book_before_is_the_exact_book_the_rows_describe():
    stream = load_default_market()
    for index in (0, 1, 777, len(stream) // 2, len(stream) - 1):
        book = stream.book_before(index)
        state = book.tick_state(BOOK_TICKS)
        row = stream.book[index]
        assert (state[0], state[1]) == (row["bid"], row["ask"])
        assert list(state[2:2 + BOOK_TICKS]) == list(row["bid_qty"])
        assert list(state[2 + BOOK_TICKS:]) == list(row["ask_qty"])
    # the ids are a data source's (below the simulator's flow range), and the events apply
    assert stream.events["order_id"].max() < 1 << 40


@pytest.mark.real_data
def test_the_session_is_generated_not_copied_from_the_exchange_data():
    generated, real = load_default_market(), load_source("AAPL")

    def keys(stream):
        e = stream.events
        return set(zip(e["time_ns"].tolist(), e["price"].tolist(), e["size"].tolist(),
                       strict=True))

    shared = keys(generated) & keys(real)
    assert len(shared) < 0.001 * len(generated)
    # yet it looks like the day it was calibrated on: rate within 20 %, the same mix of types
    rate = len(generated) / 70, len(real) / 60
    assert abs(rate[0] / rate[1] - 1) < 0.2
    for kind in range(4):
        share = [np.mean(s.events["type"] == kind) for s in (generated, real)]
        assert abs(share[0] - share[1]) < 0.03
    # and it does not drift away: the last mid within 3 % of the first
    mid = generated.mid
    assert abs(mid[-1] / mid[0] - 1) < 0.03


def test_rebuilding_from_the_shared_data_gives_the_shipped_file(tmp_path, lobster_dir):
    path = tmp_path / "rebuilt.npz"
    write(build(lobster_dir, seed=0), path)
    with np.load(path) as rebuilt, np.load(DEFAULT_MARKET_FILE) as shipped:
        assert sorted(rebuilt.files) == sorted(shipped.files)
        for name in shipped.files:
            assert np.array_equal(rebuilt[name], shipped[name]), name


def test_a_missing_or_foreign_file_is_a_clear_error(tmp_path):
    with pytest.raises(DefaultMarketError, match="missing"):
        load_default_market(tmp_path / "absent.npz")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, version=np.array(99))
    with pytest.raises(DefaultMarketError, match="version 99"):
        load_default_market(foreign)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, version=np.array([{"code": 1}], dtype=object))
    with pytest.raises(DefaultMarketError, match="not a readable"):
        load_default_market(pickled)


def test_the_main_job_runs_in_a_folder_without_a_data_folder(tmp_path):
    """README command 1's job, run from a temporary folder with the data folder unreachable."""
    shutil.copy(REPO_ROOT / "examples" / "quickstart.py", tmp_path)
    env = {**os.environ, "MARS_GYM_DATA": str(tmp_path / "no_data_here")}
    # one episode per policy over 60 s: the job's whole path, at a fifth of its length
    result = subprocess.run([sys.executable, "quickstart.py", "--episodes", "1",
                             "--horizon-s", "60"], cwd=tmp_path,
                            check=False,
                            env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines()
            if line.startswith(("TWAP", "all at market", "random"))]
    assert len(rows) == 3
    assert "decision 1/2 done" in result.stdout and "all 3 episodes done" in result.stdout
    assert not (tmp_path / "no_data_here").exists()


def _shipped_arrays() -> dict[str, np.ndarray]:
    with np.load(DEFAULT_MARKET_FILE, allow_pickle=False) as saved:
        return {name: saved[name] for name in saved.files}


def _crafted(tmp_path, **changes) -> Path:
    """The shipped arrays with ``changes`` (``None`` drops an array), saved compressed."""
    arrays = {**_shipped_arrays(), **changes}
    path = tmp_path / "crafted.npz"
    np.savez_compressed(path, **{name: a for name, a in arrays.items() if a is not None})
    return path


def test_nan_times_are_refused_by_their_dtype(tmp_path):
    times = _shipped_arrays()["time_ns"].astype(np.float64)
    times[7] = np.nan
    with pytest.raises(DefaultMarketError, match=r"crafted.npz: not a readable default market "
                                                 r"file \(time_ns.npy: dtype float64, expected "
                                                 r"int64\)"):
        load_default_market(_crafted(tmp_path, time_ns=times))


def test_backwards_times_are_refused_naming_the_event(tmp_path):
    times = _shipped_arrays()["time_ns"].copy()
    times[100] = times[99] - 1
    with pytest.raises(DefaultMarketError, match="crafted.npz: event 100: time_ns goes backwards"):
        load_default_market(_crafted(tmp_path, time_ns=times))


def test_a_missing_array_is_named_not_a_key_error(tmp_path):
    with pytest.raises(DefaultMarketError, match=r"\(missing arrays: side\)"):
        load_default_market(_crafted(tmp_path, side=None))


def test_start_orders_of_the_wrong_dtype_are_named_not_a_type_error(tmp_path):
    with pytest.raises(DefaultMarketError, match=r"initial_orders.npy: dtype int64, expected "):
        load_default_market(_crafted(tmp_path, initial_orders=np.zeros(5, dtype=np.int64)))


def test_an_unexpected_member_or_column_lengths_that_differ_are_refused(tmp_path):
    with pytest.raises(DefaultMarketError, match=r"unexpected members 'extra.npy'"):
        load_default_market(_crafted(tmp_path, extra=np.zeros(3)))
    with pytest.raises(DefaultMarketError, match="the event columns differ in length "
                                                 r"\(time_ns 113,324, type 113,323, "):
        load_default_market(_crafted(tmp_path, type=_shipped_arrays()["type"][:-1]))


def test_a_start_book_that_is_not_a_book_is_refused_naming_the_file(tmp_path):
    orders = _shipped_arrays()["initial_orders"].copy()
    orders["side"][3] = 2
    with pytest.raises(DefaultMarketError, match="crafted.npz: initial_orders: .*side must be"):
        load_default_market(_crafted(tmp_path, initial_orders=orders))


def test_a_huge_declared_shape_is_refused_before_its_data_is_read(tmp_path):
    """A 2.4 GB column in a small file: the .npy header is read, the data never is."""
    path = tmp_path / "huge.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<i8", "fortran_order": False, "shape": (300_000_000,)})
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in _shipped_arrays().items():
            if name != "time_ns":
                buffer = io.BytesIO()
                np.save(buffer, array)
                archive.writestr(f"{name}.npy", buffer.getvalue())
        archive.writestr("time_ns.npy", header.getvalue())  # the header only
    with pytest.raises(DefaultMarketError, match=r"time_ns.npy: shape \(300000000,\), expected one "
                                                 r"dimension of at most 1,000,000"):
        load_default_market(path)


def test_a_member_shorter_than_its_header_says_is_refused(tmp_path):
    path = tmp_path / "short.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in _shipped_arrays().items():
            buffer = io.BytesIO()
            np.save(buffer, array)
            data = buffer.getvalue()
            archive.writestr(f"{name}.npy", data[:-8] if name == "price" else data)
    with pytest.raises(DefaultMarketError, match=r"price.npy: the archive declares 906,712 bytes, "
                                                 r"its header 906,720"):
        load_default_market(path)
