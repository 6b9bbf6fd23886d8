"""An in-process generation service: many simulations, one batched forward per round.

Simulations ``open`` a stream (primed with their own history), then each round ``submit`` the
order they just applied together with the conditions of their live book; ``run`` serves every
stream submitted since the last round with one batched forward pass and returns each one's
next token. Streams that did not submit keep their state. The service runs on CUDA when one is
present (``device="auto"``), else on the CPU; ``precision`` casts the model (``"bfloat16"`` or
``"float16"`` halve the weights and the cache, at the price of tokens that differ from float32's
now and then) and ``step_mode`` picks how a round's forward runs
(:mod:`mars_gym.lmm.generate`; ``"cuda_graph"`` on CUDA).

Every request is checked before it joins a round (token ids in the vocabulary, finite book
features and plans, time of day, price change and source id in their ranges, shapes, biases), so
a bad request fails alone with :class:`BadRequestError` and the round and the service go on.
A stream belongs to the ``owner`` that opened it: only the same owner may feed, withdraw or close
it (clients of a shared service pass a secret of their own, e.g. ``uuid.uuid4().hex``; the
simulations of one program share the default owner ``None``).

Threads: every public method holds the service's lock, so its state is never torn. A round
driven by :meth:`~GeneratorService.submit` / :meth:`~GeneratorService.run` belongs to the thread
that submitted its first request until that thread runs it (another thread's submit or run
raises :class:`ConcurrentUseError`, since its tokens would go to the wrong caller). Threads that
each drive their own streams call :meth:`~GeneratorService.step` instead: it queues the request,
runs a round for everything queued unless another thread's round already served it, and returns
exactly that stream's token.

Sharing: ``max_streams_per_owner`` caps the streams one owner holds at once (None: no cap, the
in-process default) and ``idle_timeout`` (seconds; None: never) closes a stream nobody has fed,
withdrawn or opened for that long, so one client cannot hold every slot; the owner of an expired
stream gets :class:`StreamExpiredError` on its next call. ``clock`` (default ``time.monotonic``)
tells the time.

The same interface is offered over Ray Serve for several processes or machines
(:mod:`mars_gym.lmm.ray_serve`, ``pip install .[serve]``).
"""

from __future__ import annotations

import copy
import operator
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import torch

from mars_gym.lmm.generate import BatchedGenerator
from mars_gym.lmm.model import LMM, ConditionTensors, LMMConfig
from mars_gym.lmm.options import PRECISIONS
from mars_gym.tokens.conditions import N_CHANGE, N_TIME_OF_DAY
from mars_gym.tokens.scheme import N_KINDS, PART_SIZES, VOCAB_SIZE


class BadRequestError(ValueError):
    """A request the service refuses; it did not join any round."""


class ConcurrentUseError(RuntimeError):
    """A thread used a round another thread collects (see :meth:`GeneratorService.step`)."""


