"""Uploaded checkpoints: a good one is diagnosed correctly; every bad one is refused with a
sentence before anything in it is run (kit/checkpoint_upload.py, kit/diagnose.py)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from kit.checkpoint_upload import (
    MAX_TOTAL_BYTES,
    CheckpointRefused,
    read_checkpoint,
)
from kit.data import bundled_test_set
from kit.diagnose import EXACT_LOG_PX_DIGITS, diagnose, main, summary_markdown
from kit.evaluate import ACTIVE_UNIT_THRESHOLD, evaluate, exact_log_px
from kit.models import MODELS_DIR, load_pretrained


@pytest.fixture
def good(tmp_path) -> Path:
    """A copy of the shipped VAE-2 folder (config + weights only) under another name."""
    folder = tmp_path / "my-vae"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copyfile(MODELS_DIR / "vae-2" / name, folder / name)
    return folder


def _zip(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in folder.iterdir():
            zf.write(p, f"{folder.name}/{p.name}")
    return out


def _refused(upload, *words) -> str:
    with pytest.raises(CheckpointRefused) as info:
        read_checkpoint(upload)
    message = str(info.value)
    for w in words:
        assert w in message, message
    assert "/tmp" not in message and str(Path.cwd()) not in message  # no server paths
    return message


def test_good_folder_is_measured_like_the_reference_evaluator(good):
    torch.set_num_threads(1)
    result = diagnose(good)
    reference = evaluate(load_pretrained(MODELS_DIR / "vae-2"), bundled_test_set(), seed=0)
    mine = result.upload.metrics
    for key in ("recon", "kl", "neg_elbo"):
        assert mine[key] == pytest.approx(reference[key], rel=1e-6)
    assert mine["neg_elbo"] == pytest.approx(mine["recon"] + mine["kl"], rel=1e-6)
    assert sum(mine["kl_per_dim"]) == pytest.approx(mine["kl"], rel=1e-4)
    assert result.upload.kl_active_units == sum(
        k > ACTIVE_UNIT_THRESHOLD for k in mine["kl_per_dim"]
    )
    assert result.shipped is not None and result.shipped.name == "vae-2"
    assert result.upload.codes.shape == (10_000, 2)
    assert result.scatter.shape == (480, 480, 3)
    assert result.upload.samples is not None and result.upload.reconstructions.ndim == 2
    assert result.warnings == []  # both dimensions of VAE-2 are in use
    assert "test −ELBO" in summary_markdown(result)
    # d = 2: the exact log p(x) (kit.evaluate.exact_log_px, quadrature) on the first digits,
    # which the ELBO must not exceed
    x = bundled_test_set().as_float(slice(0, EXACT_LOG_PX_DIGITS))
    exact = exact_log_px(load_pretrained(MODELS_DIR / "vae-2"), x).mean()
    assert result.upload.exact_log_px == pytest.approx(float(exact), abs=1e-6)
    assert result.upload.elbo_on_exact_digits < result.upload.exact_log_px


def test_a_zip_of_the_folder_loads_the_same_weights(good, tmp_path):
    ckpt = read_checkpoint(_zip(good, tmp_path / "my-vae.zip"))
    reference = load_pretrained(MODELS_DIR / "vae-2")
    for (k, a), (k2, b) in zip(
        ckpt.model.state_dict().items(), reference.state_dict().items(), strict=True
    ):
        assert k == k2 and torch.equal(a, b)
    assert ckpt.name == "my-vae.zip"


def test_gradio_file_list_works_and_other_files_are_ignored(good):
    (good / "README.md").write_text("hello")
    ckpt = read_checkpoint([str(p) for p in good.iterdir()])
    assert ckpt.config.latent_dim == 2


def test_collapsed_posterior_is_warned_about(good):
    """mu_head and logvar_head zeroed: q(z|x) = N(0, I) = p(z) for every x, so the closed-form
    KL is exactly 0 in each dimension and every dimension is collapsed."""
    model = load_pretrained(good)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    for k in state:
        if k.startswith(("mu_head", "logvar_head")):
            state[k].zero_()
    save_file(state, str(good / "model.safetensors"))
    result = diagnose(good)
    assert result.upload.metrics["kl_per_dim"] == pytest.approx([0.0, 0.0], abs=1e-9)
    assert result.upload.kl_active_units == 0
    assert any("Posterior collapse: all 2" in w for w in result.warnings)


def test_wrong_shape_is_refused(good):
    config = json.loads((good / "config.json").read_text())
    config["latent_dim"] = 3
    (good / "config.json").write_text(json.dumps(config))
    _refused(good, "shape", "config.json")


def test_missing_tensor_is_refused(good):
    model = load_pretrained(good)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("mu_head")}
    save_file(state, str(good / "model.safetensors"))
    _refused(good, "missing", "mu_head")


class _Boom:
    """Unpickling this would create a marker file: proof if the loader ever unpickles."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("how", ["pickle", "torch.save"])
