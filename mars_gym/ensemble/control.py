"""Steering generation: the live minute half of the ensemble and the targets it steers towards.

A :class:`LivePlanner` follows one generated stream minute by minute. It starts from the real
minutes before the start (their codes, and their real plans for the order model's history)
and keeps the image of the minute being generated from the orders the flow emits. When a
minute starts it draws ``candidates`` next minutes from the minute model given the minutes so
far, decodes them, and hands the order model the plan of the candidate closest to the
:class:`PlanTarget` (without a target: the first draw, i.e. a plain sample).

Targets are a value of one statistic of a minute's (expected) order counts:

* ``pressure``: (buys priced above the minute's opening mid - sells priced below it) / (all
  buys and sells): +1 is one-sided marketable buying, -1 selling. ``drop`` / ``rise`` ask for
  -1 / +1 (the most one-sided candidate wins);
* ``activity``: orders per minute. ``quiet`` / ``busy`` ask for 0 / the most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mars_gym.data.schema import EventStream
from mars_gym.data.units import NS_PER_MIN
from mars_gym.ensemble.plan import MinutePlans, code_plans, plan_features
from mars_gym.ensemble.tilt import PlanTilt
from mars_gym.minutes.data import minute_features, minute_series
from mars_gym.minutes.model import GRID_CELLS, MinuteModel
from mars_gym.minutes.tokenizer import MinuteTokenizer
from mars_gym.tokens.images import IMAGE_SHAPE, OrderImager

STATISTICS = ("pressure", "activity")
RATE_WINDOW_S = 5.0  # seconds of the last minute's rate in the flow's live rate (guidance)
NAMED_TARGETS = {"drop": ("pressure", -1.0), "rise": ("pressure", 1.0),
                 "quiet": ("activity", 0.0), "busy": ("activity", float("inf"))}


def minute_statistic(name: str, counts: np.ndarray, imager: OrderImager) -> np.ndarray:
    """``name`` (see the module docstring) of count images (n, 3, 32, 32)."""
    counts = np.asarray(counts, dtype=float)
    if name == "activity":
        return counts.sum(axis=(1, 2, 3))
    if name != "pressure":
        raise ValueError(f"unknown statistic {name!r}; choose one of {STATISTICS}")
    centre = imager.price_bins.means()
    by_price = counts.sum(axis=3)  # (n, 3, slots)
    above = np.zeros(by_price.shape[2], dtype=bool)
    above[:len(centre)] = centre > 0
    below = np.zeros_like(above)
    below[:len(centre)] = centre < 0
    lifting = by_price[:, 0, above].sum(1) - by_price[:, 1, below].sum(1)
    return lifting / np.maximum(by_price[:, :2].sum(axis=(1, 2)), 1.0)


@dataclass(frozen=True)
class PlanTarget:
    """A wanted value of a minute statistic (see the module docstring)."""

    statistic: str
    value: float

    def __post_init__(self) -> None:
        if self.statistic not in STATISTICS:
            raise ValueError(f"unknown statistic {self.statistic!r}; choose one of "
                             f"{STATISTICS}")

    @classmethod
    def parse(cls, text: str) -> PlanTarget:
        """``drop`` / ``rise`` / ``quiet`` / ``busy``, or ``STATISTIC=VALUE``
        (``pressure=-0.3``, ``activity=200``)."""
        if text in NAMED_TARGETS:
            return cls(*NAMED_TARGETS[text])
        name, sep, value = text.partition("=")
        try:
            if not sep:
                raise ValueError(text)
            return cls(name.strip(), float(value))
        except ValueError:
            raise ValueError(f"bad target {text!r}: use one of {sorted(NAMED_TARGETS)} or "
                             f"STATISTIC=VALUE with STATISTIC in {STATISTICS}") from None

    def distance(self, counts: np.ndarray, imager: OrderImager) -> np.ndarray:
        """How far each image's statistic is from the target (an infinite target: the
        negated statistic, so the largest wins)."""
        value = minute_statistic(self.statistic, counts, imager)
        return -value if np.isinf(self.value) else np.abs(value - self.value)


class LivePlanner:
    """The minute half of the ensemble for one generated stream (see the module docstring).

    ``history`` holds the real events before the start (its whole minutes are the minute
    model's context; its source is the stream's); ``session_open``: the mid the minutes'
    returns since the open start from (the day's open)."""

    def __init__(self, tokenizer: MinuteTokenizer, model: MinuteModel, history: EventStream,
                 session_open: float, target: PlanTarget | None = None,
                 candidates: int = 16, tilt: PlanTilt | None = None) -> None:
        self.imager = tokenizer.imager_for(history.source)
        if candidates < 1:
            raise ValueError(f"candidates must be at least 1, got {candidates}")
        self.tokenizer, self.model = tokenizer, model.eval()
        self.source_id, self.history, self.session_open = (history.source.source_id, history,
                                                           session_open)
        self.target, self.candidates = target, candidates if target is not None else 1
        self.tilt = tilt
        self.chosen: list[np.ndarray] = []  # the counts behind each generated minute's plan

    def reset(self, seed: int, start_ns: int, mid: float) -> MinutePlans:
        """Start at ``start_ns`` with the live mid; the plans of the history's minutes, the
        last row the plan of the minute the start lies in."""
        self.generator = torch.Generator().manual_seed(seed)
        self.minute, self.time_ns = int(start_ns) // NS_PER_MIN, int(start_ns)
        self.image = np.zeros(IMAGE_SHAPE, dtype=np.int32)
        self.codes = np.zeros((0, GRID_CELLS), dtype=np.int64)
        self.minutes, self.open_mids = [], []
        self.chosen = []
        plans = []
        if len(self.history):
            series = minute_series(self.imager, self.history, 0, self.session_open)
            whole = series.minute < self.minute
            self.codes = self.tokenizer.encode(series.images[whole]).reshape(-1, GRID_CELLS)
            self.minutes, self.open_mids = list(series.minute[whole]), list(series.open_mid[whole])
            if (~whole).any():  # the start's own minute began in the history
                self.image = series.images[~whole][0].copy()
                mid = float(series.open_mid[~whole][0])
            if len(self.codes):
                plans.append(code_plans(self.tokenizer, self.codes))
        self._open(self.minute, mid)
        self.rate_before = (series.images[whole][-1].sum() if len(self.codes)
                            else self.expected_orders) / (NS_PER_MIN / 1e9)
        return MinutePlans(np.asarray(self.minutes, dtype=np.int64), 0,
                           np.concatenate(plans + [self.plan_now[None]]))

    def plan(self, time_ns: int, mid: float) -> np.ndarray:
        """The plan (PLAN_FEATURES,) of the minute ``time_ns`` lies in, closing the minutes
        that ended before it (``mid``: the live mid, the next minute's origin)."""
        minute = int(time_ns) // NS_PER_MIN
        self.time_ns = int(time_ns)
        if minute > self.minute:
            self.rate_before = self.image.sum() / (NS_PER_MIN / 1e9)
            while self.minute < minute:  # close the minute, then any empty ones after it
                code = self.tokenizer.encode(self.image[None]).reshape(1, GRID_CELLS)
                self.codes = np.concatenate([self.codes, code])
                self.image = np.zeros(IMAGE_SHAPE, dtype=np.int32)
                self.minute += 1
                if self.minute < minute:
                    self.minutes.append(self.minute)
                    self.open_mids.append(mid)
            self._open(minute, mid)
        return self.plan_now

    def record(self, kind: int, price: int, size: int, count: int = 1) -> None:
        """Count an order of the stream into the image of the minute being generated
        (``count=-1`` takes a withdrawn order back; not below zero, as the withdrawn order may
        have opened the minute)."""
        channel, price_slot, volume_slot = self.imager.cells(
            [kind], [price - self.open_mids[-1]], [size])
        cell = channel[0], price_slot[0], volume_slot[0]
        self.image[cell] = max(self.image[cell] + count, 0)

    def _open(self, minute: int, mid: float) -> None:
        self.minutes.append(minute)
        self.open_mids.append(mid)
        counts = self._candidates()
        best = 0 if self.target is None else int(np.argmin(self.target.distance(
            counts, self.imager)))
        self.chosen.append(counts[best])
        expected = counts.mean(axis=0)
        self.expected_orders = float(expected.sum())
        self.shares_now = None if self.tilt is None else self.tilt.shares(counts[best], expected)
        self.plan_now = plan_features(counts[best:best + 1])[0]

    def bias(self, mid: float) -> list[torch.Tensor] | None:
        """Biases (batch of 1) of the next order token's parts towards the current minute's
        chosen plan (:mod:`mars_gym.ensemble.tilt`; ``mid``: the live mid); ``None`` without a
        tilt or a target."""
        if self.shares_now is None:
            return None
        seconds_in = (self.time_ns - self.minute * NS_PER_MIN) / 1e9
        left = max(NS_PER_MIN / 1e9 - seconds_in, RATE_WINDOW_S)
        done = float(self.image.sum())
        needed = max(float(self.chosen[-1].sum()) - done, 0.0) / left
        # the flow's rate: this minute's orders, with the last minute's rate as a short prior
        now = (done + self.rate_before * RATE_WINDOW_S) / (seconds_in + RATE_WINDOW_S)
        bias = self.tilt.biases(self.shares_now, mid - self.open_mids[-1], needed, now)
        return None if bias is None else [torch.from_numpy(b)[None] for b in bias]

    @torch.no_grad()
    def _candidates(self) -> np.ndarray:
        """Expected counts (n, 3, 32, 32) of ``candidates`` draws of the minute just opened."""
        if len(self.codes) == 0:  # no history: the source's code frequencies
            probs = self.model.prior[self.source_id].softmax(-1)
            drawn = torch.multinomial(probs, self.candidates, replacement=True,
                                      generator=self.generator).T
        else:
            features = minute_features(np.asarray(self.minutes), 0, np.asarray(self.open_mids),
                                       self.session_open)
            context = self.model.config.context
            codes = torch.as_tensor(self.codes[-context:])[None]
            drawn = self.model.sample(codes, torch.as_tensor(features[1:][-context:])[None],
                                      torch.tensor([self.source_id]), self.generator,
                                      self.candidates)[:, 0]
        return self.tokenizer.decode(drawn.numpy().reshape(-1, 8, 8))
