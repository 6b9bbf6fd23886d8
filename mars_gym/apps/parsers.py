"""The argument parsers of the ``mars-gym`` commands, and the wording they share.

This module imports nothing heavy (no torch, scipy or plotting): ``mars-gym COMMAND --help`` and
a usage error answer from it before the command's own module is loaded. Each command's ``main``
parses its arguments with the same function, so the help and the command cannot disagree.

Where the library function a command calls takes a config dataclass (``train-lmm``:
:class:`~mars_gym.lmm.recipe.TrainConfig`, ``serve``: :class:`~mars_gym.lmm.options.ServeConfig`,
``minute-tokenizer`` and ``minute-train``: :mod:`mars_gym.minutes.recipe`), the options'
defaults are read from its fields and :func:`config_from_arguments` turns the parsed arguments
back into it: the numbers of a recipe are written once, in the dataclass.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib.util
import json
from pathlib import Path
from typing import TypeVar

from lob_core.lobster import LOBSTER_TICK
from mars_gym.data import DATA_SOURCES
from mars_gym.lmm.options import PRECISIONS, STEP_MODES, ServeConfig
from mars_gym.lmm.recipe import TrainConfig
from mars_gym.minutes.recipe import MinuteModelTraining, TokenizerTraining
from mars_gym.parallel import LOCAL_RAY
from mars_gym.sim.flow_names import FLOWS
from mars_gym.tokens.order_tokenizer import PRICE_REFERENCES

SOURCE_HELP = "a source name or the path of an order-flow file (LOBSTER, order-event CSV)"
DATA_DIR_HELP = "the shared data folder (default: $MARS_GYM_DATA or ../shared/data/lobster)"
Config = TypeVar("Config")  # a dataclass of a command's settings
STUDY_FLOWS = ("lmm", "hawkes", "noise", "replay")  # the flows forecast and impact compare


def config_from_arguments(config_class: type[Config], args: argparse.Namespace) -> Config:
    """A config dataclass with the value of each of its fields from the parsed ``args`` (a
    list becomes a tuple); the arguments that are no field are not read."""
    values = {field.name: getattr(args, field.name) for field in dataclasses.fields(config_class)}
    return config_class(**{name: tuple(value) if isinstance(value, list) else value
                           for name, value in values.items()})


def print_report(report: dict, checkpoint: Path) -> None:
    """Print a training command's report as one JSON object, with the checkpoint it wrote."""
    print(json.dumps({**report, "checkpoint": str(checkpoint)}, indent=1))


def first_paragraph(doc: str | None) -> str:
    """A docstring's first paragraph, joined into one line (a command's description)."""
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def module_doc(module: str) -> str:
    """A module's docstring, read from its source without importing it (its imports are slow)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return ""
    return ast.get_docstring(ast.parse(Path(spec.origin).read_text(encoding="utf-8"))) or ""


class DefaultsInHelp(argparse.HelpFormatter):
    """Each option's default at the end of its help (unless the default is None or the help
    already speaks of its default)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default in (None, argparse.SUPPRESS) or "default" in text:
            return text
        return f"{text} (default: %(default)s)"


class _DocAndDefaults(DefaultsInHelp, argparse.RawDescriptionHelpFormatter):
    """The description as written, and each option's default at the end of its help."""


def _command(name: str, module: str, whole_doc: bool = False,
             show_defaults: bool = False) -> argparse.ArgumentParser:
    """A parser named ``mars-gym NAME`` described by ``module``'s docstring (all of it, as
    written, or its first paragraph); with ``show_defaults``, each option's help ends with
    its default."""
    doc = module_doc(module)
    if whole_doc:
        formatter = _DocAndDefaults if show_defaults else argparse.RawDescriptionHelpFormatter
        return argparse.ArgumentParser(prog=f"mars-gym {name}", description=doc,
                                       formatter_class=formatter)
    return argparse.ArgumentParser(prog=f"mars-gym {name}", description=first_paragraph(doc))


def add_ray_options(parser: argparse.ArgumentParser,
                    what: str = "share the runs out over Ray workers") -> None:
    """``--ray [ADDRESS]`` and ``--workers N``: a command's work (``what``) on Ray."""
    parser.add_argument("--ray", nargs="?", const=LOCAL_RAY, default=None, metavar="ADDRESS",
                        help=f"{what} (the 'serve' extra): a cluster's address, or none for a "
                             "Ray on this machine; the results equal a run without --ray")
    parser.add_argument("--workers", type=int, default=None,
                        help="with --ray: how many workers (default: one per core)")


