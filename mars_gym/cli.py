"""The ``mars-gym`` command: one sub-command per job, each a module with ``main(argv)``.

``mars-gym`` alone prints the command table, ``mars-gym --version`` the installed version.

A command's arguments are parsed first by its parser alone (:mod:`mars_gym.apps.parsers`,
:mod:`agents.parsers`), so ``--help`` and usage errors answer without loading torch or scipy.

An error of a sub-command reaches the user as one line (``mars-gym COMMAND: error: ...``) and
exit status 1; ``mars-gym --debug COMMAND ...`` shows the traceback instead. A sub-command whose
optional dependencies are not installed says which extra to install.
"""

from __future__ import annotations

import argparse
import importlib
import sys

APPS = "mars_gym.apps.parsers"
COMMANDS = {  # name -> (module with main(argv), its parser "module:function", one line of help)
    "replay": ("lob_core.replay", "lob_core.replay:parser",
               "replay a LOBSTER message file through lob_core and score it"),
    "realism": ("mars_gym.apps.realism", f"{APPS}:realism",
                "score a generated LOBSTER stream against a real one"),
    "generate": ("mars_gym.apps.generate", f"{APPS}:generate",
                 "write a window of any flow as LOBSTER files (ensemble: --target steers it)"),
    "train-lmm": ("mars_gym.apps.train_lmm", f"{APPS}:train_lmm",
                  "train or fine-tune the Large Market Model"),
    "evaluate-lmm": ("mars_gym.apps.evaluate_lmm", f"{APPS}:evaluate_lmm",
                     "score an LMM checkpoint against the unigram and factorized baselines"),
    "serve": ("mars_gym.apps.serve", f"{APPS}:serve",
              "serve LMM generation over Ray Serve (extra: serve)"),
    "forecast": ("mars_gym.apps.forecast", f"{APPS}:forecast",
                 "score K generated futures against what happened"),
    "report": ("mars_gym.apps.report", f"{APPS}:report",
               "realism report of every flow against the test split"),
    "impact": ("mars_gym.apps.impact", f"{APPS}:impact",
               "market impact curves and the square-root-law fit"),
    "train": ("agents.train", "agents.parsers:train",
              "train an SB3 execution agent (extra: agents)"),
    "leaderboard": ("agents.leaderboard", "agents.parsers:leaderboard",
                    "evaluate baselines and saved agents on the protocol"),
    "market-making": ("agents.market_making", "agents.parsers:market_making",
                      "evaluate market-making baselines and saved makers under each flow"),
    "minute-tokenizer": ("mars_gym.apps.minute_tokenizer", f"{APPS}:minute_tokenizer",
                        "train the VQ-VAE that turns minute order images into codes"),
    "minute-train": ("mars_gym.apps.minute_train", f"{APPS}:minute_train",
                    "train the minute model over minutes of codes"),
}
DISTRIBUTION = "mars-market-gym"  # the same as mars_gym.apps.parsers.DISTRIBUTION
EXTRAS = {"ray": "serve", "stable_baselines3": "agents"}  # top-level module -> extra


def missing_extra(error: ModuleNotFoundError) -> str | None:
    """The extra that installs the module an import missed, or None for any other module."""
    return EXTRAS.get((error.name or "").split(".")[0])


def commands_help() -> str:
    """The command table of ``mars-gym --help``: one aligned line per command."""
    width = max(map(len, COMMANDS))
    return "commands:\n" + "\n".join(f"  {name:{width}s}  {help_}"
                                     for name, (_, _, help_) in COMMANDS.items())


def command_parser(name: str) -> argparse.ArgumentParser:
    """The parser of command ``name``, built without importing the command's module."""
    module, function = COMMANDS[name][1].split(":")
    parser: argparse.ArgumentParser = getattr(importlib.import_module(module), function)()
    return parser


def version() -> str:
    """The installed version, read without importing the package (its imports are slow)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    """Run ``mars-gym [--debug] COMMAND ARGS``; bare ``mars-gym`` prints the commands."""
    parser = argparse.ArgumentParser(
        prog="mars-gym", description="Market simulation with a generative order-flow model.",
        epilog=commands_help() + "\n\n`mars-gym COMMAND --help` describes a command.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mars-gym {version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error instead of one line")
    parser.add_argument("command", choices=sorted(COMMANDS), metavar="COMMAND",
                        help="one of the commands below")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the command")
    if not (sys.argv[1:] if argv is None else argv):
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    prefix = f"mars-gym {args.command}: error:"
    # --help and usage errors answer here, before the command's heavy imports
    command_parser(args.command).parse_args(args.args)
    try:
        module = importlib.import_module(COMMANDS[args.command][0])
        return int(module.main(args.args) or 0)
    except ModuleNotFoundError as error:
        extra = missing_extra(error)
        if args.debug or extra is None:
            raise
        from mars_gym.apps.parsers import needs_extra

        print(needs_extra(prefix, extra), file=sys.stderr)
        return 1
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:
        if args.debug:
            raise
        text = error.args[0] if isinstance(error, KeyError) and error.args else error
        message = " ".join(str(text).split()) or type(error).__name__
        print(f"{prefix} {message} (--debug shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
