"""The Ray Serve deployment on a local Ray instance (CPU), with the shipped default model."""

import math
import os
import socket
import struct
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the serve extra (pip install .[serve]) is not installed")
from ray import serve  # noqa: E402  (after the extra's check)

from mars_gym.apps.parsers import serve as parser  # noqa: E402
from mars_gym.lmm.checkpoint import load_lmm  # noqa: E402
from mars_gym.lmm.options import LOOPBACK, ServeConfig  # noqa: E402
from mars_gym.lmm.ray_serve import NOT_ON_LOOPBACK, exposure_warning, start  # noqa: E402
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
    app = start(ServeConfig(capacity=8, device="cpu", host=LOOPBACK, port=port,
                            max_streams_per_owner=6))
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


def _descendants(root: int) -> set[int]:
    """``root`` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _address(hex_address: str, family: int) -> tuple[str, int]:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    raw = raw[::-1] if family == socket.AF_INET else b"".join(
        struct.pack("<I", struct.unpack(">I", raw[k:k + 4])[0]) for k in range(0, 16, 4))
    return socket.inet_ntop(family, raw), int(port, 16)


def _listening(pids: set[int]) -> list[tuple[str, str, int]]:
    """(command, address, port) of every listening TCP socket the processes hold: the socket
    tables of /proc/net matched to each process's descriptors by inode."""
    tables = {}
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in (Path("/proc/net") / name).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # TCP_LISTEN
                tables[f"socket:[{fields[9]}]"] = _address(fields[1], family)
    found = []
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:  # gone, or not ours
            continue
        command = "worker gRPC" if pid == os.getpid() or command.startswith("ray::") \
            and not command.startswith(("ray::DashboardAgent", "ray::RuntimeEnvAgent")) \
            else command
        found += [(command, *tables[link]) for link in links if link in tables]
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_serve_binds_the_loopback_address_by_default(served):
    """Every listening socket of the whole Ray process tree: the HTTP proxy listens on
    127.0.0.1 only, and whatever else listens beyond loopback is one of the components this
    Ray cannot bind there (named in NOT_ON_LOOPBACK)."""
    _, port = served
    assert parser().parse_args([]).host == LOOPBACK
    sockets = _listening(_descendants(os.getpid()))
    assert {address for _, address, p in sockets if p == port} == {LOOPBACK}
    beyond = {command for command, address, _ in sockets if address != LOOPBACK}
    named = {command for command in beyond
             if any(component in command for component in NOT_ON_LOOPBACK)}
    assert beyond == named, sorted(beyond - named)


def test_a_host_beyond_loopback_is_warned_about():
    assert exposure_warning(LOOPBACK) is None and exposure_warning("::1") is None
    assert "anyone who can reach" in exposure_warning("0.0.0.0")
    assert "anyone who can reach" in exposure_warning("192.0.2.7")


def test_a_round_gathers_more_than_rays_default_five_requests(served):
    """max_ongoing_requests follows the batch size: 8 concurrent steps can share a round
    (Ray's default of 5 ongoing requests would cap every round at 5)."""
    handle, _ = served
    streams = [_open(handle) for _ in range(6)] + [_open(handle, "client-c-secret")
                                                   for _ in range(2)]
    owners = [OWNER] * 6 + ["client-c-secret"] * 2
    for _ in range(10):
        pending = [handle.step.remote((s, t, ROW, o)) for (s, t), o in zip(streams, owners,
                                                                             strict=True)]
        streams = [(s, p.result()) for (s, _), p in zip(streams, pending, strict=True)]
        if handle.largest_round.remote().result() > 5:
            break
    assert handle.largest_round.remote().result() > 5
    for (stream, _), owner in zip(streams, owners, strict=True):
        handle.close.remote(stream, owner).result()


def test_one_owner_cannot_open_every_stream_of_the_deployment(served):
    handle, _ = served
    mine = [_open(handle) for _ in range(6)]
    with pytest.raises(RuntimeError, match="the most one client may hold"):
        _open(handle)
    theirs = _open(handle, OTHER)  # an honest client still gets one
    handle.close.remote(theirs[0], OTHER).result()
    for stream, _ in mine:
        handle.close.remote(stream, OWNER).result()
