"""Train the LMM: ``python -m mars_gym.lmm.train`` or ``mars-gym train-lmm``.

On the shared sources by default, or on any sources given by name or path (``--sources
AMZN my/ZZZZ_2012-06-21_34200000_57600000_message_1.csv``): each reads its own row of the
source embedding (:mod:`mars_gym.lmm.sources`), and ``--source-dropout`` of the training windows
read the generic row instead, which then serves instruments the model never saw. Fine-tune the
shipped model on your own data with ``--init default --sources PATH``.

The tokenizer is fitted on the training splits, the model learns next-token prediction on
random training windows (sources drawn in proportion to their size), and every ``--eval-every``
steps the validation NLL of each source is measured next to two baselines on the same targets
(:mod:`mars_gym.lmm.baselines`). AdamW with linear warm-up then cosine decay; bf16 autocast on
CUDA. Writes into ``--out``: ``last.pt`` (resumable), ``best.pt`` (best validation loss),
``metrics.json`` and tensorboard scalars (``tb/``: loss, val loss, tokens/s, lr).

Example (CPU, a couple of minutes)::

    python -m mars_gym.lmm.train --out runs/lmm --steps 600 --context 128

The ensemble's order model (:mod:`mars_gym.batch`) trains the same way with
``--plan-tokenizer T.pt``: every position then reads the real plan of its minute
(:mod:`mars_gym.batch.plan`); with ``--plan-model M.pt`` each evaluation also scores the
validation split with plans the batch model predicted (``val_predicted``), the honest measure,
and the best checkpoint is chosen on it. ``--init CKPT`` starts from a checkpoint's weights and
tokenizer (an added plan input starts at zero: the same predictions as the checkpoint).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from mars_gym.apps import parsers
from mars_gym.batch.data import minute_series
from mars_gym.batch.model import load_batch_model
from mars_gym.batch.plan import PLAN_FEATURES, Planner
from mars_gym.batch.tokenizer import BatchTokenizer
from mars_gym.data import load_source, split_by_time
from mars_gym.data.mirror import mirrored
from mars_gym.lmm.baselines import FactorizedBaseline, UnigramBaseline
from mars_gym.lmm.checkpoint import load_lmm, read_checkpoint, save_checkpoint
from mars_gym.lmm.data import TokenSequence, build_sequence, evaluation_windows, sample_batch
from mars_gym.lmm.model import LMM, LMMConfig
from mars_gym.lmm.sources import (
    GENERIC_SOURCE_ROW,
    assign_rows,
    median_order_size,
    trained_rows,
    with_row,
)
from mars_gym.tokens import OrderTokenizer
from mars_gym.tokens.order_tokenizer import BOOK_FEATURES, TRADE_MEMORY_S, TRADE_RATE_S

log = logging.getLogger(__name__)


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@torch.no_grad()
def evaluate(model: LMM, sequence: TokenSequence, length: int, device: torch.device,
             max_windows: int | None = None) -> float:
    """Mean next-token NLL (nats) of a sequence, in consecutive windows of ``length``."""
    model.eval()
    total, count = 0.0, 0
    for tokens, cond, targets in evaluation_windows(sequence, length, max_windows):
        with _autocast(device):
            h = model.hidden(tokens.to(device), cond.to(device))
        total += float(-model.token_log_prob(h.float(), targets.to(device)).sum())
        count += targets.numel()
    model.train()
    return total / count


def _autocast(device: torch.device):
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


def learning_rate(step: int, base: float, warmup: int, total: int, floor: float) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor * base + (1 - floor) * base * 0.5 * (1 + math.cos(math.pi * progress))


def prepare_data(source_names: list[str], data_fraction: float = 1.0, data_dir=None,
                 tokenizer: OrderTokenizer | None = None, planner: Planner | None = None,
                 seed: int = 0, price_reference: str = "touch", source_dropout: float = 0.0,
                 trade_memory_s=(), mirror: bool = False, trade_rate_s=()):
    """Tokenizer (fitted on the training splits with ``price_reference``, ``trade_memory_s``
    and ``trade_rate_s`` unless given; with ``mirror``, on each split and its mirror,
    :mod:`mars_gym.data.mirror`, which then join the training sequences too; a given
    one learns the volume scale of sources new to it); per-source train and validation
    sequences (with real minute plans when there is a ``planner``) and validation sequences
    with predicted plans (empty unless the planner has a batch model). Sources are names or
    paths; each reads its embedding row (:func:`~mars_gym.lmm.sources.assign_rows`)."""
    streams = [load_source(name, data_dir) for name in source_names]
    rows = assign_rows(streams, {} if tokenizer is None else trained_rows(tokenizer))
    splits = {s.source.name: split_by_time(with_row(s, rows[s.source.name])) for s in streams}
    if mirror:
        if planner is not None:
            raise ValueError("mirrored training streams have no minute plans: --mirror does not "
                             "go with --plan-tokenizer")
        for parts in splits.values():
            parts["mirror"] = mirrored(parts["train"])
    if tokenizer is None:
        tokenizer = OrderTokenizer.fit([parts[split] for parts in splits.values()
                                        for split in ("train", "mirror") if split in parts],
                                       price_reference, trade_memory_s, trade_rate_s)
    for name, parts in splits.items():
        tokenizer.volume_scale.setdefault(rows[name], median_order_size(parts["train"]))
    tokenizer.source_rows = rows
    tokenizer.generic_source = tokenizer.generic_source or source_dropout > 0
    generator = torch.Generator().manual_seed(seed)
    train, val, val_predicted = [], [], []
    for name, parts in splits.items():
        if planner is None:
            train.append(build_sequence(tokenizer, parts["train"]).head(data_fraction))
            if mirror:
                train.append(build_sequence(tokenizer, parts["mirror"]).head(data_fraction))
            val.append(build_sequence(tokenizer, parts["val"]))
            continue
        if name not in planner.tokenizer.imagers:
            raise KeyError(f"the batch tokenizer was not trained on {name}; it knows "
                           f"{sorted(planner.tokenizer.imagers)}")
        imager = planner.tokenizer.imagers[name]
        minutes = {split: minute_series(imager, parts[split]) for split in ("train", "val")}
        train.append(build_sequence(tokenizer, parts["train"], planner.real(minutes["train"]))
                     .head(data_fraction))
        val.append(build_sequence(tokenizer, parts["val"], planner.real(minutes["val"])))
        if planner.model is not None:
            val_predicted.append(build_sequence(
                tokenizer, parts["val"], planner.predicted(minutes["val"], generator)))
    return tokenizer, train, val, val_predicted


def baseline_report(train: list[TokenSequence], val: list[TokenSequence]) -> dict:
    targets = np.concatenate([s.targets for s in train])
    unigram, factorized = UnigramBaseline(targets), FactorizedBaseline(targets)
    return {s.name: {"unigram_nll": unigram.nll(s.targets),
                     "factorized_nll": factorized.nll(s.targets)} for s in val}


def configure_optimizer(model: LMM, lr: float, weight_decay: float,
                        plan_lr_scale: float = 1.0) -> torch.optim.AdamW:
    """AdamW, weight decay on matrices only; the plan input (new on a trained model, starting
    at zero) learns at ``plan_lr_scale`` times the rate (each group's ``lr_scale``)."""
    plan = set() if model.plan_in is None else set(model.plan_in.parameters())
    rest = [p for p in model.parameters() if p not in plan]
    groups = [{"params": [p for p in rest if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in rest if p.dim() < 2], "weight_decay": 0.0}]
    if plan:
        groups.append({"params": list(plan), "weight_decay": 0.0, "lr_scale": plan_lr_scale})
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95))


