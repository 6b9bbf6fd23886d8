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
from mars_gym.sim.flows.base import BackgroundFlow
from mars_gym.sim.flows.hawkes import HawkesCalibration, HawkesFlow
from mars_gym.sim.flows.noise import NoiseFlow
from mars_gym.tokens import CANCEL_ORDER, events_to_orders

FLOWS = ("lmm", "ensemble", "replay", "noise", "hawkes")
LMM_HISTORY_EVENTS = 4_000  # real events handed to the LMM flow before the start
PLANNER_HISTORY_NS = 64 * 60 * 1_000_000_000  # real minutes handed to the batch model
ENSEMBLE_GUIDANCE = 1.0  # tilt towards the chosen minutes (benchmarks/control.py: 3 overshoots)


def calibration(name: str, train: EventStream):
    """What a model-free baseline flow learns from a training stream."""
    if name == "noise":
        orders = events_to_orders(train)
        sizes = orders["size"][orders["kind"] != CANCEL_ORDER]
        return {"interval_ns": int(np.diff(orders["time_ns"]).mean()),
                "volume_scale": float(np.median(sizes))}
    if name == "hawkes":
        return HawkesCalibration.fit(train)
    raise ValueError(f"unknown baseline flow {name!r}; choose 'noise' or 'hawkes'")


def _build(name: str, fitted) -> BackgroundFlow:
    return NoiseFlow(**fitted) if name == "noise" else HawkesFlow(fitted)


def calibrated_flow(name: str, train: EventStream) -> BackgroundFlow:
    """A new model-free baseline flow (``noise`` or ``hawkes``) calibrated on ``train``."""
    return _build(name, calibration(name, train))


@lru_cache(maxsize=16)
def _source_calibration(name: str, source: str, data_dir):
    return calibration(name, split_by_time(load_source(source, data_dir))["train"])


@lru_cache(maxsize=4)
def lmm_model(checkpoint: str = "default"):
    """The (model, tokenizer) of a checkpoint, loaded once per process."""
    from mars_gym.lmm.checkpoint import load_lmm

    return load_lmm(checkpoint)


@lru_cache(maxsize=2)
def batch_models(tokenizer: str = "default", model: str = "default"):
    """The batch tokenizer and batch model, loaded once per process."""
    from mars_gym.batch.tokenizer import BatchTokenizer
    from mars_gym.batch.train import load_batch_model

    return BatchTokenizer.load(tokenizer), load_batch_model(model)


def _planner(stream: EventStream, start: int, target, candidates: int, guidance: float,
             order_tokenizer):
    from mars_gym.batch.control import LivePlanner, PlanTarget
    from mars_gym.batch.tilt import PlanTilt

    if isinstance(target, str):
        target = PlanTarget.parse(target)
    tokenizer, model = batch_models()
    times = stream.events["time_ns"]
    first = int(np.searchsorted(times, int(times[start]) - PLANNER_HISTORY_NS)) if start else 0
    tilt = PlanTilt(order_tokenizer, tokenizer.imagers[stream.source.name],
                    stream.source.source_id, guidance)
    return LivePlanner(tokenizer, model, stream[first:start],
                       stream.open_mid or float(np.nanmean(stream.mid)), target, candidates, tilt)


def make_flow(name: str, source: str, start: int, data_dir=None, checkpoint: str = "default",
              history_orders: int = 256, recompute: bool = False,
              service=None, target=None, candidates: int = 16,
              guidance: float | None = None, observe_agents: bool = False) -> BackgroundFlow:
    """The flow ``name`` for ``source``, to run from event index ``start`` of its stream
    (``recompute``: the LMM without a KV cache, the MarS-style baseline of the benchmarks;
    ``service``: the LMM as one stream of a shared batched generator service; ``target``: for
    ``ensemble``, a :class:`~mars_gym.batch.control.PlanTarget` or its text, chosen among
    ``candidates`` drawn minutes; ``guidance``: for ``ensemble`` with a target, how strongly
    the orders are tilted towards the chosen minutes, default :data:`ENSEMBLE_GUIDANCE`;
    ``observe_agents``: for ``lmm`` and ``ensemble``, the agents' orders join the model's
    sequence, :meth:`~mars_gym.sim.flows.lmm.LMMFlow.observe`)."""
    if name not in FLOWS:
        raise ValueError(f"unknown flow {name!r}; choose one of {FLOWS}")
    if name != "ensemble" and (target is not None or guidance is not None):
        raise ValueError(f"only the ensemble flow takes a target or a guidance, not {name!r}")
    if observe_agents and name not in ("lmm", "ensemble"):
        raise ValueError(f"only the lmm and ensemble flows read the agents' orders, not {name!r}")
    stream = load_source(source, data_dir)
    if name == "replay":
        from mars_gym.sim.flows.replay import ReplayFlow

        return ReplayFlow(stream, start)
    if name in ("lmm", "ensemble"):
        from mars_gym.sim.flows.lmm import LMMFlow

        ensemble = name == "ensemble"
        model, tokenizer = lmm_model("ensemble" if ensemble and checkpoint == "default" else checkpoint)
        history = stream[max(0, start - LMM_HISTORY_EVENTS):start]
        planner = (_planner(stream, start, target, candidates,
                            ENSEMBLE_GUIDANCE if guidance is None else guidance, tokenizer)
                   if ensemble else None)
        return LMMFlow(model, tokenizer, history, history_orders=history_orders,
                       recompute=recompute, service=service, planner=planner,
                       observe_agents=observe_agents)
    return _build(name, _source_calibration(name, source, data_dir))  # a fresh flow each time
