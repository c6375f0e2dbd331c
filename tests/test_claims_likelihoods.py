"""Teaching truth for questions/likelihoods/: decoder likelihoods checked in closed form.

Identities are checked against ``torch.distributions`` (Normal, ContinuousBernoulli) and by
direct minimisation; numbers about this project are measured on the bundled test digits and
the shipped checkpoints.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import ContinuousBernoulli, Normal

from kit.demos.common import get_model
from tests.claim_code import section

pytestmark = pytest.mark.usefixtures("one_torch_thread")
D = 784


@pytest.fixture(scope="module")
def images(test_digits) -> torch.Tensor:
    return test_digits.as_float()


def _gaussian_nll(x, mean, s2):
    """-log N(x; mean, s2 I) summed over the last dims, written out: SSE/(2 s2) + D/2 log(2 pi s2)."""
    sse = (x - mean).pow(2).flatten(1).sum(1)
    return sse / (2 * s2) + x[0].numel() / 2 * math.log(2 * math.pi * s2)


# ---- mse-as-gaussian-likelihood -------------------------------------------------------------


@pytest.mark.claim("mse-as-gaussian-likelihood")
def test_gaussian_nll_is_scaled_sse_plus_a_constant():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 784, generator=g, dtype=torch.float64)
    mean = torch.rand(8, 784, generator=g, dtype=torch.float64)
    for s2 in (0.01, 0.5, 2.0):
        ref = -Normal(mean, math.sqrt(s2)).log_prob(x).sum(1)
        assert torch.allclose(_gaussian_nll(x, mean, s2), ref, atol=1e-9)
    # same minimiser: the optimal constant prediction is the mean for every sigma (the blur)
    targets = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    c = torch.linspace(0, 1, 1001, dtype=torch.float64)[:, None]
    for s2 in (0.01, 1.0):
        nll = -Normal(c, math.sqrt(s2)).log_prob(targets).sum(1)
        assert float(c[nll.argmin()]) == pytest.approx(1 / 3, abs=1e-3)
    l1 = (c - targets).abs().sum(1)  # and L1's optimum is the median
    assert float(c[l1.argmin()]) == pytest.approx(0.0, abs=1e-3)


@pytest.mark.claim("mse-as-gaussian-likelihood")
def test_digit_8_squared_errors_in_the_evidence(images):
    x = images[8:9]
    with torch.no_grad():
        sse = {
            n: float((get_model(n).decode(get_model(n).encode(x)) - x).pow(2).sum())
            for n in ("ae-32", "ae-2")
        }
    assert sse["ae-32"] == pytest.approx(5.49, abs=0.01)
    assert sse["ae-2"] == pytest.approx(87.7, abs=0.05)
    assert (sse["ae-2"] - sse["ae-32"]) / (2 * 0.01) == pytest.approx(4110, abs=10)


# ---- beta-effective-two-sigma-squared ------------------------------------------------------


def _optimal_q(loss_fn, steps=400):
    """Minimise a loss over a Gaussian q(z) = N(m, v) for one data point by full-batch Adam."""
    m = torch.zeros((), dtype=torch.float64, requires_grad=True)
    lv = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([m, lv], lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(m, lv.exp()).backward()
        opt.step()
    return float(m.detach()), float(lv.detach().exp())


@pytest.mark.claim("beta-effective-two-sigma-squared")
def test_sse_plus_beta_kl_has_the_gaussian_posterior_with_sigma2_beta_over_2():
    x, w = 1.2, 1.5
    for beta in (0.1, 1.0, 4.0):
        s2 = beta / 2

        def sse_beta_kl(m, v, beta=beta):
            sse = (x - w * m) ** 2 + w**2 * v  # E_q (x - w z)^2, exact
            kl = 0.5 * (m**2 + v - 1 - torch.log(v))
            return sse + beta * kl

        m, v = _optimal_q(sse_beta_kl, steps=1500)
        post_var, post_mean = s2 / (w**2 + s2), w * x / (w**2 + s2)  # exact posterior, sigma^2
        assert v == pytest.approx(post_var, rel=1e-3)
        assert m == pytest.approx(post_mean, rel=1e-3)
        # and the Gaussian negative ELBO is (SSE + 2 s2 KL) / (2 s2) + const
        mm, vv = torch.tensor(0.3, dtype=torch.float64), torch.tensor(0.2, dtype=torch.float64)
        neg_elbo = ((x - w * mm) ** 2 + w**2 * vv) / (2 * s2) + 0.5 * math.log(2 * math.pi * s2)
        neg_elbo = neg_elbo + 0.5 * (mm**2 + vv - 1 - torch.log(vv))
        assert float(neg_elbo) == pytest.approx(
            float(sse_beta_kl(mm, vv)) / (2 * s2) + 0.5 * math.log(2 * math.pi * s2), rel=1e-12
        )
    assert math.sqrt(1 / 2) == pytest.approx(0.71, abs=0.005)  # beta = 1 with SSE


@pytest.mark.claim("beta-effective-two-sigma-squared")
def test_rate_distortion_numbers_in_the_evidence(images):
    with torch.no_grad():
        terms = {}
        for name in ("beta-vae-0.5", "beta-vae-10"):
            model = get_model(name)
            post = model.encode(images)
            g = torch.Generator().manual_seed(0)
            logits = model.decode_logits(post.sample(g))
            recon = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, images, reduction="none"
            )
            terms[name] = (float(recon.flatten(1).sum(1).mean()), float(post.kl().mean()))
    assert terms["beta-vae-0.5"][1] == pytest.approx(23.46, abs=0.05)
    assert terms["beta-vae-10"][1] == pytest.approx(3.86, abs=0.05)
    assert terms["beta-vae-0.5"][0] == pytest.approx(79.49, abs=0.3)
    assert terms["beta-vae-10"][0] == pytest.approx(140.61, abs=0.3)


# ---- learned-variance-collapse --------------------------------------------------------------


@pytest.mark.claim("learned-variance-collapse")
def test_per_pixel_variance_optimum_and_its_divergence():
    r = torch.tensor([0.3, 0.05, 1e-3, 1e-6], dtype=torch.float64)
    lv = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([lv], lr=0.1)
    for _ in range(2000):
        opt.zero_grad()
        (-Normal(0.0, (0.5 * lv).exp()).log_prob(r)).sum().backward()
        opt.step()
    assert torch.allclose(lv.exp(), r**2, rtol=1e-3)  # sigma^2 = r^2
    best = -Normal(0.0, r).log_prob(r)
    assert torch.allclose(best, 0.5 * torch.log(2 * math.pi * math.e * r**2))
    assert bool((best[1:] < best[:-1]).all()) and float(best[-1]) < -12  # heads to -infinity


@pytest.mark.claim("learned-variance-collapse")
def test_mnist_constant_pixels_and_dequantisation_penalises_collapse(images):
    flat = images.flatten(1)
    assert int((flat.max(0).values == 0).sum()) == 116  # always 0 in all 10k test digits
    assert float(((flat == 0) | (flat == 1)).float().mean()) == pytest.approx(0.814, abs=0.001)
    # dequantised y = (k + u)/256 in a bin: the expected log-density of a Gaussian at the bin's
    # centre falls once sigma is far below the bin width, and never exceeds log 256
    g = torch.Generator().manual_seed(0)
    y = (100 + torch.rand(100_000, generator=g, dtype=torch.float64)) / 256
    centre = 100.5 / 256
    values = [float(Normal(centre, s).log_prob(y).mean()) for s in (1e-2, 1e-3, 1e-4, 1e-5)]
    assert values[1] > values[2] > values[3]
    assert max(values) < math.log(256)


@pytest.mark.claim("learned-variance-collapse")
def test_evidence_numbers_are_the_measured_ones():
    ev = section("likelihoods", "learned-variance-collapse", "Evidence")
    assert "116 of 784" in ev and "81.4%" in ev


# ---- sigma-vae ------------------------------------------------------------------------------


@pytest.mark.claim("sigma-vae")
def test_optimal_shared_variance_is_the_mse_and_gives_the_log_mse_loss():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(32, 784, generator=g, dtype=torch.float64)
    mean = (x + 0.2 * torch.randn(32, 784, generator=g, dtype=torch.float64)).clamp(0, 1)
    mse = float((x - mean).pow(2).mean())
    s2 = torch.logspace(-4, 0, 4001, dtype=torch.float64)
    nll = torch.stack([_gaussian_nll(x, mean, float(v)).mean() for v in s2[::10]])
    assert float(s2[::10][nll.argmin()]) == pytest.approx(mse, rel=0.03)
    at_opt = float(_gaussian_nll(x, mean, mse).mean())
    assert at_opt == pytest.approx(D / 2 * (math.log(mse) + 1 + math.log(2 * math.pi)), rel=1e-9)


@pytest.mark.claim("sigma-vae")
def test_vae2_sigma_and_nll_in_the_evidence(images):
    model = get_model("vae-2")
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        recon = model.decode(model.encode(images).sample(g))
    mse = float((recon - images).pow(2).mean())
    assert mse == pytest.approx(0.036, abs=0.0005)
    assert math.sqrt(mse) == pytest.approx(0.19, abs=0.005)
    assert 2 * mse == pytest.approx(0.072, abs=0.001)
    assert float(_gaussian_nll(images, recon, mse).mean()) == pytest.approx(-188, abs=1.5)
    assert float(_gaussian_nll(images, recon, 0.5).mean()) == pytest.approx(477, abs=1.5)
    assert 1 / (2 * mse) == pytest.approx(14, abs=0.3)  # "weighted about 14 times less"


# ---- bernoulli-likelihood-grey-pixels ------------------------------------------------------


@pytest.mark.claim("bernoulli-likelihood-grey-pixels")
def test_bce_floor_is_the_binary_entropy_and_averages_45_nats(images):
    x = torch.tensor([0.0, 0.2, 0.5, 0.9, 1.0], dtype=torch.float64)
    p = torch.linspace(1e-6, 1 - 1e-6, 200_001, dtype=torch.float64)[:, None]
    bce = -(torch.xlogy(x, p) + torch.xlogy(1 - x, 1 - p))
    entropy = -(torch.xlogy(x, x) + torch.xlogy(1 - x, 1 - x))
    assert torch.allclose(bce.min(0).values, entropy, atol=2e-6)  # minimum = entropy, at p = x
    assert torch.allclose(p[bce.argmin(0), 0], x, atol=1e-5)
    flat = images.flatten(1).double()
    floor = -(torch.xlogy(flat, flat) + torch.xlogy(1 - flat, 1 - flat)).sum(1)
    assert float(floor.mean()) == pytest.approx(45.5, abs=0.05)
    assert float(floor.median()) == pytest.approx(46.5, abs=0.05)
    assert float(floor.max()) == pytest.approx(81.7, abs=0.05)
    assert float(((flat > 0) & (flat < 1)).float().mean()) == pytest.approx(0.19, abs=0.005)


@pytest.mark.claim("bernoulli-likelihood-grey-pixels")
def test_bernoulli_form_is_unnormalised_and_the_continuous_bernoulli_fixes_it():
    lam = torch.tensor([0.1, 0.3, 0.7], dtype=torch.float64)
    xs = torch.linspace(0, 1, 100_001, dtype=torch.float64)[:, None]
    plain = lam**xs * (1 - lam) ** (1 - xs)
    mass = torch.trapezoid(plain, xs[:, 0], dim=0)
    assert bool(((mass - 1).abs() > 0.05).all())  # not a density on [0, 1]
    c = 2 * torch.atanh(1 - 2 * lam) / (1 - 2 * lam)  # the stated normaliser
    assert torch.allclose(c * mass, torch.ones(3, dtype=torch.float64), atol=1e-6)
    cb = ContinuousBernoulli(probs=lam)
    assert torch.allclose(
        cb.log_prob(torch.full((3,), 0.4, dtype=torch.float64)),
        torch.log(c) + 0.4 * torch.log(lam) + 0.6 * torch.log(1 - lam),
    )
    assert not torch.allclose(cb.mean, lam, atol=0.01)  # its mean is not lambda
