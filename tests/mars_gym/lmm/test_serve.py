import math

import numpy as np
import pytest
import torch

from mars_gym.data import load_source, split_by_time
from mars_gym.lmm.checkpoint import load_lmm
from mars_gym.lmm.data import history_inputs
from mars_gym.lmm.generate import BatchedGenerator
from mars_gym.lmm.model import LMM, ConditionTensors, LMMConfig
from mars_gym.lmm.serve import (
    BadRequestError,
    ConcurrentUseError,
    GeneratorService,
    StreamExpiredError,
    resolve_device,
)
from mars_gym.tokens.trade_memory import TradeMemory


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LMM(LMMConfig(n_layer=2, n_head=2, n_embd=32, context=64)).eval()


def _cond(t, seed):
    g = torch.Generator().manual_seed(seed)
    return ConditionTensors(torch.rand(1, t, 10, generator=g),
                      torch.randint(0, 17_280, (1, t), generator=g),
                      torch.randint(0, 401, (1, t), generator=g),
                      torch.zeros(1, t, dtype=torch.long))


def test_service_serves_many_streams_with_one_forward_per_round(model):
    service = GeneratorService(model, capacity=8, device="cpu", seed=0)
    streams = {}
    for k in range(5):
        stream, first = service.open(torch.full((1, 6), k), _cond(6, k))
        streams[stream] = first
    assert len(streams) == 5
    for round_ in range(20):
        for stream, token in streams.items():
            service.submit(stream, token, _cond(1, 100 * round_ + stream))
        streams = service.run()
        assert set(streams) == {0, 1, 2, 3, 4}
    assert service.rounds == 20
    lengths = service.generator.lengths.tolist()
    assert lengths[:5] == [26] * 5 and lengths[5:] == [0, 0, 0]


def test_a_stream_served_alone_matches_a_dedicated_generator(model):
    """The service's hidden states for one stream equal a one-stream generator's."""
    service = GeneratorService(model, capacity=4, device="cpu", seed=0)
    other, _ = service.open(torch.zeros(1, 5, dtype=torch.long), _cond(5, 1))
    stream, token = service.open(torch.ones(1, 7, dtype=torch.long), _cond(7, 2))
    alone = BatchedGenerator(model, seed=0)
    alone.prime(torch.ones(1, 7, dtype=torch.long), _cond(7, 2))
    for round_ in range(10):
        cond = _cond(1, round_)
        service.submit(stream, token, cond)
        if round_ % 2:  # the other stream only takes part every second round
            service.submit(other, 3, _cond(1, 50 + round_))
        alone.step(torch.tensor([token]), cond)
        token = service.run()[stream]
        assert torch.allclose(service.generator.last_hidden[stream], alone.last_hidden[0],
                              atol=1e-5)


