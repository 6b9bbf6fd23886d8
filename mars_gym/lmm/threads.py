"""How many CPU threads torch uses where the LMM generates.

Torch's default (one intra-op thread per core) is a poor fit for the small model's batch
steps: each step is a few small matrix products, and on a busy 2-core machine the threads wait
for each other. Measured with two CPU burners beside the run (the shipped default model, one
KV-cached step): 1 stream 7.2 ms with 1 thread vs 34 ms with 2, 8 streams 8.1 vs 37 ms,
64 streams 20 vs 56 ms. So generation on the CPU runs with one thread up to
:data:`SINGLE_THREAD_STREAMS` streams and with torch's setting above; the environment variable
``MARS_GYM_GENERATION_THREADS`` overrides both. Training and everything else keep torch's
setting.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

THREADS_ENV = "MARS_GYM_GENERATION_THREADS"
SINGLE_THREAD_STREAMS = 64


def generation_threads(streams: int) -> int | None:
    """Threads for a CPU generation step over ``streams`` streams (None: torch's setting)."""
    configured = os.environ.get(THREADS_ENV)
    if configured:
        try:
            threads = int(configured)
        except ValueError:
            threads = 0
        if threads < 1:
            raise ValueError(f"{THREADS_ENV} must be a positive integer, got {configured!r}")
        return threads
    return 1 if streams <= SINGLE_THREAD_STREAMS else None


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` intra-op threads (None: unchanged), then restore."""
    previous = torch.get_num_threads()
    if threads is None or threads == previous:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def with_generation_threads(method):
    """Run a generator's ``method(tokens, ...)`` under :func:`generation_threads` of its
    streams (``self.streams``, else the tokens' rows), on the CPU."""
    @functools.wraps(method)
    def wrapped(self, tokens, *args, **kwargs):
        if self.device.type != "cpu":
            return method(self, tokens, *args, **kwargs)
        streams = getattr(self, "streams", None) or len(tokens)
        with torch_threads(generation_threads(streams)):
            return method(self, tokens, *args, **kwargs)
    return wrapped
