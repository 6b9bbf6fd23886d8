"""Gymnasium environments, registered under versioned ids with lazy string entry points."""

import gymnasium as gym


def register_envs() -> None:
    if "MarS-Execution-v0" not in gym.registry:
        gym.register(id="MarS-Execution-v0", entry_point="mars_gym.envs.execution:ExecutionEnv",
                     vector_entry_point="mars_gym.envs.vector:VectorExecutionEnv")
        gym.register(id="MarS-ExecutionContinuous-v0",
                     entry_point="mars_gym.envs.execution:ExecutionEnv",
                     vector_entry_point="mars_gym.envs.vector:VectorExecutionEnv",
                     kwargs={"continuous": True})
        gym.register(id="MarS-MarketMaking-v0",
                     entry_point="mars_gym.envs.market_making:MarketMakingEnv",
                     vector_entry_point="mars_gym.envs.vector:VectorMarketMakingEnv")


register_envs()
