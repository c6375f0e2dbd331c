"""The conditional VAE: the VAE with the digit label y given to both encoder and decoder.

    q(z|x, y):  encoder input  [x ; onehot(y)]   (784 + 10 -> 256 -> 128 -> d)
    p(x|z, y):  decoder input  [z ; onehot(y)]   (d + 10 -> 128 -> 256 -> 784)

Because the decoder is told which digit to draw, z no longer has to carry the class; it is free
to carry style (slant, thickness), which is why one z decoded with all ten labels gives the
same hand writing every digit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from kit.models.config import ModelConfig
from kit.models.vae import VAE, VAEOutput
from kit.posterior import DiagonalGaussian


class CVAE(VAE):
    @classmethod
    def condition_dim_for(cls, config: ModelConfig) -> int:
        return config.num_classes

    def one_hot(self, y: Tensor) -> Tensor:
        return F.one_hot(y.long(), self.config.num_classes).to(
            self.mu_head.weight.dtype
        )  # (B,) -> (B, 10)

    def encode(self, x: Tensor, y: Tensor) -> DiagonalGaussian:  # type: ignore[override]
        return self._posterior(torch.cat([x.flatten(1), self.one_hot(y)], dim=1))  # (B, 794)

    def decode_logits(self, z: Tensor, y: Tensor) -> Tensor:  # type: ignore[override]
        return self.decoder(torch.cat([z, self.one_hot(y)], dim=1))  # (B, d + 10) -> image

    def decode(self, z: Tensor, y: Tensor) -> Tensor:  # type: ignore[override]
        return torch.sigmoid(self.decode_logits(z, y))

    def embed(self, x: Tensor, y: Tensor) -> Tensor:  # type: ignore[override]
        return self.encode(x, y).mu

    def forward(self, x: Tensor, y: Tensor, generator: torch.Generator | None = None) -> VAEOutput:  # type: ignore[override]
        posterior = self.encode(x, y)
        z = posterior.sample(generator)
        logits = self.decode_logits(z, y)
        return VAEOutput(recon=torch.sigmoid(logits), logits=logits, posterior=posterior, z=z)
