"""Realism scores of an order stream against a real one, both given as LOBSTER files/arrays.

LOB-Bench-style one-dimensional distributions, computed the same way for any stream (message
array + orderbook array at level >= 1, prices in LOBSTER units):

=================== ================================================================= =======
feature             definition                                                        unit
=================== ================================================================= =======
spread              best ask - best bid after each message                            ticks
interarrival        time between consecutive book-changing messages (types 1-4)       seconds
order_size          size of new limit orders (type 1)                                 lots
new_order_depth     distance of a new order behind its own touch (book before it)     ticks
cancel_depth        distance of a cancel (types 2, 3) behind its own touch            ticks
imbalance           (bid size - ask size) / (bid size + ask size) at the touch        -
return_{h}min       log mid return over h = 1..5 minutes on a 1-minute grid           -
=================== ================================================================= =======

Each feature is compared by the L1 distance between histograms on bins taken from the real
data's quantiles (0 = identical, 2 = disjoint) and by the Wasserstein-1 distance, also given
divided by the real feature's standard deviation so features are comparable.

Stylized facts of the 1-minute mid returns: excess kurtosis (heavy tails), autocorrelation at
lags 1-5 (close to 0), autocorrelation of absolute returns at lags 1-5 (volatility clustering,
positive), and excess kurtosis at 1, 2, 5 and 10 minutes (aggregational gaussianity: it falls).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import kurtosis, wasserstein_distance

from lob_core.lobster import LOBSTER_TICK
from mars_gym.data.units import NS_PER_MIN

HISTOGRAM_BINS = 50
RETURN_HORIZONS_MIN = (1, 2, 3, 4, 5)
GAUSSIANITY_HORIZONS_MIN = (1, 2, 5, 10)
ACF_LAGS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class LobsterStream:
    """A message array (:data:`lob_core.lobster.MESSAGE_DTYPE`) and its orderbook rows."""

    messages: np.ndarray
    orderbook: np.ndarray
    tick: int = LOBSTER_TICK

    def __post_init__(self) -> None:
        if len(self.messages) != len(self.orderbook):
            raise ValueError(f"{len(self.messages)} messages but {len(self.orderbook)} orderbook "
                             "rows: row i must be the book after message i")
        if len(self.messages) < 2:
            raise ValueError("a stream needs at least 2 messages to be scored")

    def window(self, start_ns: int, end_ns: int) -> LobsterStream:
        """Messages with ``start_ns <= time < end_ns``."""
        t = self.messages["time_ns"]
        keep = (t >= start_ns) & (t < end_ns)
        return LobsterStream(self.messages[keep], self.orderbook[keep], self.tick)


def _touch(orderbook: np.ndarray) -> tuple[np.ndarray, ...]:
    ask, ask_qty, bid, bid_qty = (orderbook[:, k] for k in range(4))
    valid = (ask_qty > 0) & (bid_qty > 0)
    return ask, ask_qty, bid, bid_qty, valid


def mid_on_grid(stream: LobsterStream, step_ns: int = NS_PER_MIN) -> np.ndarray:
    """Mid price after the last message at or before each grid time (NaN before any)."""
    ask, _, bid, _, valid = _touch(stream.orderbook)
    t = stream.messages["time_ns"][valid]
    mid = (ask[valid] + bid[valid]) / 2
    if len(t) == 0:
        return np.zeros(0)
    grid = np.arange(t[0], t[-1] + 1, step_ns)
    return mid[np.searchsorted(t, grid, side="right") - 1]


FEATURE_UNITS = {  # the unit of each feature of :func:`features`, for axes and tables
    "spread": "ticks", "imbalance": "(bid - ask) / (bid + ask) at the touch",
    "interarrival": "seconds between book changes", "order_size": "lots",
    "new_order_depth": "ticks behind the own touch", "cancel_depth": "ticks behind the own touch",
    **{f"return_{h}min": "log return of the mid" for h in RETURN_HORIZONS_MIN},
}


def features(stream: LobsterStream) -> dict[str, np.ndarray]:
    """The 1-D distributions of the module docstring."""
    m, tick = stream.messages, stream.tick
    ask, ask_qty, bid, bid_qty, valid = _touch(stream.orderbook)
    out = {
        "spread": ((ask - bid) / tick)[valid],
        "imbalance": ((bid_qty - ask_qty) / np.maximum(bid_qty + ask_qty, 1))[valid],
    }
    changes = (m["type"] >= 1) & (m["type"] <= 4)
    out["interarrival"] = np.diff(m["time_ns"][changes]) / 1e9
    before = np.r_[False, valid[:-1]]  # the touch before message i is row i - 1
    prev_ask, prev_bid = np.r_[0, ask[:-1]], np.r_[0, bid[:-1]]
    own_touch = np.where(m["direction"] > 0, prev_bid, prev_ask)
    depth = m["direction"] * (own_touch - m["price"]) / tick
    new = (m["type"] == 1) & before
    cancels = ((m["type"] == 2) | (m["type"] == 3)) & before
    out["order_size"] = m["size"][m["type"] == 1].astype(float)
    out["new_order_depth"] = depth[new]
    out["cancel_depth"] = depth[cancels]
    minute_mid = mid_on_grid(stream)
    log_mid = np.log(minute_mid[np.isfinite(minute_mid) & (minute_mid > 0)])
    for h in RETURN_HORIZONS_MIN:
        out[f"return_{h}min"] = log_mid[h:] - log_mid[:-h] if len(log_mid) > h else np.zeros(0)
    return out


def l1_distance(real: np.ndarray, generated: np.ndarray, bins: int = HISTOGRAM_BINS) -> float:
    """L1 distance of the two histograms on quantile bins of ``real`` (0 .. 2)."""
    if len(real) == 0 or len(generated) == 0:
        return float("nan")
    edges = np.unique(np.quantile(real, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    edges = np.r_[-np.inf, edges[1:-1], np.inf]
    p = np.histogram(real, edges)[0] / len(real)
    q = np.histogram(generated, edges)[0] / len(generated)
    return float(np.abs(p - q).sum())


def compare(real: LobsterStream, generated: LobsterStream) -> dict[str, dict[str, float]]:
    """Per feature: L1, Wasserstein, normalised Wasserstein, and both sample sizes."""
    real_features, generated_features = features(real), features(generated)
    table = {}
    for name, r in real_features.items():
        g = generated_features[name]
        ok = len(r) > 0 and len(g) > 0
        w = wasserstein_distance(r, g) if ok else float("nan")
        std = float(np.std(r)) if len(r) else float("nan")
        table[name] = {"l1": l1_distance(r, g), "wasserstein": float(w),
                       "wasserstein_norm": float(w / std) if ok and std > 0 else float("nan"),
                       "n_real": len(r), "n_generated": len(g)}
    return table


# the fewest samples a stylized fact is computed from: below it an autocorrelation's standard
# error (~1/sqrt(n)) exceeds 0.22 and an excess kurtosis's (~sqrt(24/n)) exceeds 1.1, so the
# number would say nothing (two returns give an autocorrelation of exactly +-1)
MIN_FACT_SAMPLES = 20


def _autocorrelation(x: np.ndarray, lag: int) -> float:
    """NaN (undetermined) for fewer than MIN_FACT_SAMPLES pairs or a constant series."""
    if len(x) - lag < MIN_FACT_SAMPLES or np.std(x) == 0:
        return float("nan")
    return float(np.corrcoef(x[:-lag], x[lag:])[0, 1])


def stylized_facts(stream: LobsterStream) -> dict[str, float]:
    """Stylized facts of the mid-price returns (see the module docstring); a fact the window
    holds too few samples for is NaN (:func:`fact_samples` says how many it had)."""
    minute_mid = mid_on_grid(stream)
    log_mid = np.log(minute_mid[np.isfinite(minute_mid) & (minute_mid > 0)])
    returns = np.diff(log_mid)
    facts = {"n_returns_1min": len(returns), "excess_kurtosis_1min": _excess_kurtosis(returns)}
    for lag in ACF_LAGS:
        facts[f"acf_return_lag{lag}"] = _autocorrelation(returns, lag)
        facts[f"acf_abs_return_lag{lag}"] = _autocorrelation(np.abs(returns), lag)
    for h in GAUSSIANITY_HORIZONS_MIN:
        r = log_mid[h::h] - log_mid[:-h:h] if len(log_mid) > h else np.zeros(0)
        if h > 1:
            facts[f"n_returns_{h}min"] = len(r)
        facts[f"excess_kurtosis_{h}min"] = _excess_kurtosis(r)
    return facts


def fact_samples(facts: dict[str, float], name: str) -> int:
    """How many samples the fact ``name`` of :func:`stylized_facts` was computed from."""
    if name.startswith("acf_"):
        return max(int(facts["n_returns_1min"]) - int(name.rsplit("lag", 1)[1]), 0)
    if name.startswith("excess_kurtosis_"):
        return int(facts[f"n_returns_{name.rsplit('_', 1)[1]}"])
    return int(facts[name])


def format_fact(facts: dict[str, float], name: str, width: int = 0) -> str:
    """A stylized fact as text: its value, or why it has none ("undetermined (n = 4)", or
    "undetermined (constant returns)")."""
    value = facts[name]
    if name.startswith("n_"):
        return f"{int(value):{width}d}"
    if np.isfinite(value):
        return f"{value:{width}.3f}"
    n = fact_samples(facts, name)
    why = f"n = {n}" if n < MIN_FACT_SAMPLES else "constant returns"
    return f"{'undetermined':>{width}s} ({why})"


def _excess_kurtosis(returns: np.ndarray) -> float:
    """NaN (undetermined) for fewer than MIN_FACT_SAMPLES returns or returns that never vary."""
    if len(returns) < MIN_FACT_SAMPLES or np.ptp(returns) == 0:
        return float("nan")
    return float(kurtosis(returns))


def summary(table: dict[str, dict[str, float]]) -> dict[str, float]:
    """Mean L1 and mean normalised Wasserstein over the features both streams have."""
    l1 = [row["l1"] for row in table.values() if np.isfinite(row["l1"])]
    w = [row["wasserstein_norm"] for row in table.values() if np.isfinite(row["wasserstein_norm"])]
    return {"mean_l1": float(np.mean(l1)) if l1 else float("nan"),
            "mean_wasserstein_norm": float(np.mean(w)) if w else float("nan")}
