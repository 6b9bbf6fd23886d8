"""Pictures of a simulated episode: the book around the touch, the mid path, the agent's
resting orders and fills. Used by every scenario task's ``render()``."""

from __future__ import annotations

import numpy as np

from mars_gym.sim.simulator import Simulator

BOOK_LEVELS = 10  # price levels per side drawn
FRAME_SIZE = (9.6, 4.8)  # inches; at 100 dpi a 960 x 480 frame


def draw_episode(figure, sim: Simulator, agent_id: int, source, title: str = "") -> None:
    """Draw the episode so far on a matplotlib ``figure``: left, the book's levels around the
    touch (bids green, asks red, the agent's resting quantity outlined in black); right, the
    mid since the start with the agent's fills (buys ^, sells v)."""
    figure.clear()
    book_axis, path_axis = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 2]})
    bid_prices, bid_qty, ask_prices, ask_qty = sim.book.depth(BOOK_LEVELS)
    for prices, qty, colour in ((bid_prices, bid_qty, "tab:green"),
                                (ask_prices, ask_qty, "tab:red")):
        shown = prices > 0
        book_axis.barh(prices[shown], qty[shown], height=0.8, color=colour, alpha=0.6)
    account = sim.accounts.get(agent_id)
    if account is not None:
        for order_id in account.resting:
            if order_id in sim.book:
                side, price, qty, *_ = sim.book.order(order_id)
                book_axis.barh([price], [qty], height=0.8, fill=False, edgecolor="black",
                               linewidth=1.5, label="agent")
    book_axis.set_xlabel("lots")
    book_axis.set_ylabel("price (ticks)")
    book_axis.set_title("book")

    stream = sim.stream(source)
    times = (stream.events["time_ns"] - stream.events["time_ns"][0]) / 1e9 \
        if len(stream) else np.zeros(0)
    path_axis.plot(times, stream.mid if len(stream) else np.zeros(0), color="tab:blue",
                   linewidth=1, label="mid")
    if account is not None and account.fills and len(stream):
        start = stream.events["time_ns"][0]
        for side, marker, colour in ((1, "^", "tab:green"), (-1, "v", "tab:red")):
            fills = [f for f in account.fills if f.side == side]
            if fills:
                path_axis.scatter([(f.time_ns - start) / 1e9 for f in fills],
                                  [f.price for f in fills], marker=marker, color=colour,
                                  s=[12 + 30 * f.size / max(g.size for g in fills) for f in fills],
                                  label="agent buys" if side > 0 else "agent sells", zorder=3)
    for axis in (book_axis, path_axis):
        axis.ticklabel_format(axis="y", useOffset=False, style="plain")
    path_axis.set_xlabel("seconds since the start")
    path_axis.set_title("mid and the agent's fills")
    path_axis.legend(loc="best", fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()


def episode_frame(sim: Simulator, agent_id: int, source, title: str = "") -> np.ndarray:
    """:func:`draw_episode` as an RGB array (height, width, 3), uint8 (off screen: no pyplot,
    no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=FRAME_SIZE, dpi=100)
    canvas = FigureCanvasAgg(figure)
    draw_episode(figure, sim, agent_id, source, title)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


class EpisodeWindow:
    """The ``"human"`` render mode: one pyplot window, redrawn at each call."""

    def __init__(self) -> None:
        import matplotlib.pyplot as plt

        self.plt = plt
        self.figure = plt.figure(figsize=FRAME_SIZE)

    def show(self, sim: Simulator, agent_id: int, source, title: str = "") -> None:
        draw_episode(self.figure, sim, agent_id, source, title)
        self.plt.pause(0.001)

    def close(self) -> None:
        self.plt.close(self.figure)
