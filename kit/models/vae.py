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
import torch.nn.functional as F
from torch import Tensor, nn

from kit.losses import bce_reconstruction, beta_weighted, free_bits_kl
from kit.models.blocks import Decoder, HubModel, mlp
from kit.models.config import ModelConfig
from kit.models.loss import LossTerms
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
    """The (beta-)VAE; every method takes an optional condition ``y`` (labels, shape (B,)).

    A plain VAE ignores ``y``; the conditional subclass (``CVAE``) needs it and joins its one-hot
    code to the encoder's and the decoder's inputs. So one call, ``model.loss(x, y)``, trains
    either, and no caller asks which one it holds.
    """

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

    def _with_condition(self, h: Tensor, y: Tensor | None) -> Tensor:
        """[h ; onehot(y)] for a conditional model, h itself otherwise: (B, n) -> (B, n [+ 10])."""
        extra = self.condition_dim_for(self.config)
        if extra == 0:
            return h
        if y is None:
            raise ValueError(f"{type(self).__name__} needs the digit labels y as its condition")
        one_hot = F.one_hot(y.long(), extra).to(self.mu_head.weight.dtype)  # (B,) -> (B, 10)
        return torch.cat([h, one_hot], dim=1)

    def encode(self, x: Tensor, y: Tensor | None = None) -> DiagonalGaussian:
        """q(z|x [, y]): x (B, 1, 28, 28) -> mu, logvar (B, d)."""
        h = self.trunk(self._with_condition(x.flatten(1), y))  # (B, 784 [+10]) -> (B, 128)
        return DiagonalGaussian(mu=self.mu_head(h), logvar=self.logvar_head(h))  # (B, d) each

    def decode_logits(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """The decoder's logits: z (B, d) [+ label] -> (B, 1, 28, 28)."""
        return self.decoder(self._with_condition(z, y))

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """The mean image of p(x|z [, y]), sigmoid(logits), in [0, 1]: (B, d) -> (B, 1, 28, 28)."""
        return torch.sigmoid(self.decode_logits(z, y))

    def embed(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """The point in latent space that represents x (for plots): the posterior mean."""
        return self.encode(x, y).mu

    def reconstruct(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """The deterministic reconstruction: the decoded posterior mean, sigmoid(g(mu [, y]))."""
        return self.decode(self.embed(x, y), y)  # (B, 1, 28, 28) -> (B, d) -> (B, 1, 28, 28)

    def forward(
        self, x: Tensor, y: Tensor | None = None, *, generator: torch.Generator | None = None
    ) -> VAEOutput:
        """Encode, draw one z per image (reparameterized, from ``generator``), decode."""
        posterior = self.encode(x, y)
        z = posterior.sample(generator)
        logits = self.decode_logits(z, y)
        return VAEOutput(recon=torch.sigmoid(logits), logits=logits, posterior=posterior, z=z)

    def loss(
        self,
        x: Tensor,
        y: Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
        kl_weight: float = 1.0,
        free_bits: float = 0.0,
    ) -> LossTerms:
        """The weighted negative ELBO with one sample of z per image, and its parts.

        total = mean_b E_q[-log p(x|z)] + w * KL_term,  w = ``kl_weight`` (beta, maybe annealed)

        KL_term is mean_b KL(q(z|x) || N(0, I)), or with ``free_bits`` > 0 the free-bits form
        ``kit.losses.free_bits_kl``. The parts ``recon`` and ``kl`` are per image, the KL
        unweighted; w = 1 and no free bits give the plain negative ELBO.
        """
        out = self(x, y, generator=generator)
        recon = bce_reconstruction(out.logits, x)  # E_q[-log p(x|z)], (B,)
        kl_dims = out.posterior.kl_per_dim()  # (B, d)
        kl = kl_dims.sum(1)  # KL(q(z|x) || p(z)), (B,)
        kl_term = free_bits_kl(kl_dims, free_bits) if free_bits > 0 else kl.mean()
        total = beta_weighted(recon.mean(), kl_term, kl_weight)  # L = recon + w * KL
        return LossTerms(total=total, parts={"recon": recon, "kl": kl}, posterior=out.posterior)
