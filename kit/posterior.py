"""The diagonal Gaussian posterior q(z|x) = N(mu, diag(sigma^2)) that every VAE encoder returns.

The encoder predicts ``mu`` and ``logvar = log sigma^2`` (a log keeps sigma positive without a
constraint). Sampling uses the reparameterization trick,

    z = mu + sigma * eps,   eps ~ N(0, I),   sigma = exp(logvar / 2),

so z is a differentiable function of (mu, logvar) and the randomness sits in eps, which needs no
gradient. Its KL divergence from the prior p(z) = N(0, I) has a closed form (see
``kit.losses.gaussian_kl``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from kit.losses import gaussian_kl

LOG_2PI = math.log(2 * math.pi)


@dataclass
class DiagonalGaussian:
    """Named output of ``encode``: the parameters of q(z|x) for a batch."""

    mu: Tensor
    """Posterior means, shape (B, d)."""
    logvar: Tensor
    """Posterior log-variances log sigma^2, shape (B, d)."""

    @property
    def std(self) -> Tensor:
        """sigma = exp(logvar / 2), shape (B, d)."""
        return torch.exp(0.5 * self.logvar)

    def sample(self, generator: torch.Generator | None = None, n: int | None = None) -> Tensor:
        """Draw z = mu + sigma * eps. Shape (B, d), or (n, B, d) when ``n`` is given.

        ``generator`` makes the draw reproducible without touching the global RNG, so two users
        of a server never share a random stream.
        """
        shape = self.mu.shape if n is None else (n, *self.mu.shape)
        eps = torch.randn(shape, generator=generator, device=self.mu.device, dtype=self.mu.dtype)
        return self.mu + self.std * eps  # z = mu + sigma * eps

    def kl_per_dim(self) -> Tensor:
        """KL(q(z_j|x) || N(0, 1)) for each latent dimension, shape (B, d)."""
        return gaussian_kl(self.mu, self.logvar)

    def kl(self) -> Tensor:
        """KL(q(z|x) || N(0, I)) summed over dimensions, shape (B,)."""
        return self.kl_per_dim().sum(dim=-1)

    def log_prob(self, z: Tensor) -> Tensor:
        """log q(z|x), summed over dimensions; z is (..., B, d) -> (..., B)."""
        # log N(z; mu, sigma^2) = -1/2 [log 2pi + logvar + (z - mu)^2 / sigma^2]
        return -0.5 * (LOG_2PI + self.logvar + (z - self.mu) ** 2 / self.logvar.exp()).sum(-1)

    def detach(self) -> DiagonalGaussian:
        """The same posterior cut from the autograd graph."""
        return DiagonalGaussian(self.mu.detach(), self.logvar.detach())
