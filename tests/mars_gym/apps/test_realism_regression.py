"""Realism regression: the shipped LMMs' visible flow on a short held-out window.

The targets (each message share within 5 points of the real one, the rate within 20 %) are not
all met on this window: the default meets the rate (+17 %), not the shares (new orders 9 and
cancels 14 points short, executions 24 points over: this window's real flow is unusually
passive, 5 % executions against 22 % over the whole gate); ``"mid"``, the first default, is
sparse and execution-heavy.
The values below were measured with the depth ladder that bridges gaps up to the 99th
percentile of the training gaps (:mod:`mars_gym.sim.depth`); with the maximum, the default
stood at 50.8 / 27.5 / 21.7 % and 164 a minute, and ``mid`` at 39.8 / 16.3 / 43.9 %.
What this test guards is that none drifts further from the real window than it stands today
by more than those tolerances: a change that makes a flow more execution-heavy, sparser or
busier fails here before it reaches the gate.
"""

from __future__ import annotations

import math

import pytest

from mars_gym.apps.gate import run_gate

WINDOW = {"AMZN": 1}  # the first window of AMZN's test split
MINUTES = {"AMZN": 3.0}
SEEDS = [0, 1, 2, 3]
SHARE_TOLERANCE = 0.05  # points of each message type's share
RATE_TOLERANCE = 1.2  # factor on messages per minute
# What each shipped model gives on this window and these seeds (the real window: new 55.4 %,
# cancels 39.1 %, executions 5.3 %, 152 messages a minute), measured with this test's call
# (the mid model before unseen cancels: 27.0 / 7.0 / 66.0 %, 64.8 a minute).
STANDING = {"default": {"new": 0.463, "cancel": 0.247, "execute": 0.289,
                        "messages_per_minute": 177.9},
            "mid": {"new": 0.354, "cancel": 0.124, "execute": 0.522,
                    "messages_per_minute": 56.1}}


@pytest.fixture(scope="module", params=sorted(STANDING))
def mixes(request, lobster_dir):
    document = run_gate(["lmm"], WINDOW, seeds=SEEDS, minutes=MINUTES, n_bootstrap=10,
                        checkpoint=request.param, data_dir=lobster_dir, progress=False)
    entry = document["sources"]["AMZN"]
    return STANDING[request.param], entry["real"]["mix"], entry["flows"]["lmm"]["mix"]


@pytest.mark.parametrize("kind", ["new", "cancel", "execute"])
def test_the_lmm_message_shares_do_not_drift_from_the_real_window(mixes, kind):
    standing, real, generated = mixes
    allowed = abs(standing[kind] - real[kind]) + SHARE_TOLERANCE
    assert abs(generated[kind] - real[kind]) <= allowed, (kind, generated[kind], real[kind])


def test_the_lmm_message_rate_does_not_drift_from_the_real_window(mixes):
    standing, real, generated = mixes
    rate = "messages_per_minute"
    allowed = abs(math.log(standing[rate] / real[rate])) + math.log(RATE_TOLERANCE)
    assert abs(math.log(generated[rate] / real[rate])) <= allowed, (generated[rate], real[rate])
    assert generated["messages"] >= 200  # enough messages for the shares to mean something
