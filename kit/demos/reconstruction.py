"""Reconstruction demo: one digit through AE-32, AE-2 and VAE-2, with the error of each.

A 32-number code keeps most of a digit; a 2-number code keeps little more than which digit it
is. The VAE's loss splits into reconstruction, E_q[-log p(x|z)], and KL(q(z|x) || p(z)), the
price in nats of the information the code carries about this image.

Optional input noise: x_noisy = clip(x + s * eps, 0, 1) with eps ~ N(0, I) drawn from a seeded
per-request generator. The models saw clean digits only; they are not denoising autoencoders.
Measured on 100 test digits, AE-32's error to the clean digit rises from 0.0046 (s = 0) to
0.011 (s = 0.1) and 0.022 (s = 0.2), no better than the noisy input itself: mild noise is
encoded as if it were part of the digit. Heavy noise (s = 0.7, input error 0.18) is halved by
every model (about 0.09), since a bottleneck cannot store pixel noise, but what comes out is
often a different digit. Errors are reported against the clean digit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from kit.demos.common import (
    as_float,
    as_int,
    get_model,
    load_test_digit,
    parse_digit_class,
    random_index,
    to_display,
)
from kit.losses import bce_reconstruction
from kit.preprocess import BlankImageError, load_image_file, to_mnist_digit

RECON_MODELS = ("ae-32", "ae-2", "vae-2")
NOISE_RANGE = (0.0, 1.0)  # std of the Gaussian noise added to the input pixels


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
    mse_clean: float | None = None
    """With input noise: mean squared error per pixel against the clean digit."""


@dataclass
class ReconstructionResult:
    """Named output of ``reconstruct``."""

    input: np.ndarray
    """The input digit, float (28, 28) in [0, 1]."""
    rows: list[ModelReconstruction]
    """One entry per model, in ``RECON_MODELS`` order."""
    noise_mse: float | None = None
    """With input noise: MSE per pixel between the noisy input and the clean digit."""

    def by_name(self, name: str) -> ModelReconstruction:
        """The row of the model called ``name``."""
        return next(r for r in self.rows if r.name == name)


def _bce_of_image(recon: torch.Tensor, x: torch.Tensor) -> float:
    logits = torch.logit(recon.clamp(1e-6, 1 - 1e-6))
    return float(bce_reconstruction(logits, x))


@torch.no_grad()
def reconstruct(
    x: torch.Tensor, samples: int = 64, seed: int = 0, clean: torch.Tensor | None = None
) -> ReconstructionResult:
    """Reconstruct one digit (1, 1, 28, 28) in [0, 1] with each model in ``RECON_MODELS``.

    ``clean``: when ``x`` is a noisy copy, the clean digit; each row then also reports
    ``mse_clean``, the error against it (how much of the noise the model removed).
    """
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
                mse_clean=None if clean is None else float(((recon - clean) ** 2).mean()),
                **extra,
            )
        )
    noise_mse = None if clean is None else float(((x - clean) ** 2).mean())
    return ReconstructionResult(input=x[0, 0].numpy(), rows=rows, noise_mse=noise_mse)


def summary_markdown(result: ReconstructionResult, label: int | None = None) -> str:
    """A small markdown table of each model's error and the VAE's loss split."""
    head = f"**Input:** test digit labelled **{label}**\n\n" if label is not None else ""
    noisy = result.noise_mse is not None
    if noisy:
        head += (
            f"**Noisy input:** its MSE to the clean digit is **{result.noise_mse:.4f}**. "
            "A model *removed* noise where its MSE to the clean digit is lower than that.\n\n"
        )
    lines = [
        "| model | code size | MSE per pixel | BCE (nats) |"
        + (" MSE to clean digit |" if noisy else ""),
        "|---|---|---|---|" + ("---|" if noisy else ""),
    ]
    for r in result.rows:
        size = r.name.split("-")[-1]
        extra = f" {r.mse_clean:.4f} |" if noisy else ""
        lines.append(f"| {r.name} | {size} | {r.mse:.4f} | {r.bce:.1f} |{extra}")
    vae = result.by_name("vae-2")
    split = (
        f"\n\n**VAE-2 loss for this digit:** reconstruction E_q[-log p(x|z)] = "
        f"**{vae.recon_expected:.1f}** nats + KL = **{vae.kl:.2f}** nats → negative ELBO "
        f"**{vae.recon_expected + vae.kl:.1f}** nats."
    )
    return head + "\n".join(lines) + split


# ---- demo entry points: named, display-ready outputs -----------------------------------------


def _add_noise(x: torch.Tensor, noise, seed) -> tuple[torch.Tensor, torch.Tensor | None]:
    """x_noisy = clip(x + s * eps, 0, 1), eps from a per-request generator; (x, None) if s = 0."""
    s = as_float(noise, "the noise level", *NOISE_RANGE)
    if s == 0:
        return x, None
    gen = torch.Generator().manual_seed(as_int(seed, "the noise seed", 0, 2**31 - 1))
    eps = torch.randn(x.shape, generator=gen)  # (1, 1, 28, 28)
    return (x + s * eps).clamp(0.0, 1.0), x


def _display(x: torch.Tensor, label: int | None = None, noise=0.0, seed=0) -> dict:
    x, clean = _add_noise(x, noise, seed)
    res = reconstruct(x, clean=clean)
    return {
        "input": to_display(res.input),
        **{row.name: to_display(row.image) for row in res.rows},
        "summary": summary_markdown(res, label),
    }


def show_test_digit(index: int = 0, noise: float = 0.0) -> dict:
    """Reconstruct test digit ``index`` (plus optional input noise) with every model."""
    x, label = load_test_digit(index)
    return _display(x, label, noise)


def show_random_digit(
    digit_class: str | int | None = "any", seed: int | None = None, noise: float = 0.0
) -> dict:
    """A random test digit (of ``digit_class`` unless "any"), reconstructed; returns its index."""
    index = random_index(parse_digit_class(digit_class), np.random.default_rng(seed))
    return {"index": index, **show_test_digit(index, noise)}


def show_drawing(sketch=None, noise: float = 0.0) -> dict:
    """Reconstruct a drawing (sketchpad value or image array) after MNIST-style preprocessing."""
    return _display(to_mnist_digit(sketch), noise=noise)


def show_upload(path=None, noise: float = 0.0) -> dict:
    """Reconstruct an uploaded image file (checked by ``load_image_file``), MNIST-style."""
    if path is None or (isinstance(path, str) and not path.strip()):
        raise BlankImageError("no file was uploaded: choose an image of one digit first")
    return _display(to_mnist_digit(load_image_file(path)), noise=noise)
