"""Scaling sweep of the LMM: validation loss over model sizes x training-data fractions.

Every run trains from scratch with the same recipe (:class:`mars_gym.lmm.train.TrainConfig`:
steps, batch, context, learning-rate schedule; the tokenizer and conditions of the committed
sweep: no trade memory, no mirror, time of day and price change read) on the first
``fraction`` of each source's training split, and
reports the token-weighted validation NLL over all sources. CPU-sized by default; pass larger
``--widths`` / ``--steps`` on a GPU. Prints one JSON object and writes ``scaling.json``,
``scaling.md`` and ``scaling.png`` (log-log: validation loss against parameters, one line per
data fraction) into ``--out``.

Usage: ``python -m benchmarks.lmm_scaling --out runs/scaling [--steps 300]``
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from benchmarks.common import emit, machine
from mars_gym.lmm.serve import resolve_device
from mars_gym.lmm.train import TrainConfig, train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/scaling"))
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--context", type=int, default=128)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for width in args.widths:
        for fraction in args.fractions:
            run = args.out / f"d{width}_f{fraction}"
            start = time.perf_counter()
            metrics = train(TrainConfig(
                out=run, n_embd=width, n_head=max(1, width // 16), n_layer=args.layers,
                context=args.context, batch=args.batch, steps=args.steps,
                eval_every=args.steps, warmup=max(10, args.steps // 10),
                data_fraction=fraction, device=args.device, progress=False, tensorboard=False,
                trade_memory=False, mirror=False, tod_frequencies=8, price_change=True))
            last = metrics["history"][-1]
            rows.append({"n_embd": width, "n_layer": args.layers, "params": metrics["params"],
                         "data_fraction": fraction, "train_tokens": metrics["train_tokens"],
                         "val_loss": last["val_loss"], "val_ppl": math.exp(last["val_loss"]),
                         "seconds": time.perf_counter() - start})
            print(json.dumps(rows[-1]), file=sys.stderr)
    result = {"benchmark": "lmm_scaling", "steps": args.steps, "context": args.context,
              "batch": args.batch, "rows": rows,
              "machine": machine(str(resolve_device(args.device)))}
    lines = ["| params | n_embd | data fraction | train tokens | val loss (nats) | val ppl |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['params']:,} | {r['n_embd']} | {r['data_fraction']} | "
              f"{r['train_tokens']:,} | {r['val_loss']:.3f} | {r['val_ppl']:.0f} |" for r in rows]
    (args.out / "scaling.md").write_text("\n".join(lines) + "\n")
    figure, axis = plt.subplots(figsize=(6, 4))
    for fraction in args.fractions:
        sub = [r for r in rows if r["data_fraction"] == fraction]
        axis.plot([r["params"] for r in sub], [r["val_loss"] for r in sub], "o-",
                  label=f"{fraction:.0%} of training data")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("parameters")
    axis.set_ylabel("validation loss (nats / token)")
    axis.set_title(f"LMM scaling ({args.steps} steps x {args.batch} x {args.context} tokens)")
    axis.legend()
    axis.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(args.out / "scaling.png", dpi=100)
    emit(result, args.out / "scaling.json")
    return 0 if all(np.isfinite(r["val_loss"]) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
