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
from typing import TYPE_CHECKING

import numpy as np

from kit.demos.common import as_choice, new_figure
from kit.demos.registry import DemoSpec
from kit.demos.render import figure_to_array, frozen

if TYPE_CHECKING:  # matplotlib loads lazily (kit.demos.common.new_figure)
    from matplotlib.figure import Figure
from kit.models import CheckpointError, read_training_record

BETA_MODELS = ("beta-vae-0.5", "beta-vae-1", "beta-vae-4", "beta-vae-10")
COLLAPSE_THRESHOLD = 0.01  # nats: a dimension with average KL below this carries ~nothing


@dataclass(frozen=True)
class KLRecord:
    """What one checkpoint's training files say about its latent dimensions."""

    name: str
    """Checkpoint name, e.g. "beta-vae-4"."""
    beta: float
    """The KL weight it was trained with."""
    kl_per_dim: np.ndarray
    """(d,) average KL_j on the test set at the end of training, nats."""
    variance_active_units: int
    """metrics.json "active_units": dims whose posterior mean varies, Var_x(E_q[z_j]) > 0.01."""
    epochs: np.ndarray
    """(E,) epoch numbers of the history."""
    kl_history: np.ndarray
    """(E, d) average KL_j on the test set after each epoch."""

    @property
    def kl_active_units(self) -> int:
        return int((self.kl_per_dim > COLLAPSE_THRESHOLD).sum())

    @property
    def collapsed(self) -> int:
        return int((self.kl_per_dim < COLLAPSE_THRESHOLD).sum())

    def settled_epochs(self) -> list[int]:
        """For each collapsed dimension, the epoch from which its KL stayed below the threshold."""
        out = []
        for j in np.flatnonzero(self.kl_per_dim < COLLAPSE_THRESHOLD):
            above = np.flatnonzero(self.kl_history[:, j] >= COLLAPSE_THRESHOLD)  # epochs "on"
            if above.size == 0:
                out.append(int(self.epochs[0]))
            elif above[-1] + 1 < len(self.epochs):
                out.append(int(self.epochs[above[-1] + 1]))
        return out


@lru_cache(maxsize=16)
def load_kl_record(name: str) -> KLRecord:
    """The KL numbers of a finished checkpoint (cached; raises ``CheckpointError``)."""
    folder, metrics, rows = read_training_record(name)
    try:
        test = metrics["test"]
        kl = np.asarray(test["kl_per_dim"], dtype=float)  # (d,)
        beta = float(metrics["model_config"]["beta"])
        epochs = np.array([int(h["epoch"]) for h in rows])  # (E,)
        kl_hist = np.array([h["test_kl_per_dim"] for h in rows], dtype=float)  # (E, d)
        active = int(test["active_units"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{folder}: metrics/history lack the KL numbers ({err!r})") from None
    return KLRecord(name, beta, kl, active, epochs, kl_hist.reshape(len(epochs), kl.size))


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


@lru_cache(maxsize=len(BETA_MODELS))
def collapse_image(names: tuple[str, ...], picked: str) -> np.ndarray:
    """``_figure`` of the shipped KL records as (H, W, 3) uint8, drawn once per process per
    model (four pictures in all): read-only, shared by every visitor."""
    records = [load_kl_record(n) for n in names]
    return frozen(figure_to_array(_figure(records, load_kl_record(picked))))


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


DEMOS = [
    DemoSpec(
        id="under_the_hood.posterior_collapse",
        tab="under_the_hood",
        api_name="posterior_collapse",
        fn=posterior_collapse,
        defaults={"model": "beta-vae-10"},
        summary="KL per latent dimension across β and across training epochs: larger β switches more dimensions off.",
    ),
]
