"""The names of the built-in background flows, written once and apart from their code so that
the command line can offer them without loading it: :mod:`mars_gym.sim.flows.factory` registers
each under its name here (:mod:`mars_gym.sim.flows.registry`), in this order."""

LMM, ENSEMBLE, REPLAY, NOISE, HAWKES = "lmm", "ensemble", "replay", "noise", "hawkes"
FLOWS = (LMM, ENSEMBLE, REPLAY, NOISE, HAWKES)
