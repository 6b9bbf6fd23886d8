"""LOB-Bench's score functions and distances, for LOBSTER message + orderbook streams.

Written from the published definitions of LOB-Bench (Nagy et al., 2025, "LOB-Bench:
Benchmarking Generative AI for Finance", and its public code). Every score is a 1-D sample
taken from one stream (messages and the orderbook row after each message); samples of several
streams (windows, seeds) are pooled, as LOB-Bench pools its sequences.

======================= ==================================================================
score                   definition
======================= ==================================================================
spread                  best ask - best bid after each message, ticks (discrete)
orderbook_imbalance     (bid size - ask size) / (bid size + ask size) at the touch
log_inter_arrival_time  log of the time between consecutive messages, ms (0 -> 1e-9)
log_time_to_cancel      log of the time from a new order (type 1) to its first partial or
                        full cancel (types 2, 3), s (0 -> 1e-9); orders never cancelled are
                        left out
ask/bid_volume_touch    size at the best ask / bid after each message
ask/bid_volume          total size on the first 10 levels (only for data with >= 10 levels)
limit_ask/bid_depth     |price - mid| of new orders, mid of the book after the message; ask
                        when the price is above the mid, bid below (ticks)
ask/bid_cancel_depth    the same for partial and full cancels (types 2, 3)
limit_ask/bid_levels    the visible level (1..N) a new order's price sits at, book after it
                        (only for data with >= 2 levels: with one, every visible price is
                        level 1, the same for every stream)
ask/bid_cancel_levels   the level a cancel's price sat at, book *before* it (discrete; >= 2
                        levels)
volume_per_minute       executed size (type 4) per 1-second bucket x 60
ofi                     order-flow imbalance of the touch per message (Cont et al.), mean over
                        a rolling window of 100 messages
ofi_up/stay/down        ofi over the 100 messages before a message, where that message moved
                        the mid up / not / down
======================= ==================================================================

Rows with an empty side (LOBSTER's dummy prices) have no spread, mid or imbalance and are left
out of the scores that need them. ``volume_per_minute``: a first or last 1-second bucket that
the trades cover for less than 0.1 s is dropped, a longer partial one is scaled to a full
second (LOB-Bench's published code scales the first bucket the other way round; this follows
its stated intent).

Distances (per score, real vs generated):

* **L1**: both samples are cut into the same groups — every distinct value for a discrete score,
  else the Freedman-Diaconis bin edges of the pooled sample (at most :data:`MAX_BINS` bins) —
  and ``L1 = sum |p_real - p_gen| / 2`` over the groups' shares (0 identical, 1 disjoint).
* **Wasserstein**: the pooled sample is standardised (mean 0, std 1), then the Wasserstein-1
  distance between the two standardised samples.
* **Intervals**: ``n_bootstrap`` (default 100) resamples of each sample with replacement, the
  groups and standardisation kept; the 0.5 % and 99.5 % percentiles (LOB-Bench's 99 %).

:func:`message_mix` adds what LOB-Bench does not score: the shares of new orders, cancels and
visible executions among the messages, and messages per minute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import wasserstein_distance

from mars_gym.data.units import NS_PER_S
from mars_gym.metrics.realism import LobsterStream

NEW, PARTIAL_CANCEL, DELETE, EXECUTE = 1, 2, 3, 4
OFI_WINDOW = 100
VOLUME_LEVELS = 10
LEVEL_SCORE_LEVELS = 2  # with one visible level every order sits at level 1: no information
MAX_BINS = 10_000
MIN_BUCKET_NS = 100_000_000  # 0.1 s: shorter edge buckets of volume_per_minute are dropped
TINY = 1e-9  # LOB-Bench's stand-in for a zero time before the log


@dataclass(frozen=True)
class Score:
    """One LOB-Bench score: its function, whether it is discrete, the levels it needs."""

    fn: Callable[[LobsterStream], np.ndarray]
    discrete: bool = False
    min_levels: int = 1


def _touch(stream: LobsterStream):
    """Best ask, ask size, best bid, bid size per row, and the rows with both sides."""
    book = stream.orderbook
    ask, ask_qty, bid, bid_qty = (book[:, k] for k in range(4))
    return ask, ask_qty, bid, bid_qty, (ask_qty > 0) & (bid_qty > 0)


def _mid(stream: LobsterStream) -> np.ndarray:
    """Mid price per row in LOBSTER units, NaN where a side is empty."""
    ask, _, bid, _, two_sided = _touch(stream)
    return np.where(two_sided, (ask + bid) / 2, np.nan)


def spread(stream: LobsterStream) -> np.ndarray:
    ask, _, bid, _, two_sided = _touch(stream)
    return ((ask - bid)[two_sided] / stream.tick).astype(float)


def orderbook_imbalance(stream: LobsterStream) -> np.ndarray:
    _, ask_qty, _, bid_qty, two_sided = _touch(stream)
    a, b = ask_qty[two_sided].astype(float), bid_qty[two_sided].astype(float)
    return (b - a) / (b + a)


def log_inter_arrival_time(stream: LobsterStream) -> np.ndarray:
    ms = np.diff(stream.messages["time_ns"]) / 1e6
    return np.log(np.where(ms == 0, TINY, ms))


def log_time_to_cancel(stream: LobsterStream) -> np.ndarray:
    m = stream.messages
    ids, types, times = m["order_id"], m["type"], m["time_ns"]
    new = types == NEW
    cancel = (types == PARTIAL_CANCEL) | (types == DELETE)
    first_new = {}
    for oid, t in zip(ids[new].tolist(), times[new].tolist(), strict=False):
        first_new.setdefault(oid, t)
    waited = {}
    for oid, t in zip(ids[cancel].tolist(), times[cancel].tolist(), strict=False):
        if oid in first_new and oid not in waited and t >= first_new[oid]:
            waited[oid] = (t - first_new[oid]) / NS_PER_S
    seconds = np.array(list(waited.values()), dtype=float)
    return np.log(np.where(seconds == 0, TINY, seconds))


def _side_volume(stream: LobsterStream, column: int, levels: int) -> np.ndarray:
    return stream.orderbook[:, column:4 * levels:4].sum(axis=1).astype(float)


def _depths(stream: LobsterStream, types: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(ask, bid) |price - mid| in ticks of messages of ``types``, book after the message."""
    rows = np.isin(stream.messages["type"], types)
    depth = (stream.messages["price"][rows] - _mid(stream)[rows]) / stream.tick
    depth = depth[np.isfinite(depth)]
    return depth[depth > 0], -depth[depth < 0]


