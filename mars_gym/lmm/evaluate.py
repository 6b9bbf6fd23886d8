"""Score a checkpoint: ``python -m mars_gym.lmm.evaluate [default|PATH] [--split val|test]``.

For every source, the mean next-token NLL and perplexity of the LMM over the whole split (in
consecutive windows of the model's context), next to the unigram and factorized baselines
fitted on the training split with the checkpoint's own tokenizer and measured on the same
targets. Prints a table, or one JSON object with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

from mars_gym.data import DATA_SOURCES, SOURCES, load_source, split_by_time
from mars_gym.lmm.baselines import FactorizedBaseline, UnigramBaseline
from mars_gym.lmm.checkpoint import load_lmm
from mars_gym.lmm.data import build_sequence
from mars_gym.lmm.train import evaluate, pick_device


def score(checkpoint: str = "default", split: str = "val", sources: list[str] | None = None,
          device: str = "auto", data_dir=None, max_windows: int | None = None) -> dict:
    device = pick_device(device)
    model, tokenizer = load_lmm(checkpoint, device)
    sources = sources or [s for s in sorted(DATA_SOURCES)
                          if SOURCES[s].source_id in tokenizer.volume_scale]
    splits = {name: split_by_time(load_source(name, data_dir)) for name in sources}
    train = [build_sequence(tokenizer, parts["train"]) for parts in splits.values()]
    targets = np.concatenate([s.targets for s in train])
    unigram, factorized = UnigramBaseline(targets), FactorizedBaseline(targets)
    table = {}
    for name, parts in splits.items():
        sequence = build_sequence(tokenizer, parts[split])
        nll = evaluate(model, sequence, model.config.context, device, max_windows)
        table[name] = {"tokens": len(sequence), "lmm_nll": nll, "lmm_ppl": math.exp(nll),
                       "unigram_ppl": math.exp(unigram.nll(sequence.targets)),
                       "factorized_ppl": math.exp(factorized.nll(sequence.targets))}
        table[name]["beats_both"] = table[name]["lmm_ppl"] < min(
            table[name]["unigram_ppl"], table[name]["factorized_ppl"])
    return {"checkpoint": str(checkpoint), "split": split, "params": model.n_params(),
            "sources": table}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mars_gym.lmm.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", nargs="?", default="default")
    parser.add_argument("--split", choices=["val", "test"], default="val")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = score(args.checkpoint, args.split, device=args.device)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['checkpoint']} ({result['params']:,} parameters), {args.split} split")
    print(f"{'source':12s} {'tokens':>8s} {'LMM ppl':>9s} {'unigram':>9s} {'factorized':>11s}")
    for name, row in result["sources"].items():
        print(f"{name:12s} {row['tokens']:8,d} {row['lmm_ppl']:9.1f} {row['unigram_ppl']:9.1f} "
              f"{row['factorized_ppl']:11.1f}  {'beats both' if row['beats_both'] else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
