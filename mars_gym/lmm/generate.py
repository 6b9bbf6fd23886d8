"""Generating order tokens for many independent streams at once.

:class:`BatchedGenerator` serves S streams with one KV cache. A step runs one forward pass of
one new position for every stream (those not ``active`` this round keep their state), so B
simulations cost one batched call. Streams start, restart and re-fill independently: each has
its own length. When a stream's cache reaches the context length, the most recent half of it
is kept and re-filled in one block forward (amortised: once per ``context / 2`` steps). Each
step takes the conditions of the *live* book, so whatever changed it — other agents
included — steers the next order.

:class:`FullRecomputeGenerator` is the MarS-style loop: for every new order it recomputes the
whole window of each stream's last ``context`` positions. It is the reference in tests and the
denominator of the speed ratio in ``benchmarks/bench_lmm.py``.

A step runs in one of three step modes (``step_mode``), all giving the same tokens:
``"dynamic"`` (the default; on a CPU the advancing streams' forward runs alone, one small
attention per stream over exactly what it holds, unless most streams advance at one length:
then one step over all of them with plain slices; on an accelerator one masked step over all
streams unless few advance — see ``ROWS_STEP_SHARE``), ``"static"``
(every step has the same shapes: attention over the whole cache, masked;
:meth:`LMM.decode_step`) and ``"cuda_graph"`` (the static step captured once as a CUDA graph
and replayed, which removes the launch cost of the many small kernels of a small model's step;
CUDA only).

Both draw with counter-based noise (keyed draws, :mod:`mars_gym.lmm.keyed_draws`): a stream's
tokens depend on the generator's ``seed``, the stream's key (its row unless ``prime`` names
one) and its own inputs only, whatever else shares the batch.
``prime`` and ``step`` take an optional per-stream ``bias`` of the token parts' logits (plan
guidance, :mod:`mars_gym.ensemble.tilt`).
"""

from __future__ import annotations

import torch

from mars_gym.lmm.keyed_draws import StreamNoise
from mars_gym.lmm.model import CONDITION_FIELDS, LMM, ConditionTensors, KVCache
from mars_gym.lmm.options import STEP_MODES
from mars_gym.lmm.threads import with_generation_threads
from mars_gym.tokens.conditions import BOOK_FEATURES


class _History:
    """Per-stream token and condition buffers aligned with cache positions."""

    def __init__(self, streams: int, context: int, device, plan_features: int = 0,
                 book_features: int = BOOK_FEATURES) -> None:
        self.tokens = torch.zeros(streams, context, dtype=torch.long, device=device)
        self.book = torch.zeros(streams, context, book_features, device=device)
        self.time_of_day = torch.zeros(streams, context, dtype=torch.long, device=device)
        self.change = torch.zeros(streams, context, dtype=torch.long, device=device)
        self.source = torch.zeros(streams, context, dtype=torch.long, device=device)
        self.plan = (torch.zeros(streams, context, plan_features, device=device)
                     if plan_features else None)
        self.fields = CONDITION_FIELDS if plan_features else CONDITION_FIELDS[:-1]

    def write(self, rows, start: int, tokens: torch.Tensor, cond: ConditionTensors) -> None:
        n = tokens.shape[1]
        self.tokens[rows, start:start + n] = tokens
        for field in self.fields:
            getattr(self, field)[rows, start:start + n] = getattr(cond, field)

    def write_at(self, positions: torch.Tensor, tokens: torch.Tensor,
                 cond: ConditionTensors, rows=None) -> None:
        """One position per stream of ``rows`` (default: all, in order)."""
        rows = torch.arange(len(positions), device=positions.device) if rows is None else rows
        self.tokens[rows, positions] = tokens
        for field in self.fields:
            getattr(self, field)[rows, positions] = getattr(cond, field)[:, 0]

    def window(self, row: int, start: int, stop: int) -> tuple[torch.Tensor, ConditionTensors]:
        return (self.tokens[row:row + 1, start:stop],
                ConditionTensors(*(getattr(self, f)[row:row + 1, start:stop] for f in self.fields)))


