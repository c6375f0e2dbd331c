"""The variational autoencoder (and the beta-VAE, which is the same model with beta != 1).

Encoder:  h = f(x) (784 -> 256 -> 128), then two heads  mu = W_mu h,  logvar = W_lv h   (-> d)
Sample:   z = mu + exp(logvar / 2) * eps,  eps ~ N(0, I)        (reparameterization trick)
Decoder:  p(x|z) = Bernoulli(sigmoid(g(z)))   (d -> 128 -> 256 -> 784)

Training minimises the beta-weighted negative ELBO

    L(x) = E_q[-log p(x|z)] + beta * KL(q(z|x) || N(0, I))

with one sample of z per image. beta = 1 is the VAE; beta > 1 trades reconstruction for a
latent code closer to the factorised prior (the beta-VAE of Higgins et al. 2017).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from kit.models.blocks import Decoder, HubModel, mlp
from kit.models.config import ModelConfig
from kit.posterior import DiagonalGaussian


@dataclass
class VAEOutput:
    """Named output of ``VAE.forward``."""

    recon: Tensor
    """Decoded mean image sigmoid(logits) in [0, 1], shape (B, 1, 28, 28)."""
    logits: Tensor
    """Decoder logits (what the BCE loss takes), shape (B, 1, 28, 28)."""
    posterior: DiagonalGaussian
    """q(z|x) for the batch."""
    z: Tensor
    """The sample of z that was decoded, shape (B, d)."""


class VAE(nn.Module, HubModel):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c, extra = config, self.condition_dim_for(config)
        self.trunk = mlp([c.pixels + extra, *c.hidden], last_act=True)  # 784 -> 256 -> 128
        self.mu_head = nn.Linear(c.hidden[-1], c.latent_dim)  # 128 -> d
        self.logvar_head = nn.Linear(c.hidden[-1], c.latent_dim)  # 128 -> d
        self.decoder = Decoder(c.latent_dim + extra, c.hidden, c.pixels, c.image_size)

    @classmethod
    def condition_dim_for(cls, config: ModelConfig) -> int:
        """Extra inputs joined to the image (encoder) and to z (decoder): none here, 10 in a CVAE."""
        return 0

    def _posterior(self, inputs: Tensor) -> DiagonalGaussian:
        h = self.trunk(inputs)  # (B, 784 [+10]) -> (B, 128)
        return DiagonalGaussian(mu=self.mu_head(h), logvar=self.logvar_head(h))  # (B, d) each

    def encode(self, x: Tensor) -> DiagonalGaussian:
        return self._posterior(x.flatten(1))

    def decode_logits(self, z: Tensor) -> Tensor:
        return self.decoder(z)  # (B, d) -> (B, 1, 28, 28)

    def decode(self, z: Tensor) -> Tensor:
        return torch.sigmoid(self.decode_logits(z))  # in [0, 1]

    def embed(self, x: Tensor) -> Tensor:
        """The point in latent space that represents x (for plots): the posterior mean."""
        return self.encode(x).mu

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> VAEOutput:
        posterior = self.encode(x)
        z = posterior.sample(generator)
        logits = self.decode_logits(z)
        return VAEOutput(recon=torch.sigmoid(logits), logits=logits, posterior=posterior, z=z)