def test_submitted_biases_steer_only_their_stream(model):
    service = GeneratorService(model, capacity=3, device="cpu", seed=0)
    streams = [service.open(torch.full((1, 4), k), _cond(4, k))[0] for k in range(3)]
    sells = [torch.zeros(1, 3), torch.zeros(1, 3, 32), torch.zeros(1, 3, 32), torch.zeros(1, 16)]
    sells[0][0, 0] = sells[0][0, 2] = -math.inf  # -inf forbids a value: kind 1 (sell) only
    kinds = {stream: [] for stream in streams}
    for round_ in range(10):
        for stream in streams:
            service.submit(stream, 0, _cond(1, round_), sells if stream == streams[0] else None)
        for stream, token in service.run().items():
            kinds[stream].append(token // (32 * 32 * 16))
    assert set(kinds[streams[0]]) == {1} and set(kinds[streams[1]] + kinds[streams[2]]) != {1}


def test_service_errors_are_clear(model):
    service = GeneratorService(model, capacity=1, device="cpu")
    stream, token = service.open(torch.zeros(1, 3, dtype=torch.long), _cond(3, 0))
    with pytest.raises(RuntimeError, match="all 1 streams are in use"):
        service.open(torch.zeros(1, 3, dtype=torch.long), _cond(3, 0))
    service.submit(stream, token, _cond(1, 0))
    with pytest.raises(BadRequestError, match="already submitted"):
        service.submit(stream, token, _cond(1, 0))
    service.close(stream)
    with pytest.raises(KeyError, match="not open"):
        service.submit(stream, token, _cond(1, 0))
    assert service.run() == {}


def test_auto_device_is_cpu_without_cuda():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


BAD_SUBMITS = {
    "token beyond the vocabulary": (10**12, lambda: _cond(1, 0), None, "token must be in"),
    "negative token": (-5, lambda: _cond(1, 0), None, "token must be in"),
    "float token": (3.5, lambda: _cond(1, 0), None, "token must be an integer"),
    "nan book": (3, lambda: _cond(1, 0).map(lambda x: x.float() * float("nan")
                                            if x.dim() == 3 else x), None, "book features"),
    "source out of range": (3, lambda: _cond(1, 0).map(lambda x: x + 99 if x.dim() == 2
                                                       and x.max() == 0 else x), None,
                            "source id"),
    "time of day out of range": (3, lambda: ConditionTensors(torch.rand(1, 1, 10),
                                                       torch.tensor([[10**9]]),
                                                       torch.zeros(1, 1, dtype=torch.long),
                                                       torch.zeros(1, 1, dtype=torch.long)),
                                 None, "time of day"),
    "wrong shape": (3, lambda: _cond(2, 0), None, "shape"),
    "bad bias": (3, lambda: _cond(1, 0), [torch.zeros(1, 3)] * 4, "bias part 1"),
    "infinite book": (3, lambda: _cond(1, 0).map(lambda x: x.float() + float("inf")
                                                 if x.dim() == 3 else x), None, "book features"),
    "nan in a bias": (3, lambda: _cond(1, 0), "nan 1", "bias part 1 holds non-finite"),
    "+inf in a bias": (3, lambda: _cond(1, 0), "inf 3", "bias part 3 holds non-finite"),
}


@pytest.mark.parametrize("name", sorted(BAD_SUBMITS))
def test_a_bad_request_fails_alone_and_the_round_goes_on(model, name):
    service = GeneratorService(model, capacity=3, device="cpu", seed=0)
    streams = [service.open(torch.full((1, 4), k), _cond(4, k)) for k in range(3)]
    token, cond, bias, fragment = BAD_SUBMITS[name]
    if isinstance(bias, str):  # "VALUE PART": zero biases but one part filled with VALUE
        value, part = bias.split()
        bias = [torch.zeros(1, 3), torch.zeros(1, 3, 32), torch.zeros(1, 3, 32), torch.zeros(1, 16)]
        bias[int(part)].fill_(float(value))
    service.submit(streams[0][0], streams[0][1], _cond(1, 1))
    with pytest.raises(BadRequestError, match=fragment):
        service.submit(streams[1][0], token, cond(), bias)
    service.submit(streams[2][0], streams[2][1], _cond(1, 2))
    served = service.run()
    assert sorted(served) == [streams[0][0], streams[2][0]]
    service.submit(streams[1][0], streams[1][1], _cond(1, 3))  # the refused stream goes on
    assert list(service.run()) == [streams[1][0]]


def test_a_failed_round_leaves_nothing_queued(model, monkeypatch):
    service = GeneratorService(model, capacity=2, device="cpu", seed=0)
    stream, token = service.open(torch.zeros(1, 3, dtype=torch.long), _cond(3, 0))
    service.submit(stream, token, _cond(1, 0))
    monkeypatch.setattr(service.generator, "step", lambda *a, **k: (_ for _ in ()).throw(
        RuntimeError("device lost")))  # a fault inside the forward pass
    with pytest.raises(RuntimeError, match="device lost"):
        service.run()
    monkeypatch.undo()
    service.submit(stream, token, _cond(1, 0))  # once "already submitted this round" forever
    assert list(service.run()) == [stream]


def test_only_the_owner_may_feed_withdraw_or_close_a_stream(model):
    service = GeneratorService(model, capacity=2, device="cpu", seed=0)
    stream, token = service.open(torch.zeros(1, 3, dtype=torch.long), _cond(3, 0), owner="a")
    for call in (lambda: service.submit(stream, token, _cond(1, 0), owner="b"),
                 lambda: service.withdraw(stream, owner="b"),
                 lambda: service.close(stream, owner="b"),
                 lambda: service.close(stream)):
        with pytest.raises(PermissionError, match="belongs to another client"):
            call()
    service.submit(stream, token, _cond(1, 0), owner="a")
    assert list(service.run()) == [stream]
    service.close(stream, owner="a")
    with pytest.raises(KeyError, match="not open"):
        service.close(stream, owner="a")


def test_a_bad_history_does_not_take_a_stream(model):
    service = GeneratorService(model, capacity=1, device="cpu", seed=0)
    with pytest.raises(BadRequestError, match="token must be in"):
        service.open(torch.full((1, 3), 10**12), _cond(3, 0))
    with pytest.raises(BadRequestError, match=r"tokens must have shape \(1, t\)"):
        service.open(torch.zeros(1, 65, dtype=torch.long), _cond(65, 0))
    stream, _ = service.open(torch.zeros(1, 3, dtype=torch.long), _cond(3, 0))
    assert stream == 0


@torch.no_grad()
def test_a_bfloat16_service_keeps_the_float32_distribution(lobster_dir):
    """Measured on eight AMZN histories: total variation 0.005-0.015 between the bfloat16
    and float32 next-order distributions, the same first tokens from the same keys."""
    model, tokenizer = load_lmm("default")
    test = split_by_time(load_source("AMZN", lobster_dir))["test"]
    services = {p: GeneratorService(model, capacity=8, precision=p)
                for p in ("float32", "bfloat16")}
    assert next(model.parameters()).dtype == torch.float32  # the caller's model is not cast
    assert next(services["bfloat16"].generator.model.parameters()).dtype == torch.bfloat16
    first = {p: [] for p in services}
    for key, i in enumerate(range(1_000, 9_000, 1_000)):
        state = np.r_[test.book["bid"][i], test.book["ask"][i], test.book["bid_qty"][i],
                      test.book["ask_qty"][i]]
        time_ns = int(test.events["time_ns"][i])
        memory = TradeMemory(tokenizer.trade_memory_s)  # the real trades before the book
        memory.start(test.events[:i], time_ns)
        live = tokenizer.live_conditions(state, time_ns, test.open_mid, 0,
                                         memory.at(time_ns)[None])
        tokens, cond = history_inputs(tokenizer, test[:i], live, 256)
        for precision, service in services.items():
            first[precision].append(service.open(tokens, cond, key=key)[1])
    p32, p16 = (model.joint_log_probs(s.generator.last_hidden.float()).exp()
                for s in services.values())
    total_variation = 0.5 * (p16 - p32).abs().sum(-1)
    assert (total_variation < 0.03).all() and (total_variation > 1e-4).all()
    assert np.mean(np.array(first["bfloat16"]) == np.array(first["float32"])) >= 7 / 8
    with pytest.raises(ValueError, match="precision must be one of"):
        GeneratorService(model, capacity=1, precision="int8")


def test_a_round_submitted_at_once_serves_what_one_submission_per_stream_serves(model):
    services = [GeneratorService(model, capacity=6, device="cpu", seed=1) for _ in range(2)]
    for service in services:
        for k in range(5):
            service.open(torch.full((1, 4), 7 * k), _cond(4, k), key=k)
    streams, tokens = [4, 0, 2], [11, 22, 33]
    conds = [_cond(1, 40 + k) for k in range(3)]
    for stream, token, cond in zip(streams, tokens, conds, strict=True):
        services[0].submit(stream, token, cond)
    services[1].submit_round(streams, tokens, ConditionTensors.cat(conds, dim=0))
    one_by_one, at_once = services[0].run(), services[1].run()
    assert one_by_one == at_once and set(at_once) == {0, 2, 4}
    assert torch.equal(services[0].generator.last_hidden, services[1].generator.last_hidden)


def test_a_bad_request_in_a_round_queues_nothing(model):
    service = GeneratorService(model, capacity=4, device="cpu")
    for k in range(3):
        service.open(torch.zeros(1, 3, dtype=torch.long), _cond(3, k))
    cond = ConditionTensors.cat([_cond(1, 1), _cond(1, 2)], dim=0)
    with pytest.raises(BadRequestError, match=r"token must be in \[0, 49152\)"):
        service.submit_round([0, 1], [5, 10**6], cond)
    with pytest.raises(BadRequestError, match="appears twice"):
        service.submit_round([1, 1], [5, 6], cond)
    with pytest.raises(BadRequestError, match=r"book features must be a tensor of shape \(3, 1"):
        service.submit_round([0, 1, 2], [5, 6, 7], cond)
    with pytest.raises(PermissionError, match="belongs to another client"):
        service.submit_round([0, 1], [5, 6], cond, owner="someone-else")
    assert service.pending == {} and service.run() == {}
    service.submit(2, 9, _cond(1, 3))
    with pytest.raises(BadRequestError, match="stream 2 already submitted this round"):
        service.submit_round([0, 2], [5, 6], cond)
    assert list(service.pending) == [2]


def _drive(service, key, rounds=8):
    """Open a keyed stream and feed it its own tokens with ``step``; the tokens it got."""
    stream, token = service.open(torch.full((1, 5), key % 7), _cond(5, key), key=key)
    tokens = [token]
    for round_ in range(rounds):
        token = service.step(stream, token, _cond(1, 1000 * key + round_))
        tokens.append(token)
    service.close(stream)
    return tokens


def test_threads_each_driving_a_stream_get_the_tokens_it_gets_alone(model):
    """32 real threads share one service: no token is lost or delivered to the wrong stream."""
    import threading

    keys = range(100, 132)
    alone = {}
    reference = GeneratorService(model, capacity=32, device="cpu", seed=0)
    for key in keys:
        alone[key] = _drive(reference, key)
    service = GeneratorService(model, capacity=32, device="cpu", seed=0)
    together: dict[int, list[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(keys))

    def worker(key):
        try:
            start.wait()
            together[key] = _drive(service, key)
        except BaseException as error:  # noqa: BLE001  reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert together == alone


def test_another_thread_cannot_take_over_a_round_being_collected(model):
    import threading

    service = GeneratorService(model, capacity=2, device="cpu", seed=0)
    mine, token = service.open(torch.zeros(1, 4, dtype=torch.long), _cond(4, 0))
    theirs, _ = service.open(torch.ones(1, 4, dtype=torch.long), _cond(4, 1))
    service.submit(mine, token, _cond(1, 2))
    raised: list[BaseException] = []

    def other():
        for call in (service.run, lambda: service.submit(theirs, 0, _cond(1, 3)),
                     lambda: service.step(theirs, 0, _cond(1, 3))):
            try:
                call()
            except ConcurrentUseError as error:
                raised.append(error)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert len(raised) == 3 and "call step()" in str(raised[0])
    assert set(service.run()) == {mine}  # the round stayed the submitting thread's


def test_one_owner_cannot_take_every_stream(model):
    service = GeneratorService(model, capacity=4, device="cpu", max_streams_per_owner=2)
    for _ in range(2):
        service.open(torch.zeros(1, 3, dtype=torch.long), _cond(3, 0), owner="greedy-owner")
    with pytest.raises(RuntimeError, match="holds 2 streams, the most one client may hold"):
        service.open(torch.zeros(1, 3, dtype=torch.long), _cond(3, 0), owner="greedy-owner")
    honest = [service.open(torch.zeros(1, 3, dtype=torch.long), _cond(3, 0),
                           owner="honest-owner")[0] for _ in range(2)]
    assert len(set(honest)) == 2
    with pytest.raises(ValueError, match="max_streams_per_owner must be a positive integer"):
        GeneratorService(model, capacity=4, device="cpu", max_streams_per_owner=0)


def test_an_idle_stream_expires_and_its_owner_is_told(model):
    now = [0.0]
    service = GeneratorService(model, capacity=2, device="cpu", idle_timeout=10.0,
                               clock=lambda: now[0])
    idle, _ = service.open(torch.zeros(1, 3, dtype=torch.long), _cond(3, 0), owner="idle-owner")
    busy, token = service.open(torch.ones(1, 3, dtype=torch.long), _cond(3, 1),
                               owner="busy-owner")
    with pytest.raises(RuntimeError, match="all 2 streams are in use"):
        service.open(torch.ones(1, 3, dtype=torch.long), _cond(3, 2), owner="new-owner")
    now[0] = 6.0
    token = service.step(busy, token, _cond(1, 3), owner="busy-owner")  # in use: kept
    now[0] = 11.5
    fresh, _ = service.open(torch.ones(1, 3, dtype=torch.long), _cond(3, 2), owner="new-owner")
    assert fresh == idle  # the idle stream's slot was freed
    with pytest.raises(StreamExpiredError, match=r"closed after 12 s without use"):
        service.step(idle, 0, _cond(1, 4), owner="idle-owner")
    with pytest.raises(PermissionError):  # told once; the slot is another client's now
        service.step(idle, 0, _cond(1, 4), owner="idle-owner")
    assert 0 <= service.step(busy, token, _cond(1, 5), owner="busy-owner") < 49_152


def test_a_failed_round_under_step_releases_the_round(model, monkeypatch):
    service = GeneratorService(model, capacity=2, device="cpu", seed=0)
    stream, token = service.open(torch.zeros(1, 3, dtype=torch.long), _cond(3, 0))
    monkeypatch.setattr(service.generator, "step", lambda *a, **k: (_ for _ in ()).throw(
        RuntimeError("device lost")))  # a fault inside the forward pass
    with pytest.raises(RuntimeError, match="device lost"):
        service.step(stream, token, _cond(1, 0))
    monkeypatch.undo()
    assert 0 <= service.step(stream, token, _cond(1, 0)) < 49_152  # not stuck, not queued twice
    service.submit(stream, token, _cond(1, 1))  # the round is free for a driving thread again
    assert list(service.run()) == [stream]
