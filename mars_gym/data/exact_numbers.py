"""Numbers read exactly off the text of a CSV column, refused line by line when they are not.

A decimal in the text (``123456.785``, ``-0.5``, ``7.18e-06``) is turned into a whole number of
a unit (a price tick, a size lot, a nanosecond) with integer arithmetic on its digits, never
through a float: a value that is not a whole number of the unit, that leaves the allowed range
or that does not fit an ``int64`` is an :class:`OrderEventFormatError` naming the file and line
(the first such line), and nothing is rounded.

Plain decimals of up to 18 digits are parsed with array operations on the characters; any
other text (an exponent, spaces, more digits) is read by :class:`decimal.Decimal`, one row at a
time, with the same rules.

Times carry a declared unit (:data:`TIME_UNITS`) and are checked to be plausible: a Unix epoch
time between 1980 and 2100, or (where the format allows it) a time after midnight under 7 days.
A time that is not names the unit under which it would be, so a file in milliseconds read as
seconds (or the reverse) is refused with the fix, not loaded 1,000 times off.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

INT64_MAX = 2**63 - 1
TIME_UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}  # nanoseconds per unit
EPOCH_NS = (315_532_800 * 10**9, 4_102_444_800 * 10**9)  # [1980-01-01, 2100-01-01) UTC
AFTER_MIDNIGHT_NS = (0, 7 * 86_400 * 10**9)  # [0, 7 days)
OK, NOT_A_NUMBER, NOT_WHOLE, OVERFLOW = 0, 1, 2, 3  # the status of a parsed value
_FAST_DIGITS = 18  # every decimal of at most 18 digits fits an int64
_FAST_WIDTH = _FAST_DIGITS + 2  # a sign, the digits and a point; longer texts: row by row
_ZERO, _NINE, _DOT, _MINUS, _PLUS = (ord(c) for c in "09.-+")


class OrderEventFormatError(ValueError):
    """A row of an order-event file that does not follow its format (names file and line)."""


def line_of(row: int) -> int:
    """The 1-based file line of data row ``row`` (after the header line)."""
    return row + 2


def exact_fraction(value: float | Fraction) -> Fraction:
    """``value`` as the exact fraction its shortest decimal spells (``0.01`` -> 1/100)."""
    if isinstance(value, Fraction):
        return value
    return Fraction(repr(float(value))) if isinstance(value, float) else Fraction(value)


def _decimal_parts(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(digits, fraction_digits, fast)``: each plain decimal text as the integer of its
    digits (signed) and how many of them follow the point; ``fast`` is False for any text
    that is not a plain decimal of at most 18 digits (those two values are then meaningless)."""
    n = len(texts)
    # a plain decimal has at most _FAST_WIDTH characters: a longer text, cut one character
    # past it, can only fail the checks below (more digits, points or signs than allowed)
    chars = texts.astype(f"U{_FAST_WIDTH + 1}")
    width = int(np.char.str_len(chars).max(initial=0))
    chars = chars.astype(f"U{max(width, 1)}")
    values = np.zeros(n, dtype=np.int64)
    fraction_digits = np.zeros(n, dtype=np.int64)
    if width == 0:
        return values, fraction_digits, np.zeros(n, dtype=bool)
    columns = np.ascontiguousarray(chars.view(np.uint32).reshape(n, width).T)  # (width, n)
    negative = columns[0] == _MINUS
    signed = negative | (columns[0] == _PLUS)
    fast, ended = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    dots = np.zeros(n, dtype=np.int64)
    n_digits = np.zeros(n, dtype=np.int64)
    for k, column in enumerate(columns):
        digit = (column >= _ZERO) & (column <= _NINE)
        dot, pad = column == _DOT, column == 0
        fast &= digit | dot | pad | (signed if k == 0 else False)
        fast &= ~(ended & ~pad)  # nothing after the end of the text
        ended |= pad
        values = np.where(digit, values * 10 + (column.astype(np.int64) - _ZERO), values)
        fraction_digits += digit & (dots > 0)
        dots += dot
        n_digits += digit
    fast &= (dots <= 1) & (n_digits >= 1) & (n_digits <= _FAST_DIGITS)
    return np.where(negative, -values, values), fraction_digits, fast


