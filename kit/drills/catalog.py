"""The drills: statement, starter code, hidden cases and named mistakes of each.

A drill's id is its function's name. Its hidden cases are chosen so that every named mistake
gets at least one case wrong (``tests/test_drills_catalog.py`` checks this, and that every
variant is told apart from every other); the reference solutions live in
``kit.drills.solutions`` and never reach the page.
"""

from __future__ import annotations

import math
from functools import lru_cache

from kit.drills import solutions as S
from kit.drills.spec import Case, Drill, Mistake

LOG9 = math.log(9.0)


def T(values) -> dict:
    """A fixed float32 tensor argument."""
    return {"tensor": values}


def R(shape, seed, scale=1.0, shift=0.0) -> dict:
    """A seeded N(shift, scale^2) tensor argument."""
    return {"randn": list(shape), "seed": seed, "scale": scale, "shift": shift}


def U(shape, seed, low=0.0, high=1.0) -> dict:
    """A seeded uniform tensor argument on [low, high)."""
    return {"uniform": list(shape), "seed": seed, "low": low, "high": high}


def Bern(shape, seed) -> dict:
    """A seeded tensor argument of 0s and 1s, each 1 with probability 1/2."""
    return {"bernoulli": list(shape), "seed": seed}


TOLERANCE = "Results are compared with the reference at a relative tolerance of $10^{-4}$."

# ---- the drills ------------------------------------------------------------------------------

REPARAMETERIZE = Drill(
    id="reparameterize",
    title="reparameterize: the reparameterisation trick",
    params=("mu", "logvar", "eps"),
    statement=r"""
### `reparameterize(mu, logvar, eps)`
The encoder returns $\mu$ and $\log\sigma^2$ (`logvar`), each of shape $(B, d)$. Return a sample
$$z = \mu + \sigma \odot \varepsilon, \qquad \sigma = \exp\left(\tfrac12 \log\sigma^2\right),$$
using the given noise `eps` $\sim \mathcal N(0, I)$ (same shape). Gradients must flow from $z$
back to `mu` and `logvar`: that is the point of the trick.
""",
    starter='''def reparameterize(mu, logvar, eps):
    """z = mu + sigma * eps, shape (B, d)."""
    return ...
''',
    reference=S.reparameterize,
    cases=(
        Case(
            "sigma = 3",
            {"mu": T([[0.5, -1.0]]), "logvar": T([[LOG9, LOG9]]), "eps": T([[1.0, -0.5]])},
            "value_grad",
            "mu = [[0.5, -1]], logvar = [[log 9, log 9]] (sigma = 3), eps = [[1, -0.5]]",
        ),
        Case(
            "sigma = 1",
            {"mu": T([[1.0, 2.0]]), "logvar": T([[0.0, 0.0]]), "eps": T([[0.3, -1.2]])},
            "value_grad",
            "mu = [[1, 2]], logvar = [[0, 0]] (sigma = 1), eps = [[0.3, -1.2]]",
        ),
        Case(
            "random batch",
            {"mu": R((4, 3), 1), "logvar": R((4, 3), 2, 0.8), "eps": R((4, 3), 3)},
            "value_grad",
        ),
    ),
    mistakes=(
        Mistake(
            "std_is_variance",
            "For logvar = log 9 (σ = 3) your z moves 9·ε away from μ, "
            "not 3·ε: exp(logvar) is the variance σ²; the standard deviation is "
            "σ = exp(logvar / 2).",
            S.reparam_std_is_variance,
            "under_the_hood.reparam_gradients",
        ),
        Mistake(
            "logvar_as_std",
            "For logvar = 0 (σ = 1) your z equals μ, with no noise: you "
            "used logvar itself as σ. logvar is log σ², so σ = exp(logvar / 2).",
            S.reparam_logvar_as_std,
        ),
        Mistake(
            "half_outside_exp",
            "For σ = 1 your noise is halved: 0.5 · exp(logvar) puts "
            "the ½ outside the exponent; it belongs inside, σ = exp(0.5 · logvar).",
            S.reparam_half_outside,
        ),
        Mistake(
            "no_noise",
            "Your z ignores ε: it returns μ, so every sample is the mean and "
            "σ gets no gradient from the reconstruction.",
            S.reparam_no_noise,
        ),
        Mistake(
            "detached_sample",
            "Your values are right but z is detached: no gradient "
            "reaches mu or logvar (d z / d mu should be 1), so the encoder cannot learn "
            "from the reconstruction. Remove the .detach().",
            S.reparam_detached,
            "under_the_hood.no_gradient_path",
            "backward() through a sample that is cut off from μ and σ fails or gives zero.",
        ),
    ),
    drive="reconstruct",
    tags=("vae",),
)

