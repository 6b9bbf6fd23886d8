import numpy as np
import pytest

from lob_core import OrderBook
from mars_gym.data import SOURCES, load_source, split_by_time
from mars_gym.data.orders import BUY_ORDER, CANCEL_ORDER, SELL_ORDER
from mars_gym.data.schema import seed_book_from_state
from mars_gym.sim.flows import HawkesCalibration, HawkesFlow, NoiseFlow, run_alone
from mars_gym.sim.flows.hawkes import fit_hawkes, hawkes_log_likelihood
from tests.mars_gym.sim.books import seeded_book

AMZN = SOURCES["AMZN"]


def _hawkes_times(mu, alpha, beta, n, seed):
    calibration = HawkesCalibration(mu, alpha, beta, np.array([1.0, 0, 0]),
                                    {BUY_ORDER: np.array([5]), SELL_ORDER: np.array([5]),
                                     CANCEL_ORDER: np.array([0])},
                                    {BUY_ORDER: np.array([1]), SELL_ORDER: np.array([1]),
                                     CANCEL_ORDER: np.array([1])}, np.array([1]))
    flow = HawkesFlow(calibration)
    flow.reset(seed, seeded_book(), 0)
    return np.array([flow.next_order().time_ns for _ in range(n)])


def test_hawkes_maximum_likelihood_recovers_known_parameters():
    times = _hawkes_times(mu=2.0, alpha=3.0, beta=6.0, n=20_000, seed=0)
    mu, alpha, beta = fit_hawkes(times)
    assert mu == pytest.approx(2.0, rel=0.25)
    assert alpha / beta == pytest.approx(0.5, abs=0.08)
    assert beta == pytest.approx(6.0, rel=0.35)


def test_poisson_times_fit_a_small_branching_ratio():
    times = np.cumsum(np.random.default_rng(1).exponential(0.5, 5_000)) * 1e9
    mu, alpha, beta = fit_hawkes(times.astype(np.int64))
    assert alpha / beta < 0.1 and mu == pytest.approx(2.0, rel=0.1)


def test_log_likelihood_of_poisson_case_matches_closed_form():
    times = np.array([0.5, 1.0, 2.5, 4.0])
    value = hawkes_log_likelihood(times - times[0], 2.0, 0.0, 1.0)
    assert value == pytest.approx(4 * np.log(2.0) - 2.0 * 3.5)


@pytest.mark.parametrize("flow", [NoiseFlow(interval_ns=200_000_000),
                                  HawkesFlow(HawkesCalibration(
                                      1.0, 2.0, 4.0, np.array([0.4, 0.4, 0.2]),
                                      {BUY_ORDER: np.array([-1, 0, 1, 3]),
                                       SELL_ORDER: np.array([0, 2]),
                                       CANCEL_ORDER: np.array([0, 1])},
                                      {BUY_ORDER: np.array([100]), SELL_ORDER: np.array([200]),
                                       CANCEL_ORDER: np.array([100])}, np.array([1, -1])))],
                         ids=["noise", "hawkes"])
def test_same_seed_gives_the_same_stream_and_the_book_stays_valid(flow):
    streams = [run_alone(flow, seeded_book(), 0, 120 * 10**9, AMZN, seed=7) for _ in range(2)]
    assert np.array_equal(streams[0].events, streams[1].events)
    assert np.array_equal(streams[0].book, streams[1].book)
    other = run_alone(flow, seeded_book(), 0, 120 * 10**9, AMZN, seed=8)
    assert not np.array_equal(other.events[:50], streams[0].events[:50])
    book = streams[0].book
    both = (book["bid"] > 0) & (book["ask"] > 0)
    assert (book["bid"][both] < book["ask"][both]).all()
    assert len(streams[0]) > 100


def test_noise_flow_follows_the_mars_tables():
    flow = NoiseFlow(interval_ns=1_000, volume_scale=100)
    book = seeded_book()
    flow.reset(0, book, 0)
    orders = [flow.next_order() for _ in range(20_000)]
    kinds = np.array([o.kind for o in orders])
    assert np.bincount(kinds, minlength=3) / len(kinds) == pytest.approx([0.4, 0.4, 0.2], abs=0.02)
    trades = [o for o in orders if o.kind != CANCEL_ORDER]
    offsets = np.array([o.price - book.best_bid for o in trades])
    assert np.mean(offsets == 0) == pytest.approx(0.35, abs=0.02)
    assert np.mean(offsets == 2) == pytest.approx(0.15, abs=0.02)
    assert {o.size for o in trades} == {100, 200, 500, 1000, 2000}
    assert np.diff([o.time_ns for o in orders]).tolist() == [1_000] * (len(orders) - 1)


def test_hawkes_calibration_on_real_training_data(lobster_dir):
    train = split_by_time(load_source("AAPL", lobster_dir))["train"]
    calibration = HawkesCalibration.fit(train)
    assert 0 < calibration.branching_ratio < 1
    span = (train.events["time_ns"][-1] - train.events["time_ns"][0]) / 1e9
    stationary_rate = calibration.mu / (1 - calibration.branching_ratio)
    n_orders = calibration.sizes[BUY_ORDER].size + calibration.sizes[SELL_ORDER].size \
        + calibration.sizes[CANCEL_ORDER].size
    assert stationary_rate == pytest.approx(n_orders / span, rel=0.5)
    assert calibration.kind_probs.sum() == pytest.approx(1.0)


def test_seed_book_from_a_real_state(lobster_dir):
    stream = load_source("AAPL", lobster_dir)
    book = OrderBook(1)
    seed_book_from_state(book, stream.book[1_000])
    assert book.best_bid == stream.book["bid"][1_000] and book.best_ask == stream.book["ask"][1_000]
    assert book.tick_state(5)[2:].tolist() == np.r_[stream.book["bid_qty"][1_000],
                                                      stream.book["ask_qty"][1_000]].tolist()


def test_the_progress_bar_counts_whole_seconds_and_reaches_the_end(capsys):
    """A window of 90.5 s whose last order comes well before its end: 91/91, 100 %."""
    flow = NoiseFlow(interval_ns=3 * 10**9, volume_scale=100)
    run_alone(flow, seeded_book(), 0, 90_500_000_000, AMZN, seed=1, progress=True)
    final = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert "100%" in final and "91/91" in final and "." not in final.split("|")[2].split("[")[0]
