"""The order tokenizer's file: every fitted array and one JSON header naming the format and its
version, saved as one ``.npz`` (and inside model checkpoints, :mod:`mars_gym.lmm.checkpoint`).

Versions, all still read:

1. prices against the mid (no ``price_reference`` in the header: ``"mid"``);
2. a saved price reference; early version-2 ``"touch"`` files counted an improving order's
   coordinate in ticks, which version 3 reads as the share of the spread it takes: such a file
   is refused (train again) rather than read wrong;
3. an improving order's ``"touch"`` coordinate is the share of the spread it takes.

Headers before source rows name none (the shared source ids); headers before the trade memory
read no trades. A header with a non-empty ``trade_rate_s`` (a conditioning input tried and not
shipped) is refused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mars_gym.data.orders import BUY_ORDER, SELL_ORDER
from mars_gym.tokens.bins import QuantileBins
from mars_gym.tokens.scheme import (
    CROSS,
    N_INTERVAL_BINS,
    N_KINDS,
    N_PRICE_BINS,
    N_VOLUME_BINS,
    PRICE_REFERENCES,
    TokenScheme,
)

FORMAT_VERSION = 3
FORMAT_NAME = "mars_gym.order_tokenizer"
SCHEME = [N_KINDS, N_PRICE_BINS, N_VOLUME_BINS, N_INTERVAL_BINS]  # the header's "scheme"


class TokenizerFileError(ValueError):
    """A tokenizer file that is missing, corrupt or of another version."""


def tokenizer_state(scheme: TokenScheme, source_rows: dict[str, int], generic_source: bool,
                    trade_memory_s: Sequence[float]) -> dict[str, np.ndarray]:
    """All fitted arrays of an order tokenizer (its ``scheme``, the sources it was trained on,
    whether it trained the generic source row, its trade memory timescales), with a JSON header
    naming the format and version."""
    arrays: dict[str, np.ndarray] = {}
    for k in range(N_KINDS):
        arrays.update(scheme.price_bins[k].to_arrays(f"price{k}"))
        arrays.update(scheme.volume_bins[k].to_arrays(f"volume{k}"))
    arrays.update(scheme.interval_bins.to_arrays("interval"))
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION,
              "price_reference": scheme.price_reference,
              "volume_scale": {str(k): v for k, v in scheme.volume_scale.items()},
              "source_rows": source_rows, "generic_source": generic_source,
              "trade_memory_s": list(trade_memory_s),
              "scheme": SCHEME}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    return arrays


def read_state(arrays, origin: str = "<state>") -> dict[str, Any]:
    """The keyword arguments of :class:`~mars_gym.tokens.order_tokenizer.OrderTokenizer` that
    :func:`tokenizer_state` saved (any version, see the module docstring); ``origin`` names the
    file in errors."""
    try:
        header = json.loads(bytes(np.asarray(arrays["header"], dtype=np.uint8)).decode())
    except (KeyError, ValueError) as error:
        raise TokenizerFileError(f"{origin}: no readable tokenizer header ({error})") from None
    if header.get("format") != FORMAT_NAME:
        raise TokenizerFileError(f"{origin}: not an order tokenizer "
                                 f"(format {header.get('format')!r})")
    version = header.get("version")
    if version not in (1, 2, FORMAT_VERSION):
        raise TokenizerFileError(f"{origin}: tokenizer format version {version}, this code "
                                 f"reads versions 1 to {FORMAT_VERSION}")
    reference = header.get("price_reference", "mid")  # version 1 knew only the mid
    if reference not in PRICE_REFERENCES:
        raise TokenizerFileError(f"{origin}: unknown price reference {reference!r}")
    scheme = header.get("scheme", SCHEME)  # every version writes it; the check is on its value
    if scheme != SCHEME:
        raise TokenizerFileError(f"{origin}: header field scheme is {scheme!r} (kinds, price, "
                                 f"volume and interval bins), this code's is {SCHEME}")
    try:
        price = {k: QuantileBins.from_arrays(arrays, f"price{k}", N_PRICE_BINS)
                 for k in range(N_KINDS)}
        volume = {k: QuantileBins.from_arrays(arrays, f"volume{k}", N_VOLUME_BINS)
                  for k in range(N_KINDS)}
        interval = QuantileBins.from_arrays(arrays, "interval", N_INTERVAL_BINS)
    except KeyError as error:
        raise TokenizerFileError(f"{origin}: missing array {error}") from None
    except ValueError as error:
        raise TokenizerFileError(f"{origin}: {error}") from None
    volume_scale = _volume_scale(header.get("volume_scale"), origin)
    if version == 2 and reference == "touch" and _improving_in_ticks(price):
        # read as shares of the spread, every improving order would jump to one tick from
        # the far touch
        raise TokenizerFileError(
            f"{origin}: a version-2 'touch' tokenizer that counts improving orders in ticks; "
            f"this code reads them as shares of the spread (version {FORMAT_VERSION}): train "
            "the model again (mars-gym train-lmm) to fit a new tokenizer")
    rows = header.get("source_rows", {})  # files before source rows: the shared ids
    if not (isinstance(rows, dict) and all(isinstance(r, int) for r in rows.values())):
        raise TokenizerFileError(f"{origin}: source_rows must map names to rows")
    unscaled = sorted(name for name, row in rows.items() if row not in volume_scale)
    if unscaled:
        raise TokenizerFileError(f"{origin}: volume_scale has no entry for the rows of "
                                 f"source_rows {unscaled}")
    memory = header.get("trade_memory_s", [])  # files before it read no trades
    if not (isinstance(memory, list) and all(
            isinstance(t, (int, float)) and t > 0 and math.isfinite(t) for t in memory)):
        raise TokenizerFileError(f"{origin}: trade_memory_s must be a list of positive "
                                 f"seconds, got {memory!r}")
    if header.get("trade_rate_s"):
        raise TokenizerFileError(
            f"{origin}: the conditions read a trade rate ({header['trade_rate_s']!r} s), an "
            "input this code no longer has: train the model again (mars-gym train-lmm) to fit "
            "a tokenizer without it")
    return {"price_bins": price, "volume_bins": volume, "interval_bins": interval,
            "volume_scale": volume_scale,
            "price_reference": reference, "source_rows": rows,
            "generic_source": bool(header.get("generic_source", False)),
            "trade_memory_s": memory}


def save_state(path: Path | str, arrays: dict[str, np.ndarray]) -> None:
    """Write a tokenizer's arrays (:func:`tokenizer_state`) as one ``.npz`` file."""
    np.savez(Path(path), **arrays)


