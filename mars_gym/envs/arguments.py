"""Checks of the numbers a user passes to an environment: each refusal is a ValueError that
names the argument, before anything is built or changed."""

from __future__ import annotations

import math
import numbers

# The longest episode an env takes, seconds (about 116 days: past any source's data; its
# nanoseconds fit in int64 with room to spare).
MAX_HORIZON_S = 1e7
# The largest reward penalty coefficient: its term stays finite for any inventory an episode
# can build, so a reward is never infinite.
MAX_PENALTY = 1e6


def whole_number(name: str, value, low: int, high: int | None = None) -> int:
    """``value`` as an int: an integer (or an integral float such as ``2000.0``) in
    ``[low, high]``; fractions, bools, strings and non-finite values are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        # a ValueError, not a TypeError: every bad env argument is one (Gymnasium's habit)
        raise ValueError(f"{name} must be a whole number, got {value!r}")  # noqa: TRY004
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif math.isfinite(value) and float(value).is_integer():
        number = int(float(value))
    else:
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if number < low or (high is not None and number > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be in {bound}, got {number}")
    return number


def real_number(name: str, value, low: float, high: float = math.inf,
                low_open: bool = False) -> float:
    """``value`` as a finite float in ``[low, high]`` (``(low, high]`` when ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    number = float(value)
    if number < low or (low_open and number == low) or number > high:
        interval = f"{'(' if low_open else '['}{low}, {high}]"
        raise ValueError(f"{name} must be in {interval}, got {number}")
    return number
