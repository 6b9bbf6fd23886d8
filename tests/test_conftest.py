"""The suite's real-data switch (tests/conftest.py), run on a tiny test file in a pytest of its
own: real-data tests are deselected without the data folder, and CI=true makes that an error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY_SUITE = '''
import pytest


@pytest.fixture
def through_a_fixture(lobster_dir):
    return lobster_dir


def test_asks_for_the_folder(lobster_dir):
    assert lobster_dir.is_dir()


def test_asks_through_a_fixture(through_a_fixture):
    assert through_a_fixture.is_dir()


@pytest.mark.real_data
def test_marked_by_hand():
    pass


def test_needs_no_data():
    pass
'''


def run_tiny_suite(tmp_path: Path, data_dir: Path, *args: str, ci: bool = False):
    (tmp_path / "test_tiny.py").write_text(TINY_SUITE)
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env.update(MARS_GYM_DATA=str(data_dir), **({"CI": "true"} if ci else {}))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
         "-c", str(ROOT / "pyproject.toml"), str(tmp_path / "test_tiny.py"), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_without_the_data_folder_real_data_tests_are_deselected_and_counted(tmp_path):
    absent = tmp_path / "no_data_here"
    result = run_tiny_suite(tmp_path, absent)
    assert result.returncode == 0, result.stdout + result.stderr
    notes = [line for line in result.stdout.splitlines() if "real-data tests deselected" in line]
    assert notes == [(f"3 real-data tests deselected: no data folder at {absent} (put the "
                      "shared LOBSTER data there or set MARS_GYM_DATA to its folder to run them)")]
    assert result.stdout.splitlines()[-1].startswith("1 passed, 3 deselected in ")


def test_with_the_data_folder_every_test_runs_and_the_marks_select(tmp_path):
    present = tmp_path / "data"
    present.mkdir()
    everything = run_tiny_suite(tmp_path, present)
    assert everything.returncode == 0, everything.stdout + everything.stderr
    assert everything.stdout.splitlines()[-1].startswith("4 passed in ")
    assert "real-data tests deselected" not in everything.stdout
    marked = run_tiny_suite(tmp_path, present, "-m", "real_data")
    assert marked.returncode == 0, marked.stdout + marked.stderr
    assert marked.stdout.splitlines()[-1].startswith("3 passed, 1 deselected in ")


def test_in_ci_a_missing_data_folder_fails_the_session_before_any_test(tmp_path):
    absent = tmp_path / "no_data_here"
    result = run_tiny_suite(tmp_path, absent, ci=True)
    assert result.returncode == 4  # pytest's usage error
    assert f"CI=true but the shared LOBSTER data folder {absent} does not exist" in result.stderr
    assert "passed" not in result.stdout
