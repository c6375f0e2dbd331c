"""Teaching truth for questions/coding/: each test runs the answer's own reference code.

The code is read out of the question file's ``## Answer`` (``tests/claim_code.py``) and checked
against ``torch.distributions`` references and closed forms, so an edit that breaks the code
in the answer fails here.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from kit.demos.common import get_model
from kit.losses import bce_reconstruction
from tests.claim_code import code_blocks, run_block, section

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _answer_code(qid: str, index: int = 0) -> dict:
    return run_block(code_blocks("coding", qid)[index])


# ---- code-reparameterization ----------------------------------------------------------------


@pytest.mark.claim("code-reparameterization")
def test_reparameterize_matches_rsample_and_has_the_stated_gradients():
    reparameterize = _answer_code("code-reparameterization")["reparameterize"]
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(4, 3, generator=g, dtype=torch.float64).requires_grad_()
    logvar = torch.randn(4, 3, generator=g, dtype=torch.float64).requires_grad_()
    torch.manual_seed(7)
    z = reparameterize(mu, logvar)
    torch.manual_seed(7)
    ref = Normal(mu, torch.exp(0.5 * logvar)).rsample()
    assert torch.equal(z, ref)  # the same numbers as the library's reparameterised draw
    z.sum().backward()
    assert torch.equal(mu.grad, torch.ones_like(mu))  # dz/dmu = 1
    assert torch.allclose(logvar.grad, 0.5 * (z - mu).detach())  # dz/dlogvar = sigma eps / 2


@pytest.mark.claim("code-reparameterization")
def test_reparameterize_has_the_right_moments_and_sample_blocks_gradients():
    reparameterize = _answer_code("code-reparameterization")["reparameterize"]
    mu = torch.full((200_000,), 0.5, dtype=torch.float64)
    logvar = torch.full((200_000,), math.log(4.0), dtype=torch.float64)  # sigma = 2
    z = reparameterize(mu, logvar)
    assert float(z.mean()) == pytest.approx(0.5, abs=0.02)
    assert float(z.std()) == pytest.approx(2.0, abs=0.02)  # exp(logvar / 2), not exp(logvar) = 4
    m = torch.tensor(1.0, requires_grad=True)
    assert not Normal(m, 1.0).sample().requires_grad  # .sample() leaves the graph
    assert Normal(m, 1.0).rsample().requires_grad


@pytest.mark.claim("code-reparameterization")
def test_the_two_broken_ways_of_sampling_quoted_in_the_evidence():
    mu = torch.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        Normal(mu, 1.0).sample().pow(2).backward()  # .sample() is outside the graph
    torch.normal(mu, torch.tensor(1.0)).pow(2).backward()
    assert float(mu.grad) == 0.0  # torch.normal: a graph, but no gradient to the mean


# ---- code-gaussian-kl -----------------------------------------------------------------------


@pytest.mark.claim("code-gaussian-kl")
def test_closed_form_kls_match_torch_distributions_and_monte_carlo():
    ns = _answer_code("code-gaussian-kl")
    kl_diag, kl_std = ns["kl_diag_gaussians"], ns["kl_to_standard_normal"]
    g = torch.Generator().manual_seed(0)
    mu_q, lv_q, mu_p, lv_p = (torch.randn(64, 5, generator=g, dtype=torch.float64) for _ in "abcd")

    def dist(mu, lv):
        return Independent(Normal(mu, torch.exp(0.5 * lv)), 1)

    ref = kl_divergence(dist(mu_q, lv_q), dist(mu_p, lv_p))
    assert torch.allclose(kl_diag(mu_q, lv_q, mu_p, lv_p), ref, atol=1e-12)
    zeros = torch.zeros_like(mu_q)
    ref0 = kl_divergence(dist(mu_q, lv_q), dist(zeros, zeros))
    assert torch.allclose(kl_std(mu_q, lv_q), ref0, atol=1e-12)
    assert torch.allclose(kl_diag(mu_q, lv_q, zeros, zeros), ref0, atol=1e-12)
    assert torch.equal(kl_diag(mu_q, lv_q, mu_q, lv_q), torch.zeros(64, dtype=torch.float64))
    # Monte Carlo: E_q[log q - log p] for one row, within 4 standard errors
    q, p = dist(mu_q[0], lv_q[0]), dist(mu_p[0], lv_p[0])
    z = q.sample((200_000,))
    diff = q.log_prob(z) - p.log_prob(z)
    se = float(diff.std()) / math.sqrt(len(diff))
    assert abs(float(diff.mean()) - float(kl_diag(mu_q[:1], lv_q[:1], mu_p[:1], lv_p[:1]))) < 4 * se
    assert float(kl_diag(mu_q, lv_q, mu_p, lv_p).min()) > 0  # non-negative
    assert not torch.allclose(kl_diag(mu_p, lv_p, mu_q, lv_q), ref)  # not symmetric


@pytest.mark.claim("code-gaussian-kl")
def test_active_dimension_counts_quoted_in_the_evidence(test_digits):
    kl_std = _answer_code("code-gaussian-kl")["kl_to_standard_normal"]
    x = test_digits.as_float()
    counts = []
    with torch.no_grad():
        for name in ("beta-vae-0.5", "beta-vae-1", "beta-vae-4", "beta-vae-10"):
            post = get_model(name).encode(x)
            per_dim = torch.stack(
                [kl_std(post.mu[:, j : j + 1], post.logvar[:, j : j + 1]) for j in range(10)]
            ).mean(1)  # test-set KL per dimension, (10,)
            counts.append(int((per_dim > 0.01).sum()))  # > 0.01 nats: an active dimension
    assert counts == [10, 10, 6, 4]
    assert "(10, 10, 6, 4 for β = 0.5, 1, 4, 10)" in section(
        "coding", "code-gaussian-kl", "Evidence"
    )


# ---- code-vae-loss-training-step -------------------------------------------------------------


class _Encoder(nn.Module):
    def __init__(self, d: int = 4):
        super().__init__()
        self.net, self.mu, self.lv = nn.Linear(784, 64), nn.Linear(64, d), nn.Linear(64, d)

    def forward(self, x):
        h = torch.relu(self.net(x.flatten(1)))  # (B, 784) -> (B, 64)
        return self.mu(h), self.lv(h)  # (B, d) each


@pytest.mark.claim("code-vae-loss-training-step")
def test_vae_loss_equals_the_torch_distributions_negative_elbo(test_digits):
    vae_loss = _answer_code("code-vae-loss-training-step")["vae_loss"]
    x = test_digits.as_float(slice(0, 16)).double()
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(x.shape, generator=g, dtype=torch.float64) * 3
    mu, logvar = (torch.randn(16, 4, generator=g, dtype=torch.float64) for _ in "ab")
    loss, recon, kl = vae_loss(logits, x, mu, logvar, beta=2.0)
    ll = Independent(Bernoulli(logits=logits, validate_args=False), 3).log_prob(x)  # (16,)
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    prior = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    ref_kl = kl_divergence(q, prior)
    assert float(recon) == pytest.approx(float(-ll.mean()), rel=1e-12)
    assert float(kl) == pytest.approx(float(ref_kl.mean()), rel=1e-12)
    assert float(loss) == pytest.approx(float((-ll + 2.0 * ref_kl).mean()), rel=1e-12)


@pytest.mark.claim("code-vae-loss-training-step")
def test_train_step_learns_and_the_reconstruction_reaches_the_encoder(test_digits):
    ns = _answer_code("code-vae-loss-training-step")
    train_step, vae_loss = ns["train_step"], ns["vae_loss"]
    torch.manual_seed(0)
    x = test_digits.as_float(slice(0, 64))
    enc, dec = _Encoder(), nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 784))
    with torch.no_grad():
        start = vae_loss(dec(enc(x)[0]).view_as(x), x, *enc(x))[1]
    assert float(start) == pytest.approx(784 * math.log(2), rel=0.05)  # logits near 0 at init
    # beta = 0: only the reconstruction term, and the encoder still gets a gradient through z
    opt = torch.optim.SGD([*enc.parameters(), *dec.parameters()], lr=0.0)
    train_step(enc, dec, opt, x, beta=0.0)
    assert float(enc.mu.weight.grad.abs().sum()) > 0 and float(enc.lv.weight.grad.abs().sum()) > 0
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=3e-3)
    logs = [train_step(enc, dec, opt, x) for _ in range(40)]
    assert set(logs[0]) == {"loss", "recon", "kl"}
    assert logs[-1]["loss"] < 0.6 * logs[0]["loss"]  # overfits one batch
    assert logs[-1]["loss"] == pytest.approx(logs[-1]["recon"] + logs[-1]["kl"], rel=1e-6)


@pytest.mark.claim("code-vae-loss-training-step")
def test_vae2_test_set_loss_quoted_in_the_evidence(test_digits):
    vae_loss = _answer_code("code-vae-loss-training-step")["vae_loss"]
    model, x = get_model("vae-2"), test_digits.as_float()
    torch.manual_seed(0)
    with torch.no_grad():
        post = model.encode(x)
        logits = model.decode_logits(post.mu + post.std * torch.randn_like(post.mu))
        loss, recon, kl = vae_loss(logits, x, post.mu, post.logvar)
    assert float(kl) == pytest.approx(6.81, abs=0.01)  # closed form, no sampling noise
    assert float(recon) == pytest.approx(133.25, abs=0.3)
    assert float(loss) == pytest.approx(140.06, abs=0.3)


# ---- code-iwae-logsumexp --------------------------------------------------------------------


def _linear_gaussian_terms(x, s2, q_mean, q_var, k, n, gen):
    """p(z) = N(0, 1), p(x|z) = N(z, s2), q = N(q_mean, q_var): (K, n) log-densities."""
    z = q_mean + math.sqrt(q_var) * torch.randn(k, n, generator=gen, dtype=torch.float64)
    return (
        Normal(z, math.sqrt(s2)).log_prob(torch.tensor(x, dtype=torch.float64)),
        Normal(0.0, 1.0).log_prob(z),
        Normal(q_mean, math.sqrt(q_var)).log_prob(z),
    )


@pytest.mark.claim("code-iwae-logsumexp")
def test_iwae_bound_is_exact_with_the_true_posterior_and_rises_with_k():
    iwae_bound = _answer_code("code-iwae-logsumexp")["iwae_bound"]
    x, s2 = 1.5, 0.3
    log_px = float(Normal(0.0, math.sqrt(1 + s2)).log_prob(torch.tensor(x)))
    post_mean, post_var = x / (1 + s2), s2 / (1 + s2)
    g = torch.Generator().manual_seed(0)
    for k in (1, 5, 50):
        exact = iwae_bound(*_linear_gaussian_terms(x, s2, post_mean, post_var, k, 100, g))
        assert torch.allclose(exact, torch.full_like(exact, log_px), atol=1e-6)
    # a worse q (shifted, too wide): K = 1 matches the closed-form ELBO, then rises below log p(x)
    m, v = -0.5, 1.0
    elbo = (
        -0.5 * math.log(2 * math.pi * s2)
        - ((x - m) ** 2 + v) / (2 * s2)
        - float(kl_divergence(Normal(m, math.sqrt(v)), Normal(0.0, 1.0)))
    )
    bounds = [iwae_bound(*_linear_gaussian_terms(x, s2, m, v, k, 4000, g)) for k in (1, 10, 100)]
    means = [float(b.mean()) for b in bounds]
    assert abs(means[0] - elbo) < 4 * float(bounds[0].std()) / math.sqrt(4000)  # unbiased ELBO
    assert means[0] < means[1] < means[2] < log_px
    assert log_px - means[2] < 0.1 < log_px - means[0]


@pytest.mark.claim("code-iwae-logsumexp")
def test_logsumexp_survives_where_the_naive_form_underflows():
    iwae_bound = _answer_code("code-iwae-logsumexp")["iwae_bound"]
    assert float(torch.exp(torch.tensor(-500.0))) == 0.0  # float32 floor is about e^-103
    assert float(torch.exp(torch.tensor(-500.0, dtype=torch.float64))) > 0.0
    assert float(torch.exp(torch.tensor(-800.0, dtype=torch.float64))) == 0.0  # float64: e^-745
    log_w = torch.tensor([[-1000.0], [-1001.0], [-1002.0]], dtype=torch.float64)
    naive = torch.log(torch.exp(log_w).mean(0))
    assert torch.isinf(naive).all()
    zeros = torch.zeros_like(log_w)
    got = iwae_bound(log_w, zeros, zeros)
    expected = -1000.0 + math.log((1 + math.exp(-1) + math.exp(-2)) / 3)
    assert float(got) == pytest.approx(expected, abs=1e-12)


@pytest.mark.claim("code-iwae-logsumexp")
def test_vae2_digit_218_bound_is_loose_against_quadrature(test_digits):
    iwae_bound = _answer_code("code-iwae-logsumexp")["iwae_bound"]
    model, x = get_model("vae-2"), test_digits.as_float(slice(218, 219))
    step = 0.05
    t = torch.arange(-6 + step / 2, 6, step)
    grid = torch.stack(torch.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2)  # (57600, 2)
    with torch.no_grad():
        log_joint = torch.cat(
            [
                -bce_reconstruction(model.decode_logits(c), x.expand(len(c), 1, 28, 28))
                + Normal(0.0, 1.0).log_prob(c).sum(1)
                for c in grid.split(20_000)
            ]
        ).double()
        exact = float(torch.logsumexp(log_joint, 0) + 2 * math.log(step))  # sum over cells * dA
        post = model.encode(x)
        q = Independent(Normal(post.mu[0], post.std[0]), 1)
        z = q.sample((1000,))  # (1000, 2)
        log_px_z = -bce_reconstruction(model.decode_logits(z), x.expand(1000, 1, 28, 28))
        bound = float(
            iwae_bound(
                log_px_z[:, None],
                Normal(0.0, 1.0).log_prob(z).sum(1)[:, None],
                q.log_prob(z)[:, None],
            )
        )
    assert exact == pytest.approx(-133.6, abs=0.1)
    assert bound < exact - 10  # "near -148": still loose on a hard digit
    assert bound == pytest.approx(-148, abs=3)


# ---- code-find-the-loss-bug -----------------------------------------------------------------


class _VAE2Tuple:
    """The shipped VAE-2 behind the question's ``encode -> (mu, logvar)`` interface."""

    def __init__(self):
        self.model = get_model("vae-2")

    def encode(self, x):
        post = self.model.encode(x)
        return post.mu, post.logvar

    def decode(self, z):
        return self.model.decode_logits(z)


