"""Speed of MarS-Execution-v0 per background flow, single and vectorised, on this machine.

Prints one JSON object. For each flow: env steps/s and simulated background orders/s of one
env, and of the vector env ``gym.make_vec(..., num_envs=N)`` (``--num-envs``; with the LMM one
batched forward serves every simulation per generation round); for the LMM also the
MarS-style loop (the same model recomputing its whole window for every order, one env) and the
ratio of the best LMM vector-env rate to it (on a GPU the LMM vector envs generate there, with
the CUDA-graph step, and ``machine.gpu`` names it). Episodes are ``--horizon-s`` long with a
decision every ``--step-s``; each rate is measured over ``--episodes`` episodes per env.

Usage: ``python -m benchmarks.bench_env [--num-envs 1 8 64] [--episodes 2] [--out FILE]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

import mars_gym  # noqa: F401  registers the environments
from benchmarks.common import emit, machine
from mars_gym.lmm.generate import FullRecomputeGenerator
from mars_gym.sim.flow_names import FLOWS
from mars_gym.sim.flows import make_flow
from mars_gym.sim.flows.lmm import OwnGeneration
from mars_gym.sim.flows.registry import flow_checkpoint
from mars_gym.sim.ids import FIRST_FLOW_ORDER_ID


def flow_orders(env) -> int:
    return env.unwrapped.sim.next_flow_id - FIRST_FLOW_ORDER_ID


class MarsStyleGeneration(OwnGeneration):
    """The MarS-style loop: the LMM recomputes its whole window for every order (no KV
    cache)."""

    def new_generator(self) -> FullRecomputeGenerator:
        return FullRecomputeGenerator(self.model, temperature=self.temperature, top_k=self.top_k)


def mars_style_lmm(source: str, start: int, data_dir=None):
    """The ``lmm`` flow drawing through the MarS-style loop: the baseline of the speed-up."""
    flow = make_flow("lmm", source, start, data_dir)
    flow.generation = MarsStyleGeneration(flow.model)
    return flow


def bench_single(flow, args, **kwargs) -> dict:
    env = gym.make("MarS-Execution-v0", flow=flow, horizon_s=args.horizon_s, step_s=args.step_s,
                   **kwargs)
    steps = orders = 0
    start = time.perf_counter()
    for episode in range(args.episodes):
        env.reset(seed=episode)
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(np.array([5, 1]))
            steps += 1
            done = terminated or truncated
        orders += flow_orders(env)
    seconds = time.perf_counter() - start
    return {"steps_per_s": steps / seconds, "orders_per_s": orders / seconds, "steps": steps}


def bench_vector(flow: str, n: int, args, generation: dict | None = None) -> dict:
    """``generation``: the LMM service's options (:class:`mars_gym.envs.vector.ScenarioVectorEnv`;
    LMM flows only)."""
    envs = gym.make_vec("MarS-Execution-v0", num_envs=n, flow=flow,
                        horizon_s=args.horizon_s, step_s=args.step_s, generation=generation)
    decisions = int(np.ceil(args.horizon_s / args.step_s))
    service = envs.unwrapped.service  # the LMM flows' batched generator (None: model-free)
    start = time.perf_counter()
    for episode in range(args.episodes):
        envs.reset(seed=episode)
        for _ in range(decisions):  # every copy decides at the same times; auto-reset after
            envs.step(np.tile([5, 1], (n, 1)))
    seconds = time.perf_counter() - start
    orders = sum(flow_orders(env) for env in envs.envs)  # the last episode's, per copy
    return {"num_envs": n, "steps_per_s": n * decisions * args.episodes / seconds,
            "orders_per_s_last_episode_estimate": orders * args.episodes / seconds,
            "seconds": seconds, **round_stats(service)}


def round_stats(service) -> dict:
    """The generation rounds an LMM vector env ran (one forward for the streams waiting in
    each) and the streams each served; nothing for a model-free flow (no service)."""
    if service is None:
        return {}
    return {"rounds": service.rounds,
            "streams_per_round": service.tokens_served / max(service.rounds, 1)}


def bench_play(flow: str, n: int, episodes: int, args, generation: dict | None = None) -> dict:
    """``episodes`` whole episodes through the vector env's ``play`` on ``n`` envs (each
    simulation takes its next decision and its next episode without waiting for the others),
    the same constant action as :func:`bench_vector`."""
    envs = gym.make_vec("MarS-Execution-v0", num_envs=n, flow=flow,
                        horizon_s=args.horizon_s, step_s=args.step_s, generation=generation)
    service = envs.unwrapped.service
    orders = 0
    start = time.perf_counter()
    for *_, env, _, _ in envs.play([{"seed": k} for k in range(episodes)],
                                   lambda env: lambda obs, info: np.array([5, 1])):
        orders += flow_orders(env)
    seconds = time.perf_counter() - start
    return {"num_envs": n, "episodes": episodes, "orders_per_s": orders / seconds,
            "seconds": seconds, **round_stats(service)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--episodes", type=int, default=2)
    parser.add_argument("--horizon-s", type=float, default=60.0)
    parser.add_argument("--step-s", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    results = {}
    generation = {"step_mode": "cuda_graph"} if torch.cuda.is_available() else None
    for flow in FLOWS:
        row = {"single": bench_single(flow, args), "vector": []}
        for n in args.num_envs:
            row["vector"].append(bench_vector(flow, n, args, generation
                                              if flow_checkpoint(flow) else None))
        results[flow] = row
    baseline = bench_single(mars_style_lmm, args)
    best = max(v["steps_per_s"] for v in results["lmm"]["vector"])
    emit({"benchmark": "bench_env", "horizon_s": args.horizon_s, "step_s": args.step_s,
          "episodes": args.episodes, "results": results,
          "mars_style_lmm_single": baseline,
          "lmm_vector_best_over_mars_style": best / baseline["steps_per_s"],
          "targets": {"lmm_vector_ge_10x_mars_style": best / baseline["steps_per_s"] >= 10},
          "lmm_vector_generation": generation,
          "machine": machine("cuda" if torch.cuda.is_available() else "cpu")}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
