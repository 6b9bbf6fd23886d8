"""One checkpoint file: weights + config + fitted tokenizer (+ optimizer state to resume).

Saved with ``torch.save`` holding tensors and plain containers only, and loaded with
``weights_only=True`` (no pickled code runs). ``load_lmm("default")`` reads the small model
shipped in ``mars_gym/lmm/assets`` (``"ensemble"``: its fine-tuned twin that reads minute plans,
:mod:`mars_gym.batch.plan`); any other argument is a path.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from mars_gym.lmm.model import LMM, LMMConfig
from mars_gym.tokens import OrderTokenizer, TokenizerFileError

FORMAT_NAME = "mars_gym.lmm"
FORMAT_VERSION = 1
ASSETS = Path(__file__).resolve().parent / "assets"
NAMED = {"default": ASSETS / "default.pt",
         "ensemble": ASSETS / "ensemble.pt"}  # the order model of the ensemble (minute plans)


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, or incompatible with this code."""


def save_checkpoint(path: Path | str, model: LMM, tokenizer: OrderTokenizer, *,
                    half: bool = False, **extra) -> Path:
    """Write ``model`` (weights in float16 when ``half``) and its tokenizer to one file."""
    state = {k: (v.half() if half and v.is_floating_point() else v).cpu()
             for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "model": state,
        "tokenizer": {k: torch.from_numpy(np.array(v, copy=True))
                      for k, v in tokenizer.state().items()},
        **extra,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)  # never leave a half-written checkpoint behind
    return path


def read_checkpoint(path: Path | str) -> dict:
    """The raw checkpoint dictionary, after format and version checks."""
    path = NAMED.get(str(path), Path(path))
    if not path.is_file():
        known = ", ".join(sorted(NAMED))
        raise CheckpointError(f"checkpoint not found: {path} (named checkpoints: {known})")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError, OSError) as error:
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(error).__name__}: "
                              f"{error})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: not an LMM checkpoint")
    if payload.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {payload.get('version')}, "
                              f"this code reads version {FORMAT_VERSION}")
    return payload


def load_lmm(name_or_path: str | Path = "default", device: str | torch.device = "cpu"
             ) -> tuple[LMM, OrderTokenizer]:
    """The model (in eval mode, float32) and its tokenizer from a checkpoint."""
    payload = read_checkpoint(name_or_path)
    try:
        config = LMMConfig(**payload["config"])
        model = LMM(config)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in payload["model"].items()})
    except (TypeError, RuntimeError, KeyError, ValueError) as error:
        raise CheckpointError(f"{name_or_path}: weights do not fit this model code "
                              f"({type(error).__name__}: {str(error)[:300]})") from None
    try:
        tokenizer = OrderTokenizer.from_state(
            {k: v.numpy() for k, v in payload["tokenizer"].items()}, str(name_or_path))
    except (KeyError, TokenizerFileError) as error:
        raise CheckpointError(f"{name_or_path}: bad tokenizer in checkpoint ({error})") from None
    return model.to(device).eval(), tokenizer
