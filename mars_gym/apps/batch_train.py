"""Train the batch model over minutes of codes: ``mars-gym batch-train --tokenizer T.pt --out
M.pt``.

Every source's minutes are encoded with the batch tokenizer, the model trains on random windows
of the training series (mars_gym.batch.train) and the command prints, as one JSON object, the
validation cross-entropy (nats per code, next minute given the previous ones) per source and
pooled, next to the unconditional and repeat-last baselines.
"""

from __future__ import annotations

import sys

from mars_gym.apps import parsers
from mars_gym.batch.model import save_batch_model
from mars_gym.batch.recipe import BatchModelTraining
from mars_gym.batch.tokenizer import BatchTokenizer
from mars_gym.batch.train import train_batch_model


def main(argv: list[str] | None = None) -> int:
    args = parsers.batch_train().parse_args(argv)
    tokenizer = BatchTokenizer.load(args.tokenizer)
    model, report = train_batch_model(tokenizer,
                                      parsers.config_from_arguments(BatchModelTraining, args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_batch_model(model, args.out)
    parsers.print_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
