"""How each shipped checkpoint is trained: its architecture and its optimisation recipe.

The tutorial trains with Adam at a constant 1e-3, batch 128, for 10 (AE) or 20 (VAE) epochs.
The kit keeps the architectures and Adam and changes the schedule: more epochs with the
learning rate decayed to zero on a cosine; a peak rate of 3e-3 for the autoencoders (their MSE
loss behind a sigmoid learns slowly at 1e-3: test MSE 0.0092 vs 0.0070 after 10 epochs here),
and batch 64 for the 10-dimensional beta-VAEs (103.2 vs 104.0 nats at epoch 25) and for the
CVAE (at batch 128 and 60 epochs it stopped at 128.45 nats, short of the 128 target).
``models/README.md`` has the resulting numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from kit.models.config import ModelConfig


@dataclass
class TrainConfig:
    """Optimisation settings for one training run."""

    epochs: int = 20  # passes over the training set
    batch_size: int = 128  # images per optimiser step
    lr: float = 1e-3  # Adam learning rate at the start of the run
    adam_betas: list[float] = field(default_factory=lambda: [0.9, 0.999])  # Adam's (b1, b2)
    schedule: str = "cosine"  # "cosine": lr decays to 0 over the run; "constant": it stays
    kl_warmup_epochs: float = 0.0  # linear KL annealing: epochs for the KL weight to reach beta
    free_bits: float = 0.0  # nats per latent dimension below which KL is not penalised
    seed: int = 0  # seeds initialisation, shuffling and the reparameterization noise

    def __post_init__(self) -> None:
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs, batch_size and lr must be positive")

    def to_dict(self) -> dict:
        """The settings as a plain dict (as written into metrics.json)."""
        return asdict(self)


@dataclass
class Recipe:
    """A shipped checkpoint: what to build and how to train it."""

    model: ModelConfig
    train: TrainConfig


def _vae_recipe(
    latent_dim: int, beta: float, epochs: int, kind: str = "vae", batch_size: int = 128
) -> Recipe:
    return Recipe(
        ModelConfig(kind=kind, latent_dim=latent_dim, beta=beta),
        TrainConfig(epochs=epochs, batch_size=batch_size),
    )


RECIPES: dict[str, Recipe] = {
    "ae-2": Recipe(ModelConfig(kind="ae", latent_dim=2), TrainConfig(epochs=40, lr=3e-3)),
    "ae-32": Recipe(ModelConfig(kind="ae", latent_dim=32), TrainConfig(epochs=40, lr=3e-3)),
    "vae-2": _vae_recipe(2, 1.0, 60),
    "beta-vae-0.5": _vae_recipe(10, 0.5, 60, batch_size=64),
    "beta-vae-1": _vae_recipe(10, 1.0, 60, batch_size=64),
    "beta-vae-4": _vae_recipe(10, 4.0, 60, batch_size=64),
    "beta-vae-10": _vae_recipe(10, 10.0, 60, batch_size=64),
    "cvae-2": _vae_recipe(2, 1.0, 80, kind="cvae", batch_size=64),
    "gan": Recipe(
        ModelConfig(kind="gan", latent_dim=64, hidden=[512, 256]),
        TrainConfig(epochs=20, lr=2e-4, adam_betas=[0.5, 0.999], schedule="constant"),
    ),
}
