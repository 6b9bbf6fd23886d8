"""Code series: a source's minutes with their minute-tokenizer codes, the model's training
windows over them, and the model's next-minute logits along a series (used by training,
evaluation and the live planner alike)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mars_gym.minutes.data import MinuteSeries
from mars_gym.minutes.model import GRID_CELLS, MinuteModel
from mars_gym.minutes.tokenizer import MinuteTokenizer


@dataclass(frozen=True)
class CodeSeries:
    """A minute series with its codes (n, 64)."""

    minutes: MinuteSeries
    codes: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)


def encode_series(tokenizer: MinuteTokenizer, series: list[MinuteSeries]) -> list[CodeSeries]:
    return [CodeSeries(s, tokenizer.encode(s.images).reshape(len(s), GRID_CELLS))
            for s in series if len(s) >= 2]


def code_window(series: CodeSeries, start: int, length: int):
    """Inputs and targets of minutes start..start+length (targets: the minute after each)."""
    stop = start + length
    return (series.codes[start:stop], series.minutes.features[start + 1:stop + 1],
            series.codes[start + 1:stop + 1])


def code_batch(windows, source_ids):
    length = max(len(c) for c, _, _ in windows)
    b = len(windows)
    codes = torch.zeros(b, length, GRID_CELLS, dtype=torch.long)
    features = torch.zeros(b, length, windows[0][1].shape[1])
    targets = torch.full((b, length, GRID_CELLS), -100, dtype=torch.long)
    for i, (c, f, t) in enumerate(windows):
        codes[i, :len(c)] = torch.as_tensor(c)
        features[i, :len(f)] = torch.as_tensor(f)
        targets[i, :len(t)] = torch.as_tensor(t)
    return codes, features, torch.as_tensor(source_ids), targets


def next_minute_logits(model: MinuteModel, s: CodeSeries):
    """``(first, logits)`` pieces covering every next minute 1..n-1 of a series: ``logits``
    (m, 64, K) of minutes ``first .. first + m - 1``, each read from at most a context of
    history (after the first window, each keeps half a context before the minutes it covers)."""
    context, scored = model.config.context, 0
    while scored < len(s) - 1:
        first = max(0, scored - context // 2)
        codes, features, targets = code_window(s, first, min(context, len(s) - 1 - first))
        batch = code_batch([(codes, features, targets)], [s.minutes.source_id])
        yield scored + 1, model(*batch[:3])[0, scored - first:]
        scored = first + len(codes)
