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
import re
from pathlib import Path
from typing import TypeVar

from lob_core.lobster import LOBSTER_TICK
from mars_gym.data import DATA_SOURCES
from mars_gym.data.units import NS_PER_DAY, NS_PER_MIN
from mars_gym.lmm.options import PRECISIONS, STEP_MODES, ServeConfig
from mars_gym.lmm.recipe import TrainConfig
from mars_gym.minutes.recipe import MinuteModelTraining, TokenizerTraining
from mars_gym.parallel import LOCAL_RAY
from mars_gym.sim.flow_names import FLOWS
from mars_gym.tokens.order_tokenizer import PRICE_REFERENCES

SOURCE_HELP = ("a source name or the path of an order-flow file (LOBSTER message file, "
               "order-event CSV, ob-analytics file)")
DATA_DIR_HELP = "the shared data folder (default: $MARS_GYM_DATA or ../shared/data/lobster)"
Config = TypeVar("Config")  # a dataclass of a command's settings
STUDY_FLOWS = ("lmm", "hawkes", "noise", "replay")  # the flows forecast and impact compare
# what a run costs at the defaults, the last line of each command's --help: measured times
# where a run is cheap enough to time, the size alone otherwise
_TRAIN, _TOKENIZER, _MINUTES = TrainConfig(), TokenizerTraining(), MinuteModelTraining()
COSTS = {
    "generate": "5 minutes of the lmm flow on AMZN, ~10 s on 2 cores",
    "realism": "a day of AMZN against a 5-minute generated file, ~10 s on 2 cores",
    "report": "5 flows x 30 minutes from the start of AMZN's test split, ~4 min on 2 cores",
    "forecast": "2 flows x 24 starts x 16 futures of 300 s (768 futures), ~5 min on 2 cores",
    "impact": "3 flows x 16 starts x 2 sides x (1 + 5 sizes x 2 styles) = 1,056 runs of 240 s, "
              "~4 min on 2 cores",
    "train-lmm": f"{_TRAIN.steps:,} steps x {_TRAIN.batch} windows of {_TRAIN.context} orders "
                 f"from {len(_TRAIN.sources)} sources, with a validation every "
                 f"{_TRAIN.eval_every} steps",
    "evaluate-lmm": "every validation window of each source the checkpoint was trained on",
    "serve": "a running service until stopped",
    "minute-tokenizer": f"{_TOKENIZER.steps:,} steps x {_TOKENIZER.batch} minutes",
    "minute-train": f"{_MINUTES.steps:,} steps x {_MINUTES.batch} minutes",
}
_ROLE = re.compile(r":(?:mod|class|func|meth|data|attr|exc|obj):`~?([^`]+)`")


def plain_text(doc: str) -> str:
    """A docstring without its Sphinx markup: ``code`` as code, :role:`~a.b.name` as the name
    (the last part when written with ``~``)."""
    def name(match: re.Match) -> str:
        whole = match.group(0)
        target = match.group(1)
        return target.rsplit(".", 1)[-1] if "`~" in whole else target
    return _ROLE.sub(name, doc).replace("``", "")


def positive_float(text: str) -> float:
    """An argparse type: a number above 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def fraction(text: str) -> float:
    """An argparse type: a fraction in (0, 1]."""
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in (0, 1], got {text}")
    return value


def clock(text: str) -> str:
    """An argparse type: a time of day HH:MM (00:00 to 23:59)."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise argparse.ArgumentTypeError(f"not a time of day HH:MM (00:00 to 23:59): {text!r}")
    return text


def clock_ns(text: str) -> int:
    """A time of day HH:MM in ns after midnight."""
    hours, minutes = (int(part) for part in text.split(":"))
    return (hours * 60 + minutes) * NS_PER_MIN


def hhmm(ns_of_day: int) -> str:
    """Ns after midnight as HH:MM."""
    minutes = int(ns_of_day) // NS_PER_MIN
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def start_in_data(start: str, first_ns: int, last_ns: int, what: str) -> int:
    """The clock time ``start`` (HH:MM) on the day of data spanning ``first_ns`` to
    ``last_ns``, in that data's ns; a ValueError naming both in clock time (``12:45 is outside
    09:30-10:30, the data of AAPL``) when it lies outside."""
    day = first_ns // NS_PER_DAY * NS_PER_DAY
    start_ns = day + clock_ns(start)
    if not first_ns // NS_PER_MIN * NS_PER_MIN <= start_ns < last_ns:
        end = -(-(last_ns - day) // NS_PER_MIN) * NS_PER_MIN  # the minute it ends in
        raise ValueError(f"{start} is outside {hhmm(first_ns - day)}-{hhmm(end)}, {what}")
    return start_ns


def existing_file(text: str) -> Path:
    """An argparse type: the path of a file that exists."""
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"not found: {text}")
    return Path(text)


