"""Which source row and volume scale the LMM reads for a stream, seen or not in training.

The model conditions on a source through one row of its source embedding, and the tokenizer
measures sizes in units of the source's median training order size (its volume scale). A
source is read through, in order:

1. its own row: a shared source the checkpoint was trained on (its ``source_id``), or a source
   given by path that was trained under its name (the tokenizer's ``source_rows``);
2. the generic row :data:`GENERIC_SOURCE_ROW`, when the checkpoint trained it (source
   dropout: ``mars-gym train-lmm --source-dropout``): any other instrument, its sizes measured
   against its own median order size (prices are ticks against the touch already);
3. otherwise it is refused, with what to do instead.

:func:`assign_rows` gives the sources of a training run their rows: shared sources keep their
ids, others take the lowest free row below the generic one.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np

from mars_gym.data import DATA_SOURCES, SOURCES, split_by_time
from mars_gym.data.orders import CANCEL_ORDER, events_to_orders
from mars_gym.data.schema import EventStream
from mars_gym.lmm.model import LMMConfig
from mars_gym.tokens import OrderTokenizer

GENERIC_SOURCE_ROW = LMMConfig.n_sources - 1  # the last row of the default source embedding


def median_order_size(stream: EventStream) -> float:
    """The median size of a stream's buy and sell orders, in lots (its volume scale)."""
    orders = events_to_orders(stream)
    sizes = orders["size"][orders["kind"] != CANCEL_ORDER]
    if sizes.size == 0:
        raise ValueError(f"{stream.source.name}: no buy or sell orders to measure sizes on")
    return float(np.median(sizes))


def with_row(stream: EventStream, row: int) -> EventStream:
    """The same stream whose source reads embedding row ``row``."""
    return replace(stream, source=replace(stream.source, source_id=row))


def own_row(tokenizer: OrderTokenizer, stream: EventStream) -> int | None:
    """The row the checkpoint trained for this stream's source, or None. A source declaring a
    shared source's id (the embedded default market reads AAPL's) is read through that row
    unless the checkpoint gave the row to a source of its own."""
    name, source_id = stream.source.name, stream.source.source_id
    if name in tokenizer.source_rows:
        return tokenizer.source_rows[name]
    if source_id < 0 or source_id not in tokenizer.volume_scale:
        return None
    owner = {row: owner for owner, row in tokenizer.source_rows.items()}.get(source_id)
    shared_owner = owner in SOURCES and SOURCES[owner].source_id == source_id
    return source_id if owner is None or shared_owner else None


def bind_source(tokenizer: OrderTokenizer, stream: EventStream, checkpoint: str = "the LMM"
                ) -> tuple[OrderTokenizer, EventStream]:
    """The tokenizer and stream to read ``stream`` with (see the module docstring): the
    stream's source carries the row, and for the generic row the tokenizer is a copy whose
    volume scale there is the source's own median training order size."""
    row = own_row(tokenizer, stream)
    if row is not None:
        return tokenizer, with_row(stream, row)
    if not tokenizer.generic_source:
        raise ValueError(f"the LMM checkpoint {checkpoint!r} was not trained on source "
                         f"{stream.source.name!r} and has no generic source row; use a "
                         "model-free flow (hawkes, noise, replay) or fine-tune the LMM on it "
                         "(mars-gym train-lmm --init default --sources PATH)")
    bound = copy.copy(tokenizer)
    bound.volume_scale = {**tokenizer.volume_scale,
                          GENERIC_SOURCE_ROW: median_order_size(split_by_time(stream)["train"])}
    return bound, with_row(stream, GENERIC_SOURCE_ROW)


def trained_rows(tokenizer: OrderTokenizer) -> dict[str, int]:
    """Name -> row of every source a tokenizer was trained on (files written before source
    rows: the shared sources whose ids it knows)."""
    if tokenizer.source_rows:
        return dict(tokenizer.source_rows)
    return {name: source.source_id for name, source in SOURCES.items()
            if name in DATA_SOURCES and source.source_id in tokenizer.volume_scale}


def assign_rows(streams: list[EventStream], taken: dict[str, int]) -> dict[str, int]:
    """Rows for the sources of a training run: a source already in ``taken`` (name -> row)
    keeps its row, a shared source its id, any other the lowest free row below
    :data:`GENERIC_SOURCE_ROW`."""
    rows = dict(taken)
    for stream in streams:
        name, source_id = stream.source.name, stream.source.source_id
        if name not in rows and 0 <= source_id < GENERIC_SOURCE_ROW:
            rows[name] = source_id
    for stream in streams:
        name = stream.source.name
        if name in rows:
            continue
        free = sorted(set(range(GENERIC_SOURCE_ROW)) - set(rows.values()))
        if not free:
            raise ValueError(f"no free source row left for {name!r}: the embedding has "
                             f"{LMMConfig.n_sources} rows and one is the generic row")
        rows[name] = free[0]
    return rows
