"""The generation round: many simulations, one batched LMM forward for all their waiting flows.

Simulations whose background flows draw from one shared
:class:`~mars_gym.lmm.serve.GeneratorService` (the :class:`~mars_gym.sim.flows.base.BatchedFlow`
protocol) stop when a flow needs its next token (:meth:`Simulator.run_until` returns False).
A round collects the requests of every waiting flow, runs the service once (one batched forward
pass for all of them) and hands each flow its token; the simulations can then go on.

Whoever drives the simulations (a vector env, a study) owns one :class:`GenerationRound` and
asks it to :meth:`~GenerationRound.serve` the simulations that are waiting; it never needs to
know the flows. Each stream's sampling noise is keyed by its simulation's seed
(:mod:`mars_gym.lmm.keyed_draws`), so a simulation draws as it would alone, whatever shares its
round (up to the rounding of a batched forward).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from mars_gym.sim.flows.base import BatchedFlow
from mars_gym.sim.simulator import Simulator

if TYPE_CHECKING:
    from mars_gym.lmm.serve import GeneratorService

# what a round's service may be told (mars_gym.lmm.serve.GeneratorService's arguments)
GENERATION_OPTIONS = frozenset({"device", "precision", "step_mode"})


def check_generation_options(generation: dict[str, Any] | None) -> None:
    """Refuse options that :meth:`GenerationRound.for_checkpoint` does not pass on."""
    unknown = set(generation or {}) - GENERATION_OPTIONS
    if unknown:
        raise ValueError(f"unknown generation options {sorted(unknown)}; known: "
                         f"{sorted(GENERATION_OPTIONS)}")


class GenerationRound:
    """The rounds of the simulations whose flows are streams of ``service`` (see the module
    docstring). Hand :attr:`service` to the flows when they are built (the ``service`` option
    of the ``lmm`` and ``ensemble`` flows); then :meth:`serve` whenever simulations wait."""

    def __init__(self, service: GeneratorService) -> None:
        self.service = service

    @classmethod
    def for_checkpoint(cls, checkpoint: str, capacity: int,
                       generation: dict[str, Any] | None = None) -> GenerationRound:
        """Rounds over a new service of the LMM ``checkpoint`` (a name or a path, loaded once
        per process) for up to ``capacity`` streams; ``generation``: the service's
        ``device``, ``precision`` and ``step_mode``."""
        check_generation_options(generation)
        from mars_gym.lmm.serve import GeneratorService  # torch: only for a learned flow
        from mars_gym.sim.flows.factory import lmm_model

        model, _ = lmm_model(checkpoint)
        return cls(GeneratorService(model, capacity=capacity, **(generation or {})))

    @property
    def rounds(self) -> int:
        """The rounds served so far (one batched forward each)."""
        return self.service.rounds

    def serve(self, waiting: Sequence[Simulator]) -> None:
        """One round: the next token of every simulation of ``waiting`` (each stopped because
        its flow waits for one), from one forward pass; each can run on afterwards."""
        flows = [cast(BatchedFlow, sim.flow) for sim in waiting]
        by_class: dict[type, list[BatchedFlow]] = {}
        for flow in flows:  # each class computes its flows' requests together
            by_class.setdefault(type(flow), []).append(flow)
        for group in by_class.values():
            type(group[0]).submit_waiting(group, self.service)
        served = self.service.run()
        for flow in flows:
            if flow.stream is None or flow.stream not in served:
                raise RuntimeError(f"{type(flow).__name__} waits for no token of this "
                                   "round's service")
            flow.deliver(served[flow.stream])
