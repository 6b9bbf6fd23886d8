"""The MarS noise agent: random orders around the best bid from fixed tables.

Every ``interval_ns`` it sends one order: buy, sell or cancel with probabilities 0.4 / 0.4 / 0.2.
A buy or sell is a limit order at the best bid plus an offset of {0, +1, -1, +2} ticks with
probabilities {0.35, 0.35, 0.15, 0.15} (so a sell at or below the bid, or a buy at two ticks
above it in a one-tick spread, trades at once), sized from {100, 200, 500, 1000, 2000} with
probabilities {0.5, 0.3, 0.15, 0.025, 0.025} in units of ``volume_scale / 100`` lots (100 shares
when the scale is the usual 100-share order). A cancel picks a side at random and cancels a
background order nearest the touch of that side (see :mod:`mars_gym.sim._event_loop`).
When the book has no bid, the price is taken from the best ask (minus one tick) or, with an
empty book, from the last price it used (``initial_price`` before any). The flow does not react
to anything but the best bid. Its draws run in C (:class:`~mars_gym.sim._event_loop.NoiseDraws`).
"""

from __future__ import annotations

import numpy as np

from lob_core import OrderBook
from mars_gym.data.orders import BUY_ORDER, CANCEL_ORDER, SELL_ORDER
from mars_gym.sim._event_loop import NoiseDraws
from mars_gym.sim.flows.base import FlowOrder
from mars_gym.sim.flows.draws import Categorical

KINDS = Categorical([BUY_ORDER, SELL_ORDER, CANCEL_ORDER], [0.4, 0.4, 0.2])
OFFSETS = Categorical([0, 1, -1, 2], [0.35, 0.35, 0.15, 0.15])
VOLUMES = Categorical([100, 200, 500, 1000, 2000], [0.5, 0.3, 0.15, 0.025, 0.025])
CANCEL_SIZE = 1 << 62  # the size a cancel names: the rule then deletes the largest order there


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
        # every draw is one uniform double (numpy's choice with p is one)
        self.draws = NoiseDraws(np.random.default_rng(seed), book, int(start_ns),
                                self.interval_ns, self.volume_scale, self.initial_price, KINDS,
                                OFFSETS, VOLUMES, CANCEL_SIZE)

    def next_order(self) -> FlowOrder:
        return self.draws.next_order()
