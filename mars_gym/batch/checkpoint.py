"""One versioned file format for the batch tokenizer and the batch model.

``"default"`` in place of a path reads the small checkpoint of that kind shipped in
``mars_gym/batch/assets`` (trained on the shared data's training splits on CPU).
"""

from __future__ import annotations

from pathlib import Path

import torch

CHECKPOINT_VERSION = 1
ASSETS = Path(__file__).resolve().parent / "assets"


def save_checkpoint(path: Path | str, kind: str, **payload) -> None:
    torch.save({"version": CHECKPOINT_VERSION, "kind": kind, **payload}, path)


def read_checkpoint(path: Path | str, kind: str) -> dict:
    """The saved dictionary, after checking that it is a ``kind`` checkpoint of this version."""
    path = ASSETS / f"{kind}.pt" if str(path) == "default" else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{kind.replace('_', ' ')} checkpoint not found: {path}")
    saved = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(saved, dict) or saved.get("kind") != kind:
        raise ValueError(f"{path}: not a {kind.replace('_', ' ')} checkpoint")
    if saved["version"] != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: checkpoint version {saved['version']}, this code reads "
                         f"{CHECKPOINT_VERSION}")
    return saved
