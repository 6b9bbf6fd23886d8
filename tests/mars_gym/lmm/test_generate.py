"""KV-cached generation against the full-recompute reference, on a small real model."""

import numpy as np
import pytest
import torch

from mars_gym.lmm.generate import BatchedGenerator, FullRecomputeGenerator
from mars_gym.lmm.keyed_draws import StreamNoise
from mars_gym.lmm.model import (
    LMM,
    ConditionTensors,
    KVCache,
    LMMConfig,
    apply_rotary,
    rotary_tables,
    rotation,
)

CONTEXT = 32


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LMM(LMMConfig(n_layer=2, n_head=2, n_embd=32, context=CONTEXT)).eval()


def _cond(b, t, seed):
    g = torch.Generator().manual_seed(seed)
    return ConditionTensors(torch.rand(b, t, 10, generator=g),
                      torch.randint(0, 17_280, (b, t), generator=g),
                      torch.randint(0, 401, (b, t), generator=g),
                      torch.randint(0, 4, (b, t), generator=g))


def test_rotary_turns_each_pair_by_its_positions_angle():
    x = torch.randn(2, 3, 5, 8, generator=torch.Generator().manual_seed(0))  # (B, H, T, D)
    table = rotary_tables(5, 8, 10_000.0)  # (T, D/2, (cos, sin))
    cos, sin = table[..., 0], table[..., 1]
    x1, x2 = x[..., 0::2], x[..., 1::2]
    pairwise = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)
    turned = apply_rotary(x, rotation(table))
    assert torch.allclose(turned, pairwise, rtol=0, atol=1e-6)  # the same arithmetic
    assert torch.allclose(turned.norm(dim=-1), x.norm(dim=-1), atol=1e-5)  # a rotation
    assert torch.equal(turned[:, :, 0], x[:, :, 0])  # position 0 turns by nothing
    half = apply_rotary(x.bfloat16(), rotation(table.bfloat16()))
    assert half.dtype == torch.bfloat16
    assert torch.allclose(half.float(), pairwise, atol=0.05)


def test_cached_hidden_states_equal_full_recompute(model):
    b, t = 3, 20
    tokens = torch.randint(0, 49_152, (b, t), generator=torch.Generator().manual_seed(1))
    cond = _cond(b, t, 2)
    with torch.no_grad():
        full = model.hidden(tokens, cond)
        cache = KVCache(model.config, b, "cpu", torch.float32)
        first = model.hidden(tokens[:, :8], cond.slice(0, 8), cache)   # a block
        steps = [model.hidden(tokens[:, i:i + 1], cond.slice(i, i + 1), cache)
                 for i in range(8, t)]                                   # one at a time
    cached = torch.cat([first, *steps], dim=1)
    assert torch.allclose(cached, full, atol=1e-5)
    assert torch.allclose(model.joint_log_probs(cached[:, -1]), model.joint_log_probs(full[:, -1]),
                          atol=1e-4)


def test_batched_generator_matches_the_mars_style_loop_until_the_first_refill(model):
    b = 4
    history = torch.randint(0, 49_152, (b, 10), generator=torch.Generator().manual_seed(3))
    cached, reference = BatchedGenerator(model, seed=5), FullRecomputeGenerator(model, seed=5)
    a, r = cached.prime(history, _cond(b, 10, 4)), reference.prime(history, _cond(b, 10, 4))
    assert torch.equal(a, r)
    for step in range(CONTEXT - 10):  # the cache fills exactly at the context length
        cond = _cond(b, 1, 100 + step)
        a, r = cached.step(a, cond), reference.step(r, cond)
        assert torch.allclose(cached.last_hidden, reference.last_hidden, atol=1e-5)
        assert torch.equal(a, r)
    assert cached.refills == 0


def _fresh_hidden(model, gen, row):
    """Last hidden state of a stream recomputed from scratch over what its cache holds."""
    n = int(gen.lengths[row])
    tokens, cond = gen.history.window(row, 0, n)
    with torch.no_grad():
        return model.hidden(tokens, cond)[0, -1]


