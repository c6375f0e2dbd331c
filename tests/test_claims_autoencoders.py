"""Teaching truth for questions/autoencoders/: each test checks a claim an answer makes.

Claims are checked against the shipped checkpoints (``get_model``), the bundled 10k test set,
``models/*/metrics.json``, or plain torch math. If one fails, the answer is wrong: fix the answer.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kit.demos.common import get_model
from kit.demos.latent import code_stats, encoded_test_set, latent_path
from kit.demos.reconstruction import reconstruct
from kit.losses import bce_reconstruction
from kit.models import MODELS_DIR
from tests.measured import measured_metrics

N_PIXELS = 784


def _metrics(name: str) -> dict:
    """The training record (recipe, config) with its test metrics recomputed from the weights."""
    record = json.loads((MODELS_DIR / name / "metrics.json").read_text())
    return {**record, "test": measured_metrics(name)}


def _mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b) ** 2).mean())


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def images(test_digits) -> torch.Tensor:
    """All 10k test digits, float (10000, 1, 28, 28) in [0, 1]."""
    return test_digits.as_float()


@pytest.fixture(scope="module")
def ae_recons(images) -> dict[str, torch.Tensor]:
    """Reconstructions of the whole test set by ae-2 and ae-32 (computed once)."""
    with torch.no_grad():
        return {name: get_model(name)(images).recon for name in ("ae-2", "ae-32")}


@pytest.fixture(scope="module")
def pca_residuals(images) -> torch.Tensor:
    """res[k] = PCA reconstruction MSE per pixel with k components, fitted on the test set."""
    x = images.flatten(1).double()
    xc = x - x.mean(0)
    eigvals = torch.linalg.eigvalsh(xc.T @ xc / len(x)).flip(0)  # (784,), largest first
    tail = torch.flip(torch.cumsum(torch.flip(eigvals, [0]), 0), [0])  # tail[k] = sum ev[k:]
    return torch.cat([tail, torch.zeros(1, dtype=tail.dtype)]) / N_PIXELS  # (785,)


# ---- autoencoder-vs-pca ---------------------------------------------------------------------


@pytest.mark.claim("autoencoder-vs-pca")
def test_linear_autoencoder_reaches_the_pca_error_and_subspace(test_digits):
    """A linear AE (k = 2) trained a few hundred Adam steps on 2000 digits matches PCA-2.

    With the biases at their optimum the MSE of x_hat = D E (x - m) + m depends on the data only
    through its covariance C: MSE = tr(C - 2 D E C + D E C E^T D^T) / 784, which we optimise
    (the same loss as on the data, at a fraction of the cost), then evaluate on the data itself.
    """
    k = 2
    x = test_digits.as_float(slice(0, 2000)).flatten(1)
    xc = x - x.mean(0)
    cov = xc.T @ xc / len(x)
    eigvals, eigvecs = torch.linalg.eigh(cov)
    eigvals, eigvecs = eigvals.flip(0), eigvecs.flip(1)
    pca_mse = float(eigvals[k:].sum() / N_PIXELS)

    g = torch.Generator().manual_seed(0)
    enc = (0.05 * torch.randn(k, N_PIXELS, generator=g)).requires_grad_()
    dec = (0.05 * torch.randn(N_PIXELS, k, generator=g)).requires_grad_()
    opt = torch.optim.Adam([enc, dec], lr=1e-2)
    for _ in range(200):
        ec = enc @ cov  # (k, 784)
        # tr(D E C) = sum(D * (E C)^T), tr(E C E^T D^T D) = sum((E C E^T) * (D^T D)): no 784 x 784
        loss = torch.trace(cov) - 2 * (dec * ec.T).sum() + ((ec @ enc.T) * (dec.T @ dec)).sum()
        loss = loss / N_PIXELS
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        data_mse = _mse(xc @ enc.T @ dec.T, xc)  # measured on the 2000 digits themselves
        basis, _ = torch.linalg.qr(dec)
        cosines = torch.linalg.svdvals(basis.T @ eigvecs[:, :k])  # principal-angle cosines
    assert data_mse == pytest.approx(pca_mse, rel=1e-3)  # "matches PCA's error to four decimals"
    assert round(data_mse, 4) == round(pca_mse, 4)
    assert cosines.min() > 0.999  # "its decoder spans the same plane"


@pytest.mark.claim("autoencoder-vs-pca")
def test_nonlinear_autoencoders_beat_pca_at_the_same_code_size(images, ae_recons, pca_residuals):
    ae2, ae32 = _mse(ae_recons["ae-2"], images), _mse(ae_recons["ae-32"], images)
    assert float(pca_residuals[2]) == pytest.approx(0.0555, abs=5e-4)
    assert float(pca_residuals[32]) == pytest.approx(0.0167, abs=5e-4)
    assert ae2 < float(pca_residuals[2]) and ae32 < float(pca_residuals[32])
    # "PCA needs about 10 components to match ae-2, and about 117 to match ae-32"
    needed_ae2 = int((pca_residuals > ae2).sum())
    needed_ae32 = int((pca_residuals > ae32).sum())
    assert needed_ae2 == 10
    assert 110 <= needed_ae32 <= 125


# ---- bottleneck-size ------------------------------------------------------------------------


@pytest.mark.claim("bottleneck-size")
def test_bigger_bottleneck_reconstructs_better(images, ae_recons):
    ae2, ae32 = _mse(ae_recons["ae-2"], images), _mse(ae_recons["ae-32"], images)
    assert ae2 == pytest.approx(_metrics("ae-2")["test"]["mse"], rel=1e-3)
    assert ae32 == pytest.approx(_metrics("ae-32")["test"]["mse"], rel=1e-3)
    assert ae32 < ae2
    assert 6.5 < ae2 / ae32 < 8.5  # "about 7.5 times lower"
    assert _metrics("ae-2")["parameters"] == 469_010
    assert _metrics("ae-32")["parameters"] == 476_720


@pytest.mark.claim("bottleneck-size")
def test_digit_266_is_kept_by_ae32_and_lost_by_ae2(images, ae_recons):
    x = images[266]
    e2, e32 = _mse(ae_recons["ae-2"][266], x), _mse(ae_recons["ae-32"][266], x)
    assert e32 == pytest.approx(0.0046, abs=5e-4)
    assert e2 == pytest.approx(0.101, abs=2e-3)
    assert e2 / e32 > 15  # "22 times worse"


# ---- bce-and-sigmoid-output ------------------------------------------------------------------


@pytest.mark.claim("bce-and-sigmoid-output")
def test_summed_bce_is_the_bernoulli_negative_log_likelihood(images):
    x = images[:16]
    logits = torch.randn(x.shape, generator=torch.Generator().manual_seed(0)) * 4
    nll = (
        -torch.distributions.Bernoulli(logits=logits, validate_args=False)
        .log_prob(x)
        .flatten(1)
        .sum(1)
    )
    assert torch.allclose(bce_reconstruction(logits, x), nll, rtol=1e-5, atol=1e-3)


@pytest.mark.claim("bce-and-sigmoid-output")
def test_bce_from_logits_is_exact_where_sigmoid_then_log_clamps():
    logits = torch.tensor([200.0, 30.0, -200.0])
    target = torch.tensor([0.0, 0.0, 1.0])  # confidently wrong pixels
    from_logits = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    from_probs = F.binary_cross_entropy(torch.sigmoid(logits), target, reduction="none")
    assert torch.allclose(from_logits, torch.tensor([200.0, 30.0, 200.0]))
    assert torch.allclose(from_probs, torch.tensor([100.0, 100.0, 100.0]))  # log clamped at -100
    assert torch.sigmoid(torch.tensor(17.0)) == 1.0  # float32 rounds sigma(17) to exactly 1
    # log-sum-exp form max(l, 0) - x l + log(1 + e^{-|l|})
    lse = logits.clamp(min=0) - target * logits + torch.log1p(torch.exp(-logits.abs()))
    assert torch.allclose(from_logits, lse)


@pytest.mark.claim("bce-and-sigmoid-output")
def test_bce_gradient_does_not_vanish_where_mse_behind_a_sigmoid_does():
    logit = torch.tensor(-8.0, requires_grad=True)
    F.binary_cross_entropy_with_logits(logit, torch.tensor(1.0)).backward()
    g_bce = float(logit.grad)
    logit.grad = None
    ((torch.sigmoid(logit) - 1.0) ** 2).backward()
    g_mse = float(logit.grad)
    assert g_bce == pytest.approx(-1.0, abs=1e-3)  # s - x
    assert g_mse == pytest.approx(-0.0007, abs=1e-4)  # 2 (s - x) s (1 - s)
    assert 1000 < g_bce / g_mse < 2000  # "roughly 1,500 times smaller"


def _train_mse_ae(test_digits, lr: float, steps: int = 300) -> float:
    """A small MSE-behind-a-sigmoid AE (784-64-16-64-784), Adam at ``lr``, batch 128, on 2000
    test digits; returns its MSE per pixel on them after ``steps`` steps."""
    x_all = test_digits.as_float(slice(0, 2000)).flatten(1)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    net = nn.Sequential(
        nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 64),
        nn.ReLU(), nn.Linear(64, 784), nn.Sigmoid(),
    )  # fmt: skip
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        x = x_all[torch.randint(0, len(x_all), (128,), generator=g)]
        loss = F.mse_loss(net(x), x)  # the tutorial's loss: mean over pixels
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float(F.mse_loss(net(x_all), x_all))


@pytest.mark.claim("bce-and-sigmoid-output")
@pytest.mark.claim("loss-reduction-sum-vs-mean")
@pytest.mark.slow
def test_a_larger_adam_rate_trains_the_mse_autoencoder_faster(test_digits):
    """Trained, not read from a config: the same run at 1e-3 and 3e-3."""
    slow, fast = _train_mse_ae(test_digits, 1e-3), _train_mse_ae(test_digits, 3e-3)
    assert fast < 0.9 * slow


@pytest.mark.claim("bce-and-sigmoid-output")
def test_bce_on_a_grey_pixel_is_minimised_at_the_pixel_but_not_zero():
    x = torch.tensor(0.5)
    s = torch.linspace(0.01, 0.99, 99)
    bce = F.binary_cross_entropy(s, x.expand_as(s), reduction="none")
    assert float(s[bce.argmin()]) == pytest.approx(0.5, abs=1e-6)
    assert float(bce.min()) == pytest.approx(np.log(2), abs=1e-6)  # entropy, not 0


# ---- autoencoder-latent-gaps ----------------------------------------------------------------


@pytest.mark.claim("autoencoder-latent-gaps")
def test_ae_codes_are_spread_and_gappy_while_vae_codes_fill_the_prior():
    ae, vae = code_stats(encoded_test_set("ae-2")), code_stats(encoded_test_set("vae-2"))
    assert ae.std[0] == pytest.approx(5.60, abs=0.05) and ae.std[1] == pytest.approx(4.71, abs=0.05)
    assert max(abs(m) for m in vae.mean) < 0.05
    assert all(0.95 < s < 1.2 for s in vae.std)
    assert math.erf(3 / math.sqrt(2)) ** 2 == pytest.approx(
        0.995, abs=5e-4
    )  # prior mass of the square
    assert ae.inside_box == pytest.approx(0.50, abs=0.01)
    assert vae.inside_box == pytest.approx(0.98, abs=0.01)
    assert ae.coverage == pytest.approx(0.83, abs=0.01) and vae.coverage == pytest.approx(
        0.97, abs=0.01
    )
    assert ae.tv_from_prior == pytest.approx(0.67, abs=0.01)
    assert vae.tv_from_prior == pytest.approx(0.24, abs=0.01)


@pytest.mark.claim("autoencoder-latent-gaps")
def test_ae_code_scale_is_arbitrary(images):
    """Scaling the codes by c and the decoder's first layer by 1/c changes no reconstruction."""
    ae = copy.deepcopy(get_model("ae-2"))
    x = images[:64]
    with torch.no_grad():
        before = ae(x).recon
        last_enc = [m for m in ae.encoder if isinstance(m, torch.nn.Linear)][-1]
        first_dec = next(m for m in ae.decoder.modules() if isinstance(m, torch.nn.Linear))
        last_enc.weight.mul_(10.0)
        last_enc.bias.mul_(10.0)
        first_dec.weight.div_(10.0)
        after = ae(x)
    assert float(after.z.abs().mean()) > 5 * float(get_model("ae-2")(x).z.abs().mean())
    assert torch.allclose(after.recon, before, atol=1e-5)


