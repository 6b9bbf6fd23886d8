"""The minute model: an autoregressive transformer over minutes, each minute its 8 x 8 code grid.

Position t reads the codes of minute t and what is known as minute t + 1 starts (its time of
day, the return since the open, the volatility so far and the last minute's return:
:mod:`mars_gym.minutes.data`), plus the source, and predicts the 64 codes of minute t + 1. The
codes of a minute are predicted independently given the history (one shared head over the
hidden state plus a learned embedding of the cell), so a next minute is sampled in one
forward pass. The head's logits are added to the log frequencies of each source's codes per
cell in the training minutes (:meth:`MinuteModel.set_prior`; the head starts at zero), so the
model starts from the unconditional code distribution and learns what the history adds —
with a few thousand training minutes, learning that distribution from scratch costs most of
the training budget. The blocks are the order model's (:class:`mars_gym.lmm.model.Block`: RMSNorm,
rotary attention, SwiGLU).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from mars_gym.checkpoint import build_module, check_config_ranges, config_from
from mars_gym.lmm.model import Block, LMMConfig, RMSNorm, rotary_tables, rotation
from mars_gym.minutes.checkpoint import read_checkpoint, save_checkpoint
from mars_gym.minutes.data import N_FEATURES

GRID_CELLS = 64  # 8 x 8 codes per minute


@dataclass
class MinuteModelConfig:
    codebook_size: int = 512  # the tokenizer's
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 128
    code_embd: int = 16       # width of one code's embedding before the minute projection
    context: int = 64         # minutes
    dropout: float = 0.1
    n_sources: int = 8

    def __post_init__(self) -> None:
        check_config_ranges(self, {"codebook_size": (2, 1 << 16), "code_embd": (1, 4_096)})
        self.blocks()  # checks the transformer's fields

    def blocks(self) -> LMMConfig:
        return LMMConfig(n_layer=self.n_layer, n_head=self.n_head, n_embd=self.n_embd,
                         context=self.context, dropout=self.dropout, n_sources=self.n_sources)

    def to_dict(self) -> dict:
        return asdict(self)


class MinuteModel(nn.Module):
    """See the module docstring."""

    def __init__(self, config: MinuteModelConfig) -> None:
        super().__init__()
        self.config = config
        d, blocks = config.n_embd, config.blocks()
        self.code_in = nn.Embedding(config.codebook_size, config.code_embd)
        self.minute_in = nn.Linear(GRID_CELLS * config.code_embd, d)
        self.features_in = nn.Linear(N_FEATURES, d)
        self.source_in = nn.Embedding(config.n_sources, d)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(blocks) for _ in range(config.n_layer))
        self.norm = RMSNorm(d)
        self.cell = nn.Parameter(torch.zeros(GRID_CELLS, d))
        self.head = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, config.codebook_size))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)
        self.register_buffer("prior", torch.zeros(config.n_sources, GRID_CELLS,
                                                  config.codebook_size))
        self.register_buffer("rope", rotary_tables(config.context, d // config.n_head, 10_000.0),
                             persistent=False)

    @torch.no_grad()
    def set_prior(self, log_frequencies: dict[int, torch.Tensor]) -> None:
        """Log code frequencies (64, K) per source id; sources left out stay uniform."""
        for source_id, table in log_frequencies.items():
            self.prior[source_id] = torch.as_tensor(table, dtype=self.prior.dtype)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, codes: torch.Tensor, features: torch.Tensor, source: torch.Tensor,
                last_only: bool = False) -> torch.Tensor:
        """Logits (B, T, 64, K) of minute t + 1's codes from codes (B, T, 64) of minutes
        <= t, ``features`` (B, T, N_FEATURES) of minute t + 1 and ``source`` (B,)
        (``last_only``: the last position's alone, (B, 1, 64, K))."""
        _, t, cells = codes.shape
        if cells != GRID_CELLS:
            raise ValueError(f"a minute has {GRID_CELLS} codes, got {cells}")
        if t > self.config.context:
            raise ValueError(f"{t} minutes exceed the context of {self.config.context}")
        x = self.minute_in(self.code_in(codes).flatten(2)) + self.features_in(features)
        x = self.dropout(x + self.source_in(source)[:, None, :])
        turn = rotation(self.rope[:t])
        for block in self.blocks:
            x = block(x, turn)
        h = self.norm(x[:, -1:] if last_only else x)
        return self.head(h[:, :, None, :] + self.cell) + self.prior[source][:, None]

    def loss(self, codes, features, source, targets) -> torch.Tensor:
        """Mean cross-entropy (nats per code) of ``targets`` (B, T, 64; -100 = padding)."""
        logits = self(codes, features, source)
        return F.cross_entropy(logits.flatten(0, 2), targets.flatten(), ignore_index=-100)

    @torch.no_grad()
    def sample(self, codes: torch.Tensor, features: torch.Tensor, source: torch.Tensor,
               generator: torch.Generator, n: int = 1, temperature: float = 1.0
               ) -> torch.Tensor:
        """``n`` samples (n, B, 64) of the minute after the last of ``codes`` (B, T, 64), read
        over at most the last ``context`` minutes; ``features`` (B, T, F) as in :meth:`forward`."""
        context = self.config.context
        logits = self(codes[:, -context:], features[:, -context:], source, last_only=True)[:, 0]
        probs = F.softmax(logits / temperature, dim=-1).flatten(0, 1)
        drawn = torch.multinomial(probs, n, replacement=True, generator=generator)
        return drawn.T.reshape(n, codes.shape[0], GRID_CELLS)


def save_minute_model(model: MinuteModel, path: Path | str) -> None:
    save_checkpoint(path, "model", config=model.config.to_dict(), state=model.state_dict())


def load_minute_model(path: Path | str) -> MinuteModel:
    saved = read_checkpoint(path, "model")
    config = config_from(MinuteModelConfig, saved.get("config"), path)
    return build_module(lambda: MinuteModel(config), saved.get("state"), str(path)).eval()
