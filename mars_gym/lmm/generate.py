"""Generating order tokens for B independent streams at once.

:class:`BatchedGenerator` runs one forward pass of one new position per stream per step,
reusing a KV cache. When the cache reaches the context length it keeps the most recent half
of the stream and re-fills the cache from it in one block forward (amortised: one re-fill per
``context / 2`` steps). Each step takes the conditions of the *live* book, so whatever changed
it — other agents included — steers the next order.

:class:`FullRecomputeGenerator` is the MarS-style loop: it recomputes the whole window of the
last ``context`` positions for every new order. It is the reference in tests and the
denominator of the speed ratio in ``benchmarks/bench_lmm.py``.

Both draw with a seeded ``torch.Generator``: the same seed and inputs give the same tokens.
"""

from __future__ import annotations

import torch

from mars_gym.lmm.model import LMM, Conditions, KVCache


def _cat(a: Conditions, b: Conditions) -> Conditions:
    return Conditions(*(torch.cat([getattr(a, f), getattr(b, f)], dim=1)
                        for f in ("book", "time_of_day", "change", "source")))


class BatchedGenerator:
    """KV-cached sampling for B streams (see the module docstring).

    Usage: ``first = gen.prime(history_tokens, history_cond)``, then repeatedly
    ``next = gen.step(last_tokens, live_cond)``. Conditions at a position describe the book
    the *next* order will see, so the last history position and every ``step`` carry the live
    book.
    """

    def __init__(self, model: LMM, temperature: float = 1.0, top_k: int | None = None,
                 seed: int = 0) -> None:
        self.model = model.eval()
        self.temperature, self.top_k = temperature, top_k
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.cache: KVCache | None = None
        self.tokens: torch.Tensor | None = None  # (B, n) what the cache holds
        self.cond: Conditions | None = None
        self.refills = 0

    @property
    def context(self) -> int:
        return self.model.config.context

    @torch.no_grad()
    def prime(self, tokens: torch.Tensor, cond: Conditions) -> torch.Tensor:
        """Start B streams from histories (B, n); return the first sampled tokens (B,)."""
        tokens = tokens.to(self.device)
        cond = cond.to(self.device)
        keep = min(tokens.shape[1], self.context // 2)  # leave room before the first re-fill
        self.tokens, self.cond = tokens[:, -keep:], cond.slice(tokens.shape[1] - keep,
                                                              tokens.shape[1])
        return self._refill()

    @torch.no_grad()
    def _refill(self) -> torch.Tensor:
        self.cache = KVCache(self.model.config, self.tokens.shape[0], self.device, self.dtype)
        h = self.model.hidden(self.tokens, self.cond, self.cache)
        self.last_hidden = h[:, -1]
        return self._sample()

    def _sample(self) -> torch.Tensor:
        return self.model.sample(self.last_hidden, self.generator, self.temperature, self.top_k)

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, cond: Conditions) -> torch.Tensor:
        """Append each stream's last token (B,) with the live conditions; return the next."""
        if self.cache is None:
            raise RuntimeError("call prime() before step()")
        tokens = tokens.to(self.device).reshape(-1, 1)
        cond = cond.to(self.device)
        self.tokens = torch.cat([self.tokens, tokens], dim=1)
        self.cond = _cat(self.cond, cond)
        if self.cache.length == self.context:  # full: keep the recent half, re-fill
            keep = self.context // 2
            n = self.tokens.shape[1]
            self.tokens, self.cond = self.tokens[:, -keep:], self.cond.slice(n - keep, n)
            self.refills += 1
            return self._refill()
        self.last_hidden = self.model.hidden(tokens, cond, self.cache)[:, -1]
        return self._sample()


class FullRecomputeGenerator(BatchedGenerator):
    """The MarS-style loop: every step recomputes the last ``context`` positions, no cache."""

    @torch.no_grad()
    def prime(self, tokens: torch.Tensor, cond: Conditions) -> torch.Tensor:
        self.tokens, self.cond = tokens.to(self.device), cond.to(self.device)
        self._trim()
        self.cache = None
        return self._forward()

    def _trim(self) -> None:
        n = self.tokens.shape[1]
        if n > self.context:
            self.tokens, self.cond = self.tokens[:, -self.context:], self.cond.slice(
                n - self.context, n)

    def _forward(self) -> torch.Tensor:
        self.last_hidden = self.model.hidden(self.tokens, self.cond)[:, -1]
        return self._sample()

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, cond: Conditions) -> torch.Tensor:
        self.tokens = torch.cat([self.tokens, tokens.to(self.device).reshape(-1, 1)], dim=1)
        self.cond = _cat(self.cond, cond.to(self.device))
        self._trim()
        return self._forward()
