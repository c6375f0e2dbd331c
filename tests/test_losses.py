"""The losses against references: torch.distributions, torch's own BCE, autograd."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from kit.losses import (
    bce_reconstruction,
    beta_weighted,
    free_bits_kl,
    gaussian_kl,
    importance_log_px,
    kl_warmup,
    mse_reconstruction,
    standard_normal_log_prob,
)
from kit.posterior import DiagonalGaussian


def test_closed_form_kl_matches_torch_distributions():
    mu = torch.randn(64, 10, dtype=torch.float64) * 2
    logvar = torch.randn(64, 10, dtype=torch.float64)
    ours = gaussian_kl(mu, logvar)
    ref = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0))
    torch.testing.assert_close(ours, ref)


def test_kl_is_zero_only_at_the_prior():
    zero = gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4))
    assert torch.all(zero == 0)
    assert torch.all(gaussian_kl(torch.full((3, 4), 0.1), torch.zeros(3, 4)) > 0)
    assert torch.all(gaussian_kl(torch.zeros(3, 4), torch.full((3, 4), -0.5)) > 0)


def test_bce_matches_torch_on_probabilities():
    logits = torch.randn(5, 1, 28, 28, dtype=torch.float64)
    x = torch.rand(5, 1, 28, 28, dtype=torch.float64)
    ref = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none").flatten(1).sum(1)
    torch.testing.assert_close(bce_reconstruction(logits, x), ref)


def test_bce_is_finite_for_saturated_logits():
    logits = torch.full((2, 784), 80.0)
    x = torch.zeros(2, 784)
    loss = bce_reconstruction(logits, x)
    assert torch.isfinite(loss).all()
    assert loss[0].item() == pytest.approx(80.0 * 784, rel=1e-4)


def test_mse_per_image():
    x = torch.zeros(2, 1, 28, 28)
    recon = torch.zeros(2, 1, 28, 28)
    recon[1] = 0.5
    torch.testing.assert_close(mse_reconstruction(recon, x), torch.tensor([0.0, 0.25]))


def test_gradients_reach_mu_and_logvar_through_the_sample():
    mu = torch.randn(4, 3, requires_grad=True)
    logvar = torch.randn(4, 3, requires_grad=True)
    z = DiagonalGaussian(mu, logvar).sample(torch.Generator().manual_seed(1))
    (z**2).sum().backward()
    assert mu.grad is not None and logvar.grad is not None
    assert mu.grad.abs().sum() > 0 and logvar.grad.abs().sum() > 0
    # d/dmu of sum z^2 is 2z, exactly, along the pathwise route
    torch.testing.assert_close(mu.grad, 2 * z.detach())


def test_sample_statistics_and_reproducibility():
    post = DiagonalGaussian(torch.full((1, 2), 3.0), torch.full((1, 2), math.log(4.0)))
    z = post.sample(torch.Generator().manual_seed(0), n=20000)  # (n, 1, 2)
    assert z.shape == (20000, 1, 2)
    assert z.mean().item() == pytest.approx(3.0, abs=0.05)
    assert z.std().item() == pytest.approx(2.0, abs=0.05)
    a = post.sample(torch.Generator().manual_seed(7))
    b = post.sample(torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_log_prob_matches_torch():
    mu, logvar = torch.randn(6, 3), torch.randn(6, 3)
    z = torch.randn(6, 3)
    ref = Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
    torch.testing.assert_close(DiagonalGaussian(mu, logvar).log_prob(z), ref)
    torch.testing.assert_close(standard_normal_log_prob(z), Normal(0.0, 1.0).log_prob(z).sum(-1))


def test_beta_weighting_and_warmup():
    assert beta_weighted(torch.tensor(10.0), torch.tensor(2.0), 4.0).item() == 18.0
    assert [kl_warmup(s, 100, 2.0) for s in (0, 50, 100, 500)] == [0.0, 1.0, 2.0, 2.0]
    assert kl_warmup(0, 0, 3.0) == 3.0


def test_free_bits_floors_each_dimension():
    kl = torch.tensor([[0.1, 2.0], [0.3, 4.0]])  # batch means: 0.2 and 3.0
    assert free_bits_kl(kl, 0.5).item() == pytest.approx(0.5 + 3.0)
    assert free_bits_kl(kl, 0.0).item() == pytest.approx(0.2 + 3.0)
    # no gradient flows into a dimension under the floor
    kl_req = kl.clone().requires_grad_(True)
    free_bits_kl(kl_req, 0.5).backward()
    assert kl_req.grad[:, 0].abs().sum() == 0 and kl_req.grad[:, 1].abs().sum() > 0


def test_iwae_with_one_sample_is_the_single_sample_elbo():
    """K = 1: log w = log p(x|z) + log p(z) - log q(z|x) for the one z drawn."""
    post = DiagonalGaussian(torch.randn(3, 2), torch.randn(3, 2) * 0.1)
    w = torch.randn(2, 784)
    x = torch.rand(3, 784)

    def decode_logits(z):
        return z @ w

    gen_a, gen_b = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    est = importance_log_px(post, decode_logits, x, k=1, generator=gen_a)
    z = post.sample(gen_b, n=1)[0]
    manual = (
        -bce_reconstruction(decode_logits(z), x) + standard_normal_log_prob(z) - post.log_prob(z)
    )
    torch.testing.assert_close(est, manual)
