"""Generate a digit: the conditional VAE draws any digit you ask for, in a style z you choose.

The conditional VAE (CVAE-2) decodes a 2-number code z together with the label y:

    x = sigmoid(g([z ; onehot(y)]))        z in R^2,  y in {0, ..., 9}

Sampling draws z from the prior, scaled by a temperature T:

    z = T * eps,   eps ~ N(0, I)

T = 1 samples the prior itself; T < 1 stays near its centre (typical, tidy digits); T = 0 gives
z = 0 for every sample, so every sample is the same image; T > 1 reaches the rim, where the
decoder was rarely trained (unusual styles, sometimes broken strokes).

Because the decoder is *told* the digit, z does not need to say which digit it is: training
leaves it to describe what the label cannot, the handwriting (slant, stroke width, size). One z
decoded with all ten labels therefore writes all ten digits in one hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from kit.demos.common import as_float, as_int, get_model, grid_display, to_display

CVAE_MODEL = "cvae-2"
MAX_SAMPLES = 64
TEMPERATURE_RANGE = (0.0, 2.0)
STYLE_RANGE = (-3.0, 3.0)  # the style sliders' range for z1, z2 (the prior's +-3 sigma)
MAX_SEED = 2**31 - 1
GRID_PER_ROW = 8
DIGITS = tuple(range(10))


@dataclass
class Samples:
    """Named output of ``sample_digits``."""

    images: Tensor
    """Decoded images in [0, 1], shape (n, 1, 28, 28)."""
    z: Tensor
    """The codes they were decoded from, shape (n, 2)."""


def prior_draw(seed: int, temperature: float, n: int = MAX_SAMPLES) -> Tensor:
    """The first ``n`` of ``MAX_SAMPLES`` codes z = T * eps for ``seed``: (n, d).

    The draw is always ``MAX_SAMPLES`` long, so sample k is the same whatever ``n`` is and
    sample 1 of the grid is the style that "Same style, every digit" uses.
    """
    d = get_model(CVAE_MODEL).config.latent_dim
    g = torch.Generator().manual_seed(seed)  # per request: never the global RNG
    eps = torch.randn(MAX_SAMPLES, d, generator=g)  # (64, d), eps ~ N(0, I)
    return temperature * eps[:n]  # z = T * eps


@torch.no_grad()
def decode_with_labels(z: Tensor, labels: Tensor) -> Tensor:
    """CVAE decoding x = sigmoid(g([z ; onehot(y)])): (B, d), (B,) -> (B, 1, 28, 28)."""
    return get_model(CVAE_MODEL).decode(z, labels.long())


def sample_digits(digit: int, n: int, temperature: float, seed: int) -> Samples:
    """``n`` samples of ``digit``, z = T * eps with eps from ``seed``."""
    z = prior_draw(seed, temperature, n)  # (n, d)
    labels = torch.full((n,), digit, dtype=torch.long)  # (n,)
    return Samples(images=decode_with_labels(z, labels), z=z)


def all_digits(z: Tensor) -> Tensor:
    """One code decoded with each of the ten labels: (d,) -> (10, 1, 28, 28)."""
    zs = z.reshape(1, -1).expand(len(DIGITS), -1)  # (10, d), the same style ten times
    return decode_with_labels(zs, torch.tensor(DIGITS))


def _digit(value) -> int:
    return as_int(value, "the digit", 0, 9)


def _z_text(z: Tensor) -> str:
    return f"({float(z[0]):+.2f}, {float(z[1]):+.2f})"


# ---- demo entry points: named, display-ready outputs -----------------------------------------


def generate_digits(digit=7, n_samples=16, temperature=1.0, seed=0) -> dict:
    """A grid of ``n_samples`` CVAE samples of ``digit`` at ``temperature``, reproducible by seed."""
    digit = _digit(digit)
    n = as_int(n_samples, "the number of samples", 1, MAX_SAMPLES)
    temperature = as_float(temperature, "the temperature", *TEMPERATURE_RANGE)
    seed = as_int(seed, "the seed", 0, MAX_SEED)
    s = sample_digits(digit, n, temperature, seed)
    spread = float(s.images.std(dim=0).mean()) if n > 1 else 0.0  # pixel std across samples
    note = (
        "With temperature 0 every code is z = 0, so every sample is the same image: the "
        "model's most typical way to write it."
        if temperature == 0
        else "Lower the temperature for tidier, more alike digits; raise it for stranger ones."
    )
    summary = (
        f"**{n} sample{'s' if n > 1 else ''} of the digit {digit}**, each decoded from its own "
        f"$z = {temperature:g}\\,\\epsilon$, $\\epsilon \\sim \\mathcal{{N}}(0, I)$ (seed {seed}). "
        f"The label fixes *which* digit; z decides *how* it is written. {note}\n\n"
        f"Spread between samples (pixel standard deviation, averaged): **{spread:.3f}**."
    )
    return {
        "samples": grid_display(s.images, nrow=min(GRID_PER_ROW, n)),
        "summary": summary,
        "numbers": {
            "digit": digit,
            "temperature": temperature,
            "seed": seed,
            "z": [[round(float(v), 4) for v in row] for row in s.z],
            "pixel_spread": spread,
        },
    }


def same_style_all_digits(seed=0, temperature=1.0, digit=7) -> dict:
    """Sample 1's code from ``seed`` decoded as every digit 0-9: one style, ten identities.

    Also returns the code as ``z1``, ``z2`` (clipped to the style sliders' range) so the
    sliders can start from it, and ``digit`` decoded at that slider code as ``digit_image``:
    what the style sliders show for it, in the same event.
    """
    seed = as_int(seed, "the seed", 0, MAX_SEED)
    temperature = as_float(temperature, "the temperature", *TEMPERATURE_RANGE)
    digit = _digit(digit)
    z = prior_draw(seed, temperature, 1)[0]  # (d,): sample 1 of the grid for this seed
    row = all_digits(z)  # (10, 1, 28, 28)
    shown = z.clamp(*STYLE_RANGE)
    clipped = " (clipped to ±3 for the sliders)" if not torch.equal(shown, z) else ""
    summary = (
        f"One code $z = {_z_text(z)}$ (sample 1 for seed {seed}, temperature {temperature:g}), "
        "decoded with each label 0–9. The slant and stroke width stay the same along the row: "
        "**z carries the style, the label carries the identity.** The sliders below now hold "
        f"this z{clipped}."
    )
    z1, z2 = round(float(shown[0]), 2), round(float(shown[1]), 2)  # the sliders' values
    return {
        "row": grid_display(row, nrow=len(DIGITS)),
        "z1": z1,
        "z2": z2,
        "digit_image": style_sliders(digit, z1, z2)["digit_image"],  # what the sliders show
        "summary": summary,
    }


def style_sliders(digit=7, z1=0.0, z2=0.0) -> dict:
    """Decode ``digit`` at z = (z1, z2), and the ten-digit row in that same style."""
    digit = _digit(digit)
    z = torch.tensor(
        [
            as_float(z1, "the style slider z1", *STYLE_RANGE),
            as_float(z2, "the style slider z2", *STYLE_RANGE),
        ]
    )  # (2,)
    row = all_digits(z)  # (10, 1, 28, 28)
    density = float(np.exp(-0.5 * float(z @ z)))  # p(z) / p(0) under N(0, I)
    where = (
        "near the centre of the prior, where most training codes lie"
        if density > 0.1
        else "far out in the prior's tail, where few training codes lie: expect odd strokes"
    )
    summary = (
        f"The digit **{digit}** decoded at $z = {_z_text(z)}$, and the same z with every label. "
        f"This z is {where} ($p(z)/p(0) = {density:.3f}$). Move one slider and watch the same "
        "change of style run through all ten digits."
    )
    return {
        "digit_image": to_display(row[digit]),
        "row": grid_display(row, nrow=len(DIGITS)),
        "summary": summary,
    }