def source(text: str) -> str:
    """An argparse type: a source name, or a path, which must exist (a text with a folder
    separator or a file suffix is read as a path)."""
    if text not in DATA_SOURCES and ("/" in text or Path(text).suffix) \
            and not Path(text).exists():
        raise argparse.ArgumentTypeError(f"not found: {text}")
    return text


DISTRIBUTION = "mars-market-gym"


def needs_extra(prefix: str, extra: str) -> str:
    """The one-line error of a command whose optional dependencies (``extra``) are missing."""
    return (f"{prefix} it needs the {extra!r} extra: pip install '{DISTRIBUTION}[{extra}]' "
            f"(from a clone: pip install -e '.[{extra}]')")


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
    """A module's docstring as plain text (:func:`plain_text`), read from its source without
    importing it (its imports are slow)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return ""
    doc = ast.get_docstring(ast.parse(Path(spec.origin).read_text(encoding="utf-8"))) or ""
    return plain_text(doc)


class DefaultsInHelp(argparse.HelpFormatter):
    """Each option's default at the end of its help, a list as it would be typed (unless the
    default is None or the help already speaks of its default)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default in (None, argparse.SUPPRESS) or "default" in text:
            return text
        if isinstance(action.default, list | tuple):  # as typed: lmm hawkes
            shown = " ".join(str(value) for value in action.default).replace("%", "%%") or "none"
            return f"{text} (default: {shown})"
        return f"{text} (default: %(default)s)"


class _DocAndDefaults(DefaultsInHelp, argparse.RawDescriptionHelpFormatter):
    """The description as written, and each option's default at the end of its help."""


def _command(name: str, module: str, whole_doc: bool = False) -> argparse.ArgumentParser:
    """A parser named ``mars-gym NAME`` described by ``module``'s docstring (all of it, as
    written, or its first paragraph), each option's help ending with its default and the help
    with what a run costs at the defaults (:data:`COSTS`)."""
    doc = module_doc(module)
    cost = f"cost at the defaults: {COSTS[name]}" if name in COSTS else None
    if whole_doc:
        return argparse.ArgumentParser(prog=f"mars-gym {name}", description=doc, epilog=cost,
                                       formatter_class=_DocAndDefaults)
    return argparse.ArgumentParser(prog=f"mars-gym {name}", description=first_paragraph(doc),
                                   epilog=cost, formatter_class=DefaultsInHelp)


def add_source(parser: argparse.ArgumentParser, default: str | None = "AMZN",
               what: str = SOURCE_HELP) -> None:
    """``--source``: a name or an existing path (:func:`source`)."""
    parser.add_argument("--source", type=source, default=default, help=what)


def add_data_dir(parser: argparse.ArgumentParser, default: Path | None = None) -> None:
    """``--data-dir``: the shared data folder."""
    parser.add_argument("--data-dir", type=Path, default=default, help=DATA_DIR_HELP)


def add_seed(parser: argparse.ArgumentParser, default: int = 0,
             what: str = "seed of the flow") -> None:
    """``--seed``."""
    parser.add_argument("--seed", type=int, default=default, help=what)


def add_out(parser: argparse.ArgumentParser, default: Path | None,
            what: str = "output folder") -> None:
    """``--out``: where the command's files go (required when ``default`` is None)."""
    parser.add_argument("--out", type=Path, default=default, required=default is None,
                        help=what)


def add_progress(parser: argparse.ArgumentParser, default: bool = True) -> None:
    """``--progress`` / ``--no-progress``."""
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=default,
                        help="show a progress bar")


def add_checkpoint(parser: argparse.ArgumentParser, default: str | None = "default",
                   what: str = "the LMM checkpoint: a path or a name") -> None:
    """``--checkpoint``."""
    parser.add_argument("--checkpoint", default=default, help=what)


def add_ray_options(parser: argparse.ArgumentParser,
                    what: str = "share the runs out over Ray workers") -> None:
    """``--ray [ADDRESS]`` and ``--workers N``: a command's work (``what``) on Ray."""
    parser.add_argument("--ray", nargs="?", const=LOCAL_RAY, default=None, metavar="ADDRESS",
                        help=f"{what} (the 'serve' extra): a cluster's address, or none for a "
                             "Ray on this machine; the results equal a run without --ray")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="with --ray: how many workers (default: one per core)")


