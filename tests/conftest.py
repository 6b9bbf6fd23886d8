"""Shared fixtures. Real market data is read from ../shared/data/lobster (or $MARS_GYM_DATA)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

# One intra-op thread for every torch computation of the suite (set before torch is imported):
# on a busy 2-core machine torch's default made small-model steps 16-33x slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("MARS_GYM_DATA", REPO_ROOT.parent / "shared" / "data" / "lobster"))


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