def realism() -> argparse.ArgumentParser:
    parser = _command("realism", "mars_gym.apps.realism", whole_doc=True)
    parser.add_argument("real", type=Path, help="real LOBSTER message file")
    parser.add_argument("generated", type=Path, help="generated LOBSTER message file")
    parser.add_argument("--real-orderbook", type=Path,
                        help="the real window's orderbook file (default: beside its messages)")
    parser.add_argument("--generated-orderbook", type=Path,
                        help="the generated window's orderbook file (default: beside its messages)")
    parser.add_argument("--tick", type=int, default=LOBSTER_TICK,
                        help="price tick in file units (default 100 = one cent)")
    parser.add_argument("--png", type=Path, default=Path("realism.png"),
                        help="where the distributions' plot is written")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def generate() -> argparse.ArgumentParser:
    parser = _command("generate", "mars_gym.apps.generate", whole_doc=True)
    parser.add_argument("--flow", choices=FLOWS, default="ensemble",
                        help="the background flow to run")
    parser.add_argument("--target", default=None,
                        help="ensemble only: drop, rise, quiet, busy or STATISTIC=VALUE")
    parser.add_argument("--guidance", type=float, default=None,
                        help="ensemble with --target only: how strongly orders are tilted "
                             "towards the chosen minutes (default: the flow's; 0: off)")
    parser.add_argument("--source", default="AMZN", help=SOURCE_HELP)
    parser.add_argument("--start", default="12:45", help="HH:MM time of day to start from")
    parser.add_argument("--minutes", type=float, default=5.0,
                        help="length of the generated window")
    parser.add_argument("--level", type=int, default=1,
                        help="LOBSTER level of the written files")
    parser.add_argument("--seed", type=int, default=0, help="seed of the flow")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    return parser


def train_lmm() -> argparse.ArgumentParser:
    """``mars-gym train-lmm``: every option a field of :class:`~mars_gym.lmm.recipe.TrainConfig`
    (its defaults: the shipped default's recipe), and the ensemble's plan inputs."""
    p = _command("train-lmm", "mars_gym.apps.train_lmm", whole_doc=True, show_defaults=True)
    d = TrainConfig()
    p.add_argument("--out", type=Path, default=d.out,
                   help="folder of last.pt, best.pt, metrics.json and tb/")
    p.add_argument("--sources", nargs="+", default=list(d.sources),
                   help="source names or paths of order-flow files (LOBSTER message files, "
                        "plain order-event CSVs, ob-analytics files)")
    p.add_argument("--source-dropout", type=float, default=d.source_dropout,
                   help="share of training windows read through the generic source row, which "
                        "then serves instruments the model was not trained on")
    p.add_argument("--data-dir", type=Path, default=d.data_dir, help=DATA_DIR_HELP)
    p.add_argument("--data-fraction", type=float, default=d.data_fraction,
                   help="use the first fraction of each training split")
    p.add_argument("--price-reference", choices=PRICE_REFERENCES, default=d.price_reference,
                   help="prices of a new tokenizer against the touch or the mid "
                        "(mars_gym.tokens.order_tokenizer)")
    p.add_argument("--trade-memory", action=argparse.BooleanOptionalAction,
                   default=d.trade_memory,
                   help="a new tokenizer's conditions also read the recent executed volume "
                        "signed by the aggressor (mars_gym.tokens.trade_memory), so the model "
                        "can tell a swept book from a cancelled one")
    p.add_argument("--mirror", action=argparse.BooleanOptionalAction, default=d.mirror,
                   help="also train on each training split seen in a mirror (buyers and "
                        "sellers exchanged, mars_gym.data.mirror), so the model learns no "
                        "direction from the days it saw")
    p.add_argument("--n-layer", type=int, default=d.n_layer, help="transformer blocks")
    p.add_argument("--n-head", type=int, default=d.n_head, help="attention heads")
    p.add_argument("--n-embd", type=int, default=d.n_embd, help="embedding width")
    p.add_argument("--tod-frequencies", type=int, default=d.tod_frequencies,
                   help="Fourier frequencies of the time-of-day input (0: the model reads no "
                        "time of day)")
    p.add_argument("--price-change", action=argparse.BooleanOptionalAction,
                   default=d.price_change,
                   help="the model reads the change of the mid since the open (a price level)")
    p.add_argument("--context", type=int, default=d.context, help="orders per training window")
    p.add_argument("--dropout", type=float, default=d.dropout, help="dropout while training")
    p.add_argument("--batch", type=int, default=d.batch, help="windows per step")
    p.add_argument("--steps", type=int, default=d.steps, help="optimizer steps")
    p.add_argument("--lr", type=float, default=d.lr, help="peak learning rate (AdamW)")
    p.add_argument("--min-lr-ratio", type=float, default=d.min_lr_ratio,
                   help="the cosine decays to this share of --lr")
    p.add_argument("--warmup", type=int, default=d.warmup, help="steps of linear warm-up")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay,
                   help="AdamW weight decay of the matrices")
    p.add_argument("--eval-every", type=int, default=d.eval_every,
                   help="steps between validations (and checkpoints)")
    p.add_argument("--eval-windows", type=int, default=d.eval_windows,
                   help="validation windows per source per evaluation (spread evenly)")
    p.add_argument("--init", default=d.init,
                   help="start from this checkpoint (path or 'default') and its tokenizer")
    p.add_argument("--plan-tokenizer", type=Path, default=None,
                   help="minute tokenizer: train the ensemble's order model on minute plans "
                        "(with --no-mirror)")
    p.add_argument("--plan-model", type=Path, default=None,
                   help="minute model: also score validation with predicted minute plans")
    p.add_argument("--plan-lr-scale", type=float, default=d.plan_lr_scale,
                   help="learning-rate multiplier of the plan input (ensemble)")
    p.add_argument("--device", default=d.device, help="auto: CUDA when present, else CPU")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of weights and windows")
    p.add_argument("--resume", action="store_true", default=d.resume,
                   help="continue from OUT/last.pt")
    p.add_argument("--tensorboard", action=argparse.BooleanOptionalAction, default=d.tensorboard,
                   help="write tensorboard scalars into OUT/tb")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=d.progress,
                   help="show a progress bar")
    return p


