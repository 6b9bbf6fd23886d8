"""The README and the guide are documents a user can follow: the README's two commands lead it,
every name either shows imports, and every file either points to exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCUMENTS = {name: (ROOT / name).read_text() for name in ("README.md", "docs/guide.md")}
PACKAGES = ("mars_gym", "lob_core", "agents")
NAMES = "|".join(PACKAGES)
DOTTED = re.compile(rf"\b((?:{NAMES})(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
FROM_IMPORT = re.compile(rf"^from ((?:{NAMES})[\w.]*) import ([\w, ]+)$", re.MULTILINE)
FOLDERS = "benchmarks|examples|tests|tools|mars_gym|agents|lob_core"
REPO_PATH = re.compile(rf"`((?:{FOLDERS})/[\w./-]+)`")


def resolve(dotted: str) -> object:
    """The module or attribute ``dotted`` names: the longest importable module prefix, then
    attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ModuleNotFoundError(dotted)


def test_the_readme_opens_with_the_two_commands_ci_runs():
    block = README.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert README.index("```bash") < 20
    assert block[0].endswith("examples/quickstart.py")
    assert block[1].endswith("-m pytest -q")
    assert block[1] in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_every_name_a_document_shows_is_importable(document):
    text = DOCUMENTS[document]
    names = set(DOTTED.findall(text))
    for module, imported in FROM_IMPORT.findall(text):
        names.update(f"{module}.{name.strip()}" for name in imported.split(","))
    missing = []
    for name in sorted(names):
        try:
            resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert len(names) > 10 and missing == []


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_every_file_a_document_points_to_exists(document):
    paths = set(REPO_PATH.findall(DOCUMENTS[document]))
    assert len(paths) > 3
    assert sorted(p for p in paths if not (ROOT / p.rstrip("/")).exists()) == []


def test_the_command_table_lists_every_command():
    from mars_gym.cli import COMMANDS

    rows = re.findall(r"^\| `([a-z-]+)` \|", README, re.MULTILINE)
    assert sorted(rows) == sorted(COMMANDS)


def test_the_readme_is_a_guide_not_a_log():
    assert len(README.splitlines()) <= 220
