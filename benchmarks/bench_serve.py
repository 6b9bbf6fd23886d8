"""Latency and throughput of the Ray Serve deployment under concurrent clients.

``--clients`` threads each open a stream and send ``--steps`` ``step`` requests one after
another through the app's handle (as separate simulations would); the deployment runs on a
local Ray instance on the CPU with the shipped default model. It runs once with Ray's default
``max_ongoing_requests`` (5) and once with the value :class:`~mars_gym.lmm.options.ServeConfig`
sets from the capacity, and reports for each the per-request latency (p50, p99), requests per
second and requests served per batched forward.

Usage: ``python -m benchmarks.bench_serve [--clients 32] [--steps 20]
[--out benchmarks/results/serve/bench_serve_cpu.json]``
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.common import emit, machine
from mars_gym.lmm.options import LOOPBACK, ServeConfig

RAY_DEFAULT_MAX_ONGOING_REQUESTS = 5


def drive(handle, clients: int, steps: int, row: dict) -> dict:
    """Run ``clients`` threads of ``steps`` requests each; latency and throughput."""
    latencies: list[float] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        owner = f"bench-client-{number:04d}"
        stream, token = handle.open.remote([5, 6, 7, 8], [row] * 4, owner).result()
        mine = []
        for _ in range(steps):
            started = time.perf_counter()
            token = handle.step.remote((stream, token, row, owner)).result()
            mine.append(time.perf_counter() - started)
        handle.close.remote(stream, owner).result()
        with lock:
            latencies.extend(mine)

    rounds = handle.rounds.remote().result()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    rounds = handle.rounds.remote().result() - rounds
    return {"p50_s": float(np.percentile(latencies, 50)),
            "p99_s": float(np.percentile(latencies, 99)),
            "requests_per_s": len(latencies) / wall,
            "requests_per_round": len(latencies) / max(rounds, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--capacity", type=int, default=64)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    import ray
    from ray import serve

    from mars_gym.lmm.checkpoint import load_lmm
    from mars_gym.lmm.ray_serve import start

    row = {"book": [0.5] * load_lmm("default")[0].config.book_features,
           "time_of_day": 7_000, "change": 200, "source": 0}
    config = ServeConfig(capacity=args.capacity, device="cpu", host=LOOPBACK,
                         max_streams_per_owner=None)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             _node_ip_address=LOOPBACK)
    try:
        runs = {}
        for name, limit in (("ray_default", RAY_DEFAULT_MAX_ONGOING_REQUESTS),
                            ("from_capacity", config.max_ongoing_requests)):
            handle = start(config, max_ongoing_requests=limit)
            drive(handle, 2, 2, row)  # warm-up
            runs[name] = {"max_ongoing_requests": limit,
                          **drive(handle, args.clients, args.steps, row)}
    finally:
        serve.shutdown()
        ray.shutdown()
    emit({"metric": "step latency and throughput over Ray Serve", "unit": "s, requests/s",
          "clients": args.clients, "steps": args.steps, "capacity": args.capacity,
          "runs": runs, "machine": machine("cpu")}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