def realism() -> argparse.ArgumentParser:
    parser = _command("realism", "mars_gym.apps.realism", whole_doc=True)
    parser.add_argument("real", type=existing_file,
                        help="the real order flow: a LOBSTER message file (its orderbook file "
                             "beside it), an order-event CSV or an ob-analytics file")
    parser.add_argument("generated", type=existing_file,
                        help="the generated order flow, in any of the same formats")
    parser.add_argument("--real-orderbook", type=existing_file,
                        help="the real window's orderbook file (default: beside its messages)")
    parser.add_argument("--generated-orderbook", type=existing_file,
                        help="the generated window's orderbook file (default: beside its messages)")
    parser.add_argument("--start", type=clock, default=None,
                        help="HH:MM: compare from this time of day (default: each file's start)")
    parser.add_argument("--minutes", type=positive_float, default=None,
                        help="compare this many minutes from the start (default: to the end "
                             "of each file)")
    parser.add_argument("--tick", type=positive_int, default=LOBSTER_TICK,
                        help="price tick in file units (100 = one cent)")
    add_out(parser, Path("realism"), "folder of realism.json and realism.png")
    parser.add_argument("--png", type=Path, default=None,
                        help="write the distributions' plot here instead (default: "
                             "OUT/realism.png)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object instead of the table")
    return parser


def generate() -> argparse.ArgumentParser:
    parser = _command("generate", "mars_gym.apps.generate", whole_doc=True)
    parser.add_argument("--flow", choices=FLOWS, default="lmm",
                        help="the background flow to run")
    parser.add_argument("--target", default=None,
                        help="ensemble only: drop, rise, quiet, busy or STATISTIC=VALUE")
    parser.add_argument("--guidance", type=float, default=None,
                        help="ensemble with --target only: how strongly orders are tilted "
                             "towards the chosen minutes (default: the flow's; 0: off)")
    add_checkpoint(parser, None, "the LMM checkpoint of the lmm and ensemble flows, a path or "
                                 "a name (default: the flow's shipped one)")
    add_source(parser)
    add_data_dir(parser)
    parser.add_argument("--start", type=clock, default="12:45",
                        help="HH:MM time of day to start from")
    parser.add_argument("--minutes", type=positive_float, default=5.0,
                        help="length of the generated window")
    parser.add_argument("--level", type=positive_int, default=1,
                        help="LOBSTER level of the written files")
    add_seed(parser)
    add_out(parser, None, "output folder of the LOBSTER files")
    add_progress(parser)
    return parser


