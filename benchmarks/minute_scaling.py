"""Minute-model scaling table and generation speed (minutes/s).  Prints JSON, writes a table.

Every size trains with the same recipe on the shipped minute tokenizer's codes (the best
validation step kept, :func:`mars_gym.minutes.train.train_minute_model`); the table gives the
validation and test nats per code of each size next to the unconditional and repeat-last
references. Generation speed: next minutes drawn per second by the minute model (a forward
pass over a full 64-minute context, a draw of the 64 codes, the decode to expected counts) for
1 and ``--streams`` streams at once, measured on the largest size. The size with the best
validation loss is saved (``minute_model_best.pt``).

    python -m benchmarks.minute_scaling --steps 600 --out benchmarks/results/minutes
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from benchmarks.common import emit, machine
from mars_gym.minutes.data import N_FEATURES
from mars_gym.minutes.model import GRID_CELLS, MinuteModel, MinuteModelConfig, save_minute_model
from mars_gym.minutes.recipe import MinuteModelTraining
from mars_gym.minutes.tokenizer import MinuteTokenizer
from mars_gym.minutes.train import train_minute_model

SIZES = ({"n_layer": 1, "n_embd": 32}, {"n_layer": 2, "n_embd": 64},
         {"n_layer": 2, "n_embd": 128})


@torch.no_grad()
def minutes_per_second(model: MinuteModel, tokenizer: MinuteTokenizer, streams: int,
                       repeats: int = 5) -> float:
    """Next minutes generated per second for ``streams`` streams with a full context."""
    model.eval()
    context, generator = model.config.context, torch.Generator().manual_seed(0)
    codes = torch.randint(model.config.codebook_size, (streams, context, GRID_CELLS),
                          generator=generator)
    features = torch.randn(streams, context, N_FEATURES, generator=generator)
    source = torch.zeros(streams, dtype=torch.long)
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        drawn = model.sample(codes, features, source, generator)[0]
        tokenizer.decode(drawn.reshape(streams, 8, 8).numpy())
        best = min(best, time.perf_counter() - began)
    return streams / best


def markdown(rows: list[dict]) -> str:
    header = ("| params | layers | width | best step | val nats/code | test nats/code | "
              "test unconditional | test repeat-last |")
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        val, test = r["validation_nats_per_code"]["all"], r["test_nats_per_code"]["all"]
        lines.append(f"| {r['params']:,} | {r['config']['n_layer']} | {r['config']['n_embd']} | "
                     f"{r['best_step']} | {val['model']:.3f} | {test['model']:.3f} | "
                     f"{test['unconditional']:.3f} | {test['repeat_last']:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", default="default")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for minute_scaling.{json,md} and the best model")
    args = parser.parse_args(argv)
    tokenizer = MinuteTokenizer.load(args.tokenizer)
    rows, models = [], []
    for size in SIZES:
        config = MinuteModelConfig(codebook_size=tokenizer.model.config.codebook_size, **size)
        training = MinuteModelTraining(steps=args.steps, batch=args.batch,
                                      eval_every=args.eval_every)
        model, report = train_minute_model(tokenizer, training, config)
        rows.append(report)
        models.append(model)
    best = min(range(len(rows)),
               key=lambda k: rows[k]["validation_nats_per_code"]["all"]["model"])
    speed = {f"minutes_per_s_{n}_streams": minutes_per_second(model, tokenizer, n)
             for n in (1, args.streams)}
    result = {"device": "cpu", "threads": torch.get_num_threads(), "steps": args.steps,
              "sizes": rows, "best_size": best, "generation": speed, "machine": machine("cpu")}
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "minute_scaling.md").write_text(markdown(rows))
        save_minute_model(models[best], args.out / "minute_model_best.pt")
    emit(result, args.out / "minute_scaling.json" if args.out else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
