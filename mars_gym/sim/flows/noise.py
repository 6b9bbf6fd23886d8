"""The MarS noise agent: random orders around the best bid from fixed tables.

Every ``interval_ns`` it sends one order: buy, sell or cancel with probabilities 0.4 / 0.4 / 0.2.
A buy or sell is a limit order at the best bid plus an offset of {0, +1, -1, +2} ticks with
probabilities {0.35, 0.35, 0.15, 0.15} (so a sell at or below the bid, or a buy at two ticks
above it in a one-tick spread, trades at once), sized from {100, 200, 500, 1000, 2000} with
probabilities {0.5, 0.3, 0.15, 0.025, 0.025} in units of ``volume_scale / 100`` lots (100 shares
when the scale is the usual 100-share order). A cancel picks a side at random and cancels a
background order nearest the touch of that side (see :mod:`mars_gym.sim.background_orders`).
When the book has no bid, the price is taken from the best ask (minus one tick) or, with an
empty book, from the last price it used (``initial_price`` before any). The flow does not react
to anything but the best bid.
"""

from __future__ import annotations

import numpy as np

from lob_core import OrderBook
from mars_gym.sim.flows.base import FlowOrder
from mars_gym.sim.flows.draws import Categorical, Uniforms
from mars_gym.tokens.orders import BUY_ORDER, CANCEL_ORDER, SELL_ORDER

KINDS = Categorical([BUY_ORDER, SELL_ORDER, CANCEL_ORDER], [0.4, 0.4, 0.2])
OFFSETS = Categorical([0, 1, -1, 2], [0.35, 0.35, 0.15, 0.15])
VOLUMES = Categorical([100, 200, 500, 1000, 2000], [0.5, 0.3, 0.15, 0.025, 0.025])


class NoiseFlow:
    """MarS noise agent (see the module docstring)."""

    def __init__(self, interval_ns: int, volume_scale: float = 100.0,
                 initial_price: int = 10_000) -> None:
        if interval_ns <= 0:
            raise ValueError(f"interval_ns must be positive, got {interval_ns}")
        self.interval_ns = int(interval_ns)
        self.volume_scale = float(volume_scale)
        self.initial_price = int(initial_price)

    def reset(self, seed: int, book: OrderBook, start_ns: int) -> None:
        # every draw is one uniform double (numpy's choice with p is one), taken in chunks
        self.uniforms = Uniforms(np.random.default_rng(seed))
        self.book = book
        self.time_ns = int(start_ns)
        self.last_price = self.initial_price
        self._reference_price()

    def _reference_price(self) -> int:
        if self.book.best_bid is not None:
            self.last_price = self.book.best_bid
        elif self.book.best_ask is not None:
            self.last_price = self.book.best_ask - 1
        return self.last_price

    def next_order(self) -> FlowOrder:
        self.time_ns += self.interval_ns
        uniform = self.uniforms.next
        kind = KINDS.pick(uniform())
        if kind == CANCEL_ORDER:
            side = 1 if uniform() < 0.5 else -1
            touch = self.book.best_bid if side > 0 else self.book.best_ask
            return FlowOrder(self.time_ns, kind, side, touch or self._reference_price(), 1 << 62)
        price = max(1, self._reference_price() + OFFSETS.pick(uniform()))
        volume = VOLUMES.pick(uniform())
        size = max(1, round(volume * self.volume_scale / 100))
        return FlowOrder(self.time_ns, kind, 1 if kind == BUY_ORDER else -1, price, size)
