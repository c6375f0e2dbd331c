"""β comparison: four VAEs with 10 latent dimensions, trained with β = 0.5, 1, 4 and 10.

Each minimises the β-weighted negative ELBO

    L(x) = E_q[-log p(x|z)] + β · KL(q(z|x) || N(0, I))
         = distortion       + β · rate

The KL term is the *rate*: the nats the code spends describing x. The reconstruction term is the
*distortion*: how badly the decoder rebuilds x from that code. β is the price of one nat, so a
larger β buys a cheaper code (lower KL) with a worse reconstruction (higher BCE): the four models
sit at four points of one rate-distortion trade-off.

The KL splits over the dimensions, KL = sum_j KL_j with KL_j = 1/2 (mu_j^2 + sigma_j^2 -
log sigma_j^2 - 1). A dimension with test-set KL_j < 0.01 nats is *inactive*: its posterior is
the prior for every digit, it tells the decoder nothing, and traversing it leaves the image
almost unchanged. The more a dimension's KL, the more its traversal changes the image.

Reconstructions decode the posterior mean, x_hat = sigmoid(g(mu)), and their error is the
Bernoulli BCE at that image, -sum_i [x_i log x_hat_i + (1 - x_i) log(1 - x_hat_i)], in nats.
The test-set numbers come from each checkpoint's ``metrics.json`` ("test": recon, kl, neg_elbo,
kl_per_dim, active_units) and ``history.json`` (test_recon and test_kl after every epoch).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from kit.demos.common import (
    as_choice,
    as_int,
    get_model,
    grid_display,
    load_test_digit,
    new_figure,
    parse_digit_class,
    random_index,
    to_display,
)
from kit.evaluate import ACTIVE_UNIT_THRESHOLD as ACTIVE_KL  # nats: below it, a dim is off
from kit.losses import bce_reconstruction
from kit.models import BETA_MODELS, CheckpointError, TrainingRecord, read_training_record

if TYPE_CHECKING:  # matplotlib loads lazily (kit.demos.common.new_figure)
    from matplotlib.figure import Figure

TRAVERSAL_LIMIT = 3.0  # each dimension is swept over [-3, 3], the prior's +-3 sigma
STEPS_RANGE = (3, 15)
TRAVERSAL_CHOICES = ("all", *BETA_MODELS)
CELL_SCALE = 1  # traversal cells at 28 px; imshow upscales them (nearest) when drawn
COLOURS = {"beta-vae-0.5": "#1b9e77", "beta-vae-1": "#7570b3", "beta-vae-4": "#d95f02"}
COLOURS["beta-vae-10"] = "#e7298a"


# ---- the shipped test-set numbers ------------------------------------------------------------


BetaMetrics = TrainingRecord  # the shared record of kit.models, under the β tab's old name


@lru_cache(maxsize=8)
def load_metrics(name: str) -> TrainingRecord:
    """The test-set numbers of a finished β-VAE checkpoint (cached; raises ``CheckpointError``)."""
    return read_training_record(name)


def available_metrics() -> tuple[list[BetaMetrics], list[str]]:
    """(metrics of every β-VAE that is ready, names of those that are not)."""
    ready, missing = [], []
    for name in BETA_MODELS:
        try:
            ready.append(load_metrics(name))
        except CheckpointError:
            missing.append(name)
    if not ready:
        raise CheckpointError(f"none of the β-VAEs ({', '.join(BETA_MODELS)}) is trained yet")
    return ready, missing


def _missing_note(missing: list[str]) -> str:
    return f"\n\n*Not available yet: {', '.join(missing)}.*" if missing else ""


def _beta_label(name: str) -> str:
    return f"β = {name.removeprefix('beta-vae-')}"


# ---- one digit through every β ---------------------------------------------------------------


@dataclass
class BetaReconstruction:
    """One β-VAE's reconstruction of the input digit."""

    name: str
    image: np.ndarray
    """sigmoid(g(mu)), float (28, 28) in [0, 1]."""
    bce: float
    """-log p(x | z = mu): the error of the displayed image, nats."""
    recon_expected: float
    """E_q[-log p(x|z)] over ``RECON_SAMPLES`` draws z ~ q(z|x): the distortion, nats."""
    kl: float
    """KL(q(z|x) || N(0, I)) for this digit: the rate, nats."""
    kl_per_dim: np.ndarray
    """(d,) KL_j for this digit."""


