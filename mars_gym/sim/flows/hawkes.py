"""A Hawkes zero-intelligence flow calibrated on training data.

Order arrivals follow a univariate Hawkes process with exponential kernel,
``lambda(t) = mu + alpha * sum_i exp(-beta (t - t_i))`` (per second), fitted by maximum
likelihood on the training orders' times (``alpha = 0`` is the Poisson special case). Each
arrival carries independent marks drawn from the training orders' empirical distributions:

* kind (buy / sell / cancel) with its training frequency;
* for a buy or sell, its depth behind the same-side touch in ticks (``side * (touch - price)``:
  0 joins the touch, negative improves it and crosses when it passes the opposite touch) and
  its size;
* for a cancel, the side and depth behind the touch of the order cancelled (the nearest
  background order there is cancelled, :mod:`mars_gym.sim._event_loop`) and the size.

It reacts to the book only through the touch prices (an empty side is priced from the other
side, an empty book from the last price it saw); it has no memory of marks. Its draws run in C
(:class:`~mars_gym.sim._event_loop.HawkesDraws`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import minimize

from lob_core import OrderBook
from mars_gym.data.orders import BUY_ORDER, CANCEL_ORDER, SELL_ORDER, events_to_orders
from mars_gym.data.schema import EventStream
from mars_gym.sim._event_loop import HawkesDraws
from mars_gym.sim.flows._hawkes import excitation
from mars_gym.sim.flows.base import FlowOrder
from mars_gym.sim.flows.draws import Categorical


def hawkes_log_likelihood(times_s: np.ndarray, mu: float, alpha: float, beta: float) -> float:
    """Log-likelihood of event times (seconds from the window start) on [0, times[-1]]."""
    horizon = times_s[-1]
    compensator = mu * horizon + alpha / beta * np.sum(1 - np.exp(-beta * (horizon - times_s)))
    return float(np.sum(np.log(mu + alpha * excitation(times_s, beta))) - compensator)


def fit_hawkes(times_ns: np.ndarray) -> tuple[float, float, float]:
    """Maximum-likelihood ``(mu, alpha, beta)`` (per second) with a branching ratio below 1."""
    times_s = (np.asarray(times_ns, dtype=np.float64) - times_ns[0]) / 1e9
    if len(times_s) < 10 or times_s[-1] <= 0:
        raise ValueError("need at least 10 orders over a positive time span to fit a Hawkes flow")
    rate = len(times_s) / times_s[-1]

    def negative(params: np.ndarray) -> float:
        mu, ratio, beta = np.exp(params[0]), 1 / (1 + np.exp(-params[1])), np.exp(params[2])
        return -hawkes_log_likelihood(times_s, mu, ratio * beta, beta)

    best = None
    # the simplex may wander where the likelihood overflows (nan there, never chosen)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for start_ratio, start_beta in ((0.5, 1.0), (0.8, 10.0), (0.3, 100.0)):
            x0 = np.array([np.log(rate * (1 - start_ratio)),
                           np.log(start_ratio / (1 - start_ratio)), np.log(start_beta)])
            result = minimize(negative, x0, method="Nelder-Mead",
                              options={"maxiter": 600, "xatol": 1e-4, "fatol": 1e-3})
            if best is None or result.fun < best.fun:
                best = result
    assert best is not None  # at least one start was tried
    mu, ratio, beta = (np.exp(best.x[0]), 1 / (1 + np.exp(-best.x[1])), np.exp(best.x[2]))
    return float(mu), float(ratio * beta), float(beta)


@dataclass(frozen=True)
class HawkesCalibration:
    mu: float                    # baseline intensity, orders per second
    alpha: float                 # jump of the intensity per order, per second
    beta: float                  # decay rate, per second
    kind_probs: np.ndarray       # P(buy), P(sell), P(cancel)
    depths: dict[int, np.ndarray]  # kind -> depths behind the same-side touch, ticks
    sizes: dict[int, np.ndarray]   # kind -> sizes, lots
    cancel_sides: np.ndarray     # sides of the cancelled orders

    @property
    def branching_ratio(self) -> float:
        return self.alpha / self.beta

    @classmethod
    def fit(cls, train: EventStream, max_orders: int = 60_000) -> HawkesCalibration:
        """Calibrate on a training stream (its last ``max_orders`` orders for the times)."""
        orders = events_to_orders(train)
        if len(orders) < 10:
            raise ValueError(f"training stream of {train.source.name} has too few orders")
        mu, alpha, beta = fit_hawkes(orders["time_ns"][-max_orders:])
        book = train.book[orders["event"]]
        touch = np.where(orders["side"] > 0, book["bid"], book["ask"])
        valid = touch > 0
        depth = orders["side"] * (touch - orders["price"])
        kinds = orders["kind"]
        probs = np.bincount(kinds, minlength=3) / len(kinds)
        depths = {k: depth[(kinds == k) & valid] for k in (BUY_ORDER, SELL_ORDER, CANCEL_ORDER)}
        sizes = {k: orders["size"][kinds == k] for k in (BUY_ORDER, SELL_ORDER, CANCEL_ORDER)}
        for k in (BUY_ORDER, SELL_ORDER, CANCEL_ORDER):
            if probs[k] > 0 and (len(depths[k]) == 0 or len(sizes[k]) == 0):
                raise ValueError(f"no usable training orders of kind {k} to calibrate on")
        return cls(mu, alpha, beta, probs, depths, sizes,
                   orders["side"][kinds == CANCEL_ORDER])

    def symmetric(self) -> HawkesCalibration:
        """The same flow with buy and sell marks pooled (equal probabilities, one depth and
        size distribution, cancels as often on either side): a flow with no built-in drift.
        Fitted on one session, the two sides' marks differ (AAPL 2012-06-21: sells rest 4
        ticks behind their touch at the median, buys 7), and a flow drawing them drifts
        (about -5 % an hour from that fit)."""
        buy_or_sell = (self.kind_probs[BUY_ORDER] + self.kind_probs[SELL_ORDER]) / 2
        probs = self.kind_probs.copy()
        probs[BUY_ORDER] = probs[SELL_ORDER] = buy_or_sell
        pooled = {name: np.concatenate([marks[BUY_ORDER], marks[SELL_ORDER]])
                  for name, marks in (("depths", self.depths), ("sizes", self.sizes))}
        return replace(
            self, kind_probs=probs,
            depths={**self.depths, BUY_ORDER: pooled["depths"], SELL_ORDER: pooled["depths"]},
            sizes={**self.sizes, BUY_ORDER: pooled["sizes"], SELL_ORDER: pooled["sizes"]},
            cancel_sides=np.concatenate([self.cancel_sides, -self.cancel_sides]))


class HawkesFlow:
    """Background flow drawing from a :class:`HawkesCalibration` (see the module docstring)."""

    def __init__(self, calibration: HawkesCalibration, initial_price: int = 10_000) -> None:
        self.calibration = calibration
        self.initial_price = int(initial_price)
        self.kinds = Categorical(range(3), calibration.kind_probs)

    def reset(self, seed: int, book: OrderBook, start_ns: int) -> None:
        self.draws = HawkesDraws(np.random.default_rng(seed), book, int(start_ns),
                                 self.calibration, self.kinds.cdf, self.initial_price)

    def next_order(self) -> FlowOrder:
        return self.draws.next_order()
