"""The settings of one LMM training run, importable without torch (the command's parser reads
its defaults from here).

:class:`TrainConfig`'s defaults are the recipe of the shipped default checkpoint
(``mars_gym/lmm/assets/default.pt``): prices against the touch, the trade memory, every training
day also seen in its mirror, no time-of-day and no price-change input, 4 layers x 4 heads x 128
wide over 512 orders, batch 8, 2,250 steps at 2e-3 (AdamW, 100 warm-up steps, cosine to a tenth),
10 % of the windows read through the generic source row (``benchmarks/RESULTS.md``: "No clock,
no price level"). A run with no arguments trains that model again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mars_gym.data import DATA_SOURCES


@dataclass(frozen=True)
class TrainConfig:
    """One training run of the LMM (:func:`mars_gym.lmm.train.train`); defaults: the shipped
    default's recipe."""

    out: Path = Path("runs/lmm")  # folder of last.pt, best.pt, metrics.json and tb/
    # source names or paths of order-flow files; default: the shared sources
    sources: tuple[str, ...] = tuple(sorted(DATA_SOURCES))
    source_dropout: float = 0.1   # share of training windows read through the generic row
    data_dir: Path | None = None  # the shared data folder (None: $MARS_GYM_DATA or the default)
    data_fraction: float = 1.0    # the first fraction of each training split is used
    # a new tokenizer's settings (an --init checkpoint keeps its own)
    price_reference: str = "touch"  # prices against the touch or the mid
    trade_memory: bool = True     # conditions read the recent signed executed volume
    mirror: bool = True           # each training split is also seen in a mirror
    # a new model's shape (an --init checkpoint keeps its own, but for dropout)
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    tod_frequencies: int = 0      # Fourier frequencies of the time of day (0: none read)
    price_change: bool = False    # the model reads the change of the mid since the open
    context: int = 512            # orders per training window
    dropout: float = 0.0
    # optimisation
    batch: int = 8
    steps: int = 2250
    lr: float = 2e-3
    min_lr_ratio: float = 0.1     # the cosine decays to this share of ``lr``
    warmup: int = 100             # steps of linear warm-up
    weight_decay: float = 0.1
    plan_lr_scale: float = 1.0    # learning-rate multiplier of a plan input (ensemble)
    # evaluation, starting point, bookkeeping
    eval_every: int = 200
    eval_windows: int = 64        # validation windows per source per evaluation
    init: str | None = None       # start from this checkpoint (path or name) and its tokenizer
    device: str = "auto"
    seed: int = 0
    resume: bool = False          # continue from out/last.pt
    tensorboard: bool = True
    progress: bool = True
