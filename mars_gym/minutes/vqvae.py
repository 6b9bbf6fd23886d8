"""The minute tokenizer: a small VQ-VAE from a [3, 32, 32] order image to an 8 x 8 grid of codes.

Encoder: two stride-2 convolutions (32 -> 16 -> 8) and a residual block to ``code_dim``
channels; each of the 8 x 8 vectors is replaced by its nearest codebook entry (van den Oord et
al. 2017), with the codebook kept as an exponential moving average of the vectors assigned to
it and an entry nobody chose for a while restarted on a random encoder output (so the codebook
stays in use); the decoder mirrors the encoder. The image enters as ``log1p(counts)`` and the
decoder predicts the log of a Poisson rate per cell: the loss is the Poisson negative
log-likelihood of the counts plus the commitment term ``beta * |z - sg(e)|^2``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mars_gym.checkpoint import check_config_ranges
from mars_gym.tokens.images import IMAGE_SHAPE


@dataclass
class VQVAEConfig:
    codebook_size: int = 512  # codes
    code_dim: int = 32        # width of a code vector
    hidden: int = 64          # convolution channels
    beta: float = 0.25        # commitment weight
    decay: float = 0.99       # EMA decay of the codebook
    restart_after: int = 200  # updates without use before an entry is restarted

    def __post_init__(self) -> None:
        check_config_ranges(self, {"codebook_size": (2, 1 << 16), "code_dim": (1, 4_096),
                                   "hidden": (1, 4_096), "restart_after": (1, 1 << 30)})

    def to_dict(self) -> dict:
        return asdict(self)


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1),
                                  nn.ReLU(), nn.Conv2d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class VQVAE(nn.Module):
    """See the module docstring. ``encode`` gives codes (B, 8, 8), ``decode`` Poisson rates."""

    def __init__(self, config: VQVAEConfig) -> None:
        super().__init__()
        self.config = config
        c, h, d = IMAGE_SHAPE[0], config.hidden, config.code_dim
        self.encoder = nn.Sequential(
            nn.Conv2d(c, h, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(h, h, 4, stride=2, padding=1), _Residual(h), nn.ReLU(),
            nn.Conv2d(h, d, 1))
        self.decoder = nn.Sequential(
            nn.Conv2d(d, h, 3, padding=1), _Residual(h), nn.ReLU(),
            nn.ConvTranspose2d(h, h, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(h, c, 4, stride=2, padding=1))
        self.register_buffer("codebook", torch.randn(config.codebook_size, d) * 0.1)
        self.register_buffer("ema_count", torch.ones(config.codebook_size))
        self.register_buffer("ema_sum", self.codebook.clone())
        self.register_buffer("idle", torch.zeros(config.codebook_size, dtype=torch.long))

    def _latents(self, counts: torch.Tensor) -> torch.Tensor:
        return self.encoder(torch.log1p(counts.float()))  # (B, D, 8, 8)

    def _nearest(self, z: torch.Tensor) -> torch.Tensor:
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        distance = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.T
                    + self.codebook.pow(2).sum(1))
        return distance.argmin(1).view(z.shape[0], z.shape[2], z.shape[3])

    @torch.no_grad()
    def encode(self, counts: torch.Tensor) -> torch.Tensor:
        """Codes (B, 8, 8) of count images (B, 3, 32, 32)."""
        return self._nearest(self._latents(counts))

    def log_rates(self, codes: torch.Tensor) -> torch.Tensor:
        """Log Poisson rates (B, 3, 32, 32) of the images behind codes (B, 8, 8)."""
        return self.decoder(self.codebook[codes].permute(0, 3, 1, 2))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Expected counts (B, 3, 32, 32) of codes (B, 8, 8)."""
        return self.log_rates(codes).exp()

    def forward(self, counts: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Loss (Poisson NLL per cell + commitment) and its parts; updates the codebook when
        training."""
        z = self._latents(counts)
        codes = self._nearest(z)
        chosen = self.codebook[codes].permute(0, 3, 1, 2)
        if self.training:
            self._update_codebook(z.detach(), codes)
        quantized = z + (chosen - z).detach()  # straight-through gradient to the encoder
        log_rates = self.decoder(quantized)
        nll = F.poisson_nll_loss(log_rates, counts.float(), log_input=True, full=True)
        commitment = F.mse_loss(z, chosen.detach())
        loss = nll + self.config.beta * commitment
        return loss, {"nll": nll.detach(), "commitment": commitment.detach(), "codes": codes}

    @torch.no_grad()
    def _update_codebook(self, z: torch.Tensor, codes: torch.Tensor) -> None:
        config = self.config
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        onehot = F.one_hot(codes.reshape(-1), config.codebook_size).type_as(flat)
        count = onehot.sum(0)
        self.ema_count.mul_(config.decay).add_(count, alpha=1 - config.decay)
        self.ema_sum.mul_(config.decay).add_(onehot.T @ flat, alpha=1 - config.decay)
        total = self.ema_count.sum()
        smoothed = (self.ema_count + 1e-5) / (total + config.codebook_size * 1e-5) * total
        self.codebook.copy_(self.ema_sum / smoothed.unsqueeze(1))
        self.idle.add_(1).masked_fill_(count > 0, 0)
        dead = torch.nonzero(self.idle >= config.restart_after).flatten()
        if len(dead):  # restart unused entries on random encoder outputs of this batch
            picks = torch.randint(len(flat), (len(dead),), device=flat.device)
            self.codebook[dead] = flat[picks]
            self.ema_sum[dead] = flat[picks]
            self.ema_count[dead] = 1.0
            self.idle[dead] = 0
