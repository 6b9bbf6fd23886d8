import json
import subprocess
import sys

import pytest

from mars_gym.cli import COMMANDS, main

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


def test_an_error_is_one_line_and_a_non_zero_exit(capsys, tmp_path):
    code = main(["generate", "--source", "NO_SUCH_SOURCE", "--flow", "noise", "--minutes", "0.1",
                 "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("mars-gym generate: error: unknown source "
                                                   "'NO_SUCH_SOURCE'")
    assert "--debug" in err and "Traceback" not in err


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(KeyError, match="NO_SUCH_SOURCE"):
        main(["--debug", "generate", "--source", "NO_SUCH_SOURCE", "--flow", "noise",
              "--out", str(tmp_path)])


BLOCK_RAY = """
import importlib.abc, sys
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "ray" or name.startswith("ray."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Missing())
from mars_gym.cli import COMMANDS, main
sys.exit(main(["serve"]))
"""


def test_a_command_without_its_extra_says_which_extra_to_install():
    """Ray made unimportable in a child process: as after README command 1 alone."""
    result = subprocess.run([sys.executable, "-c", BLOCK_RAY], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "mars-gym serve: error: it needs the 'serve' extra: pip install 'mars-market-gym[serve]' "
        "(from a clone: pip install -e '.[serve]')")


def test_the_top_level_help_lists_every_command_in_aligned_columns(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")
             and line.split()[0] in COMMANDS]
    assert len(lines) == len(COMMANDS)
    columns = {line.index(COMMANDS[line.split()[0]][1]) for line in lines}
    assert len(columns) == 1  # every description starts in the same column


def test_replay_refuses_an_orderbook_shorter_than_the_messages(lobster_dir, tmp_path, capsys):
    with open(lobster_dir / AMZN.format("orderbook")) as source:
        head = [next(source) for _ in range(1_000)]
    short = tmp_path / AMZN.format("orderbook")
    short.write_text("".join(head))
    with pytest.raises(SystemExit) as exit_info:
        main(["replay", str(lobster_dir / AMZN.format("message")), "--orderbook", str(short)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: mars-gym replay" in err
    assert "has 1,000 rows but" in err and "LOBSTER writes one row per message" in err
