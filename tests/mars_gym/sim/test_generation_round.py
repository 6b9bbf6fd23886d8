"""The generation round: the waiting simulations' LMM flows served by one batched forward."""

import numpy as np
import pytest

from mars_gym.data import load_source
from mars_gym.sim.flows import make_flow
from mars_gym.sim.generation_round import GenerationRound
from mars_gym.sim.simulator import Simulator

START = 30_000  # an AMZN event of the test split's hours
SECONDS = 3


def _simulators(lobster_dir, service, seeds):
    stream = load_source("AMZN", lobster_dir)
    start_ns = int(stream.events["time_ns"][START])
    sims = []
    for seed in seeds:
        flow = make_flow("lmm", "AMZN", START, lobster_dir, service=service)
        sim = Simulator(flow)
        sim.reset(stream.book_before(START), start_ns, seed)
        sims.append(sim)
    return sims, start_ns


def _run(generation_round, sims, until_ns):
    """Run every simulation to ``until_ns``, a round whenever some wait; the rounds run."""
    waiting, rounds = list(sims), 0
    while waiting:
        waiting = [sim for sim in waiting if not sim.run_until(until_ns)]
        if waiting:
            generation_round.serve(waiting)
            rounds += 1
    return rounds


def test_one_round_serves_every_waiting_flow_with_one_forward(lobster_dir):
    generation_round = GenerationRound.for_checkpoint("default", capacity=3)
    sims, start_ns = _simulators(lobster_dir, generation_round.service, seeds=(0, 1, 2))
    # each flow applies its primed order, then waits for the next token
    assert [sim.run_until(start_ns + 10**9) for sim in sims] == [False] * 3
    applied = [sim.next_flow_id for sim in sims]
    generation_round.serve(sims)
    assert generation_round.rounds == 1 and generation_round.service.tokens_served == 3
    assert [sim.flow.request for sim in sims] == [None] * 3  # each has its token
    # each runs on to its next wait: one more order applied, none skipped
    assert [sim.run_until(start_ns + 10**9) for sim in sims] == [False] * 3
    assert [sim.next_flow_id - before for sim, before in zip(sims, applied, strict=True)] == [1] * 3


def test_a_round_serves_only_the_simulations_that_wait(lobster_dir):
    generation_round = GenerationRound.for_checkpoint("default", capacity=2)
    sims, start_ns = _simulators(lobster_dir, generation_round.service, seeds=(0, 1))
    for sim in sims:
        sim.run_until(start_ns + 10**9)
    generation_round.serve(sims[:1])
    assert generation_round.service.tokens_served == 1
    assert sims[0].flow.request is None and sims[1].flow.request is not None


def test_a_simulation_served_in_rounds_generates_what_it_generates_alone(lobster_dir):
    """Each stream's noise is keyed by its simulation's seed: beside another simulation, in
    shared rounds, a simulation generates the same orders as alone."""
    until = None
    events = {}
    for seeds in ((5,), (5, 6)):
        generation_round = GenerationRound.for_checkpoint("default", capacity=len(seeds))
        sims, start_ns = _simulators(lobster_dir, generation_round.service, seeds)
        until = start_ns + SECONDS * 10**9
        rounds = _run(generation_round, sims, until)
        assert generation_round.rounds == rounds
        events[seeds] = sims[0].recording.events()
    assert len(events[(5,)]) > 20
    assert np.array_equal(events[(5,)], events[(5, 6)])


def test_no_waiting_simulation_runs_no_forward(lobster_dir):
    generation_round = GenerationRound.for_checkpoint("default", capacity=1)
    generation_round.serve([])
    assert generation_round.rounds == 0 and generation_round.service.tokens_served == 0


def test_the_round_builds_its_service_with_the_generation_options():
    generation_round = GenerationRound.for_checkpoint("default", 4, {"step_mode": "static"})
    assert generation_round.service.capacity == 4
    assert generation_round.service.generator.step_mode == "static"
    with pytest.raises(ValueError, match=r"unknown generation options \['temperature'\]"):
        GenerationRound.for_checkpoint("default", 4, {"temperature": 0.5})
