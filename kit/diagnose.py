"""Your own checkpoint, diagnosed on the bundled 10,000 MNIST test digits.

For a VAE (or CVAE) with posterior q(z|x) = N(mu, diag sigma^2) and prior N(0, I):

    -ELBO(x) = E_q[-log p(x|z)] + KL(q(z|x) || N(0, I))          (recon + KL, nats per image)
    KL_j(x)  = 1/2 (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)        (the KL of dimension j)

averaged over the test set, one z sample per image (``kit.evaluate.evaluate``, seed 0). A
dimension is *active* when its test-set KL_j exceeds ``ACTIVE_UNIT_THRESHOLD`` (0.01) nats, and
separately when Var_x(E_q[z_j]) does (Burda et al.); a dimension below it is collapsed, its
posterior the prior for every digit. Where d = 2, ``kit.evaluate.exact_log_px`` (quadrature,
when the kit has it) gives the true log p(x), which the ELBO bounds from below.

Every figure is put next to the shipped model of the same architecture (``models/``), measured
the same way. An autoencoder gets its mean squared error per pixel and the same pictures.

CLI: ``python -m kit.evaluate PATH`` (a folder or a zip) prints the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from kit.checkpoint_upload import UploadedCheckpoint, read_checkpoint
from kit.data import bundled_test_set
from kit.demos.common import get_model, grid_display
from kit.demos.latent import MAP_EXTENT, MAP_PX, TAB10
from kit.evaluate import ACTIVE_UNIT_THRESHOLD, evaluate
from kit.models import SHIPPED, CheckpointError, ModelConfig

N_SHOWN = 10  # reconstructions: the first test digit of each class
N_SAMPLES = 20  # samples: two rows of ten (a CVAE: labels 0-9 in each row)
SAMPLE_SEED = 0
EXACT_LOG_PX_DIGITS = 100  # exact log p(x) (quadrature) on the first 100 test digits


@dataclass
class ModelReport:
    """One model's test-set figures and pictures."""

    name: str
    """The upload's name, or the shipped checkpoint's (e.g. "vae-2")."""
    config: ModelConfig
    """Its architecture."""
    metrics: dict
    """``kit.evaluate.evaluate`` on the 10k test digits (seed 0): recon, kl, neg_elbo,
    kl_per_dim, active_units (variance sense); mse for an autoencoder."""
    kl_active_units: int | None
    """Dimensions with test-set KL_j > ACTIVE_UNIT_THRESHOLD nats (None for an AE)."""
    reconstructions: np.ndarray
    """uint8 picture: the first test digit of each class, decoded from its posterior mean."""
    samples: np.ndarray | None
    """uint8 picture of decoded z ~ N(0, I) (None for an AE: its code has no prior)."""
    codes: np.ndarray | None
    """(10000, 2) posterior means (AE: codes) when d = 2, else None."""
    exact_log_px: float | None = None
    """Mean exact log p(x) over the first EXACT_LOG_PX_DIGITS test digits (d = 2 VAEs, when
    ``kit.evaluate.exact_log_px`` exists), nats; else None."""
    elbo_on_exact_digits: float | None = None
    """Mean ELBO over those same digits (one z sample each), to set beside ``exact_log_px``."""


@dataclass
class Diagnosis:
    """What ``diagnose`` finds: the upload's report, the shipped twin's, and the verdicts."""

    upload: ModelReport
    """The uploaded model."""
    shipped: ModelReport | None
    """The shipped model of the same architecture, measured the same way (None if none)."""
    warnings: list[str] = field(default_factory=list)
    """Sentences such as the posterior-collapse warning."""
    scatter: np.ndarray | None = None
    """(480, 480, 3) uint8 latent scatter of the upload's test codes (d = 2), else None."""


# ---- measurements ----------------------------------------------------------------------------


def _first_of_each_class() -> list[int]:
    labels = bundled_test_set().labels.numpy()
    return [int(np.flatnonzero(labels == d)[0]) for d in range(10)]


@torch.no_grad()
def _pictures(model, config: ModelConfig) -> tuple[np.ndarray, np.ndarray | None]:
    digits = bundled_test_set()
    idx = torch.tensor(_first_of_each_class())
    x = digits.as_float(idx)  # (10, 1, 28, 28)
    y = digits.labels[idx]
    recon = model.reconstruct(x, y if config.kind == "cvae" else None)  # (10, 1, 28, 28)
    recon_pic = grid_display(torch.cat([x, recon]), nrow=N_SHOWN)
    if config.kind == "ae":
        return recon_pic, None
    gen = torch.Generator().manual_seed(SAMPLE_SEED)
    z = torch.randn(N_SAMPLES, config.latent_dim, generator=gen)  # z ~ N(0, I), (20, d)
    labels = torch.arange(N_SAMPLES) % 10 if config.kind == "cvae" else None
    samples = model.decode(z, labels)  # (20, 1, 28, 28)
    return recon_pic, grid_display(samples, nrow=10)


