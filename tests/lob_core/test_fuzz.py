"""Differential fuzz of the engine against the reference, edge values included (see
:mod:`lob_core.fuzz`): same results or same refusals, no half-applied refusal, invariants kept."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lob_core import fuzz

OPS_PER_EXAMPLE = 30
EXAMPLES = 400  # >= 10^4 operations per run


def _edge_or(ordinary: st.SearchStrategy, special) -> st.SearchStrategy:
    value = st.one_of(ordinary, ordinary, ordinary, ordinary, st.sampled_from(special))
    as_numpy = value.filter(lambda v: not isinstance(v, bool) and -(2**63) <= v < 2**63).map(
        np.int64)
    return st.one_of(value, value, value, as_numpy)


sides = _edge_or(st.sampled_from([1, -1]), fuzz.SPECIAL_SIDES)
ids = _edge_or(st.integers(0, 40), fuzz.SPECIAL_IDS)
prices = _edge_or(st.sampled_from(fuzz.PRICES), fuzz.SPECIAL_PRICES)
qtys = _edge_or(st.integers(1, 20), fuzz.SPECIAL_QTYS)
operation = st.one_of(
    st.tuples(st.just("limit"), sides, prices, qtys, ids, st.sampled_from(fuzz.TIFS)),
    st.tuples(st.just("limit"), sides, prices, qtys, ids, st.sampled_from(fuzz.TIFS)),
    st.tuples(st.just("market"), sides, qtys, ids),
    st.tuples(st.just("cancel"), ids),
    st.tuples(st.just("reduce"), ids, qtys),
    st.tuples(st.just("modify"), ids, prices, qtys),
)
operations_run = []


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(operation, min_size=OPS_PER_EXAMPLE, max_size=2 * OPS_PER_EXAMPLE))
def test_engine_and_reference_agree_on_edge_values_and_refusals(ops):
    report = fuzz.check_operations(ops)
    operations_run.append(report.operations)
    assert report.failures == 0, report.first_failures


def test_the_fuzz_ran_at_least_ten_thousand_operations():
    assert sum(operations_run) >= 10_000


def test_seeded_fuzz_with_every_edge_value_finds_no_failure():
    report = fuzz.check_operations(fuzz.random_operations(np.random.default_rng(0), 5_000))
    assert report.failures == 0, report.first_failures
    assert report.rejections > 200  # the edge values were really offered


def test_the_checker_sees_a_half_applied_refusal():
    """The harness itself can fail: a book that changes before refusing is caught."""

    class Leaky(fuzz.OrderBook):
        def cancel(self, order_id):
            self.limit(1, fuzz.PRICES[0], 1, 999)  # changes the book, then refuses
            raise fuzz.OrderBookError("refused")

    ops = [("limit", 1, fuzz.PRICES[0], 5, 1, fuzz.GTC), ("cancel", 1)]
    original = fuzz.OrderBook
    fuzz.OrderBook = Leaky
    try:
        report = fuzz.check_operations(ops)
    finally:
        fuzz.OrderBook = original
    assert report.half_applied_rejections == 1 and report.mismatches == 1
