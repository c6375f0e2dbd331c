"""Refresh the metrics table in models/README.md from each checkpoint's metrics.json.

    python -m kit.model_card

The table sits between the markers ``<!-- metrics:start -->`` and ``<!-- metrics:end -->``; the
rest of the card is hand-written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kit.models import MODELS_DIR, SHIPPED

START, END = "<!-- metrics:start -->", "<!-- metrics:end -->"


def metrics_table(models_dir: Path = MODELS_DIR) -> str:
    """The markdown table of every shipped checkpoint's stored numbers (metrics.json)."""
    rows = [
        "| checkpoint | kind | latent | β | epochs | batch | test −ELBO | recon | KL | active units | MSE/pixel | train time |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in SHIPPED:
        path = models_dir / name / "metrics.json"
        if not path.is_file():
            rows.append(f"| {name} | (missing: python -m kit.train --model {name}) |" + " |" * 10)
            continue
        m = json.loads(path.read_text(encoding="utf-8"))
        t, mc, tc = m["test"], m["model_config"], m["train_config"]

        def fmt(key, spec, t=t):
            return format(t[key], spec) if key in t else "–"

        rows.append(
            f"| {name} | {mc['kind']} | {mc['latent_dim']} | "
            f"{mc['beta'] if mc['kind'] in ('vae', 'cvae') else '–'} | {m['epochs_run']:g} | "
            f"{tc['batch_size']} | {fmt('neg_elbo', '.2f')} | {fmt('recon', '.2f')} | "
            f"{fmt('kl', '.2f')} | {fmt('active_units', 'd')} | {fmt('mse', '.5f')} | "
            f"{m['train_seconds'] / 60:.1f} min |"
        )
    return "\n".join(rows)


def main() -> int:
    """Rewrite the table between the markers in models/README.md; returns the exit status."""
    card = MODELS_DIR / "README.md"
    text = card.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"error: {card} has no {START} ... {END} section", file=sys.stderr)
        return 1
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    card.write_text(f"{head}{START}\n{metrics_table()}\n{END}{tail}", encoding="utf-8")
    print(f"updated {card}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
