"""Shapes, named outputs, and the checkpoint round trip and its refusals."""

import json
import pickle
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from kit.losses import (
    bce_reconstruction,
    free_bits_kl,
    gan_discriminator_loss,
    mse_reconstruction,
)
from kit.models import (
    BETA_MODELS,
    CVAE,
    GAN,
    VAE,
    Autoencoder,
    CheckpointError,
    ModelConfig,
    TrainingRecord,
    build_model,
    load_pretrained,
    read_training_record,
)
from kit.models.loss import LossTerms
from kit.posterior import DiagonalGaussian

CONFIGS = {
    "ae": ModelConfig(kind="ae", latent_dim=32),
    "vae": ModelConfig(kind="vae", latent_dim=2),
    "beta": ModelConfig(kind="vae", latent_dim=10, beta=4.0),
    "cvae": ModelConfig(kind="cvae", latent_dim=2),
    "gan": ModelConfig(kind="gan", latent_dim=64, hidden=[512, 256]),
}


def test_autoencoder_shapes(batch):
    x, _ = batch
    model = Autoencoder(CONFIGS["ae"])
    out = model(x)
    assert out.z.shape == (8, 32)
    assert out.recon.shape == (8, 1, 28, 28)
    assert out.recon.min() >= 0.0 and out.recon.max() <= 1.0


@pytest.mark.parametrize("name", ["vae", "beta"])
def test_vae_encode_returns_a_named_posterior(batch, name):
    x, _ = batch
    cfg = CONFIGS[name]
    model = VAE(cfg)
    post = model.encode(x)
    assert isinstance(post, DiagonalGaussian)
    assert post.mu.shape == post.logvar.shape == (8, cfg.latent_dim)
    assert post.sample().shape == (8, cfg.latent_dim)
    assert post.kl().shape == (8,)
    assert model.decode(post.mu).shape == (8, 1, 28, 28)
    out = model(x)
    assert out.recon.shape == out.logits.shape == (8, 1, 28, 28)
    torch.testing.assert_close(out.recon, torch.sigmoid(out.logits))


def test_cvae_takes_integer_labels(batch):
    x, y = batch
    model = CVAE(CONFIGS["cvae"])
    post = model.encode(x, y)
    assert post.mu.shape == (8, 2)
    img = model.decode(torch.zeros(10, 2), torch.arange(10))
    assert img.shape == (10, 1, 28, 28)
    # the label matters: same z, different labels -> different images
    assert not torch.allclose(img[0], img[1])
    assert model.trunk[0].in_features == 784 + 10
    assert model.decoder.net[0].in_features == 2 + 10


def test_gan_samples_and_discriminates():
    model = GAN(CONFIGS["gan"])
    out = model(5, generator=torch.Generator().manual_seed(0))
    assert out.images.shape == (5, 1, 28, 28) and out.z.shape == (5, 64)
    assert model.discriminate(out.images).shape == (5,)


def _seeded(seed: int = 7) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_autoencoder_loss_is_the_pixel_mse(batch):
    x, y = batch
    model = build_model(CONFIGS["ae"])
    out = model.loss(x, y)
    reference = mse_reconstruction(model(x).recon, x)  # (1/D) sum_i (x_hat_i - x_i)^2
    assert isinstance(out, LossTerms) and out.posterior is None
    assert set(out.parts) == {"mse"}
    assert torch.equal(out.parts["mse"], reference)
    assert torch.equal(out.total, reference.mean())


@pytest.mark.parametrize(("kl_weight", "free_bits"), [(1.0, 0.0), (4.0, 0.0), (0.3, 0.5)])
def test_vae_loss_is_the_weighted_negative_elbo(batch, kl_weight, free_bits):
    """The old trainer's formula, from kit.losses, on the same z draw: equal to the last bit."""
    x, _ = batch
    model = build_model(CONFIGS["beta"])
    out = model.loss(x, generator=_seeded(), kl_weight=kl_weight, free_bits=free_bits)
    post = model.encode(x)
    z = post.sample(_seeded())  # the same eps as inside loss
    recon = bce_reconstruction(model.decode_logits(z), x)  # (B,)
    kl_dims = post.kl_per_dim()
    kl_term = free_bits_kl(kl_dims, free_bits) if free_bits > 0 else kl_dims.sum(1).mean()
    assert torch.equal(out.parts["recon"], recon)
    assert torch.equal(out.parts["kl"], kl_dims.sum(1))  # unweighted, per image
    assert torch.equal(out.total, recon.mean() + kl_weight * kl_term)
    assert torch.equal(out.posterior.mu, post.mu)
    assert out.means() == {"recon": recon.mean().item(), "kl": kl_dims.sum(1).mean().item()}


