"""The named record every model's ``loss`` returns: the objective and its parts.

Each model owns its objective (nanoGPT's ``forward(idx, targets)`` returning the loss is the
pattern), so a trainer or an evaluator calls ``model.loss(x, y)`` and never asks which kind of
model it holds:

    AE:        total = mean_b (1/D) sum_i (x_hat_i - x_i)^2                 parts: mse
    VAE/CVAE:  total = mean_b E_q[-log p(x|z)] + w * mean_b KL(q(z|x)||p)   parts: recon, kl
    GAN:       total = L_D (the discriminator's loss on x and on G(z))      parts: d_real, d_fake

``w`` is the ``kl_weight`` the caller passes (beta, perhaps annealed; 1 is the plain negative
ELBO). The parts are per image and unweighted, so their batch means are the numbers a training
log and ``kit.evaluate`` report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor

from kit.posterior import DiagonalGaussian


@dataclass
class LossTerms:
    """Named output of ``model.loss``."""

    total: Tensor
    """The scalar to minimise (call ``backward`` on it): the batch mean of the objective."""
    parts: dict[str, Tensor] = field(default_factory=dict)
    """Each named term per image, shape (B,): ``mse`` (AE); ``recon`` and ``kl`` in nats, the KL
    unweighted (VAE family); ``d_real`` and ``d_fake``, D's probability that x and G(z) are real
    (GAN)."""
    posterior: DiagonalGaussian | None = None
    """q(z|x) of the batch for the VAE family (KL per dimension, active units); else None."""

    def means(self) -> dict[str, float]:
        """The batch mean of each part, as plain floats (what a training log records)."""
        return {name: value.mean().item() for name, value in self.parts.items()}
