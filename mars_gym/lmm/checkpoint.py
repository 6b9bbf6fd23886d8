"""LMM checkpoints: weights + config + fitted tokenizer (+ optimizer state to resume).

The file format, its integrity checks and the safe loading are those of
:mod:`mars_gym.checkpoint`. ``load_lmm("default")`` reads the small model shipped in
``mars_gym/lmm/assets``: prices against the touch, conditioned on the trade memory
(:mod:`mars_gym.tokens.trade_memory`, so an agent's trade leaves a mark on its prices) and
trained on each day and its mirror (:mod:`mars_gym.data.mirror`, so it learns no direction);
it reads neither the time of day nor the price change since the open (trained on one day per
source, a model that reads them learns that day's path). ``"mid"`` is the first default
(prices against the mid, no trade memory, no mirror), kept by name for comparison
(``benchmarks/RESULTS.md``); ``"ensemble"`` is it fine-tuned to read minute plans
(:mod:`mars_gym.ensemble.plan`); any other argument is a path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mars_gym.checkpoint import CheckpointError, build_module, config_from
from mars_gym.checkpoint import read_checkpoint as read_file
from mars_gym.checkpoint import save_checkpoint as save_file
from mars_gym.lmm.model import LMM, LMMConfig
from mars_gym.tokens import OrderTokenizer, TokenizerFileError

FORMAT_NAME = "mars_gym.lmm"
FORMAT_VERSION = 2  # 2: sha256 of the content
ASSETS = Path(__file__).resolve().parent / "assets"
NAMED = {"default": ASSETS / "default.pt",  # touch prices, trade memory, mirrored days, no clock
         "mid": ASSETS / "mid.pt",  # the first default: prices against the mid
         "ensemble": ASSETS / "ensemble.pt"}  # the order model of the ensemble (minute plans)

__all__ = ["NAMED", "CheckpointError", "load_lmm", "read_checkpoint", "save_checkpoint"]


def save_checkpoint(path: Path | str, model: LMM, tokenizer: OrderTokenizer, *,
                    half: bool = False, **extra) -> Path:
    """Write ``model`` (weights in float16 when ``half``) and its tokenizer to one file."""
    state = {k: (v.half() if half and v.is_floating_point() else v).cpu()
             for k, v in model.state_dict().items()}
    return save_file(path, FORMAT_NAME, FORMAT_VERSION, {
        "config": model.config.to_dict(),
        "model": state,
        "tokenizer": {k: torch.from_numpy(np.array(v, copy=True))
                      for k, v in tokenizer.state().items()},
        **extra,
    })


def read_checkpoint(path: Path | str) -> dict:
    """The raw checkpoint dictionary of a path or a named checkpoint, after every check."""
    if str(path) not in NAMED and not Path(path).is_file():
        known = ", ".join(sorted(NAMED))
        raise CheckpointError(f"checkpoint not found: {path} (named checkpoints: {known})")
    return read_file(NAMED.get(str(path), Path(path)), FORMAT_NAME, FORMAT_VERSION, "LMM", "an")


def load_lmm(name_or_path: str | Path = "default", device: str | torch.device = "cpu"
             ) -> tuple[LMM, OrderTokenizer]:
    """The model (in eval mode, float32) and its tokenizer from a checkpoint."""
    payload = read_checkpoint(name_or_path)
    config = config_from(LMMConfig, payload.get("config"), name_or_path)
    model = build_module(lambda: LMM(config), payload.get("model"), str(name_or_path))
    try:
        tokenizer = OrderTokenizer.from_state(
            {k: v.numpy() for k, v in payload["tokenizer"].items()}, f"{name_or_path} (tokenizer)")
    except TokenizerFileError as error:  # it names the file and the field
        raise CheckpointError(str(error)) from None
    except (KeyError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{name_or_path}: bad tokenizer in checkpoint ({error})") from None
    return model.to(device).eval(), tokenizer