def test_vae_loss_without_a_generator_draws_fresh_noise(batch):
    x, _ = batch
    model = build_model(CONFIGS["vae"])
    assert not torch.equal(model.loss(x).parts["recon"], model.loss(x).parts["recon"])
    assert torch.equal(
        model.loss(x, generator=_seeded(3)).total, model.loss(x, generator=_seeded(3)).total
    )


def test_cvae_conditions_on_the_label_as_the_old_concatenation_did(batch):
    """encode/decode join onehot(y) exactly as the CVAE's former overrides did."""
    x, y = batch
    model = build_model(CONFIGS["cvae"])
    onehot = F.one_hot(y.long(), 10).float()  # (B,) -> (B, 10)
    h = model.trunk(torch.cat([x.flatten(1), onehot], dim=1))  # (B, 794) -> (B, 128)
    mu, logvar = model.mu_head(h), model.logvar_head(h)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=_seeded())
    logits = model.decoder(torch.cat([z, onehot], dim=1))  # (B, 2 + 10) -> image
    kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(1)
    out = model.loss(x, y, generator=_seeded())
    torch.testing.assert_close(out.posterior.mu, mu, rtol=0, atol=0)
    torch.testing.assert_close(out.parts["recon"], bce_reconstruction(logits, x), rtol=0, atol=0)
    torch.testing.assert_close(out.parts["kl"], kl, rtol=0, atol=0)
    assert torch.equal(model.embed(x, y), mu)


def test_cvae_without_labels_is_refused_and_a_plain_vae_ignores_them(batch):
    x, y = batch
    with pytest.raises(ValueError, match="needs the digit labels y"):
        build_model(CONFIGS["cvae"]).loss(x)
    vae = build_model(CONFIGS["vae"])
    with_y = vae.loss(x, y, generator=_seeded())
    without = vae.loss(x, generator=_seeded())
    assert torch.equal(with_y.total, without.total)


@pytest.mark.parametrize("name", ["ae", "vae", "cvae"])
def test_reconstruct_is_the_deterministic_decode_of_the_code(batch, name):
    x, y = batch
    model = build_model(CONFIGS[name])
    if name == "ae":
        expected = model(x).recon
    elif name == "vae":
        expected = model.decode(model.encode(x).mu)
    else:
        expected = model.decode(model.encode(x, y).mu, y)
    assert torch.equal(model.reconstruct(x, y), expected)


def test_gan_loss_is_how_the_discriminator_judges_a_batch(batch):
    x, _ = batch
    model = build_model(CONFIGS["gan"]).eval()  # eval: no dropout, batch-norm running stats
    out = model.loss(x, generator=_seeded())
    fake = model(x.shape[0], generator=_seeded()).images
    real_logits, fake_logits = model.discriminate(x), model.discriminate(fake)
    assert torch.equal(out.parts["d_real"], torch.sigmoid(real_logits))
    assert torch.equal(out.parts["d_fake"], torch.sigmoid(fake_logits))
    assert torch.equal(out.total, gan_discriminator_loss(real_logits, fake_logits))
    assert out.posterior is None


def test_architecture_matches_the_tutorial():
    vae = VAE(ModelConfig(kind="vae", latent_dim=2))
    sizes = [m.out_features for m in vae.trunk if isinstance(m, torch.nn.Linear)]
    assert sizes == [256, 128]
    dec = [m.out_features for m in vae.decoder.net if isinstance(m, torch.nn.Linear)]
    assert dec == [128, 256, 784]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_save_load_round_trip_is_exact(tmp_path, name):
    model = build_model(CONFIGS[name])
    model.save_pretrained(tmp_path / name)
    loaded = load_pretrained(tmp_path / name)
    assert type(loaded) is type(model)
    assert loaded.config == model.config
    assert not loaded.training
    for (ka, a), (kb, b) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert ka == kb and torch.equal(a, b)


@pytest.fixture
def saved_vae(tmp_path):
    folder = tmp_path / "vae-2"
    VAE(CONFIGS["vae"]).save_pretrained(folder)
    return folder


