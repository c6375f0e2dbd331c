"""Teaching truth for questions/learned-priors/: optimal priors, mixture KLs, flow priors.

The aggregate-posterior claims are measured on VAE-2's posteriors; the mixture KL and its
bounds are checked by quadrature; the flow prior (the answer's own code) against
MultivariateNormal, a grid normalisation, and the change-of-variables ELBO identity.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from kit.demos.common import get_model
from tests.claim_code import code_blocks, run_block

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def images(test_digits) -> torch.Tensor:
    return test_digits.as_float()


# ---- vampprior ------------------------------------------------------------------------------


def _log_q(z, mu, lv):
    """log N(z; mu, diag e^lv) summed over the last dim (broadcasting)."""
    return (-0.5 * (math.log(2 * math.pi) + lv + (z - mu) ** 2 / lv.exp())).sum(-1)


@pytest.mark.claim("vampprior")
def test_aggregate_posterior_is_the_best_prior_on_its_own_data_but_not_on_new_data(images):
    with torch.no_grad():
        post = get_model("vae-2").encode(images)
    mu, lv = post.mu.double(), post.logvar.double()
    a, others = slice(0, 1000), slice(5000, 6000)
    g = torch.Generator().manual_seed(2)
    z = mu[a] + (lv[a] / 2).exp() * torch.randn(16, 1000, 2, generator=g, dtype=torch.float64)
    log_q = _log_q(z, mu[a], lv[a])  # (S, N)

    def mixture(zs, m, v):  # log (1/M) sum_m q(z | x_m), one sample draw at a time
        return torch.stack(
            [torch.logsumexp(_log_q(s.unsqueeze(-2), m, v), -1) for s in zs]
        ) - math.log(len(m))

    rate_std = float((log_q - Normal(0.0, 1.0).log_prob(z).sum(-1)).mean())
    rate_own = float((log_q - mixture(z, mu[a], lv[a])).mean())
    rate_other = float((log_q - mixture(z, mu[others], lv[others])).mean())
    assert rate_std == pytest.approx(6.74, abs=0.05)
    assert rate_own == pytest.approx(5.85, abs=0.05)  # = the mutual information, below log N
    assert rate_other == pytest.approx(9.03, abs=0.1)  # a fixed mixture of other digits: worse
    assert rate_own < rate_std < rate_other
    assert float(post.std.median()) < 0.1  # narrow posteriors: a few hundredths


# ---- mixture-prior-kl -----------------------------------------------------------------------


@pytest.mark.claim("mixture-prior-kl")
def test_mixture_kl_by_quadrature_monte_carlo_and_both_upper_bounds():
    q = Normal(torch.tensor(0.3, dtype=torch.float64), torch.tensor(0.5, dtype=torch.float64))
    weights = torch.tensor([0.3, 0.7], dtype=torch.float64)
    comps = Normal(
        torch.tensor([-2.0, 1.0], dtype=torch.float64),
        torch.tensor([0.5, 0.8], dtype=torch.float64),
    )

    def log_prior(z):
        return torch.logsumexp(torch.log(weights) + comps.log_prob(z.unsqueeze(-1)), -1)

    z = torch.linspace(-12, 12, 400_001, dtype=torch.float64)
    lq = q.log_prob(z)
    exact = float((lq.exp() * (lq - log_prior(z))).sum() * (z[1] - z[0]))
    g = torch.Generator().manual_seed(0)
    zs = 0.3 + 0.5 * torch.randn(200_000, generator=g, dtype=torch.float64)
    mc = q.log_prob(zs) - log_prior(zs)
    assert abs(float(mc.mean()) - exact) < 4 * float(mc.std()) / math.sqrt(len(mc))
    per_comp = torch.stack(
        [kl_divergence(q, Normal(comps.loc[k], comps.scale[k])) for k in range(2)]
    )
    convex = float((weights * per_comp).sum())
    nearest = float((per_comp - torch.log(weights)).min())
    assert exact <= nearest <= convex
    assert (round(exact, 2), round(nearest, 2), round(convex, 2)) == (0.88, 0.90, 3.56)
    assert bool(
        (log_prior(z) >= torch.log(weights[1]) + comps.log_prob(z.unsqueeze(-1))[:, 1]).all()
    )


# ---- flow-prior -----------------------------------------------------------------------------


def _flow_log_prob():
    return run_block(code_blocks("learned-priors", "flow-prior")[0])["flow_prior_log_prob"]


def _coupling(z):
    """u1 = z1, u2 = z2 exp(s(z1)) + t(z1): an affine coupling flow and its log-determinant."""
    s, t = 0.5 * torch.tanh(z[:, :1]), torch.sin(2 * z[:, :1])
    u = torch.cat([z[:, :1], z[:, 1:] * s.exp() + t], 1)
    return u, s[:, 0]


@pytest.mark.claim("flow-prior")
def test_flow_prior_density_against_references():
    flow_prior_log_prob = _flow_log_prob()
    a = torch.tensor([[1.5, 0.3], [-0.4, 0.8]], dtype=torch.float64)
    b = torch.tensor([0.2, -1.0], dtype=torch.float64)

    log_abs_det = torch.log(torch.det(a).abs())

    def linear(z):  # u = A z + b, log|det A|
        return z @ a.T + b, log_abs_det.expand(len(z))

    g = torch.Generator().manual_seed(0)
    z = torch.randn(100, 2, generator=g, dtype=torch.float64)
    ref = MultivariateNormal(-torch.linalg.solve(a, b), torch.linalg.inv(a.T @ a)).log_prob(z)
    assert torch.allclose(flow_prior_log_prob(z, linear), ref, atol=1e-12)
    step = 0.02
    t = torch.arange(-8 + step / 2, 8, step, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2)
    mass = float(flow_prior_log_prob(grid, _coupling).exp().sum() * step**2)
    assert mass == pytest.approx(1.0, abs=1e-3)


@pytest.mark.claim("flow-prior")
def test_flow_prior_elbo_equals_the_u_coordinate_elbo(images):
    flow_prior_log_prob = _flow_log_prob()
    model, x = get_model("vae-2"), images[:8]
    with torch.no_grad():
        post = model.encode(x)
        z = post.mu + post.std * torch.randn(
            post.mu.shape, generator=torch.Generator().manual_seed(0)
        )
        log_lik = (
            -torch.nn.functional.binary_cross_entropy_with_logits(
                model.decode_logits(z), x, reduction="none"
            )
            .flatten(1)
            .sum(1)
        )
    z, log_lik = z.double(), log_lik.double()
    log_q = _log_q(z, post.mu.double(), post.logvar.double())
    elbo_z = log_lik + flow_prior_log_prob(z, _coupling) - log_q
    u, log_det = _coupling(z)  # same sample in u-coordinates: q pushed forward, N(0, I) prior
    log_q_u = log_q - log_det
    elbo_u = log_lik + Normal(0.0, 1.0).log_prob(u).sum(-1) - log_q_u  # decoder g(f^-1(u)) = g(z)
    assert torch.allclose(elbo_z, elbo_u, atol=1e-10)
