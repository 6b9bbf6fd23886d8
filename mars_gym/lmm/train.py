"""Train the LMM: :func:`train` runs one :class:`~mars_gym.lmm.recipe.TrainConfig` (its
defaults: the shipped default's recipe; the command is ``mars-gym train-lmm``,
:mod:`mars_gym.apps.train_lmm`).

Each source (a name or a path) reads its own row of the source embedding
(:mod:`mars_gym.lmm.sources`), and ``config.source_dropout`` of the training windows read the
generic row instead, which then serves instruments the model never saw; ``config.init`` starts
from a checkpoint's weights and tokenizer (fine-tuning; an added plan input starts at zero: the
same predictions as the checkpoint). The tokenizer is fitted on the training splits
(:func:`prepare_tokenizer`), the model learns next-token prediction on random training windows
(sources drawn in proportion to their size), and every ``config.eval_every`` steps the
validation NLL of each source is measured next to two baselines on the same targets
(:mod:`mars_gym.lmm.baselines`). AdamW with linear warm-up then cosine decay; bf16 autocast on
CUDA. Writes into ``config.out``: ``last.pt`` (resumable), ``best.pt`` (best validation loss),
``metrics.json`` and tensorboard scalars (``tb/``: loss, val loss, tokens/s, lr).

``last.pt`` keeps every random state a step draws from (:func:`rng_state`), so a run killed
and resumed (``config.resume``, :func:`resume`) ends bit-identical to one that was not, dropout
included. A NaN or infinite training or validation loss stops the run with a ValueError before
it reaches the weights or a checkpoint; a start removes the temporary files a kill during a save
left (:func:`mars_gym.checkpoint.remove_stale_temporaries`).

The ensemble's order model trains the same way given minute plans (a :class:`PlanSequences`,
:mod:`mars_gym.ensemble.training`): every position then reads the real plan of its minute;
with predicted plans too, each evaluation also scores the validation split with them
(``val_predicted``), the honest measure, and the best checkpoint is chosen on it.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from tqdm.auto import tqdm

from mars_gym.checkpoint import remove_stale_temporaries
from mars_gym.data import load_source, split_by_time
from mars_gym.data.mirror import mirrored
from mars_gym.data.schema import EventStream
from mars_gym.lmm.baselines import FactorizedBaseline, UnigramBaseline
from mars_gym.lmm.checkpoint import load_lmm, read_checkpoint, save_checkpoint
from mars_gym.lmm.data import TokenSequence, build_sequence, evaluation_windows, sample_batch
from mars_gym.lmm.model import LMM, LMMConfig
from mars_gym.lmm.recipe import TrainConfig
from mars_gym.lmm.sources import (
    GENERIC_SOURCE_ROW,
    assign_rows,
    median_order_size,
    trained_rows,
    with_row,
)
from mars_gym.tokens import OrderTokenizer
from mars_gym.tokens.order_tokenizer import BOOK_FEATURES, TRADE_MEMORY_S

__all__ = [
    "PlanSequences",
    "TrainConfig",
    "evaluate",
    "model_config",
    "pick_device",
    "prepare_data",
    "prepare_tokenizer",
    "resume",
    "rng_state",
    "trade_memory_timescales",
    "train",
]

log = logging.getLogger(__name__)


class PlanSequences(Protocol):
    """Minute plans for training the ensemble's order model
    (:class:`mars_gym.ensemble.training.EnsemblePlans`): the width of the model's plan input,
    and each source's sequences whose positions read the plan of their minute."""

    features: int

    def sequences(self, tokenizer: OrderTokenizer, name: str, parts: dict,
                  data_fraction: float, generator: torch.Generator,
                  ) -> tuple[TokenSequence, TokenSequence, TokenSequence | None]:
        """Source ``name``'s training sequence (real plans, its first ``data_fraction``), its
        validation sequence (real plans) and its validation sequence with predicted plans
        (None without a minute model, else drawn with ``generator``); ``parts``: the source's
        splits by name."""
        ...


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


