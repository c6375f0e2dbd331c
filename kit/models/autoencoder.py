"""A deterministic autoencoder: x -> z -> x_hat, trained to minimise pixel MSE.

    z     = f_enc(x)           (B, 784) -> (B, d)
    x_hat = sigmoid(f_dec(z))  (B, d)   -> (B, 1, 28, 28)
    loss  = (1/D) sum_i (x_hat_i - x_i)^2

Nothing asks the codes z to fill the latent space in any orderly way: points the encoder never
produced decode to whatever the decoder happens to do there. The VAE fixes that.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from kit.losses import mse_reconstruction
from kit.models.blocks import Decoder, HubModel, mlp
from kit.models.config import ModelConfig
from kit.models.loss import LossTerms


@dataclass
class AutoencoderOutput:
    """Named output of ``Autoencoder.forward``."""

    recon: Tensor
    """Reconstruction x_hat in [0, 1], shape (B, 1, 28, 28)."""
    z: Tensor
    """The code, shape (B, d)."""


class Autoencoder(nn.Module, HubModel):
    """The deterministic autoencoder: MLP encoder to a d-dimensional code, MLP decoder back."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config
        self.encoder = mlp([c.pixels, *c.hidden, c.latent_dim])  # 784 -> 256 -> 128 -> d
        self.decoder = Decoder(c.latent_dim, c.hidden, c.pixels, c.image_size)

    def encode(self, x: Tensor) -> Tensor:
        """The code z = f_enc(x): (B, 1, 28, 28) -> (B, d)."""
        return self.encoder(x.flatten(1))  # (B, 1, 28, 28) -> (B, 784) -> (B, d)

    def decode(self, z: Tensor) -> Tensor:
        """The image x_hat = sigmoid(f_dec(z)) in [0, 1]: (B, d) -> (B, 1, 28, 28)."""
        return torch.sigmoid(self.decoder(z))  # (B, d) -> (B, 1, 28, 28)

    def embed(self, x: Tensor) -> Tensor:
        """The point in latent space that represents x (for plots): here the code itself."""
        return self.encode(x)

    def reconstruct(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """The reconstruction x_hat = decode(encode(x)) in [0, 1], shape (B, 1, 28, 28).

        ``y`` is accepted and unused, so every model reconstructs with one call.
        """
        return self.decode(self.encode(x))

    def forward(self, x: Tensor) -> AutoencoderOutput:
        """Encode and decode: the reconstruction and the code."""
        z = self.encode(x)
        return AutoencoderOutput(recon=self.decode(z), z=z)

    def loss(
        self,
        x: Tensor,
        y: Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
        kl_weight: float = 1.0,
        free_bits: float = 0.0,
    ) -> LossTerms:
        """The pixel MSE, total = mean_b (1/D) sum_i (x_hat_i - x_i)^2, with part ``mse``.

        The signature is every model's; an autoencoder has no condition, no noise and no KL
        term, so ``y``, ``generator``, ``kl_weight`` and ``free_bits`` are accepted and unused.
        """
        mse = mse_reconstruction(self(x).recon, x)  # (B,)
        return LossTerms(total=mse.mean(), parts={"mse": mse})
