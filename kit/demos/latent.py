"""Latent space: where AE-2 and VAE-2 put the 10,000 test digits, and what the VAE plane decodes to.

Both models squeeze a digit into a 2-d code z; they differ in what the loss asks of z.

    AE:   loss = ||x - dec(enc(x))||^2 / D
          nothing ties z to any region or scale: codes can sit anywhere, with gaps between
          classes, and a point between the codes decodes to whatever the decoder does there.
    VAE:  loss = E_q[-log p(x|z)] + KL(q(z|x) || N(0, I)),   q(z|x) = N(mu(x), diag sigma^2(x))
          the KL term pulls every posterior towards the prior N(0, I), and decoding *noisy*
          z = mu + sigma * eps forces the decoder to be smooth over a neighbourhood of each
          code, so the codes form a filled cloud centred at 0 of about unit spread.

The VAE's point for a digit is its posterior mean mu(x) (``model.embed``); the AE's is its code.
The summary numbers of a set of codes z_1..z_N (``code_stats``):

    mean, std                 per dimension
    inside [-3, 3]^2          share of codes in the square that holds 99.5% of N(0, I)
    coverage                  share of the cells of a 20 x 20 grid over each model's own
                              [mean - 2 std, mean + 2 std] box that hold >= 1 code: scale-free,
                              so it measures gaps, not size
    TV from N(0, I)           total-variation distance 1/2 sum_c |p_codes(c) - p_prior(c)| over
                              the same 20 x 20 cells of [-3, 3]^2 plus one cell "outside";
                              0 = the codes are spread exactly like the prior, 1 = no overlap

An interpolation decodes z(t) = (1 - t) z_a + t z_b for t = 0, 1/(S-1), ..., 1. Its smoothness is
the mean squared difference per pixel between consecutive frames (mean and max over the S - 1
steps) and the *jump ratio*

    jump = max_k ||f_{k+1} - f_k|| / (||f_S - f_1|| / (S - 1))   >= 1,

the largest single step over the smallest possible largest step (the endpoint change split
evenly): 1 is a perfectly even morph, S - 1 means the whole change happens in one step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import torch

from kit.data import bundled_test_set
from kit.demos.common import (
    DemoInputError,
    as_float,
    as_int,
    get_model,
    grid_display,
    load_test_digit,
    new_figure,
    to_display,
)
from kit.demos.render import figure_to_array, frozen

if TYPE_CHECKING:  # matplotlib loads lazily (kit.demos.common.new_figure)
    from matplotlib.figure import Figure

AE_MODEL = "ae-2"
VAE_MODEL = "vae-2"
LATENT_MODELS = (AE_MODEL, VAE_MODEL)
LABELS = {AE_MODEL: "AE-2 (codes)", VAE_MODEL: "VAE-2 (posterior means)"}

BOX = 3.0  # the [-3, 3]^2 square of the statistics
STAT_BINS = 20  # cells per side of the coverage and TV grids
COVERAGE_STDS = 2.0  # coverage box: each model's mean +- 2 std

GRID_RANGE = (0.5, 5.0)  # allowed half-width r of the decoded lattice [-r, r]^2
GRID_SIZE = (5, 25)  # allowed n of the n x n lattice
GRID_WIDTH_PX = 860  # aim for about this many pixels across the decoded grid

Z_LIMIT = 6.0  # decode_point accepts z1, z2 in [-6, 6]
MAP_EXTENT = 4.0  # the click map shows [-4, 4]^2 (99.97% of N(0, I))
MAP_PX = 480  # the click map is MAP_PX x MAP_PX pixels
POINT_SCALE = 10  # decoded point shown at 280 x 280

STEPS_RANGE = (2, 20)
PATH_WIDTH_PX = 860

# matplotlib's "tab10" palette, one colour per digit, (10, 3) RGB in [0, 1]
TAB10 = (
    np.array(
        [
            [0x1F, 0x77, 0xB4],
            [0xFF, 0x7F, 0x0E],
            [0x2C, 0xA0, 0x2C],
            [0xD6, 0x27, 0x28],
            [0x94, 0x67, 0xBD],
            [0x8C, 0x56, 0x4B],
            [0xE3, 0x77, 0xC2],
            [0x7F, 0x7F, 0x7F],
            [0xBC, 0xBD, 0x22],
            [0x17, 0xBE, 0xCF],
        ]
    )
    / 255.0
)


# ---- the test set in each latent space (user-independent, cached) ----------------------------


@lru_cache(maxsize=len(LATENT_MODELS))
def encoded_test_set(name: str) -> np.ndarray:
    """The 10k bundled test digits embedded by ``name``: (10000, 2) float32, read-only."""
    if name not in LATENT_MODELS:
        raise ValueError(f"no latent codes for model {name!r}")
    with torch.no_grad():
        z = get_model(name).embed(bundled_test_set().as_float())  # (10000, 1, 28, 28) -> (10000, 2)
    z = z.numpy()
    z.setflags(write=False)
    return z


def digit_labels() -> np.ndarray:
    """(10000,) int64 digit labels of the bundled test set."""
    return bundled_test_set().labels.numpy()


@lru_cache(maxsize=1)
def _draw_order() -> np.ndarray:
    """A fixed shuffle of the test set, so no digit class is always drawn on top of the others."""
    return np.random.default_rng(0).permutation(len(digit_labels()))


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(x) / math.sqrt(2.0)))


@dataclass(frozen=True)
class CodeStats:
    """How a set of 2-d codes is spread (see the module docstring)."""

    mean: tuple[float, float]
    std: tuple[float, float]
    inside_box: float
    """Share of codes in [-3, 3]^2."""
    coverage: float
    """Share of the 20 x 20 cells of [mean - 2 std, mean + 2 std] holding at least one code."""
    tv_from_prior: float
    """Total-variation distance between the codes' and N(0, I)'s cell probabilities."""


def code_stats(z: np.ndarray) -> CodeStats:
    """Spread statistics of codes z (N, 2)."""
    mean, std = z.mean(axis=0), z.std(axis=0)  # (2,), (2,)
    inside = np.all(np.abs(z) <= BOX, axis=1)  # (N,)

    # coverage: a 20 x 20 grid over the model's own box mean +- 2 std, cells with >= 1 code
    lo, hi = mean - COVERAGE_STDS * std, mean + COVERAGE_STDS * std
    own, _, _ = np.histogram2d(
        z[:, 0], z[:, 1], bins=STAT_BINS, range=[[lo[0], hi[0]], [lo[1], hi[1]]]
    )

    # TV distance to N(0, I) on the 20 x 20 cells of [-3, 3]^2 plus the outside
    edges = np.linspace(-BOX, BOX, STAT_BINS + 1)
    counts, _, _ = np.histogram2d(z[:, 0], z[:, 1], bins=[edges, edges])
    p_codes = counts / len(z)  # (20, 20)
    p_1d = np.diff(_normal_cdf(edges))  # (20,) N(0, 1) mass per interval
    p_prior = np.outer(p_1d, p_1d)  # (20, 20): N(0, I) factorises over the two axes
    outside = abs(p_codes.sum() - p_prior.sum())  # |(1 - sum p_codes) - (1 - sum p_prior)|
    tv = 0.5 * (np.abs(p_codes - p_prior).sum() + outside)
    return CodeStats(
        mean=(float(mean[0]), float(mean[1])),
        std=(float(std[0]), float(std[1])),
        inside_box=float(inside.mean()),
        coverage=float((own > 0).mean()),
        tv_from_prior=float(tv),
    )


@lru_cache(maxsize=len(LATENT_MODELS))
def encoded_test_set_stats(name: str) -> CodeStats:
    """``code_stats`` of one model's test-set codes (cached per model)."""
    return code_stats(encoded_test_set(name))


