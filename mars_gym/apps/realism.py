"""``mars-gym realism REAL GENERATED``: score a generated stream against a real one.

Both arguments are LOBSTER message files; each one's orderbook file is found by replacing
``message`` with ``orderbook`` in its name (or given with ``--real-orderbook`` /
``--generated-orderbook``). Prints a table of the realism scores and the stylized facts of both,
writes a PNG of the distributions (``--png``), and ``--json`` prints everything as one object.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from lob_core.lobster import LOBSTER_TICK, read_messages, read_orderbook
from mars_gym.apps import parsers
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
    """A LOBSTER pair as a :class:`LobsterStream` (orderbook file found by name if omitted)."""
    message_file = Path(message_file)
    if orderbook_file is None:
        name = message_file.name
        if "message" not in name:
            raise ValueError(f"cannot find the orderbook file of {message_file}: "
                             "pass it explicitly")
        orderbook_file = message_file.with_name(name.replace("message", "orderbook"))
    return LobsterStream(read_messages(message_file), read_orderbook(orderbook_file), tick)


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
    clock = [f"{t // 3_600_000_000_000:02d}:{t // 60_000_000_000 % 60:02d}:"
             f"{t // 1_000_000_000 % 60:02d}" for t in (int(times[0]), int(times[-1]))]
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
    args = parsers.realism().parse_args(argv)
    real = read_stream(args.real, args.real_orderbook, args.tick)
    generated = read_stream(args.generated, args.generated_orderbook, args.tick)
    result = report(real, generated)
    result["png"] = str(plot_distributions(real, generated, args.png))
    print(json.dumps(result) if args.json else format_table(result) + f"\n\nplot: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
