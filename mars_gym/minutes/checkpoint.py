"""Minute tokenizer and minute model files, in the format of :mod:`mars_gym.checkpoint`.

``"default"`` in place of a path reads the small checkpoint of that kind shipped in
``mars_gym/minutes/assets`` (trained on the shared data's training splits on CPU). Numpy arrays
in a payload are stored as tensors and come back as numpy arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mars_gym.checkpoint import read_checkpoint as read_file
from mars_gym.checkpoint import save_checkpoint as save_file

FORMAT_VERSION = 2  # 2: the shared format (sha256, no pickled objects)
ASSETS = Path(__file__).resolve().parent / "assets"
# kind -> the format name written into every file of that kind (the package's earlier name,
# "batch", stays in it: changing it would make every saved file unreadable)
FORMATS = {"tokenizer": "mars_gym.batch_tokenizer", "model": "mars_gym.batch_model"}


def _format(kind: str) -> str:
    if kind not in FORMATS:
        raise ValueError(f"unknown minute checkpoint kind {kind!r}; one of {sorted(FORMATS)}")
    return FORMATS[kind]


def save_checkpoint(path: Path | str, kind: str, **payload) -> None:
    """Write a ``kind`` checkpoint (``"tokenizer"`` or ``"model"``)."""
    def stored(value):
        if isinstance(value, np.ndarray):
            return torch.from_numpy(np.array(value, copy=True))
        if isinstance(value, dict):
            return {k: stored(v) for k, v in value.items()}
        return value

    save_file(path, _format(kind), FORMAT_VERSION, stored(payload))


def read_checkpoint(path: Path | str, kind: str) -> dict:
    """The saved dictionary of a ``kind`` checkpoint, after every check of the format."""
    path = ASSETS / f"minute_{kind}.pt" if str(path) == "default" else Path(path)
    return read_file(path, _format(kind), FORMAT_VERSION, f"minute {kind}")