def train_lmm() -> argparse.ArgumentParser:
    """``mars-gym train-lmm``: every option a field of :class:`~mars_gym.lmm.recipe.TrainConfig`
    (its defaults: the shipped default's recipe), and the ensemble's plan inputs."""
    p = _command("train-lmm", "mars_gym.apps.train_lmm", whole_doc=True)
    d = TrainConfig()
    p.add_argument("--out", type=Path, default=d.out,
                   help="folder of last.pt, best.pt, metrics.json and tb/")
    p.add_argument("--sources", nargs="+", type=source, default=list(d.sources),
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
    add_checkpoint(parser, d.checkpoint)
    parser.add_argument("--capacity", type=positive_int, default=d.capacity,
                        help="streams generated together in one batch")
    parser.add_argument("--temperature", type=positive_float, default=d.temperature,
                        help="sampling temperature")
    parser.add_argument("--top-k", type=int, default=d.top_k,
                        help="sample among the k likeliest tokens")
    parser.add_argument("--device", default=d.device, help="auto: CUDA when present, else CPU")
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
    parser.add_argument("--flows", nargs="+", default=["lmm", "hawkes"], choices=STUDY_FLOWS,
                        help="the flows whose futures are scored")
    add_source(parser)
    add_data_dir(parser)
    parser.add_argument("--n-starts", type=positive_int, default=24,
                        help="start points spread over the test split")
    parser.add_argument("--futures", type=positive_int, default=16,
                        help="generated futures per start point")
    parser.add_argument("--horizons", type=positive_float, nargs="+", default=[30, 60, 120, 300],
                        help="forecast horizons in seconds")
    parser.add_argument("--step-s", type=positive_float, default=30.0,
                        help="seconds between the env steps of a future")
    add_seed(parser, 40_000, "seed of the first future (the others follow it)")
    add_out(parser, Path("forecast"), "folder of forecast.json, forecast.md and forecast.png")
    add_progress(parser)
    add_ray_options(parser)
    return parser


def report() -> argparse.ArgumentParser:
    parser = _command("report", "mars_gym.apps.report")
    add_source(parser)
    add_data_dir(parser)
    parser.add_argument("--flows", nargs="+", choices=FLOWS, default=list(FLOWS),
                        help="the flows to score")
    parser.add_argument("--minutes", type=positive_float, default=30.0,
                        help="minutes from the start of the test split")
    parser.add_argument("--level", type=positive_int, default=1,
                        help="LOBSTER level of the written and scored files")
    add_seed(parser, what="seed of the flows")
    add_out(parser, Path("report"), "folder of report.md, report.json and the PNGs")
    add_progress(parser)
    add_ray_options(parser)
    return parser


def impact() -> argparse.ArgumentParser:
    parser = _command("impact", "mars_gym.apps.impact")
    parser.add_argument("--flows", nargs="+", default=["lmm", "hawkes", "replay"],
                        choices=STUDY_FLOWS, help="the background flows, one curve set each")
    add_source(parser)
    add_data_dir(parser)
    parser.add_argument("--n-starts", type=positive_int, default=16,
                        help="start points of the test split (each run on both sides)")
    parser.add_argument("--execution-s", type=positive_float, default=120.0,
                        help="seconds over which the parent order is executed")
    parser.add_argument("--decay-s", type=positive_float, default=120.0,
                        help="seconds watched after the execution")
    parser.add_argument("--step-s", type=positive_float, default=10.0,
                        help="seconds between TWAP slices")
    parser.add_argument("--sizes", type=fraction, nargs="+", default=[0.01, 0.02, 0.05, 0.1, 0.2],
                        help="parent sizes as fractions in (0, 1] of the median window volume")
    parser.add_argument("--lmm-observes-agents", action="store_true",
                        help="the LMM reads the parent's orders as tokens of its sequence")
    add_seed(parser, 30_000, "seed of the first run (the others follow it)")
    add_out(parser, Path("impact"), "folder of impact.json and impact.png")
    add_progress(parser)
    add_ray_options(parser)
    return parser


def minute_tokenizer() -> argparse.ArgumentParser:
    """``mars-gym minute-tokenizer``: the fields of
    :class:`~mars_gym.minutes.recipe.TokenizerTraining`."""
    parser = _command("minute-tokenizer", "mars_gym.apps.minute_tokenizer", whole_doc=True)
    d = TokenizerTraining()
    parser.add_argument("--sources", nargs="+", default=list(d.sources), choices=DATA_SOURCES)
    _add_minute_recipe(parser, d)
    parser.add_argument("--codebook", type=positive_int, default=d.codebook,
                        help="number of minute codes")
    _add_minute_run(parser, d)
    return parser


def minute_train() -> argparse.ArgumentParser:
    """``mars-gym minute-train``: the fields of
    :class:`~mars_gym.minutes.recipe.MinuteModelTraining`."""
    parser = _command("minute-train", "mars_gym.apps.minute_train", whole_doc=True)
    d = MinuteModelTraining()
    parser.add_argument("--tokenizer", type=existing_file, required=True,
                        help="the minute tokenizer checkpoint (mars-gym minute-tokenizer)")
    parser.add_argument("--sources", nargs="+", type=source, default=d.sources,
                        help="sources to train on (default: the tokenizer's)")
    _add_minute_recipe(parser, d)
    parser.add_argument("--layers", type=positive_int, default=d.layers,
                        help="transformer blocks")
    parser.add_argument("--width", type=positive_int, default=d.width, help="embedding width")
    parser.add_argument("--eval-every", type=positive_int, default=d.eval_every,
                        help="validation every N steps; the best model is kept")
    _add_minute_run(parser, d)
    return parser


def _add_minute_recipe(parser: argparse.ArgumentParser,
                       d: TokenizerTraining | MinuteModelTraining) -> None:
    """The optimizer options both minute trainings share, defaults from recipe ``d``."""
    parser.add_argument("--steps", type=positive_int, default=d.steps, help="optimizer steps")
    parser.add_argument("--batch", type=positive_int, default=d.batch, help="minutes per step")
    parser.add_argument("--lr", type=positive_float, default=d.lr, help="learning rate")


def _add_minute_run(parser: argparse.ArgumentParser,
                    d: TokenizerTraining | MinuteModelTraining) -> None:
    """``--seed``, ``--data-dir``, ``--progress`` and the checkpoint ``--out`` of a minute
    training, defaults from recipe ``d``."""
    add_seed(parser, d.seed, "seed of the weights and batches")
    add_data_dir(parser, d.data_dir)
    add_progress(parser, d.progress)
    add_out(parser, None, "checkpoint file to write")


def evaluate_lmm() -> argparse.ArgumentParser:
    """``mars-gym evaluate-lmm``: a checkpoint's scores against the baselines."""
    parser = _command("evaluate-lmm", "mars_gym.apps.evaluate_lmm", whole_doc=True)
    parser.add_argument("positional_checkpoint", nargs="?", default=None, metavar="CHECKPOINT",
                        help="the same as --checkpoint")
    add_checkpoint(parser, "default", "the checkpoint scored: a path or a name")
    parser.add_argument("--split", choices=["val", "test"], default="val",
                        help="the split scored")
    parser.add_argument("--device", default="auto", help="auto: CUDA when present, else CPU")
    parser.add_argument("--sources", nargs="+", type=source, default=None,
                        help="source names or paths (default: the ones it was trained on)")
    parser.add_argument("--max-windows", type=positive_int, default=None,
                        help="score at most this many context windows per source")
    add_data_dir(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser
