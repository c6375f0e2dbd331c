"""Shared helpers for the demos: cached read-only models, test digits, display images.

The model cache holds only immutable, eval-mode models shared by every visitor; nothing
per-user lives at module level.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from kit.data import bundled_test_set
from kit.models import load_pretrained

DISPLAY_SCALE = 8  # 28 px -> 224 px, nearest neighbour so each pixel stays a crisp square


class DemoInputError(ValueError):
    """A demo argument a learner (or an API caller) got wrong; the message says how to fix it."""


@lru_cache(maxsize=16)
def get_model(name: str):
    """A shipped model by name, loaded once per process (raises ``CheckpointError``)."""
    model = load_pretrained(name)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def test_digit(index) -> tuple[torch.Tensor, int]:
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


def to_display(img: torch.Tensor | np.ndarray, scale: int = DISPLAY_SCALE) -> np.ndarray:
    """A (…, 28, 28) image in [0, 1] -> uint8 (28*scale, 28*scale), nearest-neighbour upscaled."""
    a = img.detach().cpu().numpy() if isinstance(img, torch.Tensor) else np.asarray(img)
    a = a.reshape(a.shape[-2], a.shape[-1])
    a = np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.kron(a, np.ones((scale, scale), dtype=np.uint8))