def _scale_fast(digits: np.ndarray, fraction_digits: np.ndarray, multiplier: Fraction
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``digits / 10**fraction_digits * multiplier`` in integers: ``(values, status, done)``;
    rows not ``done`` (an intermediate would leave int64) are left to the row-by-row path."""
    numerator, denominator = multiplier.numerator, multiplier.denominator
    n = len(digits)
    if numerator > INT64_MAX:
        return np.zeros(n, np.int64), np.zeros(n, np.int8), np.zeros(n, bool)
    table = [denominator * 10**k for k in range(_FAST_DIGITS + 1)]
    below = np.array([d if d <= INT64_MAX else 0 for d in table], dtype=np.int64)
    scale = below[np.minimum(fraction_digits, _FAST_DIGITS)]
    done = scale > 0
    scale = np.where(done, scale, 1)
    common = np.gcd(digits, scale)
    reduced, rest = digits // common, scale // common
    whole = numerator % rest == 0
    factor = np.where(whole, numerator // rest, 1)
    overflow = np.abs(reduced) > INT64_MAX // factor
    values = np.where(whole & ~overflow, reduced * factor, 0)
    status = np.where(~whole, NOT_WHOLE, np.where(overflow, OVERFLOW, OK)).astype(np.int8)
    return values, status, done


def _scale_one(text: str, multiplier: Fraction) -> tuple[int, int]:
    """``(value, status)`` of one text read by :class:`~decimal.Decimal` (any exponent)."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return 0, NOT_A_NUMBER
    if not number.is_finite():
        return 0, NOT_A_NUMBER
    scaled = Fraction(number) * multiplier
    if scaled.denominator != 1:
        return 0, NOT_WHOLE
    if not -INT64_MAX <= scaled.numerator <= INT64_MAX:
        return 0, OVERFLOW
    return int(scaled), OK


def scaled_integers(texts: pd.Series | np.ndarray, multiplier: Fraction
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Each decimal text times ``multiplier``, exactly: ``(values, status)`` as ``int64`` and
    one of ``OK``, ``NOT_A_NUMBER``, ``NOT_WHOLE``, ``OVERFLOW`` per row."""
    texts = np.asarray(texts, dtype=object)
    digits, fraction_digits, fast = _decimal_parts(texts)
    values, status, done = _scale_fast(digits, fraction_digits, multiplier)
    for row in np.flatnonzero(~(fast & done)).tolist():
        values[row], status[row] = _scale_one(str(texts[row]), multiplier)
    return values, status


def _first_bad(bad: np.ndarray) -> int | None:
    rows = np.flatnonzero(bad)
    return int(rows[0]) if rows.size else None


def whole_units(path: Path, column: str, texts: pd.Series, unit: Fraction, low: int,
                high: int) -> np.ndarray:
    """The texts of ``column`` as whole numbers of ``unit`` (in the file's own units, e.g.
    1/100 for a 0.01 tick) in ``[low, high]``; the first line that is not a number, not a
    whole number of the unit or out of range is an :class:`OrderEventFormatError`."""
    values, status = scaled_integers(texts, 1 / unit)
    row = _first_bad((status != OK) | (values < low) | (values > high))
    if row is None:
        return values
    text = texts.iloc[row] if isinstance(texts, pd.Series) else texts[row]
    if status[row] == NOT_A_NUMBER:
        raise OrderEventFormatError(f"{path}:{line_of(row)}: column {column!r} is not a "
                                    f"number: {text!r}")
    what = f"a whole number of {float(unit):g}" if unit != 1 else "a whole number"
    raise OrderEventFormatError(f"{path}:{line_of(row)}: {column} {text} must be {what} in "
                                f"[{low}, {high}]")


def check_time_unit(time_unit: str) -> None:
    """A ``ValueError`` unless ``time_unit`` is one of :data:`TIME_UNITS`."""
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit {time_unit!r} must be one of {sorted(TIME_UNITS)}")


def _plausible(ns: Fraction | int, after_midnight: bool) -> bool:
    windows = (EPOCH_NS, AFTER_MIDNIGHT_NS) if after_midnight else (EPOCH_NS,)
    return any(low <= ns < high for low, high in windows)


def _reading_hint(text: str, time_unit: str, after_midnight: bool) -> str:
    """Which other unit would make ``text`` a plausible time, and what it would then be."""
    try:
        number = Fraction(Decimal(text))
    except (InvalidOperation, ValueError):
        return ""
    for unit, ns_per_unit in TIME_UNITS.items():
        ns = number * ns_per_unit
        if unit != time_unit and _plausible(ns, after_midnight):
            if EPOCH_NS[0] <= ns < EPOCH_NS[1]:
                when = datetime.datetime.fromtimestamp(int(ns // 10**9), datetime.UTC)
                reading = f"{when:%Y-%m-%d %H:%M:%S} UTC"
            else:
                reading = f"{float(ns) / 3.6e12:.2f} hours after midnight"
            return f"; read in {unit} it is {reading}: pass time_unit={unit!r}"
    return ""


def times_ns(path: Path, column: str, texts: pd.Series, time_unit: str, *,
             after_midnight: bool) -> np.ndarray:
    """The texts of ``column``, times in ``time_unit``, as exact integer nanoseconds; the first
    line that is not a number, finer than a nanosecond or not a plausible time (see the module
    docstring; ``after_midnight``: a time of day is allowed too) is refused."""
    check_time_unit(time_unit)
    values, status = scaled_integers(texts, Fraction(TIME_UNITS[time_unit]))
    plausible = (values >= EPOCH_NS[0]) & (values < EPOCH_NS[1])
    if after_midnight:
        plausible |= (values >= AFTER_MIDNIGHT_NS[0]) & (values < AFTER_MIDNIGHT_NS[1])
    row = _first_bad((status != OK) | ~plausible)
    if row is None:
        return values
    text = str(texts.iloc[row])
    where = f"{path}:{line_of(row)}"
    if status[row] == NOT_A_NUMBER:
        raise OrderEventFormatError(f"{where}: column {column!r} is not a number: {text!r}")
    if status[row] == NOT_WHOLE:
        raise OrderEventFormatError(f"{where}: {column} {text} ({time_unit}) is not a whole "
                                    "number of nanoseconds")
    windows = "a Unix epoch time in 1980-2100" + (
        " or a time after midnight under 7 days" if after_midnight else "")
    raise OrderEventFormatError(
        f"{where}: {column} {text} is not a plausible time in {time_unit} ({windows})"
        + _reading_hint(text, time_unit, after_midnight))