def train(args: argparse.Namespace) -> dict:
    """Run training as configured by the command-line arguments; return the metrics."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = pick_device(args.device)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model, tokenizer = _initial_model(args)
    planner = _planner(args)
    tokenizer, train_seqs, val_seqs, predicted_seqs = prepare_data(
        args.sources, args.data_fraction, args.data_dir, tokenizer, planner, args.seed,
        args.price_reference, args.source_dropout, _trade_memory(args), args.mirror,
        _trade_rate(args))
    if tokenizer.book_features != model.config.book_features:
        raise ValueError(f"the tokenizer gives {tokenizer.book_features} book features, the model "
                         f"reads {model.config.book_features}")
    baselines = baseline_report(train_seqs, val_seqs)
    config = model.config
    model = model.to(device)
    optimizer = configure_optimizer(model, args.lr, args.weight_decay, args.plan_lr_scale)
    step, best = 0, float("inf")
    if args.resume:
        state = read_checkpoint(out / "last.pt")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, best = int(state["step"]), float(state["best_val"])
        rng.bit_generator.state = state["rng"]
        log.info("resumed from step %d", step)
    writer = _tensorboard(out / "tb", args.tensorboard)
    train_tokens = sum(len(s) for s in train_seqs)
    metrics = {"config": config.to_dict(), "params": model.n_params(),
               "train_tokens": train_tokens, "baselines": baselines, "history": []}
    bar = tqdm(total=args.steps, initial=step, desc="train-lmm", disable=not args.progress)
    window_start = time.perf_counter()
    while step < args.steps:
        lr = learning_rate(step, args.lr, args.warmup, args.steps, args.min_lr_ratio)
        for group in optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        tokens, cond, targets = sample_batch(train_seqs, args.batch, args.context, rng)
        if args.source_dropout > 0:  # these windows teach the generic row
            cond.source[torch.from_numpy(rng.random(args.batch) < args.source_dropout)] = (
                GENERIC_SOURCE_ROW)
        with _autocast(device):
            _, loss = model(tokens.to(device), cond.to(device), targets.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if writer:
            writer.add_scalar("loss/train", loss.item(), step)
            writer.add_scalar("lr", lr, step)
        if step % args.eval_every == 0 or step == args.steps:
            elapsed = time.perf_counter() - window_start
            tokens_per_s = args.eval_every * args.batch * args.context / max(elapsed, 1e-9)
            val = {s.name: evaluate(model, s, args.context, device, args.eval_windows)
                   for s in val_seqs}
            val_loss = float(np.average(list(val.values()), weights=[len(s) for s in val_seqs]))
            row = {"step": step, "train_loss": loss.item(), "val_loss": val_loss, "val": val,
                   "tokens_per_s": tokens_per_s}
            if predicted_seqs:  # the ensemble as it runs: select on predicted plans
                row["val_predicted"] = {
                    s.name: evaluate(model, s, args.context, device, args.eval_windows)
                    for s in predicted_seqs}
                row["val_loss_real_plans"] = val_loss
                val_loss = row["val_loss"] = float(np.average(
                    list(row["val_predicted"].values()),
                    weights=[len(s) for s in predicted_seqs]))
            metrics["history"].append(row)
            if writer:
                writer.add_scalar("loss/val", val_loss, step)
                writer.add_scalar("tokens_per_s", tokens_per_s, step)
            if val_loss < best:
                best = val_loss
                save_checkpoint(out / "best.pt", model, tokenizer, step=step, val_loss=val_loss)
            save_checkpoint(out / "last.pt", model, tokenizer, step=step, best_val=best,
                            optimizer=optimizer.state_dict(), rng=rng.bit_generator.state)
            window_start = time.perf_counter()
    bar.close()
    if writer:
        writer.close()
    last = metrics["history"][-1] if metrics["history"] else {"val": {}}
    metrics["final"] = {
        name: {"val_nll": nll, "val_ppl": math.exp(nll),
               "unigram_ppl": math.exp(baselines[name]["unigram_nll"]),
               "factorized_ppl": math.exp(baselines[name]["factorized_nll"]),
               "beats_both": nll < min(baselines[name].values())}
        for name, nll in last["val"].items()}
    for name, nll in last.get("val_predicted", {}).items():
        metrics["final"][name]["val_nll_predicted_plans"] = nll
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def _initial_model(args: argparse.Namespace) -> tuple[LMM, OrderTokenizer | None]:
    """A new model as configured, or the ``--init`` checkpoint's (and its tokenizer); with
    ``--plan-tokenizer``, with a plan input."""
    plan_features = PLAN_FEATURES if args.plan_tokenizer else 0
    if args.init is None:
        return LMM(LMMConfig(n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd,
                             context=args.context, dropout=args.dropout,
                             tod_frequencies=args.tod_frequencies,
                             price_change=args.price_change,
                             plan_features=plan_features,
                             book_features=BOOK_FEATURES + (args.price_reference == "touch")
                             + len(_trade_memory(args)) + len(_trade_rate(args)))), None
    trained, tokenizer = load_lmm(args.init)
    if args.trade_memory and tokenizer.trade_memory_s != TRADE_MEMORY_S:
        raise ValueError(f"--trade-memory: {args.init} reads no trade memory on "
                         f"{TRADE_MEMORY_S} s (its tokenizer's conditions are kept when "
                         "fine-tuning); train a new model instead")
    if _trade_rate(args) and tokenizer.trade_rate_s != _trade_rate(args):
        raise ValueError(f"--trade-rate: {args.init} reads no trade rate on "
                         f"{_trade_rate(args)} s "
                         "(its tokenizer's conditions are kept when fine-tuning); train a new "
                         "model instead")
    if args.context > trained.config.context:
        raise ValueError(f"--context {args.context} exceeds the context of {args.init} "
                         f"({trained.config.context})")
    config = LMMConfig(**{**trained.config.to_dict(), "dropout": args.dropout,
                          "plan_features": plan_features or trained.config.plan_features})
    model = LMM(config)
    missing, unexpected = model.load_state_dict(trained.state_dict(), strict=False)
    if unexpected or any(not key.startswith("plan_in.") for key in missing):
        raise ValueError(f"{args.init}: weights do not fit (missing {missing}, "
                         f"unexpected {unexpected})")
    return model.train(), tokenizer


def _trade_memory(args: argparse.Namespace) -> tuple[float, ...]:
    """The trade memory timescales of a new tokenizer (none without ``--trade-memory``)."""
    return TRADE_MEMORY_S if args.trade_memory else ()


def _trade_rate(args: argparse.Namespace) -> tuple[float, ...]:
    """The trade rate timescales of a new tokenizer: ``--trade-rate``'s, :data:`TRADE_RATE_S`
    for the flag alone, none without it."""
    if args.trade_rate is None:
        return ()
    return tuple(args.trade_rate) or TRADE_RATE_S


def _planner(args: argparse.Namespace) -> Planner | None:
    if args.plan_tokenizer is None:
        if args.plan_model is not None:
            raise ValueError("--plan-model needs --plan-tokenizer")
        return None
    model = None if args.plan_model is None else load_batch_model(args.plan_model)
    return Planner(BatchTokenizer.load(args.plan_tokenizer), model)


def _tensorboard(folder: Path, enabled: bool):
    if not enabled:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # the tensorboard package is optional
        log.warning("tensorboard is not installed: no scalars are written")
        return None
    return SummaryWriter(str(folder))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    metrics = train(parsers.train_lmm().parse_args(argv))
    for name, row in metrics["final"].items():
        predicted = row.get("val_nll_predicted_plans")
        print(f"{name:12s} val ppl {row['val_ppl']:9.1f}   unigram {row['unigram_ppl']:9.1f}   "
              f"factorized {row['factorized_ppl']:9.1f}   beats both: {row['beats_both']}"
              + ("" if predicted is None else f"   (predicted plans: nll {predicted:.3f})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
