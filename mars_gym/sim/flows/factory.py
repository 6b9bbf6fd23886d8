"""Build any background flow by name for a source, warm-started at an event of its stream.

Model-free flows are calibrated on the source's training split only (cached per source): the
noise agent's interval is the mean time between training orders and its size unit the median
training order size; the Hawkes flow is fitted by maximum likelihood. The ``lmm`` flow loads the
shipped default model (or ``checkpoint``) and is primed with the real orders before ``start``;
``replay`` replays the real orders from ``start`` on. ``ensemble`` is the two-series model: the
shipped ensemble order model reading minute plans that the shipped batch model draws from the
real minutes before the start and the generated ones after it (steered towards ``target``, when
given: :mod:`mars_gym.batch.control`, and its orders tilted towards the chosen minute with plan
guidance :data:`ENSEMBLE_GUIDANCE` unless told otherwise: :mod:`mars_gym.batch.tilt`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mars_gym.data import load_source, split_by_time
from mars_gym.data.schema import EventStream
from mars_gym.sim.flow_names import ENSEMBLE, HAWKES, LMM, NOISE, REPLAY
from mars_gym.sim.flows.base import BackgroundFlow
from mars_gym.sim.flows.hawkes import HawkesCalibration, HawkesFlow
from mars_gym.sim.flows.noise import NoiseFlow
from mars_gym.sim.flows.registry import register_flow, resolve_flow
from mars_gym.tokens import CANCEL_ORDER, events_to_orders

LMM_HISTORY_EVENTS = 4_000  # real events handed to the LMM flow before the start
PLANNER_HISTORY_NS = 64 * 60 * 1_000_000_000  # real minutes handed to the batch model
ENSEMBLE_GUIDANCE = 1.0  # tilt towards the chosen minutes (benchmarks/control.py: 3 overshoots)


def calibration(name: str, train: EventStream):
    """What a model-free baseline flow learns from a training stream."""
    if name == NOISE:
        orders = events_to_orders(train)
        sizes = orders["size"][orders["kind"] != CANCEL_ORDER]
        return {"interval_ns": int(np.diff(orders["time_ns"]).mean()),
                "volume_scale": float(np.median(sizes))}
    if name == HAWKES:
        return HawkesCalibration.fit(train)
    raise ValueError(f"unknown baseline flow {name!r}; choose 'noise' or 'hawkes'")


def _build(name: str, fitted) -> BackgroundFlow:
    return NoiseFlow(**fitted) if name == NOISE else HawkesFlow(fitted)


@lru_cache(maxsize=16)
def _source_calibration(name: str, source: str, data_dir):
    return calibration(name, split_by_time(load_source(source, data_dir))["train"])


@lru_cache(maxsize=16)
def unseen_cancel_rate(source: str, data_dir=None) -> float:
    """The hazard of unseen cancels behind the touch on a source's training split
    (:mod:`mars_gym.data.unseen_cancels`), measured once per process."""
    from mars_gym.data.unseen_cancels import fit_unseen_cancel_rate

    return fit_unseen_cancel_rate(split_by_time(load_source(source, data_dir))["train"])


@lru_cache(maxsize=4)
def lmm_model(checkpoint: str = "default"):
    """The (model, tokenizer) of a checkpoint, loaded once per process."""
    from mars_gym.lmm.checkpoint import load_lmm

    return load_lmm(checkpoint)


@lru_cache(maxsize=2)
def batch_models(tokenizer: str = "default", model: str = "default"):
    """The batch tokenizer and batch model, loaded once per process."""
    from mars_gym.batch.model import load_batch_model
    from mars_gym.batch.tokenizer import BatchTokenizer

    return BatchTokenizer.load(tokenizer), load_batch_model(model)


def _planner(stream: EventStream, start: int, target, candidates: int, guidance: float,
             order_tokenizer):
    """The live planner of the ensemble flow (see the module docstring)."""
    from mars_gym.batch.control import LivePlanner, PlanTarget
    from mars_gym.batch.tilt import PlanTilt

    if isinstance(target, str):
        target = PlanTarget.parse(target)
    tokenizer, model = batch_models()
    times = stream.events["time_ns"]
    first = int(np.searchsorted(times, int(times[start]) - PLANNER_HISTORY_NS)) if start else 0
    tilt = PlanTilt(order_tokenizer, tokenizer.imager_for(stream.source),
                    stream.source.source_id, guidance)
    return LivePlanner(tokenizer, model, stream[first:start],
                       stream.open_mid or float(np.nanmean(stream.mid)), target, candidates, tilt)


def _replay_flow(source: str, start: int, data_dir=None) -> BackgroundFlow:
    from mars_gym.sim.flows.replay import ReplayFlow

    return ReplayFlow(load_source(source, data_dir), start, _source_orders(source, data_dir))


@lru_cache(maxsize=8)
def _source_orders(source: str, data_dir=None) -> np.ndarray:
    """The orders of a whole source, parsed once per process (its stream is cached too)."""
    return events_to_orders(load_source(source, data_dir))


def _baseline_builder(name: str):
    def build(source: str, start: int, data_dir=None) -> BackgroundFlow:
        return _build(name, _source_calibration(name, source, data_dir))  # a fresh flow

    return build


def _lmm_flow(source: str, start: int, data_dir=None, checkpoint: str | None = None,
              history_orders: int = 256, service=None,
              observe_agents: bool = False, unseen_cancels: bool = True,
              planner_options: dict | None = None) -> BackgroundFlow:
    from mars_gym.lmm.sources import bind_source
    from mars_gym.sim.flows.lmm import LMMFlow, LMMFlowOptions

    model, tokenizer = lmm_model(checkpoint or "default")
    tokenizer, stream = bind_source(tokenizer, load_source(source, data_dir),
                                    checkpoint or "default")
    history = stream[max(0, start - LMM_HISTORY_EVENTS):start]
    planner = (None if planner_options is None else
               _planner(stream, start, order_tokenizer=tokenizer, **planner_options))
    options = LMMFlowOptions(
        history_orders=history_orders, observe_agents=observe_agents,
        unseen_cancel_rate=unseen_cancel_rate(source, data_dir) if unseen_cancels else 0.0)
    return LMMFlow(model, tokenizer, history, options, service=service, planner=planner)


def _ensemble_flow(source: str, start: int, data_dir=None, checkpoint: str | None = None,
                   target=None, candidates: int = 16, guidance: float | None = None,
                   **lmm_options) -> BackgroundFlow:
    planner_options = {"target": target, "candidates": candidates,
                       "guidance": ENSEMBLE_GUIDANCE if guidance is None else guidance}
    return _lmm_flow(source, start, data_dir, checkpoint or "ensemble",
                     planner_options=planner_options,
                     **lmm_options)


LMM_OPTIONS = ("checkpoint", "history_orders", "service", "observe_agents", "unseen_cancels")
register_flow(LMM, _lmm_flow, options=LMM_OPTIONS, checkpoint="default",
              description="the Large Market Model, primed with the real orders before the start")
register_flow(ENSEMBLE, _ensemble_flow,
              options=(*LMM_OPTIONS, "target", "candidates", "guidance"), checkpoint="ensemble",
              description="the order model reading minute plans of the batch model")
register_flow(REPLAY, _replay_flow, description="the recorded orders from the start on")
register_flow(NOISE, _baseline_builder(NOISE),
              description="random orders around the touch (training rate and size)")
register_flow(HAWKES, _baseline_builder(HAWKES),
              description="a Hawkes process fitted on the training split")


def make_flow(flow, source: str, start: int, data_dir=None, **options) -> BackgroundFlow:
    """The flow ``flow`` (a registered name, a builder or an instance:
    :func:`~mars_gym.sim.flows.registry.resolve_flow`) for ``source``, to run from event index
    ``start`` of its stream. Options of the built-in flows: ``lmm`` and ``ensemble`` take
    ``checkpoint`` (a name or a path; ``None``: the flow's shipped model), ``history_orders``,
    ``service`` (one stream of a shared batched generator service), ``observe_agents`` (the
    agents' orders join the model's sequence, :meth:`~mars_gym.sim.flows.lmm.LMMFlow.observe`)
    and ``unseen_cancels`` (default True:
    orders behind the touch are cancelled at the rate the source's touch-only messages hide,
    :mod:`mars_gym.data.unseen_cancels`; none for sources that show deeper levels);
    ``ensemble`` also ``target`` (a
    :class:`~mars_gym.batch.control.PlanTarget` or its text, chosen among ``candidates``
    drawn minutes) and ``guidance`` (how strongly the orders are tilted towards the chosen
    minutes, default :data:`ENSEMBLE_GUIDANCE`)."""
    return resolve_flow(flow, source, start, data_dir, **options)
