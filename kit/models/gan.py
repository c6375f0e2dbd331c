"""A small MLP GAN, trained on the same digits so its samples can stand beside the VAE's.

Generator      G: z ~ N(0, I) (d) -> 256 -> 512 -> 784, sigmoid         (hidden = [512, 256])
                  BatchNorm + LeakyReLU(0.2) after each hidden layer
Discriminator  D: 784 -> 512 -> 256 -> 1 logit, LeakyReLU(0.2) + Dropout(0.3)

Trained with the non-saturating game (Goodfellow et al. 2014):
    L_D = -[0.9 log D(x) + 0.1 log(1 - D(x)) + log(1 - D(G(z)))],     L_G = -log D(G(z)),
with one-sided label smoothing (real target 0.9). Without the batch norm, the dropout and the
smoothing, this small GAN collapsed to a single blob within a few epochs here.
There is no encoder and no likelihood: the GAN can sample, but cannot score or reconstruct x.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from kit.models.blocks import HubModel, mlp
from kit.models.config import ModelConfig


class LeakyReLU02(nn.LeakyReLU):
    def __init__(self):
        super().__init__(0.2)


@dataclass
class GANSample:
    """Named output of ``GAN.forward``."""

    images: Tensor
    """Generated images in [0, 1], shape (B, 1, 28, 28)."""
    z: Tensor
    """The noise they came from, shape (B, d)."""


class GAN(nn.Module, HubModel):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config
        self.generator = mlp(  # d -> 256 -> 512 -> 784
            [c.latent_dim, *reversed(c.hidden), c.pixels], act=LeakyReLU02, norm=nn.BatchNorm1d
        )
        self.discriminator = mlp(  # 784 -> 512 -> 256 -> 1
            [c.pixels, *c.hidden, 1], act=LeakyReLU02, dropout=0.3
        )

    def decode(self, z: Tensor) -> Tensor:
        """G(z): (B, d) -> (B, 1, 28, 28) in [0, 1]."""
        s = self.config.image_size
        return torch.sigmoid(self.generator(z)).view(-1, 1, s, s)

    def discriminate(self, x: Tensor) -> Tensor:
        """D's logit that x is real: (B, 1, 28, 28) -> (B,)."""
        return self.discriminator(x.flatten(1)).squeeze(1)

    def forward(self, n: int, generator: torch.Generator | None = None) -> GANSample:
        z = torch.randn(n, self.config.latent_dim, generator=generator, device=self.device)
        return GANSample(images=self.decode(z), z=z)
