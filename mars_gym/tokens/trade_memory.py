"""Recent aggressive volume: what the book alone forgets about the trades that moved it.

A book right after a buyer swept the ask looks much like one whose ask was cancelled away, yet
the real market answers the two differently (after a trade the mid stays moved in its direction
for seconds). A model that reads only the book refills a swept ask at the old price; a model
that also reads the *trade memory* can tell them apart.

The trade memory at time ``t`` on timescale ``tau`` is the exponentially decayed sum of the
executed volume, signed by the aggressor's side::

    m(t) = sum over executions e before t of  aggressor_side_e * size_e * exp(-(t - t_e) / tau)

An ``EXECUTE`` event's ``side`` is the resting order's (:mod:`mars_gym.data.schema`), so its
aggressor's is the opposite. Every execution counts, whoever traded: in a simulation an agent's
trades enter the memory like the background's, which is how a model reading it sees an agent's
impact. The same definition serves training (:func:`memory_at`, over a real stream) and the
live book (:class:`TradeMemory`, over a recording's new events).
"""

from __future__ import annotations

import numpy as np

from mars_gym.data.schema import EXECUTE
from mars_gym.data.units import NS_PER_S


def executions(events: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(index, time_ns, signed size)`` of the ``EXECUTE`` events of ``events``
    (``EVENT_DTYPE``); the size is signed by the aggressor's side (+ a buyer hit the ask)."""
    index = np.flatnonzero(events["type"] == EXECUTE)
    hit = events[index]
    return index, hit["time_ns"].astype(np.int64), (-hit["side"] * hit["size"]).astype(np.float64)


def _decay(elapsed_ns, timescales_s: np.ndarray) -> np.ndarray:
    """``exp(-elapsed / tau)`` per timescale (last axis); an execution after the evaluation
    time (none in a well-ordered stream) counts undecayed."""
    elapsed_s = np.maximum(np.asarray(elapsed_ns, dtype=np.float64), 0.0) / NS_PER_S
    return np.exp(-elapsed_s[..., None] / timescales_s)


def memory_at(times_ns: np.ndarray, signed: np.ndarray, counts: np.ndarray,
              at_ns: np.ndarray, timescales_s) -> np.ndarray:
    """The trade memory (n, timescales) of ``n`` moments, the ``k``-th counting the first
    ``counts[k]`` executions (``times_ns``, ``signed``, in time order) decayed to ``at_ns[k]``.

    The running sum ``S_j = S_{j-1} exp(-(t_j - t_{j-1}) / tau) + v_j`` is taken once over the
    executions, then each moment decays the last sum it counts to its own time."""
    taus = np.asarray(timescales_s, dtype=np.float64)
    running = np.zeros((len(signed), len(taus)))
    total = np.zeros(len(taus))
    previous = times_ns[0] if len(times_ns) else 0
    steps = _decay(np.diff(times_ns, prepend=previous), taus)
    for j in range(len(signed)):  # a recursion: one pass, a few µs an execution
        total = total * steps[j] + signed[j]
        running[j] = total
    counts = np.asarray(counts, dtype=np.int64)
    out = np.zeros((len(counts), len(taus)))
    seen = counts > 0
    last = counts[seen] - 1
    out[seen] = running[last] * _decay(np.asarray(at_ns)[seen] - times_ns[last], taus)
    return out


class TradeMemory:
    """The trade memory of a live book, kept up to date from its recording's new events, on
    ``timescales_s``.

    :meth:`start` sets it from a real history (its executions decayed to the start time);
    :meth:`add` counts new events; :meth:`at` reads it at a later time."""

    def __init__(self, timescales_s) -> None:
        self.timescales_s = np.asarray(tuple(timescales_s), dtype=np.float64)
        self.value = np.zeros(len(self.timescales_s))
        self.time_ns = 0  # the time ``value`` is decayed to

    def start(self, history_events: np.ndarray, at_ns: int) -> None:
        """The memory of a real history's executions, decayed to ``at_ns``."""
        _, times, signed = executions(history_events)
        self.value = memory_at(times, signed, np.array([len(signed)]),
                               np.array([at_ns]), self.timescales_s)[0]
        self.time_ns = int(at_ns)

    def add(self, events: np.ndarray) -> None:
        """Count the executions among ``events`` (recorded after the last call)."""
        if not (events["type"] == EXECUTE).any():  # most orders of a live flow trade nothing
            return
        _, times, signed = executions(events)
        if not len(signed):
            return
        latest = max(int(times[-1]), self.time_ns)
        self.value = (self.value * _decay(latest - self.time_ns, self.timescales_s)
                      + (signed[:, None] * _decay(latest - times, self.timescales_s)
                         ).sum(axis=0))
        self.time_ns = latest

    def at(self, time_ns: int) -> np.ndarray:
        """The memory at ``time_ns`` (not before the last execution counted: undecayed then)."""
        elapsed_s = max(time_ns - self.time_ns, 0) / NS_PER_S  # _decay's, for one moment
        return self.value * np.exp(-elapsed_s / self.timescales_s)
