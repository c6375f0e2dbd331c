"""Reconstruction demo: one digit through AE-32, AE-2 and VAE-2, with the error of each.

A 32-number code keeps most of a digit; a 2-number code keeps little more than which digit it
is. The VAE's loss splits into reconstruction, E_q[-log p(x|z)], and KL(q(z|x) || p(z)), the
price in nats of the information the code carries about this image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from kit.demos.common import get_model
from kit.losses import bce_reconstruction

RECON_MODELS = ("ae-32", "ae-2", "vae-2")


@dataclass
class ModelReconstruction:
    """One model's reconstruction of the input."""

    name: str
    """Checkpoint name, e.g. "ae-32"."""
    image: np.ndarray
    """The reconstruction, float (28, 28) in [0, 1] (the VAE decodes its posterior mean)."""
    mse: float
    """Mean squared error per pixel between input and reconstruction."""
    bce: float
    """Bernoulli reconstruction error summed over pixels, in nats (at the displayed image)."""
    kl: float | None = None
    """VAE only: KL(q(z|x) || N(0, I)) in nats."""
    recon_expected: float | None = None
    """VAE only: E_q[-log p(x|z)] averaged over sampled z, in nats; + kl = negative ELBO."""


@dataclass
class ReconstructionResult:
    """Named output of ``reconstruct``."""

    input: np.ndarray
    """The input digit, float (28, 28) in [0, 1]."""
    rows: list[ModelReconstruction]
    """One entry per model, in ``RECON_MODELS`` order."""

    def by_name(self, name: str) -> ModelReconstruction:
        return next(r for r in self.rows if r.name == name)


def _bce_of_image(recon: torch.Tensor, x: torch.Tensor) -> float:
    logits = torch.logit(recon.clamp(1e-6, 1 - 1e-6))
    return float(bce_reconstruction(logits, x))


@torch.no_grad()
def reconstruct(x: torch.Tensor, samples: int = 64, seed: int = 0) -> ReconstructionResult:
    """Reconstruct one digit (1, 1, 28, 28) in [0, 1] with each model in ``RECON_MODELS``."""
    rows = []
    for name in RECON_MODELS:
        model = get_model(name)
        if name.startswith("vae"):
            post = model.encode(x)
            recon = model.decode(post.mu)  # the mean image, (1, 1, 28, 28)
            z = post.sample(torch.Generator().manual_seed(seed), n=samples)[:, 0]  # (S, d)
            logits = model.decode_logits(z)  # (S, 1, 28, 28)
            expected = float(bce_reconstruction(logits, x.expand_as(logits)).mean())
            extra = {"kl": float(post.kl()), "recon_expected": expected}
        else:
            recon = model(x).recon
            extra = {}
        rows.append(
            ModelReconstruction(
                name=name,
                image=recon[0, 0].numpy(),
                mse=float(((recon - x) ** 2).mean()),
                bce=_bce_of_image(recon, x),
                **extra,
            )
        )
    return ReconstructionResult(input=x[0, 0].numpy(), rows=rows)


def summary_markdown(result: ReconstructionResult, label: int | None = None) -> str:
    """A small markdown table of each model's error and the VAE's loss split."""
    head = f"**Input:** test digit labelled **{label}**\n\n" if label is not None else ""
    lines = [
        "| model | code size | MSE per pixel | BCE (nats) |",
        "|---|---|---|---|",
    ]
    for r in result.rows:
        size = r.name.split("-")[-1]
        lines.append(f"| {r.name} | {size} | {r.mse:.4f} | {r.bce:.1f} |")
    vae = result.by_name("vae-2")
    split = (
        f"\n\n**VAE-2 loss for this digit:** reconstruction E_q[-log p(x|z)] = "
        f"**{vae.recon_expected:.1f}** nats + KL = **{vae.kl:.2f}** nats → negative ELBO "
        f"**{vae.recon_expected + vae.kl:.1f}** nats."
    )
    return head + "\n".join(lines) + split
