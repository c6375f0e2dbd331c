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

from kit.losses import gan_discriminator_loss, gan_generator_loss
from kit.models.blocks import HubModel, mlp
from kit.models.config import ModelConfig
from kit.models.loss import LossTerms


class LeakyReLU02(nn.LeakyReLU):
    """LeakyReLU with slope 0.2, as a class ``mlp`` can instantiate without arguments."""

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
    """Generator and discriminator of the MLP GAN; ``kit.train`` steps them in turn."""

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
        """Draw n noise vectors z ~ N(0, I) (from ``generator``) and generate G(z)."""
        z = torch.randn(n, self.config.latent_dim, generator=generator, device=self.device)
        return GANSample(images=self.decode(z), z=z)

    def discriminator_loss(self, x: Tensor, fake: Tensor) -> Tensor:
        """L_D on real x and generated ``fake`` (detached: this step trains D only), a scalar."""
        return gan_discriminator_loss(self.discriminate(x), self.discriminate(fake.detach()))

    def generator_loss(self, fake: Tensor) -> Tensor:
        """The non-saturating L_G = -log D(G(z)), batch mean: G's step, against D as it is now."""
        return gan_generator_loss(self.discriminate(fake))

    def loss(
        self,
        x: Tensor,
        y: Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
        kl_weight: float = 1.0,
        free_bits: float = 0.0,
    ) -> LossTerms:
        """How D judges a batch: total = L_D on x against as many fresh G(z), parts per image.

        ``d_real`` = D(x) and ``d_fake`` = D(G(z)) as probabilities (B,). Training alternates
        ``discriminator_loss`` and ``generator_loss`` instead, since G's step must see the D
        that the first step updated. ``y``, ``kl_weight`` and ``free_bits`` are unused.
        """
        fake = self(x.shape[0], generator=generator).images  # (B, 1, 28, 28)
        real_logits, fake_logits = self.discriminate(x), self.discriminate(fake)  # (B,) each
        return LossTerms(
            total=gan_discriminator_loss(real_logits, fake_logits),
            parts={"d_real": torch.sigmoid(real_logits), "d_fake": torch.sigmoid(fake_logits)},
        )
