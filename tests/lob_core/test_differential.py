"""The Cython book against the pure-Python reference on random operation sequences.

After every operation both books must agree on the return value, the fills, the outcome and
the full L3 state, and the engine's state must satisfy the invariants: never crossed after
matching, volume conserved (submitted = resting + 2 x traded + cancelled), FIFO by arrival
time inside each level.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lob_core import CANCELLED, FOK, GTC, IOC, KILLED, POST_ONLY, REJECTED, OrderBook
from lob_core.reference import ReferenceBook

TICK = 100
PRICES = [TICK * p for p in range(95, 106)]  # 11 price levels around 100.00
TIFS = [GTC, GTC, GTC, IOC, FOK, POST_ONLY]

limit_op = st.tuples(st.just("limit"), st.sampled_from([1, -1]), st.sampled_from(PRICES),
                     st.integers(1, 20), st.sampled_from(TIFS))
market_op = st.tuples(st.just("market"), st.sampled_from([1, -1]), st.integers(1, 40))
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 30))
reduce_op = st.tuples(st.just("reduce"), st.integers(0, 30), st.integers(1, 20))
modify_op = st.tuples(st.just("modify"), st.integers(0, 30), st.sampled_from(PRICES),
                      st.integers(1, 20))
operation = st.one_of(limit_op, limit_op, market_op, cancel_op, reduce_op, modify_op)


class Ledger:
    """Volume accounting of everything submitted to the book."""

    def __init__(self) -> None:
        self.submitted = self.traded = self.cancelled = 0


def _apply(book, op, step: int, next_id: int, ledger: Ledger | None):
    """Run one operation; return (result, next_id). Errors are returned, not raised."""
    kind = op[0]
    try:
        if kind == "limit":
            _, side, price, qty, tif = op
            result = book.limit(side, price, qty, next_id, agent_id=next_id % 3, ts=step, tif=tif)
            if ledger:
                ledger.submitted += qty
                if book.last_outcome in (CANCELLED, KILLED, REJECTED):
                    ledger.cancelled += qty - result
            return result, next_id + 1
        if kind == "market":
            _, side, qty = op
            result = book.market(side, qty, next_id, agent_id=next_id % 3, ts=step)
            if ledger:
                ledger.submitted += qty
                ledger.cancelled += qty - result
            return result, next_id + 1
        if kind == "cancel":
            result = book.cancel(op[1])
            if ledger:
                ledger.cancelled += result
            return result, next_id
        if kind == "reduce":
            _, oid, by = op
            if oid in book and by > book_qty(book, oid):
                return "too much", next_id  # the engine's refusal is tested elsewhere
            result = book.reduce(oid, by)
            if ledger:
                ledger.cancelled += by
            return result, next_id
        _, oid, price, qty = op
        old = book_qty(book, oid) if oid in book else None
        old_price = book_price(book, oid) if oid in book else None
        result = book.modify(oid, price, qty, ts=step)
        if ledger:
            if price == old_price and qty <= old:
                ledger.cancelled += old - qty
            else:
                ledger.cancelled += old
                ledger.submitted += qty
        return result, next_id
    except KeyError:  # unknown id: both books must refuse
        return "unknown id", next_id


def book_qty(book, oid: int) -> int:
    if isinstance(book, OrderBook):
        return book.order(oid)[2]
    side, price = book.where[oid]
    return book.levels[side][price][oid][0]


def book_price(book, oid: int) -> int:
    if isinstance(book, OrderBook):
        return book.order(oid)[1]
    return book.where[oid][1]


def _check_invariants(book: OrderBook, ledger: Ledger) -> None:
    bid, ask = book.best_bid, book.best_ask
    assert bid is None or ask is None or bid < ask, f"crossed book: bid {bid} >= ask {ask}"
    orders = book.orders_array()
    assert ledger.submitted == orders["qty"].sum() + 2 * ledger.traded + ledger.cancelled
    for side in (1, -1):
        for price in np.unique(orders["price"][orders["side"] == side]):
            ts = book.level_queue(side, int(price))["ts"]
            assert (np.diff(ts) >= 0).all(), f"FIFO broken at {side}:{price}: {ts}"
            assert book.level_volume(side, int(price)) == book.level_queue(side, int(price))[
                "qty"].sum()


def _run_both(ops) -> None:
    engine, reference, ledger = OrderBook(TICK), ReferenceBook(TICK), Ledger()
    engine_id = reference_id = 0
    for step, op in enumerate(ops):
        got, engine_id = _apply(engine, op, step, engine_id, ledger)
        want, reference_id = _apply(reference, op, step, reference_id, None)
        assert got == want, f"step {step} {op}: engine {got}, reference {want}"
        if isinstance(got, int):
            assert engine.fills.tolist() == reference.fills, f"step {step} {op}: fills differ"
            assert engine.last_outcome == reference.last_outcome, f"step {step} {op}"
            ledger.traded += int(engine.fills["qty"].sum())
        assert engine.orders_array().tolist() == reference.orders_list(), f"step {step} {op}"
        for got_column, want_column in zip(engine.depth(4), reference.depth(4), strict=False):
            assert got_column.tolist() == want_column, f"step {step} {op}: depth differs"
        _check_invariants(engine, ledger)


@settings(max_examples=3000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=60))
def test_engine_matches_reference_on_random_sequences(ops):
    _run_both(ops)


def test_engine_matches_reference_on_long_random_flows():
    """Long flows exercise pool growth, id-map deletion chains and level churn."""
    for seed in range(6):
        rng = np.random.default_rng(seed)
        ops = []
        for _ in range(4_000):
            r = rng.random()
            if r < 0.5:
                ops.append(("limit", int(rng.choice([1, -1])), int(rng.choice(PRICES)),
                            int(rng.integers(1, 20)), int(rng.choice(TIFS))))
            elif r < 0.6:
                ops.append(("market", int(rng.choice([1, -1])), int(rng.integers(1, 40))))
            elif r < 0.85:
                ops.append(("cancel", int(rng.integers(0, 4_000))))
            elif r < 0.93:
                ops.append(("reduce", int(rng.integers(0, 4_000)), int(rng.integers(1, 5))))
            else:
                ops.append(("modify", int(rng.integers(0, 4_000)), int(rng.choice(PRICES)),
                            int(rng.integers(1, 20))))
        _run_both(ops)
