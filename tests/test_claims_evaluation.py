"""Teaching truth for questions/evaluation/: AIS, typicality, and quadrature ground truth.

log p(x) of VAE-2 is computed by 2-D quadrature (the ground truth the IWAE and AIS numbers are
compared with), AIS (the answer's own code) is also checked on a linear-Gaussian model with a
closed-form log p(x), and the OOD numbers are measured on VAE-2 and the bundled test digits.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal

from kit.demos.common import get_model
from kit.losses import bce_reconstruction, importance_log_px
from tests.claim_code import code_blocks, run_block

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def images(test_digits) -> torch.Tensor:
    return test_digits.as_float()


def _log_joint(model, x, z):
    """log p(x|z) + log p(z) for one image x (1, 1, 28, 28) at codes z (N, 2)."""
    with torch.no_grad():
        logits = model.decode_logits(z).flatten(1)  # (N, 784)
    return _log_joint_from_logits(logits, x, z)


def _log_joint_from_logits(logits, x, z):
    flat = x.flatten()
    log_lik = -(torch.nn.functional.softplus(logits) - logits * flat).sum(1)  # -BCE with logits
    return (log_lik + Normal(0.0, 1.0).log_prob(z).sum(1)).double()


@pytest.fixture(scope="module")
def vae2_grid():
    """VAE-2's decoder logits on the 240 x 240 cell centres of [-6, 6]^2 (step 0.05), once."""
    step = 0.05
    t = torch.arange(-6 + step / 2, 6, step)
    grid = torch.stack(torch.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        logits = torch.cat(
            [get_model("vae-2").decode_logits(c).flatten(1) for c in grid.split(20_000)]
        )
    softplus_sum = torch.nn.functional.softplus(logits).sum(1)  # the x-independent BCE part
    return {"step": step, "grid": grid, "logits": logits, "softplus_sum": softplus_sum}


def quadrature_log_px(model, x, grid_logits, refine=False):
    """log p(x) = logsumexp over cells of log p(x|z) p(z) + log(cell area); with ``refine``, the
    cells holding all but < 1e-8 of the mass are split 2 x 2 (half the step where it matters)."""
    step, grid = grid_logits["step"], grid_logits["grid"]
    log_lik = grid_logits["logits"] @ x.flatten() - grid_logits["softplus_sum"]  # -BCE, (N,)
    log_joint = (log_lik + Normal(0.0, 1.0).log_prob(grid).sum(1)).double()
    cells = log_joint + 2 * math.log(step)
    total = torch.logsumexp(cells, 0)
    if not refine:
        return float(total)
    heavy = cells > total - 20  # relative mass > 2e-9 per cell
    offsets = torch.tensor([[-1, -1], [-1, 1], [1, -1], [1, 1]]) * step / 4
    fine = (grid[heavy][:, None, :] + offsets[None]).reshape(-1, 2)
    fine_cells = _log_joint(model, x, fine) + 2 * math.log(step / 2)
    return float(torch.logsumexp(torch.cat([cells[~heavy], fine_cells]), 0))


# ---- exact-log-likelihood-quadrature ---------------------------------------------------------


@pytest.mark.claim("exact-log-likelihood-quadrature")
def test_quadrature_converges_and_iwae_falls_short_on_hard_digits(images, vae2_grid):
    model = get_model("vae-2")
    expected = {0: -89.65, 218: -133.60, 6: -195.03}
    g = torch.Generator().manual_seed(0)
    for i, value in expected.items():
        x = images[i : i + 1]
        coarse = quadrature_log_px(model, x, vae2_grid)
        fine = quadrature_log_px(model, x, vae2_grid, refine=True)
        assert abs(coarse - fine) < 0.03  # halving the step changes it by < 0.03 nats
        assert fine == pytest.approx(value, abs=0.005)
        with torch.no_grad():
            iwae = float(
                importance_log_px(model.encode(x), model.decode_logits, x, k=1000, generator=g)
            )
        assert iwae < fine + 0.05
        iwae_quoted = {0: (-89.65, 0.05), 218: (-148.8, 2.0), 6: (-229.3, 3.0)}[i]  # one seed each
        assert iwae == pytest.approx(iwae_quoted[0], abs=iwae_quoted[1])
        if i != 0:
            assert fine - iwae > 14  # tens of nats on the hard digits
    assert 2 * 2 * float(Normal(0.0, 1.0).cdf(torch.tensor(-6.0))) < 1e-8  # prior mass outside


# ---- annealed-importance-sampling -----------------------------------------------------------


def _ais():
    return run_block(code_blocks("evaluation", "annealed-importance-sampling")[0])["ais_log_px"]


@pytest.mark.claim("annealed-importance-sampling")
def test_ais_is_accurate_on_a_linear_gaussian_and_beats_prior_sampling():
    ais_log_px = _ais()
    x, s2 = 2.5, 0.05  # a sharp likelihood far in the prior's tail
    exact = float(Normal(0.0, math.sqrt(1 + s2)).log_prob(torch.tensor(x, dtype=torch.float64)))

    def log_prior(z):
        return Normal(0.0, 1.0).log_prob(z).sum(1)

    def log_lik(z):
        return Normal(z[:, 0], math.sqrt(s2)).log_prob(torch.tensor(x, dtype=torch.float64))

    def sample_prior(n, gen):
        return torch.randn(n, 1, generator=gen, dtype=torch.float64)

    g = torch.Generator().manual_seed(0)
    betas = torch.linspace(0, 1, 501, dtype=torch.float64) ** 4
    steps = [float(torch.exp(b * math.log(0.2))) for b in betas[1:]]  # 1 -> 0.2
    estimate, log_w = ais_log_px(log_prior, log_lik, sample_prior, betas, steps, 256, g)
    assert float(estimate) == pytest.approx(exact, abs=0.1)
    assert float(log_w.mean()) <= exact  # the log weights' mean: a lower bound
    _, plain_w = ais_log_px(
        log_prior, log_lik, sample_prior, torch.tensor([0.0, 1.0]), [1.0], 256, g
    )
    assert float(plain_w.std()) > 5 * float(log_w.std())  # one jump from the prior: wild weights


@pytest.mark.claim("annealed-importance-sampling")
def test_ais_on_vae2_digit_218_matches_quadrature(images, vae2_grid):
    ais_log_px = _ais()
    model, x = get_model("vae-2"), images[218:219]
    with torch.no_grad():
        sq = model.encode(x).std[0]

        def log_lik(z):
            return -bce_reconstruction(model.decode_logits(z), x.expand(len(z), 1, 28, 28))

        def log_prior(z):
            return Normal(0.0, 1.0).log_prob(z).sum(1)

        def sample_prior(n, gen):
            return torch.randn(n, 2, generator=gen)

        betas = torch.linspace(0, 1, 501) ** 4
        steps = [torch.exp(b * torch.log(2 * sq)) for b in betas[1:]]  # 1 -> 2 sigma_q
        estimate, _ = ais_log_px(
            log_prior, log_lik, sample_prior, betas, steps, 32, torch.Generator().manual_seed(0)
        )
    exact = quadrature_log_px(model, x, vae2_grid)
    assert exact == pytest.approx(-133.6, abs=0.05)
    assert abs(float(estimate) - exact) < 0.5


# ---- ood-likelihood-typicality --------------------------------------------------------------


def _elbo(model, x, g, s=16):
    with torch.no_grad():
        post = model.encode(x)
        z = post.sample(g, n=s)  # (S, B, 2)
        rec = bce_reconstruction(
            model.decode_logits(z.reshape(-1, 2)), x.expand(s, *x.shape).reshape(-1, 1, 28, 28)
        )
        return -(rec.view(s, -1).mean(0) + post.kl())


@pytest.mark.claim("ood-likelihood-typicality")
def test_gaussian_mode_is_d_over_2_nats_denser_than_typical_samples():
    d = 784
    g = torch.Generator().manual_seed(0)
    z = torch.randn(5000, d, generator=g, dtype=torch.float64)
    log_p = Normal(0.0, 1.0).log_prob(z).sum(1)
    mode = float(Normal(0.0, 1.0).log_prob(torch.zeros(d, dtype=torch.float64)).sum())
    assert mode - float(log_p.mean()) == pytest.approx(d / 2, abs=1.0)
    assert float(log_p.max()) < mode - 300  # no sample comes close to the mode's density
    assert float((z.pow(2).sum(1) / d).std()) < 0.06  # |z|^2 concentrates at d


@pytest.mark.claim("ood-likelihood-typicality")
def test_blank_and_simple_images_beat_real_digits_on_vae2(test_digits):
    model, g = get_model("vae-2"), torch.Generator().manual_seed(0)
    x, y = test_digits.as_float(slice(0, 2000)), test_digits.labels[:2000]
    elbo = _elbo(model, x, g)
    blank = float(_elbo(model, torch.zeros(1, 1, 28, 28), g, s=4096))
    assert blank == pytest.approx(-56.5, abs=0.5)
    assert float((elbo < blank).float().mean()) == pytest.approx(0.914, abs=0.004)
    assert float(elbo.mean()) == pytest.approx(-140.8, abs=0.3)
    assert float(elbo[y == 1].mean()) == pytest.approx(-55.0, abs=0.3)
    assert float(elbo[y == 2].mean()) == pytest.approx(-174.3, abs=0.5)
    assert float(_elbo(model, 1 - x, g).mean()) == pytest.approx(-6250, abs=25)
    ink = x.flatten(1).sum(1)
    assert float(torch.corrcoef(torch.stack([elbo, ink]))[0, 1]) == pytest.approx(-0.59, abs=0.01)
    idx = torch.randint(0, 2000, (5000, 16), generator=torch.Generator().manual_seed(1))
    means = elbo[idx].mean(1)
    low, high = float(means.quantile(0.025)), float(means.quantile(0.975))
    assert low == pytest.approx(-168.8, abs=1.0) and high == pytest.approx(-116.2, abs=1.0)
    assert blank > float(means.max())  # a blank batch is outside every resampled batch: flagged
