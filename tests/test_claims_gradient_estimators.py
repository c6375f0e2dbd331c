"""Teaching truth for questions/gradient-estimators/: estimators checked against exact gradients.

Each estimator is run on a model whose gradient is known (a linear-Gaussian model, a single
Bernoulli, a categorical) and its bias and variance are measured; the answers' code is read
out of the question files.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal

from kit.demos.reparam import estimate_gradients
from tests.claim_code import code_blocks, run_block

pytestmark = pytest.mark.usefixtures("one_torch_thread")

X, S2 = 1.5, 0.5  # p(z) = N(0, 1), p(x|z) = N(z, S2), the observed x
POST_MEAN, POST_VAR = X / (1 + S2), S2 / (1 + S2)
Q_LOGVAR = math.log(0.5)  # q = N(0.2, 0.5) away from the posterior


def _encoder_grads(k: int, m: int, kind: str, m0=0.2, lv0=Q_LOGVAR, seed=0) -> torch.Tensor:
    """(m,) estimates of d bound / d q-mean for K samples, by 'iwae', 'stl' or 'dreg'."""
    g = torch.Generator().manual_seed(seed)
    mean = torch.full((m, 1), m0, dtype=torch.float64, requires_grad=True)
    lv = torch.full((m, 1), lv0, dtype=torch.float64, requires_grad=True)
    z = mean + (0.5 * lv).exp() * torch.randn(m, k, generator=g, dtype=torch.float64)
    log_p = Normal(z, math.sqrt(S2)).log_prob(torch.tensor(X)) + Normal(0.0, 1.0).log_prob(z)
    q_mean, q_lv = (mean.detach(), lv.detach()) if kind in ("stl", "dreg") else (mean, lv)
    log_w = log_p - Normal(q_mean, (0.5 * q_lv).exp()).log_prob(z)  # (m, K)
    if kind == "dreg":
        objective = (torch.softmax(log_w, 1).detach() ** 2 * log_w).sum(1)
    else:
        objective = torch.logsumexp(log_w, 1) - math.log(k)
    (grad,) = torch.autograd.grad(objective.sum(), mean)
    return grad[:, 0]


def _within(a: torch.Tensor, b: torch.Tensor, n_se: float = 4.0) -> bool:
    se = math.sqrt(float(a.var()) / len(a) + float(b.var()) / len(b))
    return abs(float(a.mean()) - float(b.mean())) < n_se * se


# ---- sticking-the-landing -------------------------------------------------------------------


@pytest.mark.claim("sticking-the-landing")
def test_stl_is_unbiased_for_the_elbo_and_exactly_zero_at_the_true_posterior():
    full = _encoder_grads(1, 4000, "iwae")
    stl = _encoder_grads(1, 4000, "stl", seed=1)
    assert _within(full, stl)  # same expectation (K = 1: the ELBO)
    # closed form: d ELBO / d m = (x - m)/S2 - m for q = N(m, v)
    assert float(stl.mean()) == pytest.approx((X - 0.2) / S2 - 0.2, abs=4 * float(stl.std()) / 63)
    at_post_stl = _encoder_grads(1, 1000, "stl", m0=POST_MEAN, lv0=math.log(POST_VAR))
    at_post_full = _encoder_grads(1, 1000, "iwae", m0=POST_MEAN, lv0=math.log(POST_VAR))
    assert float(at_post_stl.abs().max()) < 1e-12
    assert float(at_post_full.std()) == pytest.approx(1.7, abs=0.1)


@pytest.mark.claim("sticking-the-landing")
def test_stl_iwae_is_biased_for_k_above_one():
    assert not _within(_encoder_grads(10, 4000, "iwae"), _encoder_grads(10, 4000, "stl", seed=1))


# ---- dreg-gradients -------------------------------------------------------------------------


@pytest.mark.claim("dreg-gradients")
def test_iwae_encoder_snr_falls_with_k_and_dreg_fixes_it():
    snr = {}
    for k in (1, 10, 100):
        for kind in ("iwae", "dreg", "stl"):
            grad = _encoder_grads(k, 4000, kind)
            snr[kind, k] = (float(grad.mean()), abs(float(grad.mean())) / float(grad.std()))
            if kind == "iwae":
                iwae = grad
        assert _within(iwae, _encoder_grads(k, 4000, "dreg", seed=5))  # DReG is unbiased
    assert [round(snr["iwae", k][1], 2) for k in (1, 10, 100)] == [1.15, 0.35, 0.13]
    assert [round(snr["dreg", k][1], 1) for k in (1, 10, 100)] == [3.4, 3.7, 10.0]
    assert snr["stl", 100][0] == pytest.approx(1.61, abs=0.01)
    assert snr["dreg", 100][0] == pytest.approx(0.033, abs=0.001)
    assert snr["iwae", 100][0] == pytest.approx(0.04, abs=0.005)


@pytest.mark.claim("dreg-gradients")
def test_the_answers_dreg_snippet_gives_the_dreg_gradient():
    snippet = code_blocks("gradient-estimators", "dreg-gradients")[0]
    k, m = 10, 2000
    g = torch.Generator().manual_seed(0)
    mu = torch.full((1, m, 1), 0.2, dtype=torch.float64, requires_grad=True)
    std = torch.full((1, m, 1), math.sqrt(0.5), dtype=torch.float64, requires_grad=True)
    z = mu + std * torch.randn(k, m, 1, generator=g, dtype=torch.float64)  # (K, B, 1)
    log_p_xz = (
        Normal(z, math.sqrt(S2)).log_prob(torch.tensor(X)) + Normal(0.0, 1.0).log_prob(z)
    ).sum(-1)
    ns = {
        "torch": torch,
        "math": math,
        "Normal": Normal,
        "mu": mu,
        "std": std,
        "z": z,
        "log_p_xz": log_p_xz,
        "K": k,
    }
    exec(compile(snippet, "<answer>", "exec"), ns)
    (grad,) = torch.autograd.grad(ns["encoder_objective"] * m, mu)
    reference = _encoder_grads(k, 4000, "iwae", seed=3)
    assert _within(grad.flatten(), reference)
    assert float(grad.std()) < 0.2 * float(reference.std())  # far less noisy
    assert float(ns["decoder_objective"].detach()) < float(
        Normal(0.0, math.sqrt(1 + S2)).log_prob(torch.tensor(X))
    )


# ---- gumbel-softmax -------------------------------------------------------------------------


@pytest.mark.claim("gumbel-softmax")
def test_gumbel_max_is_exact_and_the_relaxation_is_biased():
    sample = run_block(code_blocks("gradient-estimators", "gumbel-softmax")[0])[
        "gumbel_softmax_sample"
    ]
    logits = torch.tensor([1.0, 0.0, -1.0, 0.5], dtype=torch.float64)
    probs = torch.softmax(logits, 0)
    torch.manual_seed(0)
    n = 100_000
    hard = sample(logits.expand(n, 4), tau=1.0, hard=True)
    assert torch.equal(hard.sum(1), torch.ones(n, dtype=torch.float64))  # one-hot
    freq = hard.mean(0)
    assert torch.allclose(freq, probs, atol=4 * math.sqrt(0.25 / n))  # exact categorical draws
    soft = sample(logits.expand(n, 4), tau=1.0)
    assert float((soft.mean(0) - probs).abs().max()) > 0.02  # E[relaxed sample] != probs
    cold = sample(logits.expand(n, 4), tau=0.05)
    assert float(cold.max(1).values.mean()) > 0.97  # near one-hot at low temperature
    ref = torch.nn.functional.gumbel_softmax(logits.expand(n, 4), tau=1.0)
    assert torch.allclose(soft.mean(0), ref.mean(0), atol=0.01)  # same law as PyTorch's


@pytest.mark.claim("gumbel-softmax")
def test_straight_through_forward_is_hard_and_backward_is_the_relaxed_gradient():
    sample = run_block(code_blocks("gradient-estimators", "gumbel-softmax")[0])[
        "gumbel_softmax_sample"
    ]
    weights = torch.tensor([[0.3], [-1.0], [2.0]], dtype=torch.float64)
    grads = {}
    for hard in (False, True):
        logits = torch.tensor([[0.2, -0.4, 0.1]], dtype=torch.float64, requires_grad=True)
        torch.manual_seed(4)
        y = sample(logits, tau=0.7, hard=hard)
        (y @ weights).sum().backward()
        grads[hard] = logits.grad.clone()
        if hard:
            assert sorted(y.detach().flatten().tolist()) == [0.0, 0.0, 1.0]
    assert torch.allclose(grads[True], grads[False])


# ---- rebar-relax-control-variates -----------------------------------------------------------


def _bernoulli_estimates(tau: float, eta: float, n: int = 100_000, theta0=0.3, t=0.45):
    """(n,) REBAR estimates of d/dtheta E[(b - t)^2], b ~ Bern(theta); eta = 0 is REINFORCE."""

    def f(b):
        return (b - t) ** 2

    th = torch.full((n,), theta0, dtype=torch.float64, requires_grad=True)
    g = torch.Generator().manual_seed(1)
    u, v = (torch.rand(n, dtype=torch.float64, generator=g).clamp(1e-9, 1 - 1e-9) for _ in "uv")
    z = torch.log(th) - torch.log1p(-th) + torch.log(u) - torch.log1p(-u)  # logistic relaxation
    b = (z > 0).double()  # b = H(z) ~ Bern(theta)
    zt = torch.where(
        b == 1, torch.log(v / (1 - v) / (1 - th) + 1), -torch.log(v / (1 - v) / th + 1)
    )

    def c(zz):
        return f(torch.sigmoid(zz / tau))

    log_p = b * torch.log(th) + (1 - b) * torch.log1p(-th)
    surrogate = (f(b) - eta * c(zt)).detach() * log_p + eta * c(z) - eta * c(zt)
    (grad,) = torch.autograd.grad(surrogate.sum(), th)
    return grad


@pytest.mark.claim("rebar-relax-control-variates")
def test_reinforce_and_rebar_are_unbiased_and_rebar_is_not_always_better():
    exact = (1 - 0.45) ** 2 - 0.45**2  # f(1) - f(0) = 0.1
    reinforce = _bernoulli_estimates(tau=1.0, eta=0.0)
    assert abs(float(reinforce.mean()) - exact) < 4 * float(reinforce.std()) / math.sqrt(
        len(reinforce)
    )
    for tau in (0.05, 0.1, 0.3, 1.0):
        for eta in (0.5, 1.0):
            rebar = _bernoulli_estimates(tau, eta)
            se = float(rebar.std()) / math.sqrt(len(rebar))
            assert abs(float(rebar.mean()) - exact) < 4 * se  # unbiased for any eta, tau
            assert float(rebar.var()) > float(reinforce.var())  # but noisier untuned


@pytest.mark.claim("rebar-relax-control-variates")
def test_single_bernoulli_baseline_can_reach_zero_variance():
    theta = 0.3
    f1, f0 = (1 - 0.45) ** 2, 0.45**2
    exact = f1 - f0

    def values(c):  # the estimator's value for b = 1 and b = 0
        return (f1 - c) / theta, -(f0 - c) / (1 - theta)

    for c in (0.0, 0.2, 1.0):  # any constant: unbiased
        g1, g0 = values(c)
        assert theta * g1 + (1 - theta) * g0 == pytest.approx(exact)
    g1, g0 = values((1 - theta) * f1 + theta * f0)
    assert g1 == pytest.approx(exact) and g0 == pytest.approx(exact)  # zero variance


@pytest.mark.claim("rebar-relax-control-variates")
def test_step_function_pathwise_is_zero_and_score_is_unbiased():
    est = estimate_gradients("step 1[z>0]", mu=0.0, sigma=1.0, n=10, m=500, seed=0)
    exact = 1 / math.sqrt(2 * math.pi)  # phi(0), computed here, not read from the demo
    assert exact == pytest.approx(0.40, abs=0.005)
    assert float(abs(est.pathwise).max()) == 0.0
    assert abs(float(est.score.mean()) - exact) < 4 * math.sqrt(float(est.score.var()) / 500)
