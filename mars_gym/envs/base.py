"""What every task on a :class:`~mars_gym.envs.scenario.MarketScenario` shares: the step in
three parts, so that a vector env can run many simulations' steps together (send every
agent's orders, run the markets with batched LMM tokens, then read every result)."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym

from mars_gym.data.schema import EventStream
from mars_gym.envs.scenario import MarketScenario
from mars_gym.sim.ids import AGENT_ID
from mars_gym.sim.simulator import Simulator


class ScenarioEnv(gym.Env):
    """A task on a market scenario. Subclasses set ``self.scenario`` and implement
    :meth:`plan` (check an action, say what it will send), :meth:`send_orders`,
    :meth:`finish_step` and ``reset``; :meth:`advance` runs the market to ``self.target``."""

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 4}  # noqa: RUF012
    # info keys whose value is None until defined (object arrays in the vector env)
    optional_info: ClassVar[tuple[str, ...]] = ()
    agent_id: ClassVar[int] = AGENT_ID
    render_mode: str | None = None
    window = None
    scenario: MarketScenario
    _sim: Simulator | None = None
    done: bool = False
    target: int = 0
    decision: int = 0

    def plan(self, action) -> Any:
        raise NotImplementedError

    def send_orders(self, plan) -> None:
        raise NotImplementedError

    def finish_step(self):
        raise NotImplementedError

    reset_options: ClassVar[tuple[str, ...]] = ("start_index",)  # what reset(options=) takes

    def checked_options(self, options) -> dict[str, Any]:
        """``reset``'s options as a dict, or a ValueError naming what is wrong."""
        if options is not None and not isinstance(options, dict):
            raise ValueError(f"options must be a dict, got {options!r}")
        unknown = set(options or {}) - set(self.reset_options)
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}; the env takes "
                             f"{', '.join(self.reset_options)}")
        return options or {}

    def start_episode(self, seed: int | None, options) -> tuple[dict[str, Any], int]:
        """The first part of every ``reset``: the checked options, the env's random generator
        reseeded (Gymnasium's ``reset``) and the start event picked
        (:meth:`~mars_gym.envs.scenario.MarketScenario.pick_start`)."""
        options = self.checked_options(options)
        super().reset(seed=seed)
        return options, self.scenario.pick_start(self.np_random, options.get("start_index"))

    @property
    def stream(self) -> EventStream:
        """The source's real events (the scenario's)."""
        return self.scenario.stream

    @property
    def start_range(self) -> tuple[int, int]:
        """The start events episodes are drawn from (the scenario's)."""
        return self.scenario.start_range

    @property
    def sim(self) -> Simulator:
        """The episode's simulator (after ``reset``)."""
        if self._sim is None:
            raise RuntimeError(f"call reset() before using {type(self).__name__}")
        return self._sim

    @sim.setter
    def sim(self, simulator: Simulator) -> None:
        self._sim = simulator

    @property
    def started(self) -> bool:
        """Whether an episode has been reset."""
        return self._sim is not None

    def set_render_mode(self, render_mode: str | None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or "
                             f"None, got {render_mode!r}")
        self.render_mode = render_mode

    def render(self):
        """``"rgb_array"``: the episode so far as an RGB frame (the book around the touch, the
        mid path, the agent's resting orders and fills: :mod:`mars_gym.envs.rendering`);
        ``"human"``: the same in a window, redrawn after every step."""
        if self.render_mode is None:
            raise RuntimeError("render() needs render_mode='rgb_array' or 'human' when the env "
                               "is made")
        if not self.started:
            raise RuntimeError("call reset() before render()")
        from mars_gym.envs import rendering

        title = f"{type(self).__name__}, {self.scenario.source}, decision {self.decision}"
        source = self.scenario.stream.source
        extras = self.frame_extras()
        if self.render_mode == "rgb_array":
            return rendering.episode_frame(self.sim, self.agent_id, source, title, extras)
        if self.window is None:
            self.window = rendering.EpisodeWindow()
        self.window.show(self.sim, self.agent_id, source, title, extras)
        return None

    def frame_extras(self):
        """What this task adds to its frame (:class:`mars_gym.envs.rendering.FrameExtras`):
        by default the arrival mid, where the task has one."""
        from mars_gym.envs.rendering import FrameExtras

        arrival = getattr(self, "arrival_mid", None)
        return FrameExtras(reference=None if arrival is None else ("arrival mid", arrival))

    def check_step(self, action) -> Any:
        """Raise unless ``step(action)`` may run now; what it would send. Nothing changes."""
        if not self.started:
            raise RuntimeError("call reset() before step()")
        if self.done:
            raise RuntimeError("the episode is over (terminated or truncated): call reset()")
        if self.sim.failure is not None:
            raise RuntimeError(f"the last step stopped on an error ({self.sim.failure}); the "
                               "episode cannot go on: call reset()")
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
        result = self.finish_step()
        if self.render_mode == "human":
            self.render()
        return result

    def __reduce_ex__(self, protocol):
        """Refused: an env holds a live simulator (a C order book, a flow, maybe a model's
        stream); make another with the same arguments instead."""
        raise TypeError(f"{type(self).__name__} cannot be pickled or copied: it holds a live "
                        "simulator (C order book and flow); make a new env with the same "
                        "arguments (gym.make) instead")

    def close(self) -> None:
        self.scenario.end()
        if self.window is not None:
            self.window.close()
            self.window = None
        super().close()
