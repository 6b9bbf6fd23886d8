"""Token-level baselines the LMM must beat, measured on the same targets.

* unigram: token frequencies of the training targets, add-``alpha`` smoothed over all 49 152 ids;
* factorized: kind, price bin, volume bin and interval bin independent, each with its own
  smoothed training frequencies; p(id) is the product.

Both report the mean negative log-likelihood (nats per token) and perplexity ``exp(nll)``.
"""

from __future__ import annotations

import numpy as np

from mars_gym.tokens import VOCAB_SIZE, decompose
from mars_gym.tokens.scheme import PART_SIZES


def _log_frequencies(values: np.ndarray, size: int, alpha: float) -> np.ndarray:
    counts = np.bincount(values, minlength=size).astype(np.float64) + alpha
    return np.log(counts / counts.sum())


class UnigramBaseline:
    def __init__(self, train_targets: np.ndarray, alpha: float = 0.1) -> None:
        self.log_p = _log_frequencies(np.asarray(train_targets), VOCAB_SIZE, alpha)

    def nll(self, targets: np.ndarray) -> float:
        return float(-self.log_p[np.asarray(targets)].mean())


class FactorizedBaseline:
    def __init__(self, train_targets: np.ndarray, alpha: float = 0.1) -> None:
        parts = decompose(train_targets)
        self.log_p = [_log_frequencies(p, size, alpha)
                      for p, size in zip(parts, PART_SIZES, strict=True)]

    def nll(self, targets: np.ndarray) -> float:
        parts = decompose(targets)
        return float(-sum(lp[p] for lp, p in zip(self.log_p, parts, strict=False)).mean())