# ---- 1. scatter of the codes -------------------------------------------------------------------


def _prior_circles(ax, radii=(1.0, 2.0, 3.0), color="black") -> None:
    """Dashed circles |z| = 1, 2, 3: N(0, I) puts 39%, 86%, 99% of its mass inside them."""
    from matplotlib.patches import Circle

    for r in radii:
        ax.add_patch(Circle((0, 0), r, fill=False, ls="--", lw=0.8, color=color, alpha=0.6))


def scatter_figure() -> Figure:
    """AE-2 and VAE-2 codes of the test set side by side, coloured by digit."""
    from matplotlib.lines import Line2D

    order, labels = _draw_order(), digit_labels()
    colors = TAB10[labels[order]]  # (N, 3)
    fig = new_figure(figsize=(10.5, 4.8), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, name in zip(axes, LATENT_MODELS, strict=True):
        z = encoded_test_set(name)[order]
        ax.scatter(z[:, 0], z[:, 1], c=colors, s=2, linewidths=0, rasterized=True)
        _prior_circles(ax)
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_title(LABELS[name])
        ax.set_xlabel("$z_1$")
        ax.set_ylabel("$z_2$")
    handles = [
        Line2D([], [], ls="", marker="o", markersize=6, color=TAB10[d], label=str(d))
        for d in range(10)
    ]
    handles.append(Line2D([], [], ls="--", color="black", alpha=0.6, label="|z| = 1, 2, 3"))
    fig.legend(handles=handles, loc="outside right center", title="digit", frameon=False)
    return fig


@lru_cache(maxsize=1)
def scatter_image() -> np.ndarray:
    """``scatter_figure`` drawn once per process: (480, 1050, 3) uint8, read-only.

    A picture, not a Figure: an array is immutable once frozen, so every visitor shares it,
    where a shared matplotlib Figure could be drawn by two requests at once.
    """
    return frozen(figure_to_array(scatter_figure()))


def stats_markdown() -> str:
    """A markdown table of ``code_stats`` for both models."""
    lines = [
        "| model | mean $(z_1, z_2)$ | std $(z_1, z_2)$ | codes inside $[-3,3]^2$ "
        "| coverage of own ±2 std box | TV distance from $\\mathcal{N}(0, I)$ |",
        "|---|---|---|---|---|---|",
    ]
    for name in LATENT_MODELS:
        s = encoded_test_set_stats(name)
        lines.append(
            f"| {LABELS[name]} | ({s.mean[0]:.2f}, {s.mean[1]:.2f}) "
            f"| ({s.std[0]:.2f}, {s.std[1]:.2f}) | {s.inside_box:.0%} | {s.coverage:.0%} "
            f"| {s.tv_from_prior:.2f} |"
        )
    ae, vae = encoded_test_set_stats(AE_MODEL), encoded_test_set_stats(VAE_MODEL)
    verdict = (
        f"The VAE's codes sit at mean ≈ 0 with std ≈ 1 and fill {vae.coverage:.0%} of the cells "
        f"of their ±2 std box (the AE's: {ae.coverage:.0%}, with gaps); their distance from "
        f"$\\mathcal{{N}}(0, I)$ is {vae.tv_from_prior:.2f} against the AE's "
        f"{ae.tv_from_prior:.2f}. The AE's scale is arbitrary: only "
        f"{ae.inside_box:.0%} of its codes fall inside $[-3, 3]^2$."
    )
    return "\n".join(lines) + "\n\n" + verdict


def show_scatter() -> dict:
    """The test set in both latent spaces, and the spread statistics."""
    numbers = {
        name: {
            "mean": list(s.mean),
            "std": list(s.std),
            "inside_box": s.inside_box,
            "coverage": s.coverage,
            "tv_from_prior": s.tv_from_prior,
        }
        for name, s in ((n, encoded_test_set_stats(n)) for n in LATENT_MODELS)
    }
    return {"figure": scatter_image(), "summary": stats_markdown(), "numbers": numbers}


# ---- 2. decoded lattice over the VAE plane ---------------------------------------------------


def lattice(r: float, n: int) -> torch.Tensor:
    """An n x n lattice over [-r, r]^2, row-major from the top: (n * n, 2).

    Row i holds z2 = r - 2r i / (n - 1) (row 0 = highest z2, as in a plot); column j holds
    z1 = -r + 2r j / (n - 1).
    """
    z1 = torch.linspace(-r, r, n)  # (n,) left -> right
    z2 = torch.linspace(r, -r, n)  # (n,) top -> bottom
    rows, cols = torch.meshgrid(z2, z1, indexing="ij")  # (n, n) each
    return torch.stack([cols.reshape(-1), rows.reshape(-1)], dim=1)  # (n * n, 2) as (z1, z2)


@torch.no_grad()
def decode_lattice(r: float, n: int) -> torch.Tensor:
    """VAE-2 decodes every lattice point in one batch: (n * n, 2) -> (n * n, 1, 28, 28)."""
    return get_model(VAE_MODEL).decode(lattice(r, n))


def latent_grid(r: float = 3.0, n: int = 15) -> dict:
    """Decode an n x n lattice over [-r, r]^2 of the VAE-2 plane into one picture."""
    r = as_float(r, "the range r", *GRID_RANGE)
    n = as_int(n, "the grid size n", *GRID_SIZE)
    images = decode_lattice(r, n)
    scale = max(1, round(GRID_WIDTH_PX / (29 * n)))
    prior_inside = math.erf(r / math.sqrt(2)) ** 2  # P(|z1| <= r) P(|z2| <= r) under N(0, I)
    summary = (
        f"{n} × {n} decoded points, spacing {2 * r / (n - 1):.2f}. Left → right: $z_1$ from "
        f"{-r:g} to {r:g}; top → bottom: $z_2$ from {r:g} to {-r:g}. The prior "
        f"$\\mathcal{{N}}(0, I)$ puts {prior_inside:.1%} of its samples inside this square."
    )
    return {
        "grid": grid_display(images, nrow=n, scale=scale),
        "summary": summary,
        "numbers": {"r": r, "n": n, "spacing": 2 * r / (n - 1), "prior_mass_inside": prior_inside},
    }


# ---- 3. click (or type) a point and decode it ------------------------------------------------

_PX_PER_UNIT = MAP_PX / (2 * MAP_EXTENT)


def pixel_to_z(x, y) -> tuple[float, float]:
    """Map-image pixel (column x, row y) -> latent point (z1, z2).

    The map spans [-MAP_EXTENT, MAP_EXTENT]^2 edge to edge: column 0 is z1 = -4, row 0 is
    z2 = +4 (up is +z2), and one pixel is 2 * 4 / 480 units. Gradio's ``SelectData.index`` is
    the click position rounded to whole pixels, so the index is read as a position.
    """
    x = as_int(x, "the clicked pixel column", 0, MAP_PX - 1)
    y = as_int(y, "the clicked pixel row", 0, MAP_PX - 1)
    return -MAP_EXTENT + x / _PX_PER_UNIT, MAP_EXTENT - y / _PX_PER_UNIT


def z_to_pixel(z1: float, z2: float) -> tuple[int, int]:
    """Latent point -> nearest map pixel (column, row); the inverse of ``pixel_to_z``."""
    return round((z1 + MAP_EXTENT) * _PX_PER_UNIT), round((MAP_EXTENT - z2) * _PX_PER_UNIT)


@lru_cache(maxsize=1)
def map_image() -> np.ndarray:
    """The VAE-2 codes drawn on [-4, 4]^2 as a (480, 480, 3) uint8 image, read-only.

    The axes fill the whole picture, so pixels map to z linearly (``pixel_to_z``).
    """
    dpi = 100
    fig = new_figure(figsize=(MAP_PX / dpi, MAP_PX / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-MAP_EXTENT, MAP_EXTENT)
    ax.set_ylim(-MAP_EXTENT, MAP_EXTENT)
    ax.set_axis_off()
    for k in range(-int(MAP_EXTENT) + 1, int(MAP_EXTENT)):
        width, shade = (0.9, "0.55") if k == 0 else (0.5, "0.85")
        ax.axhline(k, color=shade, lw=width, zorder=0)
        ax.axvline(k, color=shade, lw=width, zorder=0)
        if k != 0:  # unit ticks written inside the picture, along the z1 = 0 and z2 = 0 axes
            ax.text(k, -0.08, f"{k}", ha="center", va="top", fontsize=7, color="0.35")
            ax.text(0.08, k, f"{k}", ha="left", va="center", fontsize=7, color="0.35")
    ax.text(MAP_EXTENT - 0.1, 0.08, "$z_1$", ha="right", va="bottom", fontsize=9)
    ax.text(0.1, MAP_EXTENT - 0.1, "$z_2$", ha="left", va="top", fontsize=9)
    _prior_circles(ax, color="0.3")

    order, labels = _draw_order(), digit_labels()
    z = encoded_test_set(VAE_MODEL)
    ax.scatter(z[order, 0], z[order, 1], c=TAB10[labels[order]], s=3, linewidths=0, alpha=0.8)
    for d in range(10):  # each digit's label at the median of its codes
        cx, cy = np.median(z[labels == d], axis=0)
        ax.text(
            cx, cy, str(d), ha="center", va="center", fontsize=11, weight="bold", color="white",
            bbox={"boxstyle": "circle,pad=0.12", "fc": TAB10[d], "ec": "white", "alpha": 0.85},
        )  # fmt: skip
    return frozen(figure_to_array(fig))  # (480, 480, 3)


MARK_RGB = (230, 20, 20)


def _mark(image: np.ndarray, x: int, y: int, radius: int = 10) -> np.ndarray:
    """A copy of ``image`` with a red ring (black-edged) and a red centre dot at pixel (x, y)."""
    out = image.copy()
    h, w = out.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    dist = np.sqrt((xx - x) ** 2 + (yy - y) ** 2)  # (h, w) distance of each pixel from (x, y)
    out[np.abs(dist - radius) <= 2.5] = (0, 0, 0)
    out[np.abs(dist - radius) <= 1.2] = MARK_RGB
    out[dist <= 2.0] = MARK_RGB
    return out


@dataclass(frozen=True)
class Neighbour:
    """The test digit whose VAE code lies nearest a point."""

    index: int
    label: int
    distance: float


def nearest_code(z1: float, z2: float) -> Neighbour:
    """The test digit whose VAE-2 code lies closest (Euclidean) to the point (z1, z2)."""
    codes = encoded_test_set(VAE_MODEL)
    d2 = ((codes - np.array([z1, z2], dtype=np.float32)) ** 2).sum(axis=1)  # (10000,)
    i = int(d2.argmin())
    return Neighbour(index=i, label=int(digit_labels()[i]), distance=float(math.sqrt(d2[i])))


def decode_point(z1: float = 0.0, z2: float = 0.0) -> dict:
    """Decode one point z = (z1, z2) of the VAE-2 plane; mark it on the map."""
    z1 = as_float(z1, "the coordinate z1", -Z_LIMIT, Z_LIMIT)
    z2 = as_float(z2, "the coordinate z2", -Z_LIMIT, Z_LIMIT)
    with torch.no_grad():
        image = get_model(VAE_MODEL).decode(torch.tensor([[z1, z2]]))  # (1, 2) -> (1, 1, 28, 28)
    x, y = z_to_pixel(z1, z2)
    on_map = 0 <= x < MAP_PX and 0 <= y < MAP_PX
    radius = math.hypot(z1, z2)
    tail = math.exp(-(radius**2) / 2)  # P(|z| > radius) under N(0, I) in 2-d
    near = nearest_code(z1, z2)
    summary = (
        f"**z = ({z1:.2f}, {z2:.2f})**, distance {radius:.2f} from the origin: the prior "
        f"$\\mathcal{{N}}(0, I)$ draws a point farther out {tail:.1%} of the time. The nearest "
        f"of the 10,000 test codes is a **{near.label}** (test digit {near.index}) at distance "
        f"{near.distance:.2f}."
        + ("" if on_map else " (This point lies outside the map, which shows $[-4, 4]^2$.)")
    )
    return {
        "digit": to_display(image[0, 0], scale=POINT_SCALE),
        "map": _mark(map_image(), x, y) if on_map else map_image().copy(),
        "summary": summary,
        "numbers": {
            "z": [z1, z2],
            "prior_tail": tail,
            "nearest_index": near.index,
            "nearest_label": near.label,
            "nearest_distance": near.distance,
        },
    }


def decode_pixel(x, y) -> dict:
    """Decode the map pixel (x, y): ``decode_point`` at ``pixel_to_z(x, y)``, rounded to 0.01."""
    z1, z2 = pixel_to_z(x, y)
    return {"z1": round(z1, 2), "z2": round(z2, 2), **decode_point(round(z1, 2), round(z2, 2))}


# ---- 4. interpolation between two test digits ------------------------------------------------


@dataclass
class LatentPath:
    """One model's straight-line path between two codes, decoded."""

    name: str
    frames: torch.Tensor
    """(S, 1, 28, 28) decoded images in [0, 1], from digit a to digit b."""
    step_mse: np.ndarray
    """(S - 1,) mean squared difference per pixel between consecutive frames."""
    jump: float
    """Largest step over an even split of the endpoint change (>= 1; see the module docstring)."""


def lerp(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """``steps`` evenly spaced points from a to b: (d,), (d,) -> (steps, d)."""
    t = torch.linspace(0, 1, steps).unsqueeze(1)  # (S, 1)
    return (1 - t) * a + t * b  # z(t) = (1 - t) z_a + t z_b


@torch.no_grad()
def latent_path(name: str, x_a: torch.Tensor, x_b: torch.Tensor, steps: int) -> LatentPath:
    """Embed two digits (1, 1, 28, 28) with ``name``, walk the straight line, decode each point."""
    model = get_model(name)
    z = model.embed(torch.cat([x_a, x_b]))  # (2, 1, 28, 28) -> (2, 2)
    frames = model.decode(lerp(z[0], z[1], steps))  # (S, 2) -> (S, 1, 28, 28)
    flat = frames.flatten(1)  # (S, 784)
    step_mse = ((flat[1:] - flat[:-1]) ** 2).mean(dim=1)  # (S - 1,)
    end_rmse = ((flat[-1] - flat[0]) ** 2).mean().sqrt()  # ||f_S - f_1|| / sqrt(784)
    # jump = max_k ||f_{k+1} - f_k|| / (||f_S - f_1|| / (S - 1)); the 1/sqrt(784) cancels
    jump = float(step_mse.max().sqrt() * (steps - 1) / end_rmse) if end_rmse > 0 else 1.0
    return LatentPath(name=name, frames=frames, step_mse=step_mse.numpy(), jump=jump)


def interpolate(index_a: int = 2, index_b: int = 0, steps: int = 10) -> dict:
    """AE-2 and VAE-2 straight-line paths between test digits a and b, decoded frame by frame."""
    x_a, label_a = load_test_digit(index_a)
    x_b, label_b = load_test_digit(index_b)
    steps = as_int(steps, "the number of steps", *STEPS_RANGE)
    if int(float(index_a)) == int(float(index_b)):
        raise DemoInputError("pick two different test digits to interpolate between")
    paths = {name: latent_path(name, x_a, x_b, steps) for name in LATENT_MODELS}
    scale = max(1, min(4, round(PATH_WIDTH_PX / (29 * steps))))

    rows = [
        "| path | mean step MSE | max step MSE | jump ratio (1 = even morph) |",
        "|---|---|---|---|",
    ]
    for name, p in paths.items():
        rows.append(
            f"| {LABELS[name]} | {p.step_mse.mean():.4f} | {p.step_mse.max():.4f} | {p.jump:.2f} |"
        )
    ae, vae = paths[AE_MODEL], paths[VAE_MODEL]
    smoother = "VAE-2" if vae.jump < ae.jump else "AE-2"
    summary = (
        f"From test digit {int(float(index_a))} (a **{label_a}**) to test digit "
        f"{int(float(index_b))} (a **{label_b}**) in {steps} frames.\n\n"
        + "\n".join(rows)
        + f"\n\nHere the **{smoother}** path is the more even morph (smaller jump ratio; "
        f"{steps - 1} would mean the whole change happens in one step)."
    )
    numbers = {
        name: {
            "step_mse": [float(v) for v in p.step_mse],
            "mean_step_mse": float(p.step_mse.mean()),
            "max_step_mse": float(p.step_mse.max()),
            "jump_ratio": p.jump,
        }
        for name, p in paths.items()
    }
    return {
        "input_a": to_display(x_a[0, 0], scale=4),
        "input_b": to_display(x_b[0, 0], scale=4),
        "ae_path": grid_display(ae.frames, nrow=steps, scale=scale),
        "vae_path": grid_display(vae.frames, nrow=steps, scale=scale),
        "summary": summary,
        "numbers": numbers,
    }
