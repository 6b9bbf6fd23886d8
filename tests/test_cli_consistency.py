"""Commands of one shape: the options they share, their help, and each mistake refused early
with a one-line message that names it."""

import argparse
import re
from pathlib import Path

import pytest

from mars_gym.apps import parsers
from mars_gym.cli import COMMANDS, command_parser, main
from tests.mars_gym.test_cli import BLOCK_RAY, error_of

SHARED = ("--source", "--data-dir", "--checkpoint", "--flow", "--flows", "--seed", "--out",
          "--no-progress", "--ray")
STUDY = {"--source", "--data-dir", "--flows", "--seed", "--out", "--no-progress", "--ray"}
TRAINING = {"--data-dir", "--seed", "--out", "--no-progress"}
APPLIES = {  # command -> the shared options it takes
    "replay": set(),  # one file against its orderbook: nothing to share
    "realism": {"--out"},
    "generate": {"--source", "--data-dir", "--checkpoint", "--flow", "--seed", "--out",
                 "--no-progress"},
    "report": STUDY,
    "forecast": STUDY,
    "impact": STUDY,
    "train-lmm": TRAINING,
    "evaluate-lmm": {"--checkpoint", "--data-dir"},
    "serve": {"--checkpoint"},
    "minute-tokenizer": TRAINING,
    "minute-train": TRAINING,
    "train": {"--flow", "--seed", "--out", "--data-dir", "--no-progress", "--ray"},
    "leaderboard": {"--flows", "--source", "--out", "--data-dir", "--ray"},
    "market-making": {"--flows", "--source", "--out", "--data-dir"},
}
SPHINX = re.compile(r"``|:(?:mod|class|func|meth|data|attr|exc|obj):`")


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return dict(parser._option_string_actions)


def test_the_table_names_every_command():
    assert set(APPLIES) == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_takes_the_shared_options_that_apply_to_it(name):
    options = _options(command_parser(name))
    assert {o for o in SHARED if o in options} == APPLIES[name]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_shared_option_means_the_same_in_every_command(name):
    options = _options(command_parser(name))
    if "--source" in options:
        assert options["--source"].type is parsers.source
    for path_option in ("--data-dir", "--out"):
        if path_option in options:
            assert options[path_option].type is Path, path_option
    if "--no-progress" in options:
        assert options["--no-progress"].dest == "progress"
    if "--ray" in options:
        assert options["--ray"].nargs == "?" and "--workers" in options


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_shows_every_default_and_no_sphinx_markup(name):
    """Every option with a default says it (a plain on/off flag is off unless given)."""
    parser = command_parser(name)
    formatter = parser._get_formatter()
    flags = (argparse._HelpAction, argparse._StoreTrueAction, argparse._StoreFalseAction)
    for action in parser._actions:
        if action.default in (None, argparse.SUPPRESS) or isinstance(action, flags):
            continue
        assert "default" in (formatter._get_help_string(action) or ""), (name, action.dest)
    text = parser.format_help()
    assert SPHINX.search(text) is None, SPHINX.search(text)


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - {"replay"}))
def test_help_says_what_a_run_costs_at_the_defaults(name):
    """``replay`` is the exception: its cost is the size of the file it is given."""
    assert "cost at the defaults: " in command_parser(name).format_help()


def test_plain_text_keeps_the_names_of_sphinx_roles():
    text = "``--png`` of :mod:`mars_gym.data` and :class:`~mars_gym.lmm.recipe.TrainConfig`"
    assert parsers.plain_text(text) == "--png of mars_gym.data and TrainConfig"


def test_version_prints_the_installed_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert re.fullmatch(r"mars-gym \S+\n", capsys.readouterr().out)


