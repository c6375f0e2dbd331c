"""Model classes, the registry of shipped checkpoints, and ``load_pretrained``.

A checkpoint is a folder ``models/<name>/`` holding ``config.json`` (a ``ModelConfig``),
``model.safetensors`` (the weights; never a pickle), ``metrics.json`` and ``history.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from safetensors import SafetensorError

from kit.models.autoencoder import Autoencoder, AutoencoderOutput
from kit.models.config import ModelConfig
from kit.models.cvae import CVAE
from kit.models.gan import GAN, GANSample
from kit.models.loss import LossTerms
from kit.models.record import TrainingRecord
from kit.models.vae import VAE, VAEOutput

__all__ = [
    "BETA_MODELS",
    "CVAE",
    "GAN",
    "MODELS_DIR",
    "SHIPPED",
    "VAE",
    "Autoencoder",
    "AutoencoderOutput",
    "CheckpointError",
    "GANSample",
    "LossTerms",
    "ModelConfig",
    "TrainingRecord",
    "VAEOutput",
    "build_model",
    "default_models_dir",
    "load_pretrained",
    "read_training_record",
]

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
MODELS_DIR_ENV = "LATENT_LAB_MODELS_DIR"  # an operator's override of MODELS_DIR, e.g. for tests


def default_models_dir() -> Path:
    """Where the shipped checkpoints live: ``$LATENT_LAB_MODELS_DIR`` when set, else ``MODELS_DIR``.

    Read on every call (not at import), so a test or a deployment can point a fresh process, or
    this one, at another folder without touching the package.
    """
    override = os.environ.get(MODELS_DIR_ENV, "").strip()
    return Path(override) if override else MODELS_DIR


#: names of the checkpoints shipped in ``models/``; ``kit.recipes`` says how each is trained
SHIPPED = (
    "ae-2",
    "ae-32",
    "vae-2",
    "beta-vae-0.5",
    "beta-vae-1",
    "beta-vae-4",
    "beta-vae-10",
    "cvae-2",
    "gan",
)

#: the four 10-dimensional beta-VAEs, in increasing beta (the beta tab, the collapse demo)
BETA_MODELS = ("beta-vae-0.5", "beta-vae-1", "beta-vae-4", "beta-vae-10")

_CLASSES = {"ae": Autoencoder, "vae": VAE, "cvae": CVAE, "gan": GAN}


class CheckpointError(RuntimeError):
    """A checkpoint folder that is missing, incomplete, corrupt or not in safetensors form."""


def build_model(config: ModelConfig):
    """A freshly initialised model of the class ``config.kind`` names."""
    return _CLASSES[config.kind](config)


def _rebuild_hint(folder: Path) -> str:
    name = folder.name
    if name in SHIPPED:
        return f"rebuild it with: python -m kit.train --model {name}"
    return "retrain it with python -m kit.train, or restore the folder"


def read_config(folder: Path) -> ModelConfig:
    path = folder / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{path}: file is missing; {_rebuild_hint(folder)}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return ModelConfig(**raw)
    except (ValueError, TypeError, UnicodeDecodeError) as err:
        raise CheckpointError(
            f"{path}: not a valid model config ({err}); {_rebuild_hint(folder)}"
        ) from None


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: file is missing; {_rebuild_hint(path.parent)}") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: not valid JSON ({err})") from None


def read_training_record(name: str) -> TrainingRecord:
    """A finished VAE-family checkpoint's ``metrics.json`` and ``history.json``, typed.

    History rows are sorted by epoch. Raises ``CheckpointError`` naming the file when the
    weights or either file are missing, not JSON, or lack a number the record holds.
    """
    folder = default_models_dir() / name
    if not (folder / "model.safetensors").is_file():
        raise CheckpointError(
            f"{folder / 'model.safetensors'}: file is missing (not trained yet?); "
            f"{_rebuild_hint(folder)}"
        )
    metrics = _read_json(folder / "metrics.json")
    history = _read_json(folder / "history.json")
    try:
        rows = sorted(history, key=lambda h: h["epoch"])
    except (KeyError, TypeError) as err:
        raise CheckpointError(f"{folder / 'history.json'}: rows lack an epoch ({err!r})") from None
    try:
        return TrainingRecord.parse(name, folder, metrics, rows)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{folder}: metrics/history lack the numbers ({err!r})") from None


def load_pretrained(name: str | Path, models_dir: str | Path | None = None, device: str = "cpu"):
    """Load a checkpoint by shipped name (``"vae-2"``) or folder path, in eval mode.

    Only ``model.safetensors`` is read, strictly (every tensor present, every shape right); a
    pickle is never unpickled. Any problem raises ``CheckpointError`` naming the file and the
    command that rebuilds it.
    """
    folder = Path(name)
    if not folder.is_dir():
        folder = Path(models_dir or default_models_dir()) / str(name)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: checkpoint folder is missing; {_rebuild_hint(folder)}")
    config = read_config(folder)
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise CheckpointError(f"{weights}: file is missing; {_rebuild_hint(folder)}")
    cls = _CLASSES[config.kind]
    try:
        model = cls.from_pretrained(folder, config=config, map_location=device)
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{weights}: not a readable safetensors file ({err}); {_rebuild_hint(folder)}"
        ) from None
    except RuntimeError as err:  # load_model(strict=True): missing/unexpected keys, wrong shapes
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(
            f"{weights}: weights do not match config.json ({first}); {_rebuild_hint(folder)}"
        ) from None
    return model.eval()