def prepare_tokenizer(config: TrainConfig, tokenizer: OrderTokenizer | None = None,
                      plans: PlanSequences | None = None,
                      ) -> tuple[OrderTokenizer, dict[str, dict[str, EventStream]]]:
    """Each source's splits by time (with ``config.mirror``, its training split's mirror too,
    :mod:`mars_gym.data.mirror`) and the tokenizer: fitted on the training splits (and mirrors)
    with ``config``'s price reference and trade memory unless given; a given one learns the
    volume scale of sources new to it. Sources are names or paths; each reads its embedding row
    (:func:`~mars_gym.lmm.sources.assign_rows`)."""
    streams = [load_source(name, config.data_dir) for name in config.sources]
    rows = assign_rows(streams, {} if tokenizer is None else trained_rows(tokenizer))
    splits = {s.source.name: split_by_time(with_row(s, rows[s.source.name])) for s in streams}
    if config.mirror:
        if plans is not None:
            raise ValueError("mirrored training streams have no minute plans: --mirror (on by "
                             "default) does not go with --plan-tokenizer; add --no-mirror")
        for parts in splits.values():
            parts["mirror"] = mirrored(parts["train"])
    if tokenizer is None:
        tokenizer = OrderTokenizer.fit([parts[split] for parts in splits.values()
                                        for split in ("train", "mirror") if split in parts],
                                       config.price_reference, trade_memory_timescales(config))
    for name, parts in splits.items():
        tokenizer.volume_scale.setdefault(rows[name], median_order_size(parts["train"]))
    tokenizer.source_rows = rows
    tokenizer.generic_source = tokenizer.generic_source or config.source_dropout > 0
    return tokenizer, splits


def prepare_data(config: TrainConfig, tokenizer: OrderTokenizer | None = None,
                 plans: PlanSequences | None = None):
    """The tokenizer (:func:`prepare_tokenizer`); per-source train (with ``config.mirror``,
    the mirrors' too) and validation sequences (with real minute plans when there are
    ``plans``) and validation sequences with predicted plans (empty unless the plans have a
    minute model)."""
    tokenizer, splits = prepare_tokenizer(config, tokenizer, plans)
    generator = torch.Generator().manual_seed(config.seed)
    train, val, val_predicted = [], [], []
    for name, parts in splits.items():
        if plans is None:
            train.append(build_sequence(tokenizer, parts["train"]).head(config.data_fraction))
            if config.mirror:
                train.append(build_sequence(tokenizer, parts["mirror"])
                             .head(config.data_fraction))
            val.append(build_sequence(tokenizer, parts["val"]))
            continue
        train_seq, val_seq, predicted = plans.sequences(tokenizer, name, parts,
                                                        config.data_fraction, generator)
        train.append(train_seq)
        val.append(val_seq)
        if predicted is not None:
            val_predicted.append(predicted)
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


