"""Does the ensemble lower the order model's validation loss?  Prints JSON.

Scores, on every source's validation split (all windows), the order model without plans and
the ensemble's order model with the real minute plans (an oracle: the minute's own orders) and
with plans the minute model predicted from the minutes before (what generation uses; one draw
per minute, ``--draws`` seeds averaged). Both order models should come from the same recipe,
e.g. fine-tuning the shipped model for the same steps with and without
``--plan-tokenizer`` (``mars-gym train-lmm --init default ...``).

    python -m benchmarks.ensemble --plain runs/control/best.pt --ensemble ensemble
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import emit
from mars_gym.data import DATA_SOURCES
from mars_gym.ensemble.plan import Planner
from mars_gym.ensemble.training import EnsemblePlans
from mars_gym.lmm.checkpoint import load_lmm
from mars_gym.lmm.train import TrainConfig, evaluate, prepare_data
from mars_gym.minutes.model import load_minute_model
from mars_gym.minutes.tokenizer import MinuteTokenizer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plain", required=True, help="order model without plans")
    parser.add_argument("--ensemble", default="ensemble", help="order model with plans")
    parser.add_argument("--tokenizer", default="default", help="minute tokenizer")
    parser.add_argument("--minute-model", default="default")
    parser.add_argument("--context", type=int, default=512)
    parser.add_argument("--draws", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    device = torch.device("cpu")
    plain, tokenizer = load_lmm(args.plain)
    ensemble, ensemble_tokenizer = load_lmm(args.ensemble)
    if ensemble.config.plan_features == 0:
        raise ValueError(f"{args.ensemble} reads no plans: not an ensemble order model")
    plans = EnsemblePlans(Planner(MinuteTokenizer.load(args.tokenizer),
                                  load_minute_model(args.minute_model)))
    sources = sorted(DATA_SOURCES)
    # the sources as trained, nothing mirrored, no generic row added to the given tokenizers
    data = TrainConfig(sources=tuple(sources), source_dropout=0.0, mirror=False)
    _, _, val, _ = prepare_data(data, tokenizer)
    scores = {s.name: {"tokens": len(s), "plain": evaluate(plain, s, args.context, device)}
              for s in val}
    for draw in range(args.draws):
        _, _, real, predicted = prepare_data(dataclasses.replace(data, seed=draw),
                                             ensemble_tokenizer, plans)
        for r, p in zip(real, predicted, strict=False):
            scores[r.name]["real_plans"] = evaluate(ensemble, r, args.context, device)
            scores[p.name].setdefault("predicted_plans_draws", []).append(
                evaluate(ensemble, p, args.context, device))
    for row in scores.values():
        row["predicted_plans"] = float(np.mean(row["predicted_plans_draws"]))
        row["gain_nats"] = row["plain"] - row["predicted_plans"]
    weights = [scores[n]["tokens"] for n in sources]
    scores["all"] = {key: float(np.average([scores[n][key] for n in sources], weights=weights))
                     for key in ("plain", "real_plans", "predicted_plans", "gain_nats")}
    emit({"plain": args.plain, "ensemble": args.ensemble, "nats_per_order": scores}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
