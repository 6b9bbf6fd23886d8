"""Token sequences for training and evaluating the LMM.

Position i of a sequence holds order token ``t_i`` and the conditions of the book the *next*
order sees (its book volumes and change since the open), with the time of day of order i (the
next order's time is part of what is predicted: its interval bin). The target of position i is
``t_{i+1}``. Windows never cross sources or splits. Sequences for the ensemble's order model also
carry the plan of the minute each position lies in: any :class:`PlanRows` (the ensemble's
:class:`mars_gym.ensemble.plan.MinutePlans`, a layer above this one).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import torch

from mars_gym.data.schema import EventStream
from mars_gym.lmm.model import ConditionTensors
from mars_gym.tokens.conditions import Conditions
from mars_gym.tokens.order_tokenizer import OrderTokenizer, TokenizedStream


class PlanRows(Protocol):
    """Minute plans that order positions read: ``plans`` (m, plan features), one row per
    minute, and the row of each time."""

    @property
    def plans(self) -> np.ndarray: ...

    def rows(self, time_ns: np.ndarray) -> np.ndarray: ...


def torch_conditions(cond: Conditions,
                     plan: np.ndarray | None = None) -> ConditionTensors:
    """Tokenizer conditions of B positions as (B, 1) model inputs (``plan``: the minute plan
    (F,) they all read, for an ensemble model)."""
    plan_input = None if plan is None else (
        torch.from_numpy(np.asarray(plan, dtype=np.float32))[None, None]
        .expand(len(cond), 1, -1).contiguous())
    return ConditionTensors(torch.from_numpy(np.ascontiguousarray(cond.book))[:, None],
                      torch.from_numpy(cond.time_of_day)[:, None],
                      torch.from_numpy(cond.change)[:, None],
                      torch.from_numpy(cond.source)[:, None], plan_input)


@dataclass
class TokenSequence:
    """One source's split as model inputs: ``inputs[i]`` predicts ``targets[i]``."""

    name: str
    inputs: np.ndarray       # int64 (n,)
    targets: np.ndarray      # int64 (n,)
    book: np.ndarray         # float32 (n, book features)
    time_of_day: np.ndarray  # int64 (n,)
    change: np.ndarray       # int64 (n,)
    source: np.ndarray       # int64 (n,)
    plan_row: np.ndarray | None = None  # int64 (n,): each position's row of ``plans``
    plans: np.ndarray | None = None     # float32 (m, plan features): the minutes' plans

    def __len__(self) -> int:
        return len(self.inputs)

    def head(self, fraction: float) -> TokenSequence:
        """The first ``fraction`` of the sequence (in time), for data-scaling runs."""
        n = max(2, int(len(self) * fraction))
        return replace(self, inputs=self.inputs[:n], targets=self.targets[:n],
                       book=self.book[:n], time_of_day=self.time_of_day[:n],
                       change=self.change[:n], source=self.source[:n],
                       plan_row=None if self.plan_row is None else self.plan_row[:n])


def build_sequence(tokenizer: OrderTokenizer, stream: EventStream,
                   plans: PlanRows | None = None) -> TokenSequence:
    """A stream's sequence; with ``plans``, each position also reads its minute's plan."""
    encoded = tokenizer.encode(stream)
    sequence = _sequence(stream.source.name, encoded)
    if plans is None:
        return sequence
    return replace(sequence, plan_row=plans.rows(encoded.orders["time_ns"][:-1]),
                   plans=plans.plans)


def _sequence(name: str, tokens: TokenizedStream) -> TokenSequence:
    c = tokens.conditions
    if len(tokens.ids) < 2:
        raise ValueError(f"{name}: fewer than 2 orders, nothing to predict")
    return TokenSequence(name, tokens.ids[:-1], tokens.ids[1:], c.book[1:],
                         c.time_of_day[:-1], c.change[1:], c.source[:-1])


def _batch(sequence: TokenSequence, starts: np.ndarray, length: int):
    index = starts[:, None] + np.arange(length)[None, :]
    plan = (None if sequence.plans is None
            else torch.from_numpy(sequence.plans[sequence.plan_row[index]]))
    cond = ConditionTensors(torch.from_numpy(sequence.book[index]),
                      torch.from_numpy(sequence.time_of_day[index]),
                      torch.from_numpy(sequence.change[index]),
                      torch.from_numpy(sequence.source[index]), plan)
    return (torch.from_numpy(sequence.inputs[index]), cond,
            torch.from_numpy(sequence.targets[index]))


def sample_batch(sequences: list[TokenSequence], batch: int, length: int,
                 rng: np.random.Generator):
    """Random windows, sources drawn in proportion to their length; ``(tokens, cond, targets)``."""
    usable = [s for s in sequences if len(s) >= length]
    if not usable:
        raise ValueError(f"no sequence is as long as the window ({length})")
    weights = np.array([len(s) - length + 1 for s in usable], dtype=float)
    choice = rng.choice(len(usable), size=batch, p=weights / weights.sum())
    parts = []
    for k in np.unique(choice):
        count = int((choice == k).sum())
        parts.append(_batch(usable[k], rng.integers(0, len(usable[k]) - length + 1, count), length))
    tokens = torch.cat([p[0] for p in parts])
    cond = ConditionTensors.cat([p[1] for p in parts], dim=0)
    return tokens, cond, torch.cat([p[2] for p in parts])


def evaluation_windows(sequence: TokenSequence, length: int, max_windows: int | None = None):
    """Consecutive non-overlapping windows covering the sequence (the tail window is shorter)."""
    starts = list(range(0, len(sequence), length))
    if max_windows is not None and len(starts) > max_windows:
        keep = np.linspace(0, len(starts) - 1, max_windows).round().astype(int)
        starts = [starts[k] for k in keep]
    for start in starts:
        stop = min(start + length, len(sequence))
        yield _batch(sequence, np.array([start]), stop - start)


def history_inputs(tokenizer: OrderTokenizer, history: EventStream,
                   live: Conditions, max_orders: int,
                   plans: PlanRows | None = None):
    """Model inputs (1, n) for a real history ending now: its last ``max_orders`` orders, each
    position conditioned as in training, the last one on the live book ``live`` (one row).
    An ensemble model also reads ``plans``, whose last row is the plan of the live minute."""
    encoded = tokenizer.encode(history)  # once: the sequence and its last order come from it
    sequence = _sequence(history.source.name, encoded)
    n = min(len(sequence), max_orders - 1)
    tokens = np.r_[sequence.inputs[-n:], int(encoded.ids[-1])]
    last_tod = encoded.conditions.time_of_day[-1]
    plan = None
    if plans is not None:
        rows = plans.rows(encoded.orders["time_ns"][:-1][-n:])
        plan = torch.from_numpy(np.concatenate([plans.plans[rows], plans.plans[-1:]]))[None]
    cond = ConditionTensors(
        torch.from_numpy(np.concatenate([sequence.book[-n:], live.book]))[None],
        torch.from_numpy(np.r_[sequence.time_of_day[-n:], last_tod])[None],
        torch.from_numpy(np.r_[sequence.change[-n:], live.change])[None],
        torch.from_numpy(np.r_[sequence.source[-n:], live.source])[None], plan)
    return torch.from_numpy(tokens)[None], cond
