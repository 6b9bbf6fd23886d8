"""Training, scoring and saving the minute tokenizer (image slots of each source + the VQ-VAE).

:func:`train_tokenizer` (``mars-gym minute-tokenizer --out runs/minute_tokenizer.pt``:
:mod:`mars_gym.apps.minute_tokenizer`) trains on every source's training minutes (several
minute phases) and reports on validation: Poisson NLL per cell, the mean absolute count error
per image, the share of cells whose decoded count rounds to the true one, and codebook usage
(entries used, perplexity of the code distribution).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from mars_gym.checkpoint import CheckpointError, build_module, config_from
from mars_gym.data import SOURCES, Source
from mars_gym.minutes.checkpoint import read_checkpoint, save_checkpoint
from mars_gym.minutes.data import load_minutes, source_imager
from mars_gym.minutes.recipe import TokenizerTraining
from mars_gym.minutes.vqvae import VQVAE, VQVAEConfig
from mars_gym.tokens.images import OrderImager


class MinuteTokenizer:
    """A VQ-VAE and the image slots of the sources it was trained on."""

    def __init__(self, model: VQVAE, imagers: dict[str, OrderImager]) -> None:
        self.model, self.imagers = model, imagers

    def imager_for(self, source: Source) -> OrderImager:
        """The image slots of ``source``: its own, or those of the shared source whose id it
        declares (the embedded default market reads AAPL's); a KeyError naming what is known."""
        if source.name in self.imagers:
            return self.imagers[source.name]
        for name in self.imagers:
            if name in SOURCES and SOURCES[name].source_id == source.source_id >= 0:
                return self.imagers[name]
        raise KeyError(f"the minute tokenizer was not trained on {source.name}; it knows "
                       f"{sorted(self.imagers)}")

    def encode(self, images: np.ndarray) -> np.ndarray:
        """Codes (n, 8, 8) of count images (n, 3, 32, 32)."""
        self.model.eval()
        return self.model.encode(torch.as_tensor(images)).numpy()

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Expected counts (n, 3, 32, 32) of codes (n, 8, 8)."""
        self.model.eval()
        return self.model.decode(torch.as_tensor(codes, dtype=torch.long)).numpy()

    def save(self, path: Path | str) -> None:
        arrays = {}
        for name, imager in self.imagers.items():
            arrays.update(imager.to_arrays(name))
        save_checkpoint(path, "tokenizer", config=self.model.config.to_dict(),
                        state=self.model.state_dict(), sources=list(self.imagers),
                        imagers=arrays)

    @classmethod
    def load(cls, path: Path | str) -> MinuteTokenizer:
        saved = read_checkpoint(path, "tokenizer")
        config = config_from(VQVAEConfig, saved.get("config"), path)
        model = build_module(lambda: VQVAE(config), saved.get("state"), str(path)).eval()
        try:
            arrays = {name: value.numpy() for name, value in saved["imagers"].items()}
            imagers = {name: OrderImager.from_arrays(arrays, name) for name in saved["sources"]}
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise CheckpointError(f"{path}: bad image slots in checkpoint ({error})") from None
        return cls(model, imagers)


def _images(series) -> np.ndarray:
    return np.concatenate([s.images for s in series])


@torch.no_grad()
def score(model: VQVAE, images: np.ndarray, mean_image: np.ndarray, batch: int = 256) -> dict:
    """Reconstruction and codebook usage on count images, and for reference the Poisson NLL of
    ``mean_image`` (the training minutes' mean image, one per image or broadcast)."""
    model.eval()
    nll, abs_error, exact, codes = [], [], [], []
    for first in range(0, len(images), batch):
        counts = torch.as_tensor(images[first:first + batch])
        _, parts = model(counts)
        rates = model.decode(parts["codes"])
        nll.append(float(parts["nll"]) * len(counts))
        abs_error.append((rates - counts).abs().sum(dim=(1, 2, 3)))
        exact.append((rates.round() == counts).float().mean(dim=(1, 2, 3)))
        codes.append(parts["codes"].flatten())
    codes = torch.cat(codes)
    frequency = torch.bincount(codes, minlength=model.config.codebook_size).float()
    p = frequency[frequency > 0] / frequency.sum()
    reference = torch.nn.functional.poisson_nll_loss(
        torch.as_tensor(np.broadcast_to(mean_image, images.shape).copy()).clamp_min(1e-6).log(),
        torch.as_tensor(images).float(), log_input=True, full=True)
    return {"images": len(images), "nll_per_cell": sum(nll) / len(images),
            "nll_per_cell_mean_image": float(reference),
            "mean_abs_count_error": float(torch.cat(abs_error).mean()),
            "mean_orders_per_image": float(images.sum(axis=(1, 2, 3)).mean()),
            "exact_cells": float(torch.cat(exact).mean()),
            "codes_used": int((frequency > 0).sum()),
            "codebook_usage": float((frequency > 0).float().mean()),
            "perplexity": float(torch.exp(-(p * p.log()).sum()))}


def train_tokenizer(config: TokenizerTraining | None = None,
                    vqvae: VQVAEConfig | None = None) -> tuple[MinuteTokenizer, dict]:
    """Train as ``config`` says (None: :class:`TokenizerTraining`'s defaults) on the sources'
    training minutes (a VQ-VAE of ``vqvae``'s shape, default: of ``config.codebook`` codes);
    return the tokenizer and its validation report (per source and pooled)."""
    config = config or TokenizerTraining()
    sources, data_dir, seed = config.sources, config.data_dir, config.seed
    steps, batch = config.steps, config.batch
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train = _images(load_minutes(sources, "train", data_dir))
    model = VQVAE(vqvae or VQVAEConfig(codebook_size=config.codebook))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    started = time.perf_counter()
    model.train()
    bar = tqdm(range(steps), desc="minute tokenizer", disable=not config.progress)
    for _ in bar:
        counts = torch.as_tensor(train[rng.integers(len(train), size=batch)])
        loss, parts = model(counts)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        bar.set_postfix(nll=f"{float(parts['nll']):.4f}")
    tokenizer = MinuteTokenizer(model, {name: source_imager(name, data_dir) for name in sources})
    seconds = time.perf_counter() - started
    val = {name: _images(load_minutes([name], "val", data_dir)) for name in sources}
    means = {name: np.broadcast_to(_images(load_minutes([name], "train", data_dir)).mean(axis=0),
                                   val[name].shape) for name in sources}
    validation = {name: score(model, val[name], means[name]) for name in sources}
    validation["all"] = score(model, np.concatenate(list(val.values())),
                              np.concatenate(list(means.values())))
    report = {"train_images": len(train), "steps": steps, "seconds": seconds,
              "params": sum(p.numel() for p in model.parameters()),
              "config": model.config.to_dict(), "validation": validation}
    return tokenizer, report
