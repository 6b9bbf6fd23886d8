"""Keyed draws: Gumbel statistics, keys, and common random numbers."""

import numpy as np
import pytest
import torch

from mars_gym.lmm.keyed_draws import TOKEN_SLOTS, StreamNoise, gumbel, stream_keys
from mars_gym.lmm.model import LMM, LMMConfig

EULER_GAMMA = 0.5772156649


def test_noise_is_standard_gumbel():
    keys = stream_keys(3, np.arange(2_000))
    g = gumbel(keys, np.zeros(2_000, dtype=np.uint64), TOKEN_SLOTS).ravel()
    assert np.isfinite(g).all()
    assert abs(g.mean() - EULER_GAMMA) < 0.01
    assert abs(g.var() - np.pi**2 / 6) < 0.03


def test_each_draw_of_each_stream_has_its_own_noise():
    keys = stream_keys(0, [5, 5, 6])
    g = gumbel(keys, np.array([0, 1, 0], dtype=np.uint64), TOKEN_SLOTS)
    again = gumbel(keys, np.array([0, 1, 0], dtype=np.uint64), TOKEN_SLOTS)
    assert np.array_equal(g, again)
    for a, b in ((0, 1), (0, 2), (1, 2)):  # another draw or another key: unrelated noise
        assert abs(np.corrcoef(g[a], g[b])[0, 1]) < 0.35
    assert not np.array_equal(stream_keys(0, [5]), stream_keys(1, [5]))  # the seed matters


def test_a_stream_draws_by_its_key_not_its_row():
    alone = StreamNoise(0, 1)
    alone.restart([0], [42])
    crowded = StreamNoise(0, 4)
    crowded.restart([2], [42])
    first = alone.next()
    assert torch.equal(crowded.next([2])[0], first[0])
    assert torch.equal(crowded.next([1, 2])[1], alone.next()[0])  # row 2 drew, row 1 did not
    assert crowded.draws.tolist() == [0, 1, 2, 0]


def test_shared_noise_couples_draws_of_nearby_distributions():
    """Common random numbers: two slightly different states drawn with the same keys give the
    same token far more often than with independent keys, each still a fair draw."""
    torch.manual_seed(0)
    model = LMM(LMMConfig(n_layer=1, n_head=2, n_embd=32, context=16)).eval()
    h = torch.randn(4_000, 32)
    nudged = h + 0.05 * torch.randn_like(h)
    same = model.sample(h, StreamNoise(1, 4_000).next())
    coupled = model.sample(nudged, StreamNoise(1, 4_000).next())
    independent = model.sample(nudged, StreamNoise(2, 4_000).next())
    assert (same == coupled).float().mean() > 0.5
    assert (same == independent).float().mean() < 0.1


def test_a_withdrawn_draw_is_drawn_again_with_the_same_noise():
    noise = StreamNoise(0, 2)
    first = noise.next()
    noise.withdraw([1])
    again = noise.next()
    assert torch.equal(again[1], first[1]) and not torch.equal(again[0], first[0])
    fresh = StreamNoise(0, 1)
    with pytest.raises(RuntimeError, match="nothing drawn"):
        fresh.withdraw([0])
