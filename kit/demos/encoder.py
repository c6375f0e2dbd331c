"""See the encoder think: q(z|x) for one input, drawn on the latent map, and paths between codes.

For an input x (a test digit, a drawing, an upload) the encoder gives a diagonal Gaussian

    q(z|x) = N(mu(x), diag sigma(x)^2)        (VAE-2; the CVAE-2 conditions on a label y too)

drawn on the 2-D map as its 1-sigma and 2-sigma ellipses, {z : sum_j ((z_j - mu_j) / sigma_j)^2
= k^2}, k = 1, 2 (axis-aligned: the covariance is diagonal). One sample is drawn with the
reparameterization z = mu + sigma * eps, eps = randn(d) from a ``torch.Generator`` seeded with
the shown seed, so the same seed always gives the same z. For this x and this z:

    recon   = -log p(x|z) = BCE(decoder_logits(z), x)        (one-sample estimate, nats)
    KL      = sum_j 1/2 (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)   (closed form, nats)
    -ELBO  ~= recon + KL

With the label left on "auto" the CVAE uses the label whose deterministic ELBO (z = mu) is the
highest, i.e. the label that explains the input best.

Paths between two codes z_a, z_b (of random test digits of two chosen classes):

    linear:    z(t) = (1 - t) z_a + t z_b
    spherical: z(t) = sin((1 - t) W) / sin W * z_a + sin(t W) / sin W * z_b,
               cos W = z_a . z_b / (|z_a| |z_b|)                  (slerp, White 2016)

with the prior log-density log N(z(t); 0, I) = -d/2 log 2 pi - |z(t)|^2 / 2 along each: in 10
dimensions a straight line cuts through the low-norm centre, where almost no code lies (the
typical |z| is about sqrt(d)), while the spherical path keeps the norm.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from kit.data import bundled_test_set
from kit.demos.common import (
    as_choice,
    as_float,
    as_int,
    get_model,
    grid_display,
    load_test_digit,
    random_index,
    to_display,
)
from kit.demos.errors import DemoInputError
from kit.demos.latent import MAP_EXTENT, MAP_PX, Z_LIMIT, map_image, z_to_pixel
from kit.losses import bce_reconstruction
from kit.preprocess import SIZE, ink_to_mnist, load_image_file, to_mnist_digit

ENCODER_MODELS = ("vae-2", "cvae-2")
LABEL_CHOICES = ("auto", *map(str, range(10)))
PATH_MODELS = ("vae-2", "beta-vae-0.5", "beta-vae-1", "beta-vae-4", "beta-vae-10")
PATH_STEPS = (3, 16)
MAX_SEED = 2**31 - 1
CANVAS_VALUES = SIZE * SIZE  # the page's drawing canvas sends 28 x 28 ink values
MAX_CANVAS_CHARS = 16 * CANVAS_VALUES  # "0.125," is 6: room for longer numbers, no more
_CANVAS_NUMBER = re.compile(r"\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*")
ELLIPSE_RGB = {1: (20, 20, 20), 2: (90, 90, 90)}  # the 1-sigma ring darker than the 2-sigma
SAMPLE_RGB = (230, 20, 20)
MEAN_RGB = (20, 20, 230)


@dataclass(frozen=True)
class Encoding:
    """One input through the encoder, one reparameterized sample, and its ELBO split."""

    mu: np.ndarray
    """(d,) posterior mean."""
    sigma: np.ndarray
    """(d,) posterior standard deviation exp(logvar / 2)."""
    eps: np.ndarray
    """(d,) the standard-normal draw of this seed."""
    z: np.ndarray
    """(d,) the sample z = mu + sigma * eps."""
    label: int | None
    """The CVAE's condition (None for the VAE)."""
    recon: float
    """-log p(x|z) for the sampled z, nats."""
    kl: float
    """KL(q(z|x) || N(0, I)), nats (closed form)."""
    mean_image: torch.Tensor
    """(1, 1, 28, 28) decoded mu."""
    sample_image: torch.Tensor
    """(1, 1, 28, 28) decoded z."""


def eps_for_seed(seed: int, d: int) -> torch.Tensor:
    """The standard-normal eps (1, d) a seed gives: ``torch.randn`` from a seeded Generator."""
    return torch.randn(1, d, generator=torch.Generator().manual_seed(int(seed)))


def _label_tensor(label: int | None) -> torch.Tensor | None:
    return None if label is None else torch.tensor([label])