# ---- interpolation-ae-vs-vae ----------------------------------------------------------------


@pytest.mark.claim("interpolation-ae-vs-vae")
def test_demo_pair_jumps_in_the_ae_and_morphs_in_the_vae(images):
    a, b = images[5863:5864], images[7765:7766]
    ae, vae = latent_path("ae-2", a, b, 10), latent_path("vae-2", a, b, 10)
    assert ae.jump == pytest.approx(10.7, abs=0.05)
    assert vae.jump == pytest.approx(2.15, abs=0.05)
    assert float(ae.step_mse.max()) == pytest.approx(0.067, abs=1e-3)
    assert float(vae.step_mse.max()) == pytest.approx(0.003, abs=5e-4)
    # a ratio above 9 = one step longer than the end-to-end distance: the path detours
    frames = ae.frames.reshape(10, -1).double().numpy()
    biggest = int(np.argmax(ae.step_mse))
    end_to_end = np.linalg.norm(frames[-1] - frames[0])
    assert np.linalg.norm(frames[biggest + 1] - frames[biggest]) > end_to_end
    off_segment = [  # distance of each frame from the straight segment between the end images
        np.linalg.norm(
            f
            - frames[0]
            - np.clip((f - frames[0]) @ (frames[-1] - frames[0]) / end_to_end**2, 0, 1)
            * (frames[-1] - frames[0])
        )
        for f in frames
    ]
    assert max(off_segment) > 0.5 * end_to_end


