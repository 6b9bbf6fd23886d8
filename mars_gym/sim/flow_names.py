"""The names of the built-in background flows, apart from their code so that the command line
can offer them without loading it (:mod:`mars_gym.sim.flows.factory` registers each)."""

FLOWS = ("lmm", "ensemble", "replay", "noise", "hawkes")