# A dynamic step runs the advancing streams' forward alone, one small attention per stream
# (each reads only the positions it holds), unless more than this share advances and the
# step's one batched attention reads no more than they need: on a CPU, every stream at one
# length (plain slices); on an accelerator, always (one kernel against one per stream). The
# default model on a CPU, 64 streams: holding 256-500 positions, 64 one by one cost 18.6 ms a
# step, a masked step over all 64 19.0, 16 one by one 5.7; all at 450 positions, 64 one by one
# 18.7, the plain-slices step 15.4.
ROWS_STEP_SHARE = 0.75


class _StaticStep:
    """:meth:`LMM.decode_step` over every stream, reading its inputs from buffers that never
    move, so that on CUDA it can be captured once as a graph and replayed (``capture``)."""

    def __init__(self, model: LMM, cache: KVCache, streams: int, capture: bool) -> None:
        self.model, self.cache = model, cache
        config, device = model.config, cache.lengths.device
        self.tokens = torch.zeros(streams, 1, dtype=torch.long, device=device)
        self.cond = ConditionTensors(
            torch.zeros(streams, 1, config.book_features, device=device),
            *(torch.zeros(streams, 1, dtype=torch.long, device=device) for _ in range(3)),
            torch.zeros(streams, 1, config.plan_features, device=device)
            if config.plan_features else None)
        self.graph = None
        if capture:
            self._capture()

    def _capture(self) -> None:
        lengths = self.cache.lengths.clone()
        side = torch.cuda.Stream()  # warm-up off the main stream, as CUDA graphs require
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            self.model.decode_step(self.tokens, self.cond, self.cache)
        torch.cuda.current_stream().wait_stream(side)
        # the warm-up wrote one scratch position per stream: lengths as they were
        self.cache.lengths.copy_(lengths)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.output = self.model.decode_step(self.tokens, self.cond, self.cache)
        self.cache.lengths.copy_(lengths)  # capturing records kernels without running them

    def __call__(self, tokens: torch.Tensor, cond: ConditionTensors) -> torch.Tensor:
        self.tokens.copy_(tokens)
        self.cond.put(slice(None), cond)  # in place: a graph reads these very buffers
        if self.graph is None:
            return self.model.decode_step(self.tokens, self.cond, self.cache)
        self.graph.replay()
        return self.output.clone()