@pytest.mark.claim("interpolation-ae-vs-vae")
def test_vae_paths_are_smoother_for_most_but_not_all_random_pairs(images):
    rng = np.random.default_rng(0)
    ae_jumps, vae_jumps = [], []
    for _ in range(300):
        i, j = rng.choice(len(images), 2, replace=False)
        a, b = images[i : i + 1], images[j : j + 1]
        ae_jumps.append(latent_path("ae-2", a, b, 10).jump)
        vae_jumps.append(latent_path("vae-2", a, b, 10).jump)
    ae_jumps, vae_jumps = np.array(ae_jumps), np.array(vae_jumps)
    share = float((vae_jumps < ae_jumps).mean())
    assert 0.74 <= share <= 0.82  # "about 78% of pairs"; not 100%
    assert float(vae_jumps.mean()) == pytest.approx(4.5, abs=0.1)
    assert float(ae_jumps.mean()) == pytest.approx(6.1, abs=0.1)


# ---- denoising-limits -----------------------------------------------------------------------


def _noisy(x: torch.Tensor, s: float, seed: int = 0) -> torch.Tensor:
    eps = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    return (x + s * eps).clamp(0.0, 1.0)  # as the reconstruction demo adds noise


@pytest.fixture(scope="module")
def denoise_table(images) -> dict[float, dict[str, float]]:
    """MSE to the clean digit on the first 1000 test digits, per noise level and model."""
    x = images[:1000]
    table = {}
    with torch.no_grad():
        clean_ae32 = get_model("ae-32")(x).recon
        for s in (0.1, 0.3, 0.5):
            xn = _noisy(x, s)
            ae32 = get_model("ae-32")(xn).recon
            vae = get_model("vae-2")
            table[s] = {
                "input": _mse(xn, x),
                "ae-32": _mse(ae32, x),
                "ae-2": _mse(get_model("ae-2")(xn).recon, x),
                "vae-2": _mse(vae.decode(vae.encode(xn).mu), x),
                "shift": _mse(ae32, clean_ae32),
                "floor": _mse(clean_ae32, x),
            }
    return table


