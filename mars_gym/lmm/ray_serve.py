"""The generation service over Ray Serve, for many processes or machines (``pip install .[serve]``).

:class:`LMMDeployment` wraps one :class:`~mars_gym.lmm.serve.GeneratorService` (on CUDA when the
replica has one). ``step`` calls arriving together from any number of clients are gathered by
``@serve.batch`` (dynamic batching: up to ``max_batch_size`` requests, waiting at most
``batch_wait_timeout_s``) and served by one batched forward pass. Conditions travel as plain
lists: ``{"book": [10 floats], "time_of_day": int, "change": int, "source": int}``.

``mars-gym serve [--checkpoint default] [--capacity 256]`` starts a local Ray instance and the
deployment and blocks; clients use ``serve.get_app_handle("mars_gym_lmm")``.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from ray import serve

from mars_gym.lmm.checkpoint import load_lmm
from mars_gym.lmm.model import Conditions
from mars_gym.lmm.serve import GeneratorService

APP_NAME = "mars_gym_lmm"


def conditions(rows: list[dict]) -> Conditions:
    """(n, 1 … t) model conditions from plain per-position dictionaries of one stream."""
    return Conditions(torch.tensor([[r["book"] for r in rows]], dtype=torch.float32),
                      torch.tensor([[r["time_of_day"] for r in rows]]),
                      torch.tensor([[r["change"] for r in rows]]),
                      torch.tensor([[r["source"] for r in rows]]))


@serve.deployment
class LMMDeployment:
    def __init__(self, checkpoint: str = "default", capacity: int = 256,
                 temperature: float = 1.0, top_k: int | None = None, seed: int = 0,
                 device: str = "auto") -> None:
        model, _ = load_lmm(checkpoint)
        self.service = GeneratorService(model, capacity, temperature, top_k, seed, device)

    async def open(self, tokens: list[int], rows: list[dict],
                   key: int | None = None) -> tuple[int, int]:
        """Start a stream from a history; ``(stream, first_token)`` (``key``: as in
        :meth:`GeneratorService.open`)."""
        return self.service.open(torch.tensor([tokens]), conditions(rows), key=key)

    async def close(self, stream: int) -> None:
        self.service.close(stream)

    @serve.batch(max_batch_size=256, batch_wait_timeout_s=0.002)
    async def step(self, requests: list[tuple[int, int, dict]]) -> list[int]:
        """Batched: each request is ``(stream, last_token, live_conditions)``."""
        for stream, token, row in requests:
            self.service.submit(stream, token, conditions([row]))
        served = self.service.run()
        return [served[stream] for stream, _, _ in requests]

    async def rounds(self) -> int:
        """Batched forward passes run so far."""
        return self.service.rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mars-gym serve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--capacity", type=int, default=256)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    serve.run(LMMDeployment.bind(args.checkpoint, args.capacity, args.temperature, args.top_k,
                                 0, args.device), name=APP_NAME)
    print(f"serving {args.checkpoint} as Ray Serve app {APP_NAME!r}; Ctrl-C to stop",
          flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        serve.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
