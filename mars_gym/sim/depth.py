"""Liquidity behind the touch for sources whose data shows only the best price levels.

A level-N LOBSTER file says nothing beyond the N-th price level: the rebuilt book there holds
only orders that were once in view and whose later fate the data never told (most are long
gone), and a flow trained on such data never places orders behind the touch either. Left as
is, the first time a simulated flow takes the touch the next price is wherever a stale order
happens to sit — often a hundred ticks or more away — and the mid jumps there.

What the data does tell is what was behind the touch each time a real touch was used up: how
far away the new best price was, and how much it held. :class:`DepthProfile` collects those
(gap, size) pairs from a training stream; :class:`DepthLadder` removes the unknown part of the
start book (everything beyond the N visible levels) and keeps ``levels`` price levels on each
side, adding a level drawn from the profile behind the deepest one whenever a side has fewer.
Only levels no farther apart than the ladder's widest gap count: flows place some orders
hundreds of ticks away (so did the real traders), and counted as depth they would stop the
refill, leaving a hole the next sweep falls through. That gap is the 99th percentile of the
training gaps (:data:`LADDER_GAP_PERCENTILE`), not their maximum: the maximum is one rare
jump (66 ticks on AMZN, against 20 at the 99th percentile and a median of 2), and bridging
holes that wide left the book behind a moved touch thin. Level-1 data hides the orders added
behind the touch as it hides the cancels there; with the cancels simulated
(:mod:`mars_gym.data.unseen_cancels`) and holes up to the maximum left unfilled, every used-up
touch widened the spread by 5-6 ticks on AMZN's validation windows (2-3 in the data) and the
median spread settled at 15 ticks (12 real); with holes of more than 20 ticks refilled, at 11.6.
The added orders belong to the background (:data:`~mars_gym.sim._event_loop.BACKGROUND_AGENT`)
and are recorded like any other order, so a level-N view of a simulated window does not show
them, just as the real file did not.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from lob_core import OrderBook
from mars_gym.data.recording import RecordingBook
from mars_gym.data.schema import EventStream
from mars_gym.sim.ids import FIRST_LADDER_ORDER_ID

LADDER_LEVELS = 10  # price levels kept on each side; sources showing fewer get a ladder
LADDER_GAP_PERCENTILE = 99  # of the training gaps: the widest gap the ladder bridges


@dataclass(frozen=True)
class DepthProfile:
    """Gaps (ticks) between a used-up touch and the next best price, and that price's size."""

    gaps: np.ndarray
    sizes: np.ndarray

    @classmethod
    def fit(cls, stream: EventStream) -> DepthProfile:
        """Every change of a stream's book rows where a side's best price got worse (the touch
        was used up), both sides pooled."""
        bid, ask = stream.book["bid"], stream.book["ask"]
        gap_parts: list[np.ndarray] = []
        size_parts: list[np.ndarray] = []
        for price, qty, sign in ((bid, stream.book["bid_qty"][:, 0], 1),
                                 (ask, stream.book["ask_qty"][:, 0], -1)):
            before, after = price[:-1], price[1:]
            worse = (before > 0) & (after > 0) & (sign * (before - after) > 0)
            gap_parts.append(sign * (before - after)[worse])
            size_parts.append(qty[1:][worse])
        gaps, sizes = np.concatenate(gap_parts), np.concatenate(size_parts)
        keep = sizes > 0
        if not keep.any():
            raise ValueError(f"{stream.source.name}: no used-up touch in the stream to learn "
                             "the depth behind it from")
        return cls(gaps[keep].astype(np.int64), sizes[keep].astype(np.int64))

    def widest(self, percentile: float) -> int:
        """The observed gap at ``percentile`` (a gap that occurred, not an interpolation)."""
        return int(np.percentile(self.gaps, percentile, method="higher"))

    def up_to(self, gap: int) -> DepthProfile:
        """The pairs whose gap is at most ``gap``."""
        keep = self.gaps <= gap
        return DepthProfile(self.gaps[keep], self.sizes[keep])

    def draw(self, rng: np.random.Generator) -> tuple[int, int]:
        """One (gap, size) pair, drawn jointly from the observed ones."""
        i = rng.integers(len(self.gaps))
        return int(self.gaps[i]), int(self.sizes[i])


