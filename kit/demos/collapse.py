"""Posterior collapse: latent dimensions whose posterior is just the prior carry no information.

The KL term of a (beta-)VAE splits over the d latent dimensions,

    KL(q(z|x) || N(0, I)) = sum_j KL_j,   KL_j = 1/2 (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1),

and KL_j, averaged over the test set, is the number of nats dimension j spends on describing x.
A dimension with KL_j ~= 0 has q(z_j|x) = N(0, 1) for every x: the decoder learns to ignore it
and it is "collapsed" (here: KL_j < 0.01 nats). Raising beta in L = recon + beta * KL makes each
nat dearer, so a larger beta switches more of the 10 dimensions off. The per-epoch history
shows when, during training, each dimension was switched on or off.

The numbers are read from each checkpoint's ``metrics.json`` ("test"."kl_per_dim", and the
variance-based "active_units": dims with Var_x(E_q[z_j]) > 0.01) and ``history.json`` (one dict
per epoch with "epoch" and "test_kl_per_dim"), which ``kit.train`` wrote on the 10k test set.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from kit.demos.common import as_choice
from kit.demos.render import (
    AXIS_GREY,
    BLACK,
    TAB,
    TAB10_RGB,
    TEXT_GREY,
    WHITE,
    Canvas,
    Panel,
    frozen,
)
from kit.evaluate import ACTIVE_UNIT_THRESHOLD as COLLAPSE_THRESHOLD  # nats, per dimension
from kit.models import BETA_MODELS, CheckpointError, TrainingRecord, read_training_record

KLRecord = TrainingRecord  # the shared record of kit.models, under this demo's old name


@lru_cache(maxsize=16)
def load_kl_record(name: str) -> TrainingRecord:
    """The KL numbers of a finished checkpoint (cached; raises ``CheckpointError``)."""
    return read_training_record(name)


FIG_SIZE = (1080, 400)  # pixels of the collapse picture
KL_LOG_FLOOR = -3.0  # the heatmap's colours start at log10 KL_j = -3 (0.001 nats)
LINE_FLOOR = 1e-4  # the per-epoch curves are clipped here on their log axis
#: matplotlib's "magma" at 9 evenly spaced stops, interpolated linearly in between
MAGMA = np.array(
    [
        [0, 0, 4],
        [29, 17, 71],
        [81, 18, 124],
        [131, 38, 129],
        [183, 55, 121],
        [231, 82, 99],
        [252, 137, 97],
        [254, 196, 136],
        [252, 253, 191],
    ],
    dtype=float,
)


def magma(t: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> (..., 3) uint8 colours of the magma colour map."""
    pos = np.clip(np.asarray(t, dtype=float), 0, 1) * (len(MAGMA) - 1)
    i = np.minimum(pos.astype(int), len(MAGMA) - 2)
    frac = (pos - i)[..., None]
    return np.round(MAGMA[i] * (1 - frac) + MAGMA[i + 1] * frac).astype(np.uint8)


@dataclass(frozen=True)
class CollapseLayout:
    """Where ``collapse_figure`` draws (pixels), for tests that read the picture back."""

    heat: tuple[int, int, int, int]
    """(left, top, right, bottom) of the heatmap: one row per model, one column per dim."""
    colour_range: tuple[float, float]
    """log10 KL_j at the bottom and top of the colour map."""
    curves: Panel
    """The per-epoch panel: x = epoch, y = KL_j (log)."""


def collapse_layout(records: list[KLRecord], picked: KLRecord) -> CollapseLayout:
    """Where ``collapse_figure`` puts the heatmap, its colour range and the epoch curves."""
    vmax = max(np.log10(max(r.kl_per_dim.max(), r.kl_history.max(), 1e-3)) for r in records)
    top = float(max(picked.kl_history.max(), COLLAPSE_THRESHOLD)) * 2.5
    epochs = (float(picked.epochs[0]), float(picked.epochs[-1]))
    pad = 0.03 * (epochs[1] - epochs[0] or 1.0)
    curves = Panel(
        (610, 34, 990, 340), (epochs[0] - pad, epochs[1] + pad), (LINE_FLOOR * 0.7, top), ylog=True
    )
    return CollapseLayout((84, 34, 434, 340), (KL_LOG_FLOOR, float(vmax)), curves)


