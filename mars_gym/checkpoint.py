"""The one file format of every torch file the project writes or reads.

A checkpoint is a dictionary ``{"format": NAME, "version": N, "sha256": DIGEST, **payload}``
holding tensors and plain containers (dict, list, tuple, str, int, float, bool, None) only.

* Written atomically: to a temporary file beside the target (``.NAME.XXXXXXXX.tmp``), then
  renamed over it, so a crash never leaves a half-written checkpoint (a killed writer leaves
  the temporary file: :func:`remove_stale_temporaries`); a payload with a NaN or infinite
  tensor is not written.
* Read with ``torch.load(weights_only=True)``: no pickled code can run.
* ``sha256`` covers the whole payload (every tensor's dtype, shape and bytes, every other value),
  so flipped bytes are found even where the zip container does not notice; floating tensors must
  be finite.
* Models are rebuilt by :func:`build_module`: the config is first instantiated on the meta device
  and its parameter shapes compared with the saved tensors, so a crafted config cannot make the
  loader allocate more than the file holds.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn

DIGEST_KEY = "sha256"
TEMPORARY_SUFFIX = ".tmp"  # of the file a checkpoint is written to before it is renamed
# Containers within containers a payload may nest (real ones nest a handful): deeper is refused
# before Python's recursion limit is reached.
MAX_PAYLOAD_DEPTH = 100


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, or incompatible with this code."""


def _feed(digest, value, depth: int = 0) -> None:
    """Feed a canonical encoding of ``value`` (a checkpoint's payload, ``depth`` containers
    down) into ``digest``."""
    if depth > MAX_PAYLOAD_DEPTH:
        raise TypeError(f"a checkpoint's payload nests containers at most {MAX_PAYLOAD_DEPTH} "
                        "deep; this one nests deeper")
    if isinstance(value, torch.Tensor):
        data = value.detach().cpu().contiguous()
        digest.update(f"T{data.dtype}{tuple(data.shape)}".encode())
        digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, Mapping):
        digest.update(f"D{len(value)}".encode())
        for key in sorted(value, key=repr):
            digest.update(f"K{key!r}".encode())
            _feed(digest, value[key], depth + 1)
    elif isinstance(value, (list, tuple)):
        digest.update(f"L{len(value)}".encode())
        for item in value:
            _feed(digest, item, depth + 1)
    elif value is None or isinstance(value, (str, int, float, bool)):
        digest.update(f"V{type(value).__name__}{value!r}".encode())
    else:
        raise TypeError(f"a checkpoint holds tensors and plain containers only, got "
                        f"{type(value).__name__}")


def payload_digest(payload: Mapping) -> str:
    """The sha256 of ``payload`` without its own digest entry."""
    digest = hashlib.sha256()
    _feed(digest, {k: v for k, v in payload.items() if k != DIGEST_KEY})
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_checkpoint(path: Path | str, format_name: str, version: int, payload: Mapping) -> Path:
    """Write ``payload`` as a ``format_name`` checkpoint of ``version``, atomically."""
    content = {"format": format_name, "version": version, **payload}
    content[DIGEST_KEY] = payload_digest(content)
    path = Path(path)
    bad = _non_finite(content)
    if bad is not None:  # the file would not load, and it would replace one that does
        raise ValueError(f"{path} is not written: tensor {bad} holds NaN or infinite values")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX,
                                   dir=path.parent)
    os.close(handle)
    try:
        torch.save(content, tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would hide the file from others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def remove_stale_temporaries(path: Path | str) -> list[Path]:
    """Delete the temporary files :func:`save_checkpoint` leaves beside ``path`` when it is
    killed mid-write (``.NAME.XXXXXXXX.tmp``, nothing else) and return them. Only for a folder
    no other process is writing ``path`` into."""
    path = Path(path)
    stale = sorted(path.parent.glob(f".{glob.escape(path.name)}.{'?' * 8}{TEMPORARY_SUFFIX}"))
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


def _non_finite(value, where: str = "") -> str | None:
    """The key path of the first floating tensor with a NaN or infinity, else None."""
    if isinstance(value, torch.Tensor):
        return where if value.is_floating_point() and not torch.isfinite(value).all() else None
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _non_finite(item, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


def read_checkpoint(path: Path | str, format_name: str, version: int,
                    what: str | None = None, article: str = "a") -> dict:
    """The checkpoint's dictionary, after the format, version, digest and finiteness checks.
    ``what`` names the kind of file in errors (default: from ``format_name``); ``article`` goes
    before it."""
    path = Path(path)
    what = what or format_name.rsplit(".", 1)[-1].replace("_", " ")
    if not path.is_file():
        raise CheckpointError(f"{what} checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError, OSError,
            AttributeError, TypeError) as error:
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(error).__name__}: "
                              f"{str(error)[:200]})") from None
    if not isinstance(payload, dict) or payload.get("format") != format_name:
        raise CheckpointError(f"{path}: not {article} {what} checkpoint")
    if payload.get("version") != version:
        raise CheckpointError(f"{path}: {what} checkpoint version {payload.get('version')!r}, "
                              f"this code reads version {version}")
    try:
        digest = payload_digest(payload)
    except TypeError as error:
        raise CheckpointError(f"{path}: {error}") from None
    if payload.get(DIGEST_KEY) != digest:
        raise CheckpointError(f"{path}: the content does not match its sha256 (the file is "
                              "corrupt or was edited)")
    bad = _non_finite(payload)
    if bad is not None:
        raise CheckpointError(f"{path}: tensor {bad} holds NaN or infinite values")
    return payload


def check_config_ranges(config, ranges: dict[str, tuple[int, int]],
                        reasons: Mapping[str, str] | None = None) -> None:
    """Raise ValueError unless each named field of ``config`` is an integer in its range; the
    message gives the field's entry of ``reasons`` (why the range is what it is) when there is
    one."""
    for name, (low, high) in ranges.items():
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            reason = (reasons or {}).get(name)
            raise ValueError(f"{type(config).__name__}.{name} must be an integer in "
                             f"[{low}, {high}]" + (f" ({reason})" if reason else "")
                             + f", got {value!r}")


def config_from(config_class, fields, path) -> object:
    """``config_class(**fields)``, or a CheckpointError naming ``path``."""
    if not isinstance(fields, Mapping):
        raise CheckpointError(f"{path}: the model config is missing")
    try:
        return config_class(**fields)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: bad model config ({error})") from None


def build_module(make: Callable[[], nn.Module], state: Mapping[str, torch.Tensor],
                 what: str) -> nn.Module:
    """``make()`` loaded with ``state``, after checking on the meta device (no memory) that the
    config makes exactly the saved tensors' names and shapes."""
    try:
        with torch.device("meta"):
            skeleton = make()
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{what}: bad model config ({error})") from None
    expected = {name: tuple(t.shape) for name, t in skeleton.state_dict().items()}
    if not isinstance(state, Mapping) or not all(
            isinstance(t, torch.Tensor) for t in state.values()):
        raise CheckpointError(f"{what}: the weights are not a mapping of tensors")
    saved = {name: tuple(t.shape) for name, t in state.items()}
    if saved != expected:
        wrong = sorted(set(saved) ^ set(expected)) or sorted(
            n for n in saved if saved[n] != expected[n])
        raise CheckpointError(f"{what}: the weights do not fit the model config "
                              f"(first differences: {wrong[:3]})")
    module = make()
    own = module.state_dict()
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
    return module
