"""What every task on a :class:`~mars_gym.envs.scenario.MarketScenario` shares: the step in
three parts, so that a vector env can run many simulations' steps together (send every
agent's orders, run the markets with batched LMM tokens, then read every result)."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym

from mars_gym.envs.scenario import MarketScenario
from mars_gym.sim.simulator import Simulator


class ScenarioEnv(gym.Env):
    """A task on a market scenario. Subclasses set ``self.scenario`` and implement
    :meth:`plan` (check an action, say what it will send), :meth:`send_orders`,
    :meth:`finish_step` and ``reset``; :meth:`advance` runs the market to ``self.target``."""

    # info keys whose value is None until defined (object arrays in the vector env)
    optional_info: ClassVar[tuple[str, ...]] = ()
    scenario: MarketScenario
    sim: Simulator | None = None
    done: bool = False
    target: int = 0

    def plan(self, action) -> Any:
        raise NotImplementedError

    def send_orders(self, plan) -> None:
        raise NotImplementedError

    def finish_step(self):
        raise NotImplementedError

    def check_step(self, action) -> Any:
        """Raise unless ``step(action)`` may run now; what it would send. Nothing changes."""
        if self.sim is None:
            raise RuntimeError("call reset() before step()")
        if self.done:
            raise RuntimeError("the episode is over (terminated or truncated): call reset()")
        return self.plan(action)

    def begin_step(self, action) -> None:
        """Check the action and send this decision's orders (the first part of ``step``)."""
        self.send_orders(self.check_step(action))

    def advance(self) -> bool:
        """Run the market to ``self.target``; False while the background flow waits for a
        batched token (the vector env then serves it and calls again)."""
        return self.sim.run_until(self.target)

    def step(self, action):
        self.begin_step(action)
        if not self.advance():
            raise RuntimeError("the background flow waits for a batched token: step this env "
                               "through its vector env")
        return self.finish_step()

    def close(self) -> None:
        self.scenario.end()
        super().close()
