"""Build any background flow by name for a source, warm-started at an event of its stream.

Model-free flows are calibrated on the source's training split only (cached per source): the
noise agent's interval is the mean time between training orders and its size unit the median
training order size; the Hawkes flow is fitted by maximum likelihood. The ``lmm`` flow loads the
shipped default model (or ``checkpoint``) and is primed with the real orders before ``start``;
``replay`` replays the real orders from ``start`` on. ``ensemble`` is the two-series model: the
shipped ensemble order model reading minute plans that the shipped minute model draws from the
real minutes before the start and the generated ones after it (steered towards ``target``, when
given, and its orders tilted towards the chosen minute: the planner is
:func:`mars_gym.ensemble.flow.live_planner`'s).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mars_gym.data import load_source, split_by_time
from mars_gym.data.orders import CANCEL_ORDER, events_to_orders
from mars_gym.data.schema import EventStream
from mars_gym.sim.flow_names import ENSEMBLE, HAWKES, LMM, NOISE, REPLAY
from mars_gym.sim.flows.base import BackgroundFlow
from mars_gym.sim.flows.hawkes import HawkesCalibration, HawkesFlow
from mars_gym.sim.flows.noise import NoiseFlow
from mars_gym.sim.flows.registry import register_flow, resolve_flow

LMM_HISTORY_EVENTS = 4_000  # real events handed to the LMM flow before the start


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


def _planner(stream: EventStream, start: int, order_tokenizer, **options):
    """The live planner of the ensemble flow: :func:`mars_gym.ensemble.flow.live_planner`
    (imported here: the minute model's code and torch load only for the ensemble)."""
    from mars_gym.ensemble.flow import live_planner

    return live_planner(stream, start, order_tokenizer, **options)


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
    planner_options = {"target": target, "candidates": candidates, "guidance": guidance}
    return _lmm_flow(source, start, data_dir, checkpoint or "ensemble",
                     planner_options=planner_options,
                     **lmm_options)


LMM_OPTIONS = ("checkpoint", "history_orders", "service", "observe_agents", "unseen_cancels")
register_flow(LMM, _lmm_flow, options=LMM_OPTIONS, checkpoint="default",
              description="the Large Market Model, primed with the real orders before the start")
register_flow(ENSEMBLE, _ensemble_flow,
              options=(*LMM_OPTIONS, "target", "candidates", "guidance"), checkpoint="ensemble",
              description="the order model reading minute plans of the minute model")
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
    :class:`~mars_gym.ensemble.control.PlanTarget` or its text, chosen among ``candidates``
    drawn minutes) and ``guidance`` (how strongly the orders are tilted towards the chosen
    minutes, default :data:`mars_gym.ensemble.flow.ENSEMBLE_GUIDANCE`)."""
    return resolve_flow(flow, source, start, data_dir, **options)
