"""A market scenario: where an episode starts and what market it runs in, for any task.

The scenario owns what every task on a simulated market needs and none should rebuild: the
source's stream and split, the range of start events and their sampling, the background flow
(a registered name, a builder or an instance: :mod:`mars_gym.sim.flows.registry`), the depth
ladder of level-1 sources, the agents' latency and the simulator. A task (execution, market
making, a scheduled impact study) asks it for a started simulator and sends orders to it.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from mars_gym.data import load_source
from mars_gym.data.default_market import DEFAULT_SOURCE
from mars_gym.data.splits import SPLIT_FRACTIONS, split_bounds
from mars_gym.envs.arguments import real_number, whole_number
from mars_gym.sim.depth import source_ladder
from mars_gym.sim.flows.base import BatchedFlow, implements
from mars_gym.sim.flows.factory import make_flow
from mars_gym.sim.flows.registry import check_flow, check_flow_options, flow_names, flow_spec
from mars_gym.sim.latency import ConstantLatency, LogNormalLatency
from mars_gym.sim.simulator import Simulator


class MarketScenario:
    """The market of an episode (see the module docstring).

    Parameters
    ----------
    source : str
        A source of :mod:`mars_gym.data.sources` (default: ``DEFAULT``, the embedded market).
    split : str
        Where episodes start: "train", "val" or "test".
    horizon_ns : int
        The episode's length: starts leave a full horizon of the split after them and, where
        the split is long enough, one horizon of its own history before them.
    flow : str, builder or flow instance
        The background flow; ``flow_options`` are passed to a registered flow's builder
        (``None`` values left out: :func:`~mars_gym.sim.flows.registry.resolve_flow`).
    latency_ns, latency_sigma
        Agent order latency (its median when sampled); ``latency_sigma > 0``: log-normal with
        this shape, drawn per order.
    depth_ladder : bool
        Keep levels behind the touch for sources whose data shows fewer than 10
        (:mod:`mars_gym.sim.depth`).
    generator_service
        A shared batched LMM generator (set by the vector envs); handed to flows that
        can draw from one.
    """

    def __init__(self, source: str = DEFAULT_SOURCE.name, split: str = "train",
                 horizon_ns: int = 300 * 10**9, flow: Any = "lmm",
                 flow_options: dict[str, Any] | None = None,
                 latency_ns: int = 1_000_000, latency_sigma: float = 0.0,
                 depth_ladder: bool = True, data_dir=None, generator_service=None) -> None:
        latency_ns = whole_number("latency_ns", latency_ns, 0, 10**12)
        latency_sigma = real_number("latency_sigma", latency_sigma, 0.0, 10.0)
        check_flow(flow)
        self.flow_options = dict(flow_options or {})
        if isinstance(flow, str):
            self._check_options(flow)
        if split not in SPLIT_FRACTIONS:
            raise ValueError(f"split must be one of {tuple(SPLIT_FRACTIONS)}, got {split!r}")
        self.source, self.split, self.flow, self.data_dir = source, split, flow, data_dir
        self.depth_ladder = depth_ladder
        self.generator_service = generator_service
        self.latency = (LogNormalLatency(latency_ns, latency_sigma) if latency_sigma > 0
                        else ConstantLatency(latency_ns))
        # an order sent now has reached the book after this (a sampled latency: its 1e-6
        # tail aside)
        self.arrival_bound_ns = int(latency_ns * (np.exp(5 * latency_sigma) + 1)) + 1
        self.stream = load_source(source, data_dir)
        self.start_range = self._start_range(int(horizon_ns))
        self.sim: Simulator | None = None

    def _check_options(self, flow: str) -> None:
        options = self.flow_options
        for name in ("target", "guidance"):  # asked for as flow_target / flow_guidance
            if options.get(name) is not None and name not in flow_spec(flow).options:
                takers = tuple(n for n in flow_names() if name in flow_spec(n).options)
                raise ValueError(f"flow_{name} is for the flows that take a {name} {takers}, "
                                 f"not {flow!r}")
        if options.get("target") is not None:
            from mars_gym.ensemble.control import PlanTarget  # torch: only for a steered flow

            PlanTarget.parse(options["target"])  # a bad target fails here, not at a reset
        if options.get("guidance") is not None:
            options["guidance"] = real_number("flow_guidance", options["guidance"], 0.0)
        check_flow_options(flow, _given(options))

    def _start_range(self, horizon_ns: int) -> tuple[int, int]:
        split_start, split_stop = split_bounds(self.stream)[self.split]
        times = self.stream.events["time_ns"]
        last_start = int(np.searchsorted(times, times[split_stop - 1] - horizon_ns - 10**9))
        # starts keep one horizon of the split's own history before them when it is that long
        first_start = int(np.searchsorted(times, times[split_start] + horizon_ns))
        if last_start <= first_start:
            first_start = split_start
        if last_start <= first_start:
            raise ValueError(f"the {self.split} split of {self.source} is shorter than the "
                             "horizon")
        return first_start, last_start

    def draw_start(self, np_random: np.random.Generator) -> int:
        """A start event index drawn uniformly from :attr:`start_range`."""
        return int(np_random.integers(*self.start_range))

    def pick_start(self, np_random: np.random.Generator, given=None) -> int:
        """The episode's start event: ``given`` (checked against :attr:`start_range`) or a
        draw; the draw is made either way, so the env's random stream does not depend on
        whether a start was given."""
        drawn = self.draw_start(np_random)
        return self.check_start(drawn if given is None else given)

    def check_start(self, start) -> int:
        return whole_number("options['start_index']", start, self.start_range[0],
                            self.start_range[1] - 1)

    def begin(self, start: int, seed: int) -> Simulator:
        """A new simulator at start event ``start``: the real book the data gives there (every
        level it knows, real order ids), the flow warm-started there, the ladder laid, all
        seeded from ``seed``. The previous episode's flow gives its batched stream back."""
        self.end()
        book = self.stream.book_before(start)
        flow = make_flow(self.flow, self.source, start, self.data_dir,
                         **self._build_options())
        ladder = source_ladder(self.source, self.data_dir) if self.depth_ladder else None
        self.sim = Simulator(flow, self.latency, ladder)
        self.sim.reset(book, int(self.stream.events["time_ns"][start]), seed)
        return self.sim

    def _build_options(self) -> dict[str, Any]:
        if not isinstance(self.flow, str):
            return {}
        options = _given(self.flow_options)
        if self.generator_service is not None:
            options["service"] = self.generator_service
        return options

    def end(self) -> None:
        """Give the running flow's batched stream back (nothing for other flows)."""
        if self.sim is not None and implements(self.sim.flow, BatchedFlow):
            cast(BatchedFlow, self.sim.flow).close()


def _given(options: dict[str, Any]) -> dict[str, Any]:
    """The options actually set (``None`` and ``False`` mean 'not asked for')."""
    return {k: v for k, v in options.items() if v is not None and v is not False}
