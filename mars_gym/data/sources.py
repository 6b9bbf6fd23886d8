"""The shared real-data sources, their units, and one loader for all of them.

| name | data | tick | lot | events |
|---|---|---|---|---|
| ``AMZN`` | NASDAQ AMZN 2012-06-21 09:30-16:00, LOBSTER level 1 | 0.01 USD | 1 share | ~55 k |
| ``AAPL`` | NASDAQ AAPL 2012-06-21 09:30-10:30, LOBSTER level 50 | 0.01 USD | 1 share | ~90 k |
| ``BTCUSD_2015`` | Bitstamp BTC/USD 2015-05-01 00:00-05:00 UTC | 0.01 USD | 1e-8 BTC | ~47 k |
| ``BTCUSD_2026`` | Bitstamp BTC/USD 2026-05-02 02:36-03:06 UTC | 1 USD | 1e-8 BTC | ~300 k |
| ``DEFAULT`` | embedded, generated: 70 AAPL-like minutes | 0.01 USD | 1 share | ~113 k |

The first four are read from the shared data folder: ``../shared/data/lobster`` beside the
repository, or ``$MARS_GYM_DATA``. ``DEFAULT`` ships inside the package and needs no folder
(:mod:`~mars_gym.data.default_market`); it is what the environments run on unless told otherwise.

Your own data is a source too: pass a file's path wherever a source is asked for, or give it a
name (and its units) once with :func:`register_source`. Three formats are read
(:func:`file_format`): a LOBSTER message file (ticker, date and level read from LOBSTER's file
names, the orderbook file the one beside it), a plain CSV of order events
(:mod:`~mars_gym.data.order_events`: time, type, side, price, size, id) and Bitstamp's
ob-analytics order events (:mod:`~mars_gym.data.bitstamp_events`). Such a source has tick
0.01 USD and lot 1 unit unless told otherwise, and no row in the shipped models' source
embedding (:data:`UNSEEN_SOURCE_ID`): model-free flows run on it, the LMM refuses it.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from mars_gym.data.bitstamp_events import OB_ANALYTICS_COLUMNS, load_bitstamp_events
from mars_gym.data.default_market import DEFAULT_SOURCE, load_default_market
from mars_gym.data.exact_numbers import check_time_unit, exact_fraction
from mars_gym.data.lobster_events import load_lobster_events
from mars_gym.data.order_events import (
    ORDER_EVENT_COLUMNS,
    has_order_event_columns,
    load_order_events,
)
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
        DEFAULT_SOURCE,
    )
}

LOBSTER_FILES: dict[str, tuple[str, str]] = {
    # (message file, orderbook file) of each LOBSTER source, relative to the data folder
    "AMZN": ("AMZN_2012-06-21_34200000_57600000_message_1.csv",
             "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"),
    "AAPL": ("AAPL_2012-06-21_34200000_37800000_message_50.csv",
             "derived/bigfatwhale_juypter/AAPL_2012-06-21_orderbook_50.csv"),
}

_LOADERS: dict[str, Callable] = {
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
    DEFAULT_SOURCE.name: lambda _folder, _source: load_default_market(),
}

_cache: dict[tuple[str, Path | None], EventStream] = {}
_REGISTERED_FILES: dict[str, tuple[Path, Path]] = {}  # (message, orderbook) of register_source
_BUILT_IN = frozenset(SOURCES)
_SHARED = _BUILT_IN - {DEFAULT_SOURCE.name}  # read from the shared data folder
DATA_SOURCES = tuple(name for name in SOURCES if name in _SHARED)  # the real-data ones
UNSEEN_SOURCE_ID = -1  # a source no shipped model was trained on
LOBSTER_NAME = re.compile(r"^(?P<ticker>[A-Za-z0-9.\-]+)_(?P<date>\d{4}-\d{2}-\d{2})_"
                          r"(?P<start>\d+)_(?P<end>\d+)_message_(?P<level>\d+)\.csv$")


def default_data_dir() -> Path:
    """``$MARS_GYM_DATA`` or ``../shared/data/lobster`` next to the repository."""
    env = os.environ.get("MARS_GYM_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "lobster"


def lobster_pair(message_file: Path | str) -> tuple[Path, Path, re.Match]:
    """A LOBSTER message file, the orderbook file beside it and the parsed file name; a
    ValueError or FileNotFoundError naming the file when either is not what LOBSTER writes."""
    message_file = Path(message_file)
    match = LOBSTER_NAME.match(message_file.name)
    if match is None:
        raise ValueError(f"{message_file}: not a LOBSTER message file name "
                         "(TICKER_YYYY-MM-DD_START_END_message_LEVEL.csv)")
    if not message_file.is_file():
        raise FileNotFoundError(f"{message_file}: no such message file")
    orderbook_file = message_file.with_name(message_file.name.replace("_message_", "_orderbook_"))
    if not orderbook_file.is_file():
        raise FileNotFoundError(f"{message_file}: its orderbook file {orderbook_file.name} is not "
                                "beside it")
    return message_file, orderbook_file, match


def lobster_source(message_file: Path | str, name: str | None = None, tick_value: float = 0.01,
                   lot_value: float = 1.0, currency: str = "USD",
                   source_id: int = UNSEEN_SOURCE_ID) -> Source:
    """The :class:`Source` of a LOBSTER pair (name ``TICKER_DATE`` unless given)."""
    message_file, _, match = lobster_pair(message_file)
    ticker, date, level = match["ticker"], match["date"], int(match["level"])
    return Source(name or f"{ticker}_{date}", source_id, tick_value, lot_value, currency,
                  f"{ticker} {date}, LOBSTER level {level} ({message_file})",
                  visible_levels=level)


def file_format(path: Path | str) -> str:
    """``"lobster"`` (a LOBSTER message file name), ``"order_events"`` (the plain CSV of
    :mod:`~mars_gym.data.order_events`) or ``"ob_analytics"`` (Bitstamp order events,
    :mod:`~mars_gym.data.bitstamp_events`), read from the file name and header."""
    path = Path(path)
    if LOBSTER_NAME.match(path.name):
        return "lobster"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        columns = pd.read_csv(path, nrows=0).columns
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"{path}: not a readable CSV file ({error})") from error
    if has_order_event_columns(columns):
        return "order_events"
    if OB_ANALYTICS_COLUMNS <= set(columns):
        return "ob_analytics"
    raise ValueError(f"{path}: not a known order-flow file: a LOBSTER message file is named "
                     "TICKER_YYYY-MM-DD_START_END_message_LEVEL.csv; a plain order-event CSV "
                     f"has the columns {', '.join(ORDER_EVENT_COLUMNS)}; an ob-analytics file "
                     f"{', '.join(sorted(OB_ANALYTICS_COLUMNS))}")


def check_unit(name: str, value: object) -> None:
    """A ``TypeError`` or ``ValueError`` naming ``name`` unless ``value`` is a positive, finite
    real number (a tick or lot size in currency or instrument units; it is kept as a float, and
    file values are whole numbers of the decimal that float spells, ``0.01`` exactly)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {value!r} "
                        f"({type(value).__name__})")
    as_float = float(value)
    if not (math.isfinite(as_float) and as_float > 0):
        raise ValueError(f"{name} must be a positive, finite number, got {value!r}")