class _RunsCode:
    """Unpickling this object would create a marker file: proof that code ran on load."""

    marker: Path

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickled_checkpoint_is_refused_and_does_not_run(saved_vae, tmp_path):
    marker = tmp_path / "code-ran"
    payload = _RunsCode()
    payload.marker = marker
    (saved_vae / "model.safetensors").write_bytes(pickle.dumps({"weights": payload}))
    torch.save({"x": torch.zeros(1)}, saved_vae / "pytorch_model.bin")
    with pytest.raises(
        CheckpointError, match=r"model\.safetensors.*python -m kit\.train --model vae-2"
    ):
        load_pretrained(saved_vae)
    assert not marker.exists()


def test_only_a_pickle_present_is_refused(saved_vae):
    (saved_vae / "model.safetensors").unlink()
    torch.save(VAE(CONFIGS["vae"]).state_dict(), saved_vae / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"model\.safetensors: file is missing"):
        load_pretrained(saved_vae)


def test_truncated_weights_are_refused(saved_vae):
    path = saved_vae / "model.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_pretrained(saved_vae)


def test_weights_of_another_architecture_are_refused(saved_vae, tmp_path):
    other = tmp_path / "other"
    VAE(ModelConfig(kind="vae", latent_dim=10)).save_pretrained(other)
    (saved_vae / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match=r"do not match config\.json"):
        load_pretrained(saved_vae)


@pytest.mark.parametrize("content", ["{not json", json.dumps({"kind": "transformer"}), ""])
def test_bad_config_is_refused(saved_vae, content):
    (saved_vae / "config.json").write_text(content)
    with pytest.raises(CheckpointError, match=r"config\.json: not a valid model config"):
        load_pretrained(saved_vae)


def test_missing_folder_names_the_rebuild_command(tmp_path):
    with pytest.raises(CheckpointError, match=r"python -m kit\.train --model ae-32"):
        load_pretrained("ae-32", models_dir=tmp_path)


# ---- the training record (metrics.json + history.json) ---------------------------------------


def _write_record(folder: Path, rows: list[dict], test: dict) -> None:
    VAE(CONFIGS["vae"]).save_pretrained(folder)
    metrics = {"test": test, "model_config": {"kind": "vae", "beta": 2.5}}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "history.json").write_text(json.dumps(rows))


def test_training_record_reads_both_files_in_epoch_order(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_LAB_MODELS_DIR", str(tmp_path))
    rows = [  # written out of order: the record sorts them by epoch
        {"epoch": 2, "test_recon": 110.0, "test_kl": 6.0, "test_kl_per_dim": [3.0, 0.005]},
        {"epoch": 1, "test_recon": 120.0, "test_kl": 5.0, "test_kl_per_dim": [0.5, 4.5]},
    ]
    test = {"recon": 110.0, "kl": 3.005, "neg_elbo": 113.005, "kl_per_dim": [3.0, 0.005]}
    _write_record(tmp_path / "toy", rows, {**test, "active_units": 1})
    rec = read_training_record("toy")
    assert isinstance(rec, TrainingRecord)
    assert rec.name == "toy" and rec.folder == tmp_path / "toy" and rec.beta == 2.5
    assert (rec.recon, rec.kl, rec.neg_elbo) == (110.0, 3.005, 113.005)
    assert rec.epochs.tolist() == [1, 2]
    assert rec.history_recon.tolist() == [120.0, 110.0] and rec.history_kl.tolist() == [5.0, 6.0]
    assert rec.kl_history.tolist() == [[0.5, 4.5], [3.0, 0.005]]
    assert rec.variance_active_units == 1
    assert rec.kl_active_units == 1 and rec.collapsed == 1  # 0.005 < 0.01 nats
    assert rec.settled_epochs() == [2]  # dimension 1 went below the threshold at epoch 2
    assert rec.weighted_loss == pytest.approx(110.0 + 2.5 * 3.005)


def test_training_record_missing_a_number_names_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_LAB_MODELS_DIR", str(tmp_path))
    rows = [{"epoch": 1, "test_recon": 1.0, "test_kl": 1.0, "test_kl_per_dim": [1.0]}]
    _write_record(tmp_path / "toy", rows, {"recon": 1.0, "kl": 1.0})  # no neg_elbo, ...
    with pytest.raises(CheckpointError, match=r"toy: metrics/history lack the numbers"):
        read_training_record("toy")


def test_the_shipped_beta_vaes_have_a_record():
    records = [read_training_record(name) for name in BETA_MODELS]
    assert [r.beta for r in records] == [0.5, 1.0, 4.0, 10.0]  # BETA_MODELS is in increasing beta
    assert all(r.kl_per_dim.shape == (10,) for r in records)
