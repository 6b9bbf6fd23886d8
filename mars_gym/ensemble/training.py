"""Training the ensemble's order model: the LMM fine-tuned on minute plans.

:class:`EnsemblePlans` is the :class:`~mars_gym.lmm.train.PlanSequences` that
:func:`mars_gym.lmm.train.train` takes: every position of a source's training and validation
sequences reads the real plan of its minute (:class:`mars_gym.ensemble.plan.Planner`, from the
minute tokenizer's order images); with a minute model, the validation split is also read with
the plans it predicts (``val_predicted``: the ensemble as it runs, on which the best checkpoint
is chosen). ``mars-gym train-lmm --plan-tokenizer T.pt [--plan-model M.pt]`` composes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from mars_gym.ensemble.plan import PLAN_FEATURES, Planner
from mars_gym.lmm.data import TokenSequence, build_sequence
from mars_gym.minutes.data import minute_series
from mars_gym.minutes.model import load_minute_model
from mars_gym.minutes.tokenizer import MinuteTokenizer
from mars_gym.tokens import OrderTokenizer

__all__ = ["EnsemblePlans"]


@dataclass
class EnsemblePlans:
    """Minute plans of a :class:`~mars_gym.ensemble.plan.Planner` for LMM training."""

    planner: Planner
    features: int = PLAN_FEATURES  # the width of the model's plan input

    @classmethod
    def load(cls, tokenizer: Path | str, model: Path | str | None = None) -> EnsemblePlans:
        """The plans of a saved minute tokenizer (and minute model, for predicted plans)."""
        minute_model = None if model is None else load_minute_model(model)
        return cls(Planner(MinuteTokenizer.load(tokenizer), minute_model))

    def sequences(self, tokenizer: OrderTokenizer, name: str, parts: dict,
                  data_fraction: float, generator: torch.Generator,
                  ) -> tuple[TokenSequence, TokenSequence, TokenSequence | None]:
        """Source ``name``'s training sequence with real plans (its first ``data_fraction``),
        its validation sequence with real plans and, with a minute model, with plans drawn
        from its predictions by ``generator`` (else None)."""
        imagers = self.planner.tokenizer.imagers
        if name not in imagers:
            raise KeyError(f"the minute tokenizer was not trained on {name}; it knows "
                           f"{sorted(imagers)}")
        minutes = {split: minute_series(imagers[name], parts[split]) for split in ("train", "val")}
        train = build_sequence(tokenizer, parts["train"], self.planner.real(minutes["train"]))
        val = build_sequence(tokenizer, parts["val"], self.planner.real(minutes["val"]))
        predicted = None
        if self.planner.model is not None:
            predicted = build_sequence(tokenizer, parts["val"],
                                       self.planner.predicted(minutes["val"], generator))
        return train.head(data_fraction), val, predicted
