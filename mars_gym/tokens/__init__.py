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

__all__ = [
    "VOCAB_SIZE",
    "Conditions",
    "DecodedOrders",
    "OrderTokenizer",
    "QuantileBins",
    "TokenizedStream",
    "TokenizerFileError",
    "compose",
    "decompose",
]