RECON_SAMPLES = 32  # z draws per digit for E_q[-log p(x|z)]; fixed seed, so outputs repeat


@torch.no_grad()
def reconstruct_all(
    x: Tensor, samples: int = RECON_SAMPLES, seed: int = 0
) -> list[BetaReconstruction]:
    """Reconstruct one digit (1, 1, 28, 28) with each model in ``BETA_MODELS``."""
    rows = []
    for name in BETA_MODELS:
        model = get_model(name)
        post = model.encode(x)  # q(z|x): mu, logvar (1, 10)
        logits = model.decode_logits(post.mu)  # decode the posterior mean, (1, 1, 28, 28)
        z = post.sample(torch.Generator().manual_seed(seed), n=samples)[:, 0]  # (S, 10)
        sampled = model.decode_logits(z)  # (S, 1, 28, 28)
        expected = bce_reconstruction(sampled, x.expand_as(sampled)).mean()  # E_q[-log p(x|z)]
        rows.append(
            BetaReconstruction(
                name=name,
                image=torch.sigmoid(logits)[0, 0].numpy(),
                bce=float(bce_reconstruction(logits, x)[0]),  # -log p(x|z=mu)
                recon_expected=float(expected),
                kl=float(post.kl()[0]),  # sum_j KL_j
                kl_per_dim=post.kl_per_dim()[0].numpy(),  # (10,)
            )
        )
    return rows


def _reconstruction_summary(rows: list[BetaReconstruction], label: int) -> str:
    lines = [
        f"**Input:** test digit labelled **{label}**. Each image decodes the posterior mean μ.\n",
        "| model | BCE of the image shown (nats) | distortion E_q[−log p(x\\|z)] | "
        "rate KL (nats) | dims with KL > 0.01 |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {_beta_label(r.name)} | {r.bce:.1f} | {r.recon_expected:.1f} | {r.kl:.2f} | "
            f"{int((r.kl_per_dim > ACTIVE_KL).sum())} |"
        )
    lo, hi = rows[0], rows[-1]
    lines.append(
        f"\nFrom β = 0.5 to β = 10 this digit's code shrinks from {lo.kl:.1f} to {hi.kl:.1f} "
        f"nats and the distortion grows from {lo.recon_expected:.1f} to "
        f"{hi.recon_expected:.1f} nats: a cheaper code, a blurrier digit. The distortion "
        f"averages the error over {RECON_SAMPLES} codes drawn from q(z|x), as training does; "
        "the image shown is the one decoded from μ."
    )
    return "\n".join(lines)


def beta_reconstruct(index=0) -> dict:
    """Test digit ``index`` reconstructed by every β, with each one's BCE and KL."""
    x, label = load_test_digit(index)
    rows = reconstruct_all(x)
    return {
        "input": to_display(x),
        **{r.name: to_display(r.image) for r in rows},
        "summary": _reconstruction_summary(rows, label),
        "numbers": {
            r.name: {
                "bce": r.bce,
                "recon_expected": r.recon_expected,
                "kl": r.kl,
                "kl_per_dim": [float(v) for v in r.kl_per_dim],
            }
            for r in rows
        },
    }


def beta_random_digit(digit_class="any", seed=None) -> dict:
    """A random test digit (of ``digit_class`` unless "any") through every β; returns its index."""
    cls = parse_digit_class(digit_class)
    if seed is not None:
        seed = as_int(seed, "the seed", 0, 2**31 - 1)
    index = random_index(cls, np.random.default_rng(seed))
    return {"index": index, **beta_reconstruct(index)}


