"""Every loss the kit trains or evaluates with, one function each, formula beside the code.

Notation: x is an image with pixels in [0, 1], flattened to D = 784 values; the decoder outputs
logits l, so p(x|z) = prod_i Bernoulli(x_i; sigmoid(l_i)); q(z|x) = N(mu, sigma^2) with d
dimensions; the prior is p(z) = N(0, I). All results are in nats.

The negative ELBO minimised by a (beta-)VAE is

    L(x) = E_q[-log p(x|z)] + beta * KL(q(z|x) || p(z))
         = reconstruction   + beta * KL

and for beta = 1 it upper-bounds -log p(x). The importance-weighted bound (IWAE, Burda et al.
2016) with K samples tightens it:

    log p(x) >= log (1/K) sum_k p(x, z_k) / q(z_k|x),   z_k ~ q(z|x),

which equals the ELBO at K = 1 and approaches log p(x) as K grows.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def bce_reconstruction(logits: Tensor, x: Tensor) -> Tensor:
    """-log p(x|z) for a Bernoulli decoder, summed over pixels: (B, ...) -> (B,).

    -log p(x|z) = -sum_i [x_i log s_i + (1 - x_i) log(1 - s_i)],  s = sigmoid(logits).

    Computed from logits (log-sum-exp form) so it never takes log(0).
    """
    per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return per_pixel.flatten(1).sum(dim=1)


def mse_reconstruction(recon: Tensor, x: Tensor) -> Tensor:
    """Mean squared error per pixel, averaged within each image: (B, ...) -> (B,).

    MSE = (1/D) sum_i (x_hat_i - x_i)^2, the plain autoencoder's loss.
    """
    return ((recon - x) ** 2).flatten(1).mean(dim=1)


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """Closed-form KL(N(mu, sigma^2) || N(0, 1)) per dimension: (B, d) -> (B, d).

    KL = 1/2 (mu^2 + sigma^2 - log sigma^2 - 1),  sigma^2 = exp(logvar).

    It is zero exactly when mu = 0 and sigma = 1, i.e. when the posterior equals the prior.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0)


def beta_weighted(recon: Tensor, kl: Tensor, beta: float) -> Tensor:
    """The beta-VAE objective L = recon + beta * KL (beta = 1 is the plain negative ELBO)."""
    return recon + beta * kl


def kl_warmup(step: int, warmup_steps: int, beta: float = 1.0) -> float:
    """Linear KL annealing: the KL weight rises from 0 to beta over ``warmup_steps`` steps.

    w(t) = beta * min(1, t / T).  With T = 0 there is no warm-up and w = beta throughout.
    Early on the decoder learns to use z before the KL term can push q(z|x) onto the prior.
    """
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, step / warmup_steps)


def free_bits_kl(kl_per_dim: Tensor, free_bits: float) -> Tensor:
    """KL with a floor of ``free_bits`` nats per dimension (Kingma et al. 2016): (B, d) -> scalar.

    KL_fb = sum_j max(lambda, mean_batch KL_j).  A dimension whose batch-average KL is below
    lambda gets no gradient pushing it further towards the prior, which counters collapse.
    Returns the per-image average, to be added to a per-image reconstruction mean.
    """
    per_dim = kl_per_dim.mean(dim=0)  # (B, d) -> (d,)
    return torch.clamp(per_dim, min=free_bits).sum()


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """log N(z; 0, I) summed over the last dimension: (..., d) -> (...)."""
    return -0.5 * (math.log(2 * math.pi) + z.pow(2)).sum(dim=-1)


@torch.no_grad()
def importance_log_px(
    posterior,
    decode_logits: Callable[[Tensor], Tensor],
    x: Tensor,
    k: int,
    generator: torch.Generator | None = None,
    chunk: int = 100,
) -> Tensor:
    """IWAE estimate of log p(x) with K importance samples from q(z|x): (B, ...) -> (B,).

    log p(x) ~= logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K

    ``posterior`` is the ``DiagonalGaussian`` for x; ``decode_logits`` maps z (N, d) to logits
    (N, ...). Samples are drawn ``chunk`` at a time to bound memory. In expectation this is a
    lower bound on log p(x) that never decreases as K grows.
    """
    b = x.shape[0]
    log_w = []
    remaining = k
    while remaining > 0:
        n = min(chunk, remaining)
        z = posterior.sample(generator=generator, n=n)  # (n, B, d)
        logits = decode_logits(z.reshape(n * b, -1))  # (n*B, d) -> (n*B, 1, 28, 28)
        x_rep = x.unsqueeze(0).expand(n, *x.shape).reshape(n * b, *x.shape[1:])
        log_px_z = -bce_reconstruction(logits, x_rep).view(n, b)
        log_w.append(log_px_z + standard_normal_log_prob(z) - posterior.log_prob(z))
        remaining -= n
    log_w = torch.cat(log_w, dim=0)  # (K, B)
    return torch.logsumexp(log_w, dim=0) - math.log(k)


def gan_discriminator_loss(
    real_logits: Tensor, fake_logits: Tensor, real_label: float = 0.9
) -> Tensor:
    """Discriminator loss: BCE(D(x), t) + BCE(D(G(z)), 0), averaged over the batch.

    With t = 1 this is -[log D(x) + log(1 - D(G(z)))]; t = 0.9 is one-sided label smoothing
    (Salimans et al. 2016), which keeps D from growing over-confident and starving G.
    """
    target = torch.full_like(real_logits, real_label)
    real = F.binary_cross_entropy_with_logits(real_logits, target)
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def gan_generator_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss: -log D(G(z)), averaged over the batch."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
