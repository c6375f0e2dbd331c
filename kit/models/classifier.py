"""A small CNN digit classifier: the measuring instrument for claims about which digit an image
shows (class mixes of samples, what a decoded code looks like).

    x (B, 1, 28, 28) -> conv 5x5, 16 ch, ReLU, max-pool 2 -> (B, 16, 12, 12)
                     -> conv 5x5, 32 ch, ReLU, max-pool 2 -> (B, 32, 4, 4)
                     -> linear 512 -> 128, ReLU -> linear 128 -> 10 logits

Trained with cross-entropy, loss(x, y) = -(1/B) sum_b log softmax(f(x_b))_{y_b}, on the 60k
MNIST training digits by ``python -m kit.classify train``; shipped in ``models/classifier/``
as ``config.json`` + ``model.safetensors`` (+ ``metrics.json`` with its test accuracy), loaded
strictly from safetensors, never from a pickle.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_model, save_model
from torch import Tensor, nn

CLASSIFIER_DIR = Path(__file__).resolve().parents[2] / "models" / "classifier"


@dataclass
class ClassifierConfig:
    """Architecture of the digit classifier (saved as ``config.json``)."""

    channels: tuple[int, int] = (16, 32)
    """Output channels of the two 5x5 convolutions."""
    hidden: int = 128
    """Width of the hidden fully connected layer."""
    num_classes: int = 10
    """Number of digit classes."""

    def __post_init__(self) -> None:
        self.channels = tuple(int(c) for c in self.channels)  # type: ignore[assignment]
        if len(self.channels) != 2 or min(self.channels) < 1 or self.hidden < 1:
            raise ValueError("channels must be two positive ints and hidden positive")


class DigitClassifier(nn.Module):
    """The two-convolution digit classifier of the module docstring."""

    def __init__(self, config: ClassifierConfig | None = None):
        super().__init__()
        self.config = config or ClassifierConfig()
        c1, c2 = self.config.channels
        self.conv1 = nn.Conv2d(1, c1, 5)  # (B, 1, 28, 28) -> (B, c1, 24, 24)
        self.conv2 = nn.Conv2d(c1, c2, 5)  # (B, c1, 12, 12) -> (B, c2, 8, 8)
        self.fc1 = nn.Linear(c2 * 4 * 4, self.config.hidden)
        self.fc2 = nn.Linear(self.config.hidden, self.config.num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits, (B, 1, 28, 28) in [0, 1] -> (B, 10)."""
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (B, c1, 12, 12)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)  # (B, c2, 4, 4)
        return self.fc2(F.relu(self.fc1(h.flatten(1))))

    def loss(self, x: Tensor, y: Tensor) -> Tensor:
        """Mean cross-entropy -log softmax(f(x))_y over the batch (a scalar)."""
        return F.cross_entropy(self(x), y)

    @torch.no_grad()
    def predict(self, x: Tensor, batch: int = 2000) -> Tensor:
        """The most probable class of each image, (B, ...) -> (B,) int64."""
        x = x.reshape(-1, 1, 28, 28)
        return torch.cat([self(x[i : i + batch]).argmax(1) for i in range(0, len(x), batch)])

    def save(self, folder: Path, metrics: dict) -> None:
        """Write config.json, model.safetensors and metrics.json into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(asdict(self.config), indent=2) + "\n")
        save_model(self, str(folder / "model.safetensors"))
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


def load_classifier(folder: str | Path = CLASSIFIER_DIR) -> DigitClassifier:
    """The shipped classifier in eval mode: config.json, then model.safetensors (strict)."""
    folder = Path(folder)
    config = ClassifierConfig(**json.loads((folder / "config.json").read_text(encoding="utf-8")))
    model = DigitClassifier(config)
    load_model(model, str(folder / "model.safetensors"), strict=True)
    return model.eval()