# ---- latent traversals -----------------------------------------------------------------------


@dataclass
class Traversal:
    """One model's traversal of every latent dimension around one digit."""

    name: str
    beta: float
    order: np.ndarray
    """(d,) dimension indices, by test-set KL_j descending (the grid's row order)."""
    kl: np.ndarray
    """(d,) test-set KL_j in that order."""
    images: Tensor
    """(d * steps, 1, 28, 28): row r sweeps dimension order[r] over ``values``."""
    values: np.ndarray
    """(steps,) the values each dimension takes, from -3 to 3."""
    change: np.ndarray
    """(d,) mean |x(z_j = v) - x(mu)| over the sweep and the pixels, in row order."""


@torch.no_grad()
def traverse(name: str, x: Tensor, steps: int) -> Traversal:
    """Sweep each dimension of ``name``'s latent over [-3, 3], the others at the posterior mean."""
    model, info = get_model(name), load_metrics(name)
    mu = model.encode(x).mu[0]  # (d,)
    d = mu.shape[0]
    order = np.argsort(-info.kl_per_dim, kind="stable")  # (d,) most informative first
    values = torch.linspace(-TRAVERSAL_LIMIT, TRAVERSAL_LIMIT, steps)  # (steps,)
    z = mu.repeat(d, steps, 1)  # (d, steps, d): every row starts at mu
    for r, j in enumerate(order):
        z[r, :, j] = values  # row r: z_j = v, the other dimensions stay at mu
    images = model.decode(z.reshape(d * steps, d))  # (d * steps, d) -> (d * steps, 1, 28, 28)
    centre = model.decode(mu.unsqueeze(0))  # x(mu), (1, 1, 28, 28)
    change = (images - centre).abs().reshape(d, steps, -1).mean(dim=(1, 2))  # (d,)
    return Traversal(
        name=name,
        beta=info.beta,
        order=order,
        kl=info.kl_per_dim[order],
        images=images,
        values=values.numpy(),
        change=change.numpy(),
    )


def _kl_text(kl: float) -> str:
    return f"{kl:.2f}" if kl >= ACTIVE_KL else "<0.01"


def _traversal_figure(travs: list[Traversal]) -> Figure:
    steps = len(travs[0].values)
    d = len(travs[0].order)
    panel_w = 1.3 + 0.3 * steps  # inches: row labels + cells
    fig = new_figure(figsize=(max(5.0, panel_w * len(travs)), 0.3 * d + 1.3), layout="constrained")
    axes = fig.subplots(1, len(travs), squeeze=False)[0]
    cell = 28 * CELL_SCALE + 1  # grid_display: cells of 28 * scale px plus a 1 px border
    centres = 1 + cell * np.arange(max(steps, d)) + 28 * CELL_SCALE / 2
    bottom = cell * d + 1
    every = 2 if steps > 9 else 1
    for ax, t in zip(axes, travs, strict=True):
        ax.imshow(
            grid_display(t.images, nrow=steps, scale=CELL_SCALE),
            cmap="gray",
            vmin=0,
            vmax=255,
            interpolation="nearest",
        )
        ax.set_axis_off()  # labels as plain text: matplotlib's tick objects are slow to build
        for r, (j, k) in enumerate(zip(t.order, t.kl, strict=True)):
            label = f"z{j}  KL {_kl_text(k)}"
            ax.text(-0.15 * cell, centres[r], label, ha="right", va="center", fontsize=7.5)
        for c in range(0, steps, every):
            value = f"{t.values[c]:g}"
            ax.text(centres[c], bottom + 0.1 * cell, value, ha="center", va="top", fontsize=7.5)
        active = int((t.kl > ACTIVE_KL).sum())
        ax.set_title(f"{_beta_label(t.name)} · {active} of {d} dims active", fontsize=10)
    fig.supxlabel("value of the swept dimension (others at the posterior mean)", fontsize=8)
    return fig


