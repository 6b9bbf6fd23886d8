"""Plan guidance: tilting the order model's draws towards the minute plan the planner chose.

The ensemble's order model reads its minute plan but, trained on real data where the recent
orders already tell most of what the next minute holds, follows it only weakly. When a target
picks one of the minute model's candidate minutes, guidance makes the orders follow the pick:
every token part is drawn from the model's logits plus

    guidance * log( q_chosen(cell) / q_expected(cell) )

where ``q`` are the shares of the minute's orders by channel, by price slot within a channel
and by volume slot within a channel, of the chosen minute and of the mean of all candidates
(what the minute model expected; both smoothed with :data:`PSEUDO_ORDERS` of the expected
minute). A token's cell is its kind's channel, the price slot of its price bin's mean offset
shifted from the live mid to the minute's opening mid, and the volume slot of its volume bin's
mean size. The interval part is closed-loop: it gets the log-likelihood ratio of exponential
waiting times at the rate that would complete the chosen minute's orders in the time left and
at the rate the flow is running at, ``-guidance * (rate_needed - rate_now) * interval`` (an
open-loop ratio against the expected minute let the flow's own busier history run away).
Without a target the chosen minute is the only candidate and nothing is tilted. The biases are
density ratios, exact for the kind part and an approximation (channel-wise marginals) for the
others; ``guidance`` 0 turns them off.
"""

from __future__ import annotations

import numpy as np

from mars_gym.tokens.images import OrderImager
from mars_gym.tokens.order_tokenizer import OrderTokenizer
from mars_gym.tokens.scheme import N_KINDS

PSEUDO_ORDERS = 20.0  # smoothing of the shares, in orders of the expected minute
MAX_BIAS = 8.0        # nats: no single ratio rules a draw out


class PlanTilt:
    """Logit biases of one source's order tokens for a chosen minute: :meth:`shares` once per
    minute, then :meth:`biases` for every order."""

    def __init__(self, tokenizer: OrderTokenizer, imager: OrderImager, source: int,
                 guidance: float) -> None:
        if guidance < 0:
            raise ValueError(f"guidance must be non-negative, got {guidance}")
        if tokenizer.price_reference != "mid":
            raise ValueError("plan guidance maps price bins to the minute image's price slots "
                             "through the mid: it needs an order tokenizer whose price reference "
                             f"is 'mid', not {tokenizer.price_reference!r}")
        scale = tokenizer.volume_scale[source]
        self.imager, self.guidance = imager, float(guidance)
        self.price_offset = np.stack([tokenizer.price_bins[k].means() for k in range(N_KINDS)])
        sizes = np.stack([tokenizer.volume_bins[k].means() for k in range(N_KINDS)]) * scale
        self.volume_slot = imager.volume_bins.transform(sizes)  # (3, 32)
        self.interval_s = tokenizer.interval_bins.means() / 1e9  # (16,)

    def shares(self, chosen: np.ndarray, expected: np.ndarray) -> tuple | None:
        """Log share ratios (by kind (3,), by channel and price slot (3, 32), by channel and
        volume slot (3, 32)) of the chosen over the expected counts (3, 32, 32) of a minute;
        ``None`` when there is nothing to tilt."""
        if self.guidance == 0 or np.array_equal(chosen, expected):
            return None
        chosen, expected = np.asarray(chosen, np.float64), np.asarray(expected, np.float64)
        # smoothing; the floor keeps cells empty in both minutes finite (their ratio is ~1)
        prior = PSEUDO_ORDERS * expected / max(expected.sum(), 1e-9) + 1e-6

        def log_ratio(axis_sum):
            c, e = axis_sum(chosen + prior), axis_sum(expected + prior)
            return np.log(c / c.sum(-1, keepdims=True)) - np.log(e / e.sum(-1, keepdims=True))

        return (log_ratio(lambda x: x.sum(axis=(1, 2))), log_ratio(lambda x: x.sum(2)),
                log_ratio(lambda x: x.sum(1)))

    def biases(self, shares: tuple | None, mid_shift: float, rate_needed: float,
               rate_now: float) -> list[np.ndarray] | None:
        """Per-part biases ``[kind (3,), price (3, 32), volume (3, 32), interval (16,)]`` given
        the minute's :meth:`shares`; ``mid_shift``: the live mid minus the minute's opening
        mid (ticks); rates in orders per second (see the module docstring). ``None`` when
        there is nothing to tilt."""
        if shares is None:
            return None
        kind, by_price, by_volume = shares
        slots = self.imager.price_bins.transform(self.price_offset + mid_shift)  # (3, 32)
        channels = np.arange(N_KINDS)[:, None]
        price, volume = by_price[channels, slots], by_volume[channels, self.volume_slot]
        interval = -(rate_needed - rate_now) * self.interval_s
        return [np.clip(self.guidance * b, -MAX_BIAS, MAX_BIAS).astype(np.float32)
                for b in (kind, price, volume, interval)]
