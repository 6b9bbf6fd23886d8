"""The generation thread policy (mars_gym.lmm.threads)."""

import pytest
import torch

from mars_gym.lmm.generate import BatchedGenerator
from mars_gym.lmm.model import LMM, ConditionTensors, LMMConfig
from mars_gym.lmm.threads import (
    SINGLE_THREAD_STREAMS,
    THREADS_ENV,
    generation_threads,
    torch_threads,
)


def _cond(b, t):
    return ConditionTensors(torch.rand(b, t, 10), torch.zeros(b, t, dtype=torch.long),
                      torch.zeros(b, t, dtype=torch.long), torch.zeros(b, t, dtype=torch.long))


def test_small_batches_generate_with_one_thread_and_the_setting_is_restored(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    torch.manual_seed(0)
    model = LMM(LMMConfig(n_layer=1, n_head=2, n_embd=16, context=32)).eval()
    seen = []
    for module in model.modules():
        module.register_forward_pre_hook(lambda *_: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    with torch_threads(2):
        generator = BatchedGenerator(model, seed=0)
        generator.prime(torch.zeros(4, 5, dtype=torch.long), _cond(4, 5))
        generator.step(torch.zeros(4, dtype=torch.long), _cond(4, 1))
        assert torch.get_num_threads() == 2  # restored after each call
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == before


def test_the_policy_and_its_override(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert generation_threads(1) == 1 and generation_threads(SINGLE_THREAD_STREAMS) == 1
    assert generation_threads(SINGLE_THREAD_STREAMS + 1) is None  # torch's own setting
    monkeypatch.setenv(THREADS_ENV, "3")
    assert generation_threads(1) == 3
    monkeypatch.setenv(THREADS_ENV, "zero")
    with pytest.raises(ValueError, match=f"{THREADS_ENV} must be a positive integer"):
        generation_threads(1)