class DepthLadder:
    """Keeps ``levels`` price levels per side of a book (see the module docstring).

    Parameters
    ----------
    profile : DepthProfile
    visible_levels : int
        Price levels per side the data shows; the start book keeps only those.
    levels : int, default :data:`LADDER_LEVELS`
    """

    def __init__(self, profile: DepthProfile, visible_levels: int,
                 levels: int = LADDER_LEVELS) -> None:
        if visible_levels < 1:
            raise ValueError(f"visible_levels must be >= 1, got {visible_levels}")
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
        self.visible_levels, self.levels = visible_levels, levels
        self.widest_gap = profile.widest(LADDER_GAP_PERCENTILE)
        self.profile = profile.up_to(self.widest_gap)  # laid levels never leave a hole

    def prepare(self, book: OrderBook, seed: int) -> None:
        """Drop the orders beyond the visible levels and lay the ladder. Call before the book is
        recorded: the result is the simulation's starting book."""
        self.rng = np.random.default_rng([seed, 2])
        self.next_id = FIRST_LADDER_ORDER_ID
        prices = book.depth(self.visible_levels)
        orders = book.orders_array()
        self.back: dict[int, int | None] = {}  # each side's deepest level when last topped up
        for side, row in ((1, 0), (-1, 2)):
            visible = prices[row][prices[row] > 0]
            self.back[side] = int(visible[-1]) if len(visible) else None
            if len(visible):
                beyond = side * (visible[-1] - orders["price"]) > 0
                for order_id in orders["order_id"][(orders["side"] == side) & beyond].tolist():
                    book.cancel(order_id)
        self.top_up(book, 0)

    def ladder_prices(self, book: OrderBook, side: int) -> np.ndarray:
        """A side's best ``levels`` prices up to the first hole wider than the ladder's widest
        gap: the levels a sweep walks through before the price jumps."""
        prices = book.depth(self.levels)[0 if side > 0 else 2]
        prices = prices[prices > 0]
        holes = np.flatnonzero(np.abs(np.diff(prices)) > self.widest_gap)
        return prices[:holes[0] + 1] if len(holes) else prices

    def top_up(self, target: OrderBook | RecordingBook, time_ns: int) -> None:
        """Add levels behind the deepest ladder level of a side with fewer than ``levels``
        (:meth:`ladder_prices`: a level far beyond a hole, such as a flow's order placed
        hundreds of ticks away, does not count, or the ladder would stop refilling near the
        touch and the next sweep would take the price to it)."""
        book = target.book if isinstance(target, RecordingBook) else target
        for side in (1, -1):
            prices = self.ladder_prices(book, side)
            missing = self.levels - len(prices)
            if missing <= 0:
                continue
            if len(prices):
                deepest = int(prices[-1])
            else:  # a side swept empty: rebuild it behind its last known back
                facing = book.best_ask if side > 0 else book.best_bid
                anchors = [p for p in (self.back[side], facing and facing - side) if p]
                if not anchors:
                    continue  # an empty book: nothing to anchor the ladder to
                # the first level lies one gap behind the anchor, never across the other side
                deepest = (min(anchors) if side > 0 else max(anchors)) + side
            for _ in range(missing):
                gap, size = self.profile.draw(self.rng)
                price = deepest - side * gap
                if price <= 0:
                    break
                if isinstance(target, RecordingBook):
                    target.limit(side, price, size, self.next_id, time_ns)
                else:
                    target.limit(side, price, size, self.next_id, ts=time_ns)
                self.next_id += 1
                deepest = price
            self.back[side] = deepest


@lru_cache(maxsize=8)
def _training_profile(source: str, data_dir) -> DepthProfile:
    from mars_gym.data import load_source, split_by_time

    return DepthProfile.fit(split_by_time(load_source(source, data_dir))["train"])


def source_ladder(source: str, data_dir=None) -> DepthLadder | None:
    """A new ladder for a source whose data shows fewer than :data:`LADDER_LEVELS` levels
    (its profile fitted on the training split), ``None`` for the others."""
    from mars_gym.data import load_source

    visible = load_source(source, data_dir).source.visible_levels
    if visible is None or visible >= LADDER_LEVELS:
        return None
    return DepthLadder(_training_profile(source, data_dir), visible)
