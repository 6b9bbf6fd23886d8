"""Broken background flows against the execution env: each must be refused, quickly.

Every case is a user flow that gives valid orders (one-lot orders resting at the touch, one per
millisecond) and then goes wrong: garbage from ``next_order`` (``None``, a string, a negative
or float size, ``kind=7``, side 0, price 0, an exception) or a runaway clock (frozen, one
nanosecond per order, backwards, one order repeated at one time). For each, one ``step`` of
``MarS-Execution-v0`` on the embedded market must raise a named error, and the next ``step``
must refuse to go on until ``reset``. Prints one JSON object: per case, the error's type and
message, the seconds the step took to refuse, and the second step's refusal.

Run as ``python -m benchmarks.probe_flows``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from benchmarks.common import emit, machine
from lob_core import OrderBook
from mars_gym.data.orders import BUY_ORDER, SELL_ORDER
from mars_gym.envs.execution import ExecutionEnv
from mars_gym.sim.flows.base import FlowOrder

VALID_ORDERS = 10  # orders each probe flow gives before it goes wrong


class ProbeFlow:
    """One-lot orders resting at the touch, buys and sells in turn, ``interval_ns`` apart; from
    order ``VALID_ORDERS + 1`` on, ``bad(self)`` instead when ``bad`` is given."""

    def __init__(self, interval_ns: int = 1_000_000,
                 bad: Callable[[ProbeFlow], Any] | None = None) -> None:
        self.interval_ns, self.bad = interval_ns, bad
        self.time_ns = self.n = self.bid = self.ask = 0

    def reset(self, seed: int, book: OrderBook, start_ns: int) -> None:
        """Start at ``start_ns`` at the book's touch."""
        self.time_ns, self.n = start_ns, 0
        self.bid = book.best_bid or 100
        self.ask = book.best_ask or self.bid + 1

    def order(self) -> FlowOrder:
        """The next valid order (time moves on by ``interval_ns``)."""
        self.time_ns += self.interval_ns
        buy = self.n % 2 == 1
        return FlowOrder(self.time_ns, BUY_ORDER if buy else SELL_ORDER, 1 if buy else -1,
                         self.bid if buy else self.ask, 1)

    def next_order(self) -> Any:
        self.n += 1
        if self.bad is not None and self.n > VALID_ORDERS:
            return self.bad(self)
        return self.order()


def _raise(flow: ProbeFlow) -> FlowOrder:
    raise RuntimeError("the user's model failed")


def _backwards(flow: ProbeFlow) -> FlowOrder:
    return flow.order()._replace(time_ns=flow.time_ns - 10**9)


def _repeat(flow: ProbeFlow) -> FlowOrder:
    return FlowOrder(flow.time_ns, BUY_ORDER, 1, flow.bid, 1)  # time stays


# case -> the flow that goes wrong
CASES: dict[str, Callable[[], ProbeFlow]] = {
    "none": lambda: ProbeFlow(bad=lambda f: None),
    "string": lambda: ProbeFlow(bad=lambda f: "buy 100"),
    "negative_size": lambda: ProbeFlow(bad=lambda f: f.order()._replace(size=-5)),
    "float_size": lambda: ProbeFlow(bad=lambda f: f.order()._replace(size=1.5)),
    "kind_7": lambda: ProbeFlow(bad=lambda f: f.order()._replace(kind=7)),
    "side_0": lambda: ProbeFlow(bad=lambda f: f.order()._replace(side=0)),
    "price_0": lambda: ProbeFlow(bad=lambda f: f.order()._replace(price=0)),
    "raises": lambda: ProbeFlow(bad=_raise),
    "time_backwards": lambda: ProbeFlow(bad=_backwards),
    "frozen_clock": lambda: ProbeFlow(interval_ns=0),
    "one_ns_per_order": lambda: ProbeFlow(interval_ns=1),
    "one_order_repeated": lambda: ProbeFlow(bad=_repeat),
}


def probe(flow: ProbeFlow) -> dict[str, Any]:
    """Step an execution env on ``flow`` once, then again: what each step raised, and how long
    the first took to raise."""
    env = ExecutionEnv(flow=flow, split="test", horizon_s=60, step_s=20, quantity=500)
    env.reset(seed=0)
    started = time.perf_counter()
    result: dict[str, Any] = {"refused": False}
    try:
        env.step([0, 0])
    except Exception as error:  # noqa: BLE001  (the probe reports whatever the step raised)
        result = {"refused": True, "error": type(error).__name__, "message": str(error)}
    result["seconds"] = round(time.perf_counter() - started, 4)
    try:
        env.step([0, 0])
        result["second_step"] = "stepped"
    except Exception as error:  # noqa: BLE001  (the probe reports whatever the step raised)
        result["second_step"] = f"{type(error).__name__}: {error}"
    env.close()
    return result


def main() -> None:
    cases = {name: probe(make()) for name, make in CASES.items()}
    emit({"metric": "broken flows refused", "unit": "seconds to refuse one step",
          "refused": sum(case["refused"] for case in cases.values()), "cases": cases,
          "machine": machine()})


if __name__ == "__main__":
    main()
