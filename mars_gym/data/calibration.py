"""Market statistics of a source's training split (execution baselines, impact studies).

* ``volume_profile``: the average share of a horizon's traded volume that falls in each decision
  interval, over consecutive horizon-long windows of the training split (the VWAP schedule).
* ``step_volume``: mean traded volume per decision interval (POV's first-step estimate);
  ``horizon_volume``: the median traded volume of a horizon (the protocol's size unit).
* ``sigma_bps``: volatility of the mid, bps per square-root second, from its changes over
  decision intervals.
* ``eta_bps_per_lot``: temporary impact, the slope of the cost (bps from the mid) of sweeping
  ``v`` lots through the visible book, averaged over training book states; ``half_spread_bps``
  its intercept.
* ``gamma_bps_per_lot``: permanent impact, the least-squares slope of an interval's mid change
  (bps) on its net aggressive volume (buyer-initiated minus seller-initiated lots).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from mars_gym.data import EXECUTE, load_source, split_by_time
from mars_gym.data.schema import EventStream


@dataclass(frozen=True)
class MarketCalibration:
    source: str
    step_s: float
    volume_profile: tuple[float, ...]
    step_volume: float
    horizon_volume: float
    sigma_bps: float
    half_spread_bps: float
    eta_bps_per_lot: float
    gamma_bps_per_lot: float

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def fit(cls, train: EventStream, horizon_s: float = 300.0,
            step_s: float = 30.0) -> MarketCalibration:
        """Estimate every parameter from one (training) stream."""
        n_steps = int(np.ceil(horizon_s / step_s))
        events, mid = train.events, train.mid
        times = events["time_ns"]
        step_ns = int(step_s * 1e9)
        edges = np.arange(times[0], times[-1] + 1, step_ns)
        if len(edges) < n_steps + 2:
            raise ValueError(f"the training stream of {train.source.name} is shorter than a "
                             f"horizon of {horizon_s} s")
        executions = events["type"] == EXECUTE
        bucket = np.searchsorted(edges, times, side="right") - 1
        n_buckets = len(edges) - 1
        keep = bucket < n_buckets
        volume = np.bincount(bucket[executions & keep],
                             weights=events["size"][executions & keep], minlength=n_buckets)
        # the resting side is hit: a sell order executed means a buyer-initiated trade
        signed = np.bincount(bucket[executions & keep],
                             weights=-(events["side"] * events["size"])[executions & keep],
                             minlength=n_buckets)
        windows = volume[: n_buckets // n_steps * n_steps].reshape(-1, n_steps)
        totals = windows.sum(axis=1)
        shares = windows[totals > 0] / totals[totals > 0, None]
        profile = shares.mean(axis=0)

        first = np.searchsorted(times, edges[:-1])  # first event of each interval
        mids = mid[np.minimum(first, len(mid) - 1)]
        good = np.isfinite(mids[:-1]) & np.isfinite(mids[1:]) & (mids[:-1] > 0)
        change_bps = (mids[1:] / mids[:-1] - 1) * 1e4
        sigma = float(np.std(change_bps[good]) / np.sqrt(step_s))
        flow = signed[:-1][good]
        gamma = float(flow @ change_bps[good] / (flow @ flow)) if flow @ flow > 0 else 0.0

        half_spread, eta = _sweep_cost(train)
        return cls(source=train.source.name, step_s=step_s,
                   volume_profile=tuple(float(p) for p in profile),
                   step_volume=float(volume.mean()),
                   horizon_volume=float(np.median(totals)),
                   sigma_bps=sigma, half_spread_bps=half_spread, eta_bps_per_lot=eta,
                   gamma_bps_per_lot=max(gamma, 0.0))


def _sweep_cost(stream: EventStream, samples: int = 2_000) -> tuple[float, float]:
    """(intercept, slope) of the average cost in bps of buying or selling ``v`` lots at once
    through the visible book, for ``v`` up to the median visible depth."""
    book = stream.book
    rows = book[np.linspace(0, len(book) - 1, samples).astype(int)]
    rows = rows[(rows["bid"] > 0) & (rows["ask"] > rows["bid"])]
    mid = (rows["bid"] + rows["ask"]) / 2
    ticks = np.arange(rows["ask_qty"].shape[1])
    depth = np.median(np.minimum(rows["ask_qty"].sum(1), rows["bid_qty"].sum(1)))
    sizes = np.linspace(1, max(depth, 2), 16)
    costs = []
    for quantities, best, sign in ((rows["ask_qty"], rows["ask"], 1), (rows["bid_qty"],
                                                                       rows["bid"], -1)):
        prices = best[:, None] + sign * ticks[None, :]
        cumulative = np.cumsum(quantities, axis=1)
        for v in sizes:
            take = np.clip(v - (cumulative - quantities), 0, quantities)
            full = cumulative[:, -1] >= v  # rows whose visible book holds v lots
            average = (take * prices).sum(1)[full] / v
            costs.append((v, float(np.mean(sign * (average - mid[full]) / mid[full] * 1e4))))
    v, cost = np.array(costs).T
    slope, intercept = np.polyfit(v, cost, 1)
    return float(intercept), float(max(slope, 0.0))


@lru_cache(maxsize=16)
def calibrate(source: str, horizon_s: float = 300.0, step_s: float = 30.0,
              data_dir=None) -> MarketCalibration:
    """The calibration of ``source`` on its training split (cached per process)."""
    train = split_by_time(load_source(source, data_dir))["train"]
    return MarketCalibration.fit(train, horizon_s, step_s)
