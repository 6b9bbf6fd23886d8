"""An in-process generation service: many simulations, one batched forward per round.

Simulations ``open`` a stream (primed with their own history), then each round ``submit`` the
order they just applied together with the conditions of their live book; ``run`` serves every
stream submitted since the last round with one batched forward pass and returns each one's
next token. Streams that did not submit keep their state. The service runs on CUDA when one is
present (``device="auto"``), else on the CPU.

The same interface is offered over Ray Serve for several processes or machines
(:mod:`mars_gym.lmm.ray_serve`, ``pip install .[serve]``).
"""

from __future__ import annotations

import torch

from mars_gym.lmm.generate import BatchedGenerator
from mars_gym.lmm.model import LMM, Conditions


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class GeneratorService:
    """Batched token generation for up to ``capacity`` concurrent streams."""

    def __init__(self, model: LMM, capacity: int, temperature: float = 1.0,
                 top_k: int | None = None, seed: int = 0,
                 device: str | torch.device = "auto") -> None:
        self.device = resolve_device(device)
        self.generator = BatchedGenerator(model.to(self.device), temperature=temperature,
                                          top_k=top_k, seed=seed)
        self.generator.allocate(capacity)
        self.free = list(range(capacity - 1, -1, -1))
        self.pending: dict[int, tuple[int, Conditions, list | None]] = {}
        self.rounds = 0

    @property
    def capacity(self) -> int:
        return self.generator.streams

    def open(self, tokens: torch.Tensor, cond: Conditions, bias=None,
             key: int | None = None) -> tuple[int, int]:
        """Start a stream from a history (1, n); return ``(stream, first_token)`` (``bias``:
        of the first token's parts, as in :meth:`submit`; ``key``: names the stream's sampling
        noise, so a simulation seeded alike draws alike in any slot; default: the slot)."""
        if not self.free:
            raise RuntimeError(f"all {self.capacity} streams are in use; close one first")
        stream = self.free.pop()
        first = self.generator.prime(tokens, cond, streams=[stream], bias=bias,
                                     keys=None if key is None else [key])
        return stream, int(first[0])

    def close(self, stream: int) -> None:
        self._check(stream)
        self.pending.pop(stream, None)
        self.free.append(stream)

    def _check(self, stream: int) -> None:
        if not 0 <= stream < self.capacity or stream in self.free:
            raise KeyError(f"stream {stream} is not open")

    def submit(self, stream: int, token: int, cond: Conditions, bias=None) -> None:
        """Queue the token a stream just applied, its live conditions (1, 1) and optionally
        biases of its next token's parts (plan guidance: :meth:`LMM.sample`, batch of 1)."""
        self._check(stream)
        if stream in self.pending:
            raise RuntimeError(f"stream {stream} already submitted this round")
        self.pending[stream] = (int(token), cond, bias)

    def withdraw(self, stream: int) -> None:
        """The stream's last token was not used (an agent's order came first, see
        :meth:`mars_gym.sim.flows.lmm.LMMFlow.observe`): its next draw reuses that noise."""
        self._check(stream)
        self.generator.noise.withdraw([stream])

    def run(self) -> dict[int, int]:
        """One batched forward for every submitted stream; their next tokens."""
        if not self.pending:
            return {}
        n = self.capacity
        tokens = torch.zeros(n, dtype=torch.long)
        active = torch.zeros(n, dtype=torch.bool)
        book = torch.zeros(n, 1, 10)
        time_of_day, change, source = (torch.zeros(n, 1, dtype=torch.long) for _ in range(3))
        planned = self.generator.model.config.plan_features
        plan = torch.zeros(n, 1, planned) if planned else None
        biased = [bias for _, _, bias in self.pending.values() if bias is not None]
        bias = (None if not biased else
                [torch.zeros(n, *part.shape[1:]) for part in biased[0]])  # no bias: zeros
        for stream, (token, cond, stream_bias) in self.pending.items():
            tokens[stream], active[stream] = token, True
            book[stream], time_of_day[stream] = cond.book[0], cond.time_of_day[0]
            change[stream], source[stream] = cond.change[0], cond.source[0]
            if planned:
                plan[stream] = cond.plan[0]
            if stream_bias is not None:
                for part, value in zip(bias, stream_bias):
                    part[stream] = value[0]
        out = self.generator.step(tokens, Conditions(book, time_of_day, change, source, plan),
                                  active, bias)
        served = {stream: int(out[stream]) for stream in self.pending}
        self.pending.clear()
        self.rounds += 1
        return served