class StreamExpiredError(KeyError):
    """The stream was closed by the service after ``idle_timeout`` seconds without use."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _long_in(values: torch.Tensor, low: int, high: int, name: str, shape: tuple) -> None:
    if not isinstance(values, torch.Tensor) or tuple(values.shape) != shape:
        raise BadRequestError(f"{name} must be a tensor of shape {shape}, got "
                              f"{getattr(values, 'shape', type(values).__name__)}")
    if values.dtype.is_floating_point or values.dtype == torch.bool or values.is_complex():
        raise BadRequestError(f"{name} must hold integers, got {values.dtype}")
    if not values.numel():
        return
    # one value (a live request) without a reduction; more with one pass
    smallest, largest = ((int(values.item()),) * 2 if values.numel() == 1
                         else (int(m) for m in torch.aminmax(values)))
    if smallest < low or largest >= high:
        raise BadRequestError(f"{name} must be in [{low}, {high}), got {smallest}..{largest}")


def _finite(values, name: str, shape: tuple, allow_minus_inf: bool = False) -> None:
    if not isinstance(values, torch.Tensor) or tuple(values.shape) != shape:
        raise BadRequestError(f"{name} must be a tensor of shape {shape}, got "
                              f"{getattr(values, 'shape', type(values).__name__)}")
    if not values.dtype.is_floating_point:
        raise BadRequestError(f"{name} must hold floats, got {values.dtype}")
    # -inf, where allowed, becomes finite before the check; NaN stays NaN through the clamp
    checked = values.clamp(min=torch.finfo(values.dtype).min) if allow_minus_inf else values
    if not bool(torch.isfinite(checked).all()):
        raise BadRequestError(f"{name} holds non-finite values")


def check_request(config: LMMConfig, tokens: torch.Tensor, cond: ConditionTensors,
                  bias=None, streams: int = 1) -> None:
    """Raise :class:`BadRequestError` unless ``tokens`` (streams, t), their conditions
    (streams, t) and the optional ``bias`` (per token part, shaped as :meth:`LMM.sample` says;
    -inf forbids a value; one stream only) fit ``config``."""
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2 \
            or tokens.shape[0] != streams or not 1 <= tokens.shape[1] <= config.context:
        raise BadRequestError(f"tokens must have shape ({streams}, t) with 1 <= t <= "
                              f"{config.context}, got "
                              f"{getattr(tokens, 'shape', type(tokens).__name__)}")
    shape = tuple(tokens.shape)
    _long_in(tokens, 0, VOCAB_SIZE, "token", shape)
    if not isinstance(cond, ConditionTensors):
        raise BadRequestError(f"conditions must be ConditionTensors, got {type(cond).__name__}")
    _finite(cond.book, "book features", (*shape, config.book_features))
    _long_in(cond.time_of_day, 0, N_TIME_OF_DAY, "time of day", shape)
    _long_in(cond.change, 0, N_CHANGE, "price change", shape)
    _long_in(cond.source, 0, config.n_sources, "source id", shape)
    if config.plan_features:
        _finite(cond.plan, "plan", (*shape, config.plan_features))
    elif cond.plan is not None:
        raise BadRequestError("this model reads no plan, but the conditions carry one")
    if bias is not None:
        if len(bias) != len(PART_SIZES):
            raise BadRequestError(f"bias needs {len(PART_SIZES)} parts, got {len(bias)}")
        for k, (part, size) in enumerate(zip(bias, PART_SIZES, strict=False)):
            shape = (1, N_KINDS, size) if k in (1, 2) else (1, size)  # price, volume: by kind
            _finite(part, f"bias part {k}", shape, allow_minus_inf=True)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_precision(precision: str) -> torch.dtype:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return getattr(torch, precision)


_COMBINED = -1  # the round's driver when threads share it through GeneratorService.step


class GeneratorService:
    """Batched token generation for up to ``capacity`` concurrent streams (threads, quotas
    and idle expiry: see the module doc)."""

    def __init__(self, model: LMM, capacity: int, temperature: float = 1.0,
                 top_k: int | None = None, seed: int = 0,
                 device: str | torch.device = "auto", precision: str = "float32",
                 step_mode: str = "dynamic", max_streams_per_owner: int | None = None,
                 idle_timeout: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_streams_per_owner is not None and (
                isinstance(max_streams_per_owner, bool)
                or not isinstance(max_streams_per_owner, int) or max_streams_per_owner < 1):
            raise ValueError(f"max_streams_per_owner must be a positive integer or None, got "
                             f"{max_streams_per_owner!r}")
        if idle_timeout is not None and not idle_timeout > 0:
            raise ValueError(f"idle_timeout must be positive seconds or None, got {idle_timeout!r}")
        self.max_streams_per_owner, self.idle_timeout, self.clock = (
            max_streams_per_owner, idle_timeout, clock)
        self._lock = threading.RLock()
        self._driver: int | None = None  # the thread collecting the round (or _COMBINED)
        self._delivered: dict[int, int] = {}  # step(): tokens served by another thread's round
        self._failed: dict[int, BaseException] = {}  # step(): its round raised this
        self.last_used: dict[int, float] = {}
        self._next_sweep = -float("inf")  # idle streams are looked for at most once a second
        self.expired: OrderedDict[tuple[int, object], float] = OrderedDict()  # -> idle seconds
        self.device = resolve_device(device)
        dtype, weights = resolve_precision(precision), next(model.parameters())
        if weights.device != self.device or weights.dtype != dtype:  # the caller's stays as is
            model = copy.deepcopy(model).to(self.device, dtype)
        self.generator = BatchedGenerator(model, temperature=temperature, top_k=top_k, seed=seed,
                                          step_mode=step_mode)
        self.generator.allocate(capacity)
        self.config = model.config
        self.free = list(range(capacity - 1, -1, -1))
        self.owners: dict[int, object] = {}
        # the round's requests: each stream's biases (or None) here, its token and conditions
        # in rows of whole-capacity buffers (one copy per submission, none per stream)
        self.pending: dict[int, list | None] = {}
        self.round_tokens = torch.zeros(capacity, dtype=torch.long)
        self.round_cond: ConditionTensors | None = None  # shaped on the first request
        self.rounds = 0
        self.tokens_served = 0  # over all rounds: tokens_served / rounds streams a round
        self.largest_round = 0  # the most streams one round served

    @property
    def capacity(self) -> int:
        return self.generator.streams

    def open(self, tokens: torch.Tensor, cond: ConditionTensors, bias=None,
             key: int | None = None, owner: object = None) -> tuple[int, int]:
        """Start a stream from a history (1, n); return ``(stream, first_token)`` (``bias``:
        of the first token's parts, as in :meth:`submit`; ``key``: names the stream's sampling
        noise, so a simulation seeded alike draws alike in any slot; default: the slot;
        ``owner``: who may use the stream afterwards)."""
        check_request(self.config, tokens, cond, bias)
        if key is not None and (isinstance(key, bool) or not isinstance(key, int)
                                or not 0 <= key < 2**63):
            raise BadRequestError(f"key must be an integer in [0, 2**63), got {key!r}")
        with self._lock:
            self._expire()
            held = sum(1 for holder in self.owners.values() if holder == owner)
            if self.max_streams_per_owner is not None and held >= self.max_streams_per_owner:
                raise RuntimeError(f"this client holds {held} streams, the most one client may "
                                   f"hold (max_streams_per_owner); close one first")
            if not self.free:
                raise RuntimeError(f"all {self.capacity} streams are in use; close one first")
            stream = self.free.pop()
            try:
                first = self.generator.prime(tokens, cond, streams=[stream], bias=bias,
                                             keys=None if key is None else [key])
            except BaseException:
                self.free.append(stream)
                raise
            self.owners[stream] = owner
            self.last_used[stream] = self.clock()
            self.expired.pop((stream, owner), None)
            return stream, int(first[0])

    def close(self, stream: int, owner: object = None) -> None:
        """End a stream: its slot is free for the next :meth:`open`."""
        with self._lock:
            self._check(stream, owner)
            self._release(stream)

    def _release(self, stream: int) -> None:
        self.pending.pop(stream, None)
        self._delivered.pop(stream, None)
        self._failed.pop(stream, None)
        del self.owners[stream], self.last_used[stream]
        self.free.append(stream)

    def _expire(self) -> None:
        """Close the streams idle for longer than ``idle_timeout`` (not those in a round;
        looked for at most once a second, so a stream may outlive it by up to a second)."""
        if self.idle_timeout is None:
            return
        now = self.clock()
        if now < self._next_sweep:
            return
        self._next_sweep = now + min(1.0, self.idle_timeout / 4)
        for stream, used in list(self.last_used.items()):
            if now - used > self.idle_timeout and stream not in self.pending \
                    and stream not in self._delivered:
                self.expired[(stream, self.owners[stream])] = now - used
                while len(self.expired) > 4 * self.capacity:  # owners that never came back
                    self.expired.popitem(last=False)
                self._release(stream)

    def _check(self, stream: int, owner: object) -> None:
        self._expire()
        if isinstance(stream, bool) or not isinstance(stream, int):
            raise KeyError(f"stream {stream!r} is not open")
        if stream not in self.owners or self.owners[stream] != owner:
            try:
                idle = self.expired.pop((stream, owner))
            except (KeyError, TypeError):  # TypeError: an owner that cannot be a key
                idle = None
            if idle is not None:
                raise StreamExpiredError(
                    f"stream {stream} was closed after {idle:.0f} s without use (idle_timeout "
                    f"{self.idle_timeout:g} s); open a new one")
        if stream not in self.owners:
            raise KeyError(f"stream {stream!r} is not open")
        if self.owners[stream] != owner:
            raise PermissionError(f"stream {stream} belongs to another client")
        self.last_used[stream] = self.clock()

    def _claim(self, driver: int) -> None:
        """The round is collected by ``driver`` (a thread, or ``_COMBINED`` for step())."""
        if self._driver is None:
            self._driver = driver
        elif self._driver != driver:
            raise ConcurrentUseError(
                "another thread is collecting this round (submit/run belong to one thread "
                "at a time); threads that each drive their own streams call step()")

    def check_submit(self, stream: int, token: int, cond: ConditionTensors, bias=None,
                     owner: object = None) -> int:
        """Raise unless :meth:`submit` would accept the request; the token as an int."""
        with self._lock:
            return self._check_submit(stream, token, cond, bias, owner)

    def _check_submit(self, stream: int, token: int, cond: ConditionTensors, bias,
                      owner: object) -> int:
        self._check(stream, owner)
        if stream in self.pending:
            raise BadRequestError(f"stream {stream} already submitted this round")
        try:
            token = operator.index(token) if not isinstance(token, bool) else None
        except TypeError:
            token = None
        if token is None:
            raise BadRequestError("token must be an integer")
        if not 0 <= token < VOCAB_SIZE:
            raise BadRequestError(f"token must be in [0, {VOCAB_SIZE}), got {token}")
        check_request(self.config, torch.tensor([[token]]), cond, bias)
        return token

    def submit(self, stream: int, token: int, cond: ConditionTensors, bias=None,
               owner: object = None) -> None:
        """Queue the token a stream just applied, its live conditions (1, 1) and optionally
        biases of its next token's parts (plan guidance: :meth:`LMM.sample`, batch of 1).
        The request is checked first: a bad one raises and is not queued."""
        with self._lock:
            token = self._check_submit(stream, token, cond, bias, owner)
            self._claim(threading.get_ident())
            self._queue([stream], torch.tensor([token]), cond)
            self.pending[stream] = bias

    def step(self, stream: int, token: int, cond: ConditionTensors, bias=None,
             owner: object = None) -> int:
        """:meth:`submit` and the stream's next token, safe from any number of threads (each
        driving its own streams): the first caller to find the token not yet served runs a
        round for every stream queued by then, so threads that arrive together share one
        forward."""
        with self._lock:
            token = self._check_submit(stream, token, cond, bias, owner)
            self._claim(_COMBINED)
            self._queue([stream], torch.tensor([token]), cond)
            self.pending[stream] = bias
        with self._lock:  # in between, other threads queue their requests
            if stream not in self._delivered and stream not in self._failed:
                try:
                    self._delivered.update(self._run())
                except BaseException:
                    self._failed.pop(stream, None)
                    raise
            if stream in self._failed:
                raise RuntimeError(f"the round serving stream {stream} failed") \
                    from self._failed.pop(stream)
            return self._delivered.pop(stream)

    def submit_round(self, streams: list[int], tokens: list[int], cond: ConditionTensors,
                     owner: object = None) -> None:
        """:meth:`submit` for several streams at once, without biases: ``tokens`` one per
        stream, ``cond`` (len(streams), 1), checked together. A bad request rejects the whole
        call and queues nothing."""
        with self._lock:
            for stream in streams:
                self._check(stream, owner)
                if stream in self.pending:
                    raise BadRequestError(f"stream {stream} already submitted this round")
            if len(set(streams)) != len(streams):
                raise BadRequestError("a stream appears twice in one submission")
            try:
                token_tensor = torch.tensor(tokens, dtype=torch.long).reshape(len(streams), 1)
            except (TypeError, ValueError, RuntimeError):
                raise BadRequestError("tokens must be one integer per stream") from None
            check_request(self.config, token_tensor, cond, None, streams=len(streams))
            self._claim(threading.get_ident())
            self._queue(streams, token_tensor[:, 0], cond)
            self.pending.update(dict.fromkeys(streams))

    def _queue(self, streams: list[int], tokens: torch.Tensor, cond: ConditionTensors) -> None:
        """Write checked requests (tokens (n,), conditions (n, 1)) into the round's rows."""
        if self.round_cond is None:
            self.round_cond = cond.map(
                lambda x: torch.zeros(self.capacity, *x.shape[1:], dtype=x.dtype))
        self.round_tokens[streams] = tokens
        self.round_cond.put(streams, cond)

    def withdraw(self, stream: int, owner: object = None) -> None:
        """The stream's last token was not used (an agent's order came first, see
        :meth:`mars_gym.sim.flows.lmm.LMMFlow.observe`): its next draw reuses that noise."""
        with self._lock:
            self._check(stream, owner)
            self.generator.noise.withdraw([stream])

    def run(self) -> dict[int, int]:
        """One batched forward for every submitted stream; their next tokens. The round is
        over whatever happens: nothing stays queued after an error. Only the thread that
        submitted the round's first request may run it (:class:`ConcurrentUseError`)."""
        with self._lock:
            if self.pending:
                self._claim(threading.get_ident())
            return self._run()

    def _run(self) -> dict[int, int]:
        if not self.pending:
            self._driver = None
            return {}
        streams = list(self.pending)
        try:
            return self._serve()
        except BaseException as error:
            if self._driver == _COMBINED:  # the other waiting threads learn of it
                self._failed.update(dict.fromkeys(streams, error))
            raise
        finally:
            self.pending.clear()
            self._driver = None

    def _serve(self) -> dict[int, int]:
        streams = list(self.pending)
        active = torch.zeros(self.capacity, dtype=torch.bool)
        active[streams] = True
        biased = [bias for bias in self.pending.values() if bias is not None]
        bias = None
        if biased:  # the unbiased streams of the round get zeros
            bias = [torch.zeros(self.capacity, *part.shape[1:]) for part in biased[0]]
            for stream, stream_bias in self.pending.items():
                if stream_bias is not None:
                    for part, value in zip(bias, stream_bias, strict=True):
                        part[stream] = value[0]
        # a paused stream's row holds an old request (or zeros): read by no stream's result
        assert self.round_cond is not None
        out = self.generator.step(self.round_tokens, self.round_cond, active, bias).tolist()
        self.rounds += 1
        self.tokens_served += len(streams)
        self.largest_round = max(self.largest_round, len(streams))
        return {stream: out[stream] for stream in streams}
