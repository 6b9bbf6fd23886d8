"""Minute plans: what the order model of the ensemble reads from the order-batch series.

A plan summarises one minute's order image as :data:`PLAN_FEATURES` floats, ``log(1 + n)`` of
the minute's number of orders per channel and price slot (3 x 32) and per channel and volume
slot (3 x 32): where the minute's buys, sells and cancels sit and how large they are. Every
order position of the minute reads its minute's plan (:class:`mars_gym.lmm.model.LMMConfig`
``plan_features``).

* The **real** plan of a minute is its image as the minute tokenizer sees it: its codes,
  decoded to expected counts. The order model is trained on these.
* A **predicted** plan is the same thing for codes the minute model samples from the real
  minutes before it (the first minute of a series, with no history, from the source's code
  frequencies). This is what the order model reads when it generates, so its validation loss
  with predicted plans is the honest measure of the ensemble; with real plans it is an oracle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mars_gym.data.units import NS_PER_MIN
from mars_gym.minutes.codes import CodeSeries, next_minute_logits
from mars_gym.minutes.data import MinuteSeries
from mars_gym.minutes.model import GRID_CELLS, MinuteModel
from mars_gym.minutes.tokenizer import MinuteTokenizer
from mars_gym.tokens.images import N_CHANNELS, N_PRICE_SLOTS, N_VOLUME_SLOTS

PLAN_FEATURES = N_CHANNELS * (N_PRICE_SLOTS + N_VOLUME_SLOTS)


def plan_features(counts: np.ndarray) -> np.ndarray:
    """Plans (n, PLAN_FEATURES) of count images or expected counts (n, 3, 32, 32)."""
    counts = np.asarray(counts, dtype=np.float32)
    n = len(counts)
    by_price, by_volume = counts.sum(-1).reshape(n, -1), counts.sum(-2).reshape(n, -1)
    return np.log1p(np.concatenate([by_price, by_volume], axis=1)).astype(np.float32)


def code_plans(tokenizer: MinuteTokenizer, codes: np.ndarray) -> np.ndarray:
    """Plans (n, PLAN_FEATURES) of minutes given their codes (n, 64): decoded, summarised."""
    return plan_features(tokenizer.decode(np.asarray(codes).reshape(len(codes), 8, 8)))


@dataclass(frozen=True)
class MinutePlans:
    """The plan of each minute of one stream."""

    minute: np.ndarray  # int64 (m,): increasing minute indices
    offset_ns: int
    plans: np.ndarray   # float32 (m, PLAN_FEATURES)

    def rows(self, time_ns: np.ndarray) -> np.ndarray:
        """The plan row of each time: its minute's, else the last minute before it (the first
        minute for times before them all)."""
        minute = (np.asarray(time_ns, dtype=np.int64) - self.offset_ns) // NS_PER_MIN
        return np.clip(np.searchsorted(self.minute, minute, side="right") - 1, 0,
                       len(self.minute) - 1)


class Planner:
    """Real and predicted plans of minute series (see the module docstring)."""

    def __init__(self, tokenizer: MinuteTokenizer, model: MinuteModel | None = None) -> None:
        self.tokenizer, self.model = tokenizer, model

    def plans(self, series: MinuteSeries, codes: np.ndarray) -> MinutePlans:
        """The plans of a series' minutes given their codes (n, 64)."""
        return MinutePlans(series.minute, series.offset_ns, code_plans(self.tokenizer, codes))

    def real(self, series: MinuteSeries) -> MinutePlans:
        return self.plans(series, self.tokenizer.encode(series.images).reshape(len(series), -1))

    @torch.no_grad()
    def predicted_codes(self, series: MinuteSeries, generator: torch.Generator) -> np.ndarray:
        """One sample (n, 64) of every minute's codes from the real minutes before it."""
        if self.model is None:
            raise ValueError("predicted plans need the minute model")
        self.model.eval()
        real = self.tokenizer.encode(series.images).reshape(len(series), GRID_CELLS)
        prior = self.model.prior[series.source_id]  # (64, K) log frequencies
        out = np.empty_like(real)
        out[0] = torch.multinomial(prior.softmax(-1), 1, generator=generator)[:, 0].numpy()
        for first, logits in next_minute_logits(self.model, CodeSeries(series, real)):
            drawn = torch.multinomial(logits.softmax(-1).flatten(0, 1), 1, generator=generator)
            out[first:first + len(logits)] = drawn.reshape(len(logits), GRID_CELLS).numpy()
        return out

    def predicted(self, series: MinuteSeries, generator: torch.Generator) -> MinutePlans:
        return self.plans(series, self.predicted_codes(series, generator))
