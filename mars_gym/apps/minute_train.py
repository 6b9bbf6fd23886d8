"""Train the minute model over minutes of codes: ``mars-gym minute-train --tokenizer T.pt --out
M.pt``.

Every source's minutes are encoded with the minute tokenizer, the model trains on random windows
of the training series (mars_gym.minutes.train) and the command prints, as one JSON object, the
validation cross-entropy (nats per code, next minute given the previous ones) per source and
pooled, next to the unconditional and repeat-last baselines.
"""

from __future__ import annotations

import sys

from mars_gym.apps import parsers
from mars_gym.minutes.model import save_minute_model
from mars_gym.minutes.recipe import MinuteModelTraining
from mars_gym.minutes.tokenizer import MinuteTokenizer
from mars_gym.minutes.train import train_minute_model


def main(argv: list[str] | None = None) -> int:
    args = parsers.minute_train().parse_args(argv)
    tokenizer = MinuteTokenizer.load(args.tokenizer)
    model, report = train_minute_model(tokenizer,
                                      parsers.config_from_arguments(MinuteModelTraining, args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_minute_model(model, args.out)
    parsers.print_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