@torch.no_grad()
def _codes(model, config: ModelConfig) -> np.ndarray | None:
    if config.latent_dim != 2:
        return None
    digits = bundled_test_set()
    y = digits.labels if config.kind == "cvae" else None
    return model.embed(digits.as_float(), y).numpy()  # (10000, 1, 28, 28) -> (10000, 2)


def _exact_log_px_hook():
    """``kit.evaluate.exact_log_px(model, x, y=None)`` -> (B,) log p(x), if the kit has it."""
    try:
        from kit.evaluate import exact_log_px
    except ImportError:
        return None
    return exact_log_px


@torch.no_grad()
def _exact(model, config: ModelConfig) -> tuple[float | None, float | None]:
    exact = _exact_log_px_hook()
    if exact is None or config.kind == "ae" or config.latent_dim != 2:
        return None, None
    digits = bundled_test_set()
    part = slice(0, EXACT_LOG_PX_DIGITS)
    x, y = digits.as_float(part), digits.labels[part]
    y = y if config.kind == "cvae" else None
    log_px = exact(model, x, y)  # (B,) nats
    gen = torch.Generator().manual_seed(SAMPLE_SEED)
    parts = model.loss(x, y, generator=gen).parts
    elbo = -(parts["recon"] + parts["kl"])  # ELBO = -(recon + KL), (B,)
    return float(log_px.mean()), float(elbo.mean())


def report(name: str, model, config: ModelConfig) -> ModelReport:
    """``model``'s figures on the bundled test digits."""
    metrics = evaluate(model, bundled_test_set(), seed=0)
    kl_active = None
    if "kl_per_dim" in metrics:
        kl_active = int(sum(k > ACTIVE_UNIT_THRESHOLD for k in metrics["kl_per_dim"]))
    recon, samples = _pictures(model, config)
    exact, elbo = _exact(model, config)
    return ModelReport(
        name=name,
        config=config,
        metrics=metrics,
        kl_active_units=kl_active,
        reconstructions=recon,
        samples=samples,
        codes=_codes(model, config),
        exact_log_px=exact,
        elbo_on_exact_digits=elbo,
    )


def same_shape_shipped(config: ModelConfig) -> str | None:
    """The shipped checkpoint with this architecture (kind, d, widths), nearest in beta."""
    same = []
    for name in SHIPPED:
        try:
            c = get_model(name).config
        except CheckpointError:  # a shipped model missing here just means "no twin"
            continue
        if (c.kind, c.latent_dim, list(c.hidden)) == (
            config.kind,
            config.latent_dim,
            list(config.hidden),
        ):
            same.append((abs(math.log1p(c.beta) - math.log1p(config.beta)), name))
    return min(same)[1] if same else None


@lru_cache(maxsize=len(SHIPPED))
def shipped_report(name: str) -> ModelReport:
    """The shipped model's report (computed once per process: the same for every visitor)."""
    model = get_model(name)
    return report(name, model, model.config)


def collapse_warnings(rep: ModelReport) -> list[str]:
    """Sentences on collapsed dimensions (test-set KL_j below the threshold)."""
    kl = rep.metrics.get("kl_per_dim")
    if kl is None:
        return []
    d = len(kl)
    dead = [j for j, k in enumerate(kl) if k <= ACTIVE_UNIT_THRESHOLD]
    if len(dead) == d:
        return [
            f"Posterior collapse: all {d} latent dimensions have KL below "
            f"{ACTIVE_UNIT_THRESHOLD} nats, so q(z|x) is the prior for every digit and the "
            "decoder ignores z (it draws one average digit)."
        ]
    if dead:
        listed = ", ".join(f"z{j + 1}" for j in dead[:12])
        return [
            f"Partial posterior collapse: {len(dead)} of {d} dimensions ({listed}) carry "
            f"under {ACTIVE_UNIT_THRESHOLD} nats each; the model uses only {d - len(dead)}."
        ]
    return []


def diagnose(upload) -> Diagnosis:
    """Read, validate and measure an uploaded checkpoint (see ``kit.checkpoint_upload``)."""
    ckpt: UploadedCheckpoint = read_checkpoint(upload)
    mine = report(ckpt.name, ckpt.model, ckpt.config)
    twin = same_shape_shipped(ckpt.config)
    result = Diagnosis(
        upload=mine,
        shipped=shipped_report(twin) if twin else None,
        warnings=collapse_warnings(mine),
    )
    if mine.codes is not None:
        result.scatter = scatter_image(mine.codes, bundled_test_set().labels.numpy())
    return result


# ---- pictures and text -----------------------------------------------------------------------


