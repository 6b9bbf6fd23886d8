"""Speed of lob_core: LOBSTER batch replay and a mixed order flow through the Python API.

Prints one JSON object. Every rate is the best of ``--repeats`` runs; the ratios compare engines
measured in this same run on the same flow:

* ``batch_replay``: seed + ``apply_messages`` over the shared LOBSTER files (messages/s).
* ``python_api``: a random mixed flow (limit 55 %, cancel 35 %, market 10 %; some limits
  cross) driven op by op from Python through ``lob_core.OrderBook``, the pure-Python
  ``lob_core.reference.ReferenceBook`` and, where it installs, the PyPI package
  ``cython-orderbook`` (orders/s).

Usage: ``python -m benchmarks.bench_lob [--orders 300000] [--repeats 3] [--data DIR]
[--out FILE]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, emit, machine
from lob_core import BUY, SELL, OrderBook
from lob_core.lobster import LOBSTER_TICK, read_messages, read_orderbook
from lob_core.reference import ReferenceBook
from lob_core.replay import apply_messages, seed

LIMIT, CANCEL, MARKET = 0, 1, 2
DEFAULT_DATA = Path(os.environ.get("MARS_GYM_DATA", ROOT.parent / "shared/data/lobster"))
REPLAY_FILES = {
    "AMZN_level1_day": ("AMZN_2012-06-21_34200000_57600000_message_1.csv",
                        "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"),
    "AAPL_level50_hour": ("AAPL_2012-06-21_34200000_37800000_message_50.csv",
                          "derived/bigfatwhale_tests/AAPL_2012-06-21_orderbook_50.csv"),
}


def best_time(run, repeats: int) -> float:
    return min(run() for _ in range(repeats))


def bench_batch_replay(data: Path, repeats: int) -> dict:
    results = {}
    for name, (message_file, orderbook_file) in REPLAY_FILES.items():
        messages = read_messages(data / message_file)
        seed_row = read_orderbook(data / orderbook_file)[0]
        rows = messages[1:]

        def run(seed_row=seed_row, rows=rows) -> float:
            book = OrderBook(LOBSTER_TICK)
            start = time.perf_counter()
            seed(book, seed_row)
            apply_messages(book, rows)
            return time.perf_counter() - start

        seconds = best_time(run, repeats)
        results[name] = {"messages": len(messages), "seconds": seconds,
                         "msgs_per_s": len(messages) / seconds}
    total = sum(r["messages"] for r in results.values())
    results["msgs_per_s"] = total / sum(r["seconds"] for r in results.values())
    return results


def make_flow(n_orders: int, seed_value: int = 0, resting_target: int = 5_000,
              ) -> list[tuple[int, int, int, int, int]]:
    """A valid random flow ``(kind, side, price, qty, order_id)`` on a book of realistic depth.

    The first ``resting_target`` orders build a book around 100.00 (1-cent ticks); after that
    limits (55 %), markets (8 %) and cancels keep it near that size: a cancel is drawn with
    probability 0.37 * resting / target and names a uniformly random resting order. Limit
    prices sit at a heavy-tailed distance from the same-side touch: 5 % improve it by a tick
    (sometimes crossing), 20 % join it, the rest a geometric number of ticks behind (mean
    ~ 12). Every cancel names an order that is resting when it arrives (the flow is run once
    through the engine to make sure).
    """
    rng = np.random.default_rng(seed_value)
    book = OrderBook(1)
    mid = 10_000
    flow, live = [], []
    next_id = 0
    while len(flow) < n_orders:
        r = rng.random()
        side = BUY if rng.random() < 0.5 else SELL
        qty = int(rng.integers(1, 100))
        warm = len(flow) < resting_target
        if not warm and r < 0.37 * len(live) / resting_target:
            index = int(rng.integers(len(live)))
            order_id = live[index]
            live[index] = live[-1]
            live.pop()
            if order_id in book:  # it may have been filled since
                book.cancel(order_id)
                flow.append((CANCEL, 0, 0, 0, order_id))
            continue
        if not warm and r > 0.92:
            book.market(side, qty, next_id)
            flow.append((MARKET, side, 0, qty, next_id))
        else:
            u = rng.random()
            offset = -1 if u < 0.05 else 0 if u < 0.25 else int(rng.geometric(1 / 12))
            best = book.best_bid if side == BUY else book.best_ask
            price = max(1, (mid if best is None else best) - side * offset)
            book.limit(side, price, qty, next_id)
            flow.append((LIMIT, side, price, qty, next_id))
            if next_id in book:
                live.append(next_id)
        next_id += 1
    return flow


class _NoBook:
    """Accepts the calls and does nothing: measures the Python loop and call overhead."""

    @staticmethod
    def limit(side, price, qty, order_id):
        return 0

    @staticmethod
    def cancel(order_id):
        return 0

    @staticmethod
    def market(side, qty, order_id):
        return 0


def drive(book, flow) -> float:
    limit, cancel, market = book.limit, book.cancel, book.market
    start = time.perf_counter()
    for kind, side, price, qty, order_id in flow:
        if kind == LIMIT:
            limit(side, price, qty, order_id)
        elif kind == CANCEL:
            cancel(order_id)
        else:
            market(side, qty, order_id)
    return time.perf_counter() - start


def depth_stats(flow) -> dict:
    """Average resting orders and occupied levels over the flow (sampled)."""
    book, orders, levels = OrderBook(1), [], []
    for step, (kind, side, price, qty, order_id) in enumerate(flow):
        if kind == LIMIT:
            book.limit(side, price, qty, order_id)
        elif kind == CANCEL:
            book.cancel(order_id)
        else:
            book.market(side, qty, order_id)
        if step % 997 == 0:
            orders.append(len(book))
            levels.append(book.n_levels(BUY) + book.n_levels(SELL))
    return {"mean_resting_orders": float(np.mean(orders)),
            "mean_levels": float(np.mean(levels))}


def drive_cython_orderbook(flow) -> float | None:
    try:
        from cython_orderbook import Order, OrderSide
        from cython_orderbook import OrderBook as ThirdPartyBook
    except ImportError:
        return None
    book = ThirdPartyBook()
    sides = {BUY: OrderSide.BID, SELL: OrderSide.ASK}
    by_id = {}
    add_limit, add_market, cancel = book.add_limit_order, book.add_market_order, book.cancel_order
    start = time.perf_counter()
    for kind, side, price, qty, order_id in flow:
        if kind == LIMIT:
            order = Order(sides[side], qty, price)
            by_id[order_id] = order
            add_limit(order)
        elif kind == CANCEL:
            cancel(by_id.pop(order_id).order_id)
        else:
            add_market(Order(sides[side], qty))
    return time.perf_counter() - start


def bench_python_api(n_orders: int, repeats: int) -> dict:
    flow = make_flow(n_orders)
    engine = best_time(lambda: drive(OrderBook(1), flow), repeats)
    reference = best_time(lambda: drive(ReferenceBook(1), flow), repeats)
    # same flow, same final state: the rates compare equal work
    engine_book, reference_book = OrderBook(1), ReferenceBook(1)
    drive(engine_book, flow)
    drive(reference_book, flow)
    assert engine_book.orders_array().tolist() == reference_book.orders_list()
    third_party = None if drive_cython_orderbook(flow[:1000]) is None else best_time(
        lambda: drive_cython_orderbook(flow), repeats)
    loop = best_time(lambda: drive(_NoBook(), flow), repeats)
    return {
        "orders": len(flow),
        "flow": {"limit": sum(f[0] == LIMIT for f in flow) / len(flow),
                 "cancel": sum(f[0] == CANCEL for f in flow) / len(flow),
                 "market": sum(f[0] == MARKET for f in flow) / len(flow),
                 **depth_stats(flow)},
        "lob_core_orders_per_s": len(flow) / engine,
        "reference_orders_per_s": len(flow) / reference,
        "ratio_vs_reference": reference / engine,
        "cython_orderbook_orders_per_s": None if third_party is None else len(flow) / third_party,
        "ratio_vs_cython_orderbook": None if third_party is None else third_party / engine,
        # the same loop calling methods that do nothing: what no Python-driven book can beat
        "python_loop_overhead_ns_per_order": 1e9 * loop / len(flow),
        "lob_core_ns_per_order_net_of_loop": 1e9 * (engine - loop) / len(flow),
        "reference_ns_per_order_net_of_loop": 1e9 * (reference - loop) / len(flow),
        "ratio_vs_reference_net_of_loop": (reference - loop) / (engine - loop),
    }


def engine_versions() -> dict:
    """The installed versions of Cython and of the third-party book (``None``: not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"cython": installed("Cython"), "cython_orderbook": installed("cython-orderbook")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    replay = bench_batch_replay(args.data, args.repeats)
    api = bench_python_api(args.orders, args.repeats)
    targets = {
        "batch_replay_ge_5M_msgs_per_s": replay["msgs_per_s"] >= 5e6,
        "python_api_ge_1M_orders_per_s": api["lob_core_orders_per_s"] >= 1e6,
        "ge_20x_reference": api["ratio_vs_reference"] >= 20,
        "faster_than_cython_orderbook": (None if api["ratio_vs_cython_orderbook"] is None
                                         else api["ratio_vs_cython_orderbook"] > 1),
    }
    emit({"benchmark": "bench_lob", "batch_replay": replay, "python_api": api,
          "targets": targets, "machine": {**machine(), **engine_versions()}}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