def load_state(path: Path | str) -> dict[str, Any]:
    """:func:`read_state` of a ``.npz`` tokenizer file."""
    path = Path(path)
    if not path.is_file():
        raise TokenizerFileError(f"tokenizer file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return read_state({key: arrays[key] for key in arrays.files}, str(path))
    except (OSError, ValueError) as error:
        if isinstance(error, TokenizerFileError):
            raise
        raise TokenizerFileError(f"{path}: not a readable tokenizer file ({error})") from None


def _volume_scale(saved, origin: str) -> dict[int, float]:
    """The header's ``volume_scale`` (source id -> lots) as numbers, or a TokenizerFileError
    naming ``origin`` unless every id is an integer and every scale finite and positive."""
    if not isinstance(saved, dict) or not saved:
        raise TokenizerFileError(f"{origin}: header field volume_scale must map source ids to "
                                 f"lots, got {saved!r}")
    scales: dict[int, float] = {}
    for key, value in saved.items():
        try:
            source = int(key)
        except (TypeError, ValueError):
            raise TokenizerFileError(f"{origin}: volume_scale has a source id {key!r} that is "
                                     "not an integer") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value <= 0:
            raise TokenizerFileError(f"{origin}: volume_scale of source {source} must be a "
                                     f"finite number of lots > 0, got {value!r}")
        scales[source] = float(value)
    return scales


def _improving_in_ticks(price_bins: dict[int, QuantileBins]) -> bool:
    """Whether a "touch" tokenizer's buy or sell bins place improving orders in ticks (version
    2 files written before improvements became shares of the spread, which never exceed 1)."""
    for kind in (BUY_ORDER, SELL_ORDER):
        lower = np.asarray(price_bins[kind].lower)
        if ((lower > 1) & (lower < CROSS / 2)).any():
            return True
    return False
