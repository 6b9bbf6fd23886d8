"""Train or fine-tune the LMM: ``mars-gym train-lmm``.

With no arguments it trains the shipped default's recipe again
(mars_gym.lmm.recipe.TrainConfig: touch prices, trade memory, every day also seen in
its mirror, no time-of-day or price-change input, 4 x 4 x 128 over 512 orders, 2,250 steps of 8
windows). Every option overrides one field of that recipe.

On the shared sources by default, or on any sources given by name or path (``--sources
AMZN my/ZZZZ_2012-06-21_34200000_57600000_message_1.csv``): each reads its own row of the
source embedding (mars_gym.lmm.sources), and ``--source-dropout`` of the training windows read
the generic row instead, which then serves instruments the model never saw. Fine-tune the
shipped model on your own data with ``--init default --sources PATH``.

The tokenizer is fitted on the training splits, the model learns next-token prediction on
random training windows (sources drawn in proportion to their size), and every ``--eval-every``
steps the validation NLL of each source is measured next to two baselines on the same targets
(mars_gym.lmm.baselines). AdamW with linear warm-up then cosine decay; bf16 autocast on CUDA.
Writes into ``--out``: ``last.pt`` (resumable), ``best.pt`` (best validation loss),
``metrics.json`` and tensorboard scalars (``tb/``: loss, val loss, tokens/s, lr). A run killed
and resumed with ``--resume`` (the same model options: it names any that differ) ends
bit-identical to one that was not; a NaN or infinite loss stops the run with an error and leaves
``last.pt`` and ``best.pt`` as they were.

Example (CPU, a couple of minutes)::

    mars-gym train-lmm --out runs/lmm --steps 600 --context 128

The ensemble's order model trains the same way with ``--plan-tokenizer T.pt --no-mirror``:
every position then reads the real plan of its minute (mars_gym.ensemble.training); with
``--plan-model M.pt`` each evaluation also scores the validation split with plans the batch
model predicted (``val_predicted``), the honest measure, and the best checkpoint is chosen on
it. ``--init CKPT`` starts from a checkpoint's weights and tokenizer (an added plan input
starts at zero: the same predictions as the checkpoint).
"""

from __future__ import annotations

import argparse
import logging
import sys

from mars_gym.apps import parsers
from mars_gym.ensemble.training import EnsemblePlans
from mars_gym.lmm.train import TrainConfig, train


def plans_from_arguments(args: argparse.Namespace) -> EnsemblePlans | None:
    """The ensemble's minute plans ``--plan-tokenizer`` (and ``--plan-model``) name, or None."""
    if args.plan_tokenizer is None:
        if args.plan_model is not None:
            raise ValueError("--plan-model needs --plan-tokenizer")
        return None
    return EnsemblePlans.load(args.plan_tokenizer, args.plan_model)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parsers.train_lmm().parse_args(argv)
    config = parsers.config_from_arguments(TrainConfig, args)
    metrics = train(config, plans_from_arguments(args))
    for name, row in metrics["final"].items():
        predicted = row.get("val_nll_predicted_plans")
        print(f"{name:12s} val ppl {row['val_ppl']:9.1f}   unigram {row['unigram_ppl']:9.1f}   "
              f"factorized {row['factorized_ppl']:9.1f}   beats both: {row['beats_both']}"
              + ("" if predicted is None else f"   (predicted plans: nll {predicted:.3f})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
