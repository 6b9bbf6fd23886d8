"""Names of the generation options, importable without torch (command-line parsers read them).

``STEP_MODES``: how a batched generation step runs (:mod:`mars_gym.lmm.generate`).
``PRECISIONS``: the dtype generation casts the model to (:mod:`mars_gym.lmm.serve`).
``LOOPBACK``: the address a server binds to unless told otherwise (this machine only).
:class:`ServeConfig`: what the Ray Serve deployment serves, and where
(:func:`mars_gym.lmm.ray_serve.start`, ``mars-gym serve``).
"""

from __future__ import annotations

from dataclasses import dataclass

STEP_MODES = ("dynamic", "static", "cuda_graph")
PRECISIONS = ("float32", "bfloat16", "float16")
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ServeConfig:
    """The generation service over Ray Serve (:func:`mars_gym.lmm.ray_serve.start`)."""

    checkpoint: str = "default"   # a checkpoint path or name
    capacity: int = 256           # streams generated together in one batch
    temperature: float = 1.0
    top_k: int | None = None
    device: str = "auto"
    precision: str = "float32"    # the model's dtype while generating (PRECISIONS)
    step_mode: str = "dynamic"    # how a round's forward runs (STEP_MODES)
    host: str = LOOPBACK          # the address Ray and the HTTP proxy bind to
    port: int = 8000              # the HTTP proxy's port
    max_streams_per_owner: int | None = 32  # streams one client may hold at once (None: any)
    idle_timeout: float | None = 600.0      # seconds unused before a stream is closed (None: never)

    @property
    def max_ongoing_requests(self) -> int:
        """Requests a replica takes at once: two rounds' worth (one being served, the next
        gathering), so a round can fill to ``capacity`` (Ray's default, 5, caps it at 5)."""
        return 2 * self.capacity
