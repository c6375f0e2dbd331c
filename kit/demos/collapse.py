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

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from kit.demos.common import as_choice, new_figure
from kit.evaluate import ACTIVE_UNIT_THRESHOLD as COLLAPSE_THRESHOLD  # nats, per dimension
from kit.models import BETA_MODELS, CheckpointError, TrainingRecord, read_training_record

if TYPE_CHECKING:  # matplotlib loads lazily (kit.demos.common.new_figure)
    from matplotlib.figure import Figure


KLRecord = TrainingRecord  # the shared record of kit.models, under this demo's old name


@lru_cache(maxsize=16)
def load_kl_record(name: str) -> TrainingRecord:
    """The KL numbers of a finished checkpoint (cached; raises ``CheckpointError``)."""
    return read_training_record(name)


def _figure(records: list[KLRecord], picked: KLRecord) -> Figure:
    fig = new_figure(figsize=(10.5, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.3])
    vmin = np.log10(1e-3)
    vmax = max(np.log10(max(r.kl_per_dim.max(), r.kl_history.max(), 1e-3)) for r in records)

    # across beta: rows = models, columns = latent dimensions, colour = log10 KL_j
    grid = np.log10(np.clip(np.stack([r.kl_per_dim for r in records]), 1e-3, None))  # (B, d)
    im = left.imshow(grid, aspect="auto", cmap="magma", vmin=vmin, vmax=vmax)
    for i, r in enumerate(records):
        for j, v in enumerate(r.kl_per_dim):
            left.text(
                j,
                i,
                f"{v:.2f}" if v >= COLLAPSE_THRESHOLD else "off",
                ha="center",
                va="center",
                fontsize=6.5,
                color="white" if np.log10(max(v, 1e-3)) < vmax - 0.8 else "black",
            )
    left.set_yticks(range(len(records)), [f"β = {r.beta:g}" for r in records])
    left.set_xticks(range(grid.shape[1]))
    left.set_xlabel("latent dimension j")
    left.set_title("KL per dimension at the end of training (nats)", fontsize=10)

    # across epochs for the picked model: one line per dimension
    for j in range(picked.kl_history.shape[1]):
        right.plot(
            picked.epochs, np.clip(picked.kl_history[:, j], 1e-4, None), lw=1.3, label=f"z{j}"
        )
    right.axhline(COLLAPSE_THRESHOLD, color="grey", ls="--", lw=1)
    right.text(
        picked.epochs[-1],
        COLLAPSE_THRESHOLD * 1.3,
        "collapse threshold 0.01 nats",
        fontsize=7,
        color="grey",
        ha="right",
    )
    right.set_yscale("log")
    right.set_xlabel("epoch")
    right.set_ylabel("KL_j on the test set (nats, floor 1e-4)")
    right.set_title(f"{picked.name} (β = {picked.beta:g}) during training", fontsize=10)
    right.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), title="dim")
    fig.colorbar(im, ax=left, label="log10 KL_j", shrink=0.9)
    return fig


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
        "figure": _figure(records, picked),
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