def test_refill_keeps_the_last_half_and_continues(model):
    gen = BatchedGenerator(model, seed=0)
    token = gen.prime(torch.zeros(2, 5, dtype=torch.long), _cond(2, 5, 0))
    for step in range(3 * CONTEXT):
        token = gen.step(token, _cond(2, 1, step))
        assert int(gen.lengths.max()) <= CONTEXT
    assert gen.refills >= 4
    # after re-fills each stream's state equals a fresh forward over what it keeps
    for row in range(2):
        assert torch.allclose(gen.last_hidden[row], _fresh_hidden(model, gen, row), atol=1e-5)


def test_streams_restart_and_pause_independently(model):
    gen = BatchedGenerator(model, seed=0)
    token = gen.prime(torch.zeros(3, 6, dtype=torch.long), _cond(3, 6, 0))
    for step in range(5):
        token = gen.step(token, _cond(3, 1, step))
    gen.prime(torch.ones(1, 4, dtype=torch.long), _cond(1, 4, 7), streams=[1])  # restart
    assert gen.lengths.tolist() == [11, 4, 11]
    paused = torch.tensor([True, True, False])
    before, last_drawn = gen.last_hidden[2].clone(), int(token[2])
    token = gen.step(token, _cond(3, 1, 99), active=paused)
    assert gen.lengths.tolist() == [12, 5, 11]
    assert int(token[2]) == last_drawn  # a paused stream draws nothing
    assert torch.equal(gen.last_hidden[2], before)
    for row in range(3):
        assert torch.allclose(gen.last_hidden[row], _fresh_hidden(model, gen, row), atol=1e-5)


def test_same_seed_same_tokens_and_different_seed_differs(model):
    def run(seed):
        gen = BatchedGenerator(model, seed=seed, temperature=1.0, top_k=8)
        token = gen.prime(torch.zeros(2, 4, dtype=torch.long), _cond(2, 4, 0))
        out = [token]
        for step in range(50):
            token = gen.step(token, _cond(2, 1, step))
            out.append(token)
        return torch.stack(out)

    assert torch.equal(run(11), run(11))
    assert not torch.equal(run(11), run(12))


def test_streams_of_a_batch_are_independent(model):
    """Stream 0 of a batch of 3 gives the same hidden states as stream 0 alone."""
    history = torch.randint(0, 49_152, (3, 6), generator=torch.Generator().manual_seed(9))
    cond = _cond(3, 6, 9)
    batch, single = BatchedGenerator(model, seed=0), BatchedGenerator(model, seed=0)
    batch.prime(history, cond)
    single.prime(history[:1], cond.slice(0, 6).__class__(*(x[:1] for x in (
        cond.book, cond.time_of_day, cond.change, cond.source))))
    assert torch.allclose(batch.last_hidden[:1], single.last_hidden, atol=1e-5)


@torch.no_grad()
def test_top_k_one_is_greedy_per_part(model):
    gen = BatchedGenerator(model, seed=0, top_k=1)
    token = gen.prime(torch.zeros(1, 3, dtype=torch.long), _cond(1, 3, 0))
    h = gen.last_hidden
    parts = []
    for _ in range(4):
        parts.append(model.part_logits(h, parts).argmax(-1))
    expected = sum(p * s for p, s in zip(parts, (16_384, 512, 16, 1), strict=False))
    assert torch.equal(token, expected)


def test_context_overflow_is_a_clear_error(model):
    with pytest.raises(ValueError, match="exceeds the context"):
        model.hidden(torch.zeros(1, CONTEXT + 1, dtype=torch.long), _cond(1, CONTEXT + 1, 0))


@torch.no_grad()
def test_sampling_follows_the_model_distribution(model):
    """Empirical frequencies of many draws match joint_log_probs for the top tokens."""
    h = torch.randn(1, 32, generator=torch.Generator().manual_seed(0)).expand(20_000, -1)
    draws = model.sample(h, StreamNoise(1, len(h)).next())
    probs = model.joint_log_probs(h[:1]).exp()[0]
    top = probs.topk(3).indices
    for token in top.tolist():
        assert abs((draws == token).float().mean() - probs[token]) < 0.02
    assert np.isclose(float(probs.sum()), 1.0, atol=1e-4)