def collapse_figure(records: list[KLRecord], picked: KLRecord) -> np.ndarray:
    """Left: final KL_j of every model as a heatmap with its values; right: ``picked``'s KL_j
    after every epoch, one line per dimension. (H, W, 3) uint8."""
    lay = collapse_layout(records, picked)
    canvas = Canvas(*FIG_SIZE)
    lo, hi = lay.colour_range

    # across beta: rows = models, columns = latent dimensions, colour = log10 KL_j
    left, top, right, bottom = lay.heat
    grid = np.log10(np.clip(np.stack([r.kl_per_dim for r in records]), 1e-3, None))  # (B, d)
    rows, cols = grid.shape
    cell_w, cell_h = (right - left) / cols, (bottom - top) / rows
    colours = magma((grid - lo) / (hi - lo))  # (B, d, 3)
    for i, r in enumerate(records):
        y0 = top + i * cell_h
        canvas.text((left - 8, y0 + cell_h / 2), f"β = {r.beta:g}", 12, anchor="rm")
        for j, v in enumerate(r.kl_per_dim):
            x0 = left + j * cell_w
            canvas.rect(
                (x0, y0, x0 + cell_w, y0 + cell_h), fill=tuple(int(c) for c in colours[i, j])
            )
            dark = grid[i, j] < hi - 0.8
            label = f"{v:.2f}" if v >= COLLAPSE_THRESHOLD else "off"
            canvas.text((x0 + cell_w / 2, y0 + cell_h / 2), label, 10, WHITE if dark else BLACK)
    for j in range(cols):
        canvas.text((left + (j + 0.5) * cell_w, bottom + 6), str(j), 12, anchor="mt")
    canvas.rect(lay.heat, outline=AXIS_GREY)
    canvas.text(((left + right) / 2, bottom + 26), "latent dimension j", 13, anchor="mt")
    canvas.text(
        ((left + right) / 2, top - 10),
        "KL per dimension at the end of training (nats)",
        13,
        anchor="mb",
    )
    # colour bar: log10 KL_j from lo (bottom) to hi (top)
    bar = (right + 22, top, right + 40, bottom)
    ramp = magma(np.linspace(1, 0, bar[3] - bar[1]))[:, None, :].repeat(bar[2] - bar[0], axis=1)
    canvas.paste(ramp, (bar[0], bar[1]))
    canvas.rect(bar, outline=AXIS_GREY)
    for v in range(int(np.ceil(lo)), int(np.floor(hi)) + 1):
        y = bar[3] - (v - lo) / (hi - lo) * (bar[3] - bar[1])
        canvas.line([(bar[2], y), (bar[2] + 4, y)], color=AXIS_GREY, width=1)
        canvas.text((bar[2] + 7, y), f"{v}", 11, anchor="lm")
    canvas.vertical_text((bar[2] + 44, (top + bottom) / 2), "log10 KL_j", 12)

    # across epochs for the picked model: one line per dimension
    panel = lay.curves
    canvas.axes(
        panel,
        xlabel="epoch",
        ylabel="KL_j on the test set (nats, floor 1e-4)",
        title=f"{picked.name} (β = {picked.beta:g}) during training",
    )
    y = float(panel.row(COLLAPSE_THRESHOLD))
    canvas.line([(panel.box[0], y), (panel.box[2], y)], color=TAB["grey"], width=1, dash=5)
    canvas.text((panel.box[2] - 6, y - 4), "collapse threshold 0.01 nats", 10, TEXT_GREY, "rb")
    xs = panel.col(picked.epochs)
    for j in range(picked.kl_history.shape[1]):
        ys = panel.row(np.clip(picked.kl_history[:, j], LINE_FLOOR, None))
        canvas.line(list(zip(xs, ys, strict=True)), color=TAB10_RGB[j % 10], width=2)
    canvas.legend(
        [(f"z{j}", TAB10_RGB[j % 10], "line") for j in range(picked.kl_history.shape[1])],
        (panel.box[2] + 12, panel.box[1] + 20), size=11, anchor="left", title="dim",
    )  # fmt: skip
    return canvas.array()


@lru_cache(maxsize=len(BETA_MODELS))
def collapse_image(names: tuple[str, ...], picked: str) -> np.ndarray:
    """``collapse_figure`` of the shipped KL records, once per process per model (they never
    change): read-only, shared by every visitor."""
    records = [load_kl_record(n) for n in names]
    return frozen(collapse_figure(records, load_kl_record(picked)))


def posterior_collapse(model: str = "beta-vae-10") -> dict:
    """KL per latent dimension across beta, and across epochs for ``model``."""
    name = as_choice(model, "the model", BETA_MODELS)
    picked = load_kl_record(name)
    records, missing = [], []
    for n in BETA_MODELS:
        try:
            records.append(load_kl_record(n))
        except CheckpointError:
            missing.append(n)
    lines = [
        "| model | β | total KL (nats) | active by KL (> 0.01 nats) | collapsed | "
        "active by variance of μ |",
        "|---|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {r.name} | {r.beta:g} | {r.kl_per_dim.sum():.2f} | {r.kl_active_units} "
            f"| {r.collapsed} | {r.variance_active_units} |"
        )
    settled = picked.settled_epochs()
    if settled:
        lo, hi = min(settled), max(settled)
        when = f"epoch {lo}" if lo == hi else f"epochs {lo}–{hi}"
        timing = (
            f"In **{picked.name}**, {picked.collapsed} of {picked.kl_per_dim.size} dimensions end "
            f"collapsed; they stayed below 0.01 nats from {when} on."
        )
    else:
        timing = f"In **{picked.name}**, no dimension ends collapsed."
    note = f"\n\n*Not available yet: {', '.join(missing)}.*" if missing else ""
    summary = (
        "\n".join(lines)
        + "\n\nA dimension is **collapsed** when its average KL is below 0.01 nats: its posterior "
        "is the prior for every digit, so it tells the decoder nothing. " + timing + note
    )
    return {
        "figure": collapse_image(tuple(r.name for r in records), picked.name),
        "summary": summary,
        "numbers": {
            r.name: {
                "beta": r.beta,
                "kl_per_dim": [float(v) for v in r.kl_per_dim],
                "kl_active_units": r.kl_active_units,
                "collapsed_dims": r.collapsed,
                "variance_active_units": r.variance_active_units,
            }
            for r in records
        },
    }
