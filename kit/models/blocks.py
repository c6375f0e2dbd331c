"""The shared trunk: MLP encoder and decoder stacks, and the Hub-mixin base every model uses.

Encoder stack:  D (+ extra) -> h1 -> h2           ReLU after each layer   (784 -> 256 -> 128)
Decoder stack:  d (+ extra) -> h2 -> h1 -> D      ReLU, then logits       (d -> 128 -> 256 -> 784)

The decoder returns logits; ``decode`` applies the sigmoid so images land in [0, 1], while the
losses take the logits (a numerically stable BCE).
"""

from __future__ import annotations

import itertools

import torch
from huggingface_hub import PyTorchModelHubMixin, hf_hub_download
from safetensors.torch import load_model
from torch import Tensor, nn


def mlp(
    sizes: list[int],
    act: type[nn.Module] = nn.ReLU,
    last_act: bool = False,
    norm: type[nn.Module] | None = None,
    dropout: float = 0.0,
) -> nn.Sequential:
    """Linear layers through ``sizes``; after each hidden one: [norm], act, [dropout].

    ``last_act`` applies the same after the last layer too.
    """
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2 or last_act:
            if norm is not None:
                layers.append(norm(n_out))
            layers.append(act())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class Decoder(nn.Module):
    """z (B, d [+ extra]) -> logits (B, 1, 28, 28) through d -> 128 -> 256 -> 784."""

    def __init__(self, in_dim: int, hidden: list[int], pixels: int, image_size: int):
        super().__init__()
        self.net = mlp([in_dim, *reversed(hidden), pixels])
        self.image_size = image_size

    def forward(self, z: Tensor) -> Tensor:
        """The decoder's logits, shaped as images."""
        s = self.image_size
        return self.net(z).view(-1, 1, s, s)  # (B, d) -> (B, 784) -> (B, 1, 28, 28)


class HubModel(PyTorchModelHubMixin):
    """``save_pretrained`` / ``from_pretrained`` (local folder or Hub repo), safetensors only.

    The stock mixin loads non-strictly and falls back to a pickled ``pytorch_model.bin``; here a
    checkpoint must be ``model.safetensors`` and must match the architecture exactly.
    """

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id,
        revision,
        cache_dir,
        force_download,
        local_files_only,
        token,
        map_location="cpu",
        strict=True,
        **kwargs,
    ):
        from pathlib import Path

        folder = Path(model_id)
        if folder.is_dir():
            weights = folder / "model.safetensors"
        else:
            weights = hf_hub_download(
                repo_id=model_id,
                filename="model.safetensors",
                revision=revision,
                cache_dir=cache_dir,
                force_download=force_download,
                token=token,
                local_files_only=local_files_only,
            )
        model = cls(**kwargs)
        load_model(model, str(weights), strict=True, device=str(map_location))
        model.eval()
        return model

    def num_parameters(self) -> int:
        """How many weights the model has, all trainable."""
        return sum(p.numel() for p in self.parameters())  # type: ignore[attr-defined]

    @property
    def device(self) -> torch.device:
        """Where the model's weights live."""
        return next(self.parameters()).device  # type: ignore[attr-defined]
