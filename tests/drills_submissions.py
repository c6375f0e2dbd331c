"""Submissions as a learner would type them: one right answer per drill, and one wrong answer
per named mistake (spelled the way the bug appears in the wild, not copied from
``kit.drills.solutions``). Shared by the drill tests."""

CORRECT = {
    "reparameterize": """
def reparameterize(mu, logvar, eps):
    std = torch.exp(0.5 * logvar)
    return mu + std * eps
""",
    "gaussian_kl": """
def gaussian_kl(mu, logvar):
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)
""",
    "bernoulli_nll": """
def bernoulli_nll(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=-1)
""",
    "negative_elbo": """
def negative_elbo(logits, x, mu, logvar, beta):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
    kl = -0.5 * torch.sum(1 + logvar - mu ** 2 - torch.exp(logvar)) / x.shape[0]
    return recon + beta * kl
""",
    "iwae_bound": """
def iwae_bound(log_px_given_z, log_pz, log_qz):
    log_w = log_px_given_z + log_pz - log_qz
    K = log_w.shape[0]
    return torch.logsumexp(log_w, dim=0) - math.log(K)
""",
    "kl_warmup": """
def kl_warmup(step, warmup_steps):
    if warmup_steps == 0:
        return 1.0
    return min(1.0, step / warmup_steps)
""",
    "free_bits_kl": """
def free_bits_kl(kl_per_dim, lam):
    return torch.clamp(kl_per_dim.mean(0), min=lam).sum()
""",
    "lerp": """
def lerp(z_a, z_b, t):
    return z_a + t * (z_b - z_a)
""",
    "slerp": """
def slerp(z_a, z_b, t):
    a = z_a / z_a.norm()
    b = z_b / z_b.norm()
    omega = torch.acos(torch.clamp((a * b).sum(), -1.0, 1.0))
    s = torch.sin(omega)
    if s.abs() < 1e-6:
        return (1 - t) * z_a + t * z_b
    return (torch.sin((1 - t) * omega) * z_a + torch.sin(t * omega) * z_b) / s
""",
    "sample_with_temperature": """
def sample_with_temperature(decoder, n, T, generator):
    z = torch.randn(n, decoder.latent_dim, generator=generator) * T
    return decoder(z)
""",
    "active_units": """
def active_units(mu_batch, threshold):
    variances = mu_batch.var(dim=0, unbiased=False)
    return (variances > threshold).sum()
""",
    "nats_to_bits_per_dim": """
def nats_to_bits_per_dim(nats, dims):
    return nats / dims / math.log(2)
""",
    "training_step": """
def training_step(model, x, optimizer, beta):
    optimizer.zero_grad()
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    logits = model.decode(z)
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=1)
    loss = (recon + beta * kl).mean()
    loss.backward()
    optimizer.step()
    return loss.item()
""",
}

_STEP = """
def training_step(model, x, optimizer, beta):
{zero}    mu, logvar = model.encode(x)
    z = {mu} + torch.exp(0.5 * {logvar}) * torch.randn_like(mu)
    logits = model.decode(z)
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=1)
    loss = (recon {sign} beta * kl).{reduce}()
{after}    return loss.item()
"""


def _step(zero="    optimizer.zero_grad()\n", mu="mu", logvar="logvar", sign="+", reduce="mean",
          after="    loss.backward()\n    optimizer.step()\n"):  # fmt: skip
    return _STEP.format(zero=zero, mu=mu, logvar=logvar, sign=sign, reduce=reduce, after=after)