def latent_traversal(index=0, model="all", steps=9) -> dict:
    """Traversal grids of test digit ``index``: one per β, rows by KL_j (descending)."""
    x, label = load_test_digit(index)
    choice = as_choice(model, "the model", TRAVERSAL_CHOICES)
    steps = as_int(steps, "the number of steps", *STEPS_RANGE)
    names = BETA_MODELS if choice == "all" else (choice,)
    travs = [traverse(n, x, steps) for n in names]
    lines = [
        f"Test digit **{label}**: each row sets one dimension to {steps} values from −3 to 3 "
        "and keeps the others at the posterior mean. Rows are sorted by the dimension's "
        "test-set KL, largest first.\n",
        "| model | most active dim: KL, image change | inactive dims (KL < 0.01) | "
        "their largest image change |",
        "|---|---|---|---|",
    ]
    for t in travs:
        inactive = t.kl < ACTIVE_KL
        idle = f"{t.change[inactive].max():.4f}" if inactive.any() else "–"
        lines.append(
            f"| {_beta_label(t.name)} | z{t.order[0]}: {t.kl[0]:.2f} nats, "
            f"{t.change[0]:.3f} | {int(inactive.sum())} | {idle} |"
        )
    lines.append(
        "\n*Image change* = mean absolute pixel difference from the posterior-mean "
        "reconstruction, averaged over the sweep. An inactive dimension is ignored by the "
        "decoder, so its row barely changes."
    )
    return {
        "figure": _traversal_figure(travs),
        "summary": "\n".join(lines),
        "numbers": {
            t.name: {
                "order": [int(j) for j in t.order],
                "kl_per_dim_sorted": [float(k) for k in t.kl],
                "image_change": [float(c) for c in t.change],
            }
            for t in travs
        },
    }


# ---- test-set numbers: rate-distortion and KL per dimension ----------------------------------


def _rate_distortion_figure(ms: list[BetaMetrics]) -> Figure:
    fig = new_figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.subplots()
    for m in ms:  # faint: where each model travelled during training (test set, per epoch)
        ax.plot(m.history_kl, m.history_recon, color=COLOURS[m.name], lw=0.8, alpha=0.35)
    ax.plot([m.kl for m in ms], [m.recon for m in ms], color="grey", lw=1, ls=":", zorder=1)
    for m in ms:
        ax.scatter(m.kl, m.recon, s=60, color=COLOURS[m.name], zorder=3, edgecolor="black")
        ax.annotate(
            f"{_beta_label(m.name)}\n{m.kl_active_units} active",
            (m.kl, m.recon),
            xytext=(0, 9),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8.5,
        )
    best = min(ms, key=lambda m: m.neg_elbo)
    span = np.array([0.0, max(m.kl for m in ms) * 1.15])
    ax.plot(span, best.neg_elbo - span, color="black", lw=0.8, ls="--", alpha=0.5)
    ax.text(  # recon + KL = const: the points of equal negative ELBO
        0.02 * span[1],
        best.neg_elbo,
        f"dashed: recon + KL = {best.neg_elbo:.1f} (equal −ELBO)",
        fontsize=7,
        color="dimgrey",
        ha="left",
        va="bottom",
    )
    ax.set_xlim(left=0)
    ax.set_xlabel("rate: KL(q(z|x) ‖ p(z)) per image (nats)")
    ax.set_ylabel("distortion: reconstruction −log p(x|z) (nats)")
    ax.set_title("Rate–distortion on the 10k test digits", fontsize=10)
    ax.grid(alpha=0.3)
    return fig