def serve() -> argparse.ArgumentParser:
    """``mars-gym serve``: the fields of :class:`~mars_gym.lmm.options.ServeConfig`."""
    parser = _command("serve", "mars_gym.apps.serve", whole_doc=True)
    d = ServeConfig()
    parser.add_argument("--checkpoint", default=d.checkpoint, help="a checkpoint path or name")
    parser.add_argument("--capacity", type=int, default=d.capacity,
                        help="streams generated together in one batch")
    parser.add_argument("--temperature", type=float, default=d.temperature)
    parser.add_argument("--top-k", type=int, default=d.top_k)
    parser.add_argument("--device", default=d.device)
    parser.add_argument("--precision", default=d.precision, choices=PRECISIONS,
                        help="the model's dtype while generating")
    parser.add_argument("--step-mode", default=d.step_mode, choices=STEP_MODES,
                        help="how a round's forward runs (cuda_graph: captured once, CUDA only)")
    parser.add_argument("--host", default=d.host,
                        help="address Ray and the HTTP proxy bind to (default: loopback only; "
                             "0.0.0.0 exposes the model to the network)")
    parser.add_argument("--port", type=int, default=d.port, help="HTTP proxy port")
    parser.add_argument("--max-streams-per-owner", type=int, default=d.max_streams_per_owner,
                        help="the most streams one client may hold at once")
    parser.add_argument("--idle-timeout", type=float, default=d.idle_timeout,
                        help="seconds after which a stream nobody used is closed")
    return parser


def forecast() -> argparse.ArgumentParser:
    parser = _command("forecast", "mars_gym.apps.forecast")
    parser.add_argument("--flows", nargs="+", default=["lmm", "hawkes"], choices=STUDY_FLOWS)
    parser.add_argument("--source", default="AMZN", help=SOURCE_HELP)
    parser.add_argument("--n-starts", type=int, default=24,
                        help="start points spread over the test split")
    parser.add_argument("--futures", type=int, default=16,
                        help="generated futures per start point")
    parser.add_argument("--horizons", type=float, nargs="+", default=[30, 60, 120, 300],
                        help="forecast horizons in seconds")
    parser.add_argument("--step-s", type=float, default=30.0,
                        help="seconds between the env steps of a future")
    parser.add_argument("--out", default="forecast", help="output folder")
    parser.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    add_ray_options(parser)
    return parser