def train(config: TrainConfig | None = None, plans: PlanSequences | None = None) -> dict:
    """Run the training ``config`` describes (None: :class:`TrainConfig`'s defaults, the shipped
    default's recipe), on minute plans when given (the ensemble's order model); return the
    metrics."""
    config = config or TrainConfig()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model, tokenizer = _initial_model(config, 0 if plans is None else plans.features)
    tokenizer, train_seqs, val_seqs, predicted_seqs = prepare_data(config, tokenizer, plans)
    if tokenizer.book_features != model.config.book_features:
        raise ValueError(f"the tokenizer gives {tokenizer.book_features} book features, the model "
                         f"reads {model.config.book_features}")
    baselines = baseline_report(train_seqs, val_seqs)
    model = model.to(device)
    optimizer = configure_optimizer(model, config.lr, config.weight_decay, config.plan_lr_scale)
    step, best, saved_step = 0, float("inf"), None
    for name in ("last.pt", "best.pt"):  # left by a run killed while saving
        for stale in remove_stale_temporaries(out / name):
            log.info("removed %s (a checkpoint write that never finished)", stale)
    if config.resume:
        step, best = resume(out / "last.pt", model, optimizer, rng)
        saved_step = step
        log.info("resumed from step %d", step)
    writer = _tensorboard(out / "tb", config.tensorboard)
    train_tokens = sum(len(s) for s in train_seqs)
    metrics: dict[str, Any] = {"config": model.config.to_dict(), "params": model.n_params(),
                               "train_tokens": train_tokens, "baselines": baselines, "history": []}
    bar = tqdm(total=config.steps, initial=step, desc="train-lmm", disable=not config.progress)
    window_start = time.perf_counter()
    while step < config.steps:
        lr = learning_rate(step, config.lr, config.warmup, config.steps, config.min_lr_ratio)
        for group in optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        tokens, cond, targets = sample_batch(train_seqs, config.batch, config.context, rng)
        if config.source_dropout > 0:  # these windows teach the generic row
            cond.source[torch.from_numpy(rng.random(config.batch) < config.source_dropout)] = (
                GENERIC_SOURCE_ROW)
        with _autocast(device):
            _, loss = model(tokens.to(device), cond.to(device), targets.to(device))
        _check_finite("training loss", loss.item(), step + 1, saved_step, config)
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
        if step % config.eval_every == 0 or step == config.steps:
            elapsed = time.perf_counter() - window_start
            tokens_per_s = config.eval_every * config.batch * config.context / max(elapsed, 1e-9)
            val = {s.name: evaluate(model, s, config.context, device, config.eval_windows)
                   for s in val_seqs}
            val_loss = float(np.average(list(val.values()), weights=[len(s) for s in val_seqs]))
            row = {"step": step, "train_loss": loss.item(), "val_loss": val_loss, "val": val,
                   "tokens_per_s": tokens_per_s}
            if predicted_seqs:  # the ensemble as it runs: select on predicted plans
                row["val_predicted"] = {
                    s.name: evaluate(model, s, config.context, device, config.eval_windows)
                    for s in predicted_seqs}
                row["val_loss_real_plans"] = val_loss
                val_loss = row["val_loss"] = float(np.average(
                    list(row["val_predicted"].values()),
                    weights=[len(s) for s in predicted_seqs]))
            _check_finite("validation loss", val_loss, step, saved_step, config)
            metrics["history"].append(row)
            if writer:
                writer.add_scalar("loss/val", val_loss, step)
                writer.add_scalar("tokens_per_s", tokens_per_s, step)
            if val_loss < best:
                best = val_loss
                save_checkpoint(out / "best.pt", model, tokenizer, step=step, val_loss=val_loss)
            save_checkpoint(out / "last.pt", model, tokenizer, step=step, best_val=best,
                            optimizer=optimizer.state_dict(), **rng_state(rng))
            saved_step = step
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


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """Every random state a training step draws from, as ``last.pt`` keeps it: the numpy
    generator of the windows and the source dropout (``rng``), torch's CPU generator (dropout
    on CPU) and, when CUDA is present, each device's (dropout there). Python's ``random`` is
    not used in training."""
    state: dict[str, Any] = {"rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    return state


def resume(path: Path, model: LMM, optimizer: torch.optim.Optimizer,
           rng: np.random.Generator) -> tuple[int, float]:
    """Load the run ``path`` (a ``last.pt``) saved into ``model``, ``optimizer``, ``rng`` and
    torch's generators (:func:`rng_state`) and return its step and best validation loss; a
    ValueError says what differs from this run (the model's config but its dropout, the
    optimizer's parameter groups) and what to do."""
    if not path.is_file():
        raise ValueError(f"--resume: {path} not found (no run was saved there): start it "
                         "without --resume")
    state = read_checkpoint(path)
    missing = [key for key in ("config", "model", "optimizer", "step", "best_val", "rng")
               if key not in state]
    if missing:
        raise ValueError(f"--resume: {path} holds no {', '.join(missing)} (not a last.pt that "
                         "train-lmm wrote): start a new --out, or fine-tune from it with --init")
    saved = {**LMMConfig().to_dict(), **state["config"]}  # defaults, as the loader fills them
    asked = model.config.to_dict()
    if saved["dropout"] != asked["dropout"]:
        log.warning("%s trained with dropout %s, this run goes on with %s", path,
                    saved["dropout"], asked["dropout"])
    differ = [name for name in asked if name != "dropout" and saved[name] != asked[name]]
    if differ:
        raise ValueError(
            f"--resume: {path} was trained with "
            + ", ".join(f"{name}={saved.get(name)!r}" for name in differ) + "; this run asks "
            + ", ".join(f"{name}={asked[name]!r}" for name in differ)
            + ": resume with the options of that run, or start a new --out")
    _check_optimizer(path, state["optimizer"], optimizer)
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as error:
        raise ValueError(f"--resume: {path} does not fit this run ({error}): start a new "
                         "--out") from None
    rng.bit_generator.state = state["rng"]
    if "torch_rng" in state:
        torch.set_rng_state(state["torch_rng"])
    else:
        log.warning("%s keeps no torch random state (written before it was saved): dropout "
                    "draws differ from an uninterrupted run", path)
    if "cuda_rng" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return int(state["step"]), float(state["best_val"])


def _check_optimizer(path: Path, saved: dict, optimizer: torch.optim.Optimizer) -> None:
    """A ValueError naming how the optimizer state saved in ``path`` differs from
    ``optimizer``'s parameter groups (their number, sizes, each parameter's shape)."""
    groups = optimizer.param_groups
    saved_groups = saved.get("param_groups", []) if isinstance(saved, dict) else []
    sizes = [len(g["params"]) for g in groups]
    saved_sizes = [len(g.get("params", ())) for g in saved_groups]
    fix = ("resume with the options of that run (a plan input, --plan-lr-scale and the "
           "model's shape decide the groups), or start a new --out")
    if saved_sizes != sizes:
        raise ValueError(f"--resume: the optimizer of {path} has parameter groups of "
                         f"{saved_sizes} parameters, this run's of {sizes}: {fix}")
    moments = saved.get("state", {})
    for number, (group, saved_group) in enumerate(zip(groups, saved_groups, strict=True)):
        for index, (parameter, key) in enumerate(zip(group["params"], saved_group["params"],
                                                     strict=True)):
            moment = moments.get(key, {}).get("exp_avg")
            if moment is not None and tuple(moment.shape) != tuple(parameter.shape):
                raise ValueError(f"--resume: the optimizer of {path} holds a moment of shape "
                                 f"{tuple(moment.shape)} for parameter {index} of group "
                                 f"{number}, of shape {tuple(parameter.shape)} here: {fix}")
            if key in moments and moment is None:
                raise ValueError(f"--resume: the optimizer of {path} is not AdamW's (no "
                                 f"exp_avg for parameter {index} of group {number}): {fix}")


def _check_finite(what: str, value: float, step: int, saved_step: int | None,
                  config: TrainConfig) -> None:
    """Stop the run with a ValueError at a NaN or infinite loss, before it reaches the weights
    or a checkpoint."""
    if math.isfinite(value):
        return
    kept = ("this run has written no checkpoint" if saved_step is None else
            f"last.pt and best.pt keep the weights of step {saved_step} or before")
    raise ValueError(f"step {step}: the {what} is {value} (the run diverged and stops; {kept}): "
                     f"lower --lr (now {config.lr:g}) or raise --warmup (now {config.warmup}), "
                     "then start again or --resume")


def trade_memory_timescales(config: TrainConfig) -> tuple[float, ...]:
    """The trade memory timescales of a new tokenizer (none without ``config.trade_memory``)."""
    return TRADE_MEMORY_S if config.trade_memory else ()


def model_config(config: TrainConfig, plan_features: int = 0) -> LMMConfig:
    """The shape of the new model ``config`` trains (with a plan input of ``plan_features``)."""
    return LMMConfig(n_layer=config.n_layer, n_head=config.n_head, n_embd=config.n_embd,
                     context=config.context, dropout=config.dropout,
                     tod_frequencies=config.tod_frequencies, price_change=config.price_change,
                     plan_features=plan_features,
                     book_features=BOOK_FEATURES + (config.price_reference == "touch")
                     + len(trade_memory_timescales(config)))


def _initial_model(config: TrainConfig, plan_features: int) -> tuple[LMM, OrderTokenizer | None]:
    """A new model as configured, or the ``init`` checkpoint's (and its tokenizer); with a plan
    input of ``plan_features`` when that is not 0."""
    if config.init is None:
        return LMM(model_config(config, plan_features)), None
    trained, tokenizer = load_lmm(config.init)
    if config.trade_memory and tokenizer.trade_memory_s != TRADE_MEMORY_S:
        raise ValueError(f"--trade-memory (on by default): {config.init} reads no trade memory on "
                         f"{TRADE_MEMORY_S} s (its tokenizer's conditions are kept when "
                         "fine-tuning); add --no-trade-memory, or train a new model instead")
    if config.context > trained.config.context:
        raise ValueError(f"--context {config.context} exceeds the context of {config.init} "
                         f"({trained.config.context})")
    shape = LMMConfig(**{**trained.config.to_dict(), "dropout": config.dropout,
                         "plan_features": plan_features or trained.config.plan_features})
    model = LMM(shape)
    missing, unexpected = model.load_state_dict(trained.state_dict(), strict=False)
    if unexpected or any(not key.startswith("plan_in.") for key in missing):
        raise ValueError(f"{config.init}: weights do not fit (missing {missing}, "
                         f"unexpected {unexpected})")
    return model.train(), tokenizer


def _tensorboard(folder: Path, enabled: bool):
    if not enabled:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # the tensorboard package is optional
        log.warning("tensorboard is not installed: no scalars are written")
        return None
    return SummaryWriter(str(folder))
