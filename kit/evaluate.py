"""Test-set metrics for any kit model, in nats per image with one z sample per image.

For a VAE: reconstruction E_q[-log p(x|z)], KL(q(z|x) || p(z)), their sum (the negative ELBO,
an upper bound on -log p(x) at beta = 1), KL per latent dimension, and the active units, the
dimensions whose posterior mean varies with the input: Var_x(E_q[z_j]) > 0.01 (Burda et al.).
For an autoencoder: mean squared error per pixel.
"""

from __future__ import annotations

import torch

from kit.data import Digits

ACTIVE_UNIT_THRESHOLD = 0.01  # a unit is active when Var_x(E_q[z_j]) exceeds this


@torch.no_grad()
def evaluate(model, digits: Digits, batch_size: int = 2000, seed: int = 0) -> dict:
    """Metrics of ``model`` on ``digits`` (deterministic for a given seed).

    The test-set mean of every part of ``model.loss`` (``mse``; ``recon`` and ``kl``; ``d_real``
    and ``d_fake``), and for a model with a posterior: ``neg_elbo``, ``kl_per_dim``,
    ``active_units``; always ``n_images``.
    """
    device = model.device
    gen = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    kl_dims, means = [], []
    n = len(digits)
    for start in range(0, n, batch_size):
        idx = slice(start, min(start + batch_size, n))
        x = digits.as_float(idx).to(device)
        y = digits.labels[idx].to(device)
        out = model.loss(x, y, generator=gen)  # parts per image, KL unweighted
        for name, per_image in out.parts.items():
            sums[name] = sums.get(name, 0.0) + per_image.sum().item()
        if out.posterior is not None:
            kl_dims.append(out.posterior.kl_per_dim().sum(0))  # (d,)
            means.append(out.posterior.mu)  # (B, d)
    model.train(was_training)
    metrics = {k: v / n for k, v in sums.items()}
    if means:
        metrics["neg_elbo"] = metrics["recon"] + metrics["kl"]  # -ELBO = recon + KL
        metrics["kl_per_dim"] = (torch.stack(kl_dims).sum(0) / n).tolist()
        activity = torch.cat(means).var(dim=0)  # Var_x E_q[z_j], (d,)
        metrics["active_units"] = int((activity > ACTIVE_UNIT_THRESHOLD).sum().item())
    metrics["n_images"] = n
    return metrics


# Exact log p(x) for a 2-D latent, by quadrature: kit/quadrature.py, re-exported here.
from kit.quadrature import Quadrature, exact_log_px, quadrature_log_px  # noqa: E402, F401
