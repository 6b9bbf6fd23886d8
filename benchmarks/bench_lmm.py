"""Generation speed of the LMM: KV-cached batched streams vs. the MarS-style loop.

Prints one JSON object. For each model (the shipped default and a ~10 M-parameter model of the
same design, random weights: speed does not depend on them) at context 1024 and each batch size
(1, 16, 256 streams):

* ``kv``: :class:`BatchedGenerator` with every stream holding ~1000 positions: time per step
  (one new order per stream), time of one re-fill (keep 512 positions, recompute them), and the
  amortised cost per order = step + re-fill / 512 (a re-fill happens every 512 steps);
* ``mars_style``: :class:`FullRecomputeGenerator`, recomputing the 1024-position window for
  every new order (skipped when one step is estimated above ``--max-step-s``: the estimate is
  written instead);
* ``speedup`` = MarS-style time per order / KV amortised time per order, same model and batch;
* peak memory: CUDA ``max_memory_allocated`` per case, or the process's peak RSS on CPU;
* ``variants`` (up to ``--variant-max-batch``): the KV-cached step in the other step modes and
  precisions
  (:mod:`mars_gym.lmm.generate`; ``cuda_graph`` on CUDA only), each with its speed relative to
  the default step (``speed_vs_default``) and, for the static and graph modes, whether its
  tokens equal the dynamic step's in the same precision (``same_tokens``; a lower precision
  draws other tokens now and then than float32 does).

Usage: ``python -m benchmarks.bench_lmm [--steps 16] [--device auto] [--batches 1 16 256]
[--step-modes dynamic static cuda_graph] [--precisions float32 bfloat16] [--out FILE]``
"""

from __future__ import annotations

import argparse
import copy
import resource
import sys
import time
from pathlib import Path

import torch

from benchmarks.common import emit, machine
from mars_gym.lmm.checkpoint import CheckpointError, load_lmm
from mars_gym.lmm.generate import BatchedGenerator, FullRecomputeGenerator
from mars_gym.lmm.model import LMM, ConditionTensors, LMMConfig
from mars_gym.lmm.options import PRECISIONS, STEP_MODES
from mars_gym.lmm.serve import resolve_device, resolve_precision

CONTEXT = 1024


def random_inputs(model: LMM, batch: int, length: int,
                  device) -> tuple[torch.Tensor, ConditionTensors]:
    """Random tokens and conditions of the width ``model`` reads."""
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 49_152, (batch, length), generator=g)
    cond = ConditionTensors(torch.rand(batch, length, model.config.book_features, generator=g),
                      torch.randint(0, 17_280, (batch, length), generator=g),
                      torch.randint(0, 401, (batch, length), generator=g),
                      torch.zeros(batch, length, dtype=torch.long))
    return tokens.to(device), cond.to(device)