def _levels(stream: LobsterStream, types: tuple[int, ...], before: bool
            ) -> tuple[np.ndarray, np.ndarray]:
    """(ask, bid) visible level (1-based) of messages of ``types``: the book after each message,
    or before it (``before``); prices not among the visible levels are left out."""
    book, prices, kinds = stream.orderbook, stream.messages["price"], stream.messages["type"]
    if before:
        book, prices, kinds = book[:-1], prices[1:], kinds[1:]
    rows = np.isin(kinds, types)
    level_prices = book[rows][:, 0::2]  # ask 1, bid 1, ask 2, bid 2, ...
    sizes = book[rows][:, 1::2]
    hit = (level_prices == prices[rows][:, None]) & (sizes > 0)
    found = hit.any(axis=1)
    column = hit.argmax(axis=1)[found]
    is_bid = column % 2 == 1
    return (column[~is_bid] // 2 + 1).astype(float), ((column[is_bid] + 1) // 2).astype(float)


def volume_per_minute(stream: LobsterStream) -> np.ndarray:
    trades = stream.messages[stream.messages["type"] == EXECUTE]
    if len(trades) == 0:
        return np.zeros(0)
    times = trades["time_ns"]
    second = times // NS_PER_S
    buckets, first_index = np.unique(second, return_index=True)
    volume = np.add.reduceat(trades["size"].astype(float), first_index)
    last_index = np.r_[first_index[1:], len(trades)] - 1
    start_in = times[first_index[0]] - buckets[0] * NS_PER_S  # first trade's offset in its s
    end_in = times[last_index[-1]] - buckets[-1] * NS_PER_S
    keep = np.ones(len(buckets), dtype=bool)
    if len(buckets) == 1:
        covered = end_in - start_in
        if covered > 0:
            if covered < MIN_BUCKET_NS:
                keep[0] = False
            else:
                volume[0] *= NS_PER_S / covered
    else:
        first_span = NS_PER_S - start_in
        if first_span < MIN_BUCKET_NS:
            keep[0] = False
        else:
            volume[0] *= NS_PER_S / first_span
        if end_in < MIN_BUCKET_NS:
            keep[-1] = False
        else:
            volume[-1] *= NS_PER_S / end_in
    return volume[keep] * 60


def _ofi_events(stream: LobsterStream) -> np.ndarray:
    """Order-flow imbalance of each message (rows 1..n-1) at the touch."""
    ask, ask_qty, bid, bid_qty, _ = _touch(stream)
    d_bid, d_ask = np.diff(bid), np.diff(ask)
    return ((d_bid >= 0) * bid_qty[1:] - (d_bid <= 0) * bid_qty[:-1]
            - (d_ask <= 0) * ask_qty[1:] + (d_ask >= 0) * ask_qty[:-1]).astype(float)


def _rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window:
        return np.zeros(0)
    sums = np.cumsum(np.r_[0.0, values])
    return (sums[window:] - sums[:-window]) / window


def ofi(stream: LobsterStream) -> np.ndarray:
    return _rolling_mean(_ofi_events(stream), OFI_WINDOW)


def _ofi_given_move(stream: LobsterStream, direction: int) -> np.ndarray:
    rolling = ofi(stream)  # rolling[j]: messages j+1 .. j+100
    if len(rolling) < 2:
        return np.zeros(0)
    mid = _mid(stream)
    move = np.sign(np.diff(mid))[OFI_WINDOW:]  # mid change at messages 101 ..
    previous = rolling[:-1]
    return previous[move == direction]


SCORES: dict[str, Score] = {
    "spread": Score(spread, discrete=True),
    "orderbook_imbalance": Score(orderbook_imbalance),
    "log_inter_arrival_time": Score(log_inter_arrival_time),
    "log_time_to_cancel": Score(log_time_to_cancel),
    "ask_volume_touch": Score(lambda s: s.orderbook[:, 1].astype(float)),
    "bid_volume_touch": Score(lambda s: s.orderbook[:, 3].astype(float)),
    "ask_volume": Score(lambda s: _side_volume(s, 1, VOLUME_LEVELS), min_levels=VOLUME_LEVELS),
    "bid_volume": Score(lambda s: _side_volume(s, 3, VOLUME_LEVELS), min_levels=VOLUME_LEVELS),
    "limit_ask_order_depth": Score(lambda s: _depths(s, (NEW,))[0]),
    "limit_bid_order_depth": Score(lambda s: _depths(s, (NEW,))[1]),
    "ask_cancellation_depth": Score(lambda s: _depths(s, (PARTIAL_CANCEL, DELETE))[0]),
    "bid_cancellation_depth": Score(lambda s: _depths(s, (PARTIAL_CANCEL, DELETE))[1]),
    "limit_ask_order_levels": Score(lambda s: _levels(s, (NEW,), False)[0], discrete=True,
                                    min_levels=LEVEL_SCORE_LEVELS),
    "limit_bid_order_levels": Score(lambda s: _levels(s, (NEW,), False)[1], discrete=True,
                                    min_levels=LEVEL_SCORE_LEVELS),
    "ask_cancellation_levels": Score(lambda s: _levels(s, (PARTIAL_CANCEL, DELETE), True)[0],
                                     discrete=True, min_levels=LEVEL_SCORE_LEVELS),
    "bid_cancellation_levels": Score(lambda s: _levels(s, (PARTIAL_CANCEL, DELETE), True)[1],
                                     discrete=True, min_levels=LEVEL_SCORE_LEVELS),
    "volume_per_minute": Score(volume_per_minute),
    "ofi": Score(ofi),
    "ofi_up": Score(lambda s: _ofi_given_move(s, 1)),
    "ofi_stay": Score(lambda s: _ofi_given_move(s, 0)),
    "ofi_down": Score(lambda s: _ofi_given_move(s, -1)),
}


def levels_of(stream: LobsterStream) -> int:
    return stream.orderbook.shape[1] // 4


def score_names(levels: int) -> list[str]:
    """The scores defined for data with ``levels`` visible levels."""
    return [name for name, score in SCORES.items() if score.min_levels <= levels]


def sample(streams: Sequence[LobsterStream], name: str) -> np.ndarray:
    """The pooled finite values of score ``name`` over ``streams``."""
    parts = [np.asarray(SCORES[name].fn(s), dtype=float) for s in streams]
    pooled = np.concatenate(parts) if parts else np.zeros(0)
    return pooled[np.isfinite(pooled)]


def group_edges(real: np.ndarray, generated: np.ndarray, discrete: bool) -> np.ndarray:
    """The thresholds that cut both samples into L1's groups (see the module docstring)."""
    pooled = np.concatenate([real, generated])
    if discrete:
        return np.unique(pooled)
    edges = np.histogram_bin_edges(pooled, bins="fd")
    if len(edges) > MAX_BINS + 1:
        edges = np.linspace(pooled.min(), pooled.max(), MAX_BINS + 1)
    return edges


def _l1(g_real: np.ndarray, g_gen: np.ndarray, n_groups: int) -> float:
    """Half the sum of absolute differences of the groups' shares."""
    real = np.bincount(g_real, minlength=n_groups) / len(g_real)
    generated = np.bincount(g_gen, minlength=n_groups) / len(g_gen)
    return float(np.abs(real - generated).sum() / 2)


def standardise(real: np.ndarray, generated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both samples standardised by the pooled mean and standard deviation (ddof 1)."""
    pooled = np.concatenate([real, generated])
    scale = pooled.std(ddof=1) if len(pooled) > 1 else 0.0
    scale = scale if scale > 0 else 1.0
    centre = pooled.mean()
    return (real - centre) / scale, (generated - centre) / scale


def distances(real: np.ndarray, generated: np.ndarray, discrete: bool,
              n_bootstrap: int = 100, rng: np.random.Generator | None = None) -> dict:
    """L1 and Wasserstein with their bootstrap intervals; undefined (None, with a reason)
    when a sample is empty."""
    row = {"n_real": len(real), "n_generated": len(generated)}
    if len(real) == 0 or len(generated) == 0:
        empty = "real" if len(real) == 0 else "generated"
        return {**row, "l1": None, "l1_ci": None, "wasserstein": None,
                "wasserstein_ci": None, "undefined": f"no {empty} values"}
    rng = np.random.default_rng(12345) if rng is None else rng
    edges = group_edges(real, generated, discrete)
    n_groups = len(edges) + 1
    g_real = np.searchsorted(edges, real, side="right")
    g_gen = np.searchsorted(edges, generated, side="right")
    z_real, z_gen = standardise(real, generated)
    l1_value = _l1(g_real, g_gen, n_groups)
    w_value = float(wasserstein_distance(z_real, z_gen))
    l1s, ws = [l1_value], [w_value]
    for _ in range(n_bootstrap):
        i = rng.integers(0, len(real), len(real))
        j = rng.integers(0, len(generated), len(generated))
        l1s.append(_l1(g_real[i], g_gen[j], n_groups))
        ws.append(float(wasserstein_distance(z_real[i], z_gen[j])))
    return {**row, "l1": l1_value, "l1_ci": np.percentile(l1s, [0.5, 99.5]).tolist(),
            "wasserstein": w_value, "wasserstein_ci": np.percentile(ws, [0.5, 99.5]).tolist()}


def compare(real: Sequence[LobsterStream], generated: Sequence[LobsterStream],
            n_bootstrap: int = 100, seed: int = 12345) -> dict[str, dict]:
    """Every score the data's levels allow: :func:`distances` of the pooled samples."""
    levels = min(levels_of(s) for s in [*real, *generated])
    rng = np.random.default_rng(seed)
    return {name: distances(sample(real, name), sample(generated, name),
                            SCORES[name].discrete, n_bootstrap, rng)
            for name in score_names(levels)}


def message_mix(streams: Sequence[LobsterStream]) -> dict:
    """Shares of new orders (1), cancels (2, 3) and visible executions (4) among all
    messages, and messages per minute (pooled over ``streams``; time spanned by each stream's
    first to last message)."""
    types = np.concatenate([s.messages["type"] for s in streams])
    minutes = sum((int(s.messages["time_ns"][-1]) - int(s.messages["time_ns"][0])) / 60e9
                  for s in streams)
    n = len(types)
    return {"messages": n,
            "new": float(np.mean(types == NEW)) if n else None,
            "cancel": float(np.mean((types == PARTIAL_CANCEL) | (types == DELETE))) if n else None,
            "execute": float(np.mean(types == EXECUTE)) if n else None,
            "messages_per_minute": n / minutes if minutes > 0 else None}