@torch.no_grad()
def best_label(model, x: torch.Tensor) -> int:
    """The label whose deterministic ELBO (z = mu) is highest for ``x``: argmin_y recon + KL."""
    xs = x.expand(10, -1, -1, -1)  # (10, 1, 28, 28)
    ys = torch.arange(10)
    post = model.encode(xs, ys)
    neg_elbo = bce_reconstruction(model.decode_logits(post.mu, ys), xs) + post.kl()  # (10,)
    return int(neg_elbo.argmin())


@torch.no_grad()
def encode(x: torch.Tensor, model_name: str, label, seed: int) -> Encoding:
    """``x`` (1, 1, 28, 28) through ``model_name``'s encoder; z from ``seed``'s eps."""
    model = get_model(model_name)
    y = None
    if model_name == "cvae-2":
        y = best_label(model, x) if str(label) == "auto" else int(label)
    yt = _label_tensor(y)
    post = model.encode(x, yt)
    eps = eps_for_seed(seed, post.mu.shape[1])
    z = post.mu + post.std * eps  # z = mu + sigma * eps, (1, d)
    logits = model.decode_logits(z, yt)
    return Encoding(
        mu=post.mu[0].numpy(),
        sigma=post.std[0].numpy(),
        eps=eps[0].numpy(),
        z=z[0].numpy(),
        label=y,
        recon=float(bce_reconstruction(logits, x)[0]),
        kl=float(post.kl()[0]),
        mean_image=model.decode(post.mu, yt),
        sample_image=torch.sigmoid(logits),
    )


# ---- the map ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def cvae_map_image() -> np.ndarray:
    """The CVAE-2's test codes (each with its own label) on [-4, 4]^2, (480, 480, 3) uint8."""
    from kit.diagnose import scatter_image

    digits = bundled_test_set()
    with torch.no_grad():
        z = get_model("cvae-2").embed(digits.as_float(), digits.labels).numpy()  # (10000, 2)
    img = scatter_image(z, digits.labels.numpy())
    img.setflags(write=False)
    return img


def base_map(model_name: str) -> np.ndarray:
    """The read-only map the posterior is drawn on: VAE-2's, or the CVAE-2's test codes."""
    return map_image() if model_name == "vae-2" else cvae_map_image()


def _window(cx: float, cy: float, rx: float, ry: float, h: int, w: int):
    """The pixels within rx, ry of (cx, cy), clipped to an h x w image: (row slice, column
    slice, their row and column coordinates as an ``np.ogrid``), or None when none is inside."""
    x0, x1 = max(0, math.floor(cx - rx) - 1), min(w, math.ceil(cx + rx) + 2)
    y0, y1 = max(0, math.floor(cy - ry) - 1), min(h, math.ceil(cy + ry) + 2)
    if x0 >= x1 or y0 >= y1:
        return None
    yy, xx = np.ogrid[y0:y1, x0:x1]
    return slice(y0, y1), slice(x0, x1), yy, xx


def draw_posterior(base: np.ndarray, enc: Encoding) -> np.ndarray:
    """A copy of ``base`` with the 1- and 2-sigma ellipses of q(z|x), mu (blue) and z (red).

    Each ring and dot is computed only over the pixels that can hold it (a window around it),
    not the whole 480 x 480 map: the drawing reruns on every stroke.
    """
    out = base.copy()
    h, w = out.shape[:2]
    px = MAP_PX / (2 * MAP_EXTENT)  # pixels per latent unit, as in z_to_pixel
    cx, cy = z_to_pixel(float(enc.mu[0]), float(enc.mu[1]))
    for k in (2, 1):
        a = max(k * float(enc.sigma[0]) * px, 1.5)  # semi-axes in pixels
        b = max(k * float(enc.sigma[1]) * px, 1.5)
        reach = 1.0 + 1.3 / min(a, b)  # the ring's pixels have r <= reach
        win = _window(cx, cy, a * reach, b * reach, h, w)
        if win is None:
            continue
        rows, cols, yy, xx = win
        r = np.sqrt(((xx - cx) / a) ** 2 + ((yy - cy) / b) ** 2)  # 1 on the ellipse
        ring = np.abs(r - 1.0) * min(a, b) <= 1.3  # about 2.6 px thick
        out[rows, cols][ring] = ELLIPSE_RGB[k]
    for (zx, zy), rgb, radius in (
        (enc.mu, MEAN_RGB, 4),
        (enc.z, SAMPLE_RGB, 5),
    ):
        x, y = z_to_pixel(float(zx), float(zy))
        win = _window(x, y, radius, radius, h, w)
        if win is None:
            continue
        rows, cols, yy, xx = win
        out[rows, cols][(xx - x) ** 2 + (yy - y) ** 2 <= radius**2] = rgb
    return out


