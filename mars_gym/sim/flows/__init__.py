"""Background flows behind one interface (``reset``, ``next_order``)."""

from mars_gym.sim.flows.base import (
                                     AgentObservingFlow,
                                     BackgroundFlow,
                                     BatchedFlow,
                                     FlowOrder,
                                     FlowOrderError,
                                     FlowStalledError,
)
from mars_gym.sim.flows.factory import make_flow  # registers the built-in flows
from mars_gym.sim.flows.hawkes import HawkesCalibration, HawkesFlow
from mars_gym.sim.flows.noise import NoiseFlow
from mars_gym.sim.flows.registry import flow_names, flow_spec, register_flow
from mars_gym.sim.flows.run import run_alone

__all__ = [
           "AgentObservingFlow",
           "BackgroundFlow",
           "BatchedFlow",
           "FlowOrder",
           "FlowOrderError",
           "FlowStalledError",
           "HawkesCalibration",
           "HawkesFlow",
           "NoiseFlow",
           "flow_names",
           "flow_spec",
           "make_flow",
           "register_flow",
           "run_alone",
]
