"""Reference solutions and the named wrong variants, as server-side functions.

Nothing here is sent to the page: the grader runs these through ``kit.drills.harness`` in the
server to get each hidden case's expected result (the reference) and each classic mistake's
result (the variants). A submission's results are compared with both.

Notation (as in ``kit.losses``): logits and x are (B, D), mu and logvar (B, d), logvar =
log sigma^2, results in nats.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# ---- reparameterize(mu, logvar, eps) -------------------------------------------------------


def reparameterize(mu, logvar, eps):
    """The reference: z = mu + sigma * eps with sigma = exp(logvar / 2)."""
    return mu + torch.exp(0.5 * logvar) * eps  # z = mu + sigma * eps, sigma = exp(logvar / 2)


def reparam_std_is_variance(mu, logvar, eps):
    """The sample scaled by exp(logvar), the variance, instead of sigma."""
    return mu + torch.exp(logvar) * eps


def reparam_logvar_as_std(mu, logvar, eps):
    """The sample with logvar itself used as sigma."""
    return mu + logvar * eps


def reparam_half_outside(mu, logvar, eps):
    """The sample scaled by 0.5 * exp(logvar): the 1/2 outside the exponent."""
    return mu + 0.5 * torch.exp(logvar) * eps


def reparam_no_noise(mu, logvar, eps):
    """Only mu: the noise eps ignored."""
    return mu


def reparam_detached(mu, logvar, eps):
    """The right sample, detached: no gradient reaches mu or logvar."""
    return (mu + torch.exp(0.5 * logvar) * eps).detach()


# ---- gaussian_kl(mu, logvar) -> (B,) ---------------------------------------------------------


def _kl_bracket(mu, logvar):
    return mu.pow(2) + logvar.exp() - logvar - 1.0  # mu^2 + sigma^2 - log sigma^2 - 1


def gaussian_kl(mu, logvar):
    """The reference: KL(q(z|x) || N(0, I)) = 1/2 sum_j (mu^2 + sigma^2 - log sigma^2 - 1), (B,)."""
    return 0.5 * _kl_bracket(mu, logvar).sum(dim=1)  # KL = 1/2 sum_j (...), (B, d) -> (B,)


def kl_sign_flipped(mu, logvar):
    """The KL with the bracket's sign flipped."""
    return -0.5 * _kl_bracket(mu, logvar).sum(dim=1)


def kl_half_missing(mu, logvar):
    """The KL without the 1/2 in front of the sum (twice the true value)."""
    return _kl_bracket(mu, logvar).sum(dim=1)


def kl_missing_minus_one(mu, logvar):
    """The KL without the -1 inside the bracket."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar).sum(dim=1)


def kl_per_dim(mu, logvar):
    """The KL per latent dimension, (B, d): not summed over the dimensions."""
    return 0.5 * _kl_bracket(mu, logvar)


def kl_batch_mean(mu, logvar):
    """One number: the per-image KLs averaged over the batch."""
    return gaussian_kl(mu, logvar).mean()


def kl_mean_over_dims(mu, logvar):
    """The KL averaged over the latent dimensions instead of summed."""
    return 0.5 * _kl_bracket(mu, logvar).mean(dim=1)


def kl_logvar_as_log_sigma(mu, logvar):
    """The KL with logvar read as log sigma (sigma^2 = exp(2 logvar))."""
    return 0.5 * (mu.pow(2) + torch.exp(2 * logvar) - 2 * logvar - 1.0).sum(dim=1)


def kl_logvar_as_variance(mu, logvar):
    """The KL with logvar read as sigma^2 itself (log(logvar): NaN for logvar < 0)."""
    return 0.5 * (mu.pow(2) + logvar - torch.log(logvar) - 1.0).sum(dim=1)


# ---- bernoulli_nll(logits, x) -> (B,) --------------------------------------------------------


def bernoulli_nll(logits, x):
    """The reference: -log p(x|z) summed over each image's pixels, from logits, (B,)."""
    # -log p(x|z) = -sum_i [x_i log s_i + (1 - x_i) log(1 - s_i)], s = sigmoid(l), from logits
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)


def nll_sigmoid_twice(logits, x):
    """The NLL of sigmoid(logits): the logits squashed twice."""
    return bernoulli_nll(torch.sigmoid(logits), x)


def nll_pixel_mean(logits, x):
    """The NLL averaged over pixels instead of summed (D times too small)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").mean(dim=1)


def nll_reduced_batch(logits, x):
    """One number: BCE-with-logits' default mean over everything."""
    return F.binary_cross_entropy_with_logits(logits, x)


def nll_sign_flipped(logits, x):
    """log p(x|z): the NLL's sign flipped."""
    return -bernoulli_nll(logits, x)


