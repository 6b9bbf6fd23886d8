"""The simulator against the engine under it and the model in it, measured in one run.

Prints one JSON object (``--out``: also a file) with

* ``engine``: lob_core's own rate through its Python API on a mixed order flow (orders/s,
  the flow of ``benchmarks.bench_lob``);
* ``flows``: background orders per second of ``MarS-Execution-v0`` on the embedded default
  market for each model-free flow (one env), and its ratio to the engine's rate — the
  simulator's cost per order in units of the engine's; and ``simulator``: the env's own
  simulator run on for ``--sim-minutes`` without an agent (the per-order path alone: draws,
  matching, recording, counting; no env steps or resets);
* ``lmm``: the LMM vector env at ``--batch`` envs (with its generation rounds and the streams
  each served) stepped together through ``step`` (the Gymnasium API: every simulation waits
  at each decision for the busiest) and running ``--play-episodes`` episodes through ``play``
  (the studies' path: each simulation goes on to its next decision and episode at once),
  against pure batched generation of the same model at the same batch and its own context
  (``benchmarks.bench_lmm``'s KV-cached step over one whole re-fill cycle — streams from half
  the context to all of it, the lengths a generating stream cycles through — the re-fill
  amortised; timed just before and just after each env measurement, which is divided by their
  mean), and their ratios, all on the same device (CUDA
  when present) with the same ``--precision`` and ``--step-mode``; and what a round costs against
  the streams it serves (:func:`round_cost`), with the share of the env's time that the
  rounds' fixed part takes;
* ``targets``: model-free flows >= 700 k orders/s (noise, hawkes) and >= 1.4 M (replay); the
  LMM vector env >= 70 % of pure generation (stepped, and played).

Usage: ``python -m benchmarks.bench_sim [--horizon-s 120] [--batch 64] [--play-episodes 256]
[--skip-lmm] [--precision float32] [--step-mode dynamic]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from benchmarks.bench_env import bench_play, bench_vector, flow_orders
from benchmarks.bench_lmm import bench_kv, random_inputs, synchronize
from benchmarks.bench_lob import best_time, drive, make_flow
from benchmarks.common import emit, machine
from lob_core import OrderBook
from mars_gym.lmm.checkpoint import load_lmm
from mars_gym.lmm.generate import BatchedGenerator
from mars_gym.lmm.model import ConditionTensors
from mars_gym.lmm.options import PRECISIONS, STEP_MODES
from mars_gym.lmm.serve import resolve_device, resolve_precision

MODEL_FREE = ("replay", "noise", "hawkes")
TARGET_ORDERS_PER_S = {"replay": 1_400_000, "noise": 700_000, "hawkes": 700_000}
TARGET_LMM_SHARE = 0.7


def env_rate(flow: str, args) -> dict:
    """Background orders per second of one ``MarS-Execution-v0`` over ``args.episodes``
    episodes, after one untimed episode (a flow's one-time work per process — calibration,
    parsing the source — is not a cost per order); resets are timed apart."""
    env = gym.make("MarS-Execution-v0", flow=flow, horizon_s=args.horizon_s, step_s=args.step_s)
    reset_s = run_s = 0.0
    orders = 0
    for episode in range(args.episodes + 1):
        started = time.perf_counter()
        env.reset(seed=episode)
        reset_time = time.perf_counter() - started
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(np.array([5, 1]))
            done = terminated or truncated
        if episode:  # the first is the warm-up
            reset_s += reset_time
            run_s += time.perf_counter() - started - reset_time
            orders += flow_orders(env)
    return {"orders_per_s": orders / (reset_s + run_s), "orders_per_s_without_resets":
            orders / run_s, "reset_s": reset_s / args.episodes, "orders": orders}


def simulator_rate(flow: str, minutes: float) -> dict:
    """Background orders per second of the env's simulator run on alone after a reset."""
    env = gym.make("MarS-Execution-v0", flow=flow, horizon_s=60.0, step_s=10.0).unwrapped
    env.reset(seed=0)
    sim = env.sim
    first_id, started = sim.next_flow_id, time.perf_counter()
    sim.run_until(sim.now + int(minutes * 60e9))
    seconds = time.perf_counter() - started
    orders = sim.next_flow_id - first_id
    return {"orders_per_s": orders / seconds, "orders": orders, "simulated_minutes": minutes}


