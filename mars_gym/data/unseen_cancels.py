"""How fast orders behind the touch are cancelled where a touch-only message file cannot see it.

A LOBSTER level-1 message file shows only the events at the touch. An order that rests at the
touch and is pushed behind it (a better price arrives on its side) is cancelled there unseen:
on AMZN's training split about a third of the volume added at the touch is never seen removed.
A model trained on such messages never cancels behind the touch, so in a simulator that applies
every order the pushed-back orders would stay for ever: the book behind the touch fills up, the
spread narrows and the touch queue grows without bound.

:func:`fit_unseen_cancel_rate` measures the rate from the data itself. An order that was pushed
behind the touch exactly once and whose price became the touch again is a clean trial: it was
either seen again (removed visibly later: it survived the episode behind) or never (the level
was later used up at the touch without it: it was cancelled while behind). With a constant
hazard ``rate`` per second behind the touch, an episode of ``L`` seconds ends the order with
probability ``1 - exp(-rate * L)``; the rate is the maximum-likelihood one over all trials.
On AMZN's training split: 2,660 trials, rate 0.069 per second (an order lives 14 s behind the
touch on average). The real hazard falls with time: cancelled in 13 % of the episodes shorter
than a second (the constant hazard says 2 %), 40 % of those of 1-10 s (24 %), 80 % of 10-60 s
(78 %), 98 % of 1-10 minutes (100 %).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from mars_gym.data.schema import NEW, EventStream

MIN_TRIALS = 50  # fewer clean trials than this: no estimate


def unseen_episodes(stream: EventStream) -> tuple[np.ndarray, np.ndarray]:
    """The clean trials of a touch-only stream: each episode's length behind the touch
    (seconds) and whether the order was cancelled in it unseen."""
    events, book = stream.events, stream.book
    n = len(events)
    removed_at: dict[int, int] = {}  # order id -> index of its last visible removal
    for i in np.flatnonzero(events["type"] != NEW).tolist():
        removed_at[int(events["order_id"][i])] = i
    touch = {1: book["bid"].astype(np.int64), -1: book["ask"].astype(np.int64)}
    seconds = events["time_ns"] / 1e9
    lengths, cancelled = [], []
    for i in np.flatnonzero(events["type"] == NEW).tolist():
        side, price = int(events["side"][i]), int(events["price"][i])
        order_id = int(events["order_id"][i])
        end = removed_at.get(order_id, -1)
        if end >= 0 and end < i:  # the id was reused: not this order's removal
            end = -1
        stop = end + 1 if end > i else n
        # book row k is the book before event k: the order rests in rows i + 1 .. end
        ahead = side * (touch[side][i + 1:stop] - price)  # > 0: behind, < 0: its level used up
        used_up = np.flatnonzero(ahead < 0)
        if end < 0:
            if not len(used_up):
                continue  # still resting where the stream ends: no verdict
            ahead = ahead[:used_up[0]]
        elif len(used_up):
            continue  # the touch passed its price while it rested: a replay gap, skip
        behind = np.diff(np.r_[0, (ahead > 0).astype(np.int8), 0])
        starts, ends = np.flatnonzero(behind == 1), np.flatnonzero(behind == -1)
        if len(starts) != 1 or ends[0] >= len(ahead):
            continue  # never behind, behind more than once, or still behind at its end
        # row i + 1 + k shows what event i + k did: pushed behind by event i + start, back at
        # the touch after event i + end
        lengths.append(seconds[i + ends[0]] - seconds[i + starts[0]])
        cancelled.append(end < 0)
    return np.asarray(lengths, dtype=np.float64), np.asarray(cancelled, dtype=bool)


def hazard_from_trials(lengths: np.ndarray, cancelled: np.ndarray) -> float:
    """The maximum-likelihood constant hazard (per second) of trials that each lasted
    ``lengths`` seconds and ended cancelled (``cancelled``) or not: a trial is cancelled with
    probability ``1 - exp(-rate * length)``. 0.0 with no cancelled trial."""
    lengths, cancelled = np.asarray(lengths, dtype=np.float64), np.asarray(cancelled, bool)
    if (lengths <= 0).any():
        raise ValueError("trial lengths must be > 0 seconds")
    if not cancelled.any():
        return 0.0
    if cancelled.all():
        raise ValueError("every trial was cancelled: the rate has no finite estimate")
    survived_s = lengths[~cancelled].sum()
    gone = lengths[cancelled]

    def score(rate: float) -> float:  # derivative of the log-likelihood, falling in rate
        with np.errstate(over="ignore"):  # exp overflowing: that trial's term is 0
            return float(np.sum(gone / np.expm1(rate * gone)) - survived_s)

    high = 1.0
    while score(high) > 0:
        high *= 10
    return float(brentq(score, 1e-12, high, xtol=1e-12))


def fit_unseen_cancel_rate(stream: EventStream) -> float:
    """The hazard (per second) of an order behind the touch being cancelled, measured on a
    stream whose messages show only the touch (see the module docstring); 0.0 for streams that
    show deeper levels (their cancels behind the touch are in the data, so a model learns them)
    or too few trials (:data:`MIN_TRIALS`)."""
    if stream.source.visible_levels != 1:
        return 0.0
    lengths, cancelled = unseen_episodes(stream)
    keep = lengths > 0  # an episode within one time stamp says nothing about a rate
    if keep.sum() < MIN_TRIALS:
        return 0.0
    try:
        return hazard_from_trials(lengths[keep], cancelled[keep])
    except ValueError as error:
        raise ValueError(f"{stream.source.name}: {error}") from None


__all__ = ["fit_unseen_cancel_rate", "hazard_from_trials", "unseen_episodes"]
