"""Train the minute tokenizer: ``mars-gym minute-tokenizer --out runs/minute_tokenizer.pt``.

The VQ-VAE that turns minute order images into codes trains on every source's training minutes
(several minute phases; mars_gym.minutes.tokenizer) and the command prints the validation report
as one JSON object: Poisson NLL per cell, the mean absolute count error per image, the share of
cells whose decoded count rounds to the true one, and codebook usage (entries used, perplexity
of the code distribution).
"""

from __future__ import annotations

import sys

from mars_gym.apps import parsers
from mars_gym.minutes.recipe import TokenizerTraining
from mars_gym.minutes.tokenizer import train_tokenizer


def main(argv: list[str] | None = None) -> int:
    args = parsers.minute_tokenizer().parse_args(argv)
    tokenizer, report = train_tokenizer(parsers.config_from_arguments(TokenizerTraining, args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(args.out)
    parsers.print_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
