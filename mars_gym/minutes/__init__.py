"""The minute level of the market (MarS's order-batch model): each minute of order flow as an
image of counts (:mod:`mars_gym.tokens.images`), a VQ-VAE that turns it into codes
(:mod:`mars_gym.minutes.tokenizer`) and a transformer over minutes of codes
(:mod:`mars_gym.minutes.model`). It imports :mod:`mars_gym.lmm.model` one way only; the
ensemble (:mod:`mars_gym.ensemble`) joins it to the order model.
"""
