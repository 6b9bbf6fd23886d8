"""``mars-gym realism REAL GENERATED``: score a generated stream against a real one.

Each argument is any order-flow file a source can be (:func:`mars_gym.data.load_source`): a
LOBSTER message file, its orderbook file found beside it as ``mars-gym replay`` finds it (or
given with ``--real-orderbook`` / ``--generated-orderbook``), a plain order-event CSV or an
ob-analytics file (these two replayed into LOBSTER's view from their first book). ``--start``
and ``--minutes`` cut the same window of the day from both; without them a real file much
longer than the generated one is compared whole, with a warning. Prints a table of the realism
scores and the stylized facts of both and writes ``realism.json`` and a PNG of the
distributions into ``--out``; ``--json`` prints the JSON object instead of the table.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from lob_core import OrderBook
from lob_core.lobster import LOBSTER_TICK, read_messages, read_orderbook
from mars_gym.apps import parsers
from mars_gym.data import load_source
from mars_gym.data.lobster_export import to_lobster
from mars_gym.data.schema import seed_book_from_state
from mars_gym.data.sources import LOBSTER_NAME, lobster_pair
from mars_gym.data.units import NS_PER_DAY, NS_PER_S
from mars_gym.metrics.realism import (
    FEATURE_UNITS,
    LobsterStream,
    compare,
    features,
    format_fact,
    stylized_facts,
    summary,
)


def read_stream(message_file: Path, orderbook_file: Path | None = None,
                tick: int = LOBSTER_TICK) -> LobsterStream:
    """An order-flow file as a :class:`LobsterStream`: a LOBSTER pair as written (the
    orderbook file found beside the messages when omitted: :func:`lobster_pair`), any other
    format :func:`load_source` reads replayed from its first book into LOBSTER's view."""
    message_file = Path(message_file)
    name = message_file.name
    if orderbook_file is None and LOBSTER_NAME.match(name):
        message_file, orderbook_file, _ = lobster_pair(message_file)
    elif orderbook_file is None and "message" in name:
        orderbook_file = message_file.with_name(name.replace("message", "orderbook"))
        if not orderbook_file.is_file():
            raise FileNotFoundError(f"{message_file}: its orderbook file {orderbook_file.name} "
                                    "is not beside it (pass --real-orderbook / "
                                    "--generated-orderbook)")
    if orderbook_file is not None:
        return LobsterStream(read_messages(message_file), read_orderbook(orderbook_file), tick)
    stream = load_source(message_file)
    book = OrderBook(1)
    seed_book_from_state(book, stream.book[0])
    messages, orderbook = to_lobster(book, stream.events, 1, price_unit=tick)
    return LobsterStream(messages, orderbook, tick)


def common_window(real: LobsterStream, generated: LobsterStream, start: str | None,
                  minutes: float | None) -> tuple[LobsterStream, LobsterStream]:
    """Both streams cut to ``[start, start + minutes)`` of their day (HH:MM; None: each
    stream's first message; minutes None: to its end); a ValueError when the start lies
    outside a stream, a warning when the two spans differ more than twofold."""
    cut = []
    for label, stream in (("real", real), ("generated", generated)):
        t = stream.messages["time_ns"]
        if len(t) == 0:
            raise ValueError(f"the {label} file has no messages")
        begin = int(t[0]) if start is None else parsers.start_in_data(
            start, int(t[0]), int(t[-1]), f"the {label} file's data")
        end = int(t[-1]) + 1 if minutes is None else begin + int(minutes * 60e9)
        cut.append(stream if start is None and minutes is None else stream.window(begin, end))
    spans = [(int(s.messages["time_ns"][-1]) - int(s.messages["time_ns"][0])) / 60e9
             if len(s.messages) else 0.0 for s in cut]
    if max(spans) > 2 * max(min(spans), 1e-9):
        warnings.warn(f"the real stream spans {spans[0]:.1f} minutes and the generated one "
                      f"{spans[1]:.1f}: pass --start and --minutes to compare the same window",
                      stacklevel=2)
    return cut[0], cut[1]


def report(real: LobsterStream, generated: LobsterStream) -> dict:
    table = compare(real, generated)
    return {"scores": table, "summary": summary(table),
            "stylized_facts": {"real": stylized_facts(real),
                               "generated": stylized_facts(generated)}}


def _score_gap(row: dict) -> str | None:
    """Why a feature's distances are undefined, or None."""
    if row["n_real"] == 0 or row["n_generated"] == 0:
        return "no " + ("real" if row["n_real"] == 0 else "generated") + " values"
    if not np.isfinite(row["wasserstein_norm"]):
        return "W1/std undefined: the real values never vary"
    return None