# ---- the demos -------------------------------------------------------------------------------


def _check(model: str, label, seed) -> tuple[str, str, int]:
    model = as_choice(model, "the model", ENCODER_MODELS)
    label = as_choice(label, "the label", LABEL_CHOICES)
    seed = as_int(seed, "the seed", 0, MAX_SEED)
    return model, label, seed


def encoder_outputs(x: torch.Tensor, model: str, label, seed: int, title: str) -> dict:
    """The named outputs of every encoder-view demo for input ``x`` (1, 1, 28, 28)."""
    enc = encode(x, model, label, seed)
    mu, sigma, eps, z = (
        np.round(v.astype(float), 4).tolist() for v in (enc.mu, enc.sigma, enc.eps, enc.z)
    )
    cond = "" if enc.label is None else f" given the label **{enc.label}**"
    summary = (
        f"{title}{cond}: $\\mu = ({mu[0]:.2f}, {mu[1]:.2f})$, "
        f"$\\sigma = ({sigma[0]:.3f}, {sigma[1]:.3f})$. Seed **{seed}** gives "
        f"$\\epsilon = ({eps[0]:.2f}, {eps[1]:.2f})$, so $z = \\mu + \\sigma\\epsilon = "
        f"({z[0]:.2f}, {z[1]:.2f})$ (red; blue is $\\mu$; rings: 1σ and 2σ).\n\n"
        f"For this input and this $z$: reconstruction $-\\log p(x\\mid z)$ = **{enc.recon:.1f}** "
        f"nats, KL = **{enc.kl:.2f}** nats, $-$ELBO ≈ **{enc.recon + enc.kl:.1f}** nats."
    )
    return {
        "input": to_display(x),
        "map": draw_posterior(base_map(model), enc),
        "mean_decoded": to_display(enc.mean_image),
        "sample_decoded": to_display(enc.sample_image),
        "summary": summary,
        "numbers": {
            "model": model,
            "label": enc.label,
            "seed": seed,
            "mu": mu,
            "sigma": sigma,
            "eps": eps,
            "z": z,
            "recon": round(enc.recon, 4),
            "kl": round(enc.kl, 4),
            "neg_elbo": round(enc.recon + enc.kl, 4),
        },
    }


def encode_test_digit(index: int = 0, model: str = "vae-2", label="auto", seed: int = 0) -> dict:
    """One test digit through the encoder: mu, sigma, the ellipses, z for this seed, decodes."""
    model, label, seed = _check(model, label, seed)
    x, true_label = load_test_digit(index)
    return encoder_outputs(x, model, label, seed, f"Test digit {index} (a {true_label})")


def canvas_value(ink) -> str:
    """A (28, 28) ink array in [0, 1] as the page's canvas sends it: "[v0,v1,...]", row-major,
    three decimals (for tests and API callers; the page's script writes the same text)."""
    flat = np.clip(np.asarray(ink, dtype=np.float64).reshape(CANVAS_VALUES), 0.0, 1.0)
    return "[" + ",".join(f"{v:.3f}".rstrip("0").rstrip(".") for v in flat) + "]"


def canvas_ink(value) -> np.ndarray:
    """The canvas's drawing -> (28, 28) ink in [0, 1], checked before use.

    ``value`` is the text the page sends ("[v0,...,v783]": 784 plain numbers from 0 to 1, the
    28 x 28 ink of the strokes, row-major, cropped around them) or the same numbers as a list.
    The text is bounded (``MAX_CANVAS_CHARS``) before it is split, and each number must be a
    plain decimal (no NaN, no infinity) within [0, 1]; anything else is a
    ``DemoInputError`` that says what is expected.
    """
    expected = f"a list of {CANVAS_VALUES} numbers from 0 to 1 (28 x 28 ink values)"
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_CANVAS_CHARS:
            raise DemoInputError(f"the drawing must be {expected}; got {len(text):,} characters")
        if not (text.startswith("[") and text.endswith("]")):
            raise DemoInputError(f"the drawing must be {expected}, written as [v0, v1, ...]")
        items = text[1:-1].split(",")
        if len(items) != CANVAS_VALUES:
            raise DemoInputError(f"the drawing must be {expected}; got {len(items)} values")
        if not all(_CANVAS_NUMBER.fullmatch(item) for item in items):
            raise DemoInputError(f"the drawing must be {expected}; one value is not a number")
        values = [float(item) for item in items]
    elif isinstance(value, (list, tuple)):
        if len(value) != CANVAS_VALUES:
            raise DemoInputError(f"the drawing must be {expected}; got {len(value)} values")
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
            raise DemoInputError(f"the drawing must be {expected}; one value is not a number")
        values = [float(v) for v in value]
    else:
        raise DemoInputError(f"the drawing must be {expected}")
    ink = np.asarray(values, dtype=np.float64)
    if not np.isfinite(ink).all() or ink.min() < 0.0 or ink.max() > 1.0:
        raise DemoInputError(f"the drawing must be {expected}; a value is outside [0, 1]")
    return ink.reshape(SIZE, SIZE)


