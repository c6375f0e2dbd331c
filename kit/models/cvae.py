"""The conditional VAE: the VAE with the digit label y given to both encoder and decoder.

    q(z|x, y):  encoder input  [x ; onehot(y)]   (784 + 10 -> 256 -> 128 -> d)
    p(x|z, y):  decoder input  [z ; onehot(y)]   (d + 10 -> 128 -> 256 -> 784)

Because the decoder is told which digit to draw, z no longer has to carry the class; it is free
to carry style (slant, thickness), which is why one z decoded with all ten labels gives the
same hand writing every digit.
"""

from __future__ import annotations

from kit.models.config import ModelConfig
from kit.models.vae import VAE


class CVAE(VAE):
    """The VAE conditioned on the digit: its methods need the labels ``y``, shape (B,)."""

    @classmethod
    def condition_dim_for(cls, config: ModelConfig) -> int:
        """One one-hot input per class, joined to x (encoder) and to z (decoder)."""
        return config.num_classes
