"""The Fréchet distance between two Gaussians, the number behind FID.

    d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)

It is the squared 2-Wasserstein distance between N(mu1, S1) and N(mu2, S2). FID applies it to
Gaussians fitted to Inception features of real and generated images. The matrix square roots
are taken by symmetric eigendecomposition (S = V diag(w) V^T, S^1/2 = V diag(sqrt w) V^T), so
the result is real even when rounding makes a tiny eigenvalue negative.
"""

from __future__ import annotations

import torch


def _psd_sqrt(a: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a symmetric positive semi-definite matrix, (n, n) -> (n, n)."""
    w, v = torch.linalg.eigh(a)
    return v @ torch.diag(w.clamp(min=0).sqrt()) @ v.T


def frechet_distance(
    mu1: torch.Tensor, cov1: torch.Tensor, mu2: torch.Tensor, cov2: torch.Tensor
) -> float:
    """Squared Fréchet (2-Wasserstein) distance between N(mu1, cov1) and N(mu2, cov2)."""
    r1 = _psd_sqrt(cov1)
    cross = _psd_sqrt(r1 @ cov2 @ r1)  # (S1^1/2 S2 S1^1/2)^1/2
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(cov1 + cov2 - 2 * cross))