def file_source(path: Path | str, name: str | None = None, *, tick_value: float = 0.01,
                lot_value: float = 1.0, currency: str = "USD",
                source_id: int = UNSEEN_SOURCE_ID, snapshot: bool = False,
                time_unit: str | None = None) -> tuple[Source, Callable[[], EventStream]]:
    """The :class:`Source` of an order-flow file of any known format (:func:`file_format`) and
    a function that loads it. The name is ``TICKER_DATE`` for LOBSTER, else the file name
    without its suffixes; ``snapshot``: an ob-analytics file's rows at its first time are the
    book when the capture started; ``time_unit``: the unit of the file's times (``"s"``,
    ``"ms"``, ``"us"``, ``"ns"``; by default the format's: seconds for a plain CSV, epoch
    milliseconds for ob-analytics; LOBSTER's are seconds)."""
    path = Path(path)
    check_unit("tick_value", tick_value)
    check_unit("lot_value", lot_value)
    if time_unit is not None:
        check_time_unit(time_unit)
    kind = file_format(path)
    if kind == "lobster" and time_unit not in (None, "s"):
        raise ValueError(f"{path}: a LOBSTER message file's times are seconds after midnight; "
                         f"time_unit {time_unit!r} does not apply")
    if kind == "lobster":
        message_file, orderbook_file, _ = lobster_pair(path)
        source = lobster_source(message_file, name, float(tick_value), float(lot_value),
                                currency, source_id)
        return source, lambda: load_lobster_events(source, message_file, orderbook_file)
    label = {"order_events": "order events", "ob_analytics": "ob-analytics order events"}[kind]
    source = Source(name or path.name.split(".")[0], source_id, float(tick_value),
                    float(lot_value), currency, f"{label} ({path})")
    if kind == "order_events":
        return source, lambda: load_order_events(source, path, time_unit or "s")
    return source, lambda: load_bitstamp_events(
        source, path, price_scale=1 / exact_fraction(source.tick_value),
        size_scale=1 / exact_fraction(source.lot_value), has_snapshot=snapshot,
        time_unit=time_unit or "ms")