def nll_naive_log(logits, x):
    """The NLL from log(sigmoid(l)) and log(1 - sigmoid(l)): infinite for large logits."""
    s = torch.sigmoid(logits)
    return -(x * torch.log(s) + (1 - x) * torch.log(1 - s)).sum(dim=1)


# ---- negative_elbo(logits, x, mu, logvar, beta) -> scalar ----------------------------------


def negative_elbo(logits, x, mu, logvar, beta):
    """The reference: mean over the batch of recon + beta * KL."""
    recon = bernoulli_nll(logits, x)  # (B,)
    kl = gaussian_kl(mu, logvar)  # (B,)
    return (recon + beta * kl).mean()  # L = mean_b [recon + beta * KL]


def elbo_kl_sign_flipped(logits, x, mu, logvar, beta):
    """The loss recon - beta * KL: the KL's sign flipped."""
    return (bernoulli_nll(logits, x) - beta * gaussian_kl(mu, logvar)).mean()


def elbo_pixel_mean(logits, x, mu, logvar, beta):
    """The loss with the reconstruction averaged over pixels (the KL weighted D times too much)."""
    return (nll_pixel_mean(logits, x) + beta * gaussian_kl(mu, logvar)).mean()


def elbo_batch_sum(logits, x, mu, logvar, beta):
    """The loss summed over the batch instead of averaged."""
    return (bernoulli_nll(logits, x) + beta * gaussian_kl(mu, logvar)).sum()


def elbo_beta_on_recon(logits, x, mu, logvar, beta):
    """The loss beta * recon + KL: beta on the wrong term."""
    return (beta * bernoulli_nll(logits, x) + gaussian_kl(mu, logvar)).mean()


def elbo_kl_half_missing(logits, x, mu, logvar, beta):
    """The loss with a KL missing its 1/2 (twice the true KL)."""
    return (bernoulli_nll(logits, x) + beta * kl_half_missing(mu, logvar)).mean()


# ---- iwae_bound(log_px_given_z, log_pz, log_qz), each (K, B) -> (B,) ------------------------


def iwae_bound(log_px_given_z, log_pz, log_qz):
    """The reference: log (1/K) sum_k p(x, z_k) / q(z_k|x), by logsumexp over K, (B,)."""
    log_w = log_px_given_z + log_pz - log_qz  # log p(x, z_k) - log q(z_k|x), (K, B)
    k = log_w.shape[0]
    return torch.logsumexp(log_w, dim=0) - math.log(k)  # log (1/K) sum_k w_k, (B,)


def iwae_missing_log_k(log_px_given_z, log_pz, log_qz):
    """The bound without the -log K (it grows with K)."""
    return torch.logsumexp(log_px_given_z + log_pz - log_qz, dim=0)


def iwae_mean_log_weights(log_px_given_z, log_pz, log_qz):
    """The mean of the log-weights: the ELBO, not the IWAE bound."""
    return (log_px_given_z + log_pz - log_qz).mean(dim=0)


def iwae_naive_log_mean_exp(log_px_given_z, log_pz, log_qz):
    """The bound as log(mean(exp(log w))): -inf once the weights underflow."""
    return torch.log(torch.exp(log_px_given_z + log_pz - log_qz).mean(dim=0))


def iwae_qz_sign(log_px_given_z, log_pz, log_qz):
    """The bound with log q(z|x) added to the log-weights instead of subtracted."""
    log_w = log_px_given_z + log_pz + log_qz
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


def iwae_wrong_dim(log_px_given_z, log_pz, log_qz):
    """The bound reduced over the batch (dim 1) instead of the K samples (dim 0)."""
    log_w = log_px_given_z + log_pz - log_qz
    return torch.logsumexp(log_w, dim=1) - math.log(log_w.shape[0])


# ---- kl_warmup(step, warmup_steps) -> float -------------------------------------------------


def kl_warmup(step, warmup_steps):
    """The reference: the KL weight min(1, t / T), 1 when there is no warm-up (T <= 0)."""
    if warmup_steps <= 0:
        return 1.0  # no warm-up: the full weight from the start
    return min(1.0, step / warmup_steps)  # w(t) = min(1, t / T)


def warmup_no_cap(step, warmup_steps):
    """The weight t / T without the cap at 1."""
    if warmup_steps <= 0:
        return 1.0
    return step / warmup_steps


def warmup_zero_division(step, warmup_steps):
    """The weight with no case for T = 0 (it divides by zero)."""
    return min(1.0, step / warmup_steps)


