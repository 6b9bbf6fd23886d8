"""The order-batch series at small sizes on the real data: VQ-VAE, minute model, baselines."""

import numpy as np
import pytest
import torch

from mars_gym.minutes.codes import CodeSeries, encode_series
from mars_gym.minutes.data import N_FEATURES, load_minutes
from mars_gym.minutes.model import (
    GRID_CELLS,
    MinuteModel,
    MinuteModelConfig,
    load_minute_model,
    save_minute_model,
)
from mars_gym.minutes.recipe import MinuteModelTraining, TokenizerTraining
from mars_gym.minutes.tokenizer import MinuteTokenizer, train_tokenizer
from mars_gym.minutes.train import CodeBaselines, model_nll, train_minute_model
from mars_gym.minutes.vqvae import VQVAE, VQVAEConfig

SMALL_VQ = VQVAEConfig(codebook_size=64, code_dim=16, hidden=32, restart_after=20)
SMALL_MODEL = MinuteModelConfig(codebook_size=64, n_layer=1, n_head=2, n_embd=32, code_embd=4,
                               context=16, dropout=0.0)


@pytest.fixture(scope="module")
def tokenizer(lobster_dir):
    training = TokenizerTraining(sources=("AMZN",), steps=200, batch=16, seed=0,
                                 data_dir=lobster_dir, progress=False)
    tokenizer, report = train_tokenizer(training, SMALL_VQ)
    return tokenizer, report


def test_minute_series_hold_images_and_what_is_known_at_each_start(lobster_dir):
    train = load_minutes(["AMZN"], "train", lobster_dir)
    val = load_minutes(["AMZN"], "val", lobster_dir)
    assert len(train) == 6 and len(val) == 1  # six minute phases for training
    series = val[0]
    assert series.features.shape == (len(series), N_FEATURES)
    assert np.isfinite(series.features).all()
    # the return-so-far feature at minute i follows the open mids (1 unit = 100 bps)
    session_open = series.open_mid[0] / (1 + series.features[0, 0] / 100)
    np.testing.assert_allclose(series.features[:, 0],
                               np.clip((series.open_mid / session_open - 1) * 100, -2, 2),
                               atol=1e-4)
    with pytest.raises(KeyError, match="unknown source"):
        load_minutes(["NOPE"], "val", lobster_dir)


def test_vqvae_shapes_and_training_lowers_the_loss(lobster_dir):
    torch.manual_seed(0)
    images = torch.as_tensor(np.concatenate(
        [s.images for s in load_minutes(["AMZN"], "train", lobster_dir, offsets_s=(0,))]))
    model = VQVAE(SMALL_VQ)
    codes = model.encode(images[:5])
    assert codes.shape == (5, 8, 8) and codes.dtype == torch.long
    assert model.decode(codes).shape == images[:5].shape
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for _ in range(60):
        loss, _ = model(images[torch.randint(len(images), (16,))])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:5])


