"""The Large Market Model: a decoder-only transformer over MarS order tokens.

Shape and references
--------------------
Pre-norm decoder blocks in the nanoGPT mould with RMSNorm (Zhang & Sennrich 2019), rotary
positions (Su et al. 2021), SwiGLU feed-forward (Shazeer 2020) and
``scaled_dot_product_attention``. Position i reads order token ``t_i`` plus the conditioning
inputs of the book the *next* order will see (see :mod:`mars_gym.lmm.data`), and predicts
``t_{i+1}``: at generation time the live book, changed by anyone, steers every new order.

Token parts, in and out
-----------------------
An id is (kind, price bin, volume bin, interval bin) (:mod:`mars_gym.tokens`). The input
embedding is the sum of one embedding per part. The output is the exact chain rule

    p(id | h) = p(kind | h) p(price | h, kind) p(volume | h, kind, price)
                p(interval | h, kind, price, volume),

each factor a small head on ``h`` plus the embeddings of the parts already chosen. This is a
proper distribution over all 49 152 ids at a fraction of the cost (and parameters) of a
49 152-way softmax, which would dominate a small model and CPU training. ``joint_log_probs``
gives the full (…, 49 152) table when it is needed.

Conditioning inputs, summed into each position's embedding: book volumes (10 floats, linear
projection), time of day (Fourier features of the 5-second bucket, linear projection), change
since the open (embedding of the clipped basis-point bucket) and the source id (embedding).
A model built with ``plan_features > 0`` is the order half of the ensemble: it also reads the
*plan* of the minute each position lies in (features of that minute's order image, linear
projection initialised at zero, :mod:`mars_gym.ensemble.plan`) — the real minute in training, the
minute model's sample when generating.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mars_gym.checkpoint import check_config_ranges
from mars_gym.tokens.conditions import BOOK_FEATURES, N_CHANGE, N_TIME_OF_DAY
from mars_gym.tokens.scheme import PART_SIZES, PART_STRIDES, VOCAB_SIZE

MAX_CONTEXT = 8_192  # orders; the shipped models read 512
MAX_CACHE_BYTES = 64 << 20  # one stream's key/value cache (the shipped models': 2 MiB)
CONFIG_RANGES = {"n_layer": (1, 256), "n_head": (1, 256), "n_embd": (2, 16_384),
                 "context": (1, MAX_CONTEXT), "n_sources": (1, 4_096), "tod_frequencies": (0, 256),
                 "plan_features": (0, 4_096), "book_features": (1, 64)}
CONFIG_REASONS = {  # why each field has its range (said in the error)
    "n_layer": "transformer blocks, each of saved weights",
    "n_head": "attention heads, splitting n_embd",
    "n_embd": "the width of every saved weight",
    "context": "the rotary table and every stream's key/value cache are allocated to it, "
               "and a checkpoint holds neither",
    "n_sources": "rows of the saved source embedding",
    "tod_frequencies": "Fourier frequencies of the time of day",
    "plan_features": "the width of the saved plan input",
    "book_features": "the width of the tokenizer's book conditions",
}


@dataclass
class LMMConfig:
    n_layer: int = 4          # transformer blocks
    n_head: int = 4           # attention heads (n_embd divisible by it)
    n_embd: int = 128         # width
    context: int = 1024       # longest sequence, in orders
    dropout: float = 0.0
    n_sources: int = 8        # source-id embedding rows
    tod_frequencies: int = 8  # Fourier frequencies of the time of day (0: not read)
    # reads the mid's change since the open; off, the model reads no price level (trained on
    # one day per source, it learns that day's path from the level and the time of day)
    price_change: bool = True
    rope_base: float = 10_000.0
    plan_features: int = 0    # > 0: the ensemble's minute-plan input (mars_gym.ensemble.plan)
    book_features: int = BOOK_FEATURES  # width of the book conditions (the tokenizer's)

    def __post_init__(self) -> None:
        # Bounds before anything is allocated: a config read from a file decides the sizes. The
        # loader matches every shape with the saved weights, but the context sizes what the file
        # does not hold (the rotary table, every stream's key/value cache), so it has its own
        # ceiling, and so does one stream's cache.
        check_config_ranges(self, CONFIG_RANGES, CONFIG_REASONS)
        cache = self.cache_bytes()
        if cache > MAX_CACHE_BYTES:
            raise ValueError(f"LMMConfig: one stream's key/value cache would take "
                             f"{cache / 2**20:,.0f} MiB (2 x n_layer x n_embd x context x 4 "
                             f"bytes), more than {MAX_CACHE_BYTES >> 20} MiB: lower the context "
                             f"({self.context})")
        if not isinstance(self.price_change, bool):
            raise TypeError(f"price_change must be True or False, got {self.price_change!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"LMMConfig.dropout must be in [0, 1) (the share of activations "
                             f"zeroed in training), got {self.dropout!r}")
        if not math.isfinite(self.rope_base) or self.rope_base <= 1.0:
            raise ValueError(f"LMMConfig.rope_base must be finite and > 1 (the base of the "
                             f"rotary angles), got {self.rope_base!r}")
        if self.n_embd % self.n_head or (self.n_embd // self.n_head) % 2:
            raise ValueError(f"n_embd ({self.n_embd}) must split into n_head ({self.n_head}) "
                             "heads of even size")

    def cache_bytes(self) -> int:
        """Bytes of one stream's float32 key/value cache (:class:`KVCache`)."""
        return 2 * self.n_layer * self.n_embd * self.context * 4

    def to_dict(self) -> dict:
        return asdict(self)


