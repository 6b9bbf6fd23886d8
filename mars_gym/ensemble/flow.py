"""The minute half of the ensemble flow, built for a stream: the shipped minute tokenizer and
minute model (loaded once per process) following the generated stream minute by minute from
the real minutes before the start (:class:`~mars_gym.ensemble.control.LivePlanner`), steered
towards a target when given (:class:`~mars_gym.ensemble.control.PlanTarget`), its orders
tilted towards the chosen minutes with plan guidance :data:`ENSEMBLE_GUIDANCE` unless told
otherwise (:mod:`mars_gym.ensemble.tilt`).

The flow itself is the LMM flow reading the planner's minute plans
(:class:`mars_gym.sim.flows.lmm.LMMFlow`); the ``ensemble`` flow of
:mod:`mars_gym.sim.flows.factory` joins the two.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mars_gym.data.schema import EventStream
from mars_gym.ensemble.control import LivePlanner, PlanTarget
from mars_gym.ensemble.tilt import PlanTilt
from mars_gym.minutes.model import MinuteModel, load_minute_model
from mars_gym.minutes.tokenizer import MinuteTokenizer
from mars_gym.tokens.order_tokenizer import OrderTokenizer

PLANNER_HISTORY_NS = 64 * 60 * 1_000_000_000  # real minutes handed to the minute model
ENSEMBLE_GUIDANCE = 1.0  # tilt towards the chosen minutes (benchmarks/control.py: 3 overshoots)


@lru_cache(maxsize=2)
def minute_models(tokenizer: str = "default", model: str = "default"
                 ) -> tuple[MinuteTokenizer, MinuteModel]:
    """The minute tokenizer and minute model, loaded once per process."""
    return MinuteTokenizer.load(tokenizer), load_minute_model(model)


def live_planner(stream: EventStream, start: int, order_tokenizer: OrderTokenizer,
                 target: PlanTarget | str | None = None, candidates: int = 16,
                 guidance: float | None = None) -> LivePlanner:
    """The live planner of an ensemble flow run from event ``start`` of ``stream`` whose
    order model reads ``order_tokenizer``'s tokens: ``target`` (a :class:`PlanTarget` or its
    text) picks among ``candidates`` drawn minutes, ``guidance`` (None:
    :data:`ENSEMBLE_GUIDANCE`) tilts the orders towards the picks."""
    if isinstance(target, str):
        target = PlanTarget.parse(target)
    tokenizer, model = minute_models()
    times = stream.events["time_ns"]
    first = int(np.searchsorted(times, int(times[start]) - PLANNER_HISTORY_NS)) if start else 0
    tilt = PlanTilt(order_tokenizer, tokenizer.imager_for(stream.source),
                    stream.source.source_id, ENSEMBLE_GUIDANCE if guidance is None else guidance)
    return LivePlanner(tokenizer, model, stream[first:start],
                       stream.open_mid or float(np.nanmean(stream.mid)), target, candidates, tilt)
