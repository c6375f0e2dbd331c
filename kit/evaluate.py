"""Test-set metrics for any kit model, in nats per image with one z sample per image.

For a VAE: reconstruction E_q[-log p(x|z)], KL(q(z|x) || p(z)), their sum (the negative ELBO,
an upper bound on -log p(x) at beta = 1), KL per latent dimension, and the active units, the
dimensions whose posterior mean varies with the input: Var_x(E_q[z_j]) > 0.01 (Burda et al.).
For an autoencoder: mean squared error per pixel.
"""

from __future__ import annotations

import torch

from kit.data import Digits
from kit.losses import bce_reconstruction, mse_reconstruction
from kit.models import CVAE, GAN, VAE, Autoencoder

ACTIVE_UNIT_THRESHOLD = 0.01


@torch.no_grad()
def vae_terms(model: VAE, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None):
    """Per-image (recon, kl) and the posterior for a batch; y is used only by a CVAE."""
    if isinstance(model, CVAE):
        out = model(x, y, generator=generator)
    else:
        out = model(x, generator=generator)
    return bce_reconstruction(out.logits, x), out.posterior.kl(), out.posterior


@torch.no_grad()
def evaluate(model, digits: Digits, batch_size: int = 2000, seed: int = 0) -> dict:
    """Metrics of ``model`` on ``digits`` (deterministic for a given seed)."""
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
        if isinstance(model, Autoencoder):
            sums["mse"] = sums.get("mse", 0.0) + mse_reconstruction(model(x).recon, x).sum().item()
        elif isinstance(model, VAE):
            recon, kl, post = vae_terms(model, x, y, gen)
            sums["recon"] = sums.get("recon", 0.0) + recon.sum().item()
            sums["kl"] = sums.get("kl", 0.0) + kl.sum().item()
            kl_dims.append(post.kl_per_dim().sum(0))
            means.append(post.mu)
        elif isinstance(model, GAN):
            real = torch.sigmoid(model.discriminate(x))
            fake = torch.sigmoid(model.discriminate(model(x.shape[0], generator=gen).images))
            sums["d_real"] = sums.get("d_real", 0.0) + real.sum().item()
            sums["d_fake"] = sums.get("d_fake", 0.0) + fake.sum().item()
    model.train(was_training)
    metrics = {k: v / n for k, v in sums.items()}
    if isinstance(model, VAE):
        metrics["neg_elbo"] = metrics["recon"] + metrics["kl"]
        metrics["kl_per_dim"] = (torch.stack(kl_dims).sum(0) / n).tolist()
        activity = torch.cat(means).var(dim=0)  # Var_x E_q[z_j], (d,)
        metrics["active_units"] = int((activity > ACTIVE_UNIT_THRESHOLD).sum().item())
    metrics["n_images"] = n
    return metrics


# Exact log p(x) for a 2-D latent, by quadrature: kit/quadrature.py, re-exported here.
from kit.quadrature import Quadrature, exact_log_px, quadrature_log_px  # noqa: E402, F401