WRONG = {
    ("reparameterize", "std_is_variance"): """
def reparameterize(mu, logvar, eps):
    return mu + torch.exp(logvar) * eps
""",
    ("reparameterize", "logvar_as_std"): """
def reparameterize(mu, logvar, eps):
    return mu + eps * logvar
""",
    ("reparameterize", "half_outside_exp"): """
def reparameterize(mu, logvar, eps):
    std = 0.5 * logvar.exp()
    return mu + std * eps
""",
    ("reparameterize", "no_noise"): """
def reparameterize(mu, logvar, eps):
    return mu
""",
    ("reparameterize", "detached_sample"): """
def reparameterize(mu, logvar, eps):
    z = mu + torch.exp(0.5 * logvar) * eps
    return z.detach()
""",
    ("gaussian_kl", "kl_sign_flipped"): """
def gaussian_kl(mu, logvar):
    return 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)
""",
    ("gaussian_kl", "kl_half_missing"): """
def gaussian_kl(mu, logvar):
    return -torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)
""",
    ("gaussian_kl", "kl_missing_minus_one"): """
def gaussian_kl(mu, logvar):
    return 0.5 * torch.sum(mu ** 2 + torch.exp(logvar) - logvar, dim=1)
""",
    ("gaussian_kl", "kl_per_dim"): """
def gaussian_kl(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())
""",
    ("gaussian_kl", "kl_batch_mean"): """
def gaussian_kl(mu, logvar):
    return torch.mean(-0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp(), dim=1), dim=0)
""",
    ("gaussian_kl", "kl_mean_over_dims"): """
def gaussian_kl(mu, logvar):
    return -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)
""",
    ("gaussian_kl", "kl_logvar_as_log_sigma"): """
def gaussian_kl(mu, logvar):
    sigma = torch.exp(logvar)
    return 0.5 * (mu ** 2 + sigma ** 2 - 2 * logvar - 1).sum(dim=1)
""",
    ("gaussian_kl", "kl_logvar_as_variance"): """
def gaussian_kl(mu, logvar):
    var = logvar
    return 0.5 * (mu ** 2 + var - torch.log(var) - 1).sum(dim=1)
""",
    ("bernoulli_nll", "sigmoid_twice"): """
def bernoulli_nll(logits, x):
    probs = torch.sigmoid(logits)
    return F.binary_cross_entropy_with_logits(probs, x, reduction="none").sum(dim=1)
""",
    ("bernoulli_nll", "nll_pixel_mean"): """
def bernoulli_nll(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").mean(dim=1)
""",
    ("bernoulli_nll", "nll_reduced_batch"): """
def bernoulli_nll(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x)
""",
    ("bernoulli_nll", "nll_sign_flipped"): """
def bernoulli_nll(logits, x):
    p = torch.sigmoid(logits)
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)
""",
    ("bernoulli_nll", "nll_naive_log"): """
def bernoulli_nll(logits, x):
    p = torch.sigmoid(logits)
    return -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(dim=1)
""",
    ("negative_elbo", "kl_sign_flipped"): """
def negative_elbo(logits, x, mu, logvar, beta):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    kl = 0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp(), dim=1)
    return (recon + beta * kl).mean()
""",
    ("negative_elbo", "recon_pixel_mean"): """
def negative_elbo(logits, x, mu, logvar, beta):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="mean")
    kl = (-0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp(), dim=1)).mean()
    return recon + beta * kl
""",
    ("negative_elbo", "batch_sum"): """
def negative_elbo(logits, x, mu, logvar, beta):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp())
    return recon + beta * kl
""",
    ("negative_elbo", "beta_on_recon"): """
def negative_elbo(logits, x, mu, logvar, beta):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    kl = -0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp(), dim=1)
    return (beta * recon + kl).mean()
""",
    ("negative_elbo", "kl_half_missing"): """
def negative_elbo(logits, x, mu, logvar, beta):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    kl = torch.sum(mu ** 2 + logvar.exp() - logvar - 1, dim=1)
    return (recon + beta * kl).mean()
""",
    ("iwae_bound", "missing_log_k"): """
def iwae_bound(log_px_given_z, log_pz, log_qz):
    return torch.logsumexp(log_px_given_z + log_pz - log_qz, dim=0)
""",
    ("iwae_bound", "mean_log_weights"): """
def iwae_bound(log_px_given_z, log_pz, log_qz):
    return torch.mean(log_px_given_z + log_pz - log_qz, dim=0)
""",
    ("iwae_bound", "naive_log_mean_exp"): """
def iwae_bound(log_px_given_z, log_pz, log_qz):
    w = torch.exp(log_px_given_z + log_pz - log_qz)
    return torch.log(w.mean(dim=0))
""",
    ("iwae_bound", "log_q_added"): """
def iwae_bound(log_px_given_z, log_pz, log_qz):
    log_w = log_px_given_z + log_pz + log_qz
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])
""",
    ("iwae_bound", "wrong_dim"): """
def iwae_bound(log_px_given_z, log_pz, log_qz):
    log_w = log_px_given_z + log_pz - log_qz
    return torch.logsumexp(log_w, dim=1) - math.log(log_w.shape[0])
""",
    ("kl_warmup", "no_cap"): """
def kl_warmup(step, warmup_steps):
    if warmup_steps == 0:
        return 1.0
    return step / warmup_steps
""",
    ("kl_warmup", "zero_division"): """
def kl_warmup(step, warmup_steps):
    return min(1.0, step / warmup_steps)
""",
    ("kl_warmup", "integer_division"): """
def kl_warmup(step, warmup_steps):
    if warmup_steps == 0:
        return 1.0
    return float(min(1, step // warmup_steps))
""",
    ("kl_warmup", "reversed"): """
def kl_warmup(step, warmup_steps):
    if warmup_steps == 0:
        return 1.0
    return max(0.0, 1.0 - step / warmup_steps)
""",
    ("free_bits_kl", "floor_per_image"): """
def free_bits_kl(kl_per_dim, lam):
    return torch.clamp(kl_per_dim, min=lam).sum(dim=1).mean()
""",
    ("free_bits_kl", "cap_not_floor"): """
def free_bits_kl(kl_per_dim, lam):
    return torch.clamp(kl_per_dim.mean(dim=0), max=lam).sum()
""",
    ("free_bits_kl", "floor_ignored"): """
def free_bits_kl(kl_per_dim, lam):
    return kl_per_dim.sum(dim=1).mean()
""",
    ("free_bits_kl", "batch_sum"): """
def free_bits_kl(kl_per_dim, lam):
    return torch.clamp(kl_per_dim.sum(dim=0), min=lam).sum()
""",
    ("free_bits_kl", "floor_on_total"): """
def free_bits_kl(kl_per_dim, lam):
    return torch.clamp(kl_per_dim.mean(dim=0).sum(), min=lam)
""",
    ("lerp", "reversed"): """
def lerp(z_a, z_b, t):
    return t * z_a + (1 - t) * z_b
""",
    ("lerp", "no_complement"): """
def lerp(z_a, z_b, t):
    return z_a + t * z_b
""",
    ("slerp", "is_lerp"): """
def slerp(z_a, z_b, t):
    return (1 - t) * z_a + t * z_b
""",
    ("slerp", "unnormalised"): """
def slerp(z_a, z_b, t):
    omega = torch.acos(torch.clamp(torch.dot(z_a, z_b), -1, 1))
    if torch.sin(omega) < 1e-6:
        return (1 - t) * z_a + t * z_b
    return (torch.sin((1 - t) * omega) * z_a + torch.sin(t * omega) * z_b) / torch.sin(omega)
""",
    ("slerp", "no_parallel_fallback"): """
def slerp(z_a, z_b, t):
    cos = torch.dot(z_a, z_b) / (z_a.norm() * z_b.norm())
    omega = torch.acos(torch.clamp(cos, -1, 1))
    return (torch.sin((1 - t) * omega) * z_a + torch.sin(t * omega) * z_b) / torch.sin(omega)
""",
    ("slerp", "reversed"): """
def slerp(z_a, z_b, t):
    cos = torch.dot(z_a, z_b) / (z_a.norm() * z_b.norm())
    omega = torch.acos(torch.clamp(cos, -1, 1))
    s = torch.sin(omega)
    if s < 1e-6:
        return t * z_a + (1 - t) * z_b
    return (torch.sin(t * omega) * z_a + torch.sin((1 - t) * omega) * z_b) / s
""",
    ("sample_with_temperature", "sqrt_temperature"): """
def sample_with_temperature(decoder, n, T, generator):
    z = torch.randn(n, decoder.latent_dim, generator=generator) * math.sqrt(T)
    return decoder(z)
""",
    ("sample_with_temperature", "scaled_output"): """
def sample_with_temperature(decoder, n, T, generator):
    z = torch.randn(n, decoder.latent_dim, generator=generator)
    return decoder(z) * T
""",
    ("sample_with_temperature", "ignores_generator"): """
def sample_with_temperature(decoder, n, T, generator):
    return decoder(T * torch.randn(n, decoder.latent_dim))
""",
    ("sample_with_temperature", "divided_by_T"): """
def sample_with_temperature(decoder, n, T, generator):
    return decoder(torch.randn(n, decoder.latent_dim, generator=generator) / T)
""",
    ("active_units", "var_over_dims"): """
def active_units(mu_batch, threshold):
    return int((mu_batch.var(dim=1) > threshold).sum())
""",
    ("active_units", "std_not_var"): """
def active_units(mu_batch, threshold):
    return int((mu_batch.std(dim=0) > threshold).sum())
""",
    ("active_units", "mean_not_var"): """
def active_units(mu_batch, threshold):
    return (mu_batch.mean(dim=0).abs() > threshold).sum()
""",
    ("nats_to_bits_per_dim", "times_ln2"): """
def nats_to_bits_per_dim(nats, dims):
    return nats * math.log(2) / dims
""",
    ("nats_to_bits_per_dim", "not_per_dim"): """
def nats_to_bits_per_dim(nats, dims):
    return nats / math.log(2)
""",
    ("nats_to_bits_per_dim", "still_nats"): """
def nats_to_bits_per_dim(nats, dims):
    return nats / dims
""",
    ("training_step", "no_zero_grad"): _step(zero=""),
    ("training_step", "weights_unchanged"): _step(after="    loss.backward()\n"),
    ("training_step", "kl_sign_flipped"): _step(sign="-"),
    ("training_step", "detached_sample"): _step(mu="mu.detach()", logvar="logvar.detach()"),
    ("training_step", "batch_sum"): _step(reduce="sum"),
}

#: a second spelling of one mistake, graded to the same id (zero_grad between backward and step)
SAME_MISTAKE = {
    ("training_step", "weights_unchanged"): _step(
        after="    loss.backward()\n    optimizer.zero_grad()\n    optimizer.step()\n"
    ),
}
