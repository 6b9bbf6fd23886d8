"""Score a checkpoint (:func:`score`; its command: ``mars-gym evaluate-lmm [default|PATH]
[--split val|test]``, :mod:`mars_gym.apps.evaluate_lmm`).

For every source, the mean next-token NLL and perplexity of the LMM over the whole split (in
consecutive windows of the model's context), next to the unigram and factorized baselines
fitted on the training split with the checkpoint's own tokenizer and measured on the same
targets.
"""

from __future__ import annotations

import math

import numpy as np

from mars_gym.data import SOURCES, load_source, split_by_time
from mars_gym.lmm.baselines import FactorizedBaseline, UnigramBaseline
from mars_gym.lmm.checkpoint import load_lmm
from mars_gym.lmm.data import build_sequence
from mars_gym.lmm.sources import bind_source, own_row, trained_rows
from mars_gym.lmm.train import evaluate, pick_device


def score(checkpoint: str = "default", split: str = "val", sources: list[str] | None = None,
          device: str = "auto", data_dir=None, max_windows: int | None = None) -> dict:
    """Per source (names or paths; default: the shared sources the checkpoint was trained on),
    the LMM's NLL on ``split`` and the baselines'; a source the checkpoint was not trained on
    is read through its generic row (:mod:`mars_gym.lmm.sources`), marked ``generic``."""
    device = pick_device(device)
    model, tokenizer = load_lmm(checkpoint, device)
    sources = sources or sorted(n for n in trained_rows(tokenizer) if n in SOURCES)
    bound = {}
    for name in sources:
        stream = load_source(name, data_dir)
        generic = own_row(tokenizer, stream) is None
        source_tokenizer, stream = bind_source(tokenizer, stream, str(checkpoint))
        bound[stream.source.name] = source_tokenizer, split_by_time(stream), generic
    train = [build_sequence(t, parts["train"]) for t, parts, _ in bound.values()]
    targets = np.concatenate([s.targets for s in train])
    unigram, factorized = UnigramBaseline(targets), FactorizedBaseline(targets)
    table = {}
    for name, (source_tokenizer, parts, generic) in bound.items():
        sequence = build_sequence(source_tokenizer, parts[split])
        nll = evaluate(model, sequence, model.config.context, device, max_windows)
        table[name] = {"tokens": len(sequence), "generic": generic,
                       "lmm_nll": nll, "lmm_ppl": math.exp(nll),
                       "unigram_ppl": math.exp(unigram.nll(sequence.targets)),
                       "factorized_ppl": math.exp(factorized.nll(sequence.targets))}
        table[name]["beats_both"] = table[name]["lmm_ppl"] < min(
            table[name]["unigram_ppl"], table[name]["factorized_ppl"])
    return {"checkpoint": str(checkpoint), "split": split, "params": model.n_params(),
            "sources": table}