def drawing_digit(drawing) -> torch.Tensor:
    """The drawing as the encoder's input (1, 1, 28, 28): the canvas's 784 values (text or
    list), or, from Python, a sketchpad value or an image array, preprocessed like MNIST."""
    if drawing is None or (isinstance(drawing, str) and not drawing.strip()):
        raise DemoInputError("the canvas is empty: draw a digit first")
    if isinstance(drawing, (str, list, tuple)):
        return ink_to_mnist(canvas_ink(drawing))
    return to_mnist_digit(drawing)


def encode_drawing(drawing=None, model: str = "vae-2", label="auto", seed: int = 0) -> dict:
    """Your drawing, preprocessed like MNIST, through the encoder (as it changes)."""
    model, label, seed = _check(model, label, seed)
    return encoder_outputs(drawing_digit(drawing), model, label, seed, "Your drawing")


def encode_upload(path=None, model: str = "vae-2", label="auto", seed: int = 0) -> dict:
    """An uploaded image (checked, then preprocessed like MNIST) through the encoder."""
    model, label, seed = _check(model, label, seed)
    if path is None:
        raise DemoInputError("upload an image of one digit first")
    x = to_mnist_digit(load_image_file(path))
    return encoder_outputs(x, model, label, seed, "Your image")


# ---- paths between two classes -----------------------------------------------------------------


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of (d,) vectors at times t (T,) -> (T, d); linear if parallel."""
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))  # the angle W between a and b
    t = t[:, None]  # (T, 1)
    if float(torch.sin(omega)) < 1e-6:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def prior_log_density(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) = -d/2 log(2 pi) - |z|^2 / 2: (T, d) -> (T,)."""
    d = z.shape[-1]
    return -0.5 * d * math.log(2 * math.pi) - 0.5 * (z**2).sum(-1)


def class_path(
    model: str = "beta-vae-1", class_a: str = "3", class_b: str = "8", steps: int = 8, seed: int = 0
) -> dict:
    """A random test digit of one class to a random one of another, linearly and spherically."""
    model = as_choice(model, "the model", PATH_MODELS)
    a_cls = int(as_choice(class_a, "the first class", range(10)))
    b_cls = int(as_choice(class_b, "the second class", range(10)))
    steps = as_int(steps, "the number of steps", *PATH_STEPS)
    seed = as_int(seed, "the seed", 0, MAX_SEED)
    rng = np.random.default_rng(seed)
    ia, ib = random_index(a_cls, rng), random_index(b_cls, rng)
    digits = bundled_test_set()
    net = get_model(model)
    with torch.no_grad():
        za = net.embed(digits.as_float(slice(ia, ia + 1)))[0]  # (d,)
        zb = net.embed(digits.as_float(slice(ib, ib + 1)))[0]
    walk = two_paths(net, za, zb, steps)
    d = za.shape[0]
    summary = (
        f"{model}: test digit {ia} (a {a_cls}) to test digit {ib} (a {b_cls}) in d = {d}. Top "
        f"row linear, bottom row spherical. A typical code of N(0, I) has ‖z‖ ≈ √d = "
        f"{math.sqrt(d):.2f}; a straight line between two codes dips below it in the middle.\n\n"
        + walk["table"]
    )
    return {
        "paths": walk["paths"],
        "summary": summary,
        "numbers": {"index_a": ia, "index_b": ib, **walk["numbers"]},
    }


def _rounded(values) -> list[float]:
    return [round(float(v), 4) for v in values]


