"""The shared real-data sources, their units, and one loader for all of them.

| name | data | tick | lot | events |
|---|---|---|---|---|
| ``AMZN`` | NASDAQ AMZN 2012-06-21 09:30-16:00, LOBSTER level 1 | 0.01 USD | 1 share | ~55 k |
| ``AAPL`` | NASDAQ AAPL 2012-06-21 09:30-10:30, LOBSTER level 50 | 0.01 USD | 1 share | ~90 k |
| ``BTCUSD_2015`` | Bitstamp BTC/USD 2015-05-01 00:00-05:00 UTC | 0.01 USD | 1e-8 BTC | ~47 k |
| ``BTCUSD_2026`` | Bitstamp BTC/USD 2026-05-02 02:36-03:06 UTC | 1 USD | 1e-8 BTC | ~300 k |

The folder defaults to ``../shared/data/lobster`` beside the repository, or ``$MARS_GYM_DATA``.
"""

from __future__ import annotations

import os
from pathlib import Path

from mars_gym.data.bitstamp_events import load_bitstamp_events
from mars_gym.data.lobster_events import load_lobster_events
from mars_gym.data.schema import EventStream, Source

SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        Source("AMZN", 0, 0.01, 1.0, "USD", "NASDAQ AMZN 2012-06-21, LOBSTER level 1, full day",
               visible_levels=1),
        Source("AAPL", 1, 0.01, 1.0, "USD", "NASDAQ AAPL 2012-06-21, LOBSTER level 50, 09:30-10:30",
               visible_levels=50),
        Source("BTCUSD_2015", 2, 0.01, 1e-8, "USD", "Bitstamp BTC/USD 2015-05-01 00:00-05:00 UTC"),
        Source("BTCUSD_2026", 3, 1.0, 1e-8, "USD", "Bitstamp BTC/USD 2026-05-02 02:36-03:06 UTC"),
    )
}

LOBSTER_FILES: dict[str, tuple[str, str]] = {
    # (message file, orderbook file) of each LOBSTER source, relative to the data folder
    "AMZN": ("AMZN_2012-06-21_34200000_57600000_message_1.csv",
             "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"),
    "AAPL": ("AAPL_2012-06-21_34200000_37800000_message_50.csv",
             "derived/bigfatwhale_juypter/AAPL_2012-06-21_orderbook_50.csv"),
}

_LOADERS = {
    "AMZN": lambda d, s: load_lobster_events(
        s, *(d / f for f in LOBSTER_FILES["AMZN"])),
    "AAPL": lambda d, s: load_lobster_events(
        s, *(d / f for f in LOBSTER_FILES["AAPL"]),
        seed_orderbook_file=d / "derived/bigfatwhale_tests/AAPL_2012-06-21_orderbook_50.csv"),
    "BTCUSD_2015": lambda d, s: load_bitstamp_events(
        s, d / "non_lobster/bitstamp_btcusd_2015-05-01_obAnalytics/orders.csv.xz",
        price_scale=100, size_scale=1, has_snapshot=False),
    "BTCUSD_2026": lambda d, s: load_bitstamp_events(
        s, d / "non_lobster/bitstamp_btcusd_2026-05-02_ob-analytics/orders.csv.gz",
        price_scale=1, size_scale=1e8, has_snapshot=True,
        trades_file=d / "non_lobster/bitstamp_btcusd_2026-05-02_ob-analytics/trades.csv"),
}

_cache: dict[tuple[str, Path], EventStream] = {}


def default_data_dir() -> Path:
    """``$MARS_GYM_DATA`` or ``../shared/data/lobster`` next to the repository."""
    env = os.environ.get("MARS_GYM_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "lobster"


def load_source(name: str, data_dir: Path | str | None = None) -> EventStream:
    """Load one source as an :class:`EventStream` (cached per process; do not modify it)."""
    if name not in SOURCES:
        raise KeyError(f"unknown source {name!r}; available: {sorted(SOURCES)}")
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"data folder {folder} not found; pass data_dir or set MARS_GYM_DATA")
    key = (name, folder.resolve())
    if key not in _cache:
        _cache[key] = _LOADERS[name](folder, SOURCES[name])
    return _cache[key]
