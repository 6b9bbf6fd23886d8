"""A background flow run alone on a book, its events recorded."""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from lob_core import OrderBook
from mars_gym.data.recording import RecordingBook
from mars_gym.data.schema import EventStream, Source
from mars_gym.data.units import NS_PER_S
from mars_gym.sim._event_loop import EventLoop
from mars_gym.sim.flows.base import BackgroundFlow
from mars_gym.sim.ids import FIRST_FLOW_ORDER_ID


def run_alone(flow: BackgroundFlow, book: OrderBook, start_ns: int, end_ns: int, source: Source,
              seed: int = 0, progress: bool = False, depth=None) -> EventStream:
    """Run a flow alone on ``book`` from ``start_ns`` to ``end_ns``; return its events
    (``depth``: a :class:`~mars_gym.sim.depth.DepthLadder` already prepared on ``book``, kept
    full after every order). The stream's report counts the flow's ``orders``, its
    ``cancels_without_target`` (cancels that found no background order to delete) and the
    ``unseen_cancels`` of orders behind the touch (:mod:`mars_gym.sim._event_loop`)."""
    recording = RecordingBook(book)
    flow.reset(seed, book, start_ns)
    # seed + 1: the cancel rule's draws, apart from the flow's
    loop = EventLoop(flow, recording, np.random.default_rng(seed + 1), depth)
    total_s = -(-(end_ns - start_ns) // NS_PER_S)  # whole simulated seconds, rounded up
    with tqdm(total=total_s, unit="sim s", disable=not progress) as bar:
        for second in range(1, total_s + 1):
            if not loop.run(min(end_ns, start_ns + second * NS_PER_S)):
                raise RuntimeError(f"{type(flow).__name__} waits for a batched token; a flow "
                                   "run alone must be built without a generator service")
            bar.update(1)
    return recording.stream(source, {"orders": loop.next_flow_id - FIRST_FLOW_ORDER_ID,
                                     "cancels_without_target": loop.cancels_without_target,
                                     "unseen_cancels": loop.unseen_cancels})