CONDITION_FIELDS = ("book", "time_of_day", "change", "source", "plan")


@dataclass
class ConditionTensors:
    """Conditioning tensors of a batch, each (B, T[, …])."""

    book: torch.Tensor         # float (B, T, book features)
    time_of_day: torch.Tensor  # long (B, T)
    change: torch.Tensor       # long (B, T)
    source: torch.Tensor       # long (B, T)
    plan: torch.Tensor | None = None  # float (B, T, plan_features): ensemble models only

    def map(self, fn) -> ConditionTensors:
        """``fn`` applied to every tensor present."""
        return ConditionTensors(*(None if x is None else fn(x) for x in (
            self.book, self.time_of_day, self.change, self.source, self.plan)))

    def to(self, device) -> ConditionTensors:
        return self.map(lambda x: x.to(device))

    def put(self, rows, other: ConditionTensors) -> None:
        """Write ``other`` (len(rows), …) into the batch rows ``rows`` of these tensors."""
        for field in CONDITION_FIELDS:
            tensor = getattr(self, field)
            if tensor is not None:
                tensor[rows] = getattr(other, field)

    def slice(self, start: int, stop: int) -> ConditionTensors:
        return self.map(lambda x: x[:, start:stop])

    @staticmethod
    def cat(parts: list[ConditionTensors], dim: int) -> ConditionTensors:
        """The parts joined along ``dim`` (all with a plan, or none)."""
        joined = [[getattr(p, f) for p in parts] for f in CONDITION_FIELDS]
        return ConditionTensors(*(None if all(x is None for x in tensors)
                                  else torch.cat(tensors, dim) for tensors in joined))