def test_pickle_renamed_to_safetensors_is_refused_and_not_run(good, tmp_path, how):
    marker = tmp_path / "pwned"
    boom = _Boom()
    boom.marker = str(marker)
    payload = {"mu_head.weight": boom}
    if how == "pickle":
        (good / "model.safetensors").write_bytes(pickle.dumps(payload, protocol=2))
    else:
        torch.save(payload, good / "model.safetensors")
    _refused(good, "pickle", "never opened")
    assert not marker.exists()


def test_zip_bomb_is_refused_before_it_expands(good, tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(good / "config.json", "config.json")
        zf.writestr("model.safetensors", b"\0" * (40 * 2**20))  # 40 MiB of zeros -> ~40 kB
    assert bomb.stat().st_size < 200_000
    message = _refused(bomb, "zip bomb")
    assert "fold when unzipped" in message  # refused from the zip's directory, before reading


def test_zip_with_too_many_entries_is_refused(tmp_path):
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(100):
            zf.writestr(f"f{i}.txt", "x")
    _refused(many, "100 entries")


def test_hundred_megabyte_file_is_refused_without_reading_it(good):
    weights = good / "model.safetensors"
    with open(weights, "wb") as f:
        f.truncate(100 * 2**20)  # sparse: 100 MiB on paper, nothing written
    assert weights.stat().st_size > MAX_TOTAL_BYTES
    _refused(good, "100.0 MiB", "at most 50 MiB")


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ("not json {", ("not valid JSON",)),
        ("[1, 2]", ("JSON object",)),
        ('{"kind": "vae", "latent_dim": 2, "__class__": "os.system"}', ("unknown settings",)),
        ('{"kind": "gan"}', ("GAN has no encoder",)),
        ('{"kind": "vae", "latent_dim": true}', ("wrong type",)),
        ('{"kind": "vae", "latent_dim": 100000}', ("latent_dim must be",)),
        ('{"kind": "vae", "hidden": [100000, 100000]}', ("hidden must be",)),
        ('{"kind": "vae", "image_size": 64}', ("image_size must be 28",)),
    ],
)
def test_bad_config_is_refused(good, config, words):
    (good / "config.json").write_text(config)
    _refused(good, *words)


def test_missing_file_is_refused(good):
    os.remove(good / "config.json")
    _refused(good, "no config.json")
    _refused(None, "upload a checkpoint first")


def test_not_safetensors_garbage_is_refused(good):
    (good / "model.safetensors").write_bytes(b"hello, this is not a tensor file at all")
    _refused(good, "not a safetensors file")


def test_cli_prints_the_figures_and_refuses_with_exit_code_2(good, capsys):
    assert main([str(good)]) == 0
    out = capsys.readouterr().out
    reference = evaluate(load_pretrained(MODELS_DIR / "vae-2"), bundled_test_set(), seed=0)
    assert f"{reference['neg_elbo']:.2f}" in out and "KL per dimension" in out
    (good / "config.json").write_text("{")
    assert main([str(good)]) == 2
    assert "refused: config.json is not valid JSON" in capsys.readouterr().err
