"""Equal-frequency (quantile) bins with heavy values isolated, and sampling inside a bin."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

MAX_REPRESENTATIVES = 64  # values kept per bin for decoding
MIN_PART_BINS = 4  # bins of a part between breaks, however light (at most its distinct values)


def choice_cdf(probs) -> np.ndarray:
    """Cumulative probabilities as ``Generator.choice(..., p=probs)`` forms them (summed, then
    divided by their total): the value drawn from a uniform ``u`` is the first whose cumulative
    probability exceeds ``u``, so a draw by hand takes the value ``choice`` would."""
    cdf = np.asarray(probs, dtype=np.float64).cumsum()
    cdf /= cdf[-1]
    return cdf


@dataclass(frozen=True)
class QuantileBins:
    """Bins over a numeric feature, fitted on training values.

    ``lower[k]`` is the smallest training value of bin k; a value goes to the last bin whose
    lower edge is <= it (values below the first edge go to bin 0). ``values[k]`` and
    ``weights[k]`` describe the training values seen in bin k (exact values with their
    frequencies when there are few, otherwise equally weighted quantiles), used to decode a
    bin back to a concrete value.
    """

    lower: np.ndarray
    values: tuple[np.ndarray, ...]
    weights: tuple[np.ndarray, ...]

    @property
    def n_bins(self) -> int:
        return len(self.lower)

    @classmethod
    def fit(cls, samples: np.ndarray, n_bins: int, breaks: tuple[float, ...] = ()
            ) -> QuantileBins:
        """Fit at most ``n_bins`` bins: a value holding at least 1/n_bins of the mass gets a bin
        of its own; the rest is cut into bins of about equal mass. No bin spans a value of
        ``breaks``: the sample is cut there first, and each part gets a share of the bins
        proportional to its mass (at least one)."""
        samples = np.asarray(samples, dtype=np.float64)
        if samples.size == 0:
            raise ValueError("cannot fit bins on an empty sample")
        if n_bins < 1:
            raise ValueError(f"n_bins must be >= 1, got {n_bins}")
        if breaks:
            return cls._fit_parts(samples, n_bins, sorted(breaks))
        unique, counts = np.unique(samples, return_counts=True)
        heavy = counts >= samples.size / n_bins
        groups: list[list[int]] = []
        current: list[int] = []
        current_mass = 0
        remaining_mass = samples.size
        for k in range(len(unique)):
            bins_left = n_bins - len(groups)
            if heavy[k] and current and bins_left > 1:
                groups.append(current)  # close the light run before a heavy value
                remaining_mass -= current_mass
                current, current_mass = [], 0
                bins_left -= 1
            current.append(k)
            current_mass += counts[k]
            target = remaining_mass / max(bins_left, 1)
            next_heavy = k + 1 < len(unique) and heavy[k + 1]
            if bins_left > 1 and (heavy[k] or current_mass >= target or next_heavy):
                groups.append(current)
                remaining_mass -= current_mass
                current, current_mass = [], 0
        if current:
            groups.append(current)
        lower = np.array([unique[g[0]] for g in groups])
        values, weights = [], []
        for group in groups:
            v, c = unique[group], counts[group].astype(np.float64)
            if len(v) > MAX_REPRESENTATIVES:
                in_bin = samples[(samples >= v[0]) & (samples <= v[-1])]
                v = np.quantile(in_bin, np.linspace(0, 1, MAX_REPRESENTATIVES))
                c = np.ones(MAX_REPRESENTATIVES)
            values.append(v)
            weights.append(c / c.sum())
        return cls(lower, tuple(values), tuple(weights))

    @classmethod
    def _fit_parts(cls, samples: np.ndarray, n_bins: int, breaks: list[float]) -> QuantileBins:
        part_of = np.searchsorted(breaks, samples, side="right")
        parts = [samples[part_of == p] for p in range(len(breaks) + 1)]
        parts = [p for p in parts if p.size]
        if len(parts) > n_bins:
            raise ValueError(f"{len(parts)} parts between the breaks need more than {n_bins} bins")
        share = np.array([p.size for p in parts], dtype=np.float64) / samples.size
        # a light part still gets a few bins (up to its distinct values), so it is resolved
        least = np.array([min(MIN_PART_BINS, len(np.unique(p))) for p in parts])
        bins = np.maximum(least, np.floor(share * n_bins)).astype(int)
        while bins.sum() < n_bins:  # the rest goes to the parts most short of their share
            bins[np.argmax(share * n_bins - bins)] += 1
        while bins.sum() > n_bins:
            bins[np.argmax(np.where(bins > least, bins - share * n_bins, -np.inf))] -= 1
        fitted = [cls.fit(part, int(k)) for part, k in zip(parts, bins, strict=False)]
        return cls(np.concatenate([f.lower for f in fitted]),
                   tuple(v for f in fitted for v in f.values),
                   tuple(w for f in fitted for w in f.weights))

    def means(self) -> np.ndarray:
        """The mean training value of each bin."""
        return np.array([values @ weights
                         for values, weights in zip(self.values, self.weights, strict=True)])

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Bin index of each value."""
        index = np.searchsorted(self.lower, np.asarray(x, dtype=np.float64), side="right") - 1
        return np.clip(index, 0, self.n_bins - 1).astype(np.int64)

    @cached_property
    def cumulative_weights(self) -> tuple[np.ndarray, ...]:
        """Each bin's weights as :func:`choice_cdf`."""
        return tuple(choice_cdf(weights) for weights in self.weights)

    def sample(self, bins: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A training value drawn from each bin, frequency-weighted. A bin index past the last
        bin (a token part has a fixed number of slots; a feature with few distinct training
        values fills fewer) decodes as the last bin.

        The draws are ``rng.choice(values, size=n, p=weights)``'s, bin after bin (one uniform
        double per value through the inverse CDF), without its checks on every call."""
        bins = np.minimum(np.asarray(bins, dtype=np.int64), self.n_bins - 1)
        cdfs = self.cumulative_weights
        if bins.size == 1:  # one order decoded at a time: no grouping needed
            return np.full(bins.shape, self.sample_one(int(bins.flat[0]), rng))
        out = np.empty(bins.shape, dtype=np.float64)
        for k in np.unique(bins):
            where = bins == k
            out[where] = self.values[k][cdfs[k].searchsorted(rng.random(int(where.sum())),
                                                             side="right")]
        return out

    @cached_property
    def _scalar_tables(self) -> tuple[list[float], list[list[float]], list[list[float]]]:
        """``lower``, values and cumulative weights as Python lists: one order decoded at a
        time searches them without numpy's per-call cost (the same numbers)."""
        return (self.lower.tolist(), [v.tolist() for v in self.values],
                [c.tolist() for c in self.cumulative_weights])

    def sample_one(self, bin_index: int, rng: np.random.Generator) -> float:
        """:meth:`sample` of one bin index (the same draw), as a float."""
        k = min(bin_index, self.n_bins - 1)
        _, values, cdfs = self._scalar_tables
        return float(values[k][bisect.bisect_right(cdfs[k], rng.random())])

    def integer_range(self, bins: np.ndarray, shift, scale) -> tuple[np.ndarray, np.ndarray]:
        """Smallest and largest integer ``x`` with ``(x - shift) / scale`` in each bin (the
        first exceeds the second when the bin holds no such integer). A bin index past the
        last bin is the last bin, as in :meth:`sample`."""
        bins = np.minimum(np.asarray(bins, dtype=np.int64), self.n_bins - 1)
        upper = np.append(self.lower[1:], np.inf)[bins]
        lowest = np.ceil(self.lower[bins] * scale + shift - 1e-9)
        highest = np.where(np.isfinite(upper), np.ceil(upper * scale + shift - 1e-9) - 1, np.inf)
        return lowest, highest

    def integer_range_one(self, bin_index: int, shift: float, scale: float
                          ) -> tuple[float, float]:
        """:meth:`integer_range` of one bin index, as floats."""
        k = min(bin_index, self.n_bins - 1)
        lower = self._scalar_tables[0]
        upper = lower[k + 1] if k + 1 < self.n_bins else math.inf
        lowest = math.ceil(lower[k] * scale + shift - 1e-9)
        highest = math.ceil(upper * scale + shift - 1e-9) - 1 if math.isfinite(upper) else math.inf
        return float(lowest), float(highest)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        lengths = np.array([len(v) for v in self.values])
        return {f"{prefix}.lower": self.lower, f"{prefix}.lengths": lengths,
                f"{prefix}.values": np.concatenate(self.values),
                f"{prefix}.weights": np.concatenate(self.weights)}

    @classmethod
    def from_arrays(cls, arrays, prefix: str, max_bins: int | None = None) -> QuantileBins:
        """The bins :meth:`to_arrays` saved under ``prefix``, checked first (a ValueError naming
        the array): 1 to ``max_bins`` lower edges, finite and increasing; one length of at least
        1 per bin, the lengths adding up to the values and the weights; finite values; finite,
        non-negative weights adding up to 1 in every bin. A KeyError names a missing array."""
        lower, lengths, values, weights = (np.asarray(arrays[f"{prefix}.{name}"]) for name in
                                           ("lower", "lengths", "values", "weights"))
        check_bin_arrays(prefix, lower, lengths, values, weights, max_bins)
        splits = np.cumsum(lengths)[:-1]
        return cls(lower.astype(np.float64), tuple(np.split(values.astype(np.float64), splits)),
                   tuple(np.split(weights.astype(np.float64), splits)))


