"""Reconstruction demo: one digit through AE-32, AE-2 and VAE-2, with the error of each.

A 32-number code keeps most of a digit; a 2-number code keeps little more than which digit it
is. The VAE's loss splits into reconstruction, E_q[-log p(x|z)], and KL(q(z|x) || p(z)), the
price in nats of the information the code carries about this image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from kit.demos.common import (
    get_model,
    parse_digit_class,
    random_index,
    test_digit,
    to_display,
)
from kit.demos.registry import DemoSpec
from kit.losses import bce_reconstruction
from kit.preprocess import to_mnist_digit

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


# ---- demo entry points: named, display-ready outputs -----------------------------------------


def _display(x: torch.Tensor, label: int | None = None) -> dict:
    res = reconstruct(x)
    return {
        "input": to_display(res.input),
        **{row.name: to_display(row.image) for row in res.rows},
        "summary": summary_markdown(res, label),
    }


def show_test_digit(index: int = 0) -> dict:
    """Reconstruct test digit ``index`` with every model."""
    x, label = test_digit(index)
    return _display(x, label)


def show_random_digit(digit_class: str | int | None = "any", seed: int | None = None) -> dict:
    """A random test digit (of ``digit_class`` unless "any"), reconstructed; returns its index."""
    index = random_index(parse_digit_class(digit_class), np.random.default_rng(seed))
    return {"index": index, **show_test_digit(index)}


def show_drawing(sketch=None) -> dict:
    """Reconstruct a drawing or upload after MNIST-style preprocessing."""
    return _display(to_mnist_digit(sketch))


DEMOS = [
    DemoSpec(
        id="reconstruction.test_digit",
        tab="reconstruction",
        api_name="reconstruct_test_digit",
        fn=show_test_digit,
        defaults={"index": 0},
        summary="One test digit through AE-32, AE-2 and VAE-2, with each error and the VAE's loss split.",
    ),
    DemoSpec(
        id="reconstruction.random_digit",
        tab="reconstruction",
        api_name="random_test_digit",
        fn=show_random_digit,
        defaults={"digit_class": "any", "seed": None},
        summary="A random test digit (optionally of one class), reconstructed by every model.",
    ),
    DemoSpec(
        id="reconstruction.drawing",
        tab="reconstruction",
        api_name="reconstruct_drawing",
        fn=show_drawing,
        defaults={"sketch": None},
        summary="Your own drawing, preprocessed like MNIST, reconstructed by every model.",
    ),
]