@pytest.mark.claim("code-find-the-loss-bug")
def test_fixed_loss_matches_the_reference_and_each_stated_bug_is_real(test_digits):
    buggy = run_block(code_blocks("coding", "code-find-the-loss-bug", "Question")[0])["vae_loss"]
    fixed = _answer_code("code-find-the-loss-bug")["vae_loss"]
    model, x = _VAE2Tuple(), test_digits.as_float(slice(0, 32))
    with torch.no_grad():
        mu, logvar = model.encode(x)
        torch.manual_seed(3)
        got = fixed(model, x)
        torch.manual_seed(3)
        z = Normal(mu, torch.exp(0.5 * logvar)).rsample()
        ll = Independent(Bernoulli(logits=model.decode(z), validate_args=False), 3).log_prob(x)
        ref_kl = kl_divergence(
            Independent(Normal(mu, torch.exp(0.5 * logvar)), 1),
            Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1),
        )
        assert float(got) == pytest.approx(float((-ll + ref_kl).mean()), rel=1e-5)
        # bug 3: the written "KL" is 0.5 * sum(mu^2 - 1): negative for small mu, blind to variance
        small = torch.zeros(32, 2)
        for lv in (-5.0, 0.0, 5.0):
            written = -0.5 * torch.sum(1 + lv - small.pow(2) - lv)
            assert float(written) == pytest.approx(-0.5 * 32 * 2)
        # bug 2: the default mean reduction is the per-image sum / (784 * B)
        probs = torch.sigmoid(model.decode(mu))
        mean_bce = torch.nn.functional.binary_cross_entropy(probs, x)
        per_image = (
            torch.nn.functional.binary_cross_entropy(probs, x, reduction="none").flatten(1).sum(1)
        )
        assert float(mean_bce) == pytest.approx(float(per_image.sum()) / (784 * 32), rel=1e-5)
        # bug 1: exp(logvar) as the standard deviation spreads z by sigma^2
        lv = torch.full((100_000, 1), math.log(0.25))
        spread = (lv.exp() * torch.randn_like(lv)).std()
        assert float(spread) == pytest.approx(0.25, rel=0.02)  # sigma^2, not sigma = 0.5
        # the buggy loss is tiny next to the real one (recon / 784B) and its KL term can go negative
        torch.manual_seed(3)
        assert float(buggy(model, x)) < 0.05 * float(got)


@pytest.mark.claim("code-find-the-loss-bug")
def test_digit_zero_terms_quoted_in_the_evidence(test_digits):
    model, x = get_model("vae-2"), test_digits.as_float(slice(0, 1))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        post = model.encode(x)
        z = post.sample(g, n=4000)  # (4000, 1, 2)
        recon = bce_reconstruction(model.decode_logits(z.reshape(-1, 2)), x.expand(4000, 1, 28, 28))
        kl = kl_divergence(
            Independent(Normal(post.mu, post.std), 1),
            Independent(Normal(torch.zeros(1, 2), torch.ones(1, 2)), 1),
        )
    assert float(recon.mean()) == pytest.approx(83.1, abs=0.3)
    assert float(kl) == pytest.approx(6.85, abs=0.01)
