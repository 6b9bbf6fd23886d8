import pytest
import torch

from mars_gym.lmm.generate import BatchedGenerator
from mars_gym.lmm.model import LMM, Conditions, LMMConfig
from mars_gym.lmm.serve import GeneratorService, resolve_device


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LMM(LMMConfig(n_layer=2, n_head=2, n_embd=32, context=64)).eval()


def _cond(t, seed):
    g = torch.Generator().manual_seed(seed)
    return Conditions(torch.rand(1, t, 10, generator=g), torch.randint(0, 17_280, (1, t), generator=g),
                      torch.randint(0, 401, (1, t), generator=g), torch.zeros(1, t, dtype=torch.long))


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
    sells[0][0, 1] = 50.0  # kind 1 (sell), always
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
    with pytest.raises(RuntimeError, match="already submitted"):
        service.submit(stream, token, _cond(1, 0))
    service.close(stream)
    with pytest.raises(KeyError, match="not open"):
        service.submit(stream, token, _cond(1, 0))
    assert service.run() == {}


def test_auto_device_is_cpu_without_cuda():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
