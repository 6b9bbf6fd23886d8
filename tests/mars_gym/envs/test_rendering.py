"""render(): a frame of the book around the touch, the mid path, the agent's orders and fills."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest

import mars_gym  # noqa: F401  registers the environments

SHORT = {"flow": "hawkes", "source": "AMZN", "split": "test", "horizon_s": 60, "step_s": 10}


def colour_share(frame: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 40) -> float:
    return float(np.mean(np.abs(frame.astype(int) - rgb).max(axis=-1) < tolerance))


def test_rgb_frames_show_the_book_the_mid_and_the_agents_orders(lobster_dir):
    env = gym.make("MarS-Execution-v0", quantity=1500, render_mode="rgb_array",
                   data_dir=lobster_dir, **SHORT)
    env.reset(seed=1)
    empty = env.render()
    assert empty.shape == (480, 960, 3) and empty.dtype == np.uint8
    for _ in range(3):
        env.step(np.array([5, 1]))  # a passive order rests, crossing slices fill
    frame = env.render()
    # the book's bars: matplotlib's tab:green and tab:red at alpha 0.6 on white
    green, red = (128, 198, 128), (230, 125, 126)
    assert colour_share(frame, green) > 0.002 and colour_share(frame, red) > 0.002
    assert colour_share(frame, (0, 0, 0), 10) > colour_share(empty, (0, 0, 0), 10)  # outline
    assert not np.array_equal(frame, empty)


def test_market_making_renders_and_modes_are_checked(lobster_dir):
    env = gym.make("MarS-MarketMaking-v0", render_mode="rgb_array", data_dir=lobster_dir,
                   **SHORT).unwrapped
    with pytest.raises(RuntimeError, match="call reset"):
        env.render()
    env.reset(seed=0)
    assert env.render().shape == (480, 960, 3)
    with pytest.raises(ValueError, match="render_mode must be one of"):
        gym.make("MarS-MarketMaking-v0", render_mode="ascii", data_dir=lobster_dir, **SHORT)
    plain = gym.make("MarS-Execution-v0", data_dir=lobster_dir, **SHORT).unwrapped
    plain.reset(seed=0)
    with pytest.raises(RuntimeError, match="render_mode"):
        plain.render()


def test_human_mode_draws_after_every_step(lobster_dir):
    import matplotlib

    matplotlib.use("Agg")  # no display here; the window is drawn off screen
    env = gym.make("MarS-Execution-v0", quantity=500, render_mode="human",
                   data_dir=lobster_dir, **SHORT).unwrapped
    env.reset(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Agg cannot show a window
        env.step(np.array([5, 1]))
    assert env.window is not None and len(env.window.figure.axes) == 2
    env.close()
    assert env.window is None


ON_THE_DEFAULT_MARKET = {"flow": "hawkes", "horizon_s": 60, "step_s": 10}


def test_info_gives_prices_in_ticks_and_in_the_sources_currency():
    env = gym.make("MarS-Execution-v0", quantity=1500, **ON_THE_DEFAULT_MARKET)
    _, info = env.reset(seed=1)
    assert info["average_price_currency"] is None  # nothing filled yet
    assert info["currency"] == "USD" and info["tick_value"] == 0.01
    assert info["arrival_mid_currency"] == pytest.approx(info["arrival_mid"] * 0.01)
    for _ in range(3):
        _, _, _, _, info = env.step(np.array([5, 1]))
    assert info["average_price_currency"] == pytest.approx(info["average_price"] * 0.01)
    assert 100 < info["average_price_currency"] < 10_000  # dollars a share, not ticks
    maker = gym.make("MarS-MarketMaking-v0", **ON_THE_DEFAULT_MARKET)
    maker.reset(seed=0)
    for _ in range(3):
        _, _, _, _, info = maker.step(np.array([1, 1, 100, 100], dtype=np.float32))
    assert info["pnl_currency"] == pytest.approx(info["pnl"] * 0.01)  # lot = one share
    assert info["mid_currency"] == pytest.approx(info["mid"] * 0.01)


def test_frames_mark_the_touch_and_the_arrival_and_the_maker_gets_its_panels():
    env = gym.make("MarS-Execution-v0", quantity=1500, render_mode="rgb_array",
                   **ON_THE_DEFAULT_MARKET)
    env.reset(seed=1)
    frame = env.render()
    gray = (127, 127, 127)  # tab:gray: the arrival mid, across both panels
    assert colour_share(frame, gray, 12) > 0.0005
    maker = gym.make("MarS-MarketMaking-v0", render_mode="rgb_array",
                     **ON_THE_DEFAULT_MARKET).unwrapped
    maker.reset(seed=0)
    for _ in range(3):
        maker.step(np.array([1, 1, 100, 100], dtype=np.float32))
    panels = maker.frame_extras().panels
    assert list(panels) == ["inventory (lots)", "PnL (USD)"]
    times, inventory = panels["inventory (lots)"]
    assert len(times) == 4 and inventory[0] == 0 and inventory[-1] == maker.inventory
    purple = (148, 103, 189)  # tab:purple: the panels' lines
    assert colour_share(maker.render(), purple, 30) > colour_share(frame, purple, 30) + 0.0005
