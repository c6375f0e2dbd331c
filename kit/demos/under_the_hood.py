"""The "Under the hood" tab's demos, registered in one place.

Four ideas, one module each:

- ``kit.demos.reparam``: the reparameterization trick. Pathwise vs score-function gradient
  estimates of d/dmu E_{N(mu, sigma^2)}[f(z)], and backward() through a sample with no gradient
  path (``.sample()``) vs one with (``.rsample()``, z = mu + sigma * eps).
- ``kit.demos.elbo_gap``: ELBO = E_q[log p(x|z)] - KL <= log p(x), and the importance-weighted
  bound L_K climbing towards log p(x) as K grows.
- ``kit.demos.collapse``: KL per latent dimension across beta and across training epochs;
  dimensions with KL_j < 0.01 nats are collapsed onto the prior.
- ``kit.demos.vae_vs_gan``: VAE and GAN samples side by side, with a sharpness measure.
"""

from __future__ import annotations

from kit.demos import collapse, elbo_gap, reparam, vae_vs_gan

TAB = "under_the_hood"

DEMOS = [*reparam.DEMOS, *elbo_gap.DEMOS, *collapse.DEMOS, *vae_vs_gan.DEMOS]