def split_parts(ids: torch.Tensor) -> list[torch.Tensor]:
    """(kind, price, volume, interval) of token ids."""
    return [(ids // stride) % size for stride, size in zip(PART_STRIDES, PART_SIZES, strict=False)]


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotary_tables(length: int, head_dim: int, base: float, device=None) -> torch.Tensor:
    """(cos, sin) of every position's rotation angles, (length, head_dim / 2, 2)."""
    inv = 1.0 / base ** (torch.arange(0, head_dim, 2, device=device).float() / head_dim)
    angles = torch.outer(torch.arange(length, device=device).float(), inv)  # (T, D/2)
    return torch.stack((angles.cos(), angles.sin()), dim=-1)


def rotation(table: torch.Tensor) -> torch.Tensor:
    """Rows of :func:`rotary_tables` as unit complex numbers (in float32: bfloat16 has no
    complex type)."""
    return torch.view_as_complex(table.float().contiguous())


def apply_rotary(x: torch.Tensor, turn: torch.Tensor) -> torch.Tensor:
    """Rotate the pairs (x[2i], x[2i+1]) of x (B, H, T, D) by ``turn`` (complex, broadcast to
    (B, H, T, D/2)): one complex product instead of the pairwise formula's six products and
    sums (the same arithmetic; a vectorised product may round the last bit differently)."""
    pairs = torch.view_as_complex(x.float().unflatten(-1, (-1, 2)))
    return torch.view_as_real(pairs * turn).flatten(-2).to(x.dtype)


class KVCache:
    """Keys and values of every layer for B streams, preallocated to the context length.

    ``lengths[b]`` is how many positions stream b holds. A block of t > 1 positions can only be
    appended to streams that all hold the same length (prefill); single positions are written
    at each stream's own length, so streams advance and restart independently.
    """

    def __init__(self, config: LMMConfig, batch: int, device, dtype) -> None:
        shape = (batch, config.n_head, config.context, config.n_embd // config.n_head)
        self.keys = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.n_layer)]
        self.values = [torch.zeros(shape, device=device, dtype=dtype)
                       for _ in range(config.n_layer)]
        self.lengths = torch.zeros(batch, dtype=torch.long, device=device)


@dataclass
class CachedStep:
    """How a forward over a :class:`KVCache` lays out its new positions (one of):
    ``uniform``: every stream at this same length (plain slices); ``static``: one position per
    stream at its own length, attention over the whole cache, masked (the same shapes every
    step); ``rows``: one position for these streams only (their indices and lengths, as host
    lists and as tensors), each attending over exactly what it holds; none of them: one
    position per stream at its own length, attention up to the longest stream, masked; or a
    block of positions appended to streams of one length."""

    uniform: int | None = None
    static: bool = False
    rows: tuple[list[int], list[int], torch.Tensor, torch.Tensor] | None = None


class Attention(nn.Module):
    def __init__(self, config: LMMConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=False)
        self.out = nn.Linear(config.n_embd, config.n_embd, bias=False)
        self.dropout = config.dropout

    def forward(self, x, turn, cache: KVCache | None = None, layer: int = 0,
                step: CachedStep | None = None):
        b, t, c = x.shape
        step = step or CachedStep()
        uniform = step.uniform
        h = self.n_head
        qkv = self.qkv(x).view(b, t, 3 * h, c // h).transpose(1, 2)  # (b, 3h, t, d)
        q, k = apply_rotary(qkv[:, :2 * h], turn).split(h, dim=1)  # one call for both
        v = qkv[:, 2 * h:]
        if cache is None:
            y = F.scaled_dot_product_attention(
                q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0)
        elif t == 1 and uniform is not None:  # every stream at the same length: plain slices
            cache.keys[layer][:, :, uniform] = k[:, :, 0]
            cache.values[layer][:, :, uniform] = v[:, :, 0]
            y = F.scaled_dot_product_attention(q, cache.keys[layer][:, :, :uniform + 1],
                                               cache.values[layer][:, :, :uniform + 1])
        elif step.rows is not None:  # some streams: one small attention each, views only
            rows, lengths, index, position = step.rows
            keys, values = cache.keys[layer], cache.values[layer]
            keys[index, :, position] = k[:, :, 0]
            values[index, :, position] = v[:, :, 0]
            y = torch.cat([F.scaled_dot_product_attention(
                query, keys[row:row + 1, :, :n + 1], values[row:row + 1, :, :n + 1])
                for query, row, n in zip(q.split(1), rows, lengths, strict=True)])
        elif t == 1:  # one new position per stream, each at its own length
            rows_all, position = torch.arange(b, device=x.device), cache.lengths
            cache.keys[layer][rows_all, :, position] = k[:, :, 0]
            cache.values[layer][rows_all, :, position] = v[:, :, 0]
            # static: the whole cache, masked (same shapes every step, no read of lengths)
            span = cache.keys[layer].shape[2] if step.static else int(position.max()) + 1
            mask = torch.arange(span, device=x.device)[None, :] <= position[:, None]
            y = F.scaled_dot_product_attention(q, cache.keys[layer][:, :, :span],
                                               cache.values[layer][:, :, :span],
                                               attn_mask=mask[:, None, None, :])
        else:  # a block appended to streams of equal length: causal within, all of the past
            start = int(cache.lengths[0])
            cache.keys[layer][:, :, start:start + t] = k
            cache.values[layer][:, :, start:start + t] = v
            mask = torch.ones(t, start + t, dtype=torch.bool, device=x.device).tril(start)
            y = F.scaled_dot_product_attention(q, cache.keys[layer][:, :, :start + t],
                                               cache.values[layer][:, :, :start + t],
                                               attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(b, t, c))


class SwiGLU(nn.Module):
    def __init__(self, config: LMMConfig) -> None:
        super().__init__()
        hidden = 64 * math.ceil(8 * config.n_embd / 3 / 64)
        self.gate = nn.Linear(config.n_embd, hidden, bias=False)
        self.up = nn.Linear(config.n_embd, hidden, bias=False)
        self.down = nn.Linear(hidden, config.n_embd, bias=False)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.down(F.silu(self.gate(x)) * self.up(x)))


class Block(nn.Module):
    def __init__(self, config: LMMConfig) -> None:
        super().__init__()
        self.norm1, self.norm2 = RMSNorm(config.n_embd), RMSNorm(config.n_embd)
        self.attention, self.mlp = Attention(config), SwiGLU(config)

    def forward(self, x, turn, cache=None, layer=0, step: CachedStep | None = None):
        x = x + self.attention(self.norm1(x), turn, cache, layer, step)
        return x + self.mlp(self.norm2(x))


class PartHead(nn.Module):
    """Logits of one token part from the hidden state plus the embeddings of earlier parts."""

    def __init__(self, dim: int, size: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, size)

    def forward(self, x):
        return self.out(F.silu(self.hidden(x)))


class LMM(nn.Module):
    """Decoder-only transformer over order tokens (see the module docstring)."""

    def __init__(self, config: LMMConfig) -> None:
        super().__init__()
        self.config = config
        d = config.n_embd
        self.part_in = nn.ModuleList(nn.Embedding(size, d) for size in PART_SIZES)
        self.book_in = nn.Linear(config.book_features, d)
        self.time_in = (nn.Linear(2 * config.tod_frequencies, d) if config.tod_frequencies
                        else None)
        self.change_in = nn.Embedding(N_CHANGE, d) if config.price_change else None
        self.source_in = nn.Embedding(config.n_sources, d)
        self.plan_in = nn.Linear(config.plan_features, d) if config.plan_features else None
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.norm = RMSNorm(d)
        self.heads = nn.ModuleList(PartHead(d, size) for size in PART_SIZES)
        # embeddings of chosen parts fed to the later part heads (the last part feeds nothing)
        self.part_context = nn.ModuleList(nn.Embedding(size, d) for size in PART_SIZES[:-1])
        self.register_buffer("rope", rotary_tables(config.context, d // config.n_head,
                                                   config.rope_base), persistent=False)
        frequencies = torch.arange(1, config.tod_frequencies + 1).float() * 2 * math.pi
        self.register_buffer("tod_frequencies", frequencies / N_TIME_OF_DAY, persistent=False)
        self.apply(self._init)
        if self.plan_in is not None:  # an added plan starts as a no-op on a trained model
            nn.init.zeros_(self.plan_in.weight)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # -- trunk -------------------------------------------------------------------------------
    def embed(self, tokens: torch.Tensor, cond: ConditionTensors) -> torch.Tensor:
        parts = zip(self.part_in, split_parts(tokens), strict=True)
        x = sum(emb(part) for emb, part in parts)  # (b, t, d)
        dtype = self.book_in.weight.dtype  # float conditions follow the weights (bf16 too)
        x = x + self.book_in(cond.book.to(dtype)) + self.source_in(cond.source)
        if self.time_in is not None:
            angles = cond.time_of_day.float().unsqueeze(-1) * self.tod_frequencies
            x = x + self.time_in(torch.cat([angles.sin(), angles.cos()], -1).to(dtype))
        if self.change_in is not None:
            x = x + self.change_in(cond.change)
        if self.plan_in is not None:
            if cond.plan is None:
                raise ValueError("this model is an ensemble order model: its conditions need "
                                 "the minute plan (ConditionTensors.plan)")
            x = x + self.plan_in(cond.plan.to(dtype))
        return self.dropout(x)

    def hidden(self, tokens: torch.Tensor, cond: ConditionTensors,
               cache: KVCache | None = None) -> torch.Tensor:
        """Final hidden states (B, T, d). With a cache, ``tokens`` continue what it holds and
        every stream's length grows by T."""
        t = tokens.shape[1]
        uniform = None  # the shared length of all cached streams, when they share one
        if cache is None:
            if t > self.config.context:
                raise ValueError(f"sequence of {t} positions exceeds the context "
                                 f"({self.config.context})")
            turn = rotation(self.rope[:t])
        else:
            low, high = (int(x) for x in torch.aminmax(cache.lengths))
            if high + t > self.config.context:
                raise ValueError(f"sequence of {high + t} positions exceeds the context "
                                 f"({self.config.context})")
            if t == 1 and low == high:  # the common case: all streams at one position
                uniform = low
                turn = rotation(self.rope[low:low + 1])
            elif t == 1:  # per-stream positions, broadcast over heads: (b, 1, 1, d/2)
                turn = rotation(self.rope[cache.lengths])[:, None, None]
            elif low != high:
                raise ValueError("a block can only be appended to streams of equal length")
            else:
                turn = rotation(self.rope[low:low + t])
        x = self.embed(tokens, cond)
        for layer, block in enumerate(self.blocks):
            x = block(x, turn, cache, layer, CachedStep(uniform=uniform))
        if cache is not None:
            cache.lengths += t
        return self.norm(x)

    def decode_step(self, tokens: torch.Tensor, cond: ConditionTensors,
                    cache: KVCache) -> torch.Tensor:
        """One new position (B, 1) for every cached stream, each at its own length; the final
        hidden states (B, d). The same numbers as :meth:`hidden` with a cache, computed with the
        same shapes at every step and without reading the lengths on the host, so a CUDA graph
        can capture it (:mod:`mars_gym.lmm.generate`). Every stream must hold fewer positions
        than the context: the caller re-fills full ones first."""
        turn = rotation(self.rope[cache.lengths])[:, None, None]  # (b, 1, 1, d/2)
        x = self.embed(tokens, cond)
        layout = CachedStep(static=True)
        for layer, block in enumerate(self.blocks):
            x = block(x, turn, cache, layer, layout)
        cache.lengths += 1
        return self.norm(x)[:, -1]

    def decode_rows(self, tokens: torch.Tensor, cond: ConditionTensors, cache: KVCache,
                    rows: list[int]) -> torch.Tensor:
        """One new position (n, 1) for the cached streams ``rows`` only (the others keep their
        state); their final hidden states (n, d). The same numbers as :meth:`hidden` with a
        cache: the work is that of n streams, not of the whole batch, each attending over
        exactly the positions it holds — cheaper than a masked step over every stream when few
        of them advance (:class:`mars_gym.lmm.generate.BatchedGenerator`)."""
        index = torch.tensor(rows, device=cache.lengths.device)
        lengths = cache.lengths[index]
        held = lengths.tolist()
        if held and max(held) >= self.config.context:
            raise ValueError(f"a stream holds the whole context ({self.config.context}); "
                             "re-fill it first")
        turn = rotation(self.rope[lengths])[:, None, None]  # (n, 1, 1, d/2)
        x = self.embed(tokens, cond)
        layout = CachedStep(rows=(list(rows), held, index, lengths))
        for layer, block in enumerate(self.blocks):
            x = block(x, turn, cache, layer, layout)
        cache.lengths[index] = lengths + 1
        return self.norm(x)[:, -1]

    # -- output: the chain rule over token parts ----------------------------------------------
    def part_logits(self, h: torch.Tensor, prefix: list[torch.Tensor]) -> torch.Tensor:
        """Logits of part ``len(prefix)`` given the hidden state and the earlier parts."""
        x = h
        for emb, part in zip(self.part_context, prefix, strict=False):
            x = x + emb(part)
        return self.heads[len(prefix)](x)

    def token_log_prob(self, h: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """log p(tokens | h), elementwise."""
        parts = split_parts(tokens)
        total = torch.zeros(tokens.shape, device=h.device, dtype=torch.float32)
        for j, part in enumerate(parts):
            logits = self.part_logits(h, parts[:j]).float()
            total = total + logits.log_softmax(-1).gather(-1, part.unsqueeze(-1)).squeeze(-1)
        return total

    def forward(self, tokens: torch.Tensor, cond: ConditionTensors,
                targets: torch.Tensor | None = None):
        """``(h, loss)``: hidden states and, given targets, the mean next-token NLL (nats)."""
        h = self.hidden(tokens, cond)
        loss = None if targets is None else -self.token_log_prob(h, targets).mean()
        return h, loss

    def joint_log_probs(self, h: torch.Tensor) -> torch.Tensor:
        """log p over all 49 152 ids, shape (…, VOCAB_SIZE), in id order."""
        lead = h.shape[:-1]
        h = h.reshape(-1, 1, h.shape[-1])  # (n, 1, d)
        table = torch.zeros(h.shape[0], 1, device=h.device)
        prefixes: list[torch.Tensor] = []  # each (n, m): part values of the m prefixes so far
        for size in PART_SIZES:
            m = table.shape[1]
            logits = self.part_logits(h.expand(-1, m, -1), prefixes).float().log_softmax(-1)
            table = (table.unsqueeze(-1) + logits).reshape(h.shape[0], m * size)
            grown = torch.arange(size, device=h.device).repeat(m)
            prefixes = [p.repeat_interleave(size, dim=1) for p in prefixes]
            prefixes.append(grown.expand(h.shape[0], -1))
        assert table.shape[1] == VOCAB_SIZE
        return table.reshape(*lead, VOCAB_SIZE)

    @torch.no_grad()
    def sample(self, h: torch.Tensor, noise: torch.Tensor, temperature: float = 1.0,
               top_k: int | None = None, bias: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Draw one token per row of ``h`` (B, d), part by part, by the Gumbel-max trick.

        ``noise`` is standard Gumbel noise (B, sum(PART_SIZES)), one slot per value of every
        part (:class:`mars_gym.lmm.keyed_draws.StreamNoise`). ``temperature`` divides every part's
        logits; ``top_k`` keeps the k most likely values of each part (at most its size).
        ``bias`` is added to the logits of each part before that: kind (B, 3), price (B, 3, 32)
        and volume (B, 3, 32) by the row's kind, interval (B, 16) (plan guidance,
        :mod:`mars_gym.ensemble.tilt`).
        """
        if noise.shape != (len(h), sum(PART_SIZES)):
            raise ValueError(f"noise must have shape {(len(h), sum(PART_SIZES))}, "
                             f"got {tuple(noise.shape)}")
        parts: list[torch.Tensor] = []
        offset = 0
        x = h  # the hidden state plus the embeddings of the parts drawn so far (part_logits)
        for j, size in enumerate(PART_SIZES):
            if j:
                x = x + self.part_context[j - 1](parts[-1])
            logits = self.heads[j](x).float()
            if bias is not None:
                logits = logits + (bias[j][torch.arange(len(h)), parts[0]] if j in (1, 2)
                                   else bias[j])
            if temperature != 1.0:
                logits = logits / max(temperature, 1e-6)
            if top_k is not None and top_k < size:
                kth = logits.topk(top_k, dim=-1).values[..., -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            parts.append((logits + noise[:, offset:offset + size]).argmax(-1))
            offset += size
        return sum(part * stride for part, stride in zip(parts, PART_STRIDES, strict=False))