def format_table(result: dict) -> str:
    """The scores and the stylized facts as text; what cannot be computed says why."""
    lines = [f"{'feature':18s} {'L1':>7s} {'W1/std':>8s} {'n real':>8s} {'n gen':>8s}"]
    for name, row in result["scores"].items():
        gap = _score_gap(row)
        sizes = f"{row['n_real']:8d} {row['n_generated']:8d}"
        if gap is None:
            lines.append(f"{name:18s} {row['l1']:7.3f} {row['wasserstein_norm']:8.3f} {sizes}")
        elif np.isfinite(row["l1"]):
            lines.append(f"{name:18s} {row['l1']:7.3f} {'-':>8s} {sizes}  ({gap})")
        else:
            lines.append(f"{name:18s} {'-':>7s} {'-':>8s} {sizes}  (undefined: {gap})")
    s = result["summary"]
    lines.append(f"{'mean':18s} {s['mean_l1']:7.3f} {s['mean_wasserstein_norm']:8.3f}  "
                 "(over the defined rows)")
    lines.append("")
    lines.append(f"{'stylized fact':26s} {'real':>8s} {'generated':>10s}")
    real, generated = result["stylized_facts"]["real"], result["stylized_facts"]["generated"]
    for name in real:
        lines.append(f"{name:26s} {format_fact(real, name, 8)} "
                     f"{format_fact(generated, name, 10)}")
    return "\n".join(lines)


def _window_text(stream: LobsterStream) -> str:
    """A stream's window as HH:MM:SS-HH:MM:SS (its messages' times of day)."""
    times = stream.messages["time_ns"]
    if not len(times):
        return "empty"
    clock = [f"{parsers.hhmm(t % NS_PER_DAY)}:{t // NS_PER_S % 60:02d}"
             for t in (int(times[0]), int(times[-1]))]
    return "-".join(clock)


def plot_distributions(real: LobsterStream, generated: LobsterStream, path: Path,
                       labels: tuple[str, str] = ("real", "generated"),
                       title: str | None = None) -> Path:
    """:func:`distribution_figure` written to ``path``."""
    return save_figure(distribution_figure(real, generated, labels, title), path, dpi=90)


def distribution_figure(real: LobsterStream, generated: LobsterStream,
                        labels: tuple[str, str] = ("real", "generated"),
                        title: str | None = None):
    """One panel per feature: the two distributions as density histograms, each axis in the
    feature's unit (:data:`~mars_gym.metrics.realism.FEATURE_UNITS`), each panel's title with
    both sample counts, one legend for the figure, and a title naming both windows."""
    real_features, generated_features = features(real), features(generated)
    names = list(real_features)
    columns = 4
    rows = (len(names) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3 * rows))
    for axis, name in zip(axes.flat, names, strict=False):
        r, g = real_features[name], generated_features[name]
        both = np.r_[r, g]
        if both.size:
            low, high = np.quantile(both, [0.01, 0.99])
            edges = np.linspace(low, high if high > low else low + 1, 40)
            axis.hist(np.clip(r, edges[0], edges[-1]), edges, density=True, alpha=0.5,
                      label=labels[0], color="tab:blue")
            axis.hist(np.clip(g, edges[0], edges[-1]), edges, density=True, alpha=0.5,
                      label=labels[1], color="tab:orange")
        else:
            axis.text(0.5, 0.5, "no values", ha="center", va="center", transform=axis.transAxes)
        axis.set_title(f"{name} (n = {len(r):,} / {len(g):,})", fontsize=9)
        axis.set_xlabel(FEATURE_UNITS.get(name, ""), fontsize=8)
        axis.set_ylabel("density", fontsize=8)
    for axis in list(axes.flat)[len(names):]:
        axis.set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, alpha=0.5) for c in ("tab:blue", "tab:orange")]
    figure.legend(handles, labels, loc="lower right")
    figure.suptitle(title or f"{labels[0]} {_window_text(real)} ({len(real.messages):,} "
                    f"messages) against {labels[1]} {_window_text(generated)} "
                    f"({len(generated.messages):,} messages); n = {labels[0]} / {labels[1]}")
    return figure


def save_figure(figure, path: Path, dpi: int) -> Path:
    """Lay out, write (folders made) and close a matplotlib figure; its path."""
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
    return path


def main(argv: list[str] | None = None) -> int:
    """``mars-gym realism``: the table (or ``--json``) on stdout, realism.json and the plot in
    ``--out``."""
    args = parsers.realism().parse_args(argv)
    real = read_stream(args.real, args.real_orderbook, args.tick)
    generated = read_stream(args.generated, args.generated_orderbook, args.tick)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        real, generated = common_window(real, generated, args.start, args.minutes)
    for warning in caught:
        print(f"mars-gym realism: warning: {warning.message}", file=sys.stderr)
    result = report(real, generated)
    png = args.png if args.png is not None else args.out / "realism.png"
    result["png"] = str(plot_distributions(real, generated, png))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "realism.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result) if args.json else format_table(result) +
          f"\n\nwrote {args.out / 'realism.json'} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
