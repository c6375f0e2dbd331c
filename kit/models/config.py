"""The one config dataclass every model is built from; saved as ``config.json`` next to weights."""

from __future__ import annotations

from dataclasses import dataclass, field

MODEL_KINDS = ("ae", "vae", "cvae", "gan")


@dataclass
class ModelConfig:
    """Architecture (and, for the beta-VAE, the KL weight) of one model."""

    kind: str = "vae"  # "ae" | "vae" | "cvae" | "gan": which class builds this model
    latent_dim: int = 2  # size of z (for the GAN: the noise fed to the generator)
    hidden: list[int] = field(default_factory=lambda: [256, 128])  # widths, image side first
    beta: float = 1.0  # weight on the KL term; 1 is the plain ELBO, >1 a beta-VAE
    num_classes: int = 10  # label count; used by the conditional VAE's one-hot input
    image_size: int = 28  # images are (1, image_size, image_size), pixels in [0, 1]

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"unknown model kind {self.kind!r}; expected one of {MODEL_KINDS}")
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {self.latent_dim}")
        if self.beta < 0:
            raise ValueError(f"beta must be >= 0, got {self.beta}")
        self.hidden = [int(h) for h in self.hidden]

    @property
    def pixels(self) -> int:
        """D, the pixels of one image: image_size squared (784)."""
        return self.image_size * self.image_size
