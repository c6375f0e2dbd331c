"""Teaching truth for questions/tokenizers/: quantisers, scale factors and the blur argument.

The quantisers (the answer's own code) are checked by enumeration and autograd; the SNR claim
against the forward process sampled directly; the numbers about this project are measured on
the shipped checkpoints and the bundled test digits.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from kit.demos.common import get_model
from tests.claim_code import code_blocks, run_block

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def images(test_digits) -> torch.Tensor:
    return test_digits.as_float()


def _grey(t: torch.Tensor) -> float:
    return float(((t > 0.05) & (t < 0.95)).float().mean())


# ---- perceptual-adversarial-losses ----------------------------------------------------------


@pytest.mark.claim("perceptual-adversarial-losses")
def test_l2_optimum_is_the_mean_l1_the_median_and_the_mean_digit_is_grey(test_digits):
    g = torch.Generator().manual_seed(0)
    candidates = (torch.rand(5, 64, generator=g) > 0.5).double()  # five sharp binary "images"
    c = torch.linspace(0, 1, 1001, dtype=torch.float64)
    l2 = ((c[:, None, None] - candidates[None]) ** 2).sum(1)  # (1001, 64) per pixel
    l1 = (c[:, None, None] - candidates[None]).abs().sum(1)
    assert torch.allclose(c[l2.argmin(0)], candidates.mean(0), atol=1e-3)
    assert torch.allclose(c[l1.argmin(0)], candidates.median(0).values, atol=1e-3)
    x, y = test_digits.as_float().flatten(1), test_digits.labels
    ones, sevens = x[y == 1], x[y == 7]
    assert len(ones) == 1135
    assert (round(_grey(ones) * 100, 1), round(_grey(ones.mean(0)) * 100, 1)) == (5.7, 21.6)
    assert (round(_grey(sevens) * 100, 1), round(_grey(sevens.mean(0)) * 100, 1)) == (9.0, 36.0)


@pytest.mark.claim("perceptual-adversarial-losses")
def test_adaptive_weight_balances_the_last_layer_gradients():
    adaptive_weight = run_block(code_blocks("tokenizers", "perceptual-adversarial-losses")[0])[
        "adaptive_weight"
    ]
    torch.manual_seed(0)
    decoder = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 32))
    out = decoder(torch.randn(4, 8))
    rec_loss = (out - torch.rand(4, 32)).abs().mean()
    gan_loss = -500.0 * out.mean()  # an arbitrary scale
    last = decoder[2].weight
    w = adaptive_weight(rec_loss, gan_loss, last)
    g_rec = torch.autograd.grad(rec_loss, last, retain_graph=True)[0]
    g_gan = torch.autograd.grad(w * gan_loss, last)[0]
    assert float(g_gan.norm()) == pytest.approx(float(g_rec.norm()), rel=1e-3)
    assert not w.requires_grad


# ---- latent-scale-factor --------------------------------------------------------------------


def _sd_alpha_bar() -> torch.Tensor:
    betas = torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0)  # SD's "scaled linear" schedule


@pytest.mark.claim("latent-scale-factor")
def test_snr_scales_with_the_data_variance_and_the_terminal_snr(images):
    abar = _sd_alpha_bar()
    assert float(abar[-1]) == pytest.approx(0.0047, abs=0.00005)
    snr_t = float(abar[-1] / (1 - abar[-1]))
    assert snr_t == pytest.approx(0.0047, abs=0.00005)
    assert 27 * snr_t == pytest.approx(0.13, abs=0.005)
    assert round(1 / 0.18215, 2) == 5.49  # SD 1.x: latent std about 5.5
    with torch.no_grad():
        codes = get_model("ae-2").encode(images).double()
        vae_mu = get_model("vae-2").encode(images).mu
    std = codes.std(0)
    assert (round(float(std[0]), 2), round(float(std[1]), 2)) == (5.60, 4.71)
    assert (round(float(1 / std[0]), 2), round(float(1 / std[1]), 2)) == (0.18, 0.21)
    mu_std = vae_mu.std(0)
    assert (round(float(mu_std[0]), 2), round(float(mu_std[1]), 2)) == (1.02, 1.13)
    # measured SNR of the noised codes at one step equals s^2 abar / (1 - abar)
    g = torch.Generator().manual_seed(0)
    t = 400
    signal = math.sqrt(float(abar[t])) * (codes - codes.mean(0))
    noise = math.sqrt(1 - float(abar[t])) * torch.randn(
        codes.shape, generator=g, dtype=torch.float64
    )
    measured = signal.var(0) / noise.var(0)
    expected = std**2 * abar[t] / (1 - abar[t])
    assert torch.allclose(measured, expected, rtol=0.05)


# ---- latent-channels-tradeoff ---------------------------------------------------------------


@pytest.mark.claim("latent-channels-tradeoff")
def test_more_latent_dimensions_reconstruct_better(images):
    assert (3 * 8**2 / 4, 3 * 8**2 / 16, 3 * 16**2 / 16) == (48.0, 12.0, 48.0)
    assert ((256 // 8) // 2) ** 2 == 256  # DiT tokens at 256 px, f = 8, patch 2
    with torch.no_grad():
        mse = {
            n: float((get_model(n).decode(get_model(n).encode(images)) - images).pow(2).mean())
            for n in ("ae-32", "ae-2")
        }
        recon = {}
        for name in ("vae-2", "beta-vae-1"):
            model = get_model(name)
            logits = model.decode_logits(
                model.encode(images).sample(torch.Generator().manual_seed(0))
            )
            recon[name] = float(
                nn.functional.binary_cross_entropy_with_logits(logits, images, reduction="none")
                .flatten(1)
                .sum(1)
                .mean()
            )
    assert round(mse["ae-32"], 4) == 0.0046 and round(mse["ae-2"], 3) == 0.034
    assert recon["vae-2"] == pytest.approx(133.25, abs=0.3)
    assert recon["beta-vae-1"] == pytest.approx(82.05, abs=0.3)


# ---- fsq-rvq-lfq ----------------------------------------------------------------------------


def _quantisers() -> dict:
    return run_block(code_blocks("tokenizers", "fsq-rvq-lfq")[0])


@pytest.mark.claim("fsq-rvq-lfq")
def test_fsq_and_lfq_codebook_sizes_and_straight_through_gradients():
    ns = _quantisers()
    fsq, lfq = ns["fsq"], ns["lfq"]
    g = torch.Generator().manual_seed(0)
    z = (torch.randn(200_000, 3, generator=g, dtype=torch.float64) * 1.5).requires_grad_()
    q = fsq(z, (7, 5, 5))
    codes = torch.unique(q.detach(), dim=0)
    assert len(codes) == 7 * 5 * 5  # every grid point is reached
    assert torch.equal(q.detach(), q.detach().round())
    q.sum().backward()
    half = torch.tensor([3.0, 2.0, 2.0], dtype=torch.float64)
    assert torch.allclose(z.grad, half * (1 - torch.tanh(z.detach()) ** 2))  # d(tanh(z) half)/dz
    y = torch.randn(50_000, 4, generator=g, dtype=torch.float64, requires_grad=True)
    b = lfq(y)
    assert len(torch.unique(b.detach(), dim=0)) == 2**4
    b.sum().backward()
    assert torch.equal(y.grad, torch.ones_like(y))  # straight-through sign


def _kmeans(x: torch.Tensor, k: int, iters: int = 20) -> torch.Tensor:
    cent = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:k]].clone()
    for _ in range(iters):
        assign = torch.cdist(x, cent).argmin(1)
        for j in range(k):
            if (assign == j).any():
                cent[j] = x[assign == j].mean(0)
    return cent


@pytest.mark.claim("fsq-rvq-lfq")
def test_residual_vq_on_ae32_codes(images):
    residual_vq = _quantisers()["residual_vq"]
    ae = get_model("ae-32")
    with torch.no_grad():
        codes = ae.encode(images)
    fit, held = codes[:5000], codes[5000:]
    codebooks, residual = [], fit
    for _ in range(4):  # fit each stage's codebook on the previous stage's residuals
        cb = _kmeans(residual, 16)
        residual = residual - cb[torch.cdist(residual, cb).argmin(1)]
        codebooks.append(cb)
    mses = []
    with torch.no_grad():
        for m in range(1, 5):
            quantised, idx = residual_vq(held, codebooks[:m])
            assert len(idx) == m
            mses.append(float((ae.decode(quantised) - images[5000:]).pow(2).mean()))
        plain = float((ae.decode(held) - images[5000:]).pow(2).mean())
    assert [round(v, 3) for v in mses] == [0.063, 0.052, 0.045, 0.039]
    assert round(plain, 4) == 0.0044
    # with a zero codeword in every codebook, the residual never grows from stage to stage
    with_zero = [torch.cat([cb, torch.zeros(1, 32)]) for cb in codebooks]
    norms = [
        float((held - residual_vq(held, with_zero[:m])[0]).norm(dim=1).max()) for m in range(5)
    ]
    assert all(b <= a + 1e-5 for a, b in itertools.pairwise(norms))
