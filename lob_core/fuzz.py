"""Differential fuzzing of :class:`lob_core.OrderBook` against :class:`ReferenceBook`.

Operations mix ordinary values with the edges of the value domain (ids near the int64 limits
and the reserved ``-2**63``, sizes near ``MAX_QTY``, prices near ``MAX_PRICE``, out-of-range
integers, numpy scalars, bools, re-used ids). After every operation:

* both books either return the same result, fills and outcome, or raise the same error class;
* a rejected operation left the engine exactly as it was (orders, fills, outcome);
* the engine's invariants hold: never crossed, each level's total equals its queue and lies in
  ``[1, MAX_QTY]``, FIFO by arrival time, every resting id is found by ``in``.

Used by ``tests/lob_core/test_fuzz.py`` (hypothesis drives the values) and by
``benchmarks/fuzz_book.py`` (a seeded generator, 10^6 operations).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lob_core._book import FOK, GTC, IOC, MAX_PRICE, MAX_QTY, POST_ONLY, OrderBook
from lob_core.errors import OrderBookError
from lob_core.reference import ReferenceBook

TICK = 100
PRICES = tuple(TICK * p for p in range(95, 106))  # 11 levels around 100.00
TIFS = (GTC, GTC, GTC, IOC, FOK, POST_ONLY)
TOP_PRICE = MAX_PRICE - MAX_PRICE % TICK  # the highest price on the tick grid
SPECIAL_IDS = (2**63 - 1, 2**63 - 2, 2**53, 2**53 + 1, -1, -(2**63), 2**63, 2**64, -(2**63) - 1)
SPECIAL_QTYS = (MAX_QTY, MAX_QTY - 1, MAX_QTY + 1, 2**62, 2**63 - 1, 2**63, 0, -1, -(2**63))
SPECIAL_PRICES = (TOP_PRICE, TOP_PRICE - TICK, TOP_PRICE + TICK, 2**63 - 1, 2**63, 0, -TICK,
                  TICK * 100 + 1, 2 * TICK)
SPECIAL_SIDES = (0, 2, -2, 2**63, True)

Operation = tuple
"""``("limit", side, price, qty, order_id, tif)``, ``("market", side, qty, order_id)``,
``("cancel", order_id)``, ``("reduce", order_id, qty)`` or ``("modify", order_id, price, qty)``."""


@dataclass
class FuzzReport:
    """Counts of one fuzz run; every count but ``operations`` and ``rejections`` must be 0."""

    operations: int = 0
    rejections: int = 0                # operations both books refused (expected: edge values)
    mismatches: int = 0                # engine and reference disagree
    half_applied_rejections: int = 0   # a refused operation changed the engine
    invariant_violations: int = 0
    first_failures: list[str] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return self.mismatches + self.half_applied_rejections + self.invariant_violations

    def fail(self, what: str) -> None:
        if len(self.first_failures) < 5:
            self.first_failures.append(what)


def apply(book, op: Operation, ts: int = 0):
    """Run ``op`` on either book at time ``ts``: its return value, or the class of the error it
    raised."""
    kind = op[0]
    try:
        if kind == "limit":
            _, side, price, qty, order_id, tif = op
            return book.limit(side, price, qty, order_id, agent_id=3, ts=ts, tif=tif)
        if kind == "market":
            _, side, qty, order_id = op
            return book.market(side, qty, order_id, agent_id=4, ts=ts)
        if kind == "cancel":
            return book.cancel(op[1])
        if kind == "reduce":
            return book.reduce(op[1], op[2])
        _, order_id, price, qty = op
        return book.modify(order_id, price, qty, ts=ts)
    except (OrderBookError, TypeError) as error:
        return type(error)


def _state(book: OrderBook) -> tuple:
    return book.orders_array().tolist(), book.fills.tolist(), book.last_outcome


def invariant_problems(book: OrderBook) -> list[str]:
    """What is wrong with the engine's state (empty when it is consistent)."""
    problems = []
    bid, ask = book.best_bid, book.best_ask
    if bid is not None and ask is not None and bid >= ask:
        problems.append(f"crossed book: bid {bid} >= ask {ask}")
    orders = book.orders_array()
    if len(orders) != len(book):
        problems.append(f"len {len(book)} but {len(orders)} resting orders")
    for side in (1, -1):
        for price in np.unique(orders["price"][orders["side"] == side]).tolist():
            queue = book.level_queue(side, price)
            total = book.level_volume(side, price)
            if total != sum(queue["qty"].tolist()) or not 0 < total <= MAX_QTY:
                problems.append(f"level {side}:{price} total {total} is not its queue's sum")
            if (np.diff(queue["ts"]) < 0).any():
                problems.append(f"FIFO broken at {side}:{price}")
    problems += [f"resting id {oid} not found" for oid in orders["order_id"].tolist()
                 if oid not in book]
    return problems


def check_operations(ops: Sequence[Operation], report: FuzzReport | None = None) -> FuzzReport:
    """Run ``ops`` on a fresh engine and reference; count disagreements into ``report``."""
    report = FuzzReport() if report is None else report
    engine, reference = OrderBook(TICK), ReferenceBook(TICK)
    for step, op in enumerate(ops):
        before = _state(engine)
        got, want = apply(engine, op, step), apply(reference, op, step)
        report.operations += 1
        if isinstance(got, type):
            report.rejections += 1
            if _state(engine) != before:
                report.half_applied_rejections += 1
                report.fail(f"step {step} {op!r}: refused with {got.__name__} but changed the book")
        if got != want or (not isinstance(got, type) and (
                engine.fills.tolist() != reference.fills
                or engine.last_outcome != reference.last_outcome)):
            report.mismatches += 1
            report.fail(f"step {step} {op!r}: engine {got}, reference {want}")
        elif engine.orders_array().tolist() != reference.orders_list():
            report.mismatches += 1
            report.fail(f"step {step} {op!r}: resting orders differ")
        problems = invariant_problems(engine)
        if problems:
            report.invariant_violations += 1
            report.fail(f"step {step} {op!r}: {problems[0]}")
    return report


def _value(rng: np.random.Generator, ordinary, special: Sequence[int]):
    """Mostly ``ordinary``; sometimes an edge value; sometimes as a numpy scalar."""
    value = special[rng.integers(len(special))] if rng.random() < 0.08 else ordinary
    if isinstance(value, int) and not isinstance(value, bool) and rng.random() < 0.1 \
            and -(2**63) <= value < 2**63:
        return np.int64(value)
    return value


def random_operations(rng: np.random.Generator, n: int) -> list[Operation]:
    """``n`` operations with ids drawn from a small pool (so ids are re-used) and edge values."""
    ops: list[Operation] = []
    for _ in range(n):
        r = rng.random()
        side = _value(rng, int(rng.choice((1, -1))), SPECIAL_SIDES)
        order_id = _value(rng, int(rng.integers(0, 40)), SPECIAL_IDS)
        price = _value(rng, int(rng.choice(PRICES)), SPECIAL_PRICES)
        qty = _value(rng, int(rng.integers(1, 20)), SPECIAL_QTYS)
        if r < 0.45:
            ops.append(("limit", side, price, qty, order_id, int(rng.choice(TIFS))))
        elif r < 0.55:
            ops.append(("market", side, qty, order_id))
        elif r < 0.75:
            ops.append(("cancel", order_id))
        elif r < 0.87:
            ops.append(("reduce", order_id, qty))
        else:
            ops.append(("modify", order_id, price, qty))
    return ops
