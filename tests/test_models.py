"""Shapes, named outputs, and the checkpoint round trip and its refusals."""

import json
import pickle
from pathlib import Path

import pytest
import torch

from kit.models import (
    CVAE,
    GAN,
    VAE,
    Autoencoder,
    CheckpointError,
    ModelConfig,
    build_model,
    load_pretrained,
)
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