def test_a_paused_stream_at_the_context_limit(model):
    """A stream paused exactly at the context length must not break the others' steps."""
    gen = BatchedGenerator(model, seed=0)
    token = gen.prime(torch.zeros(2, 4, dtype=torch.long), _cond(2, 4, 0))
    for step in range(CONTEXT - 4):
        token = gen.step(token, _cond(2, 1, step))
    assert gen.lengths.tolist() == [CONTEXT, CONTEXT]
    for step in range(5):
        token = gen.step(token, _cond(2, 1, 50 + step), active=torch.tensor([True, False]))
    assert int(gen.lengths[1]) == CONTEXT // 2  # re-filled while paused, nothing appended
    assert torch.allclose(gen.last_hidden[0], _fresh_hidden(model, gen, 0), atol=1e-5)
    token = gen.step(token, _cond(2, 1, 99))  # the paused stream resumes from its kept half
    assert torch.allclose(gen.last_hidden[1], _fresh_hidden(model, gen, 1), atol=1e-5)


def test_plan_conditions_flow_through_the_cache_and_its_refills():
    """An ensemble model (plan input) generates the same with and without the KV cache, and
    its re-filled streams keep the plans of the positions they keep."""
    torch.manual_seed(0)
    planned = LMM(LMMConfig(n_layer=2, n_head=2, n_embd=32, context=CONTEXT,
                            plan_features=6)).eval()
    torch.nn.init.normal_(planned.plan_in.weight)  # a trained model reads its plans

    def cond(b, t, seed):
        plain = _cond(b, t, seed)
        plan = torch.rand(b, t, 6, generator=torch.Generator().manual_seed(seed + 1))
        return ConditionTensors(plain.book, plain.time_of_day, plain.change, plain.source, plan)

    history = torch.randint(0, 49_152, (2, 10), generator=torch.Generator().manual_seed(3))
    cached, reference = BatchedGenerator(planned, seed=5), FullRecomputeGenerator(planned, seed=5)
    a, r = cached.prime(history, cond(2, 10, 4)), reference.prime(history, cond(2, 10, 4))
    for step in range(CONTEXT - 10):
        a, r = cached.step(a, cond(2, 1, 100 + step)), reference.step(r, cond(2, 1, 100 + step))
        assert torch.equal(a, r)
    for step in range(CONTEXT):
        a = cached.step(a, cond(2, 1, 500 + step))
    assert cached.refills >= 2
    for row in range(2):
        assert torch.allclose(cached.last_hidden[row], _fresh_hidden(planned, cached, row),
                              atol=1e-5)
    with pytest.raises(ValueError, match="need the minute plan"):
        planned.hidden(history, _cond(2, 10, 0))


def test_the_static_step_draws_the_tokens_of_the_dynamic_one(model):
    """Same shapes at every step (the form a CUDA graph captures): the same tokens and hidden
    states as the default step, across re-fills, paused streams and a restart."""
    runs = {}
    for mode in ("dynamic", "static"):
        gen = BatchedGenerator(model, seed=3, step_mode=mode)
        token = gen.prime(torch.randint(0, 49_152, (5, 9), generator=torch.Generator()
                                        .manual_seed(0)), _cond(5, 9, 1))
        tokens, hidden = [token], []
        for step in range(3 * CONTEXT):
            active = torch.tensor([True, step % 2 == 0, True, step % 3 == 0, True])
            token = gen.step(token, _cond(5, 1, 100 + step), active)
            if step == CONTEXT:
                gen.prime(torch.arange(5)[None] * 999, _cond(1, 5, 7), streams=[2])
            tokens.append(token)
            hidden.append(gen.last_hidden.clone())
        runs[mode] = torch.stack(tokens), torch.stack(hidden), gen.refills
    (dyn_tokens, dyn_hidden, dyn_refills), (tokens, hidden, refills) = runs.values()
    assert refills == dyn_refills >= 6
    assert torch.equal(tokens, dyn_tokens)
    assert torch.allclose(hidden, dyn_hidden, atol=1e-5)


