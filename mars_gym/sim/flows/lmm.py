"""The LMM as a background flow: generated orders that react to the live book.

Warm start: the flow is primed with the real orders that precede the start (the last
``history_orders`` of ``history``) and then samples one order at a time with a KV cache
(:class:`mars_gym.lmm.generate.BatchedGenerator`). Before each new order the generator is fed
the previous order together with the conditions of the book as it is *now* — changed by this
flow and by anything else (an agent's orders included) — so the flow reacts to other agents.
A token is decoded against the live touch (:meth:`OrderTokenizer.decode`, by the tokenizer's
price reference; the last two-sided touch while a side is empty); its interval bin sets the
time of the order. A cancel token cancels a
background order near its price (:mod:`mars_gym.sim._event_loop`).

With a ``planner`` (:class:`mars_gym.ensemble.control.LivePlanner`) the flow is the ensemble: an
order model trained on minute plans reads, at every order, the plan the minute model drew (and,
with a target, chose) for the current minute, and the planner counts each emitted order into
the minute's image. When a target picked the plan, the planner's guidance tilts every draw
towards it (:mod:`mars_gym.ensemble.tilt`).

The flow's parts, each a small class of this module:

* where its tokens come from: :class:`OwnGeneration` (the flow draws alone, its own KV-cached
  generator) or :class:`ServedGeneration` (one stream of a shared
  :class:`~mars_gym.lmm.serve.GeneratorService`, drawn by a
  :class:`~mars_gym.sim.generation_round.GenerationRound`);
* :class:`TradeMemoryFeed`: a model whose tokenizer reads the trade memory (``trade_memory_s``,
  :mod:`mars_gym.tokens.trade_memory`) also conditions on the recent executed volume, the
  agents' trades included: the feed reads the executions from the recording of the flow's book,
  which the event loop hands it (:meth:`LMMFlow.follow`); it starts from the history's
  executions;
* :class:`AgentOrderReader`: with ``observe_agents`` the agents' orders join the sequence too
  (:meth:`LMMFlow.observe`, called by the simulator), as in MarS: the model reads them like any
  order, so what it generates next answers them, not only the book they changed.

The flow's settings are one :class:`LMMFlowOptions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lob_core import OrderBook
from mars_gym.data.schema import BOOK_TICKS, EventStream
from mars_gym.lmm.data import history_inputs, torch_conditions
from mars_gym.lmm.generate import BatchedGenerator
from mars_gym.lmm.model import LMM, ConditionTensors
from mars_gym.sim.flows.base import FlowOrder
from mars_gym.tokens import OrderTokenizer
from mars_gym.tokens.trade_memory import TradeMemory


@dataclass(frozen=True)
class LMMFlowOptions:
    """How an :class:`LMMFlow` draws."""

    temperature: float = 1.0  # of its own generator (a service samples at its own)
    top_k: int | None = None  # likewise
    history_orders: int | None = None  # real orders primed; None: half the model's context
    observe_agents: bool = False  # the agents' orders join the sequence (AgentOrderReader)
    # the event loop cancels orders behind the touch at this rate (per second), which a model
    # learnt from touch-only messages never does (mars_gym.data.unseen_cancels)
    unseen_cancel_rate: float = 0.0


class OwnGeneration:
    """The flow draws alone: a KV-cached generator of its own (one stream), new at every
    reset. Subclasses may draw from another generator (:meth:`new_generator`)."""

    service = None
    stream = None

    def __init__(self, model: LMM, temperature: float = 1.0, top_k: int | None = None) -> None:
        self.model, self.temperature, self.top_k = model, temperature, top_k

    def new_generator(self) -> Any:
        """The generator of an episode (``prime``, ``step`` and keyed ``noise``, as
        :class:`~mars_gym.lmm.generate.BatchedGenerator`)."""
        return BatchedGenerator(self.model, temperature=self.temperature, top_k=self.top_k)

    def start(self, tokens: torch.Tensor, cond: ConditionTensors, bias, key: int) -> int:
        """Prime a new generator with the history; the first token."""
        self.generator = self.new_generator()
        return int(self.generator.prime(tokens, cond, bias=bias, keys=[key])[0])

    def draw(self, token: int, cond: ConditionTensors, bias) -> int:
        """The token after ``token`` (the order just applied), read with its conditions."""
        return int(self.generator.step(torch.tensor([token]), cond, bias=bias)[0])

    def withdraw(self) -> None:
        """The last token was not used: the next draw reuses its noise."""
        assert self.generator.noise is not None  # keyed noise: set by prime()
        self.generator.noise.withdraw([0])

    def close(self) -> None:
        """Nothing to give back."""


class ServedGeneration:
    """The flow is one stream of a shared ``service`` (a
    :class:`~mars_gym.lmm.serve.GeneratorService`): when it needs a token it leaves a request
    that a generation round submits (:meth:`LMMFlow.submit_waiting`) and answers
    (:meth:`LMMFlow.deliver`)."""

    def __init__(self, service) -> None:
        self.service = service
        self.stream: int | None = None

    def start(self, tokens: torch.Tensor, cond: ConditionTensors, bias, key: int) -> int:
        """Open a stream primed with the history (the previous episode's is closed); its first
        token."""
        if self.stream is not None:
            self.service.close(self.stream)
        self.stream, first = self.service.open(tokens, cond, bias, key=key)
        return first

    def withdraw(self) -> None:
        """The stream's last token was not used: its next draw reuses that noise."""
        self.service.withdraw(self.stream)

    def close(self) -> None:
        """Give the stream back to the service."""
        if self.stream is not None:
            self.service.close(self.stream)
            self.stream = None


class TradeMemoryFeed:
    """The trade memory of the flow's book (:class:`~mars_gym.tokens.trade_memory.TradeMemory`
    on the tokenizer's timescales), started from a real history and fed with the executions the
    book's recording holds."""

    def __init__(self, tokenizer: OrderTokenizer) -> None:
        self.memory = TradeMemory(tokenizer.trade_memory_s)
        self.recording = None  # the book's RecordingBook, once followed
        self.seen = 0  # the recording's events counted so far

    def start(self, history_events: np.ndarray, at_ns: int) -> None:
        """The memory of the history's executions at ``at_ns``; no recording until
        :meth:`follow`."""
        self.recording = None
        self.memory.start(history_events, at_ns)

    def follow(self, recording) -> None:
        """Count what ``recording`` (a :class:`~mars_gym.data.recording.RecordingBook`) holds
        from now on."""
        self.recording, self.seen = recording, len(recording)

    @property
    def following(self) -> bool:
        return self.recording is not None

    def at(self, time_ns: int) -> np.ndarray:
        """The memory at ``time_ns``, ``(1, timescales)``, counting what the recording holds
        that was not counted yet."""
        if self.recording is not None:
            self.memory.add(self.recording.events_since(self.seen))
            self.seen = len(self.recording)
        return self.memory.at(time_ns)[None]


class AgentOrderReader:
    """The ``observe_agents`` option's memory: the time and random state before the flow's
    last draw and the order it drew, which an agent's order that reaches the book first
    replaces (:meth:`LMMFlow.observe`)."""

    def __init__(self) -> None:
        self.before: tuple[int, Mapping[str, Any]] | None = None  # time, rng state before the draw
        self.drawn: FlowOrder | None = None

    def before_draw(self, time_ns: int, rng: np.random.Generator) -> None:
        self.before = (time_ns, rng.bit_generator.state)

    def withdraw(self, rng: np.random.Generator) -> tuple[int, FlowOrder]:
        """Restore ``rng`` to before the last draw; that draw's time and order."""
        assert self.before is not None and self.drawn is not None
        previous_ns, rng.bit_generator.state = self.before
        return previous_ns, self.drawn


class LMMFlow:
    """A background flow drawing from an LMM ``model`` read through ``tokenizer``, primed with
    ``history`` (see the module docstring). With ``service`` (a shared
    :class:`~mars_gym.lmm.serve.GeneratorService`) the flow is one stream of a batch: when it
    needs a token, ``next_order`` returns ``None`` and leaves ``request = (stream, last_token,
    live tick state, trade memory or None)``; a
    :class:`~mars_gym.sim.generation_round.GenerationRound` submits the waiting flows' requests
    with :meth:`submit_waiting`, runs the service once for every waiting stream and hands each
    its token with :meth:`deliver`. Without one it draws alone. ``planner``: the ensemble's
    (see the module docstring)."""

    def __init__(self, model: LMM, tokenizer: OrderTokenizer, history: EventStream,
                 options: LMMFlowOptions | None = None, service=None, planner=None) -> None:
        options = options or LMMFlowOptions()
        if tokenizer.book_features != model.config.book_features:
            raise ValueError(f"the tokenizer gives {tokenizer.book_features} book features, the "
                             f"model reads {model.config.book_features}")
        if (model.config.plan_features > 0) != (planner is not None):
            raise ValueError("an ensemble order model (plan_features > 0) needs a planner, and "
                             "a planner needs an ensemble order model")
        self.model, self.tokenizer, self.history = model, tokenizer, history
        self.history_orders = options.history_orders or model.config.context // 2
        self.generation: OwnGeneration | ServedGeneration = (
            OwnGeneration(model, options.temperature, options.top_k) if service is None
            else ServedGeneration(service))
        self.request: tuple | None = None
        self.last_token = 0  # the previous order's token
        self.next_token = 0  # the token of the order drawn next (once ``fed``)
        self.planner = planner
        self.agent_orders = AgentOrderReader() if options.observe_agents else None
        self.unseen_cancel_rate = options.unseen_cancel_rate  # read by the event loop
        self.source = history.source.source_id
        self.open_mid = history.open_mid or float(np.nanmean(history.mid))
        self.trade_feed = TradeMemoryFeed(tokenizer) if tokenizer.reads_trades else None

    @property
    def service(self):
        """The shared generator service this flow draws from (``None``: it draws alone)."""
        return self.generation.service

    @property
    def stream(self) -> int | None:
        """The flow's stream in its service (``None`` without one or once closed)."""
        return self.generation.stream

    @property
    def observe_agents(self) -> bool:
        """Whether the simulator hands this flow the agents' orders (:meth:`observe`)."""
        return self.agent_orders is not None

    def follow(self, recording) -> None:
        """Read the executions on this flow's book from ``recording`` (a
        :class:`~mars_gym.data.recording.RecordingBook` of the book it was reset on), from
        what it holds now on; the event loop calls this after :meth:`reset`."""
        if self.trade_feed is not None:
            self.trade_feed.follow(recording)

    def _memory(self) -> np.ndarray | None:
        """The trade memory now, ``(1, timescales)`` (``None``: the model does not read it)."""
        return None if self.trade_feed is None else self.trade_feed.at(self.time_ns)

    def _live(self):
        state = self.book.tick_state(BOOK_TICKS)
        return state, self._conditions(state, self._memory())

    def _conditions(self, state, memory):
        return self.tokenizer.live_conditions(state, self.time_ns, self.open_mid, self.source,
                                              memory)

    def _track_touch(self, state) -> None:
        """Follow the live touch; a one-sided book keeps the last two-sided touch (and mid) as
        the reference."""
        bid, ask = int(state[0]), int(state[1])
        if bid and ask:
            self.last_touch = (bid, ask)
            self.last_mid = (bid + ask) / 2

    def _inputs(self, live):
        """The live conditions as model inputs (with the current minute's plan) and the
        biases of the next token's parts (plan guidance; ``None`` without)."""
        if self.planner is None:
            return torch_conditions(live), None
        plan = self.planner.plan(self.time_ns, self.last_mid)
        return torch_conditions(live, plan), self.planner.bias(self.last_mid)

    def reset(self, seed: int, book: OrderBook, start_ns: int) -> None:
        self.book, self.time_ns = book, int(start_ns)
        self.last_mid = self.open_mid
        self.last_touch = (np.floor(self.open_mid - 0.5), np.floor(self.open_mid) + 1)
        self.rng = np.random.default_rng(seed)
        if self.trade_feed is not None:  # followed again once the event loop hands it over
            self.trade_feed.start(self.history.events, self.time_ns)
        state, live = self._live()
        plans, bias = None, None
        if self.planner is not None:
            self._track_touch(state)
            plans = self.planner.reset(seed, self.time_ns, self.last_mid)
            bias = self.planner.bias(self.last_mid)
        tokens, cond = history_inputs(self.tokenizer, self.history, live, self.history_orders,
                                      plans)
        self.next_token = self.generation.start(tokens, cond, bias, seed)
        self.fed = True  # the token about to be decoded has already been sampled
        self.request = None

    def close(self) -> None:
        """Give this flow's stream back to its service (nothing without a service)."""
        self.generation.close()
        self.request = None

    @staticmethod
    def submit_waiting(flows: list[LMMFlow], service) -> None:
        """Submit the requests of waiting ``flows`` (each has a ``request``) to their shared
        ``service``. The live conditions of the flows without a planner are computed together,
        one array call per source, and submitted in one checked call (the same numbers as one
        flow at a time: every feature is elementwise); an ensemble flow submits alone, with its
        minute's plan and guidance."""
        groups: dict[tuple[int, int], list[tuple[LMMFlow, tuple]]] = {}
        for flow in flows:
            if flow.request is None:
                raise RuntimeError(f"stream {flow.stream} has no request to submit")
            if flow.planner is not None:
                stream, token, state, memory = flow.request
                service.submit(stream, token, *flow._inputs(flow._conditions(state, memory)))
            else:
                key = (id(flow.tokenizer), flow.source)
                groups.setdefault(key, []).append((flow, flow.request))
        for group in groups.values():
            first = group[0][0]
            memory = (np.concatenate([request[3] for _, request in group])
                      if first.trade_feed is not None else None)
            live = first.tokenizer.live_conditions(
                np.stack([request[2] for _, request in group]),
                np.array([flow.time_ns for flow, _ in group]),
                np.array([flow.open_mid for flow, _ in group]), first.source, memory)
            service.submit_round([request[0] for _, request in group],
                                 [request[1] for _, request in group], torch_conditions(live))

    def deliver(self, token: int) -> None:
        """The token the service sampled for this stream's pending request."""
        self.next_token, self.fed, self.request = int(token), True, None

    def next_order(self) -> FlowOrder | None:
        if not self.fed:  # the next token needs the live conditions
            if self.trade_feed is not None and not self.trade_feed.following:
                raise RuntimeError("this model reads the trades on its book: run the flow in an "
                                   "event loop (Simulator, run_alone), which hands it the "
                                   "book's recording (follow)")
            state, memory = self.book.tick_state(BOOK_TICKS), self._memory()
            if isinstance(self.generation, ServedGeneration):  # a round draws it: submit_waiting()
                self.request = (self.stream, self.last_token, state, memory)
                return None
            cond, bias = self._inputs(self._conditions(state, memory))
            self.next_token = self.generation.draw(self.last_token, cond, bias)
        else:  # sampled already (primed, or delivered by the service): the touch is enough
            state = self.book.tick_state(BOOK_TICKS)
        token = self.next_token
        self._track_touch(state)
        mid = self.last_mid
        if self.agent_orders is not None:  # what observe() restores if an agent's order is first
            self.agent_orders.before_draw(self.time_ns, self.rng)
        kind, side, price, size, interval_ns = self.tokenizer.decode_one(
            token, *self.last_touch, self.source, self.rng)
        self.time_ns += interval_ns
        self.last_token, self.fed = self.next_token, False
        flow_order = FlowOrder(self.time_ns, kind, side, price, size)
        if self.planner is not None:
            self.planner.plan(self.time_ns, mid)  # the order may open a new minute
            self.planner.record(flow_order.kind, flow_order.price, flow_order.size)
        if self.agent_orders is not None:
            self.agent_orders.drawn = flow_order
        return flow_order

    def observe(self, order: FlowOrder, touch: tuple[int, int] | None) -> None:
        """An agent's order reached the book (at ``order.time_ns``, seen on a book with touch
        ``(bid, ask)``; None when a side was empty) before the order this flow drew last, which
        was not applied. As in MarS, the agent's order joins
        the flow's sequence of orders: the drawn order is withdrawn — its sampling noise and
        decoding draws are used again by the next draw (common random numbers: where the
        agent's order changes little, the flow draws what it would have drawn), its count in
        the minute's plan is taken back — and the next order is drawn after the agent's."""
        if self.agent_orders is None:
            raise RuntimeError("this flow does not read agents' orders; build it with "
                               "LMMFlowOptions(observe_agents=True)")
        if self.fed:
            raise RuntimeError("observe() needs a drawn order to withdraw; call next_order()")
        previous_ns, drawn = self.agent_orders.withdraw(self.rng)
        if self.planner is not None:
            self.planner.record(drawn.kind, drawn.price, drawn.size, count=-1)
        self.generation.withdraw()
        self.last_token = int(self.tokenizer.encode_order(
            order.kind, order.side, order.price, order.size, order.time_ns - previous_ns,
            *(self.last_touch if touch is None else touch), self.source))
        self.time_ns = int(order.time_ns)