class BatchedGenerator:
    """KV-cached sampling for ``streams`` independent streams (see the module docstring).

    Usage::

        first = gen.prime(history_tokens, history_cond)            # all streams, (S, n)
        nxt = gen.step(last_tokens, live_cond)                     # (S,), cond (S, 1)
        gen.prime(tokens_b, cond_b, streams=[b])                   # restart stream b alone

    ConditionTensors at a position describe the book the *next* order will see, so the last history
    position and every ``step`` carry the live book.
    """

    def __init__(self, model: LMM, streams: int | None = None, temperature: float = 1.0,
                 top_k: int | None = None, seed: int = 0, step_mode: str = "dynamic") -> None:
        if step_mode not in STEP_MODES:
            raise ValueError(f"step_mode must be one of {STEP_MODES}, got {step_mode!r}")
        device = next(model.parameters()).device
        if step_mode == "cuda_graph" and device.type != "cuda":
            raise ValueError(f"step_mode 'cuda_graph' needs the model on a CUDA device, it is on "
                             f"{device}")
        self.step_mode = step_mode
        self.static_step: _StaticStep | None = None
        self.model = model.eval()
        self.streams = streams
        self.temperature, self.top_k = temperature, top_k
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        self.seed = seed
        self.noise: StreamNoise | None = None
        self.cache: KVCache | None = None
        self.history: _History | None = None
        self.last_hidden: torch.Tensor | None = None
        self.refills = 0

    @property
    def context(self) -> int:
        return self.model.config.context

    @property
    def lengths(self) -> torch.Tensor:
        return self.cache.lengths

    def allocate(self, streams: int) -> None:
        """Make room for ``streams`` streams (all empty); start them with ``prime(streams=…)``."""
        self.streams = streams
        self.noise = StreamNoise(self.seed, streams)
        self.cache = KVCache(self.model.config, streams, self.device, self.dtype)
        self.history = _History(streams, self.context, self.device,
                                self.model.config.plan_features, self.model.config.book_features)
        self.last_hidden = torch.zeros(streams, self.model.config.n_embd, device=self.device,
                                       dtype=self.dtype)
        self.drawn = torch.zeros(streams, dtype=torch.long, device=self.device)
        self.static_step = None  # built (and captured) on the first step over the new cache

    def _fill(self, row: int, tokens: torch.Tensor, cond: ConditionTensors) -> torch.Tensor:
        """Prefill one stream's cache slot from scratch; return its last hidden state."""
        single = KVCache(self.model.config, 1, self.device, self.dtype)
        h = self.model.hidden(tokens, cond, single)
        n = tokens.shape[1]
        for layer in range(self.model.config.n_layer):
            self.cache.keys[layer][row, :, :n] = single.keys[layer][0, :, :n]
            self.cache.values[layer][row, :, :n] = single.values[layer][0, :, :n]
        self.cache.lengths[row] = n
        return h[0, -1]

    def _sample(self, rows: list[int] | None, bias, index: torch.Tensor | None = None,
                hidden: torch.Tensor | None = None) -> torch.Tensor:
        """The next token of ``rows`` (default: every stream; ``bias``: theirs, in order),
        remembered in ``drawn``; ``index``: ``rows`` as a tensor, ``hidden``: their last hidden
        states, when the caller has them."""
        bias = None if bias is None else [b.to(self.device) for b in bias]
        noise = self.noise.next(rows, self.device)
        if rows is not None and index is None:
            index = torch.tensor(rows, device=self.device)
        if hidden is None:
            hidden = self.last_hidden if index is None else self.last_hidden[index]
        tokens = self.model.sample(hidden, noise, self.temperature, self.top_k, bias)
        if index is None:
            self.drawn.copy_(tokens)
        else:
            self.drawn[index] = tokens
        return tokens

    @with_generation_threads
    @torch.inference_mode()
    def prime(self, tokens: torch.Tensor, cond: ConditionTensors,
              streams: list[int] | None = None, keep: int | None = None,
              bias: list[torch.Tensor] | None = None,
              keys: list[int] | None = None) -> torch.Tensor:
        """(Re)start streams from histories (b, n); return their first sampled tokens (b,).

        Without ``streams`` every stream starts (and the number of streams is b). A history keeps
        its most recent ``keep`` positions (default: half the context, leaving room to grow).
        ``keys`` name the streams' sampling noise (default: their rows); a restarted stream
        draws its noise from the start again.
        """
        tokens, cond = tokens.to(self.device), cond.to(self.device)
        if streams is None:
            self.allocate(tokens.shape[0])
            streams = list(range(tokens.shape[0]))
        elif self.cache is None:
            raise RuntimeError("allocate() or prime all streams before starting some of them")
        n = tokens.shape[1]
        keep = min(n, self.context // 2 if keep is None else keep, self.context)
        tokens, cond = tokens[:, n - keep:], cond.slice(n - keep, n)
        for k, row in enumerate(streams):
            one_cond = cond.map(lambda x, k=k: x[k:k + 1])
            self.history.write(row, 0, tokens[k:k + 1], one_cond)
            self.last_hidden[row] = self._fill(row, tokens[k:k + 1], one_cond)
        if keys is not None and len(keys) != len(streams):
            raise ValueError(f"{len(keys)} keys for {len(streams)} streams")
        self.noise.restart(streams, keys)
        return self._sample(streams, bias)

    def _refill(self, row: int) -> None:
        keep = self.context // 2
        tokens, cond = self.history.window(row, self.context - keep, self.context)
        tokens, cond = tokens.clone(), cond.map(torch.clone)
        self.history.write(row, 0, tokens, cond)
        self._fill(row, tokens, cond)
        self.refills += 1

    def _batched_step(self, advancing: int) -> bool:
        """Whether a dynamic step with ``advancing`` streams runs over every stream at once
        rather than over the advancing ones one by one (see ``ROWS_STEP_SHARE``)."""
        if advancing <= ROWS_STEP_SHARE * self.streams:
            return False
        low, high = torch.aminmax(self.cache.lengths)
        return self.device.type != "cpu" or bool(low == high)

    @with_generation_threads
    @torch.inference_mode()
    def step(self, tokens: torch.Tensor, cond: ConditionTensors, active: torch.Tensor | None = None,
             bias: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Append each stream's last token (S,) with the live conditions (S, 1); return the
        next token of every stream: only the ``active`` ones (default: all) advance and draw,
        a paused stream's entry repeats the last token drawn for it."""
        if self.cache is None:
            raise RuntimeError("call prime() before step()")
        tokens, cond = tokens.to(self.device).reshape(-1), cond.to(self.device)
        if tokens.shape[0] != self.streams:
            raise ValueError(f"step needs one token per stream ({self.streams}), "
                             f"got {tokens.shape[0]}")
        active = (torch.ones(self.streams, dtype=torch.bool, device=self.device)
                  if active is None else active.to(self.device))
        # full streams re-fill first, paused ones too: every stream writes one position below
        for row in torch.nonzero(self.cache.lengths == self.context).flatten().tolist():
            self._refill(row)
        rows = torch.nonzero(active).flatten().tolist()
        if self.step_mode == "dynamic" and 0 < len(rows) and not self._batched_step(len(rows)):
            index = torch.tensor(rows, device=self.device)
            row_tokens, row_cond = tokens[index], cond.map(lambda x: x[index])
            self.history.write_at(self.cache.lengths[index], row_tokens, row_cond, index)
            h = self.model.decode_rows(row_tokens[:, None], row_cond, self.cache, rows)
            self.last_hidden[index] = h
            self._sample(rows, None if bias is None else [part[index] for part in bias], index, h)
            return self.drawn.clone()
        self.history.write_at(self.cache.lengths, tokens, cond)
        if self.step_mode == "dynamic":
            h = self.model.hidden(tokens[:, None], cond, self.cache)[:, -1]
        else:
            if self.static_step is None:
                self.static_step = _StaticStep(self.model, self.cache, self.streams,
                                               capture=self.step_mode == "cuda_graph")
            h = self.static_step(tokens[:, None], cond)
        self.cache.lengths[~active] -= 1  # inactive streams wrote a scratch position only
        self.last_hidden = torch.where(active[:, None], h, self.last_hidden)
        return self._sample_rows(rows, bias)

    def _sample_rows(self, rows: list[int], bias) -> torch.Tensor:
        """Draw the next token of the streams ``rows`` (``bias``: every stream's); every
        stream's last drawn token."""
        if len(rows) == self.streams:
            self._sample(None, bias)
        elif rows:
            self._sample(rows, None if bias is None else [part[rows] for part in bias])
        return self.drawn.clone()


class FullRecomputeGenerator:
    """The MarS-style loop (see the module docstring); all streams step together."""

    def __init__(self, model: LMM, temperature: float = 1.0, top_k: int | None = None,
                 seed: int = 0) -> None:
        self.model = model.eval()
        self.temperature, self.top_k = temperature, top_k
        self.device = next(model.parameters()).device
        self.seed = seed

    @with_generation_threads
    @torch.inference_mode()
    def prime(self, tokens: torch.Tensor, cond: ConditionTensors, bias=None,
              keys: list[int] | None = None) -> torch.Tensor:
        self.tokens, self.cond = tokens.to(self.device), cond.to(self.device)
        self.noise = StreamNoise(self.seed, len(tokens))
        if keys is not None:
            self.noise.restart(list(range(len(tokens))), keys)
        return self._forward(bias)

    def _forward(self, bias=None) -> torch.Tensor:
        n = self.tokens.shape[1]
        context = self.model.config.context
        if n > context:
            self.tokens, self.cond = self.tokens[:, -context:], self.cond.slice(n - context, n)
        self.last_hidden = self.model.hidden(self.tokens, self.cond)[:, -1]
        noise = self.noise.next(device=self.device)
        return self.model.sample(self.last_hidden, noise, self.temperature, self.top_k, bias)

    @with_generation_threads
    @torch.inference_mode()
    def step(self, tokens: torch.Tensor, cond: ConditionTensors, bias=None) -> torch.Tensor:
        self.tokens = torch.cat([self.tokens, tokens.to(self.device).reshape(-1, 1)], dim=1)
        self.cond = ConditionTensors.cat([self.cond, cond.to(self.device)], dim=1)
        return self._forward(bias)
