"""Saved stable-baselines3 agents: which algorithms, saving one with its sidecar, and loading a
saved one safely."""

from __future__ import annotations

import importlib
import io
import json
from pathlib import Path
from typing import Any

from agents.trust import read_trusted, record_trusted

ALGOS = ("ppo", "a2c", "dqn", "sac")  # each is stable_baselines3's class of the upper-case name


def algorithm(name: str) -> Any:
    """The stable-baselines3 class of an algorithm in :data:`ALGOS` (imported on demand, so
    that listing the names stays light)."""
    if name not in ALGOS:
        raise ValueError(f"unknown algorithm {name!r}; expected one of {ALGOS}")
    return getattr(importlib.import_module("stable_baselines3"), name.upper())


def load_model(path: str | Path, trust: bool = False):
    """Load a model saved by :func:`save` (the algorithm comes from its sidecar).

    Only a trusted file is loaded: listed in its folder's ``SHA256SUMS``, or ``trust=True``
    (loading an SB3 zip runs code stored in it; see :mod:`agents.trust`). The file is read
    once and loaded from memory, so the bytes checked are the bytes loaded; a symbolic link is
    refused. A ``SHA256SUMS`` in a folder an attacker can write protects nothing: they rewrite
    it along with the agent.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no saved agent at {path}")
    sidecar = path.with_suffix(".json")
    if not sidecar.exists():
        raise FileNotFoundError(f"{path} has no {sidecar.name} saying which algorithm made it")
    algo = json.loads(sidecar.read_text()).get("algo")
    if algo not in ALGOS:
        raise ValueError(f"{sidecar}: unknown algorithm {algo!r}; expected one of {ALGOS}")
    content = read_trusted(path, trust)
    return algorithm(algo).load(io.BytesIO(content), device="cpu")


def save(model, path: Path, meta: dict[str, Any]) -> None:
    """Save an SB3 model and its ``.json`` sidecar, and list it as trusted in its folder's
    manifest (:mod:`agents.trust`)."""
    model.save(path)
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1, default=str))
    record_trusted(path)
