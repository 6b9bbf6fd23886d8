"""gym.make_vec("MarS-Execution-v0"): N simulations, one batched LMM forward per round."""

import gymnasium as gym
import numpy as np
import pytest

import mars_gym  # noqa: F401  registers the environments
from mars_gym.envs.vector import VectorExecutionEnv
from mars_gym.sim.ids import FIRST_FLOW_ORDER_ID

SHORT = {"horizon_s": 40, "step_s": 20, "quantity": 500}


def run(vec, seed, actions):
    obs, _ = vec.reset(seed=seed)
    rows = [obs]
    rewards = []
    while True:
        obs, reward, terminated, truncated, info = vec.step(actions)
        rows.append(obs)
        rewards.append(reward)
        if (terminated | truncated).all():
            return np.array(rows), np.array(rewards), info


def test_make_vec_uses_the_batched_vector_env():
    vec = gym.make_vec("MarS-Execution-v0", num_envs=3, flow="lmm", **SHORT)
    assert isinstance(vec, VectorExecutionEnv)
    assert vec.observation_space.shape == (3, 8) and vec.action_space.shape == (3, 2)
    observations, rewards, info = run(vec, 0, np.tile([5, 1], (3, 1)))
    assert observations.shape[1:] == (3, 8) and np.isfinite(rewards).all()
    assert (info["fill_rate"] == 1.0).all()
    orders = sum(env.sim.next_flow_id - FIRST_FLOW_ORDER_ID for env in vec.envs)
    # every generation round served all waiting simulations with one forward pass
    assert vec.service.rounds < 0.7 * orders


def test_same_seed_same_vector_episode():
    def make():
        return gym.make_vec("MarS-Execution-v0", num_envs=2, flow="lmm", **SHORT)

    actions = np.array([[3, 2], [10, 0]])
    a, b = run(make(), 4, actions), run(make(), 4, actions)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_finished_episodes_reset_on_the_next_step():
    vec = gym.make_vec("MarS-Execution-v0", num_envs=2, flow="hawkes", **SHORT)
    run(vec, 1, np.tile([0, 5], (2, 1)))
    obs, reward, terminated, truncated, _ = vec.step(np.tile([0, 5], (2, 1)))
    assert (reward == 0).all() and not (terminated | truncated).any()
    assert np.allclose(obs[:, 0], 1.0) and np.allclose(obs[:, 1], 1.0)  # fresh episodes


def test_bad_vector_arguments():
    with pytest.raises(ValueError, match="num_envs must be >= 1"):
        VectorExecutionEnv(num_envs=0, flow="noise")
    with pytest.raises(ValueError, match="checkpoint 'default' and lmm_checkpoint 'mid' differ"):
        VectorExecutionEnv(num_envs=1, flow="lmm", checkpoint="default",
                           lmm_checkpoint="mid")
    with pytest.raises(ValueError, match=r"unknown generation options \['threads'\]"):
        VectorExecutionEnv(num_envs=1, flow="lmm", generation={"threads": 2})
    with pytest.raises(ValueError, match="need a flow that runs on an LMM; 'noise' does not"):
        VectorExecutionEnv(num_envs=1, flow="noise", generation={"precision": "bfloat16"})


def test_the_static_step_mode_runs_the_same_vector_episode():
    """The step a CUDA graph captures, run on the CPU: the same episode as the default step;
    the service's options reach its generator."""
    def make(generation):
        return gym.make_vec("MarS-Execution-v0", num_envs=2, flow="lmm", generation=generation,
                            **SHORT)

    actions = np.array([[3, 2], [10, 0]])
    static = make({"step_mode": "static"})
    assert static.service.generator.step_mode == "static"
    a, b = run(make(None), 4, actions), run(static, 4, actions)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_sb3_trains_on_the_vector_env_through_the_adapter():
    from stable_baselines3 import PPO

    from agents.sb3_env import SB3VecEnv

    vec = SB3VecEnv(gym.make_vec("MarS-Execution-v0", num_envs=2, flow="lmm", **SHORT))
    model = PPO("MlpPolicy", vec, n_steps=4, batch_size=8, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=16)
    obs = vec.reset()
    actions, _ = model.predict(obs, deterministic=True)
    assert actions.shape == (2, 2)
    obs, rewards, dones, infos = vec.step(actions)
    assert obs.shape == (2, 8) and rewards.shape == (2,) and dones.shape == (2,)
    assert len(infos) == 2


def episode_alone_and_beside_another(**kwargs) -> list:
    """The path (mid samples, background orders) of one seeded episode run alone and run in a
    batch beside another one."""
    episode, other = {"seed": 7}, {"seed": 8}  # start and side drawn from the seed

    def act(env):
        return lambda obs, info: np.array([0, 20, 0], np.float32)

    paths = []
    for batch in ([episode], [other, episode]):
        vec = VectorExecutionEnv(num_envs=len(batch), **kwargs)
        for _, ran, env, _, _ in vec.play(batch, act):
            if ran is episode:
                paths.append((list(env.mid_samples), env.sim.next_flow_id))
    return paths


def test_an_episode_runs_alike_alone_and_in_a_batch():
    """Each simulation's LMM stream draws its own noise (keyed by its seed), so its episode
    does not depend on what shares the batch."""
    alone, beside = episode_alone_and_beside_another(flow="lmm", action_mode="lots", **SHORT)
    assert alone == beside


def test_play_moves_each_simulation_on_without_waiting_for_the_others():
    """``play`` starts a waiting episode in the first env that is free and never holds a
    simulation at a decision for the others: the same episodes as stepping the envs together
    (and as each alone), in fewer generation rounds."""
    kwargs = {"flow": "lmm", "action_mode": "lots", **SHORT}
    seeds = (3, 4, 5)
    action = np.array([0, 20, 0], np.float32)
    vec = VectorExecutionEnv(num_envs=2, **kwargs)
    ended = list(vec.play([{"seed": s} for s in seeds], lambda env: lambda obs, info: action))
    assert sorted(index for index, *_ in ended) == [0, 1, 2]
    assert ended[-1][0] == 2 and ended[-1][2] is ended[0][2]  # the third took the first free env
    played = {index: (info["filled"], info["market_volume"], total)
              for index, _, _, info, total in ended}
    # the same episodes stepped together: the first two side by side, then the third
    stepped, rounds = {}, 0
    for batch in ([0, 1], [2]):
        lockstep = VectorExecutionEnv(num_envs=len(batch), **kwargs)
        lockstep.reset(seed=[seeds[i] for i in batch])
        totals = np.zeros(len(batch))
        while True:
            _, reward, terminated, truncated, info = lockstep.step(np.tile(action, (len(batch), 1)))
            totals += reward
            if (terminated | truncated).all():
                break
        for k, i in enumerate(batch):
            stepped[i] = (info["filled"][k], info["market_volume"][k], totals[k])
        rounds += lockstep.service.rounds
    assert played == stepped
    # stepped together, each decision waited for the busier of the pair and the third episode
    # for both: 2,270 rounds on this machine; played, each went on at once: 2,057
    assert vec.service.rounds < 0.95 * rounds