def warmup_integer_division(step, warmup_steps):
    """The weight by integer division step // T (0 until the end of the warm-up)."""
    if warmup_steps <= 0:
        return 1.0
    return min(1, step // warmup_steps)


def warmup_reversed(step, warmup_steps):
    """The weight falling from 1 to 0 instead of rising."""
    if warmup_steps <= 0:
        return 1.0
    return 1.0 - min(1.0, step / warmup_steps)


# ---- free_bits_kl(kl_per_dim, lam): (B, d) -> scalar ----------------------------------------


def free_bits_kl(kl_per_dim, lam):
    """The reference: sum_j max(lambda, mean_b KL_bj), the floor on each dimension's batch mean."""
    per_dim = kl_per_dim.mean(dim=0)  # batch average of each dimension, (B, d) -> (d,)
    return torch.clamp(per_dim, min=lam).sum()  # sum_j max(lambda, mean_b KL_bj)


def free_bits_per_image(kl_per_dim, lam):
    """The floor applied to each image's KL before averaging over the batch."""
    return torch.clamp(kl_per_dim, min=lam).sum(dim=1).mean()


def free_bits_cap(kl_per_dim, lam):
    """The KL capped at lambda (clamp max) instead of floored."""
    return torch.clamp(kl_per_dim.mean(dim=0), max=lam).sum()


def free_bits_floor_ignored(kl_per_dim, lam):
    """The batch-mean KL summed over dimensions with no floor: lambda ignored."""
    return kl_per_dim.mean(dim=0).sum()


def free_bits_batch_sum(kl_per_dim, lam):
    """The floor applied to each dimension's batch sum instead of its batch mean."""
    return torch.clamp(kl_per_dim.sum(dim=0), min=lam).sum()


def free_bits_on_total(kl_per_dim, lam):
    """The floor applied once to the total KL instead of to each dimension."""
    return torch.clamp(kl_per_dim.mean(dim=0).sum(), min=lam)


# ---- lerp(z_a, z_b, t) and slerp(z_a, z_b, t), codes of shape (d,) ------------------------


def lerp(z_a, z_b, t):
    """The reference: z(t) = (1 - t) z_a + t z_b."""
    return (1 - t) * z_a + t * z_b  # z(t) = (1 - t) z_a + t z_b


def lerp_reversed(z_a, z_b, t):
    """The line run backwards: z_b at t = 0, z_a at t = 1."""
    return t * z_a + (1 - t) * z_b


def lerp_no_complement(z_a, z_b, t):
    """z_a + t z_b: z_a not weighted by (1 - t)."""
    return z_a + t * z_b


def slerp(z_a, z_b, t):
    """The reference: the arc from z_a to z_b, the straight line for (anti)parallel codes."""
    cos = torch.dot(z_a, z_b) / (z_a.norm() * z_b.norm())  # cos Omega of the unit vectors
    omega = torch.acos(torch.clamp(cos, -1.0, 1.0))
    so = torch.sin(omega)
    if so < 1e-6:  # (anti)parallel codes: the arc is a line
        return (1 - t) * z_a + t * z_b
    # z(t) = sin((1 - t) Omega) / sin Omega * z_a + sin(t Omega) / sin Omega * z_b
    return torch.sin((1 - t) * omega) / so * z_a + torch.sin(t * omega) / so * z_b


def slerp_is_lerp(z_a, z_b, t):
    """The straight line (lerp) instead of the arc."""
    return lerp(z_a, z_b, t)


def slerp_unnormalised(z_a, z_b, t):
    """The arc with cos Omega taken as the plain dot product, codes not normalised."""
    omega = torch.acos(torch.clamp(torch.dot(z_a, z_b), -1.0, 1.0))
    so = torch.sin(omega)
    if so < 1e-6:
        return (1 - t) * z_a + t * z_b
    return torch.sin((1 - t) * omega) / so * z_a + torch.sin(t * omega) / so * z_b


def slerp_no_fallback(z_a, z_b, t):
    """The arc without the straight-line fallback: NaN when sin Omega = 0."""
    cos = torch.dot(z_a, z_b) / (z_a.norm() * z_b.norm())
    omega = torch.acos(torch.clamp(cos, -1.0, 1.0))
    so = torch.sin(omega)
    return torch.sin((1 - t) * omega) / so * z_a + torch.sin(t * omega) / so * z_b


def slerp_reversed(z_a, z_b, t):
    """The arc run backwards: z_b at t = 0."""
    return slerp(z_a, z_b, 1 - t)


# ---- sample_with_temperature(decoder, n, T, generator) --------------------------------------


def sample_with_temperature(decoder, n, T, generator):
    """The reference: n decoded codes z = T * eps, eps ~ N(0, I) from ``generator``."""
    eps = torch.randn(n, decoder.latent_dim, generator=generator)  # eps ~ N(0, I), (n, d)
    return decoder(T * eps)  # z = T * eps ~ N(0, T^2 I), decoded


def sample_sqrt_temperature(decoder, n, T, generator):
    """Samples with z = sqrt(T) * eps: T taken as the variance."""
    return decoder(math.sqrt(T) * torch.randn(n, decoder.latent_dim, generator=generator))


def sample_scaled_output(decoder, n, T, generator):
    """The decoder's output scaled by T instead of the code."""
    return T * decoder(torch.randn(n, decoder.latent_dim, generator=generator))


def sample_ignores_generator(decoder, n, T, generator):
    """Samples drawn from the global RNG: ``generator`` ignored."""
    return decoder(T * torch.randn(n, decoder.latent_dim))


def sample_divided(decoder, n, T, generator):
    """Samples with z = eps / T: divided by the temperature."""
    return decoder(torch.randn(n, decoder.latent_dim, generator=generator) / T)


# ---- active_units(mu_batch, threshold) -> int -----------------------------------------------


def active_units(mu_batch, threshold):
    """The reference: how many dimensions have Var_x(mu_j) > ``threshold`` over the batch."""
    # A_j = Var_x(E_q[z_j|x]) over the batch; dimension j is active when A_j > threshold
    return int((mu_batch.var(dim=0) > threshold).sum())


def active_var_over_dims(mu_batch, threshold):
    """The count with the variance taken across dimensions (dim=1), per image."""
    return int((mu_batch.var(dim=1) > threshold).sum())


def active_std(mu_batch, threshold):
    """The count with the standard deviation compared with the threshold, not the variance."""
    return int((mu_batch.std(dim=0) > threshold).sum())


def active_mean(mu_batch, threshold):
    """The count of dimensions whose mean is large, not whose mean varies."""
    return int((mu_batch.mean(dim=0).abs() > threshold).sum())


# ---- nats_to_bits_per_dim(nats, dims) -> float ----------------------------------------------


def nats_to_bits_per_dim(nats, dims):
    """The reference: nats / (dims * ln 2)."""
    return nats / (dims * math.log(2))  # 1 bit = ln 2 nats; per dimension


def bits_times_ln2(nats, dims):
    """nats * ln 2 / dims: multiplied by ln 2 instead of divided."""
    return nats * math.log(2) / dims


def bits_not_per_dim(nats, dims):
    """Bits, not divided by the number of dimensions."""
    return nats / math.log(2)


def bits_still_nats(nats, dims):
    """Nats per dimension: the division by ln 2 missing."""
    return nats / dims


# ---- training_step(model, x, optimizer, beta) -> float ---------------------------------------


def _step_loss(model, x, beta, sign=1.0, detach=False, reduce="mean"):
    mu, logvar = model.encode(x)  # (B, D) -> (B, d) each
    if detach:
        z = mu.detach() + torch.exp(0.5 * logvar.detach()) * torch.randn_like(mu)
    else:
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # reparameterised sample
    logits = model.decode(z)  # (B, d) -> (B, D)
    per_image = bernoulli_nll(logits, x) + sign * beta * gaussian_kl(mu, logvar)  # (B,)
    return per_image.mean() if reduce == "mean" else per_image.sum()


def training_step(model, x, optimizer, beta):
    """The reference: zero_grad, loss, backward, step; returns the loss as a float."""
    optimizer.zero_grad()  # clear the previous step's gradients
    loss = _step_loss(model, x, beta)  # mean_b [recon + beta * KL]
    loss.backward()
    optimizer.step()
    return loss.item()


def step_no_zero_grad(model, x, optimizer, beta):
    """The step without zero_grad: gradients accumulate from step to step."""
    loss = _step_loss(model, x, beta)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_weights_unchanged(model, x, optimizer, beta):
    """The step without optimizer.step(): the weights never change."""
    optimizer.zero_grad()
    loss = _step_loss(model, x, beta)
    loss.backward()
    return loss.item()


def step_kl_sign_flipped(model, x, optimizer, beta):
    """The step on recon - beta * KL: the KL's sign flipped."""
    optimizer.zero_grad()
    loss = _step_loss(model, x, beta, sign=-1.0)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_detached_sample(model, x, optimizer, beta):
    """The step with z built from detached mu and sigma: recon cannot teach the encoder."""
    optimizer.zero_grad()
    loss = _step_loss(model, x, beta, detach=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_batch_sum(model, x, optimizer, beta):
    """The step on the loss summed over the batch instead of averaged."""
    optimizer.zero_grad()
    loss = _step_loss(model, x, beta, reduce="sum")
    loss.backward()
    optimizer.step()
    return loss.item()
