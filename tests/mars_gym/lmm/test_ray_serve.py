"""The Ray Serve deployment on a local Ray instance (CPU), with the shipped default model."""

import math
import socket

import pytest

ray = pytest.importorskip("ray", reason="the serve extra (pip install .[serve]) is not installed")
from ray import serve  # noqa: E402  (after the extra's check)

from mars_gym.apps.parsers import serve as parser  # noqa: E402
from mars_gym.lmm.checkpoint import load_lmm  # noqa: E402
from mars_gym.lmm.options import LOOPBACK, ServeConfig  # noqa: E402
from mars_gym.lmm.ray_serve import start  # noqa: E402
from mars_gym.lmm.serve import BadRequestError  # noqa: E402

BOOK_FEATURES = load_lmm("default")[0].config.book_features  # of the served model
ROW = {"book": [0.5] * BOOK_FEATURES, "time_of_day": 7_000, "change": 200, "source": 0}
OWNER, OTHER = "client-a-secret", "client-b-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             _node_ip_address=LOOPBACK)
    port = _free_port()
    app = start(ServeConfig(capacity=8, device="cpu", host=LOOPBACK, port=port))
    yield app, port
    serve.shutdown()
    ray.shutdown()


def _open(handle, owner=OWNER):
    return handle.open.remote([5, 6, 7, 8], [ROW] * 4, owner).result()


def test_concurrent_steps_are_served_by_one_batched_forward(served):
    handle, _ = served
    streams = [_open(handle) for _ in range(4)]
    before = handle.rounds.remote().result()
    pending = [handle.step.remote((stream, token, ROW, OWNER)) for stream, token in streams]
    tokens = [p.result() for p in pending]
    assert all(0 <= t < 49_152 for t in tokens)
    rounds = handle.rounds.remote().result() - before
    assert 1 <= rounds < len(streams)  # requests were batched together
    for stream, _ in streams:
        handle.close.remote(stream, OWNER).result()


BAD_REQUESTS = {
    "token beyond the vocabulary": lambda s, t: (s, 10**12, ROW, OWNER),
    "negative token": lambda s, t: (s, -5, ROW, OWNER),
    "non-finite book": lambda s, t: (s, t, {**ROW, "book": [math.nan] * BOOK_FEATURES}, OWNER),
    "source out of range": lambda s, t: (s, t, {**ROW, "source": 99}, OWNER),
    "malformed conditions": lambda s, t: (s, t, {"book": "x"}, OWNER),
    "another client's stream": lambda s, t: (s, t, ROW, OTHER),
}


def test_a_bad_request_inside_a_batch_of_good_ones_fails_alone(served):
    handle, _ = served
    good = [_open(handle) for _ in range(3)]
    victim, victim_token = _open(handle)
    before = handle.rounds.remote().result()
    for name, make in BAD_REQUESTS.items():
        pending = [handle.step.remote((s, t, ROW, OWNER)) for s, t in good]
        bad = handle.step.remote(make(victim, victim_token))
        with pytest.raises((BadRequestError, PermissionError, KeyError)):
            bad.result()
        tokens = [p.result() for p in pending]
        assert all(0 <= t < 49_152 for t in tokens), name
        good = [(s, t) for (s, _), t in zip(good, tokens, strict=False)]
    # The victim's stream is still usable by its owner, and the service goes on.
    assert 0 <= handle.step.remote((victim, victim_token, ROW, OWNER)).result() < 49_152
    assert handle.rounds.remote().result() - before >= len(BAD_REQUESTS)
    with pytest.raises(PermissionError, match="belongs to another client"):
        handle.close.remote(victim, OTHER).result()
    for stream, _ in [*good, (victim, 0)]:
        handle.close.remote(stream, OWNER).result()


def test_opening_needs_an_owner_secret(served):
    handle, _ = served
    with pytest.raises(BadRequestError, match="owner must be a secret"):
        handle.open.remote([5, 6], [ROW] * 2, "").result()


def test_serve_binds_the_loopback_address_by_default(served):
    """Read the listening sockets (no traffic leaves the machine): the proxy's port listens on
    127.0.0.1 only."""
    psutil = pytest.importorskip("psutil", reason="psutil comes with ray")
    _, port = served
    assert parser().parse_args([]).host == LOOPBACK
    listening = [c.laddr.ip for c in psutil.net_connections(kind="tcp")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
    assert listening and set(listening) == {LOOPBACK}