def rate_distortion() -> dict:
    """Each β's test-set (KL, reconstruction) point, and a table of the numbers."""
    ms, missing = available_metrics()
    lines = [
        "| model | recon (distortion) | KL (rate) | −ELBO | recon + β·KL | "
        "dims with KL > 0.01 | active units (Var μ > 0.01) |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in ms:
        lines.append(
            f"| {_beta_label(m.name)} | {m.recon:.1f} | {m.kl:.2f} | {m.neg_elbo:.1f} | "
            f"{m.weighted_loss:.1f} | {m.kl_active_units} | {m.variance_active_units} |"
        )
    lines.append(
        "\nAll numbers in nats per image on the 10,000 test digits; −ELBO = recon + KL, and "
        "recon + β·KL is the loss each model was trained on. Raising β makes each nat of "
        "KL dearer, so the models spend fewer nats on the code and pay in reconstruction. The "
        "faint lines show where each model travelled during training." + _missing_note(missing)
    )
    return {
        "figure": _rate_distortion_figure(ms),
        "table": "\n".join(lines),
        "numbers": {
            m.name: {
                "beta": m.beta,
                "recon": m.recon,
                "kl": m.kl,
                "neg_elbo": m.neg_elbo,
                "active_dims": m.kl_active_units,
                "active_units": m.variance_active_units,
            }
            for m in ms
        },
    }


def _kl_bars_figure(ms: list[BetaMetrics]) -> Figure:
    fig = new_figure(figsize=(11, 3.4), layout="constrained")
    axes = fig.subplots(1, len(ms), sharey=True, squeeze=False)[0]
    floor = 1e-4  # log axis from here; a smaller KL_j is drawn as a short grey stub
    top = max(float(m.kl_per_dim.max()) for m in ms)
    for ax, m in zip(axes, ms, strict=True):
        order = np.argsort(-m.kl_per_dim, kind="stable")  # (d,)
        kl = m.kl_per_dim[order]
        colours = [COLOURS[m.name] if k > ACTIVE_KL else "lightgrey" for k in kl]
        ax.bar(
            range(len(kl)), np.clip(kl, 2 * floor, None), color=colours, edgecolor="black", lw=0.4
        )
        ax.axhline(ACTIVE_KL, color="black", ls="--", lw=0.8)
        ax.set_yscale("log")
        ax.set_ylim(floor, top * 2.5)
        ax.set_xticks([])  # dimension names as plain text: tick objects are slow to build
        for i, j in enumerate(order):
            ax.text(
                i,
                -0.02,
                f"z{j}",
                ha="center",
                va="top",
                fontsize=7,
                transform=ax.get_xaxis_transform(),
            )
        ax.set_title(f"{_beta_label(m.name)}: {m.kl_active_units} of {len(kl)} active", fontsize=10)
        ax.set_xlabel("dimension (sorted by KL)", fontsize=8, labelpad=12)
    axes[0].set_ylabel("KL_j per image (nats, log scale)")
    axes[-1].text(  # on the largest β, whose inactive stubs leave room at the right
        0.98,
        ACTIVE_KL * 1.3,
        "0.01 nats",
        ha="right",
        fontsize=7.5,
        color="dimgrey",
        transform=axes[-1].get_yaxis_transform(),
    )
    return fig


def kl_per_dimension() -> dict:
    """Bar plots of each β's test-set KL per latent dimension, with its active-unit count."""
    ms, missing = available_metrics()
    counts = ", ".join(f"{_beta_label(m.name)}: {m.kl_active_units}" for m in ms)
    summary = (
        f"Active dimensions (test-set KL_j > 0.01 nats) out of 10 — {counts}. Grey bars are "
        "inactive: their posterior equals the prior for every digit, so the decoder learns to "
        "ignore them. A larger β prices each nat higher and switches more dimensions off."
        + _missing_note(missing)
    )
    return {
        "figure": _kl_bars_figure(ms),
        "summary": summary,
        "numbers": {
            m.name: {
                "kl_per_dim": [float(k) for k in m.kl_per_dim],
                "active_dims": m.kl_active_units,
                "active_units": m.variance_active_units,
            }
            for m in ms
        },
    }
