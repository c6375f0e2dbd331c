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

import numpy as np
import torch
from torch import Tensor

from kit.demos.common import (
    as_choice,
    as_int,
    get_model,
    grid_display,
    load_test_digit,
    parse_digit_class,
    random_index,
    to_display,
)
from kit.demos.render import BLACK, TEXT_GREY, Canvas, Panel, frozen, rgb
from kit.evaluate import ACTIVE_UNIT_THRESHOLD as ACTIVE_KL  # nats: below it, a dim is off
from kit.losses import bce_reconstruction
from kit.models import BETA_MODELS, CheckpointError, TrainingRecord, read_training_record

TRAVERSAL_LIMIT = 3.0  # each dimension is swept over [-3, 3], the prior's +-3 sigma
STEPS_RANGE = (3, 15)
TRAVERSAL_CHOICES = ("all", *BETA_MODELS)
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


TRAVERSAL_WIDTH_PX = 1500  # aim for at most about this many pixels across all panels
LABEL_W, TITLE_H, VALUES_H, FOOT_H, GAP = 104, 30, 22, 26, 18  # traversal layout, pixels


def traversal_scale(steps: int, panels: int) -> int:
    """Cell upscaling: as large as fits ``TRAVERSAL_WIDTH_PX`` (1 or 2)."""
    per_panel = TRAVERSAL_WIDTH_PX / panels - LABEL_W - GAP
    return max(1, min(2, int(per_panel // (29 * steps))))


@lru_cache(maxsize=64)
def traversal_frame(names: tuple[str, ...], steps: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """The traversal picture without its digits, and the left column of each grid.

    Everything on it depends only on the models' shipped KL (the row order and labels) and
    ``steps`` (the values), so it is drawn once per (models, steps) and shared, read-only.
    """
    d = len(load_metrics(names[0]).kl_per_dim)
    scale = traversal_scale(steps, len(names))
    cell = 28 * scale + 1  # grid_display: cells of 28 * scale px plus a 1 px border
    grid_w, grid_h = steps * cell + 1, d * cell + 1
    width = len(names) * (LABEL_W + grid_w) + (len(names) - 1) * GAP + 8
    canvas = Canvas(width, TITLE_H + grid_h + VALUES_H + FOOT_H)
    values = np.linspace(-TRAVERSAL_LIMIT, TRAVERSAL_LIMIT, steps)
    texts = [f"{v:.2f}".rstrip("0").rstrip(".") for v in values]
    widest = max(canvas.text_width(t, 11) for t in texts)
    every = 1 if widest <= cell - 4 else 2  # label every other column when they would touch
    lefts = []
    for p, name in enumerate(names):
        info = load_metrics(name)
        order = np.argsort(-info.kl_per_dim, kind="stable")  # the row order ``traverse`` uses
        left = p * (LABEL_W + grid_w + GAP) + LABEL_W
        lefts.append(left)
        active = int((info.kl_per_dim > ACTIVE_KL).sum())
        canvas.text(
            (left + grid_w / 2, TITLE_H - 8), f"{_beta_label(name)} · {active} of {d} dims active",
            14, anchor="mb",
        )  # fmt: skip
        for r, j in enumerate(order):
            label = f"z{j}  KL {_kl_text(info.kl_per_dim[j])}"
            canvas.text((left - 6, TITLE_H + 1 + r * cell + cell / 2), label, 11, anchor="rm")
        for c in range(0, steps, every):
            x = left + 1 + c * cell + cell / 2
            canvas.text((x, TITLE_H + grid_h + 5), texts[c], 11, anchor="mt")
    canvas.text(
        (width / 2, TITLE_H + grid_h + VALUES_H + 4),
        "value of the swept dimension (others at the posterior mean)", 12, anchor="mt",
    )  # fmt: skip
    return frozen(canvas.array()[..., 0].copy()), tuple(lefts)  # all grey: one channel


def traversal_image(travs: list[Traversal]) -> np.ndarray:
    """Every model's traversal grid side by side, labelled: (H, W) uint8 grey.

    Grey, not RGB: black text, grey digits, and a third of the bytes to encode per request.

    Row r of a grid is dimension ``order[r]`` (labelled with its test-set KL), column c the
    value ``values[c]``; the labels come from the cached frame, the digits are pasted in.
    """
    steps = len(travs[0].values)
    frame, lefts = traversal_frame(tuple(t.name for t in travs), steps)
    scale = traversal_scale(steps, len(travs))
    out = frame.copy()
    for t, left in zip(travs, lefts, strict=True):
        grid = grid_display(t.images, nrow=steps, scale=scale)  # (d * cell + 1, steps * cell + 1)
        out[TITLE_H : TITLE_H + grid.shape[0], left : left + grid.shape[1]] = grid
    return out


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
        "figure": traversal_image(travs),
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


RD_SIZE = (660, 460)  # pixels of the rate-distortion picture


def rate_distortion_panel(ms: list[BetaMetrics]) -> Panel:
    """Where ``rate_distortion_image`` draws: x = KL from 0, y = reconstruction, 6% margins."""
    xs = np.concatenate([m.history_kl for m in ms] + [[m.kl for m in ms]])
    ys = np.concatenate([m.history_recon for m in ms] + [[m.recon for m in ms]])
    x_hi, y_lo, y_hi = float(xs.max()) * 1.08, float(ys.min()), float(ys.max())
    pad = 0.06 * (y_hi - y_lo) or 1.0
    box = (84, 34, RD_SIZE[0] - 18, RD_SIZE[1] - 62)
    return Panel(box, (0.0, x_hi), (y_lo - pad, y_hi + 2.5 * pad))  # room above for labels


def rate_distortion_image(ms: list[BetaMetrics]) -> np.ndarray:
    """Each model's test-set (KL, recon) point, its per-epoch path, and the equal -ELBO line."""
    panel = rate_distortion_panel(ms)
    canvas = Canvas(*RD_SIZE)
    canvas.axes(
        panel,
        xlabel="rate: KL(q(z|x) ‖ p(z)) per image (nats)",
        ylabel="distortion: reconstruction −log p(x|z) (nats)",
        title="Rate–distortion on the 10k test digits",
    )
    for m in ms:  # faint: where each model travelled during training (test set, per epoch)
        path = zip(panel.col(m.history_kl), panel.row(m.history_recon), strict=True)
        canvas.line(list(path), color=(*rgb(COLOURS[m.name]), 90), width=2)
    points = [(float(panel.col(m.kl)), float(panel.row(m.recon))) for m in ms]
    canvas.line(points, color=(150, 150, 150), width=1, dash=3)
    best = min(ms, key=lambda m: m.neg_elbo)
    # recon + KL = const: x from where y leaves the top to where it leaves the bottom
    y_lo, y_hi = panel.ylim
    x0, x1 = max(0.0, best.neg_elbo - y_hi), min(panel.xlim[1], best.neg_elbo - y_lo)
    if x1 > x0:
        ends = [(panel.col(x), panel.row(best.neg_elbo - x)) for x in (x0, x1)]
        canvas.line(ends, color=(0, 0, 0, 130), width=1, dash=6)
        canvas.text(
            (ends[0][0] + 6, ends[0][1] - 6),
            f"dashed: recon + KL = {best.neg_elbo:.1f} (equal −ELBO)",
            10, TEXT_GREY, anchor="lb",
        )  # fmt: skip
    for m, (x, y) in zip(ms, points, strict=True):
        canvas.dot((x, y), 6, fill=rgb(COLOURS[m.name]), outline=BLACK)
        canvas.text((x, y - 24), _beta_label(m.name), 11, anchor="mb")
        canvas.text((x, y - 10), f"{m.kl_active_units} active", 11, anchor="mb")
    return canvas.array()


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
        "figure": _rate_distortion_image(tuple(m.name for m in ms)),
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


KL_SIZE = (1120, 330)  # pixels of the KL-per-dimension picture
KL_FLOOR = 1e-4  # the log axis starts here; a smaller KL_j is drawn as a short grey stub


def kl_bar_panels(ms: list[BetaMetrics]) -> list[Panel]:
    """One panel per model, side by side, sharing the log KL axis [1e-4, 2.5 x the largest]."""
    top = max(float(m.kl_per_dim.max()) for m in ms) * 2.5
    left, right, gap = 84, KL_SIZE[0] - 12, 14
    width = (right - left - gap * (len(ms) - 1)) / len(ms)
    d = len(ms[0].kl_per_dim)
    return [
        Panel(
            (round(left + i * (width + gap)), 34, round(left + i * (width + gap) + width), 270),
            (-0.6, d - 0.4),
            (KL_FLOOR, top),
            ylog=True,
        )
        for i in range(len(ms))
    ]


def kl_bars_image(ms: list[BetaMetrics]) -> np.ndarray:
    """Each model's test-set KL_j as bars, largest first; grey = inactive (KL_j <= 0.01)."""
    canvas = Canvas(*KL_SIZE)
    panels = kl_bar_panels(ms)
    for p, (panel, m) in enumerate(zip(panels, ms, strict=True)):
        order = np.argsort(-m.kl_per_dim, kind="stable")  # (d,)
        kl = m.kl_per_dim[order]
        canvas.axes(
            panel,
            xticks=[],  # dimension names are written under the bars instead
            title=f"{_beta_label(m.name)}: {m.kl_active_units} of {len(kl)} active",
            ylabel="KL_j per image (nats, log scale)" if p == 0 else "",
            xlabel="dimension (sorted by KL)",
            ytick_labels=p == 0,
        )
        base = panel.box[3]
        for i, (j, k) in enumerate(zip(order, kl, strict=True)):
            colour = rgb(COLOURS[m.name]) if k > ACTIVE_KL else (211, 211, 211)
            x0, x1 = panel.col(i - 0.4), panel.col(i + 0.4)
            top = panel.row(max(k, 2 * KL_FLOOR))
            canvas.rect((x0, top, x1, base), fill=colour, outline=BLACK)
            canvas.text(((x0 + x1) / 2, base + 6), f"z{j}", 10, anchor="mt")
        y = float(panel.row(ACTIVE_KL))
        canvas.line([(panel.box[0], y), (panel.box[2], y)], color=BLACK, width=1, dash=5)
    last = panels[-1].box  # on the largest β, whose inactive stubs leave room at the right
    canvas.text((last[2] - 6, panels[-1].row(ACTIVE_KL) - 4), "0.01 nats", 10, TEXT_GREY, "rb")
    return canvas.array()


@lru_cache(maxsize=4)
def _rate_distortion_image(names: tuple[str, ...]) -> np.ndarray:
    """``rate_distortion_image`` of the shipped numbers, once per process (they never change)."""
    return frozen(rate_distortion_image([load_metrics(n) for n in names]))


@lru_cache(maxsize=4)
def _kl_bars_image(names: tuple[str, ...]) -> np.ndarray:
    """``kl_bars_image`` of the shipped numbers, once per process (they never change)."""
    return frozen(kl_bars_image([load_metrics(n) for n in names]))


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
        "figure": _kl_bars_image(tuple(m.name for m in ms)),
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