def check_bin_arrays(prefix: str, lower: np.ndarray, lengths: np.ndarray, values: np.ndarray,
                     weights: np.ndarray, max_bins: int | None = None) -> None:
    """Raise a ValueError naming the first of ``prefix``'s saved arrays (:meth:`QuantileBins.
    to_arrays`) that cannot make bins (see :meth:`QuantileBins.from_arrays`)."""
    for name, array in (("lower", lower), ("lengths", lengths), ("values", values),
                        ("weights", weights)):
        if array.ndim != 1 or array.dtype.kind not in "iuf":
            raise ValueError(f"{prefix}.{name} must be a 1-d numeric array, got "
                             f"{array.dtype} of shape {array.shape}")
    if not 1 <= lower.size <= (max_bins or lower.size or 1):
        raise ValueError(f"{prefix}.lower holds {lower.size} bins, not 1 to "
                         f"{max_bins or 'any'}")
    if not np.isfinite(lower).all() or (np.diff(lower) <= 0).any():
        raise ValueError(f"{prefix}.lower must be finite and increasing")
    if lengths.dtype.kind == "f" or lengths.size != lower.size or (lengths < 1).any():
        raise ValueError(f"{prefix}.lengths must hold one integer >= 1 per bin "
                         f"({lower.size}), got {lengths.size} of dtype {lengths.dtype}")
    total = int(lengths.sum())
    if values.size != total or weights.size != total:
        raise ValueError(f"{prefix}.lengths add up to {total}, but {prefix}.values holds "
                         f"{values.size} and {prefix}.weights {weights.size}")
    if not np.isfinite(values).all():
        raise ValueError(f"{prefix}.values holds NaN or infinite values")
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(f"{prefix}.weights must be finite and non-negative")
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    sums = np.add.reduceat(weights.astype(np.float64), starts)
    off = np.flatnonzero(np.abs(sums - 1) > 1e-6)
    if off.size:
        raise ValueError(f"{prefix}.weights of bin {off[0]} add up to {sums[off[0]]:.6g}, not 1")