def test_bare_mars_gym_prints_the_command_table(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "required" not in out
    assert all(re.search(rf"^  {name} ", out, re.MULTILINE) for name in COMMANDS)


def _usage_error(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    return capsys.readouterr().err.splitlines()[-1]


def test_a_source_path_that_does_not_exist_is_not_found(tmp_path, capsys):
    missing = tmp_path / "nowhere" / "orders.csv"
    err = _usage_error(["generate", "--source", str(missing), "--out", str(tmp_path / "o")],
                       capsys)
    assert err == f"mars-gym generate: error: argument --source: not found: {missing}"
    assert not (tmp_path / "o").exists()


def test_forecast_refuses_a_negative_horizon(capsys):
    err = _usage_error(["forecast", "--horizons", "30", "-30"], capsys)
    assert err == "mars-gym forecast: error: argument --horizons: must be above 0, got -30"


def test_generate_refuses_a_negative_length_and_writes_nothing(tmp_path, capsys):
    err = _usage_error(["generate", "--minutes", "-1", "--out", str(tmp_path / "o")], capsys)
    assert err == "mars-gym generate: error: argument --minutes: must be above 0, got -1"
    assert not (tmp_path / "o").exists()


def test_generate_refuses_a_start_that_is_no_time_of_day(tmp_path, capsys):
    err = _usage_error(["generate", "--start", "25:00", "--out", str(tmp_path)], capsys)
    assert err == ("mars-gym generate: error: argument --start: not a time of day HH:MM "
                   "(00:00 to 23:59): '25:00'")


def test_generate_refuses_a_start_outside_the_data_in_clock_time(lobster_dir, tmp_path,
                                                                 capsys):
    out = tmp_path / "o"
    assert main(["generate", "--flow", "noise", "--start", "08:00", "--data-dir",
                 str(lobster_dir), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mars-gym generate: error: 08:00 is outside 09:30-16:00, the data of "
                          "AMZN") and err.count("\n") == 1
    assert not out.exists()


def test_impact_refuses_a_size_above_one(capsys):
    err = _usage_error(["impact", "--sizes", "0.1", "2"], capsys)
    assert err == "mars-gym impact: error: argument --sizes: must be a fraction in (0, 1], got 2"


def test_report_refuses_level_zero_before_any_work(capsys):
    err = _usage_error(["report", "--level", "0"], capsys)
    assert err == "mars-gym report: error: argument --level: must be at least 1, got 0"


def test_leaderboard_refuses_a_trusted_agent_that_does_not_exist(capsys):
    err = _usage_error(["leaderboard", "--trust-agent", "nope.zip"], capsys)
    assert err == "mars-gym leaderboard: error: argument --trust-agent: not found: nope.zip"


BLOCK_SB3 = (BLOCK_RAY.replace('"ray"', '"stable_baselines3"')
             .replace('"ray."', '"stable_baselines3."')
             .replace('sys.exit(main(["serve"]))', 'sys.argv = ["agents.train"]\n'
                      'runpy.run_module("agents.train", run_name="__main__", alter_sys=True)')
             .replace("import importlib.abc, sys", "import importlib.abc, runpy, sys"))


def test_agents_train_without_stable_baselines3_names_the_extra_in_one_line():
    """stable-baselines3 made unimportable in a child process (the blocker of test_cli)."""
    assert "runpy.run_module" in BLOCK_SB3 and '"ray' not in BLOCK_SB3
    assert error_of(BLOCK_SB3) == (
        "python -m agents.train: error: it needs the 'agents' extra: pip install "
        "'mars-market-gym[agents]' (from a clone: pip install -e '.[agents]')")


def test_a_start_outside_the_data_names_both_in_clock_time():
    hour = 3_600 * 10**9
    first, last = int(9.5 * hour) + 5 * 10**8, int(10.5 * hour) - 10**9  # 09:30:00.5-10:29:59
    assert parsers.start_in_data("09:30", first, last, "AAPL") == int(9.5 * hour)
    with pytest.raises(ValueError, match=r"^12:45 is outside 09:30-10:30, the data of AAPL$"):
        parsers.start_in_data("12:45", first, last, "the data of AAPL")
    with pytest.raises(ValueError, match=r"^09:29 is outside 09:30-10:30"):
        parsers.start_in_data("09:29", first, last, "AAPL")


def test_evaluate_lmm_refuses_two_checkpoints(capsys):
    assert main(["evaluate-lmm", "a.pt", "--checkpoint", "b.pt"]) == 1
    assert capsys.readouterr().err.startswith(
        "mars-gym evaluate-lmm: error: give the checkpoint once: as CHECKPOINT or as --checkpoint")
