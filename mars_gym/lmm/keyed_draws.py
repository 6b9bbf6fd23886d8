"""Keyed draws: every stream of generated orders draws its sampling noise from its own key.

A token is drawn by the Gumbel-max trick, ``argmax(logits / T + g)`` with ``g`` standard Gumbel
noise, which samples exactly from ``softmax(logits / T)``. The noise of a stream's ``n``-th
draw is a hash of ``(key, n, slot)`` (splitmix64), not the next numbers of a shared generator,
so:

* a stream's tokens depend only on its key and its own inputs — not on which other streams
  share the batch, or in which rounds it was served;
* two runs with the same key share their noise draw by draw (common random numbers). When one
  of them is disturbed (an agent's order changes the book), both keep drawing the same tokens
  wherever the model's probabilities barely moved, so their difference measures the effect of
  the disturbance rather than two unrelated futures (:mod:`mars_gym.apps.impact`).
"""

from __future__ import annotations

import numpy as np
import torch

from mars_gym.tokens.scheme import PART_SIZES

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
TOKEN_SLOTS = sum(PART_SIZES)  # one noise slot per value of every token part


def _splitmix64(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.uint64, copy=True)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def stream_keys(seed: int, keys) -> np.ndarray:
    """The 64-bit keys of streams named ``keys`` (ints) under a generator's ``seed``."""
    keys = np.asarray(keys, dtype=np.int64).astype(np.uint64)
    base = _splitmix64(np.asarray([seed], dtype=np.int64).astype(np.uint64) * _GOLDEN)
    return _splitmix64(base ^ _splitmix64(keys + _GOLDEN))


def gumbel(keys: np.ndarray, draws: np.ndarray, width: int) -> np.ndarray:
    """Standard Gumbel noise (len(keys), width): row ``i`` is draw ``draws[i]`` of stream
    ``keys[i]``."""
    with np.errstate(over="ignore"):
        row = _splitmix64(keys.astype(np.uint64) ^ _splitmix64(draws.astype(np.uint64) * _GOLDEN))
        bits = _splitmix64(row[:, None] + (np.arange(1, width + 1, dtype=np.uint64) * _GOLDEN))
    uniform = ((bits >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53  # in (0, 1)
    return -np.log(-np.log(uniform))


class StreamNoise:
    """The keys of ``streams`` streams under ``seed`` and how many draws each has made."""

    def __init__(self, seed: int, streams: int) -> None:
        self.seed = seed
        self.keys = stream_keys(seed, np.arange(streams))
        self.draws = np.zeros(streams, dtype=np.uint64)

    def restart(self, rows: list[int], keys: list[int] | None = None) -> None:
        """Rows start over, named ``keys`` (default: their row numbers)."""
        self.keys[rows] = stream_keys(self.seed, rows if keys is None else keys)
        self.draws[rows] = 0

    def withdraw(self, rows: list[int]) -> None:
        """The rows' last draws were not used: their next draws reuse that noise."""
        if np.any(self.draws[rows] == 0):
            raise RuntimeError("nothing drawn to withdraw")
        self.draws[rows] -= np.uint64(1)

    def next(self, rows=None, device: str | torch.device = "cpu") -> torch.Tensor:
        """Gumbel noise (len(rows), TOKEN_SLOTS) of the next draw of ``rows`` (default: all),
        counted as drawn."""
        rows = np.arange(len(self.keys)) if rows is None else np.asarray(rows)
        noise = gumbel(self.keys[rows], self.draws[rows], TOKEN_SLOTS)
        self.draws[rows] += np.uint64(1)
        return torch.from_numpy(noise).to(device, torch.float32)
