"""``mars-gym report``: realism of every background flow against the real test split.

    mars-gym report [--source AMZN] [--flows lmm hawkes noise replay] [--minutes 30] [--out report]

Each flow starts from the real book at the beginning of the source's test split (the ``lmm``
primed with the real history before it) and runs alone for ``--minutes``; the real events of the
same window, as LOBSTER recorded them, are the reference; generated windows are exported at
LOBSTER ``--level``. Both are scored alike: the realism scores of
:mod:`mars_gym.metrics.realism` (L1 and normalised Wasserstein distance per feature) and the
stylized facts. Writes ``report.md`` (tables), ``report.json`` and one PNG of the distributions
per flow.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lob_core.lobster import read_messages, read_orderbook
from mars_gym.apps import parsers
from mars_gym.apps.generate import generate_window
from mars_gym.apps.realism import plot_distributions
from mars_gym.data import load_source
from mars_gym.data.sources import lobster_files
from mars_gym.data.splits import split_bounds
from mars_gym.metrics.realism import (
    LobsterStream,
    compare,
    format_fact,
    stylized_facts,
    summary,
)
from mars_gym.parallel import fan_out
from mars_gym.sim.flow_names import FLOWS


def real_window(source: str, start_ns: int, end_ns: int, data_dir=None) -> LobsterStream:
    """The source's LOBSTER messages and book of ``[start_ns, end_ns)``, as recorded."""
    messages, orderbook = lobster_files(source, data_dir)
    day = LobsterStream(read_messages(messages), read_orderbook(orderbook))
    return day.window(start_ns, end_ns)


def build(source: str = "AMZN", flows=FLOWS, minutes: float = 30.0, level: int = 1,
          seed: int = 0, data_dir=None, out: Path | None = None, ray: str | None = None,
          workers: int | None = None, progress: bool = True) -> dict:
    """Score every flow's window against the real one; PNGs into ``out`` when given. With
    ``ray`` the flows run on Ray workers, one task each (:mod:`mars_gym.parallel`)."""
    stream = load_source(source, data_dir)
    start_ns = int(stream.events["time_ns"][split_bounds(stream)["test"][0]])
    end_ns = start_ns + int(minutes * 60e9)
    if end_ns > int(stream.events["time_ns"][-1]):
        raise ValueError(f"the test split of {source} is shorter than {minutes} minutes")
    real = real_window(source, start_ns, end_ns, data_dir)
    document = {"source": source, "minutes": minutes, "level": level, "seed": seed,
                "real_messages": len(real.messages), "flows": {},
                "stylized_facts": {"real": stylized_facts(real)}}
    work = functools.partial(_generate, source, start_ns, end_ns - start_ns, level, seed,
                             data_dir)
    windows = fan_out(work, list(flows), [1] * len(flows), ray, workers, desc="flows",
                      progress=progress)
    for flow, generated in zip(flows, windows, strict=True):
        table = compare(real, generated)
        document["flows"][flow] = {"messages": len(generated.messages), "scores": table,
                                   "summary": summary(table)}
        document["stylized_facts"][flow] = stylized_facts(generated)
        if out is not None:
            plot_distributions(real, generated, out / f"realism_{flow}.png",
                               (f"real {source}", flow))
    return document


def _generate(source: str, start_ns: int, duration_ns: int, level: int, seed: int, data_dir,
              flow: str, advance: Callable[[int], Any]) -> LobsterStream:
    """One flow's window (a task of :func:`build`)."""
    generated = generate_window(flow, source, start_ns, duration_ns, level, seed, data_dir)
    advance(1)
    return generated


def markdown(document: dict) -> str:
    flows = list(document["flows"])
    lines = [f"# Realism report: {document['source']}",
             "",
             (f"Reference: the first {document['minutes']:g} minutes of the test split "
             f"({document['real_messages']:,} messages, LOBSTER level {document['level']}). "
             "Each flow starts from the same real book and runs alone; cells are L1 distance "
             "of the histograms | Wasserstein distance / std of the real feature (lower is "
             "closer)."), "",
             "| feature | " + " | ".join(flows) + " |", "|---|" + "---|" * len(flows)]
    features = list(next(iter(document["flows"].values()))["scores"])
    for feature in features:
        cells = [f"{document['flows'][f]['scores'][feature]['l1']:.3f} | "
                 f"{document['flows'][f]['scores'][feature]['wasserstein_norm']:.2f}"
                 .replace(" | ", " / ") for f in flows]
        lines.append(f"| {feature} | " + " | ".join(cells) + " |")
    means = [f"{document['flows'][f]['summary']['mean_l1']:.3f} / "
             f"{document['flows'][f]['summary']['mean_wasserstein_norm']:.2f}" for f in flows]
    lines += ["| **mean** | " + " | ".join(means) + " |", "",
              "| messages | " + " | ".join(f"{document['flows'][f]['messages']:,}"
                                           for f in flows) + " |", "",
              "## Stylized facts", "",
              "| fact | real | " + " | ".join(flows) + " |", "|---|---|" + "---|" * len(flows)]
    facts = document["stylized_facts"]
    for name in facts["real"]:
        lines.append(f"| {name} | " + " | ".join(format_fact(facts[k], name)
                                                 for k in ["real", *flows]) + " |")
    lines += ["", *[f"![{f}](realism_{f}.png)" for f in flows], ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """``mars-gym report``: the tables on stdout, report.md, report.json and the PNGs in
    ``--out``."""
    args = parsers.report().parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    document = build(args.source, args.flows, args.minutes, args.level, args.seed,
                     args.data_dir, args.out, ray=args.ray, workers=args.workers,
                     progress=args.progress)
    (args.out / "report.json").write_text(json.dumps(document, indent=1))
    (args.out / "report.md").write_text(markdown(document))
    print(markdown(document))
    print(f"wrote {args.out / 'report.md'}")


if __name__ == "__main__":
    main()