GAUSSIAN_KL = Drill(
    id="gaussian_kl",
    title="gaussian_kl: the closed-form KL",
    params=("mu", "logvar"),
    statement=r"""
### `gaussian_kl(mu, logvar)`
For $q(z\mid x) = \mathcal N(\mu, \mathrm{diag}\,\sigma^2)$ and the prior $\mathcal N(0, I)$, return
one KL per image, shape $(B,)$:
$$\mathrm{KL}(q \,\|\, p) = \tfrac12 \sum_{j=1}^{d} \left(\mu_j^2 + \sigma_j^2 - \log\sigma_j^2 - 1\right).$$
`mu` and `logvar` $= \log\sigma^2$ have shape $(B, d)$.
""",
    starter='''def gaussian_kl(mu, logvar):
    """KL(N(mu, sigma^2) || N(0, I)) per image, shape (B,)."""
    return ...
''',
    reference=S.gaussian_kl,
    cases=(
        Case(
            "mu = 0, sigma = 1",
            {
                "mu": T([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
                "logvar": T([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
            },
            shows="mu = 0, logvar = 0 (q equals the prior), B = 2, d = 3",
        ),
        Case(
            "mu = 1, sigma = 1",
            {"mu": T([[1.0, 0.0]]), "logvar": T([[0.0, 0.0]])},
            shows="mu = [[1, 0]], logvar = [[0, 0]]",
        ),
        Case("random batch", {"mu": R((4, 3), 4), "logvar": R((4, 3), 5, 0.7)}),
    ),
    mistakes=(
        Mistake(
            "kl_sign_flipped",
            "Your KL is negative for μ = 1, σ = 1 (it is 0.5 there, and "
            "a KL is never below 0): the sign of the bracket is flipped.",
            S.kl_sign_flipped,
            None,
            "Run it in the model: trained on a flipped KL, the KL term grows instead of shrinking.",
        ),
        Mistake(
            "kl_half_missing",
            "For μ = 1, σ = 1 your KL is 1; the true value is 0.5: the "
            "½ in front of the sum is missing.",
            S.kl_half_missing,
        ),
        Mistake(
            "kl_missing_minus_one",
            "For μ = 0, σ = 1 (the posterior equals the prior) your "
            "KL is d/2, not 0: the −1 inside the bracket is missing.",
            S.kl_missing_minus_one,
        ),
        Mistake(
            "kl_per_dim",
            "You returned one KL per latent dimension, shape (B, d): sum over "
            "the dimensions to get one value per image, shape (B,).",
            S.kl_per_dim,
            "beta.kl_per_dim",
            "the per-dimension KLs, summed, are each image's KL.",
        ),
        Mistake(
            "kl_batch_mean",
            "You returned one number for the whole batch: return one KL "
            "per image, shape (B,), summing over dimensions only.",
            S.kl_batch_mean,
        ),
        Mistake(
            "kl_mean_over_dims",
            "You averaged over the latent dimensions: the KL of a "
            "diagonal Gaussian is the sum of the per-dimension KLs.",
            S.kl_mean_over_dims,
        ),
        Mistake(
            "kl_logvar_as_log_sigma",
            "You treated logvar as log σ (σ² = exp(2·logvar)): it "
            "is log σ², so σ² = exp(logvar) and log σ² = logvar.",
            S.kl_logvar_as_log_sigma,
        ),
        Mistake(
            "kl_logvar_as_variance",
            "You used logvar as σ² itself: log(logvar) is NaN as "
            "soon as logvar < 0. σ² = exp(logvar).",
            S.kl_logvar_as_variance,
        ),
    ),
    drive="train",
    tags=("vae", "kl"),
)

BERNOULLI_NLL = Drill(
    id="bernoulli_nll",
    title="bernoulli_nll: the reconstruction term",
    params=("logits", "x"),
    statement=r"""
### `bernoulli_nll(logits, x)`
The decoder outputs logits $l$ of shape $(B, D)$; $p(x \mid z) = \prod_i
\mathrm{Bernoulli}(x_i; \mathrm{sigmoid}(l_i))$ with pixels $x \in [0, 1]$, shape $(B, D)$. Return
$-\log p(x\mid z)$ per image, shape $(B,)$:
$$-\log p(x\mid z) = -\sum_{i=1}^{D} \left[x_i \log s_i + (1 - x_i)\log(1 - s_i)\right], \quad s = \mathrm{sigmoid}(l),$$
computed so that it stays finite for large logits (hint: `F.binary_cross_entropy_with_logits`).
""",
    starter='''def bernoulli_nll(logits, x):
    """-log p(x|z) per image, shape (B,)."""
    return ...
''',
    reference=S.bernoulli_nll,
    cases=(
        Case(
            "logits = 0",
            {
                "logits": T([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]),
                "x": T([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0]]),
            },
            shows="logits = 0 (s = 1/2), B = 2, D = 4",
        ),
        Case("random batch", {"logits": R((3, 6), 6, 3.0), "x": U((3, 6), 7)}),
        Case(
            "confident logits",
            {"logits": T([[30.0, -30.0, 30.0]]), "x": T([[1.0, 0.0, 0.0]])},
            shows="logits = [[30, -30, 30]], x = [[1, 0, 0]]",
        ),
    ),
    mistakes=(
        Mistake(
            "sigmoid_twice",
            "You applied sigmoid to logits that "
            "binary_cross_entropy_with_logits squashes again: pass the raw logits.",
            S.nll_sigmoid_twice,
        ),
        Mistake(
            "nll_pixel_mean",
            "Your value is D times too small: you averaged over pixels. "
            "An image's log-likelihood is the sum over its pixels.",
            S.nll_pixel_mean,
            "under_the_hood.posterior_collapse",
            "a reconstruction term that is too small next to the KL lets the posterior collapse.",
        ),
        Mistake(
            "nll_reduced_batch",
            "You returned one number: F.binary_cross_entropy_with_logits "
            'averages over everything by default. Pass reduction="none" and sum over each '
            "image's pixels.",
            S.nll_reduced_batch,
        ),
        Mistake(
            "nll_sign_flipped",
            "Your values are negative: that is log p(x|z). The negative "
            "log-likelihood is its negative, and is ≥ 0.",
            S.nll_sign_flipped,
        ),
        Mistake(
            "nll_naive_log",
            "For a logit of 30 your NLL is infinite: log(1 − sigmoid(30)) "
            "rounds to log 0 in float32. Work from the logits "
            "(F.binary_cross_entropy_with_logits) instead.",
            S.nll_naive_log,
        ),
    ),
    tags=("vae",),
)

NEGATIVE_ELBO = Drill(
    id="negative_elbo",
    title="negative_elbo: the (β-)VAE loss",
    params=("logits", "x", "mu", "logvar", "beta"),
    statement=r"""
### `negative_elbo(logits, x, mu, logvar, beta)`
Return the β-weighted negative ELBO averaged over the batch, a scalar:
$$\mathcal L = \frac1B \sum_{b=1}^{B}\Big[\underbrace{-\log p(x_b\mid z_b)}_{\text{sum over } D \text{ pixels}} + \beta\,\underbrace{\mathrm{KL}(q(z\mid x_b)\,\|\,\mathcal N(0, I))}_{\text{sum over } d \text{ dimensions}}\Big].$$
`logits`, `x`: $(B, D)$; `mu`, `logvar`: $(B, d)$; `beta` a float. Both terms are costs.
""",
    starter='''def negative_elbo(logits, x, mu, logvar, beta):
    """mean over the batch of [sum-over-pixels BCE + beta * KL], a scalar."""
    return ...
''',
    reference=S.negative_elbo,
    cases=tuple(
        Case(
            name,
            {
                "logits": R((b, 6), 8, 2.0),
                "x": Bern((b, 6), 9),
                "mu": R((b, 2), 10),
                "logvar": R((b, 2), 11, 0.5),
                "beta": beta,
            },
            shows=f"B = {b}, D = 6, d = 2, beta = {beta}",
        )
        for name, b, beta in [
            ("beta = 1", 4, 1.0),
            ("beta = 4", 4, 4.0),
            ("beta = 0", 4, 0.0),
            ("B = 8", 8, 1.0),
        ]
    ),
    mistakes=(
        Mistake(
            "kl_sign_flipped",
            "Your loss is recon − β·KL: it rewards a large KL. Both terms are costs: recon + β·KL.",
            S.elbo_kl_sign_flipped,
            None,
            "Run it in the model: 60 steps on your loss, the KL climbs instead of falling.",
        ),
        Mistake(
            "recon_pixel_mean",
            "Your reconstruction term is averaged over pixels while the "
            "KL is summed over dimensions: that weights the KL D times too strongly (β ≈ 784 "
            "on MNIST), and the posterior collapses onto the prior.",
            S.elbo_pixel_mean,
            "under_the_hood.posterior_collapse",
            "with a strong KL weight the KL per "
            "dimension falls to zero and the reconstructions blur.",
        ),
        Mistake(
            "batch_sum",
            "Your loss is the sum over the batch (B = 8 gives twice the B = 4 "
            "value): average over images so the loss, and the step size, do not scale with "
            "the batch.",
            S.elbo_batch_sum,
        ),
        Mistake(
            "beta_on_recon",
            "β multiplies your reconstruction term; it weights the KL: "
            "recon + β·KL. With β = 0 you return the KL alone.",
            S.elbo_beta_on_recon,
            "beta.rate_distortion",
            "β trades rate (KL) against distortion.",
        ),
        Mistake(
            "kl_half_missing",
            "Your KL term is twice the true KL: the ½ of ½ Σ (μ² + σ² − log σ² − 1) is missing.",
            S.elbo_kl_half_missing,
        ),
    ),
    drive="train",
    tags=("vae", "loss"),
)

IWAE_BOUND = Drill(
    id="iwae_bound",
    title="iwae_bound: the importance-weighted bound",
    params=("log_px_given_z", "log_pz", "log_qz"),
    statement=r"""
### `iwae_bound(log_px_given_z, log_pz, log_qz)`
Each argument has shape $(K, B)$: for $K$ samples $z_k \sim q(z\mid x)$ of each of $B$ images,
$\log p(x\mid z_k)$, $\log p(z_k)$ and $\log q(z_k\mid x)$. Return the IWAE bound per image, shape
$(B,)$:
$$\mathcal L_K = \log \frac1K \sum_{k=1}^{K} \frac{p(x, z_k)}{q(z_k\mid x)} = \operatorname{logsumexp}_k\, \log w_k - \log K,$$
stable for log-weights far below zero (use `torch.logsumexp`).
""",
    starter='''def iwae_bound(log_px_given_z, log_pz, log_qz):
    """log (1/K) sum_k p(x, z_k) / q(z_k|x), shape (B,)."""
    return ...
''',
    reference=S.iwae_bound,
    cases=(
        Case(
            "K = 1",
            {
                "log_px_given_z": R((1, 3), 12, 5.0, -90.0),
                "log_pz": R((1, 3), 13),
                "log_qz": R((1, 3), 14),
            },
            shows="K = 1, B = 3 (the bound is the ELBO)",
        ),
        Case(
            "K = 5",
            {
                "log_px_given_z": R((5, 3), 15, 5.0, -90.0),
                "log_pz": R((5, 3), 16),
                "log_qz": R((5, 3), 17),
            },
            shows="K = 5, B = 3",
        ),
        Case(
            "equal weights",
            {
                "log_px_given_z": T([[-2.0, -3.0]] * 4),
                "log_pz": T([[0.0, 0.0]] * 4),
                "log_qz": T([[0.0, 0.0]] * 4),
            },
            shows="K = 4 equal log-weights [-2, -3] (the bound is exactly [-2, -3])",
        ),
        Case(
            "log-weights near -800",
            {
                "log_px_given_z": R((4, 2), 18, 3.0, -800.0),
                "log_pz": R((4, 2), 19),
                "log_qz": R((4, 2), 20),
            },
            shows="K = 4, B = 2, log-weights around -800",
        ),
    ),
    mistakes=(
        Mistake(
            "missing_log_k",
            "For K equal log-weights w your bound is w + log K, not w: the "
            "−log K (the 1/K of the average) is missing, so your bound grows with K past "
            "log p(x).",
            S.iwae_missing_log_k,
            "under_the_hood.elbo_vs_iwae",
            "the bound rises towards log p(x) as K grows, never past it.",
        ),
        Mistake(
            "mean_log_weights",
            "You averaged the log-weights: that is the ELBO, whatever K. "
            "The IWAE bound is the log of the average weight: logsumexp − log K.",
            S.iwae_mean_log_weights,
            "under_the_hood.elbo_vs_iwae",
        ),
        Mistake(
            "naive_log_mean_exp",
            "For log-weights near −800 your bound is −∞: exp(−800) "
            "underflows to 0 in float32. Use torch.logsumexp, which subtracts the maximum "
            "first.",
            S.iwae_naive_log_mean_exp,
        ),
        Mistake(
            "log_q_added",
            "The weight is p(x, z)/q(z|x): subtract log q(z|x), don't add it.",
            S.iwae_qz_sign,
        ),
        Mistake(
            "wrong_dim",
            "You reduced over the batch (dim 1) instead of the K samples (dim 0).",
            S.iwae_wrong_dim,
        ),
    ),
    tags=("iwae",),
)

KL_WARMUP = Drill(
    id="kl_warmup",
    title="kl_warmup: KL annealing",
    params=("step", "warmup_steps"),
    statement=r"""
### `kl_warmup(step, warmup_steps)`
Return the KL weight at training step `step` (an int $\ge 0$) for a linear warm-up over
`warmup_steps` steps:
$$w(t) = \min\left(1, \frac{t}{T}\right),$$
and $w = 1$ at every step when `warmup_steps` is 0 (no warm-up). Return a Python float.
""",
    starter='''def kl_warmup(step, warmup_steps):
    """The KL weight, rising linearly from 0 to 1 over warmup_steps steps."""
    return ...
''',
    reference=S.kl_warmup,
    cases=tuple(
        Case(
            f"step {s} of {w}",
            {"step": s, "warmup_steps": w},
            shows=f"step = {s}, warmup_steps = {w}",
        )
        for s, w in [(0, 100), (50, 100), (3, 10), (100, 100), (250, 100), (7, 0)]
    ),
    mistakes=(
        Mistake(
            "no_cap",
            "At step 250 of a 100-step warm-up your weight is 2.5: the weight "
            "stops at 1 once the warm-up is over (min(1, t/T)).",
            S.warmup_no_cap,
        ),
        Mistake(
            "zero_division",
            "With warmup_steps = 0 your function divides by zero: no "
            "warm-up means the full weight 1 from the first step.",
            S.warmup_zero_division,
        ),
        Mistake(
            "integer_division",
            "At step 50 of 100 your weight is 0: step // warmup_steps "
            "is integer division, so the weight jumps from 0 to 1 at the end. Use /.",
            S.warmup_integer_division,
        ),
        Mistake(
            "reversed",
            "Your weight falls from 1 to 0: a warm-up starts with no KL "
            "(w = 0 at step 0) and rises to 1.",
            S.warmup_reversed,
            "train_live.run",
            "the KL's share of the loss during training.",
        ),
    ),
    tags=("training",),
)

FREE_BITS = Drill(
    id="free_bits_kl",
    title="free_bits_kl: a KL floor per dimension",
    params=("kl_per_dim", "lam"),
    statement=r"""
### `free_bits_kl(kl_per_dim, lam)`
`kl_per_dim` has shape $(B, d)$: the KL of each image's posterior in each latent dimension.
Free bits (Kingma et al., 2016) floors the **batch-average** KL of each dimension at
$\lambda$ = `lam`, so a dimension below $\lambda$ gets no push towards the prior. Return the
scalar
$$\mathrm{KL}_{\text{fb}} = \sum_{j=1}^{d} \max\left(\lambda,\ \frac1B\sum_{b=1}^{B} \mathrm{KL}_{bj}\right).$$
""",
    starter='''def free_bits_kl(kl_per_dim, lam):
    """sum over dimensions of max(lam, batch mean of the KL), a scalar."""
    return ...
''',
    reference=S.free_bits_kl,
    cases=(
        Case(
            "lam = 0",
            {"kl_per_dim": U((4, 3), 21, 0.0, 2.0), "lam": 0.0},
            shows="B = 4, d = 3, lam = 0 (no floor)",
        ),
        Case(
            "two dims below",
            {"kl_per_dim": T([[0.1, 2.0, 0.0], [0.3, 1.0, 0.2]]), "lam": 0.5},
            shows="kl_per_dim = [[0.1, 2, 0], [0.3, 1, 0.2]], lam = 0.5",
        ),
        Case(
            "floor per image vs per batch",
            {"kl_per_dim": T([[0.0, 1.0], [1.0, 0.0]]), "lam": 0.5},
            shows="kl_per_dim = [[0, 1], [1, 0]], lam = 0.5",
        ),
        Case(
            "every dim below",
            {"kl_per_dim": T([[0.1, 0.1, 0.1]] * 2), "lam": 0.5},
            shows="kl_per_dim = 0.1 everywhere (B = 2, d = 3), lam = 0.5",
        ),
    ),
    mistakes=(
        Mistake(
            "floor_per_image",
            "You floored each image's KL before averaging: the floor "
            "applies to each dimension's batch average (for [[0, 1], [1, 0]] and λ = 0.5 that "
            "gives 1, not 1.5).",
            S.free_bits_per_image,
            "under_the_hood.posterior_collapse",
        ),
        Mistake(
            "cap_not_floor",
            "You capped the KL at λ (clamp(max=λ)): free bits is a floor, max(λ, KL).",
            S.free_bits_cap,
        ),
        Mistake(
            "floor_ignored",
            "Your result does not depend on λ: clamp each dimension's batch-average KL at min=λ.",
            S.free_bits_floor_ignored,
        ),
        Mistake(
            "batch_sum",
            "You summed over the batch: free bits floors the batch *average* of each dimension.",
            S.free_bits_batch_sum,
        ),
        Mistake(
            "floor_on_total",
            "You floored the total KL: the floor applies to each "
            "dimension on its own, so a used dimension cannot hide a collapsed one.",
            S.free_bits_on_total,
            "beta.kl_per_dim",
        ),
    ),
    tags=("collapse",),
)

LERP = Drill(
    id="lerp",
    title="lerp: a straight line between two codes",
    params=("z_a", "z_b", "t"),
    statement=r"""
### `lerp(z_a, z_b, t)`
Codes `z_a`, `z_b` have shape $(d,)$ and $t \in [0, 1]$ is a float. Return the point a
fraction $t$ of the way along the straight line from $z_a$ to $z_b$:
$$z(t) = (1 - t)\, z_a + t\, z_b.$$
""",
    starter='''def lerp(z_a, z_b, t):
    """The point a fraction t of the way from z_a to z_b, shape (d,)."""
    return ...
''',
    reference=S.lerp,
    cases=tuple(
        Case(
            f"t = {t}",
            {"z_a": R((3,), 22), "z_b": R((3,), 23), "t": t},
            shows=f"random z_a, z_b of shape (3,), t = {t}",
        )
        for t in (0.0, 1.0, 0.25)
    ),
    mistakes=(
        Mistake(
            "reversed",
            "At t = 0 your path is at z_b: it should start at z_a and reach z_b at t = 1.",
            S.lerp_reversed,
        ),
        Mistake(
            "no_complement",
            "At t = 1 your path ends at z_a + z_b, not z_b: weight z_a by (1 − t).",
            S.lerp_no_complement,
        ),
    ),
    drive="interpolate",
    tags=("latent",),
)

SLERP = Drill(
    id="slerp",
    title="slerp: along the arc between two codes",
    params=("z_a", "z_b", "t"),
    statement=r"""
### `slerp(z_a, z_b, t)`
Spherical interpolation between codes of shape $(d,)$: with $\Omega$ the angle between them,
$\cos\Omega = \frac{z_a \cdot z_b}{\lVert z_a\rVert\,\lVert z_b\rVert}$,
$$z(t) = \frac{\sin((1 - t)\Omega)}{\sin\Omega}\, z_a + \frac{\sin(t\Omega)}{\sin\Omega}\, z_b.$$
When $\sin\Omega$ is (nearly) zero the codes are parallel: return the straight line
$(1 - t) z_a + t z_b$ instead.
""",
    starter='''def slerp(z_a, z_b, t):
    """Spherical interpolation from z_a (t = 0) to z_b (t = 1), shape (d,)."""
    return ...
''',
    reference=S.slerp,
    cases=(
        Case(
            "orthogonal, t = 0.5",
            {"z_a": T([1.0, 0.0]), "z_b": T([0.0, 1.0]), "t": 0.5},
            shows="z_a = [1, 0], z_b = [0, 1], t = 0.5",
        ),
        Case(
            "random, t = 0.3",
            {"z_a": R((3,), 24, 2.0), "z_b": R((3,), 25), "t": 0.3},
            shows="random z_a, z_b of shape (3,) and different lengths, t = 0.3",
        ),
        Case(
            "random, t = 0",
            {"z_a": R((3,), 24, 2.0), "z_b": R((3,), 25), "t": 0.0},
            shows="the same codes, t = 0",
        ),
        Case(
            "parallel",
            {"z_a": T([1.0, 2.0]), "z_b": T([1.0, 2.0]), "t": 0.4},
            shows="z_a = z_b = [1, 2], t = 0.4",
        ),
    ),
    mistakes=(
        Mistake(
            "is_lerp",
            "That is the straight line (lerp): for z_a = [1, 0], z_b = [0, 1] at "
            "t = ½ slerp gives [0.71, 0.71] (length 1), not [0.5, 0.5].",
            S.slerp_is_lerp,
            "latent.interpolate",
            "straight-line paths cut through the low-density middle of the latent space.",
        ),
        Mistake(
            "unnormalised",
            "Your angle is wrong for codes that are not unit length: "
            "cos Ω is the dot product divided by ‖z_a‖ ‖z_b‖.",
            S.slerp_unnormalised,
        ),
        Mistake(
            "no_parallel_fallback",
            "For z_a = z_b your slerp returns NaN: sin Ω = 0 there. "
            "Fall back to the straight line when sin Ω is tiny.",
            S.slerp_no_fallback,
        ),
        Mistake(
            "reversed", "At t = 0 your path is at z_b: it should start at z_a.", S.slerp_reversed
        ),
    ),
    drive="interpolate",
    tags=("latent",),
)

SAMPLE = Drill(
    id="sample_with_temperature",
    title="sample_with_temperature: sampling the prior",
    params=("decoder", "n", "T", "generator"),
    statement=r"""
### `sample_with_temperature(decoder, n, T, generator)`
Draw `n` codes from the prior at temperature $T$ and decode them:
$$\varepsilon \sim \mathcal N(0, I_d),\qquad z = T\,\varepsilon \sim \mathcal N(0, T^2 I),\qquad \text{return } \mathrm{decoder}(z).$$
`decoder.latent_dim` is $d$; `decoder(z)` takes shape $(n, d)$. Draw $\varepsilon$ with
`torch.randn(..., generator=generator)` so the same generator seed gives the same samples.
""",
    starter='''def sample_with_temperature(decoder, n, T, generator):
    """n decoded samples of z = T * eps, eps ~ N(0, I)."""
    return ...
''',
    reference=S.sample_with_temperature,
    cases=tuple(
        Case(
            f"T = {t}",
            {
                "decoder": {"decoder": "tanh", "latent_dim": 3, "out": 4, "seed": 26},
                "n": 5,
                "T": t,
                "generator": {"generator": 27},
            },
            "sampler",
            shows=f"a fixed decoder with latent_dim = 3, n = 5, T = {t}",
        )
        for t in (1.0, 0.5, 2.0)
    ),
    mistakes=(
        Mistake(
            "sqrt_temperature",
            "T scales the standard deviation of z (z = T·ε, so T = 0.5 "
            "samples N(0, 0.25 I)); you scaled by √T, as if T were the variance.",
            S.sample_sqrt_temperature,
            "generate.samples",
            "lower temperatures give cleaner, more typical digits.",
        ),
        Mistake(
            "scaled_output",
            "You scaled the decoder's output: the temperature scales the code z before decoding.",
            S.sample_scaled_output,
        ),
        Mistake(
            "ignores_generator",
            "Two calls with the same generator seed gave different "
            "samples: pass generator=generator to torch.randn.",
            S.sample_ignores_generator,
        ),
        Mistake(
            "divided_by_T",
            "You divided ε by T: z = T·ε, so T = 0 gives the prior's mean "
            "and T = 2 a wider spread.",
            S.sample_divided,
        ),
    ),
    drive="sample",
    tags=("generate",),
)

ACTIVE_UNITS = Drill(
    id="active_units",
    title="active_units: counting the used dimensions",
    params=("mu_batch", "threshold"),
    statement=r"""
### `active_units(mu_batch, threshold)`
`mu_batch` has shape $(N, d)$: the posterior means of $N$ images. Dimension $j$ is *active*
(Burda et al., 2016) when its mean varies with the input:
$$A_j = \mathrm{Var}_{x}\left(\mu_j(x)\right) > \text{threshold}.$$
Return the number of active dimensions (an int or a 0-d tensor). The variance is over the
images (either normalisation; the tests do not depend on it).
""",
    starter='''def active_units(mu_batch, threshold):
    """How many of the d dimensions have Var over the batch of mu_j above threshold."""
    return ...
''',
    reference=S.active_units,
    cases=(
        Case(
            "scales 1, 0.001, 0.5, 0",
            {
                "mu_batch": {"randn": [50, 4], "seed": 28, "scale": [1.0, 0.001, 0.5, 0.0]},
                "threshold": 0.01,
            },
            shows="N = 50, d = 4, spreads (1, 0.001, 0.5, 0), threshold 0.01",
        ),
        Case(
            "std vs var",
            {
                "mu_batch": {"randn": [40, 5], "seed": 29, "scale": [0.2, 0.05, 0.3, 0.01, 2.0]},
                "threshold": 0.02,
            },
            shows="N = 40, d = 5, spreads (0.2, 0.05, 0.3, 0.01, 2), threshold 0.02",
        ),
        Case(
            "large means",
            {
                "mu_batch": {
                    "randn": [30, 3],
                    "seed": 30,
                    "scale": [0.001, 1.0, 0.001],
                    "shift": [5.0, 0.0, -5.0],
                },
                "threshold": 0.01,
            },
            shows="N = 30, d = 3, means (5, 0, -5) with spreads (0.001, 1, 0.001), threshold 0.01",
        ),
    ),
    mistakes=(
        Mistake(
            "var_over_dims",
            "You took the variance across dimensions for each image "
            "(dim=1): a dimension's activity is its variance across the images (dim=0).",
            S.active_var_over_dims,
        ),
        Mistake(
            "std_not_var",
            "You compared the standard deviation with the threshold: the "
            "measure is the variance (a spread of 0.05 has variance 0.0025 < 0.02).",
            S.active_std,
        ),
        Mistake(
            "mean_not_var",
            "You tested the size of the mean: a dimension is active when its "
            "mean *varies* with the input (a constant mean of 5 carries no information).",
            S.active_mean,
            "beta.kl_per_dim",
            "the count of active dimensions per β.",
        ),
    ),
    tags=("collapse",),
)

NATS_TO_BITS = Drill(
    id="nats_to_bits_per_dim",
    title="nats_to_bits_per_dim: reporting a likelihood",
    params=("nats", "dims"),
    statement=r"""
### `nats_to_bits_per_dim(nats, dims)`
A negative log-likelihood of `nats` nats for an image of `dims` dimensions (784 for MNIST),
in bits per dimension: one bit is $\ln 2$ nats, so
$$\text{bits/dim} = \frac{\text{nats}}{\text{dims}\cdot \ln 2}.$$
""",
    starter='''def nats_to_bits_per_dim(nats, dims):
    """nats per image -> bits per dimension."""
    return ...
''',
    reference=S.nats_to_bits_per_dim,
    cases=tuple(
        Case(f"{shown} nats, {d} dims", {"nats": n, "dims": d}, shows=f"nats = {shown}, dims = {d}")
        for n, shown, d in [
            (784 * math.log(2), "784 ln 2", 784),
            (100.0, "100", 784),
            (86.5, "86.5", 784),
            (3.0, "3", 2),
        ]
    ),
    mistakes=(
        Mistake(
            "times_ln2",
            "You multiplied by ln 2: one bit is ln 2 nats, so bits = nats / ln 2.",
            S.bits_times_ln2,
        ),
        Mistake(
            "not_per_dim",
            "You converted to bits but did not divide by the number of "
            "dimensions (784 ln 2 nats over 784 pixels is 1 bit/dim).",
            S.bits_not_per_dim,
        ),
        Mistake(
            "still_nats",
            "You divided by the dimensions but stayed in nats: divide by ln 2 as well.",
            S.bits_still_nats,
            "under_the_hood.elbo_vs_iwae",
            "the bounds there are in nats per image.",
        ),
    ),
    tags=("evaluation",),
)

TRAINING_STEP = Drill(
    id="training_step",
    title="training_step: one optimisation step",
    params=("model", "x", "optimizer", "beta"),
    statement=r"""
### `training_step(model, x, optimizer, beta)`
One step of β-VAE training on a batch `x` of shape $(B, D)$, pixels in $\{0, 1\}$.
`model.encode(x)` returns `(mu, logvar)`, each $(B, d)$; `model.decode(z)` returns logits
$(B, D)$. Sample $z = \mu + \sigma\varepsilon$ with `torch.randn_like(mu)`, compute
$$\mathcal L = \frac1B \sum_b \Big[-\log p(x_b \mid z_b) + \beta\, \mathrm{KL}\big(q(z\mid x_b)\,\|\,\mathcal N(0, I)\big)\Big],$$
then clear the old gradients, backpropagate and step the optimizer. Return the loss as a
float (`loss.item()`).
""",
    starter='''def training_step(model, x, optimizer, beta):
    """One optimisation step on the batch x; returns the loss as a float."""
    return ...
''',
    reference=S.training_step,
    cases=tuple(
        Case(
            f"seed {seed}, beta = {beta}",
            {"seed": seed, "beta": beta, "batch": b},
            "training_step",
            f"a small seeded VAE, SGD, B = {b}, D = 16, d = 2, beta = {beta}, two steps",
        )
        for seed, beta, b in [(0, 1.0, 4), (1, 0.5, 4), (2, 2.0, 6)]
    ),
    mistakes=(
        Mistake(
            "no_zero_grad",
            "Your first step is right but the second is not: gradients "
            "accumulate in .grad from step to step. Call optimizer.zero_grad() before "
            "loss.backward().",
            S.step_no_zero_grad,
        ),
        Mistake(
            "weights_unchanged",
            "The weights did not change: compute the loss, then "
            "loss.backward(), then optimizer.step(), with zero_grad() before the backward, "
            "not between it and the step.",
            S.step_weights_unchanged,
        ),
        Mistake(
            "kl_sign_flipped",
            "Your loss is recon − β·KL: both terms are costs, recon + β·KL.",
            S.step_kl_sign_flipped,
            None,
            "Run it in the model: the KL climbs while your loss falls.",
        ),
        Mistake(
            "detached_sample",
            "The decoder learns but the encoder gets only the KL's "
            "gradient: z was built from detached μ and σ, so the reconstruction cannot "
            "teach the encoder. Build z from mu and logvar themselves.",
            S.step_detached_sample,
            "under_the_hood.no_gradient_path",
        ),
        Mistake(
            "batch_sum",
            "Your loss is summed over the batch: average over images, so the "
            "step size does not grow with the batch.",
            S.step_batch_sum,
        ),
    ),
    drive="train",
    tags=("training",),
)

DRILLS: tuple[Drill, ...] = (
    REPARAMETERIZE,
    GAUSSIAN_KL,
    BERNOULLI_NLL,
    NEGATIVE_ELBO,
    IWAE_BOUND,
    KL_WARMUP,
    FREE_BITS,
    LERP,
    SLERP,
    SAMPLE,
    ACTIVE_UNITS,
    NATS_TO_BITS,
    TRAINING_STEP,
)


@lru_cache(maxsize=1)
def all_drills() -> dict[str, Drill]:
    """Every drill by id, in menu order."""
    by_id = {d.id: d for d in DRILLS}
    if len(by_id) != len(DRILLS):
        raise RuntimeError("two drills share an id")
    return by_id
