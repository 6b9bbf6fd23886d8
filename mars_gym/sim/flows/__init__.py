"""Background flows behind one interface (``reset``, ``next_order``)."""

from mars_gym.sim.flows.base import BackgroundFlow, FlowOrder, FlowStalledError, run_flow
from mars_gym.sim.flows.hawkes import HawkesCalibration, HawkesFlow
from mars_gym.sim.flows.noise import NoiseFlow

__all__ = [
           "BackgroundFlow",
           "FlowOrder",
           "FlowStalledError",
           "HawkesCalibration",
           "HawkesFlow",
           "NoiseFlow",
           "run_flow",
]
