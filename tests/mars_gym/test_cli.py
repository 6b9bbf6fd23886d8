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


def error_of(script: str) -> str:
    """The stderr of ``script`` run in a child process, which must exit with status 1."""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 1, result.stderr
    return result.stderr.strip()


def test_a_command_without_its_extra_says_which_extra_to_install():
    """Ray made unimportable in a child process: as after README command 1 alone."""
    assert error_of(BLOCK_RAY) == (
        "mars-gym serve: error: it needs the 'serve' extra: pip install 'mars-market-gym[serve]' "
        "(from a clone: pip install -e '.[serve]')")


HELP_OF_EVERY_COMMAND = """
import contextlib, io, json, sys
from mars_gym.cli import COMMANDS, main
usage = {}
for name in COMMANDS:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main([name, "--help"])
        except SystemExit as done:
            assert done.code == 0, name
    usage[name] = out.getvalue().splitlines()[0]
heavy = ("torch", "scipy", "matplotlib", "stable_baselines3", "ray", "sklearn")
print(json.dumps({"usage": usage, "loaded": sorted(m for m in heavy if m in sys.modules),
                  "commands_loaded": sorted(m for m, _, _ in COMMANDS.values()
                                            if m in sys.modules)}))
"""


def test_every_command_answers_help_without_loading_torch_scipy_or_its_own_module():
    """What makes ``--help`` quick (timed in benchmarks/bench_cli.py): the command's module and
    the heavy libraries stay unloaded. The replay module is the light one parser it owns."""
    result = subprocess.run([sys.executable, "-c", HELP_OF_EVERY_COMMAND], capture_output=True,
                            text=True, check=True)
    report = json.loads(result.stdout)
    assert report["loaded"] == []
    assert report["commands_loaded"] == ["lob_core.replay"]
    for name, first_line in report["usage"].items():
        assert first_line.startswith(f"usage: mars-gym {name} "), first_line


def test_a_usage_error_names_the_command_and_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train-lmm", "--steps", "many"])
    assert exit_info.value.code == 2
    assert "mars-gym train-lmm: error: argument --steps: invalid int value: 'many'" in (
        capsys.readouterr().err)


def test_serve_help_works_without_its_extra():
    script = BLOCK_RAY.replace('sys.exit(main(["serve"]))', 'sys.exit(main(["serve", "--help"]))')
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0 and "--capacity" in result.stdout


def test_the_top_level_help_lists_every_command_in_aligned_columns(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")
             and line.split()[0] in COMMANDS]
    assert len(lines) == len(COMMANDS)
    columns = {line.index(COMMANDS[line.split()[0]][2]) for line in lines}
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


def test_every_command_lives_in_the_apps_or_the_agents():
    """A command is a thin main over library code: in :mod:`mars_gym.apps`, or beside the agents
    it evaluates (``lob_core.replay``: the engine's own, torch-free tool)."""
    for name, (module, parser, _) in COMMANDS.items():
        if name == "replay":
            continue
        assert module.startswith(("mars_gym.apps.", "agents.")), (name, module)
        assert parser.split(":")[0] in ("mars_gym.apps.parsers", "agents.parsers"), name
    assert {"market-making", "evaluate-lmm", "train-lmm", "serve"} <= set(COMMANDS)


def test_market_making_defaults_to_no_folder_of_the_repository():
    from agents import parsers

    args = parsers.market_making().parse_args([])
    assert args.agents is None and args.n_starts is None and args.source is None
    assert not str(args.out).startswith("benchmarks")
    board = parsers.leaderboard().parse_args([])
    assert board.agents is None and not str(board.out_dir).startswith("benchmarks")
