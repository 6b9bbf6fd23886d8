"""The user's own order events by path: a plain CSV (time, type, side, price, size, id) and
Bitstamp's ob-analytics order events, loaded exactly, run in an env, and refused line by line
when malformed."""

from __future__ import annotations

import gzip
import itertools

import gymnasium as gym
import numpy as np
import pytest

import mars_gym  # noqa: F401  registers the environments
from mars_gym.data import EXECUTE, load_source, register_source, sources
from mars_gym.data.default_market import load_default_market
from mars_gym.data.order_events import OrderEventFormatError
from mars_gym.data.sources import file_format

EVENTS = 30_000
WORDS = {0: "new", 1: "cancel", 2: "partial_cancel", 3: "execute"}


def write_order_events(path, stream, events: int):
    """The default market as a plain CSV in dollars: its start book as ``new`` rows, then its
    first ``events`` events. Returns how many snapshot rows come first."""
    orders = load_default_market().book_before(0).orders_array()
    t0 = stream.events["time_ns"][0] / 1e9
    lines = ["time,type,side,price,size,id"]
    lines += [f"{t0:.9f},new,{'buy' if o['side'] > 0 else 'sell'},{o['price'] / 100:.2f},"
              f"{o['qty']},{o['order_id']}" for o in orders]
    for e in stream.events[:events]:
        lines.append(f"{e['time_ns'] / 1e9:.9f},{WORDS[int(e['type'])]},"
                     f"{'buy' if e['side'] > 0 else 'sell'},{e['price'] / 100:.2f},"
                     f"{e['size']},{e['order_id']}")
    path.write_text("\n".join(lines) + "\n")
    return len(orders)


@pytest.fixture(scope="module")
def own_events(tmp_path_factory):
    path = tmp_path_factory.mktemp("own_events") / "my_market.csv"
    snapshot = write_order_events(path, load_default_market(), EVENTS)
    return path, snapshot


def test_a_plain_csv_loads_exactly(own_events):
    path, snapshot = own_events
    assert file_format(path) == "order_events"
    stream, original = load_source(path), load_default_market()
    assert stream.source.name == "my_market" and len(stream) == snapshot + EVENTS
    # after the snapshot rows the book before every event is the original's
    assert np.array_equal(stream.book[snapshot:], original.book[:EVENTS])
    assert np.array_equal(stream.events[snapshot:], original.events[:EVENTS])
    book = stream.book_before(snapshot + 1234)
    assert np.array_equal(book.orders_array()["order_id"],
                          original.book_before(1234).orders_array()["order_id"])


@pytest.mark.parametrize("flow", ["replay", "hawkes"])
def test_an_env_runs_on_a_plain_csv_by_path(own_events, flow):
    env = gym.make("MarS-Execution-v0", source=str(own_events[0]), flow=flow, horizon_s=30,
                   step_s=10, quantity=300)
    env.reset(seed=0)
    done, steps = False, 0
    while not done:
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        done, steps = terminated or truncated, steps + 1
    assert steps == 3 and info["filled"] == 300


def test_a_registered_csv_carries_its_units(own_events, monkeypatch):
    monkeypatch.setattr(sources, "SOURCES", dict(sources.SOURCES))
    monkeypatch.setattr(sources, "_LOADERS", dict(sources._LOADERS))
    source = register_source("MINE", own_events[0], tick_value=0.005, lot_value=1.0,
                             currency="EUR")
    stream = load_source("MINE")
    assert (source.tick_value, source.currency) == (0.005, "EUR")
    # a half-cent tick doubles every price in ticks
    assert np.array_equal(stream.events["price"][own_events[1]:],
                          2 * load_default_market().events["price"][:EVENTS])


@pytest.mark.parametrize(("row", "fragment"), [
    ("1.0,new,buy,10.00,5,1\n0.5,new,buy,10.00,5,2", "my.csv:3: time goes backwards"),
    ("1.0,buy,buy,10.00,5,1", r"my.csv:2: column 'type' must be one of"),
    ("1.0,new,bid,10.00,5,1", r"my.csv:2: column 'side' must be one of"),
    ("1.0,new,buy,10.005,5,1", "my.csv:2: price 10.005 must be a whole number of 0.01"),
    ("1.0,new,buy,10.00,0,1", r"my.csv:2: size 0 must be a whole number in \[1,"),
    ("1.0,new,buy,10.00,5,abc", "my.csv:2: column 'id' is not a number: 'abc'"),
    ("1.0,new,buy,10.00,5,1\n2.0,cancel,buy,10.00,5,7", "my.csv:3: .*7"),
    ("1.0,new,sell,10.00,5,1\n2.0,new,buy,10.01,5,2", "my.csv:3: new order 2 crosses the book"),
])
def test_a_malformed_csv_names_the_file_and_line(tmp_path, row, fragment):
    path = tmp_path / "my.csv"
    path.write_text("time,type,side,price,size,id\n" + row + "\n")
    with pytest.raises(OrderEventFormatError, match=fragment):
        load_source(path)


def test_an_unknown_file_says_which_formats_are_read(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("date,close\n2024-01-02,10.0\n")
    with pytest.raises(ValueError, match="prices.csv: not a known order-flow file.*time, type, "
                                         "side, price, size, id"):
        load_source(path)


def test_ob_analytics_order_events_by_path(lobster_dir, tmp_path, monkeypatch):
    """The first rows of the shared Bitstamp capture, as a user's own file."""
    original = lobster_dir / "non_lobster/bitstamp_btcusd_2026-05-02_ob-analytics/orders.csv.gz"
    path = tmp_path / "btc_orders.csv.gz"
    with gzip.open(original, "rt") as source, gzip.open(path, "wt") as copy:
        copy.writelines(itertools.islice(source, 30_001))
    assert file_format(path) == "ob_analytics"
    monkeypatch.setattr(sources, "SOURCES", dict(sources.SOURCES))
    monkeypatch.setattr(sources, "_LOADERS", dict(sources._LOADERS))
    register_source("MYBTC", path, tick_value=1.0, lot_value=1e-8, snapshot=True)
    stream = load_source("MYBTC")
    assert stream.report["snapshot_rows"] > 1_000 and len(stream) > 10_000
    both = (stream.book["bid"] > 0) & (stream.book["ask"] > 0)
    assert both.mean() > 0.99 and (stream.book["bid"][both] < stream.book["ask"][both]).all()
    assert (stream.events["type"] == EXECUTE).any()
    env = gym.make("MarS-Execution-v0", source="MYBTC", flow="hawkes", horizon_s=20, step_s=10,
                   quantity=10**6)
    env.reset(seed=0)
    env.step(env.action_space.sample())