def test_decode_step_equals_the_cached_hidden_states_at_uneven_lengths(model):
    cache_a = KVCache(model.config, 3, "cpu", torch.float32)
    cache_b = KVCache(model.config, 3, "cpu", torch.float32)
    tokens = torch.randint(0, 49_152, (3, 12), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        for cache in (cache_a, cache_b):
            model.hidden(tokens[:, :6], _cond(3, 6, 5), cache)
            cache.lengths -= torch.tensor([0, 2, 5])  # streams of 6, 4 and 1 positions
        dynamic = model.hidden(tokens[:, 6:7], _cond(3, 1, 6), cache_a)[:, -1]
        static = model.decode_step(tokens[:, 6:7], _cond(3, 1, 6), cache_b)
    assert torch.equal(cache_b.lengths, torch.tensor([7, 5, 2]))
    assert torch.equal(cache_a.lengths, cache_b.lengths)
    assert torch.allclose(static, dynamic, atol=1e-5)


def test_step_modes_are_checked(model):
    with pytest.raises(ValueError, match="step_mode must be one of"):
        BatchedGenerator(model, step_mode="fast")
    with pytest.raises(ValueError, match="needs the model on a CUDA device, it is on cpu"):
        BatchedGenerator(model, step_mode="cuda_graph")


def test_decode_rows_advances_only_its_streams_as_the_cached_step_would(model):
    tokens = torch.randint(0, 49_152, (4, 8), generator=torch.Generator().manual_seed(8))
    caches = [KVCache(model.config, 4, "cpu", torch.float32) for _ in range(2)]
    with torch.no_grad():
        for cache in caches:
            model.hidden(tokens[:, :6], _cond(4, 6, 9), cache)
            cache.lengths -= torch.tensor([0, 3, 1, 5])  # 6, 3, 5 and 1 positions
        every = model.hidden(tokens[:, 6:7], _cond(4, 1, 10), caches[0])[:, -1]
        rows = model.decode_rows(tokens[[1, 3], 6:7], _cond(4, 1, 10).map(lambda x: x[[1, 3]]),
                                 caches[1], [1, 3])
    assert torch.equal(caches[1].lengths, torch.tensor([6, 4, 5, 2]))  # rows 0 and 2 as they were
    assert torch.allclose(rows, every[[1, 3]], atol=1e-5)
    for layer in range(model.config.n_layer):  # the same keys where both wrote
        for row, held in ((1, 4), (3, 2)):
            assert torch.allclose(caches[1].keys[layer][row, :, :held],
                                  caches[0].keys[layer][row, :, :held], atol=1e-5)
    caches[1].lengths[0] = CONTEXT
    with pytest.raises(ValueError, match="holds the whole context"):
        model.decode_rows(tokens[:1, 7:8], _cond(1, 1, 11), caches[1], [0])


def test_a_step_of_few_streams_draws_what_a_step_over_all_of_them_draws(model, monkeypatch):
    """The advancing streams' forward alone draws the same tokens and hidden states as the
    masked step over every stream."""
    runs = []
    for batched in (True, False):
        monkeypatch.setattr(BatchedGenerator, "_batched_step", lambda self, n, b=batched: b)
        gen = BatchedGenerator(model, seed=2)
        token = gen.prime(torch.randint(0, 49_152, (6, 7), generator=torch.Generator()
                                        .manual_seed(5)), _cond(6, 7, 6))
        tokens, hidden = [], []
        for step in range(2 * CONTEXT):
            active = torch.arange(6) % (2 + step % 3) == step % 2  # 1 to 3 of 6 streams
            token = gen.step(token, _cond(6, 1, 200 + step), active)
            tokens.append(token)
            hidden.append(gen.last_hidden.clone())
        runs.append((torch.stack(tokens), torch.stack(hidden), gen.lengths.clone()))
    (all_tokens, all_hidden, all_lengths), (tokens, hidden, lengths) = runs
    assert torch.equal(tokens, all_tokens) and torch.equal(lengths, all_lengths)
    assert torch.allclose(hidden, all_hidden, atol=1e-5)


def test_a_cpu_step_batches_all_streams_only_when_they_hold_one_length(model):
    """On a CPU the masked step over every stream reads each up to the longest: streams one by
    one unless all hold one length and more than ROWS_STEP_SHARE of them advance."""
    from mars_gym.lmm.generate import ROWS_STEP_SHARE

    gen = BatchedGenerator(model, seed=0)
    gen.prime(torch.zeros(8, 6, dtype=torch.long), _cond(8, 6, 0))
    most, few = int(ROWS_STEP_SHARE * 8) + 1, int(ROWS_STEP_SHARE * 8)
    assert gen._batched_step(8) and gen._batched_step(most) and not gen._batched_step(few)
    gen.step(torch.zeros(8, dtype=torch.long), _cond(8, 1, 1), torch.arange(8) < 7)
    assert gen.lengths.tolist() == [7] * 7 + [6]
    assert not gen._batched_step(8)
