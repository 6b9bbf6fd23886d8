"""Saved SB3 agents run code when loaded: only trusted files are loaded (agents.trust)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest

from agents.leaderboard import policies
from agents.policies import SB3Policy
from agents.saved import load_model
from agents.trust import MANIFEST, UntrustedAgentError, check_trusted, record_trusted

AGENTS = Path(__file__).resolve().parents[2] / "benchmarks" / "agents"


class Payload:
    """Pickled, it runs code on load: it writes ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


def _plant(source: Path, target: Path, marker: Path) -> Path:
    """Copy an SB3 zip, replacing one serialized object of its data with the payload."""
    with zipfile.ZipFile(source) as original:
        files = {name: original.read(name) for name in original.namelist()}
    data = json.loads(files["data"])
    data["policy_class"][":serialized:"] = base64.b64encode(
        pickle.dumps(Payload(marker))).decode()
    files["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(target, "w") as planted:
        for name, content in files.items():
            planted.writestr(name, content)
    target.with_suffix(".json").write_bytes(source.with_suffix(".json").read_bytes())
    return target


def test_the_shipped_agents_are_listed_and_load():
    for zip_path in sorted(AGENTS.glob("*.zip")):
        check_trusted(zip_path)
    assert SB3Policy.load(AGENTS / "ppo_hawkes.zip").name == "ppo_hawkes"


def test_a_planted_agent_is_refused_before_any_of_its_code_runs(tmp_path):
    marker = tmp_path / "marker"
    planted = _plant(AGENTS / "ppo_hawkes.zip", tmp_path / "ppo_evil.zip", marker)
    with pytest.raises(UntrustedAgentError, match=r"ppo_evil.zip is not listed in .*trust=True"):
        load_model(planted)
    with pytest.raises(UntrustedAgentError):
        SB3Policy.load(planted)
    assert not marker.exists()
    with pytest.raises(Exception):  # noqa: B017  trusted explicitly, the payload does run
        load_model(planted, trust=True)
    assert marker.read_text() == "ran"


def test_a_listed_agent_altered_afterwards_is_refused(tmp_path):
    marker = tmp_path / "marker"
    agent = tmp_path / "ppo.zip"
    agent.write_bytes((AGENTS / "ppo_hawkes.zip").read_bytes())
    agent.with_suffix(".json").write_bytes((AGENTS / "ppo_hawkes.json").read_bytes())
    record_trusted(agent)
    assert load_model(agent) is not None
    _plant(AGENTS / "ppo_hawkes.zip", agent, marker)
    with pytest.raises(UntrustedAgentError, match="has changed since it was listed"):
        load_model(agent)
    assert not marker.exists()


def test_the_leaderboard_refuses_a_zip_planted_among_the_agents(tmp_path, lobster_dir):
    from agents.evaluation import Protocol

    marker = tmp_path / "marker"
    folder = tmp_path / "agents"
    folder.mkdir()
    for name in ("ppo_hawkes.zip", "ppo_hawkes.json", MANIFEST):
        (folder / name).write_bytes((AGENTS / name).read_bytes())
    _plant(AGENTS / "ppo_hawkes.zip", folder / "ppo_extra.zip", marker)
    protocol = Protocol(split="val", n_starts=1, seed=20_000)
    with pytest.raises(UntrustedAgentError, match="ppo_extra.zip"):
        policies(folder, protocol, lobster_dir)
    assert not marker.exists()


class _SwapAfterHashing:
    """A stand-in for the ``hashlib`` module in :mod:`agents.trust` whose digests, once
    computed, replace ``path`` with ``swap`` (the attacker's move between check and load)."""

    def __init__(self, path: Path, swap: Path) -> None:
        self.path, self.swap, self.swapped = path, swap, 0

    def sha256(self, *args):
        import hashlib

        digest, outer = hashlib.sha256(*args), self

        class Swapping:
            def update(self, data: bytes) -> None:
                digest.update(data)

            def hexdigest(self) -> str:
                value = digest.hexdigest()
                os.replace(outer.swap, outer.path)  # atomic, as an attacker's rename would be
                outer.swap.write_bytes(outer.path.read_bytes())  # ready to swap again
                outer.swapped += 1
                return value

        return Swapping()


def test_an_agent_replaced_after_its_hash_was_checked_loads_the_checked_bytes(
        tmp_path, monkeypatch):
    """The file is swapped for a payload right after its sha256 is computed, every time: what
    loads is what was hashed, and the payload never runs."""
    import agents.trust

    marker = tmp_path / "marker"
    agent = tmp_path / "ppo.zip"
    agent.write_bytes((AGENTS / "ppo_hawkes.zip").read_bytes())
    agent.with_suffix(".json").write_bytes((AGENTS / "ppo_hawkes.json").read_bytes())
    record_trusted(agent)
    evil = _plant(AGENTS / "ppo_hawkes.zip", tmp_path / "evil.zip", marker)
    swapper = _SwapAfterHashing(agent, evil)
    monkeypatch.setattr(agents.trust, "hashlib", swapper)
    model = load_model(agent)
    assert swapper.swapped == 1 and agent.read_bytes() == evil.read_bytes()  # it did swap
    assert not marker.exists()
    assert type(model).__name__ == "PPO"
    monkeypatch.undo()
    with pytest.raises(UntrustedAgentError, match="has changed since it was listed"):
        SB3Policy.load(agent)  # the planted file now on disk is refused outright
    assert not marker.exists()


def test_an_agent_behind_a_symbolic_link_is_refused(tmp_path):
    """A link could be pointed at a payload after the check: it is refused, not followed."""
    target = tmp_path / "real" / "ppo.zip"
    target.parent.mkdir()
    target.write_bytes((AGENTS / "ppo_hawkes.zip").read_bytes())
    link = tmp_path / "ppo.zip"
    link.symlink_to(target)
    link.with_suffix(".json").write_bytes((AGENTS / "ppo_hawkes.json").read_bytes())
    (tmp_path / MANIFEST).write_text(f"{hashlib.sha256(target.read_bytes()).hexdigest()}  "
                                     "ppo.zip\n")
    with pytest.raises(UntrustedAgentError, match="ppo.zip is a symbolic link"):
        load_model(link)
    with pytest.raises(UntrustedAgentError, match="symbolic link"):
        load_model(link, trust=True)
