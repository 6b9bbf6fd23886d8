"""Order tokens (MarS single-order scheme) and their conditioning features."""

from mars_gym.tokens.bins import QuantileBins
from mars_gym.tokens.order_tokenizer import (
    VOCAB_SIZE,
    Conditions,
    DecodedOrders,
    OrderTokenizer,
    TokenizedStream,
    TokenizerFileError,
    compose,
    decompose,
)
from mars_gym.tokens.orders import (
    BUY_ORDER,
    CANCEL_ORDER,
    SELL_ORDER,
    TOKEN_ORDER_DTYPE,
    events_to_orders,
)

__all__ = [
    "BUY_ORDER",
    "CANCEL_ORDER",
    "SELL_ORDER",
    "TOKEN_ORDER_DTYPE",
    "VOCAB_SIZE",
    "Conditions",
    "DecodedOrders",
    "OrderTokenizer",
    "QuantileBins",
    "TokenizedStream",
    "TokenizerFileError",
    "compose",
    "decompose",
    "events_to_orders",
]