def scatter_image(codes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N, 2) codes drawn as 2x2-pixel dots coloured by digit, as a (480, 480, 3) uint8 image.

    The frame is the latent map's: [-4, 4]^2 over 480 x 480 pixels, the pixel mapping of
    ``kit.demos.latent.z_to_pixel`` (column = (z1 + 4) * 60, row = (4 - z2) * 60).
    """
    img = np.full((MAP_PX, MAP_PX, 3), 255, dtype=np.uint8)
    px = MAP_PX / (2 * MAP_EXTENT)
    mid = MAP_PX // 2
    img[mid, :] = img[:, mid] = 160  # the axes z2 = 0 and z1 = 0
    col = np.rint((codes[:, 0] + MAP_EXTENT) * px).astype(int)  # (N,)
    row = np.rint((MAP_EXTENT - codes[:, 1]) * px).astype(int)  # (N,)
    colours = (np.asarray(TAB10) * 255).astype(np.uint8)[labels]  # (N, 3)
    order = np.random.default_rng(0).permutation(len(codes))  # no class always on top
    for dr in (0, 1):
        for dc in (0, 1):
            r, c = row[order] + dr, col[order] + dc
            ok = (r >= 0) & (r < MAP_PX) & (c >= 0) & (c < MAP_PX)
            img[r[ok], c[ok]] = colours[order][ok]
    return img


def _fmt(x) -> str:
    return "–" if x is None else f"{x:.2f}"


def summary_markdown(d: Diagnosis) -> str:
    """The numbers as a markdown table, upload beside the shipped twin."""
    a, b = d.upload, d.shipped
    cfg = a.config
    head = (
        f"**{a.name}**: a {cfg.kind.upper()} with d = {cfg.latent_dim}, hidden "
        f"{cfg.hidden}, β = {cfg.beta:g}; measured on the {a.metrics['n_images']:,} test digits "
        "(one z sample each, seed 0)."
    )
    other = b.name if b else "no shipped model has this shape"
    rows = [f"| | your model | shipped ({other}) |", "|---|---|---|"]

    def row(label, key):
        mine = a.metrics.get(key)
        theirs = b.metrics.get(key) if b else None
        rows.append(f"| {label} | {_fmt(mine)} | {_fmt(theirs)} |")

    if cfg.kind == "ae":
        row("MSE per pixel", "mse")
    else:
        row("test −ELBO (nats)", "neg_elbo")
        row("  reconstruction E_q[−log p(x|z)]", "recon")
        row("  KL(q(z|x) ‖ p(z))", "kl")
        theirs = b.kl_active_units if b else None
        rows.append(
            f"| active dimensions (KL_j > {ACTIVE_UNIT_THRESHOLD}) | {a.kl_active_units} of "
            f"{cfg.latent_dim} | {'–' if theirs is None else theirs} |"
        )
        theirs = b.metrics["active_units"] if b else None
        rows.append(
            f"| active dimensions (Var_x E[z_j] > {ACTIVE_UNIT_THRESHOLD}) | "
            f"{a.metrics['active_units']} | {'–' if theirs is None else theirs} |"
        )
        if a.exact_log_px is not None:
            rows.append(
                f"| exact log p(x), first {EXACT_LOG_PX_DIGITS} digits | {_fmt(a.exact_log_px)} "
                f"| {_fmt(b.exact_log_px if b else None)} |"
            )
            rows.append(
                f"| ELBO on the same digits | {_fmt(a.elbo_on_exact_digits)} | "
                f"{_fmt(b.elbo_on_exact_digits if b else None)} |"
            )
    text = [head, "", *rows]
    if "kl_per_dim" in a.metrics:
        per = ", ".join(f"z{j + 1}: {k:.2f}" for j, k in enumerate(a.metrics["kl_per_dim"]))
        text += ["", f"KL per dimension (nats): {per}"]
    text += [f"\n**Warning.** {w}" for w in d.warnings]
    return "\n".join(text)


def summary_text(d: Diagnosis) -> str:
    """The same figures as plain text for the terminal."""
    return summary_markdown(d).replace("**", "").replace("|---|---|---|\n", "")


def main(argv: list[str] | None = None) -> int:
    """``python -m kit.evaluate PATH``: print the diagnosis; exit 2 with a sentence if refused."""
    import argparse
    import sys

    from kit.checkpoint_upload import CheckpointRefused

    parser = argparse.ArgumentParser(
        prog="python -m kit.evaluate",
        description="Diagnose a checkpoint (folder or zip of config.json + model.safetensors) "
        "on the bundled MNIST test digits.",
    )
    parser.add_argument("path", help="a checkpoint folder, a .zip, or a shipped name (vae-2)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    path = args.path
    if path in SHIPPED:
        from kit.models import default_models_dir

        path = str(default_models_dir() / path)  # a shipped folder is read like any upload
    try:
        result = diagnose(path)
    except CheckpointRefused as err:
        print(f"{args.path}: refused: {err}", file=sys.stderr)
        return 2
    print(summary_text(result))
    return 0