def register_source(name: str, path: Path | str, *, tick_value: float = 0.01,
                    lot_value: float = 1.0, currency: str = "USD",
                    source_id: int = UNSEEN_SOURCE_ID, snapshot: bool = False,
                    time_unit: str | None = None, replace: bool = False) -> Source:
    """Make an order-flow file (:func:`file_format`) loadable by ``name`` everywhere a source is
    asked for, with its units (tick and lot: positive, finite numbers; the unit of its times,
    ``time_unit``, as in :func:`file_source`) and currency. Bad units are refused here, before
    anything is registered."""
    if name in _BUILT_IN or (name in SOURCES and not replace):
        raise ValueError(f"source {name!r} is already registered"
                         + ("" if name in _BUILT_IN else "; pass replace=True to overwrite"))
    source, load = file_source(path, name, tick_value=tick_value, lot_value=lot_value,
                               currency=currency, source_id=source_id, snapshot=snapshot,
                               time_unit=time_unit)
    SOURCES[name] = source
    _REGISTERED_FILES.pop(name, None)
    if file_format(path) == "lobster":
        _REGISTERED_FILES[name] = lobster_pair(path)[:2]
    _LOADERS[name] = lambda _folder, _source: load()
    for key in [k for k in _cache if k[0] == name]:
        del _cache[key]
    return source


def lobster_files(name: str | Path, data_dir: Path | str | None = None) -> tuple[Path, Path]:
    """The (message, orderbook) LOBSTER files of a source: a shared one, a registered one or a
    message file's path; a ValueError for a source that is not LOBSTER data."""
    name = str(name)
    if name in LOBSTER_FILES:
        folder = Path(data_dir) if data_dir is not None else default_data_dir()
        message, orderbook = LOBSTER_FILES[name]
        return folder / message, folder / orderbook
    if name in _REGISTERED_FILES:
        return _REGISTERED_FILES[name]
    if name in SOURCES:
        raise ValueError(f"source {name!r} is not LOBSTER data (no message/orderbook files)")
    message, orderbook, _ = lobster_pair(name)
    return message, orderbook


def load_source(name: str | Path, data_dir: Path | str | None = None) -> EventStream:
    """Load one source as an :class:`EventStream` (cached per process; do not modify it):
    a registered name, or the path of an order-flow file (:func:`file_format`; see the module
    docstring)."""
    name = str(name)
    if name not in SOURCES:
        if LOBSTER_NAME.match(Path(name).name) is None and not Path(name).is_file():
            raise KeyError(f"unknown source {name!r}; available: {sorted(SOURCES)}, or the path "
                           "of a LOBSTER message file, a plain order-event CSV or an "
                           "ob-analytics order file")
        key: tuple[str, Path | None] = (str(Path(name).resolve()), None)
        if key not in _cache:
            _cache[key] = file_source(name)[1]()
        return _cache[key]
    if name not in _SHARED:  # embedded or registered by path: no data folder involved
        key = (name, None)
        if key not in _cache:
            _cache[key] = _LOADERS[name](None, SOURCES[name])
        return _cache[key]
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"data folder {folder} not found; pass data_dir or set MARS_GYM_DATA")
    key = (name, folder.resolve())
    if key not in _cache:
        _cache[key] = _LOADERS[name](folder, SOURCES[name])
    return _cache[key]
