"""The trainer learns, the CLI runs end to end, and data problems are one-line errors."""

import subprocess
import sys
from pathlib import Path

import pytest

from kit.data import Digits
from kit.models import ModelConfig, load_pretrained
from kit.recipes import TrainConfig
from kit.train import main, train_model

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "mnist"


@pytest.mark.parametrize("kind", ["ae", "vae", "cvae"])
def test_a_few_steps_lower_the_loss(test_digits, kind):
    small = Digits(test_digits.images[:2048], test_digits.labels[:2048])
    held = Digits(test_digits.images[2048:2560], test_digits.labels[2048:2560])
    cfg = ModelConfig(kind=kind, latent_dim=4)
    tc = TrainConfig(epochs=3, batch_size=128, lr=2e-3, schedule="constant")
    result = train_model(cfg, tc, small, held, progress=False)
    key = "test_mse" if kind == "ae" else "test_neg_elbo"
    first, last = result.history[0][key], result.history[-1][key]
    assert len(result.history) == 3
    assert last < first
    assert result.metrics["n_images"] == 512


def test_kl_warmup_and_free_bits_run_and_are_recorded(test_digits):
    small = Digits(test_digits.images[:512], test_digits.labels[:512])
    tc = TrainConfig(epochs=1, batch_size=64, kl_warmup_epochs=1, free_bits=0.1)
    result = train_model(ModelConfig(kind="vae", latent_dim=3), tc, small, small, progress=False)
    rec = result.history[0]
    assert {"train_recon", "train_kl", "test_kl_per_dim", "test_neg_elbo"} <= rec.keys()
    assert len(rec["test_kl_per_dim"]) == 3


def test_stop_callback_ends_the_run_early(test_digits):
    small = Digits(test_digits.images[:1024], test_digits.labels[:1024])
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 3

    result = train_model(
        ModelConfig(kind="vae"),
        TrainConfig(epochs=5),
        small,
        small,
        progress=False,
        should_stop=stop,
    )
    assert result.stopped
    assert result.history[-1]["steps"] == 3


def test_dry_run_cli_writes_a_loadable_checkpoint(tmp_path, capsys):
    rc = main(
        ["--model", "cvae-2", "--dry-run", "--bundled", "--quiet", "--out-dir", str(tmp_path)]
    )
    assert rc == 0
    folder = tmp_path / "cvae-2"
    assert {p.name for p in folder.iterdir()} == {
        "config.json",
        "model.safetensors",
        "metrics.json",
        "history.json",
    }
    model = load_pretrained(folder)
    assert model.config.kind == "cvae"
    assert "cvae-2:" in capsys.readouterr().out


@pytest.mark.skipif(
    not (SHARED_MNIST / "MNIST" / "raw").is_dir(), reason="no MNIST IDX files beside the repo"
)
def test_dry_run_subprocess_on_the_real_training_set():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kit.train",
            "--model",
            "vae-2",
            "--dry-run",
            "--quiet",
            "--data-dir",
            str(SHARED_MNIST),
            "--no-download",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "vae-2:" in proc.stdout and "neg_elbo" in proc.stdout


def test_missing_data_offline_is_a_one_line_error(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kit.train",
            "--model",
            "vae-2",
            "--data-dir",
            str(tmp_path),
            "--no-download",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1
    assert str(tmp_path / "MNIST" / "raw") in err and "train-images-idx3-ubyte" in err
    assert "Traceback" not in proc.stderr


def test_unknown_model_is_a_clear_error(capsys):
    assert main(["--model", "resnet", "--dry-run", "--bundled"]) == 2
    assert "unknown --model 'resnet'" in capsys.readouterr().err


def test_help_documents_every_option():
    proc = subprocess.run(
        [sys.executable, "-m", "kit.train", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0
    for flag in (
        "--model",
        "--all",
        "--epochs",
        "--beta",
        "--data-dir",
        "--seed",
        "--dry-run",
        "--kl-warmup-epochs",
        "--free-bits",
        "--device",
    ):
        assert flag in proc.stdout
