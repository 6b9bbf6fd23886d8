"""The settings of the minute tokenizer's and the minute model's training runs, importable
without torch (the commands' parsers read their defaults from here).

The defaults are the recipes of the shipped batch assets (``mars_gym/minutes/assets``):
:class:`TokenizerTraining` for the VQ-VAE over minute images (``mars-gym minute-tokenizer``),
:class:`MinuteModelTraining` for the model over minutes of codes (``mars-gym minute-train``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mars_gym.data import DATA_SOURCES


@dataclass(frozen=True)
class TokenizerTraining:
    """One training run of the minute tokenizer
    (:func:`mars_gym.minutes.tokenizer.train_tokenizer`)."""

    sources: tuple[str, ...] = tuple(DATA_SOURCES)  # shared source names
    steps: int = 2_000
    batch: int = 64               # minute images per step
    lr: float = 2e-3              # AdamW, cosine decay to 0
    codebook: int = 512           # number of minute codes (unless a VQ-VAE config is given)
    seed: int = 0
    data_dir: Path | None = None  # the shared data folder (None: $MARS_GYM_DATA or the default)
    progress: bool = True


@dataclass(frozen=True)
class MinuteModelTraining:
    """One training run of the minute model (:func:`mars_gym.minutes.train.train_minute_model`)."""

    sources: tuple[str, ...] | None = None  # None: the tokenizer's
    steps: int = 1_500
    batch: int = 16               # code windows per step
    lr: float = 1e-3              # AdamW, cosine decay to 0
    layers: int = 2               # transformer blocks (unless a model config is given)
    width: int = 128              # embedding width (unless a model config is given)
    eval_every: int = 100         # validation every N steps; the best model is kept
    seed: int = 0
    data_dir: Path | None = None
    progress: bool = True
