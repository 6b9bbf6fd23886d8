"""The order tokenizer: what a model is trained with and saved beside, in one object.

It joins three parts, each in its own module:

* the token scheme (:mod:`mars_gym.tokens.scheme`): token ids, their parts, price
  coordinates and the fitted bins that turn an order into a token and back;
* the conditioning features (:mod:`mars_gym.tokens.conditions`): what each position reads of
  the book its order saw (volumes, spread, trade memory, time of day, change since the open);
* the file format (:mod:`mars_gym.tokens.tokenizer_file`): one versioned header and the
  fitted arrays, with the migrations of older versions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mars_gym.data.orders import events_to_orders
from mars_gym.data.schema import EventStream
from mars_gym.tokens.bins import QuantileBins
from mars_gym.tokens.conditions import (
    BOOK_FEATURES,
    CHANGE_CLIP_BPS,
    N_CHANGE,
    N_TIME_OF_DAY,
    TRADE_MEMORY_S,
    Conditions,
    book_feature_count,
    live_conditions,
    stream_conditions,
)
from mars_gym.tokens.scheme import (
    N_KINDS,
    N_PRICE_BINS,
    PART_SIZES,
    PART_STRIDES,
    PRICE_REFERENCES,
    VOCAB_SIZE,
    DecodedOrders,
    TokenScheme,
    compose,
    decompose,
)
from mars_gym.tokens.tokenizer_file import (
    TokenizerFileError,
    load_state,
    read_state,
    save_state,
    tokenizer_state,
)

# the names importers of this module knew, from their homes
__all__ = [
    "BOOK_FEATURES",
    "CHANGE_CLIP_BPS",
    "N_CHANGE",
    "N_KINDS",
    "N_PRICE_BINS",
    "N_TIME_OF_DAY",
    "PART_SIZES",
    "PART_STRIDES",
    "PRICE_REFERENCES",
    "TRADE_MEMORY_S",
    "VOCAB_SIZE",
    "Conditions",
    "DecodedOrders",
    "OrderTokenizer",
    "TokenizedStream",
    "TokenizerFileError",
    "compose",
    "decompose",
]


@dataclass
class TokenizedStream:
    ids: np.ndarray          # int64 token ids
    conditions: Conditions
    orders: np.ndarray       # TOKEN_ORDER_DTYPE, the orders the ids encode


class OrderTokenizer(TokenScheme):
    """Fitted bin converters of the MarS order-token scheme and the conditions read beside
    them (one file, versioned)."""

    def __init__(self, price_bins: dict[int, QuantileBins], volume_bins: dict[int, QuantileBins],
                 interval_bins: QuantileBins, volume_scale: dict[int, float],
                 price_reference: str = "touch", source_rows: dict[str, int] | None = None,
                 generic_source: bool = False, trade_memory_s: Sequence[float] = ()) -> None:
        super().__init__(price_bins, volume_bins, interval_bins, volume_scale, price_reference)
        if not all(t > 0 and math.isfinite(t) for t in map(float, trade_memory_s)):
            raise ValueError(f"trade memory timescales must be positive seconds, got "
                             f"{trade_memory_s!r}")
        self.trade_memory_s = tuple(float(t) for t in trade_memory_s)
        # the sources trained on, name -> embedding row (mars_gym.lmm.sources), and whether
        # the generic row was trained (source dropout)
        self.source_rows = dict(source_rows or {})
        self.generic_source = generic_source

    @property
    def book_features(self) -> int:
        """Width of the ``book`` conditions: the volumes, the spread for ``"touch"``, and one
        per trade memory timescale."""
        return book_feature_count(self.price_reference == "touch", self.trade_memory_s)

    @property
    def reads_trades(self) -> bool:
        """Whether the conditions read the executions (a trade memory)."""
        return bool(self.trade_memory_s)

    @classmethod
    def fit(cls, streams: list[EventStream], price_reference: str = "touch",
            trade_memory_s: Sequence[float] = ()) -> OrderTokenizer:
        """Fit every bin on training streams (pass training splits only); the conditions read
        the trade memory on ``trade_memory_s`` (seconds; none by default)."""
        scheme = TokenScheme.fit(streams, price_reference)
        return cls(scheme.price_bins, scheme.volume_bins, scheme.interval_bins,
                   scheme.volume_scale, price_reference, trade_memory_s=trade_memory_s)

    def encode(self, stream: EventStream) -> TokenizedStream:
        """Token ids and conditioning features of a stream's orders."""
        orders = events_to_orders(stream)
        ids = self.stream_ids(stream, orders)
        return TokenizedStream(ids, self.conditions(stream, orders["event"]), orders)

    def conditions(self, stream: EventStream, events: np.ndarray) -> Conditions:
        """Conditioning features of positions whose books are ``stream.book[events]``."""
        return stream_conditions(stream, events, self.volume_scale,
                                 self.price_reference == "touch", self.trade_memory_s)

    def live_conditions(self, tick_states: np.ndarray, time_ns, open_mid,
                        source: int, trade_memory: np.ndarray | None = None) -> Conditions:
        """Conditioning features of live books given as :meth:`lob_core.OrderBook.tick_state`
        rows with 5 ticks (``(B, 12)``, prices in ticks), at times ``time_ns``; a tokenizer
        that :attr:`reads_trades` also needs each book's ``trade_memory`` (``(B, memory
        timescales)``, :class:`mars_gym.tokens.trade_memory.TradeMemory`)."""
        return live_conditions(tick_states, time_ns, open_mid, source, self.volume_scale,
                               self.price_reference == "touch", self.trade_memory_s,
                               trade_memory)

    # -- persistence (mars_gym.tokens.tokenizer_file) --------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        """All fitted arrays, with a JSON header naming the format and version."""
        return tokenizer_state(self, self.source_rows, self.generic_source, self.trade_memory_s)

    @classmethod
    def from_state(cls, arrays, origin: str = "<state>") -> OrderTokenizer:
        return cls(**read_state(arrays, origin))

    def save(self, path: Path | str) -> None:
        """Write the tokenizer as one ``.npz`` file."""
        save_state(path, self.state())

    @classmethod
    def load(cls, path: Path | str) -> OrderTokenizer:
        return cls(**load_state(path))
