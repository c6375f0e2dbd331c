"""Teaching truth for questions/representation-learning/: sparse, contractive, denoising, masked.

Closed forms (soft-threshold, sigmoid Jacobian, Tweedie, denoising score matching) are checked
by direct minimisation, autograd and quadrature; the numbers about this project are measured on
AE-32 and the bundled test digits; the masking code is the answer's own.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from kit.demos.common import get_model
from tests.claim_code import code_blocks, run_block

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def images(test_digits) -> torch.Tensor:
    return test_digits.as_float()


# ---- sparse-autoencoders --------------------------------------------------------------------


@pytest.mark.claim("sparse-autoencoders")
def test_l1_solution_is_a_soft_threshold_that_shrinks_by_lambda():
    lam = 0.3
    a = torch.tensor([-1.0, -0.2, 0.1, 0.5, 2.0], dtype=torch.float64)
    h = torch.linspace(-3, 3, 600_001, dtype=torch.float64)[:, None]
    best = h[(0.5 * (h - a) ** 2 + lam * h.abs()).argmin(0), 0]
    soft = torch.sign(a) * (a.abs() - lam).clamp(min=0)
    assert torch.allclose(best, soft, atol=1e-5)
    assert torch.equal(soft[1:3], torch.zeros(2, dtype=torch.float64))  # small ones: exactly zero
    assert torch.allclose(
        (a - soft)[a.abs() > lam].abs(), torch.full((3,), lam, dtype=torch.float64)
    )


@pytest.mark.claim("sparse-autoencoders")
def test_kl_sparsity_penalty_is_the_bernoulli_kl_of_the_average_rate():
    rho, acts = 0.05, torch.rand(256, 20, generator=torch.Generator().manual_seed(0)) * 0.3
    rate = acts.mean(0)  # each unit's average activation
    written = rho * torch.log(rho / rate) + (1 - rho) * torch.log((1 - rho) / (1 - rate))
    assert torch.allclose(
        written, kl_divergence(Bernoulli(torch.full_like(rate, rho)), Bernoulli(rate))
    )
    k = 3  # top-k keeps exactly k per row, unshrunk
    kept = torch.zeros_like(acts).scatter(1, acts.topk(k, 1).indices, acts.topk(k, 1).values)
    assert torch.equal((kept > 0).sum(1), torch.full((256,), k))
    assert torch.equal(kept.max(1).values, acts.max(1).values)


# ---- contractive-autoencoders ---------------------------------------------------------------


@pytest.mark.claim("contractive-autoencoders")
def test_sigmoid_jacobian_closed_form_and_probe_estimate():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(16, 30, generator=g, dtype=torch.float64)
    b = torch.randn(16, generator=g, dtype=torch.float64)
    x = torch.randn(30, generator=g, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: torch.sigmoid(w @ v + b), x)
    h = torch.sigmoid(w @ x + b)
    closed = ((h * (1 - h)) ** 2 * w.pow(2).sum(1)).sum()
    assert float(jac.pow(2).sum()) == pytest.approx(float(closed), rel=1e-12)
    probes = torch.randn(20_000, 30, generator=g, dtype=torch.float64)
    estimate = (probes @ jac.T).pow(2).sum(1).mean()  # E |J eps|^2
    assert float(estimate) == pytest.approx(float(closed), rel=0.03)


@pytest.mark.claim("contractive-autoencoders")
def test_ae32_jacobian_rank_and_gain_and_noise_pass_through(images):
    ae = get_model("ae-32")

    def reconstruct(v):
        return ae.decode(ae.encode(v.view(1, 1, 28, 28))).flatten()

    jac = torch.autograd.functional.jacobian(reconstruct, images[0].flatten())  # (784, 784)
    sv = torch.linalg.svdvals(jac.double())
    assert int((sv > 1e-3).sum()) == 32 and float(sv[32]) < 1e-5
    assert float(sv[0]) == pytest.approx(6.2, abs=0.05)
    assert float(jac.pow(2).sum() / 784) == pytest.approx(0.29, abs=0.005)
    g = torch.Generator().manual_seed(0)
    x = images[:1000]
    with torch.no_grad():
        noisy = (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1)
        recon = ae.decode(ae.encode(noisy))
    assert round(float((noisy - x).pow(2).mean()), 4) == 0.0054
    assert round(float((recon - x).pow(2).mean()), 3) == 0.011


# ---- denoising-tweedie ----------------------------------------------------------------------


@pytest.mark.claim("denoising-tweedie")
def test_tweedie_on_the_empirical_digit_distribution(images):
    data = images[:200].flatten(1).double()  # (200, 784): p(x) = the 200 digits, equally likely
    sigma = 0.5
    g = torch.Generator().manual_seed(0)
    noisy = (
        data[:5] + sigma * torch.randn(5, 784, generator=g, dtype=torch.float64)
    ).requires_grad_()

    def log_p_sigma(v):  # log of the mixture of N(x_n, sigma^2 I), up to a constant
        return torch.logsumexp(-torch.cdist(v, data).pow(2) / (2 * sigma**2), dim=1)

    (score,) = torch.autograd.grad(log_p_sigma(noisy).sum(), noisy)
    weights = torch.softmax(-torch.cdist(noisy.detach(), data).pow(2) / (2 * sigma**2), dim=1)
    posterior_mean = weights @ data  # E[x | noisy], exact for this p(x)
    assert torch.allclose(noisy.detach() + sigma**2 * score, posterior_mean, atol=1e-10)


@pytest.mark.claim("denoising-tweedie")
def test_tweedie_for_a_continuous_mixture_by_quadrature():
    sigma, grid = 0.7, torch.linspace(-10, 10, 200_001, dtype=torch.float64)
    prior = (
        0.3 * Normal(-2.0, 0.5).log_prob(grid).exp() + 0.7 * Normal(1.0, 0.3).log_prob(grid).exp()
    )
    for y in (-1.5, 0.2, 2.0):
        lik = Normal(grid, sigma).log_prob(torch.tensor(y, dtype=torch.float64)).exp()
        post_mean = float((grid * prior * lik).sum() / (prior * lik).sum())
        yt = torch.tensor(y, dtype=torch.float64, requires_grad=True)
        dens = (
            0.3 * Normal(-2.0, math.sqrt(0.25 + sigma**2)).log_prob(yt).exp()
            + 0.7 * Normal(1.0, math.sqrt(0.09 + sigma**2)).log_prob(yt).exp()
        )  # p_sigma in closed form
        (score,) = torch.autograd.grad(torch.log(dens), yt)
        assert y + sigma**2 * float(score) == pytest.approx(post_mean, abs=1e-6)


# ---- denoising-score-matching ---------------------------------------------------------------


@pytest.mark.claim("denoising-score-matching")
def test_dsm_least_squares_recovers_the_noised_score():
    g = torch.Generator().manual_seed(0)
    fits = {}
    for sigma in (0.5, 0.05):
        x = torch.randn(200_000, generator=g, dtype=torch.float64)
        eps = torch.randn(200_000, generator=g, dtype=torch.float64)
        noisy, target = x + sigma * eps, -eps / sigma  # grad log q(noisy | x)
        a = (noisy * target).sum() / noisy.pow(2).sum()
        se = (target - a * noisy).std() / noisy.pow(2).sum().sqrt()
        fits[sigma] = (float(a), float(se))
        assert abs(float(a) + 1 / (1 + sigma**2)) < 4 * float(se)  # the noised density's score
    assert round(fits[0.5][0], 2) == -0.79 and round(fits[0.5][1], 3) == 0.004
    assert fits[0.05][1] / fits[0.5][1] == pytest.approx(12, abs=1)
    assert round((1 / 0.05**2) / (1 / 0.5**2)) == 100  # target variance ratio


# ---- masked-autoencoders --------------------------------------------------------------------


@pytest.mark.claim("masked-autoencoders")
def test_random_masking_from_the_answer_keeps_and_restores_correctly():
    random_masking = run_block(code_blocks("representation-learning", "masked-autoencoders")[0])[
        "random_masking"
    ]
    g = torch.Generator().manual_seed(0)
    tokens = torch.randn(8, 49, 16, generator=g)  # a 28x28 digit in 4x4 patches: 49 tokens
    kept, mask, ids_restore = random_masking(tokens, 0.75, generator=g)
    assert kept.shape == (8, 12, 16)
    assert torch.equal(mask.sum(1), torch.full((8,), 37.0))  # 37 of 49 masked
    for i in range(8):  # the kept tokens are exactly the unmasked ones, in shuffled order
        visible = tokens[i][mask[i] == 0]
        assert sorted(map(tuple, visible.tolist())) == sorted(map(tuple, kept[i].tolist()))
    full_shuffled = torch.cat([kept, torch.zeros(8, 37, 16)], 1)
    unshuffled = torch.gather(full_shuffled, 1, ids_restore.unsqueeze(-1).expand(-1, -1, 16))
    assert torch.equal(unshuffled[mask == 0], tokens[mask == 0])


@pytest.mark.claim("masked-autoencoders")
def test_neighbouring_pixels_are_redundant(images):
    img = images[:, 0]
    one = torch.corrcoef(torch.stack([img[:, :, :-1].flatten(), img[:, :, 1:].flatten()]))[0, 1]
    two = torch.corrcoef(torch.stack([img[:, :, :-2].flatten(), img[:, :, 2:].flatten()]))[0, 1]
    assert (round(float(one), 2), round(float(two), 2)) == (0.81, 0.52)