@pytest.mark.claim("denoising-limits")
def test_denoising_table_in_the_answer(denoise_table):
    stated = {
        0.1: (0.0054, 0.0107, 0.0396, 0.0497),
        0.3: (0.0465, 0.0357, 0.0683, 0.0793),
        0.5: (0.1154, 0.0667, 0.0889, 0.0894),
    }
    for s, values in stated.items():
        row = denoise_table[s]
        got = (row["input"], row["ae-32"], row["ae-2"], row["vae-2"])
        for g, v in zip(got, values, strict=True):
            assert round(g, 4) == pytest.approx(v, abs=1e-4), (s, got)


@pytest.mark.claim("denoising-limits")
def test_clean_trained_ae_amplifies_light_noise_and_cuts_heavy_noise(denoise_table):
    light, heavy = denoise_table[0.1], denoise_table[0.5]
    assert light["shift"] > light["input"]  # the output moves more than the noise itself
    assert light["shift"] == pytest.approx(0.0064, abs=3e-4)
    assert light["ae-32"] > 1.8 * light["input"]  # "twice that of the noisy input"
    assert 0.55 < heavy["ae-32"] / heavy["input"] < 0.62  # "cuts the error by about 40%"
    for row in denoise_table.values():
        assert row["ae-32"] > row["floor"]  # never below the reconstruction floor
    assert denoise_table[0.1]["floor"] == pytest.approx(0.0046, abs=2e-4)


