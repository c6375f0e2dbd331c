"""The typed record of one finished training run, as ``kit.train`` wrote it beside the weights.

``metrics.json`` holds the final test-set numbers ("test": recon, kl, neg_elbo, kl_per_dim,
active_units) and the configs; ``history.json`` one row per epoch (test_recon, test_kl,
test_kl_per_dim, ...). ``TrainingRecord.parse`` turns the two into one dataclass, so every demo
reads the same fields instead of picking keys out of dicts.

Two senses of "in use", one threshold ``ACTIVE_UNIT_THRESHOLD`` (0.01) for both:

    variance_active_units = #{j : Var_x(E_q[z_j]) > 0.01}      (Burda et al.; from metrics.json)
    kl_active_units       = #{j : KL_j > 0.01 nats}             (test-set KL of dimension j)

and a dimension with KL_j < 0.01 nats is *collapsed*: its posterior is the prior for every x.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kit.evaluate import ACTIVE_UNIT_THRESHOLD


@dataclass(frozen=True)
class TrainingRecord:
    """What one VAE-family checkpoint's metrics.json and history.json say (10k test digits)."""

    name: str
    """Checkpoint name, e.g. "beta-vae-4"."""
    folder: Path
    """The checkpoint folder the two files were read from."""
    beta: float
    """The KL weight it was trained with (model_config.beta)."""
    recon: float
    """Final test distortion E_q[-log p(x|z)], nats per image."""
    kl: float
    """Final test rate KL(q(z|x) || N(0, I)), nats per image."""
    neg_elbo: float
    """recon + kl, the beta = 1 objective (an upper bound on -log p(x)), nats per image."""
    kl_per_dim: np.ndarray
    """(d,) final test-set average KL_j of each latent dimension, nats."""
    variance_active_units: int
    """metrics.json "active_units": dimensions with Var_x(E_q[z_j]) > ACTIVE_UNIT_THRESHOLD."""
    epochs: np.ndarray
    """(E,) epoch number of each history row, increasing."""
    history_recon: np.ndarray
    """(E,) test reconstruction after each epoch, nats."""
    history_kl: np.ndarray
    """(E,) test KL after each epoch, nats."""
    kl_history: np.ndarray
    """(E, d) test-set average KL_j after each epoch, nats."""

    @classmethod
    def parse(cls, name: str, folder: Path, metrics: dict, rows: list[dict]) -> TrainingRecord:
        """The record from metrics.json's dict and history.json's rows (sorted by epoch).

        Raises ``KeyError``, ``TypeError`` or ``ValueError`` when a number is missing or malformed
        (``kit.models.read_training_record`` turns them into a ``CheckpointError``).
        """
        test = metrics["test"]
        kl = np.asarray(test["kl_per_dim"], dtype=float)  # (d,)
        kl_history = np.array([r["test_kl_per_dim"] for r in rows], dtype=float)  # (E, d)
        return cls(
            name=name,
            folder=folder,
            beta=float(metrics["model_config"]["beta"]),
            recon=float(test["recon"]),
            kl=float(test["kl"]),
            neg_elbo=float(test["neg_elbo"]),
            kl_per_dim=kl,
            variance_active_units=int(test["active_units"]),
            epochs=np.array([int(r["epoch"]) for r in rows]),
            history_recon=np.array([float(r["test_recon"]) for r in rows]),
            history_kl=np.array([float(r["test_kl"]) for r in rows]),
            kl_history=kl_history.reshape(len(rows), kl.size),
        )

    @property
    def kl_active_units(self) -> int:
        """Dimensions in use: test-set KL_j > ``ACTIVE_UNIT_THRESHOLD`` nats."""
        return int((self.kl_per_dim > ACTIVE_UNIT_THRESHOLD).sum())

    @property
    def collapsed(self) -> int:
        """Collapsed dimensions: test-set KL_j < ``ACTIVE_UNIT_THRESHOLD`` nats."""
        return int((self.kl_per_dim < ACTIVE_UNIT_THRESHOLD).sum())

    @property
    def weighted_loss(self) -> float:
        """The objective it was trained on: recon + beta * KL."""
        return self.recon + self.beta * self.kl

    def settled_epochs(self) -> list[int]:
        """For each collapsed dimension, the epoch from which its KL stayed below the threshold.

        A dimension still above the threshold in the last row has no such epoch and is skipped.
        """
        out = []
        for j in np.flatnonzero(self.kl_per_dim < ACTIVE_UNIT_THRESHOLD):
            above = np.flatnonzero(self.kl_history[:, j] >= ACTIVE_UNIT_THRESHOLD)  # epochs "on"
            if above.size == 0:
                out.append(int(self.epochs[0]))
            elif above[-1] + 1 < len(self.epochs):
                out.append(int(self.epochs[above[-1] + 1]))
        return out
