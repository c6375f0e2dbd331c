"""Teaching truth for questions/hierarchical/: precision weighting, the KL chain rule, the
residual normal and KL balancing, checked by quadrature, closed forms and autograd; the
collapse pattern read from beta-vae-10's recorded training history and its weights.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from kit.demos.common import get_model
from kit.models import read_training_record

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _f64(*values):
    return [torch.tensor(v, dtype=torch.float64) for v in values]


# ---- ladder-vae-precision-weighting ---------------------------------------------------------


@pytest.mark.claim("ladder-vae-precision-weighting")
def test_precision_weighting_is_the_normalised_product_of_gaussians():
    mu_hat, var_hat, mu_p, var_p = 1.4, 0.3, -0.5, 2.0
    var_q = 1 / (1 / var_hat + 1 / var_p)
    mu_q = var_q * (mu_hat / var_hat + mu_p / var_p)
    z = torch.linspace(-15, 15, 300_001, dtype=torch.float64)
    dz = float(z[1] - z[0])
    product = (
        Normal(mu_hat, math.sqrt(var_hat)).log_prob(z) + Normal(mu_p, math.sqrt(var_p)).log_prob(z)
    ).exp()
    product = product / (product.sum() * dz)
    mean = float((z * product).sum() * dz)
    var = float(((z - mean) ** 2 * product).sum() * dz)
    assert mean == pytest.approx(mu_q, abs=1e-6) and var == pytest.approx(var_q, abs=1e-6)
    assert abs(mu_q - mu_hat) < abs(mu_q - mu_p)  # the more precise source dominates


@pytest.mark.claim("ladder-vae-precision-weighting")
def test_beta_vae_10_collapse_pattern_in_its_training_record(test_digits):
    record = read_training_record("beta-vae-10")
    kl = {
        int(e): torch.as_tensor(row)
        for e, row in zip(record.epochs, record.kl_history, strict=True)
    }
    assert int((kl[1] > 0.005).sum()) == 10  # every dimension still carries some KL
    assert torch.nonzero(kl[2] > 0.01).flatten().tolist() == [2, 5, 8]
    assert all(bool((kl[e][[2, 5, 8]] > 0.01).all()) for e in kl if e >= 2)
    with torch.no_grad():  # the final pattern, recomputed from the weights
        final = get_model("beta-vae-10").encode(test_digits.as_float()).kl_per_dim().mean(0)
    assert torch.nonzero(final > 0.01).flatten().tolist() == [2, 4, 5, 8]
    assert float(final[4]) == pytest.approx(0.4, abs=0.03)


# ---- hierarchical-kl-chain-rule -------------------------------------------------------------


@pytest.mark.claim("hierarchical-kl-chain-rule")
def test_joint_kl_equals_top_kl_plus_expected_conditional_kl():
    # p: z2 ~ N(0, 1), z1 | z2 ~ N(a z2, s2);  q: z2 ~ N(m2, v2), z1 | z2 ~ N(c z2 + d, v1)
    a, s2, m2, v2, c, d, v1 = 0.8, 0.5, 0.3, 0.4, -0.6, 0.2, 0.25
    p_joint = MultivariateNormal(*_f64([0.0, 0.0], [[1.0, a], [a, a * a + s2]]))
    q_mean = [m2, c * m2 + d]
    q_cov = [[v2, c * v2], [c * v2, c * c * v2 + v1]]
    q_joint = MultivariateNormal(*_f64(q_mean, q_cov))  # order (z2, z1)
    joint = float(kl_divergence(q_joint, p_joint))
    top = float(kl_divergence(Normal(*_f64(m2, math.sqrt(v2))), Normal(*_f64(0.0, 1.0))))
    # E_{q(z2)} KL(N(c z2 + d, v1) || N(a z2, s2)) in closed form: the mean gap (c - a) z2 + d
    gap_sq = (c - a) ** 2 * (v2 + m2**2) + 2 * (c - a) * m2 * d + d**2
    expected_cond = 0.5 * (math.log(s2 / v1) + (v1 + gap_sq) / s2 - 1)
    assert joint == pytest.approx(top + expected_cond, abs=1e-12)
    g = torch.Generator().manual_seed(0)  # and the same by Monte Carlo over the parent
    z2 = m2 + math.sqrt(v2) * torch.randn(200_000, generator=g, dtype=torch.float64)
    cond = kl_divergence(Normal(c * z2 + d, math.sqrt(v1)), Normal(a * z2, math.sqrt(s2)))
    assert float(cond.mean()) == pytest.approx(
        expected_cond, abs=4 * float(cond.std()) / math.sqrt(len(cond))
    )


# ---- nvae-vdvae -----------------------------------------------------------------------------


@pytest.mark.claim("nvae-vdvae")
def test_residual_normal_kl_formula_and_its_independence_of_the_prior_mean():
    g = torch.Generator().manual_seed(0)
    mu_p, dmu = torch.randn(2, 100, generator=g, dtype=torch.float64)
    sigma_p, dsigma = torch.rand(2, 100, generator=g, dtype=torch.float64) * 2 + 0.1
    formula = 0.5 * (dmu**2 / sigma_p**2 + dsigma**2 - torch.log(dsigma**2) - 1)
    ref = kl_divergence(Normal(mu_p + dmu, sigma_p * dsigma), Normal(mu_p, sigma_p))
    assert torch.allclose(formula, ref, atol=1e-12)
    shifted = kl_divergence(Normal(mu_p + 7.0 + dmu, sigma_p * dsigma), Normal(mu_p + 7.0, sigma_p))
    assert torch.allclose(shifted, ref, atol=1e-10)


# ---- kl-balancing ---------------------------------------------------------------------------


@pytest.mark.claim("kl-balancing")
def test_dreamer_balancing_keeps_the_value_and_splits_the_gradient():
    alpha = 0.8
    grads = {}
    for kind in ("plain", "balanced"):
        q_mu, q_ls, p_mu, p_ls = (
            torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.4, -0.3, -0.2, 0.5)
        )

        def kl(qm, qs, pm, ps):
            return kl_divergence(Normal(qm, qs.exp()), Normal(pm, ps.exp()))

        if kind == "plain":
            loss = kl(q_mu, q_ls, p_mu, p_ls)
        else:
            loss = alpha * kl(q_mu.detach(), q_ls.detach(), p_mu, p_ls) + (1 - alpha) * kl(
                q_mu, q_ls, p_mu.detach(), p_ls.detach()
            )
        loss.backward()
        grads[kind] = (
            float(loss.detach()),
            [float(t.grad) for t in (q_mu, q_ls)],
            [float(t.grad) for t in (p_mu, p_ls)],
        )
    assert grads["balanced"][0] == pytest.approx(grads["plain"][0], abs=1e-12)  # same value
    for got, want in zip(grads["balanced"][1], grads["plain"][1], strict=True):
        assert got == pytest.approx((1 - alpha) * want, abs=1e-12)  # posterior: 1 - alpha
    for got, want in zip(grads["balanced"][2], grads["plain"][2], strict=True):
        assert got == pytest.approx(alpha * want, abs=1e-12)  # prior: alpha


@pytest.mark.claim("kl-balancing")
def test_beta_vae_4_has_four_collapsed_dimensions(test_digits):
    with torch.no_grad():
        per_dim = get_model("beta-vae-4").encode(test_digits.as_float()).kl_per_dim().mean(0)
    assert int((per_dim < 0.01).sum()) == 4
