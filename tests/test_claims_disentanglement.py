"""Teaching truth for questions/disentanglement/: decompositions, metrics and symmetries.

The KL decomposition is checked by exact 2-D quadrature, the covariance split against Monte
Carlo, MIG (the answer's own code) on synthetic factors, and the rotation argument in closed
form on a linear-Gaussian model; the β-VAE numbers are measured on the shipped checkpoints.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kit.demos.common import get_model
from tests.claim_code import code_blocks, run_block

pytestmark = pytest.mark.usefixtures("one_torch_thread")
BETAS = ("beta-vae-0.5", "beta-vae-1", "beta-vae-4", "beta-vae-10")


@pytest.fixture(scope="module")
def images(test_digits) -> torch.Tensor:
    return test_digits.as_float()


@pytest.fixture(scope="module")
def beta_posteriors(images) -> dict:
    with torch.no_grad():
        return {name: get_model(name).encode(images) for name in BETAS}


# ---- factorvae-total-correlation ------------------------------------------------------------


@pytest.mark.claim("factorvae-total-correlation")
def test_permuting_each_dimension_samples_the_product_of_marginals():
    g = torch.Generator().manual_seed(0)
    cov = torch.tensor([[1.0, 0.8], [0.8, 1.0]], dtype=torch.float64)
    z = torch.randn(50_000, 2, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(cov).T
    perm = torch.stack([z[torch.randperm(len(z), generator=g), j] for j in range(2)], 1)
    for j in range(2):  # each column keeps exactly its marginal values
        assert torch.equal(perm[:, j].sort().values, z[:, j].sort().values)
    assert abs(float(torch.corrcoef(perm.T)[0, 1])) < 0.02  # dependence destroyed
    # Gaussian TC = -1/2 log det R; the density-ratio (optimal logit) estimate agrees
    tc = -0.5 * math.log(1 - 0.8**2)
    joint = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=torch.float64), cov)
    marg = torch.distributions.Normal(0.0, 1.0)
    log_ratio = joint.log_prob(z) - marg.log_prob(z).sum(1)  # log D*/(1-D*) at the optimum
    assert float(log_ratio.mean()) == pytest.approx(tc, abs=0.01)


@pytest.mark.claim("factorvae-total-correlation")
def test_gaussian_tc_of_the_shipped_beta_vaes(beta_posteriors):
    g = torch.Generator().manual_seed(0)
    tcs, active = [], []
    for name in BETAS:
        post = beta_posteriors[name]
        z = post.sample(g).double()
        tcs.append(float(-0.5 * torch.logdet(torch.corrcoef(z.T))))
        active.append(int((post.kl_per_dim().mean(0) > 0.01).sum()))
    assert (round(tcs[0], 2), round(tcs[1], 3), round(tcs[2], 4), round(tcs[3], 4)) == (
        0.11,
        0.023,
        0.0065,
        0.0040,
    )  # as quoted
    assert active == [10, 10, 6, 4]


# ---- beta-tcvae-decomposition ---------------------------------------------------------------


def _log_normal(x, m, s):
    return -0.5 * math.log(2 * math.pi) - torch.log(s) - (x - m) ** 2 / (2 * s**2)


@pytest.mark.claim("beta-tcvae-decomposition")
def test_three_way_decomposition_adds_up_by_quadrature(images):
    with torch.no_grad():
        post = get_model("vae-2").encode(images[:20])
    mu, sd = post.mu.double(), post.std.double()  # (20, 2) each: the "data set" of 20 posteriors
    n, step = 20, 0.01
    t = torch.arange(-5 + step / 2, 5, step, dtype=torch.float64)  # (1000,)
    l1, l2 = _log_normal(t[None], mu[:, :1], sd[:, :1]), _log_normal(t[None], mu[:, 1:], sd[:, 1:])
    log_qz = torch.logsumexp(l1[:, :, None] + l2[:, None, :], 0) - math.log(n)  # (1000, 1000)
    log_q1, log_q2 = torch.logsumexp(l1, 0) - math.log(n), torch.logsumexp(l2, 0) - math.log(n)
    log_p = _log_normal(t, torch.tensor(0.0), torch.tensor(1.0))
    qz = log_qz.exp()
    assert float(qz.sum() * step**2) == pytest.approx(1.0, abs=1e-6)
    tc = float((qz * (log_qz - log_q1[:, None] - log_q2[None, :])).sum() * step**2)
    dim_kl = float(
        ((log_q1.exp() * (log_q1 - log_p)).sum() + (log_q2.exp() * (log_q2 - log_p)).sum()) * step
    )
    cond_entropy = float((0.5 * torch.log(2 * math.pi * math.e * sd**2)).sum(1).mean())
    mi = -cond_entropy - float((qz * log_qz).sum() * step**2)  # I = H(z) - H(z|n)
    avg_kl = float((0.5 * (mu**2 + sd**2 - 1 - 2 * torch.log(sd)).sum(1)).mean())  # closed form
    assert mi + tc + dim_kl == pytest.approx(avg_kl, abs=1e-4)
    assert 0 < mi <= math.log(n)
    assert (round(avg_kl, 2), round(mi, 2), round(tc, 2), round(dim_kl, 2)) == (
        6.70,
        2.98,
        2.06,
        1.66,
    )


# ---- dip-vae-covariance ---------------------------------------------------------------------


@pytest.mark.claim("dip-vae-covariance")
def test_law_of_total_covariance_and_the_beta_vae_numbers(beta_posteriors):
    post = beta_posteriors["beta-vae-4"]
    mu, var = post.mu.double(), post.logvar.exp().double()
    total = torch.cov(mu.T) + torch.diag(var.mean(0))  # Cov[mu] + E[Sigma]
    g = torch.Generator().manual_seed(0)
    draws = torch.cat([post.sample(g).double() for _ in range(4)])  # 40k samples of q(z)
    assert float((torch.cov(draws.T) - total).abs().max()) < 0.03
    diag = torch.diag(total)
    assert float(diag.min()) > 0.975 and float(diag.max()) < 1.035
    assert float((total - torch.diag(diag)).abs().max()) == pytest.approx(0.061, abs=0.001)
    inactive = post.kl_per_dim().mean(0) < 0.01
    assert int(inactive.sum()) == 4
    assert float(torch.var(mu[:, inactive], 0).max()) < 0.01
    assert float(var[:, inactive].mean(0).min()) > 0.98
    mu05 = beta_posteriors["beta-vae-0.5"].mu.double()
    cov05 = torch.cov(mu05.T)
    assert float((cov05 - torch.diag(torch.diag(cov05))).abs().max()) == pytest.approx(
        0.30, abs=0.005
    )


@pytest.mark.claim("dip-vae-covariance")
def test_identity_covariance_does_not_mean_independence():
    g = torch.Generator().manual_seed(0)
    angle = torch.rand(100_000, generator=g, dtype=torch.float64) * 2 * math.pi
    ring = torch.stack([angle.cos(), angle.sin()], 1) * math.sqrt(2)  # a ring: Cov = I
    assert torch.allclose(torch.cov(ring.T), torch.eye(2, dtype=torch.float64), atol=0.02)
    # but |z1| and |z2| are strongly (negatively) dependent
    assert float(torch.corrcoef(ring.abs().T)[0, 1]) < -0.5


# ---- disentanglement-metrics ----------------------------------------------------------------


@pytest.mark.claim("disentanglement-metrics")
def test_mig_code_from_the_answer_on_synthetic_factors():
    ns = run_block(code_blocks("disentanglement", "disentanglement-metrics")[0])
    mig, discrete_mi = ns["mig"], ns["discrete_mi"]
    rng = np.random.default_rng(0)
    v = rng.integers(0, 10, size=(10_000, 2))
    assert discrete_mi(v[:, 0], v[:, 0]) == pytest.approx(
        -sum(p * math.log(p) for p in np.bincount(v[:, 0]) / 10_000), rel=1e-12
    )  # I(v; v) = H(v)
    assert discrete_mi(v[:, 0], v[:, 1]) < 0.01  # independent factors
    z = v + 0.1 * rng.normal(size=(10_000, 2))
    rot = np.array([[1, -1], [1, 1]]) / math.sqrt(2)
    copied = np.stack([v[:, 0], v[:, 0]], 1) + 0.1 * rng.normal(size=(10_000, 2))
    assert mig(z, v) == pytest.approx(0.996, abs=0.001)
    assert mig(z @ rot.T, v) == pytest.approx(0.005, abs=0.002)
    assert mig(copied, v) < 0.001


# ---- identifiability ------------------------------------------------------------------------


def _rotation(theta: float) -> torch.Tensor:
    c, s = math.cos(theta), math.sin(theta)
    return torch.tensor([[c, -s], [s, c]], dtype=torch.float64)


@pytest.mark.claim("identifiability")
def test_rotation_leaves_p_x_unchanged_but_costs_a_diagonal_posterior():
    w, s2 = torch.diag(torch.tensor([2.0, 1.0], dtype=torch.float64)), 0.5
    x = torch.tensor([0.7, -1.1], dtype=torch.float64)
    gaps = []
    for theta in (0.0, math.pi / 8, math.pi / 4):
        wr = w @ _rotation(theta)
        cov = wr @ wr.T + s2 * torch.eye(2, dtype=torch.float64)
        assert torch.allclose(cov, w @ w.T + s2 * torch.eye(2, dtype=torch.float64))  # same p(x)
        precision = torch.eye(2, dtype=torch.float64) + wr.T @ wr / s2  # posterior precision
        post_cov = torch.linalg.inv(precision)
        post_mean = post_cov @ wr.T @ x / s2
        exact = torch.distributions.MultivariateNormal(post_mean, post_cov)
        # best diagonal q under KL(q || p): variances 1 / Lambda_ii; gap by torch's own KL
        q = torch.distributions.MultivariateNormal(post_mean, torch.diag(1 / torch.diag(precision)))
        gap = float(torch.distributions.kl_divergence(q, exact))
        closed = 0.5 * (
            float(torch.log(torch.diag(precision)).sum()) - float(torch.logdet(precision))
        )
        assert gap == pytest.approx(closed, abs=1e-10)
        gaps.append(gap)
    assert gaps[0] == pytest.approx(0.0, abs=1e-12)
    assert gaps[0] < gaps[1] < gaps[2]
    assert gaps[2] == pytest.approx(0.5 * math.log(4 / 3), abs=1e-10)
    assert gaps[2] == pytest.approx(0.144, abs=0.001)
