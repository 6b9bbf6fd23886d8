"""mars_gym: market simulation with a generative order-flow model and Gymnasium environments.

The public API is importable from here (loaded on first use, so ``import mars_gym`` stays light
and a model-free simulation never loads torch)::

    from mars_gym import ExecutionEnv, MarketScenario, register_flow, load_source
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from mars_gym import envs  # noqa: F401  registers the Gymnasium environments

_PUBLIC = {
    # environments and their parts
    "ExecutionEnv": "mars_gym.envs.execution",
    "MarketMakingEnv": "mars_gym.envs.market_making",
    "ImpactEnv": "mars_gym.envs.impact",
    "ScenarioEnv": "mars_gym.envs.base",
    "MarketScenario": "mars_gym.envs.scenario",
    "ObservationSpec": "mars_gym.envs.observations",
    "Feature": "mars_gym.envs.observations",
    "ExecutionActions": "mars_gym.envs.actions",
    "PriceAdvantage": "mars_gym.envs.rewards",
    "ImplementationShortfall": "mars_gym.envs.rewards",
    "VectorExecutionEnv": "mars_gym.envs.vector",
    "VectorMarketMakingEnv": "mars_gym.envs.vector",
    "SB3VecEnv": "agents.sb3_env",
    # the market
    "Simulator": "mars_gym.sim.simulator",
    "AgentOrder": "mars_gym.sim.simulator",
    "FlowOrder": "mars_gym.sim.flows.base",
    "BackgroundFlow": "mars_gym.sim.flows.base",
    "BatchedFlow": "mars_gym.sim.flows.base",
    "AgentObservingFlow": "mars_gym.sim.flows.base",
    "register_flow": "mars_gym.sim.flows.registry",
    "flow_names": "mars_gym.sim.flows.registry",
    "make_flow": "mars_gym.sim.flows.factory",
    # data and models
    "load_source": "mars_gym.data",
    "split_by_time": "mars_gym.data",
    "EventStream": "mars_gym.data.schema",
    "OrderTokenizer": "mars_gym.tokens",
    "load_lmm": "mars_gym.lmm.checkpoint",
}
__all__ = ["__version__", *_PUBLIC.keys()]  # noqa: PLE0604  (the keys are strings)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'mars_gym' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
