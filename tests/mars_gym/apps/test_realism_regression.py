"""Realism regression: the shipped default LMM's visible flow on a short held-out window.

The issue's targets (each message share within 5 points of the real one, the rate within
20 %) are not met by the shipped default (see ``benchmarks/results/realism/realism.md``). What
this test guards is that it does not drift further from the real window than it stands today
by more than those tolerances: a change that makes the flow more execution-heavy, or sparser,
fails here before it reaches the gate.
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
# What the shipped default gives on this window and these seeds (the real window: new 55.4 %,
# cancels 39.1 %, executions 5.3 %, 152 messages a minute), measured with this test's call.
STANDING = {"new": 0.270, "cancel": 0.070, "execute": 0.660, "messages_per_minute": 64.8}


@pytest.fixture(scope="module")
def mixes(lobster_dir):
    document = run_gate(["lmm"], WINDOW, seeds=SEEDS, minutes=MINUTES, n_bootstrap=10,
                        data_dir=lobster_dir, progress=False)
    entry = document["sources"]["AMZN"]
    return entry["real"]["mix"], entry["flows"]["lmm"]["mix"]


@pytest.mark.parametrize("kind", ["new", "cancel", "execute"])
def test_the_default_lmm_message_shares_do_not_drift_from_the_real_window(mixes, kind):
    real, generated = mixes
    allowed = abs(STANDING[kind] - real[kind]) + SHARE_TOLERANCE
    assert abs(generated[kind] - real[kind]) <= allowed, (kind, generated[kind], real[kind])


def test_the_default_lmm_message_rate_does_not_drift_from_the_real_window(mixes):
    real, generated = mixes
    rate = "messages_per_minute"
    allowed = abs(math.log(STANDING[rate] / real[rate])) + math.log(RATE_TOLERANCE)
    assert abs(math.log(generated[rate] / real[rate])) <= allowed, (generated[rate], real[rate])
    assert generated["messages"] >= 200  # enough messages for the shares to mean something
