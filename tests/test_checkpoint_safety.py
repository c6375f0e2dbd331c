"""Checkpoint safety: a pickle is never unpickled, a broken weights file gets a clear message,
and a broken checkpoint takes down only the demos that use it, not the app.

tests/test_models.py already covers a plain ``pickle.dumps`` payload named model.safetensors,
a state-dict-only pytorch_model.bin, a 1000-byte truncation, wrong shapes and bad configs; this
file adds the other pickle formats, a code-running pytorch_model.bin, the smallest broken files,
the ``LATENT_LAB_MODELS_DIR`` override and the live app with a broken checkpoint.
"""

from __future__ import annotations

import pickle
import shutil
import struct
from pathlib import Path

import httpx
import pytest
import torch

from kit.models import (
    CVAE,
    MODELS_DIR,
    MODELS_DIR_ENV,
    CheckpointError,
    default_models_dir,
    load_pretrained,
)
from kit.testing.server import call, running_app


class _RunsCode:
    """Unpickling this object creates ``marker``: proof that loading ran code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture
def cvae(tmp_path) -> Path:
    """A copy of the shipped CVAE-2 checkpoint folder, free to break."""
    folder = tmp_path / "cvae-2"
    shutil.copytree(MODELS_DIR / "cvae-2", folder)
    return folder


def _write_pickle(path: Path, fmt: str, marker: Path) -> None:
    payload = {"decoder.net.0.weight": _RunsCode(marker)}
    if fmt == "torch.save":  # the zip container torch.load reads (what pytorch_model.bin holds)
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=int(fmt.removeprefix("protocol-"))))


@pytest.mark.parametrize("fmt", ["torch.save", "protocol-0", "protocol-5"])
def test_pickle_named_model_safetensors_is_refused_without_running(cvae, tmp_path, fmt):
    marker = tmp_path / "code-ran"
    _write_pickle(cvae / "model.safetensors", fmt, marker)
    with pytest.raises(CheckpointError) as err:
        load_pretrained(cvae)
    msg = str(err.value)
    assert "model.safetensors: not a readable safetensors file" in msg
    assert "python -m kit.train --model cvae-2" in msg
    assert not marker.exists()


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "model.ckpt"])
def test_code_running_pickle_next_to_a_config_is_never_read(cvae, tmp_path, name):
    marker = tmp_path / "code-ran"
    (cvae / "model.safetensors").unlink()
    _write_pickle(cvae / name, "torch.save", marker)
    with pytest.raises(CheckpointError, match=r"model\.safetensors: file is missing"):
        load_pretrained(cvae)
    assert not marker.exists()


def test_a_pickle_beside_good_weights_is_ignored(cvae, tmp_path):
    marker = tmp_path / "code-ran"
    _write_pickle(cvae / "pytorch_model.bin", "torch.save", marker)
    model = load_pretrained(cvae)
    assert isinstance(model, CVAE) and not model.training
    assert not marker.exists()


def _truncations(data: bytes) -> dict[str, bytes]:
    (header_len,) = struct.unpack("<Q", data[:8])
    return {
        "empty": b"",
        "7 bytes": data[:7],  # not even the header length
        "header cut": data[: 8 + header_len // 2],
        "header only": data[: 8 + header_len],  # no tensor bytes at all
        "last byte missing": data[:-1],
        "huge header claim": struct.pack("<Q", 2**62) + data[8:],
    }


@pytest.mark.parametrize(
    "case",
    ["empty", "7 bytes", "header cut", "header only", "last byte missing", "huge header claim"],
)
def test_broken_weights_give_the_clear_message(cvae, case):
    weights = cvae / "model.safetensors"
    weights.write_bytes(_truncations(weights.read_bytes())[case])
    with pytest.raises(CheckpointError) as err:
        load_pretrained(cvae)
    msg = str(err.value)
    assert msg.startswith(f"{weights}: ")
    assert "not a readable safetensors file" in msg
    assert msg.endswith("rebuild it with: python -m kit.train --model cvae-2")


def test_missing_weights_give_the_clear_message(cvae):
    (cvae / "model.safetensors").unlink()
    with pytest.raises(CheckpointError) as err:
        load_pretrained(cvae)
    assert str(err.value) == (
        f"{cvae / 'model.safetensors'}: file is missing; "
        "rebuild it with: python -m kit.train --model cvae-2"
    )


def test_models_dir_override_is_read_at_call_time(cvae, monkeypatch):
    monkeypatch.delenv(MODELS_DIR_ENV, raising=False)
    assert default_models_dir() == MODELS_DIR
    monkeypatch.setenv(MODELS_DIR_ENV, str(cvae.parent))
    assert default_models_dir() == cvae.parent
    (cvae / "model.safetensors").write_bytes(b"")  # so that loading from here is visible
    with pytest.raises(CheckpointError, match=str(cvae / "model.safetensors")):
        load_pretrained("cvae-2")
    with pytest.raises(CheckpointError, match=r"checkpoint folder is missing.*--model vae-2"):
        load_pretrained("vae-2")  # not copied: the override replaces the folder, no fallback


# ---- the live app with one broken checkpoint ----------------------------------------------------


@pytest.mark.slow
def test_app_with_a_broken_checkpoint_serves_the_other_demos(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(MODELS_DIR, models)
    weights = models / "cvae-2" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    env = {MODELS_DIR_ENV: str(models), "GRADIO_TEMP_DIR": str(tmp_path / "cache")}
    with running_app(env=env, log_dir=tmp_path) as app, httpx.Client(timeout=60) as client:
        for api_name, data in [
            ("generate_digits", ["7", 4, 1.0, 0]),
            ("same_style_all_digits", [0, 1.0, "7"]),
            ("style_sliders", ["7", 0.0, 0.0]),
        ]:
            r = call(client, app.url, api_name, data)  # the Generate tab uses CVAE-2
            assert r.event == "error", r
            assert r.error_title == "Model unavailable", r
            assert "could not be loaded" in r.error_message
            assert "python -m kit.train --model cvae-2" in r.error_message
        for api_name, data in [
            ("reconstruct_test_digit", [3, 0.0]),
            ("decode_point", [0.5, -0.5]),
            ("vae_vs_gan", [4, 0]),
        ]:
            r = call(client, app.url, api_name, data)  # other tabs' models are intact
            assert r.ok, r
        assert app.alive()
