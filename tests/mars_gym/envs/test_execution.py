"""MarS-Execution-v0 with every background flow, on the embedded default market's test split
(the impact and depth-ladder tests on the real AAPL and AMZN data)."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import mars_gym  # noqa: F401  registers the environments
from mars_gym.data.book_states import apply_events
from mars_gym.sim.flow_names import FLOWS
from mars_gym.sim.ids import FIRST_AGENT_ORDER_ID

SHORT = {"split": "test", "horizon_s": 60, "step_s": 20, "quantity": 500}


def make(flow, **kwargs):
    return gym.make("MarS-Execution-v0", flow=flow, **{**SHORT, **kwargs})


def run_episode(env, policy, seed):
    obs, info = env.reset(seed=seed)
    trajectory = [obs]
    rewards = []
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        trajectory.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            return np.array(trajectory), np.array(rewards), info


@pytest.mark.parametrize("flow", FLOWS)
def test_gymnasium_and_sb3_env_checkers_pass(flow):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = make(flow)
    check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(env.unwrapped, warn=True)
    lots = make(flow, action_mode="lots", quantity=(100, 500), side="both")
    check_env(lots.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("flow", FLOWS)
def test_same_seed_gives_the_same_episode(flow):
    def policy(obs):
        return np.array([int(obs[1] * 10) % 11, 1])

    a = run_episode(make(flow), policy, seed=5)
    b = run_episode(make(flow), policy, seed=5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert a[2] == b[2]


@pytest.mark.parametrize("flow", FLOWS)
def test_episode_keeps_the_book_consistent_and_fills_the_order(flow):
    env = make(flow)
    _, rewards, info = run_episode(env, lambda obs: np.array([3, 2]), seed=1)
    sim = env.unwrapped.sim
    stream = sim.stream(sim.flow.history.source if flow == "lmm" else
                        env.unwrapped.stream.source)
    both = (stream.book["bid"] > 0) & (stream.book["ask"] > 0)
    assert (stream.book["bid"][both] < stream.book["ask"][both]).all()  # never crossed
    # no volume lost: replaying the recorded events on the initial book rebuilds the final one
    rebuilt = sim.recording.initial.copy()
    apply_events(rebuilt, stream.events)
    assert np.array_equal(rebuilt.orders_array(), sim.book.orders_array())
    assert info["fill_rate"] == 1.0 or rewards[-1] < 0  # filled, or penalised for the rest
    assert info["implementation_shortfall_bps"] is not None


def test_bad_actions_are_clear_errors():
    env = make("noise")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="outside the action space"):
        env.step(np.array([11, 0]))
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match="2 finite real numbers"):
        env.step(np.array([1, 2, 3]))
    continuous = gym.make("MarS-ExecutionContinuous-v0", flow="noise", **SHORT)
    continuous.reset(seed=0)
    continuous.step(np.array([0.5, 2.0], dtype=np.float32))
    with pytest.raises(ValueError, match="outside the action space"):
        continuous.step(np.array([1.5, 2.0], dtype=np.float32))


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="side must be"):
        make("noise", side="hold")
    with pytest.raises(ValueError, match="unknown flow .gan.; choose one of"):
        make("gan")
    with pytest.raises(ValueError, match="shorter than the horizon"):
        make("noise", horizon_s=3_600)


def _impact_bps(flow, quantity, seed, lobster_dir):
    """Mid 2-8 s after one aggressive slice (crossing up to 5 levels) minus the mid of the same
    seed without it, bps, mean over the four samples (on AAPL: the sizes fit its book)."""
    mids = []
    for action in ([0, 0], [0, 5]):
        env = make(flow, quantity=quantity, horizon_s=20, step_s=2, source="AAPL",
                   data_dir=lobster_dir)
        env.reset(seed=seed, options={"start_index": env.unwrapped.start_range[0] + 500})
        env.step(np.array(action))
        for _ in range(4):
            env.step(np.array([0, 0]))
        mids.append(np.array(env.unwrapped.mid_samples[-4:]))
    return float(np.mean(mids[1] - mids[0]) / env.unwrapped.arrival_mid * 1e4)


@pytest.mark.parametrize("flow", ["lmm", "hawkes"])
def test_a_large_aggressive_order_moves_the_price_more_than_a_small_one(flow, lobster_dir):
    """A 500-lot buy slice moves the mid more than a 50-lot one, and the move outlasts the
    trade (the background does not simply refill): measured against same-seed runs."""
    small = np.mean([_impact_bps(flow, 500, seed, lobster_dir) for seed in range(4)])
    large = np.mean([_impact_bps(flow, 5_000, seed, lobster_dir) for seed in range(4)])
    assert large > small + 0.3 and large > 0.3, (small, large)


def test_replay_shows_no_lasting_impact(lobster_dir):
    """Replay does not react: seconds after the agent's trades the mid is the no-agent one."""
    assert _impact_bps("replay", 5_000, 0, lobster_dir) == pytest.approx(0.0, abs=0.05)