def synchronize(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def models(device) -> dict[str, LMM]:
    try:
        default, _ = load_lmm("default")
        default_weights = default.state_dict()
        default_config = default.config
    except CheckpointError:  # before the default is trained: its shape with random weights
        default_weights, default_config = None, LMMConfig()
    config = LMMConfig(**{**default_config.to_dict(), "context": CONTEXT})
    default = LMM(config)
    if default_weights is not None:
        default.load_state_dict(default_weights)
    big = LMM(LMMConfig(n_layer=8, n_head=8, n_embd=320, context=CONTEXT))
    return {"default": default.to(device).eval(), "10M": big.to(device).eval()}


def peak_memory_mb(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_kv(model: LMM, batch: int, steps: int, device, step_mode: str = "dynamic") -> dict:
    """KV-cached steps of ``batch`` streams at the model's own context, the cache re-fill
    (half the context) amortised over the steps between two re-fills; ``tokens``: every
    step's draws (to compare step modes)."""
    context = model.config.context
    gen = BatchedGenerator(model, seed=0, step_mode=step_mode)
    tokens, cond = random_inputs(model, batch, context, device)
    token = gen.prime(tokens, cond, keep=context - steps)  # steps end exactly at the context
    step_cond = ConditionTensors(*(x[:, -1:] for x in (cond.book, cond.time_of_day, cond.change,
                                                 cond.source)))
    drawn = [gen.step(token, step_cond)]  # warm-up (and, for a CUDA graph, its capture)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps - 1):
        drawn.append(gen.step(drawn[-1], step_cond))
    synchronize(device)
    per_step = (time.perf_counter() - start) / (steps - 1)
    start = time.perf_counter()
    gen.step(drawn[-1], step_cond)  # the cache is full: re-fill half the context, then step
    synchronize(device)
    refill = time.perf_counter() - start - per_step
    amortised = per_step + refill / (context // 2)
    return {"step_s": per_step, "refill_s": refill, "amortised_s_per_step": amortised,
            "orders_per_s": batch / amortised, "tokens": torch.stack(drawn).cpu()}


def bench_variants(model: LMM, batch: int, steps: int, device, default: dict,
                   step_modes: list[str], precisions: list[str]) -> dict:
    """The KV-cached step in every other (step mode, precision), against the default's."""
    rows = {}
    for precision in precisions:
        cast = model if precision == "float32" else copy.deepcopy(model).to(
            dtype=resolve_precision(precision))
        dynamic = default["tokens"] if precision == "float32" else None
        for mode in ["dynamic", *(m for m in step_modes if m != "dynamic")]:
            if (mode, precision) == ("dynamic", "float32"):
                continue
            result = bench_kv(cast, batch, steps, device, mode)
            drawn = result.pop("tokens")
            if mode == "dynamic":
                dynamic = drawn
            else:
                result["same_tokens"] = bool(torch.equal(drawn, dynamic))
            result["speed_vs_default"] = (default["amortised_s_per_step"]
                                          / result["amortised_s_per_step"])
            rows[f"{mode}/{precision}"] = result
    return rows


def bench_mars_style(model: LMM, batch: int, steps: int, device, estimate: float | None,
                     max_step_s: float) -> dict:
    if estimate is not None and estimate > max_step_s:
        return {"skipped": f"estimated {estimate:.1f} s per step > --max-step-s {max_step_s}",
                "step_s_estimate": estimate}
    gen = FullRecomputeGenerator(model, seed=0)
    tokens, cond = random_inputs(model, batch, CONTEXT, device)
    token = gen.prime(tokens, cond)
    step_cond = ConditionTensors(*(x[:, -1:] for x in (cond.book, cond.time_of_day, cond.change,
                                                 cond.source)))
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        token = gen.step(token, step_cond)
    synchronize(device)
    per_step = (time.perf_counter() - start) / steps
    return {"step_s": per_step, "orders_per_s": batch / per_step}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=16, help="KV-cached steps per case")
    parser.add_argument("--mars-steps", type=int, default=2, help="MarS-style steps per case")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 256])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-step-s", type=float, default=60.0)
    parser.add_argument("--step-modes", nargs="+", choices=STEP_MODES, default=None,
                        help="step modes measured (default: all that run on the device)")
    parser.add_argument("--precisions", nargs="+", choices=PRECISIONS,
                        default=["float32", "bfloat16"])
    parser.add_argument("--variant-max-batch", type=int, default=None,
                        help="measure the variants up to this batch (default: every batch on "
                             "CUDA, 16 on a CPU, where bfloat16 is emulated and slow)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    step_modes = args.step_modes or [m for m in STEP_MODES
                                     if m != "cuda_graph" or device.type == "cuda"]
    variant_max_batch = args.variant_max_batch or (max(args.batches) if device.type == "cuda"
                                                   else 16)
    torch.manual_seed(0)
    results = {}
    for name, model in models(device).items():
        rows, previous = {}, None
        for batch in sorted(args.batches):
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            kv = bench_kv(model, batch, args.steps, device)
            variants = (bench_variants(model, batch, args.steps, device, kv, step_modes,
                                       args.precisions) if batch <= variant_max_batch else {})
            kv.pop("tokens")
            estimate = None if previous is None else previous[1] * batch / previous[0]
            mars = bench_mars_style(model, batch, args.mars_steps, device, estimate,
                                    args.max_step_s)
            if "step_s" in mars:
                previous = (batch, mars["step_s"])
            rows[str(batch)] = {
                "kv": kv, "variants": variants, "mars_style": mars,
                "speedup": (mars["step_s"] / kv["amortised_s_per_step"]
                            if "step_s" in mars else None),
                "peak_memory_mb": peak_memory_mb(device)}
        results[name] = {"params": model.n_params(), "context": CONTEXT, "batches": rows}
    speedups = [row["speedup"] for r in results.values() for row in r["batches"].values()
                if row["speedup"] is not None]
    emit({"benchmark": "bench_lmm", "results": results,
          "targets": {"kv_ge_20x_mars_style_per_order": bool(speedups) and min(speedups) >= 20,
                      "min_speedup": min(speedups) if speedups else None},
          "machine": machine(str(device))}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
