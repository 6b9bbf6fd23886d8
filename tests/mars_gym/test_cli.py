import json
import subprocess
import sys

import pytest

from mars_gym.cli import main

AMZN = "AMZN_2012-06-21_34200000_57600000_{}_1.csv"


def test_replay_sub_command_runs_the_lob_core_replay(lobster_dir, capsys):
    code = main(["replay", str(lobster_dir / AMZN.format("message")), "--orderbook",
                 str(lobster_dir / AMZN.format("orderbook")), "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["agreement"] == 1.0


def test_unknown_sub_command_is_an_error(capsys):
    with pytest.raises(SystemExit):
        main(["no-such-command"])
    assert "invalid choice" in capsys.readouterr().err


def test_console_module_entry_point_lists_commands():
    out = subprocess.run([sys.executable, "-m", "mars_gym.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "replay" in out
