import numpy as np
import pytest

from mars_gym.tokens import QuantileBins


def test_equal_frequency_bins_on_continuous_values():
    values = np.random.default_rng(0).normal(size=32_000)
    bins = QuantileBins.fit(values, 32)
    counts = np.bincount(bins.transform(values), minlength=32)
    assert bins.n_bins == 32
    assert counts.min() > 800 and counts.max() < 1_200  # about 1 000 each


def test_a_value_with_more_than_its_share_gets_its_own_bin():
    values = np.r_[np.full(5_000, 100.0), np.arange(5_000, dtype=float)]
    bins = QuantileBins.fit(values, 8)
    heavy = bins.transform([100.0])[0]
    assert bins.values[heavy].tolist() == [100.0]
    assert bins.transform([99.0])[0] != heavy and bins.transform([101.0])[0] != heavy
    assert bins.n_bins <= 8


def test_fewer_unique_values_than_bins_gives_one_bin_each():
    bins = QuantileBins.fit(np.array([1, 1, 2, 3, 3, 3]), 32)
    assert bins.lower.tolist() == [1, 2, 3]


def test_sampled_values_fall_in_their_bin_and_follow_frequencies():
    rng = np.random.default_rng(1)
    bins = QuantileBins.fit(np.r_[np.full(300, 1.0), np.full(100, 2.0)], 1)
    draws = bins.sample(np.zeros(4_000, dtype=int), rng)
    assert set(draws.tolist()) == {1.0, 2.0}
    assert abs((draws == 1.0).mean() - 0.75) < 0.03
    wide = QuantileBins.fit(rng.lognormal(size=20_000), 8)
    for k in range(8):
        assert (wide.transform(wide.sample(np.full(500, k), rng)) == k).all()


def test_round_trip_through_arrays():
    bins = QuantileBins.fit(np.random.default_rng(2).exponential(size=5_000), 16)
    again = QuantileBins.from_arrays(bins.to_arrays("x"), "x")
    assert np.array_equal(again.lower, bins.lower)
    assert all(np.array_equal(a, b) for a, b in zip(again.values, bins.values, strict=False))


def test_empty_sample_is_refused():
    with pytest.raises(ValueError, match="empty"):
        QuantileBins.fit(np.array([]), 4)


def test_sampling_draws_what_generator_choice_draws():
    """Decoding's draws are ``rng.choice(values, size=n, p=weights)``'s, bin after bin, for
    one order at a time and for several (the shipped tokenizer's bins)."""
    from mars_gym.lmm.checkpoint import load_lmm

    _, tokenizer = load_lmm("default")
    for bins in (tokenizer.price_bins[0], tokenizer.volume_bins[2], tokenizer.interval_bins):
        ours, numpy_s = np.random.default_rng(5), np.random.default_rng(5)
        picks = np.random.default_rng(6)
        for n in [1, 3, 1, 7, 1, 1, 12] * 20:
            wanted = picks.integers(0, bins.n_bins + 2, n)  # past the last bin: the last bin
            clipped = np.minimum(wanted, bins.n_bins - 1)
            expected = np.empty(n)
            for k in np.unique(clipped):
                where = clipped == k
                expected[where] = numpy_s.choice(bins.values[k], size=int(where.sum()),
                                                 p=bins.weights[k])
            assert np.array_equal(bins.sample(wanted, ours), expected)