def report() -> argparse.ArgumentParser:
    parser = _command("report", "mars_gym.apps.report")
    parser.add_argument("--source", default="AMZN", help=SOURCE_HELP)
    parser.add_argument("--flows", nargs="+", choices=FLOWS, default=list(FLOWS),
                        help="the flows to score")
    parser.add_argument("--minutes", type=float, default=30.0,
                        help="minutes from the start of the test split")
    parser.add_argument("--level", type=int, default=1,
                        help="LOBSTER level of the written and scored files")
    parser.add_argument("--seed", type=int, default=0, help="seed of the flows")
    parser.add_argument("--out", type=Path, default=Path("report"), help="output folder")
    parser.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    add_ray_options(parser)
    return parser


def impact() -> argparse.ArgumentParser:
    parser = _command("impact", "mars_gym.apps.impact")
    parser.add_argument("--flows", nargs="+", default=["lmm", "hawkes", "replay"],
                        choices=STUDY_FLOWS)
    parser.add_argument("--source", default="AMZN", help=SOURCE_HELP)
    parser.add_argument("--n-starts", type=int, default=16,
                        help="start points of the test split (each run on both sides)")
    parser.add_argument("--execution-s", type=float, default=120.0,
                        help="seconds over which the parent order is executed")
    parser.add_argument("--decay-s", type=float, default=120.0,
                        help="seconds watched after the execution")
    parser.add_argument("--step-s", type=float, default=10.0,
                        help="seconds between TWAP slices")
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.01, 0.02, 0.05, 0.1, 0.2],
                        help="parent sizes as fractions of the median window volume")
    parser.add_argument("--lmm-observes-agents", action="store_true",
                        help="the LMM reads the parent's orders as tokens of its sequence")
    parser.add_argument("--out", default="impact", help="folder for impact.json and impact.png")
    parser.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    add_ray_options(parser)
    return parser


def minute_tokenizer() -> argparse.ArgumentParser:
    """``mars-gym minute-tokenizer``: the fields of
    :class:`~mars_gym.minutes.recipe.TokenizerTraining`."""
    parser = _command("minute-tokenizer", "mars_gym.apps.minute_tokenizer", whole_doc=True)
    d = TokenizerTraining()
    parser.add_argument("--sources", nargs="+", default=list(d.sources), choices=DATA_SOURCES)
    parser.add_argument("--steps", type=int, default=d.steps)
    parser.add_argument("--batch", type=int, default=d.batch)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--codebook", type=int, default=d.codebook, help="number of minute codes")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--data-dir", type=Path, default=d.data_dir, help=DATA_DIR_HELP)
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=d.progress,
                        help="show a progress bar")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint file to write")
    return parser


def minute_train() -> argparse.ArgumentParser:
    """``mars-gym minute-train``: the fields of
    :class:`~mars_gym.minutes.recipe.MinuteModelTraining`."""
    parser = _command("minute-train", "mars_gym.apps.minute_train", whole_doc=True)
    d = MinuteModelTraining()
    parser.add_argument("--tokenizer", type=Path, required=True,
                        help="the minute tokenizer checkpoint (mars-gym minute-tokenizer)")
    parser.add_argument("--sources", nargs="+", default=d.sources,
                        help="sources to train on (default: the tokenizer's)")
    parser.add_argument("--steps", type=int, default=d.steps)
    parser.add_argument("--batch", type=int, default=d.batch)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--layers", type=int, default=d.layers)
    parser.add_argument("--width", type=int, default=d.width)
    parser.add_argument("--eval-every", type=int, default=d.eval_every,
                        help="validation every N steps; the best model is kept")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--data-dir", type=Path, default=d.data_dir, help=DATA_DIR_HELP)
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=d.progress,
                        help="show a progress bar")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint file to write")
    return parser


def evaluate_lmm() -> argparse.ArgumentParser:
    """``mars-gym evaluate-lmm``: a checkpoint's scores against the baselines."""
    parser = _command("evaluate-lmm", "mars_gym.apps.evaluate_lmm", whole_doc=True)
    parser.add_argument("checkpoint", nargs="?", default="default",
                        help="a checkpoint path or name")
    parser.add_argument("--split", choices=["val", "test"], default="val")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sources", nargs="+", default=None,
                        help="source names or paths (default: the ones it was trained on)")
    parser.add_argument("--max-windows", type=int, default=None,
                        help="score at most this many context windows per source")
    parser.add_argument("--data-dir", type=Path, default=None, help=DATA_DIR_HELP)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser
