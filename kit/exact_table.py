"""The exact log p(x) of every bundled test digit under vae-2, computed once and shipped.

``kit.evaluate.exact_log_px`` integrates p(x|z) p(z) over the 2-D latent plane by quadrature
(within 0.01 nats); it costs about a second per digit on one core, too slow for a demo that a
visitor calls with any index. So the value for each of the 10,000 bundled test digits is
computed once, by this module's CLI, and stored as ``models/vae-2/exact_log_px.safetensors``
(one float64 tensor ``log_px`` of shape (10000,)). The ELBO-gap demo reads it; a test
recomputes a random sample of entries with the quadrature and compares.

    python -m kit.exact_table            # minutes: every digit, in batches, one thread
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import torch

from kit.models import MODELS_DIR

MODEL = "vae-2"
FILE = "exact_log_px.safetensors"


def table_path(models_dir: Path = MODELS_DIR) -> Path:
    """Where the table of ``MODEL`` lives."""
    return Path(models_dir) / MODEL / FILE


@lru_cache(maxsize=1)
def exact_table() -> torch.Tensor | None:
    """The shipped (10000,) float64 table of log p(x) in nats, or None when it is missing."""
    from safetensors.torch import load_file

    path = table_path()
    if not path.exists():
        return None
    return load_file(str(path))["log_px"]


def build(batch: int = 256) -> torch.Tensor:
    """log p(x) of every bundled test digit under ``MODEL`` by quadrature: (10000,) float64."""
    from kit.data import bundled_test_set
    from kit.evaluate import exact_log_px
    from kit.models import load_pretrained

    model, digits = load_pretrained(MODEL), bundled_test_set()
    parts = []
    with torch.no_grad():
        for start in range(0, len(digits), batch):
            x = digits.as_float(slice(start, start + batch))  # (B, 1, 28, 28)
            parts.append(exact_log_px(model, x).double())  # (B,)
            print(f"{start + x.shape[0]}/{len(digits)}", file=sys.stderr, flush=True)
    return torch.cat(parts)


def main() -> int:
    """Compute the table and save it next to the weights."""
    from safetensors.torch import save_file

    torch.set_num_threads(1)
    table = build()
    save_file({"log_px": table.contiguous()}, str(table_path()))
    print(f"wrote {table_path()} ({table.numel()} digits, mean {float(table.mean()):.2f} nats)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
