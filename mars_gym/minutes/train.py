"""Training the minute model on code series, and its two reference points.

:func:`train_minute_model` (``mars-gym minute-train --tokenizer T.pt --out M.pt``:
:mod:`mars_gym.apps.minute_train`) encodes every source's minutes with the tokenizer, trains on
random windows of the training series and reports the validation cross-entropy (nats per
code, next minute given the previous ones) per source and pooled, next to

* ``unconditional``: each cell's code frequencies in the source's training minutes (add-0.5
  smoothing);
* ``repeat_last``: the last minute's code with probability ``1 - eps``, else the
  unconditional distribution, ``eps`` chosen on the training minutes.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from mars_gym.minutes.codes import (
    CodeSeries,
    code_batch,
    code_window,
    encode_series,
    next_minute_logits,
)
from mars_gym.minutes.data import load_minutes
from mars_gym.minutes.model import (
    GRID_CELLS,
    MinuteModel,
    MinuteModelConfig,
)
from mars_gym.minutes.recipe import MinuteModelTraining
from mars_gym.minutes.tokenizer import MinuteTokenizer

SMOOTHING = 0.5
EPS_GRID = np.geomspace(1e-3, 0.999, 40)


class CodeBaselines:
    """The unconditional and repeat-last references (see the module docstring)."""

    def __init__(self, train: list[CodeSeries], codebook_size: int) -> None:
        self.codebook_size = codebook_size
        self.frequencies: dict[int, np.ndarray] = {}
        for s in train:
            counts = self.frequencies.setdefault(s.minutes.source_id,
                                                 np.zeros((GRID_CELLS, codebook_size)))
            np.add.at(counts, (np.tile(np.arange(GRID_CELLS), len(s)), s.codes.ravel()), 1)
        self.unigram = {k: (v + SMOOTHING) / (v + SMOOTHING).sum(1, keepdims=True)
                        for k, v in self.frequencies.items()}
        losses = [np.mean([self._repeat_nll(s, eps) for s in train]) for eps in EPS_GRID]
        self.eps = float(EPS_GRID[int(np.argmin(losses))])

    def _unigram_p(self, s: CodeSeries) -> np.ndarray:
        """Unconditional probability of each target code (n - 1, 64)."""
        table = self.unigram[s.minutes.source_id]
        return table[np.arange(GRID_CELLS), s.codes[1:]]

    def _repeat_nll(self, s: CodeSeries, eps: float) -> float:
        same = s.codes[1:] == s.codes[:-1]
        return float(-np.log((1 - eps) * same + eps * self._unigram_p(s)).mean())

    def nll(self, series: list[CodeSeries]) -> dict[str, float]:
        """Mean nats per code of each reference over the series' next minutes."""
        weights = np.array([len(s) - 1 for s in series], dtype=float)
        unconditional = [-np.log(self._unigram_p(s)).mean() for s in series]
        repeat = [self._repeat_nll(s, self.eps) for s in series]
        return {"unconditional": float(np.average(unconditional, weights=weights)),
                "repeat_last": float(np.average(repeat, weights=weights))}


@torch.no_grad()
def model_nll(model: MinuteModel, series: list[CodeSeries]) -> float:
    """Mean nats per code over every next minute of the series (:func:`next_minute_logits`)."""
    model.eval()
    total, count = 0.0, 0
    for s in series:
        for first, logits in next_minute_logits(model, s):
            targets = torch.as_tensor(s.codes[first:first + len(logits)])
            total += float(torch.nn.functional.cross_entropy(
                logits.flatten(0, 1), targets.flatten(), reduction="sum"))
            count += targets.numel()
    return total / count


def validation_report(model: MinuteModel, baselines: CodeBaselines,
                      val: list[CodeSeries]) -> dict:
    out = {}
    for name in sorted({s.minutes.source for s in val}) + ["all"]:
        part = [s for s in val if name in ("all", s.minutes.source)]
        out[name] = {"minutes": int(sum(len(s) - 1 for s in part)), "model": model_nll(model, part),
                     **baselines.nll(part)}
    return out


def train_minute_model(tokenizer: MinuteTokenizer, training: MinuteModelTraining | None = None,
                      config: MinuteModelConfig | None = None) -> tuple[MinuteModel, dict]:
    """Train as ``training`` says (None: :class:`MinuteModelTraining`'s defaults) on the
    sources' training code series (a model of ``config``'s shape, default: ``training.layers``
    x ``training.width``); return the model of the best validation loss (measured every
    ``training.eval_every`` steps: a few thousand training minutes are overfitted quickly) and
    its report, with the test split scored once at the end."""
    training = training or MinuteModelTraining()
    sources = list(training.sources or tokenizer.imagers)
    data_dir, seed, steps, eval_every = (training.data_dir, training.seed, training.steps,
                                         training.eval_every)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train = encode_series(tokenizer, load_minutes(sources, "train", data_dir))
    val = encode_series(tokenizer, load_minutes(sources, "val", data_dir))
    test = encode_series(tokenizer, load_minutes(sources, "test", data_dir))
    config = config or MinuteModelConfig(codebook_size=tokenizer.model.config.codebook_size,
                                        n_layer=training.layers, n_embd=training.width)
    baselines = CodeBaselines(train, config.codebook_size)
    model = MinuteModel(config)
    model.set_prior({k: np.log(v) for k, v in baselines.unigram.items()})
    optimizer = torch.optim.AdamW(model.parameters(), lr=training.lr, weight_decay=0.1)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    weights = np.array([len(s) - 1 for s in train], dtype=float)
    best = (model_nll(model, val), 0, copy.deepcopy(model.state_dict()))
    history = [{"step": 0, "val": best[0]}]
    started = time.perf_counter()
    bar = tqdm(range(1, steps + 1), desc="minute model", disable=not training.progress)
    for step in bar:
        model.train()
        picks = rng.choice(len(train), size=training.batch, p=weights / weights.sum())
        windows, ids = [], []
        for i in picks:
            s = train[i]
            length = min(config.context, len(s) - 1)
            start = int(rng.integers(len(s) - length))
            windows.append(code_window(s, start, length))
            ids.append(s.minutes.source_id)
        loss = model.loss(*code_batch(windows, ids))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
        if step % eval_every == 0 or step == steps:
            history.append({"step": step, "train": float(loss.detach()),
                            "val": model_nll(model, val)})
            if history[-1]["val"] < best[0]:
                best = (history[-1]["val"], step, copy.deepcopy(model.state_dict()))
    model.load_state_dict(best[2])
    report = {"params": model.n_params(), "steps": steps, "best_step": best[1],
              "seconds": time.perf_counter() - started, "config": config.to_dict(),
              "train_minutes": int(weights.sum()), "repeat_last_eps": baselines.eps,
              "history": history,
              "validation_nats_per_code": validation_report(model, baselines, val),
              "test_nats_per_code": validation_report(model, baselines, test)}
    return model.eval(), report
