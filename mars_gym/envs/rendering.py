"""Pictures of a simulated episode: the book around the touch, the mid and touch path, the
agent's resting orders and fills, and a task's own panels (:class:`FrameExtras`), prices in
ticks and in the source's currency. Used by every scenario task's ``render()``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mars_gym.sim.simulator import Simulator

BOOK_LEVELS = 10  # price levels per side drawn
FRAME_SIZE = (9.6, 4.8)  # inches; at 100 dpi a 960 x 480 frame


@dataclass(frozen=True)
class FrameExtras:
    """What a task adds to its frame: a reference price drawn across the book and the path
    (its label and ticks, e.g. the arrival mid) and panels below the path, each a label (with
    its unit) -> (times in ns, values)."""

    reference: tuple[str, float] | None = None
    panels: dict[str, tuple[Sequence[int], Sequence[float]]] = field(default_factory=dict)


def _currency_axis(axis, source) -> None:
    """A right-hand price axis in the source's currency beside the axis in ticks."""
    tick = source.tick_value
    right = axis.secondary_yaxis("right", functions=(lambda t: t * tick, lambda c: c / tick))
    right.set_ylabel(f"price ({source.currency})")
    right.ticklabel_format(axis="y", useOffset=False, style="plain")


def draw_episode(figure, sim: Simulator, agent_id: int, source, title: str = "",
                 extras: FrameExtras | None = None) -> None:
    """Draw the episode so far on a matplotlib ``figure``: left, the book's levels around the
    touch (bids green, asks red, the best bid and ask dashed, the agent's resting quantity
    outlined in black); right, the mid and the touch since the start with the agent's fills
    (buys ^, sells v), then the task's panels (``extras``). Prices in ticks on the left axes,
    in the source's currency on the right ones."""
    extras = extras or FrameExtras()
    figure.clear()
    grid = figure.add_gridspec(1 + len(extras.panels), 2, width_ratios=[1, 2],
                               height_ratios=[3] + [1] * len(extras.panels))
    book_axis = figure.add_subplot(grid[:, 0])
    path_axis = figure.add_subplot(grid[0, 1])
    bid_prices, bid_qty, ask_prices, ask_qty = sim.book.depth(BOOK_LEVELS)
    for prices, qty, colour, label in ((bid_prices, bid_qty, "tab:green", "bids"),
                                       (ask_prices, ask_qty, "tab:red", "asks")):
        shown = prices > 0
        book_axis.barh(prices[shown], qty[shown], height=0.8, color=colour, alpha=0.6,
                       label=label)
        if shown.any():
            book_axis.axhline(prices[shown][0], color=colour, linestyle="--", linewidth=1,
                              label=f"best {label[:-1]}")
    account = sim.accounts.get(agent_id)
    outlined = False
    if account is not None:
        for order_id in account.resting:
            if order_id in sim.book:
                side, price, qty, *_ = sim.book.order(order_id)
                book_axis.barh([price], [qty], height=0.8, fill=False, edgecolor="black",
                               linewidth=1.5, label=None if outlined else "agent's orders")
                outlined = True
    book_axis.set_xlabel("lots")
    book_axis.set_ylabel("price (ticks)")
    book_axis.set_title("book")

    stream = sim.stream(source)
    start = int(stream.events["time_ns"][0]) if len(stream) else sim.now
    times = (stream.events["time_ns"] - start) / 1e9 if len(stream) else np.zeros(0)
    if len(stream):
        bid, ask = stream.book["bid"], stream.book["ask"]
        path_axis.step(times, np.where(bid > 0, bid, np.nan), where="post", color="tab:green",
                       linewidth=0.6, alpha=0.7, label="best bid")
        path_axis.step(times, np.where(ask > 0, ask, np.nan), where="post", color="tab:red",
                       linewidth=0.6, alpha=0.7, label="best ask")
    path_axis.plot(times, stream.mid if len(stream) else np.zeros(0), color="tab:blue",
                   linewidth=1, label="mid")
    if extras.reference is not None:
        label, price = extras.reference
        for axis in (book_axis, path_axis):
            axis.axhline(price, color="tab:gray", linestyle=":", linewidth=1.2, label=label)
    if account is not None and account.fills and len(stream):
        for side, marker, colour in ((1, "^", "tab:green"), (-1, "v", "tab:red")):
            fills = [f for f in account.fills if f.side == side]
            if fills:
                path_axis.scatter([(f.time_ns - start) / 1e9 for f in fills],
                                  [f.price for f in fills], marker=marker, color=colour,
                                  s=[12 + 30 * f.size / max(g.size for g in fills) for f in fills],
                                  label="agent buys" if side > 0 else "agent sells", zorder=3)
    for axis in (book_axis, path_axis):
        axis.ticklabel_format(axis="y", useOffset=False, style="plain")
        _currency_axis(axis, source)
    path_axis.set_ylabel("price (ticks)")
    path_axis.set_title("mid, touch and the agent's fills")
    book_axis.legend(loc="best", fontsize=7)
    path_axis.legend(loc="best", fontsize=7)
    last_axis = path_axis
    for row, (label, (panel_times, values)) in enumerate(extras.panels.items(), start=1):
        last_axis = figure.add_subplot(grid[row, 1], sharex=path_axis)
        last_axis.step((np.asarray(panel_times, dtype=np.float64) - start) / 1e9, values,
                       where="post", color="tab:purple", linewidth=1)
        last_axis.set_ylabel(label, fontsize=8)
    last_axis.set_xlabel("seconds since the start")
    figure.suptitle(title)
    figure.tight_layout()


def episode_frame(sim: Simulator, agent_id: int, source, title: str = "",
                  extras: FrameExtras | None = None) -> np.ndarray:
    """:func:`draw_episode` as an RGB array (height, width, 3), uint8 (off screen: no pyplot,
    no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=FRAME_SIZE, dpi=100)
    canvas = FigureCanvasAgg(figure)
    draw_episode(figure, sim, agent_id, source, title, extras)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


class EpisodeWindow:
    """The ``"human"`` render mode: one pyplot window, redrawn at each call."""

    def __init__(self) -> None:
        import matplotlib.pyplot as plt

        self.plt = plt
        self.figure = plt.figure(figsize=FRAME_SIZE)

    def show(self, sim: Simulator, agent_id: int, source, title: str = "",
             extras: FrameExtras | None = None) -> None:
        draw_episode(self.figure, sim, agent_id, source, title, extras)
        self.plt.pause(0.001)

    def close(self) -> None:
        self.plt.close(self.figure)
