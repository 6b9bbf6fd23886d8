"""Shared fixtures, and the real-data switch.

Real market data is read from ``../shared/data/lobster`` beside the repository, or
``$MARS_GYM_DATA`` (:func:`mars_gym.data.sources.default_data_dir`). A test that reads it is
marked ``real_data``: automatically when it asks for a fixture in :data:`REAL_DATA_FIXTURES`
(directly or through another fixture), explicitly otherwise. Without the folder those tests are
deselected and the summary says how many and how to run them; with ``CI=true`` a missing
folder fails the session before any test runs, so CI always runs every test.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

# One intra-op thread for every torch computation of the suite (set before torch is imported):
# on a busy 2-core machine torch's default made small-model steps 16-33x slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import pytest

from mars_gym.data.sources import default_data_dir

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = default_data_dir()
REAL_DATA_FIXTURES = frozenset({"lobster_dir", "new_ticker"})  # fixtures that read DATA_DIR
_DESELECTED = pytest.StashKey[int]()


def in_ci() -> bool:
    """Whether ``$CI`` says this is a CI run (``true``, ``1`` or ``yes``, any case)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def pytest_configure(config: pytest.Config) -> None:
    if in_ci() and not DATA_DIR.is_dir():
        raise pytest.UsageError(
            f"CI=true but the shared LOBSTER data folder {DATA_DIR} does not exist: CI runs "
            "every test, so put the data there or set MARS_GYM_DATA to its folder")


@pytest.hookimpl(tryfirst=True)  # before -m selects on the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that use a real-data fixture; deselect every real-data test when the
    data folder is missing."""
    for item in items:
        if REAL_DATA_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real_data)
    if DATA_DIR.is_dir():
        return
    deselected = [item for item in items if item.get_closest_marker("real_data")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("real_data")]
    config.stash[_DESELECTED] = len(deselected)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    deselected = config.stash.get(_DESELECTED, 0)
    if deselected:
        terminalreporter.write_line(
            f"{deselected} real-data tests deselected: no data folder at {DATA_DIR} (put the "
            "shared LOBSTER data there or set MARS_GYM_DATA to its folder to run them)")


@pytest.fixture(scope="session")
def lobster_dir() -> Path:
    """The shared LOBSTER data folder; a missing folder fails (never skips) the test."""
    if not DATA_DIR.is_dir():
        pytest.fail(f"shared LOBSTER data not found at {DATA_DIR}; set MARS_GYM_DATA to its folder")
    return DATA_DIR


NEW_TICKER_LINES = 12_000  # the first ~80 minutes of AMZN's day


@pytest.fixture(scope="session")
def new_ticker(lobster_dir, tmp_path_factory) -> Path:
    """A LOBSTER pair nobody knows: AMZN's first messages under the ticker ZZZZ, level 1."""
    from mars_gym.data.sources import LOBSTER_FILES

    folder = tmp_path_factory.mktemp("own_data")
    for original, kind in zip(LOBSTER_FILES["AMZN"], ("message", "orderbook"), strict=True):
        with open(lobster_dir / original) as source:
            head = "".join(itertools.islice(source, NEW_TICKER_LINES))
        (folder / f"ZZZZ_2012-06-21_34200000_57600000_{kind}_1.csv").write_text(head)
    return folder / "ZZZZ_2012-06-21_34200000_57600000_message_1.csv"
