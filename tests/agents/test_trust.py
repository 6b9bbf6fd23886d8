"""Saved SB3 agents run code when loaded: only trusted files are loaded (agents.trust)."""

from __future__ import annotations

import base64
import json
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
