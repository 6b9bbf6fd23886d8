"""``MarS-Execution-v0`` reproduces its recorded golden trajectories exactly
(:mod:`tests.mars_gym.envs.golden`): a refactoring of the env may not change its behaviour."""

from __future__ import annotations

import pytest

from tests.mars_gym.envs.golden import CASES, GOLDEN_DIR, compare


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_env_reproduces_its_golden_trajectories(name, lobster_dir):
    assert compare({name: CASES[name]}, GOLDEN_DIR, lobster_dir) == []