def two_paths(
    net, za: torch.Tensor, zb: torch.Tensor, steps: int, label: int | None = None
) -> dict:
    """Linear and spherical paths from za to zb (d,), decoded (a conditional model with
    ``label`` at every point), with log N(z; 0, I) along each."""
    with torch.no_grad():
        t = torch.linspace(0, 1, steps)
        linear = (1 - t[:, None]) * za + t[:, None] * zb  # z(t) = (1 - t) z_a + t z_b, (T, d)
        spherical = slerp(za, zb, t)  # (T, d)
        zs = torch.cat([linear, spherical])  # (2T, d)
        ys = None if label is None else torch.full((len(zs),), label)
        images = net.decode(zs) if ys is None else net.decode(zs, ys)  # (2T, 1, 28, 28)
    lin_lp, sph_lp = prior_log_density(linear), prior_log_density(spherical)
    rows = [
        "| t | log p(z) linear | log p(z) spherical | ‖z‖ linear | ‖z‖ spherical |",
        "|---|---|---|---|---|",
    ]
    for k in range(steps):
        rows.append(
            f"| {float(t[k]):.2f} | {float(lin_lp[k]):.2f} | {float(sph_lp[k]):.2f} | "
            f"{float(linear[k].norm()):.2f} | {float(spherical[k].norm()):.2f} |"
        )
    return {
        "paths": grid_display(images, nrow=steps, scale=3),
        "table": "\n".join(rows),
        "linear": linear,
        "numbers": {
            "t": _rounded(t),
            "log_prior_linear": _rounded(lin_lp),
            "log_prior_spherical": _rounded(sph_lp),
            "norm_linear": _rounded(linear.norm(dim=1)),
            "norm_spherical": _rounded(spherical.norm(dim=1)),
        },
    }


def _draw_line(image: np.ndarray, zs: torch.Tensor) -> np.ndarray:
    """A copy of the map with a red line from zs[0] to zs[-1] (T, 2) and both ends marked."""
    out = image.copy()
    dense = torch.linspace(0, 1, 200)[:, None]
    line = (1 - dense) * zs[0] + dense * zs[-1]  # (200, 2)
    for z1, z2 in line.tolist():
        x, y = z_to_pixel(z1, z2)
        if 0 <= x < MAP_PX and 0 <= y < MAP_PX:
            out[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2] = SAMPLE_RGB
    h, w = out.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    for z1, z2 in (zs[0].tolist(), zs[-1].tolist()):
        x, y = z_to_pixel(z1, z2)
        out[(xx - x) ** 2 + (yy - y) ** 2 <= 36] = (0, 0, 0)
        out[(xx - x) ** 2 + (yy - y) ** 2 <= 16] = SAMPLE_RGB
    return out


def _point(z1, z2, end: str) -> torch.Tensor:
    return torch.tensor(
        [
            as_float(z1, f"z1 of {end}", -Z_LIMIT, Z_LIMIT),
            as_float(z2, f"z2 of {end}", -Z_LIMIT, Z_LIMIT),
        ]
    )


POINT_LABELS = tuple(map(str, range(10)))


def point_path(
    z1_a: float = -1.5,
    z2_a: float = -1.0,
    z1_b: float = 1.0,
    z2_b: float = 1.5,
    steps: int = 8,
    model: str = "vae-2",
    label: str = "3",
) -> dict:
    """A 2-D model (VAE-2, or the CVAE-2 given ``label``) decoded along the linear and
    spherical paths between two points of its plane, drawn on that model's map."""
    za, zb = _point(z1_a, z2_a, "a"), _point(z1_b, z2_b, "b")
    steps = as_int(steps, "the number of steps", *PATH_STEPS)
    model = as_choice(model, "the model", ENCODER_MODELS)
    y = int(as_choice(label, "the label", POINT_LABELS)) if model == "cvae-2" else None
    walk = two_paths(get_model(model), za, zb, steps, y)
    given = "" if y is None else f" with the label **{y}**"
    summary = (
        f"{model.upper()}{given} from a = ({float(za[0]):.2f}, {float(za[1]):.2f}) to b = "
        f"({float(zb[0]):.2f}, {float(zb[1]):.2f}): top row linear (the red line), bottom row "
        "spherical.\n\n" + walk["table"]
    )
    return {
        "map": _draw_line(base_map(model), walk["linear"]),
        "paths": walk["paths"],
        "summary": summary,
        "numbers": {"model": model, "label": y, **walk["numbers"]},
    }