@pytest.mark.claim("denoising-limits")
def test_heavy_noise_turns_the_demo_seven_into_a_six(test_digits, images):
    """Test digit 0 (a 7) at noise 0.5, as the demo draws it: the 2-D models return a 6."""
    labels = test_digits.labels
    assert int(labels[0]) == 7
    class_means = torch.stack([images[labels == c].mean(0) for c in range(10)])  # (10, 1, 28, 28)
    eps = torch.randn((1, 1, 28, 28), generator=torch.Generator().manual_seed(0))
    noisy = (images[0:1] + 0.5 * eps).clamp(0.0, 1.0)  # the demo's noise with seed 0
    result = reconstruct(noisy, clean=images[0:1])
    for name in ("ae-2", "vae-2"):
        img = torch.from_numpy(result.by_name(name).image)
        nearest = int(((class_means[:, 0] - img) ** 2).flatten(1).sum(1).argmin())
        assert nearest == 6, name


# ---- autoencoder-identity -------------------------------------------------------------------


@pytest.mark.claim("autoencoder-identity")
def test_ae32_reconstructs_digits_but_not_noise_or_shuffled_pixels(images):
    x = images[:1000]
    g = torch.Generator().manual_seed(0)
    uniform = torch.rand(x.shape, generator=g)
    shuffled = x.flatten(1)[:, torch.randperm(N_PIXELS, generator=g)].view_as(x)
    ae = get_model("ae-32")
    with torch.no_grad():
        e_digits = _mse(ae(images).recon, images)  # all 10k test digits, as in the model card
        e_uniform = _mse(ae(uniform).recon, uniform)
        e_shuffled = _mse(ae(shuffled).recon, shuffled)
    assert e_digits == pytest.approx(0.0046, abs=5e-5)
    assert e_uniform == pytest.approx(0.27, abs=0.01)
    assert e_uniform / e_digits > 50  # "nearly 60 times worse"
    assert e_shuffled == pytest.approx(0.11, abs=0.01)
    assert e_shuffled / e_digits > 20