def test_tokenizer_report_and_checkpoint_round_trip(tokenizer, tmp_path, lobster_dir):
    tokenizer, report = tokenizer
    amzn = report["validation"]["AMZN"]
    assert amzn["images"] > 0 and 0 < amzn["codebook_usage"] <= 1 and amzn["perplexity"] >= 1
    assert amzn["nll_per_cell"] < amzn["nll_per_cell_mean_image"]  # beats the mean image
    path = tmp_path / "tokenizer.pt"
    tokenizer.save(path)
    again = MinuteTokenizer.load(path)
    images = load_minutes(["AMZN"], "val", lobster_dir)[0].images
    np.testing.assert_array_equal(again.encode(images), tokenizer.encode(images))
    np.testing.assert_allclose(again.decode(tokenizer.encode(images[:2])),
                               tokenizer.decode(tokenizer.encode(images[:2])), rtol=1e-6)
    torch.save({"kind": "something else"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a minute tokenizer"):
        MinuteTokenizer.load(tmp_path / "other.pt")


def test_batch_model_is_causal_and_samples_reproducibly():
    torch.manual_seed(0)
    model = MinuteModel(SMALL_MODEL).eval()
    codes = torch.randint(64, (2, 6, GRID_CELLS))
    features = torch.randn(2, 6, N_FEATURES)
    source = torch.tensor([0, 1])
    logits = model(codes, features, source)
    assert logits.shape == (2, 6, GRID_CELLS, 64)
    changed = codes.clone()
    changed[:, 4:] = (changed[:, 4:] + 1) % 64
    torch.testing.assert_close(model(changed, features, source)[:, :4], logits[:, :4])
    first = model.sample(codes, features, source, torch.Generator().manual_seed(1), n=3)
    again = model.sample(codes, features, source, torch.Generator().manual_seed(1), n=3)
    assert first.shape == (3, 2, GRID_CELLS) and torch.equal(first, again)
    with pytest.raises(ValueError, match="exceed the context"):
        model(torch.zeros(1, 17, GRID_CELLS, dtype=torch.long), torch.zeros(1, 17, N_FEATURES),
              torch.tensor([0]))


def test_baselines_see_a_repeating_series(lobster_dir):
    series = load_minutes(["AMZN"], "val", lobster_dir)[0]
    rng = np.random.default_rng(0)
    steady = CodeSeries(series, np.repeat(rng.integers(32, size=(1, GRID_CELLS)), len(series), 0))
    noisy = CodeSeries(series, rng.integers(32, size=(len(series), GRID_CELLS)))
    baselines = CodeBaselines([steady], codebook_size=32)
    assert baselines.eps < 0.01
    nll = baselines.nll([steady])
    assert nll["repeat_last"] < 0.05 < nll["unconditional"]
    assert CodeBaselines([noisy], 32).nll([noisy])["unconditional"] == pytest.approx(
        np.log(32), abs=0.3)


def test_batch_model_trains_and_reports_against_the_baselines(tokenizer, tmp_path, lobster_dir):
    tokenizer, _ = tokenizer
    training = MinuteModelTraining(sources=("AMZN",), steps=15, batch=4, seed=0,
                                  data_dir=lobster_dir, progress=False)
    model, report = train_minute_model(tokenizer, training, SMALL_MODEL)
    val = report["validation_nats_per_code"]
    assert set(val) == {"AMZN", "all"} and set(report["test_nats_per_code"]) == {"AMZN", "all"}
    # the model kept is the best one seen on validation, the untrained start included
    assert report["history"][0]["step"] == 0 and 0 <= report["best_step"] <= 15
    assert val["all"]["model"] == pytest.approx(min(h["val"] for h in report["history"]))
    for name in ("model", "unconditional", "repeat_last"):
        assert 0 < val["AMZN"][name] < np.log(64) + 1
    # the model starts from the unconditional code frequencies: a few steps stay close to them
    assert val["AMZN"]["model"] == pytest.approx(val["AMZN"]["unconditional"], abs=0.5)
    assert val["AMZN"]["minutes"] == len(load_minutes(["AMZN"], "val", lobster_dir)[0]) - 1
    path = tmp_path / "batch.pt"
    save_minute_model(model, path)
    again = load_minute_model(path)
    series = encode_series(tokenizer, load_minutes(["AMZN"], "val", lobster_dir))[0]
    codes = torch.as_tensor(series.codes[None, :8])
    features = torch.as_tensor(series.minutes.features[None, 1:9])
    model.eval()
    torch.testing.assert_close(again(codes, features, torch.tensor([0])),
                               model(codes, features, torch.tensor([0])))


def test_model_scores_every_minute_of_a_series_longer_than_its_context(tokenizer, lobster_dir):
    """A fresh model predicts exactly its prior (the head starts at zero), so its loss over a
    long series must equal the unconditional reference's over every next minute."""
    tokenizer, _ = tokenizer
    series = encode_series(tokenizer, load_minutes(["AMZN"], "train", lobster_dir, (0,)))
    assert len(series[0]) > 4 * SMALL_MODEL.context
    baselines = CodeBaselines(series, SMALL_MODEL.codebook_size)
    model = MinuteModel(SMALL_MODEL)
    model.set_prior({k: np.log(v) for k, v in baselines.unigram.items()})
    assert model_nll(model, series) == pytest.approx(baselines.nll(series)["unconditional"],
                                                     rel=1e-5)
