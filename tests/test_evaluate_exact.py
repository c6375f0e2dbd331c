"""kit.evaluate.exact_log_px: quadrature log p(x) for 2-D latents, checked against closed forms,
against itself at a finer grid, and against the importance-weighted bounds it must sit above."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from kit.evaluate import exact_log_px, quadrature_log_px
from kit.losses import bce_reconstruction, importance_log_px
from kit.models import load_pretrained
from kit.quadrature import PRIOR_RADIUS

pytestmark = pytest.mark.usefixtures("one_torch_thread")

HARD_DIGITS = (0, 6, 33, 43, 218)


class GaussianBumps(nn.Module):
    """A toy decoder with an analytic log p(x): D pixels, all observed as 1, each on with
    probability g(z) = sum_k c_k exp(-|z - m_k|^2 / (2 s_k^2)), so p(x|z) = g(z)^D.

    For one bump, g^D is a Gaussian bump of variance v = s^2 / D and
        p(x) = ∫ g^D N(z; 0, I) dz = c^D * v / (1 + v) * exp(-|m|^2 / (2 (1 + v))).
    For several bumps and D = 1 the same formula summed over the bumps is exact.
    """

    def __init__(self, centres, widths, weights, pixels: int):
        super().__init__()
        self.m = torch.tensor(centres, dtype=torch.float32)  # (K, 2)
        self.s = torch.tensor(widths, dtype=torch.float32)  # (K,)
        self.c = torch.tensor(weights, dtype=torch.float32)  # (K,)
        self.pixels = pixels

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        r2 = (z[:, None, :] - self.m[None]).pow(2).sum(-1)  # (N, K)
        log_g = torch.logsumexp(self.c.log() - r2 / (2 * self.s**2), dim=1)  # (N,)
        logit = log_g - torch.log1p(-log_g.exp())  # sigmoid(logit) = g
        return logit[:, None].expand(-1, self.pixels)  # (N, D)

    def closed_form(self) -> float:
        v = (self.s**2 / self.pixels).double()
        terms = (
            self.pixels * self.c.double().log()
            + torch.log(v / (1 + v))
            - self.m.double().pow(2).sum(-1) / (2 * (1 + v))
        )
        return float(torch.logsumexp(terms, 0))


def test_matches_the_closed_form_of_a_narrow_gaussian_posterior():
    # 784 pixels: the posterior has std 0.5 / 28 = 0.018, as narrow as vae-2's narrowest
    toy = GaussianBumps([[1.3, -0.7]], [0.5], [0.99], pixels=784)
    x = torch.ones(1, 784)
    got = float(exact_log_px(toy, x)[0])
    assert got == pytest.approx(toy.closed_form(), abs=0.01)


def test_finds_two_far_apart_modes_and_widens_the_grid_for_one_at_its_edge():
    # the mode at (5.9, 0) sits at the edge of the first grid, [-6, 6]^2, and carries about half
    # of the mass: missing it would cost ~0.7 nats
    toy = GaussianBumps([[0.0, 0.0], [5.9, 0.0]], [0.05, 0.05], [math.exp(-18.1), 0.5], pixels=1)
    q = quadrature_log_px(toy, torch.ones(1, 1))
    assert float(q.radius[0]) > PRIOR_RADIUS
    assert float(q.log_px[0]) == pytest.approx(toy.closed_form(), abs=0.01)
    one_mode = GaussianBumps([[0.0, 0.0]], [0.05], [math.exp(-18.1)], pixels=1).closed_form()
    assert toy.closed_form() - one_mode > 0.5  # the far mode matters


@pytest.fixture(scope="module")
def vae2():
    return load_pretrained("vae-2")


@pytest.fixture(scope="module")
def hard(test_digits):
    return torch.stack([test_digits.as_float(slice(i, i + 1))[0] for i in HARD_DIGITS])


@pytest.fixture(scope="module")
def hard_quadrature(vae2, hard):
    return quadrature_log_px(vae2, hard)


@pytest.mark.slow
def test_halving_the_step_moves_the_answer_by_less_than_a_hundredth(vae2, hard, hard_quadrature):
    assert (hard_quadrature.change < 0.01).all()
    finer = quadrature_log_px(vae2, hard, first_split=8)  # starts where the default stopped
    assert (finer.step <= hard_quadrature.step / 2).all()
    assert (finer.log_px - hard_quadrature.log_px).abs().max() < 0.01


def test_vae2_values_of_the_hard_digits(hard_quadrature):
    """The figures the bank quotes (measured with this function; 0.05-nat tolerance)."""
    expected = {0: -89.65, 6: -195.03, 33: -204.04, 43: -158.93, 218: -133.60}
    got = dict(zip(HARD_DIGITS, hard_quadrature.log_px.tolist(), strict=True))
    for digit, value in expected.items():
        assert got[digit] == pytest.approx(value, abs=0.05), digit


def _iwae(model, x, k: int, draws: int, seed: int = 0):
    """Mean and standard error over ``draws`` independent K-sample bounds, per image."""
    g = torch.Generator().manual_seed(seed)
    post = model.encode(x)
    runs = torch.stack(
        [importance_log_px(post, model.decode_logits, x, k=k, generator=g) for _ in range(draws)]
    )  # (draws, B)
    return runs.mean(0).double(), runs.std(0).double() / math.sqrt(draws)


def test_elbo_below_iwae_below_exact_for_k_up_to_1000(vae2, hard, hard_quadrature):
    exact = hard_quadrature.log_px
    with torch.no_grad():
        post = vae2.encode(hard)
        g = torch.Generator().manual_seed(1)
        z = post.sample(g, n=2000)  # (S, B, 2)
        recon = bce_reconstruction(
            vae2.decode_logits(z.reshape(-1, 2)), hard.repeat(2000, 1, 1, 1)
        ).view(2000, -1)
        elbo = (-recon.mean(0) - post.kl()).double()  # (B,)
    previous = elbo
    for k, draws in ((1, 200), (10, 40), (100, 8), (1000, 4)):
        mean, se = _iwae(vae2, hard, k, draws, seed=k)
        slack = 4 * se + 0.05
        assert (mean <= exact + slack).all(), (k, mean, exact)
        assert (mean >= previous - slack).all(), (k, mean, previous)  # L_K never decreases
        previous = mean
    # and even 1000 encoder samples leave large gaps on the hard digits
    gap = exact - previous
    assert gap[HARD_DIGITS.index(33)] > 200
    assert gap[HARD_DIGITS.index(43)] > 50
    assert gap[HARD_DIGITS.index(0)] < 0.5


@pytest.mark.slow
def test_mean_over_the_first_100_digits(vae2, test_digits):
    exact = exact_log_px(vae2, test_digits.as_float(slice(0, 100)))
    assert float(exact.mean()) == pytest.approx(-130.78, abs=0.05)


@pytest.mark.slow
def test_cvae_needs_its_labels_and_sits_above_its_elbo(test_digits):
    cvae = load_pretrained("cvae-2")
    x, y = test_digits.as_float(slice(0, 6)), test_digits.labels[:6]
    with pytest.raises(ValueError, match="labels"):
        exact_log_px(cvae, x)
    q = quadrature_log_px(cvae, x, y)
    assert (q.change < 0.01).all()
    with torch.no_grad():
        post = cvae.encode(x, y)
        g = torch.Generator().manual_seed(0)
        z = post.sample(g, n=500)  # (S, B, 2)
        ys = y.repeat(500)
        recon = bce_reconstruction(cvae.decode_logits(z.reshape(-1, 2), ys), x.repeat(500, 1, 1, 1))
        elbo = (-recon.view(500, -1).mean(0) - post.kl()).double()
    assert (elbo < q.log_px + 0.05).all()
