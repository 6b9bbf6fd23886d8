"""One versioned file format for the batch tokenizer and the batch model."""

from __future__ import annotations

from pathlib import Path

import torch

CHECKPOINT_VERSION = 1


def save_checkpoint(path: Path | str, kind: str, **payload) -> None:
    torch.save({"version": CHECKPOINT_VERSION, "kind": kind, **payload}, path)


def read_checkpoint(path: Path | str, kind: str) -> dict:
    """The saved dictionary, after checking that it is a ``kind`` checkpoint of this version."""
    saved = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(saved, dict) or saved.get("kind") != kind:
        raise ValueError(f"{path}: not a {kind.replace('_', ' ')} checkpoint")
    if saved["version"] != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: checkpoint version {saved['version']}, this code reads "
                         f"{CHECKPOINT_VERSION}")
    return saved