def test_lmm_background_reacts_to_the_agent():
    """Same seed, with and without the agent's trades: the generated flow differs after them."""
    def flow_events(quantity, action):
        env = make("lmm", quantity=quantity)
        env.reset(seed=2, options={"start_index": env.unwrapped.start_range[0] + 500})
        env.step(action)
        events = env.unwrapped.sim.recording.events()
        return events[events["order_id"] < FIRST_AGENT_ORDER_ID]  # background orders only

    quiet = flow_events(1, np.array([0, 0]))   # one lot resting far from nothing: no trade
    active = flow_events(5_000, np.array([0, 5]))
    n = min(len(quiet), len(active))
    assert n > 20 and not np.array_equal(quiet[:n], active[:n])


def test_sampled_latency_is_seeded():
    def policy(obs):
        return np.array([5, 2])

    a = run_episode(make("noise", latency_sigma=0.8), policy, seed=3)
    b = run_episode(make("noise", latency_sigma=0.8), policy, seed=3)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert a[2]["fill_rate"] == 1.0 or a[1][-1] < 0


def test_lots_mode_and_per_episode_side_and_quantity():
    env = make("replay", action_mode="lots", quantity=(100, 300), side="both")
    assert env.action_space.shape == (3,) and env.action_space.high[0] == 300
    drawn = set()
    for seed in range(12):
        _, info = env.reset(seed=seed)
        drawn.add((info["side"], info["quantity"]))
    assert drawn == {(s, q) for s in (1, -1) for q in (100, 300)}
    _, info = env.reset(seed=0, options={"side": "sell", "quantity": 200})
    assert (info["side"], info["quantity"]) == (-1, 200)
    _, _, terminated, _, info = env.step(np.array([0, 200, 0]))  # a market order for all
    assert terminated and info["filled"] == 200 and info["market_volume"] >= 200
    with pytest.raises(ValueError, match="options\\['quantity'\\]"):
        env.reset(options={"quantity": 301})
    with pytest.raises(ValueError, match="options\\['side'\\]"):
        env.reset(options={"side": "hold"})
    with pytest.raises(ValueError, match="action must be 3"):
        env.reset(seed=0)
        env.step(np.array([10, 0]))


def test_split_and_action_mode_arguments():
    ranges = {split: make("noise", split=split).unwrapped.start_range
              for split in ("train", "val", "test")}
    assert ranges["train"][1] < ranges["val"][0] and ranges["val"][1] < ranges["test"][0]
    # a split shorter than two horizons still starts episodes, from its first event on
    short = gym.make("MarS-Execution-v0", flow="noise", split="test", horizon_s=300).unwrapped
    assert short.start_range[0] < short.start_range[1]
    with pytest.raises(ValueError, match="split must be one of"):
        make("noise", split="holdout")
    with pytest.raises(ValueError, match="action_mode must be one of"):
        make("noise", action_mode="shares")
    with pytest.raises(ValueError, match="continuous=True"):
        make("noise", action_mode="lots", continuous=True)


def test_level_one_sources_start_with_the_depth_ladder(lobster_dir):
    """AMZN's level-1 book keeps its touch and gets a ladder of levels behind it; without the
    ladder the rebuilt book holds stale orders far from the touch, as the data left them."""
    with_ladder = make("noise", source="AMZN", data_dir=lobster_dir).unwrapped
    without = make("noise", source="AMZN", depth_ladder=False, data_dir=lobster_dir).unwrapped
    with_ladder.reset(seed=5)
    without.reset(seed=5)
    assert with_ladder.start_ns == without.start_ns
    laddered, stale = with_ladder.sim.book, without.sim.book
    assert (laddered.best_bid, laddered.best_ask) == (stale.best_bid, stale.best_ask)
    assert laddered.n_levels(1) == laddered.n_levels(-1) == 10
    stale_bids = stale.depth(64)[0]
    laddered_span = laddered.best_bid - laddered.depth(10)[0][-1]
    assert stale.best_bid - stale_bids[stale_bids > 0][-1] > laddered_span
    for _ in range(3):
        with_ladder.step(with_ladder.action_space.sample())
        assert laddered.n_levels(1) >= 10 and laddered.n_levels(-1) >= 10
    aapl = make("noise", data_dir=lobster_dir).unwrapped
    aapl.reset(seed=0)
    assert aapl.sim.depth is None  # level-50 data shows its own depth
