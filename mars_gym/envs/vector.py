"""``gym.make_vec("MarS-Execution-v0", num_envs=N)`` (and every task built on a market
scenario): N simulations, one batched LMM call per generation round.

With a flow that runs on an LMM checkpoint (``lmm``, ``ensemble``: its registry entry names
the checkpoint) every simulation's background is one stream of a shared
:class:`~mars_gym.lmm.serve.GeneratorService`, served by one
:class:`~mars_gym.sim.generation_round.GenerationRound`. A step sends every agent's orders,
then runs rounds: each simulation advances until its background needs its next token (or the
step ends); the round gives all waiting simulations their tokens from one batched forward pass;
repeat until every simulation has reached the end of the step. Each stream's sampling noise is
keyed by its simulation's seed (:mod:`mars_gym.lmm.keyed_draws`), so a simulation runs as it would
alone (up to the rounding of a batched forward, see :meth:`ScenarioVectorEnv.play`). Other
flows need no rounds. Finished episodes are reset on the next step (Gymnasium's next-step
autoreset). :meth:`ScenarioVectorEnv.play` (the studies' path) runs whole episodes without
that lockstep: each simulation goes on to its next decision, and an env to its next episode,
as soon as it can, so the rounds stay full.

Actions are all checked before any simulation moves: a bad one raises and no env has stepped.
A step that stops on an error once the simulations move (a background flow's invalid order, a
runaway flow) leaves them part-way through the step: the vector env then refuses to step until
``reset``, naming the error. A closed vector env refuses every step and reset.
Info metrics that are not defined yet are ``None`` as in the single env (object arrays).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from mars_gym.envs.base import ScenarioEnv
from mars_gym.envs.execution import ExecutionEnv
from mars_gym.envs.impact import ImpactEnv
from mars_gym.envs.market_making import MarketMakingEnv
from mars_gym.sim.flows.registry import flow_checkpoint
from mars_gym.sim.generation_round import GenerationRound

if TYPE_CHECKING:
    from mars_gym.lmm.serve import GeneratorService


class ScenarioVectorEnv(VectorEnv):
    """``num_envs`` copies of ``env_class`` (a :class:`~mars_gym.envs.base.ScenarioEnv`) made
    with ``kwargs``, stepped together (see the module docstring). ``checkpoint``: another LMM
    checkpoint than the flow's shipped one; ``generation``: options of the shared
    :class:`~mars_gym.lmm.serve.GeneratorService` (``device``, ``precision``, ``step_mode``),
    e.g. ``{"precision": "bfloat16", "step_mode": "cuda_graph"}`` on a GPU."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}  # noqa: RUF012  (Gymnasium's API)
    env_class: type[ScenarioEnv]

    def __init__(self, num_envs: int = 1, checkpoint: str | None = None,
                 generation: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.num_envs = num_envs
        self.generation_round: GenerationRound | None = None  # for a flow that runs on an LMM
        named = kwargs.pop("lmm_checkpoint", None)  # the tasks' own name for it
        if checkpoint is not None and named is not None and checkpoint != named:
            raise ValueError(f"checkpoint {checkpoint!r} and lmm_checkpoint {named!r} differ: "
                             "give one")
        checkpoint = checkpoint or named
        flow = kwargs.get("flow", inspect.signature(self.env_class).parameters["flow"].default)
        model_name = checkpoint or flow_checkpoint(flow)
        if model_name is not None:
            self.generation_round = GenerationRound.for_checkpoint(model_name, num_envs, generation)
        elif generation:
            raise ValueError(f"generation options {sorted(generation)} need a flow that runs on "
                             f"an LMM; {flow!r} does not")
        if checkpoint is not None:
            kwargs["lmm_checkpoint"] = checkpoint  # the flows' tokenizer, the service's model
        make = cast(Callable[..., ScenarioEnv], self.env_class)  # every task takes these
        self.envs = [make(generator_service=self.service, **kwargs) for _ in range(num_envs)]
        self.single_observation_space = self.envs[0].observation_space
        self.single_action_space = self.envs[0].action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.autoreset = np.zeros(num_envs, dtype=bool)
        self.failure: str | None = None  # why the last step stopped part-way (then: reset)
        self.closed = False

    @property
    def service(self) -> GeneratorService | None:
        """The :class:`~mars_gym.lmm.serve.GeneratorService` the simulations' flows share
        (``None``: a flow that needs none)."""
        return None if self.generation_round is None else self.generation_round.service

    def reset(self, *, seed: int | list[int] | None = None,
              options: dict[str, Any] | None = None):
        self._check_open()
        seeds = (list(seed) if isinstance(seed, (list, tuple)) else
                 [None if seed is None else seed + i for i in range(self.num_envs)])
        if len(seeds) != self.num_envs:
            raise ValueError(f"seed must be one int or one per env ({self.num_envs}), got "
                             f"{len(seeds)} seeds")
        observations = []
        infos: dict[str, Any] = {}
        for i, env in enumerate(self.envs):
            obs, info = env.reset(seed=seeds[i], options=options)
            observations.append(obs)
            infos = self._add_info(infos, info, i)
        self.autoreset[:] = False
        self.failure = None
        return np.stack(observations), infos

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError(f"this {type(self).__name__} is closed: make a new one")

    def step(self, actions):
        self._check_open()
        if self.failure is not None:
            raise RuntimeError(f"the last step stopped on an error ({self.failure}); the "
                               "episodes cannot go on: call reset()")
        actions = np.asarray(actions)
        if len(actions) != self.num_envs:
            raise ValueError(f"need {self.num_envs} actions, got {len(actions)}")
        orders = {}
        for i, env in enumerate(self.envs):  # every action is checked before any env moves
            if not self.autoreset[i]:
                try:
                    orders[i] = env.check_step(actions[i])
                except (ValueError, RuntimeError) as error:
                    raise type(error)(f"env {i}: {error}") from None
        observations = [None] * self.num_envs
        rewards = np.zeros(self.num_envs)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        infos: dict[str, Any] = {}
        stepping = []
        try:
            for i, env in enumerate(self.envs):
                if self.autoreset[i]:
                    observations[i], info = env.reset()
                    infos = self._add_info(infos, info, i)
                else:
                    env.send_orders(orders[i])
                    stepping.append(i)
            self.run(stepping)
            for i in stepping:
                observations[i], rewards[i], terminated[i], truncated[i], info = (
                    self.envs[i].finish_step())
                infos = self._add_info(infos, info, i)
        except Exception as error:
            self.failure = f"{type(error).__name__}: {error}"
            raise
        self.autoreset = terminated | truncated
        return np.stack(observations), rewards, terminated, truncated, infos

    def _add_info(self, infos: dict[str, Any], info: dict[str, Any], env_num: int
                  ) -> dict[str, Any]:
        # object arrays: an undefined metric stays None, never nan
        for key in self.env_class.optional_info:
            if key in info and key not in infos:
                infos[key] = np.full(self.num_envs, None, dtype=object)
                infos[f"_{key}"] = np.zeros(self.num_envs, dtype=bool)
        return super()._add_info(infos, info, env_num)

    def run(self, indices: list[int]) -> None:
        """Advance the given simulations (each after its ``begin_step``) to the end of their
        step, batching token requests."""
        waiting = list(indices)
        while waiting:
            waiting = [i for i in waiting if not self.envs[i].advance()]
            if waiting:
                self._serve(waiting)

    def _serve(self, blocked: list[int]) -> None:
        """One generation round for the simulations ``blocked`` on their flow's token."""
        assert self.generation_round is not None  # only a served flow waits for a token
        self.generation_round.serve([self.envs[i].sim for i in blocked])

    def play(self, episodes: list[dict], make_actor: Callable[[ScenarioEnv], Callable]
             ) -> Iterator[tuple[int, dict, ScenarioEnv, dict, float]]:
        """Run whole episodes, up to ``num_envs`` at a time, each to its end.

        ``episodes`` are ``{"seed": int, "options": dict}``; ``make_actor(env)`` is called after
        each reset and returns ``act(observation, info) -> action``. Yields ``(index, episode,
        env, final info, total reward)`` as each episode ends — ``index`` is its place in
        ``episodes``; they end out of order — while ``env`` still holds the episode's final
        state; the env then starts the next episode waiting.

        Unlike :meth:`step`, the simulations do not wait for each other: an actor reads only
        its own simulation, so each one takes its next decision as soon as its own step is
        over, and an env whose episode ends starts the next one at once. A generation round
        then serves every simulation still running, not only the ones behind the busiest. Each
        LMM stream draws its own noise, keyed by its episode's seed, so an episode replays alike
        whatever shares its batch and whenever it starts — up to rounding: a forward over many
        streams may sum in another order than over one, and a draw on a knife edge can then
        flip (one run in 5,500 of the impact study, ``benchmarks/RESULTS.md``).
        """
        queue = list(enumerate(episodes))[::-1]
        running: dict[int, list] = {}  # env -> [index, episode, actor, total reward]

        def start(i: int) -> None:
            index, episode = queue.pop()
            env = self.envs[i]
            obs, info = env.reset(seed=episode["seed"], options=episode.get("options"))
            actor = make_actor(env)
            env.begin_step(actor(obs, info))
            running[i] = [index, episode, actor, 0.0]

        for i in range(min(self.num_envs, len(queue))):
            start(i)
        while running:
            blocked = []
            for i in list(running):
                env = self.envs[i]
                while i in running:
                    if not env.advance():
                        blocked.append(i)
                        break
                    obs, reward, terminated, truncated, info = env.finish_step()
                    state = running[i]
                    state[3] += reward
                    if terminated or truncated:
                        del running[i]
                        yield state[0], state[1], env, info, float(state[3])
                        if queue:
                            start(i)
                    else:
                        env.begin_step(state[2](obs, info))
            if blocked:
                self._serve(blocked)
        self.autoreset[:] = False

    def close(self, **kwargs: Any) -> None:
        for env in self.envs:
            env.close()
        self.closed = True


class VectorExecutionEnv(ScenarioVectorEnv):
    """``MarS-Execution-v0``'s vector env."""

    env_class = ExecutionEnv


class VectorMarketMakingEnv(ScenarioVectorEnv):
    """``MarS-MarketMaking-v0``'s vector env."""

    env_class = MarketMakingEnv


class VectorImpactEnv(ScenarioVectorEnv):
    """The impact task's vector env (:class:`~mars_gym.envs.impact.ImpactEnv`)."""

    env_class = ImpactEnv
