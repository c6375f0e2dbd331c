"""Teaching truth for questions/prior-matching/: WAE's MMD, InfoVAE's split, the AAE's divergence.

The MMD estimator (the answer's code) is checked against the closed-form MMD of two Gaussians
under an RBF kernel; the surgery split and MMD numbers are measured on the shipped models; the
AAE's optimal discriminator and its Jensen-Shannon value are checked by quadrature.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal

from kit.demos.common import get_model
from tests.claim_code import code_blocks, run_block

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def images(test_digits) -> torch.Tensor:
    return test_digits.as_float()


def _wae_code() -> dict:
    return run_block(code_blocks("prior-matching", "wae-mmd")[0])


# ---- wae-mmd --------------------------------------------------------------------------------


def _rbf(h):
    return lambda a, b: torch.exp(-torch.cdist(a, b).pow(2) / (2 * h**2))


def _expected_rbf(m1, s1, m2, s2, h):
    """E k(x, y), x ~ N(m1, s1^2), y ~ N(m2, s2^2), k = exp(-(x - y)^2 / (2 h^2)), exact."""
    v = h**2 + s1**2 + s2**2
    return h / math.sqrt(v) * math.exp(-((m1 - m2) ** 2) / (2 * v))


@pytest.mark.claim("wae-mmd")
def test_unbiased_mmd_matches_the_closed_form_and_the_biased_one_does_not():
    mmd2 = _wae_code()["mmd2_unbiased"]
    h, (m1, s1), (m2, s2) = 1.0, (0.0, 1.0), (0.5, 1.5)
    exact = (
        _expected_rbf(m1, s1, m1, s1, h)
        + _expected_rbf(m2, s2, m2, s2, h)
        - 2 * _expected_rbf(m1, s1, m2, s2, h)
    )
    g = torch.Generator().manual_seed(0)
    unbiased, biased = [], []
    k = _rbf(h)
    for _ in range(300):
        a = m1 + s1 * torch.randn(50, 1, generator=g, dtype=torch.float64)
        b = m2 + s2 * torch.randn(50, 1, generator=g, dtype=torch.float64)
        unbiased.append(float(mmd2(a, b, k)))
        biased.append(float(k(a, a).mean() + k(b, b).mean() - 2 * k(a, b).mean()))
    u, bi = torch.tensor(unbiased), torch.tensor(biased)
    se = float(u.std()) / math.sqrt(len(u))
    assert abs(float(u.mean()) - exact) < 4 * se  # unbiased
    assert float(bi.mean()) - exact > 4 * se  # the diagonal adds a positive bias
    same = [
        float(mmd2(torch.randn(20, 1, generator=g), torch.randn(20, 1, generator=g), k))
        for _ in range(30)
    ]
    assert min(same) < 0  # equal distributions: the estimate can go negative


@pytest.mark.claim("wae-mmd")
def test_mmd_of_vae2_and_ae2_codes_to_the_prior(images):
    ns = _wae_code()
    mmd2, imq = ns["mmd2_unbiased"], ns["imq"]
    x = images[:2000]
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        vae_codes = get_model("vae-2").encode(x).sample(g).double()
        ae_codes = get_model("ae-2").encode(x).double()
    prior = torch.randn(2000, 2, generator=g, dtype=torch.float64)
    other = torch.randn(2000, 2, generator=g, dtype=torch.float64)
    assert float(mmd2(vae_codes, prior, imq)) == pytest.approx(0.0084, abs=0.0005)
    assert float(mmd2(ae_codes, prior, imq)) == pytest.approx(0.166, abs=0.002)
    standardised = (ae_codes - ae_codes.mean(0)) / ae_codes.std(0)
    assert float(mmd2(standardised, prior, imq)) == pytest.approx(0.026, abs=0.001)
    assert abs(float(mmd2(other, prior, imq))) < 0.0005


# ---- infovae-mutual-information -------------------------------------------------------------


@pytest.mark.claim("infovae-mutual-information")
def test_surgery_split_on_vae2(images):
    with torch.no_grad():
        post = get_model("vae-2").encode(images[:1000])
    mu, lv = post.mu.double(), post.logvar.double()
    g = torch.Generator().manual_seed(1)
    z = mu + (lv / 2).exp() * torch.randn(
        64, 1000, 2, generator=g, dtype=torch.float64
    )  # (S, N, 2)

    def log_q_given(zz, m, v):  # log N(zz; m, diag e^v), summed over the 2 dims
        return (-0.5 * (math.log(2 * math.pi) + v + (zz - m) ** 2 / v.exp())).sum(-1)

    log_q = log_q_given(z, mu, lv)  # (S, N)
    log_qbar = torch.stack(  # log q(z) = log mean_m q(z | x_m), one sample draw at a time
        [torch.logsumexp(log_q_given(zs.unsqueeze(-2), mu, lv), -1) for zs in z]
    ) - math.log(1000)  # (S, N)
    log_p = Normal(0.0, 1.0).log_prob(z).sum(-1)
    info, marginal = float((log_q - log_qbar).mean()), float((log_qbar - log_p).mean())
    closed_kl = float((0.5 * (mu**2 + lv.exp() - 1 - lv).sum(1)).mean())
    assert info + marginal == pytest.approx(closed_kl, abs=0.05)  # MC of the identity
    assert closed_kl == pytest.approx(6.74, abs=0.01)
    assert info == pytest.approx(5.85, abs=0.05)
    assert marginal == pytest.approx(0.89, abs=0.05)
    assert info < math.log(1000)


# ---- adversarial-autoencoder ----------------------------------------------------------------


@pytest.mark.claim("adversarial-autoencoder")
def test_optimal_discriminator_and_the_jensen_shannon_value():
    z = torch.linspace(-12, 12, 240_001, dtype=torch.float64)
    dz = float(z[1] - z[0])
    p = Normal(0.0, 1.0).log_prob(z).exp()  # prior
    q = (
        0.5 * Normal(-2.0, 0.7).log_prob(z).exp() + 0.5 * Normal(1.5, 1.2).log_prob(z).exp()
    )  # codes

    def value(d):  # E_p log D + E_q log(1 - D)
        return float(((p * torch.log(d) + q * torch.log1p(-d)) * dz).sum())

    d_star = p / (p + q)
    for other in (d_star.clamp(0.05, 0.95), torch.full_like(z, 0.5), torch.sigmoid(2 - z.abs())):
        assert value(d_star) > value(other)  # the optimum
    mix = 0.5 * (p + q)
    jsd = 0.5 * float(((p * torch.log(p / mix) + q * torch.log(q / mix)) * dz).sum())
    assert value(d_star) == pytest.approx(2 * jsd - math.log(4), abs=1e-6)
    assert value(torch.full_like(z, 0.5)) == pytest.approx(-math.log(4), abs=1e-6)  # D = 1/2


@pytest.mark.claim("adversarial-autoencoder")
def test_ae2_code_spread_quoted_in_the_evidence(images):
    with torch.no_grad():
        std = get_model("ae-2").encode(images).std(0)
    assert (round(float(std[0]), 1), round(float(std[1]), 1)) == (5.6, 4.7)