def round_cost(model, batch: int, device, step_mode: str, sizes=(1, 4, 16, 64),
               steps: int = 15) -> dict:
    """A generation round's cost against the streams it serves: ``batch`` streams holding
    different lengths (320-410 positions, mid-cycle) and ``n`` of them advancing, timed at each
    ``n`` of ``sizes``; a least-squares line through the medians gives the cost every round pays
    (``fixed_s``) and each stream's (``per_stream_s``)."""
    context = model.config.context
    gen = BatchedGenerator(model, seed=0, step_mode=step_mode)
    tokens, cond = random_inputs(model, batch, context, device)
    token = gen.prime(tokens, cond, keep=context * 5 // 8)
    step_cond = ConditionTensors(*(x[:, -1:] for x in (cond.book, cond.time_of_day, cond.change,
                                                       cond.source)))
    draw = torch.Generator().manual_seed(0)

    def some(n: int) -> torch.Tensor:
        active = torch.zeros(batch, dtype=torch.bool)
        active[torch.randperm(batch, generator=draw)[:n]] = True
        return active

    for _ in range(32):  # half the streams at a time: the lengths spread
        token = gen.step(token, step_cond, some(batch // 2))
    medians = {}
    for n in sizes:
        times = []
        for _ in range(steps):
            active = some(n)
            synchronize(device)
            start = time.perf_counter()
            token = gen.step(token, step_cond, active)
            synchronize(device)
            times.append(time.perf_counter() - start)
        medians[n] = float(np.median(times))
    per_stream, fixed = np.polyfit(list(medians), list(medians.values()), 1)
    return {"fixed_s": float(fixed), "per_stream_s": float(per_stream),
            "step_s_by_streams": {str(n): t for n, t in medians.items()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizon-s", type=float, default=120.0,
                        help="episode length of the env measurements")
    parser.add_argument("--step-s", type=float, default=10.0)
    parser.add_argument("--episodes", type=int, default=2, help="episodes per flow (one env)")
    parser.add_argument("--engine-orders", type=int, default=300_000)
    parser.add_argument("--sim-minutes", type=float, default=50.0,
                        help="simulated minutes of the simulator-alone measurement")
    parser.add_argument("--batch", type=int, default=64, help="LMM envs = generation batch")
    parser.add_argument("--play-episodes", type=int, default=256,
                        help="episodes of the LMM vector env's play() measurement")
    parser.add_argument("--skip-lmm", action="store_true")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS,
                        help="the LMM's dtype while generating")
    parser.add_argument("--step-mode", default=None, choices=STEP_MODES,
                        help="the LMM's step (default: cuda_graph on a GPU, else dynamic)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # one core per simulation, as the envs are run
    flow = make_flow(args.engine_orders)
    engine = len(flow) / best_time(lambda: drive(OrderBook(1), flow), 3)
    flows = {}
    for name in MODEL_FREE:
        measured = env_rate(name, args)
        alone = simulator_rate(name, args.sim_minutes)
        flows[name] = {**measured, "engine_over_env": engine / measured["orders_per_s"],
                       "simulator": {**alone,
                                     "engine_over_simulator": engine / alone["orders_per_s"]}}
    result = {"benchmark": "bench_sim", "machine": machine(), "torch_threads": 1,
              "horizon_s": args.horizon_s, "engine": {"orders_per_s": engine}, "flows": flows,
              "targets": {f"{name}_ge_{target:,}_per_s": flows[name]["orders_per_s"] >= target
                          for name, target in TARGET_ORDERS_PER_S.items()}}
    if not args.skip_lmm:
        device = resolve_device("auto")  # where the vector env's service generates
        step_mode = args.step_mode or ("cuda_graph" if device.type == "cuda" else "dynamic")
        generation = {"precision": args.precision, "step_mode": step_mode}
        lmm_args = argparse.Namespace(horizon_s=60.0, step_s=args.step_s, episodes=1)
        model = load_lmm("default")[0].eval()  # the env's model, at its own context
        model = model.to(device, resolve_precision(args.precision))

        def generation_rate() -> dict:
            # steady state: a step's cost grows with what the streams hold, half to all of it
            pure = bench_kv(model, args.batch, model.config.context // 2, device, step_mode)
            pure.pop("tokens")
            return pure

        # pure generation just before and just after each env measurement, which is compared
        # with their mean: a shared machine's speed drifts over minutes
        pure = [generation_rate()]
        vector = bench_vector("lmm", args.batch, lmm_args, generation)
        pure.append(generation_rate())
        played = bench_play("lmm", args.batch, args.play_episodes, lmm_args, generation)
        pure.append(generation_rate())
        rates = [run["orders_per_s"] for run in pure]
        share = vector["orders_per_s_last_episode_estimate"] / float(np.mean(rates[:2]))
        play_share = played["orders_per_s"] / float(np.mean(rates[1:]))
        rounds = round_cost(model, args.batch, device, step_mode)
        gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
        result["lmm"] = {"batch": args.batch, "device": str(device), "gpu": gpu,
                         "generation": generation,
                         "vector_env": vector, "vector_env_play": played,
                         # before the stepped env, between the two, after the played one
                         "pure_generation": pure,
                         "vector_env_over_pure_generation": share,
                         "vector_env_play_over_pure_generation": play_share,
                         # the env's rounds serve fewer streams than pure generation's: what
                         # that costs, as the share of the env's time its rounds' fixed part is
                         "round_cost": rounds,
                         "round_fixed_share_of_vector_env": (
                             vector["rounds"] * rounds["fixed_s"] / vector["seconds"])}
        result["targets"][f"lmm_vector_ge_{TARGET_LMM_SHARE:.0%}_of_generation"] = (
            share >= TARGET_LMM_SHARE)
        result["targets"][f"lmm_vector_play_ge_{TARGET_LMM_SHARE:.0%}_of_generation"] = (
            play_share >= TARGET_LMM_SHARE)
    emit(result, args.out)


if __name__ == "__main__":
    main()
