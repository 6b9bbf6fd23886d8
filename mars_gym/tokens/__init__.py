"""Order tokens: the MarS single-order scheme (`scheme`), the conditioning features
(`conditions`), the tokenizer file (`tokenizer_file`), joined by `OrderTokenizer`; minute images
(`images`) for the order-batch tokens."""

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
