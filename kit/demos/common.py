"""Shared helpers for the demos: cached read-only models, test digits, display images.

The model cache holds only immutable, eval-mode models shared by every visitor; nothing
per-user lives at module level.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from kit.data import bundled_test_set
from kit.demos.errors import DemoInputError
from kit.models import load_pretrained

DISPLAY_SCALE = 8  # 28 px -> 224 px, nearest neighbour so each pixel stays a crisp square


@lru_cache(maxsize=16)
def get_model(name: str):
    """A shipped model by name, loaded once per process (raises ``CheckpointError``)."""
    model = load_pretrained(name)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_test_digit(index) -> tuple[torch.Tensor, int]:
    """Test digit ``index`` as (1, 1, 28, 28) float in [0, 1] and its label."""
    digits = bundled_test_set()
    n = len(digits)
    try:
        as_float = float(index)
    except (TypeError, ValueError):
        raise DemoInputError(f"the digit index must be a whole number from 0 to {n - 1}") from None
    if not as_float.is_integer() or not 0 <= as_float < n:
        raise DemoInputError(
            f"the digit index must be a whole number from 0 to {n - 1}, got {index}"
        )
    i = int(as_float)
    return digits.as_float(slice(i, i + 1)), int(digits.labels[i])


def parse_digit_class(value) -> int | None:
    """'any' / None / '' -> None; '0'..'9' or 0..9 -> that int; anything else is an error."""
    if value is None or str(value).strip().lower() in ("", "any"):
        return None
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise DemoInputError(f"the digit class must be 0-9 or 'any', got {value!r}") from None
    if not as_float.is_integer() or not 0 <= as_float <= 9:
        raise DemoInputError(f"the digit class must be 0-9 or 'any', got {value!r}")
    return int(as_float)


def random_index(digit_class: int | None, rng: np.random.Generator) -> int:
    """A random test-set index, optionally of one digit class."""
    labels = bundled_test_set().labels
    pool = (
        np.arange(len(labels))
        if digit_class is None
        else np.flatnonzero(labels.numpy() == digit_class)
    )
    return int(rng.choice(pool))


def new_figure(**kwargs):
    """A matplotlib ``Figure`` (never pyplot's global state), e.g. ``new_figure(figsize=(6, 4))``.

    matplotlib is imported here, when the first plot is drawn, not when the app starts: the
    import alone is about half a second of the app's cold start.
    """
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def to_display(img: torch.Tensor | np.ndarray, scale: int = DISPLAY_SCALE) -> np.ndarray:
    """A (…, 28, 28) image in [0, 1] -> uint8 (28*scale, 28*scale), nearest-neighbour upscaled."""
    a = img.detach().cpu().numpy() if isinstance(img, torch.Tensor) else np.asarray(img)
    a = a.reshape(a.shape[-2], a.shape[-1])
    a = np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.kron(a, np.ones((scale, scale), dtype=np.uint8))


def as_int(value, name: str, lo: int, hi: int) -> int:
    """``value`` as an int in [lo, hi], else a ``DemoInputError`` naming ``name`` and the range."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DemoInputError(f"{name} must be a whole number from {lo} to {hi}") from None
    if not number.is_integer() or not lo <= number <= hi:
        raise DemoInputError(f"{name} must be a whole number from {lo} to {hi}, got {value}")
    return int(number)


def as_float(value, name: str, lo: float, hi: float) -> float:
    """``value`` as a finite float in [lo, hi], else a ``DemoInputError``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DemoInputError(f"{name} must be a number from {lo} to {hi}") from None
    if not np.isfinite(number) or not lo <= number <= hi:
        raise DemoInputError(f"{name} must be a number from {lo} to {hi}, got {value}")
    return number


def as_choice(value, name: str, choices) -> str:
    """``value`` if it is one of ``choices`` (compared as strings), else a ``DemoInputError``."""
    options = [str(c) for c in choices]
    if str(value) not in options:
        raise DemoInputError(f"{name} must be one of {', '.join(options)}, got {value!r}")
    return str(value)


def grid_display(images, nrow: int, scale: int = 3, pad: int = 1) -> np.ndarray:
    """Images (N, [1,] 28, 28) in [0, 1] -> one uint8 picture, ``nrow`` images per row.

    Nearest-neighbour upscaling by ``scale``; ``pad`` pixels of mid-grey separate the cells.
    Built with array reshapes, not a per-image loop (the 625-cell latent lattice stays ~1 ms).
    """
    a = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    a = a.reshape(-1, a.shape[-2], a.shape[-1])  # (N, h, w)
    n, h, w = a.shape
    rows = -(-n // nrow)
    cell_h, cell_w = h * scale + pad, w * scale + pad
    cells = np.full((rows * nrow, cell_h, cell_w), 128, dtype=np.uint8)  # grey, pad on top/left
    pixels = np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)  # (N, h, w) as in to_display
    cells[:n, pad:, pad:] = pixels.repeat(scale, axis=1).repeat(scale, axis=2)
    out = cells.reshape(rows, nrow, cell_h, cell_w).transpose(0, 2, 1, 3)  # (rows, ch, nrow, cw)
    out = out.reshape(rows * cell_h, nrow * cell_w)
    return np.pad(out, ((0, pad), (0, pad)), constant_values=128)  # the bottom and right pad
