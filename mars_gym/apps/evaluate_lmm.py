"""Score an LMM checkpoint against two baselines: ``mars-gym evaluate-lmm [default|PATH]
[--split val|test]``.

For every source, the mean next-token NLL and perplexity of the LMM over the whole split (in
consecutive windows of the model's context), next to the unigram and factorized baselines
fitted on the training split with the checkpoint's own tokenizer and measured on the same
targets (mars_gym.lmm.evaluate). Prints a table, or one JSON object with ``--json``.
"""

from __future__ import annotations

import json
import sys

from mars_gym.apps import parsers
from mars_gym.lmm.evaluate import score


def main(argv: list[str] | None = None) -> int:
    args = parsers.evaluate_lmm().parse_args(argv)
    if args.positional_checkpoint is not None and args.checkpoint != "default":
        raise ValueError("give the checkpoint once: as CHECKPOINT or as --checkpoint")
    checkpoint = args.positional_checkpoint or args.checkpoint
    result = score(checkpoint, args.split, args.sources, device=args.device,
                   data_dir=args.data_dir, max_windows=args.max_windows)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['checkpoint']} ({result['params']:,} parameters), {args.split} split")
    print(f"{'source':12s} {'tokens':>8s} {'LMM ppl':>9s} {'unigram':>9s} {'factorized':>11s}")
    for name, row in result["sources"].items():
        print(f"{name:12s} {row['tokens']:8,d} {row['lmm_ppl']:9.1f} {row['unigram_ppl']:9.1f} "
              f"{row['factorized_ppl']:11.1f}  {'beats both' if row['beats_both'] else 'NO'}"
              + ("  (generic row)" if row["generic"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
