"""Teaching truth for questions/beta-and-conditioning: each test checks a claim an answer makes.

The claims are checked against the shipped checkpoints (``get_model``), their ``metrics.json``
files and the bundled 10k test digits. A failing test means the answer is wrong.
"""

import itertools

import numpy as np
import pytest
import torch

from kit.demos import beta, generate, latent
from kit.demos.common import get_model, load_test_digit
from tests.measured import measured_metrics

BETAS = {"beta-vae-0.5": 0.5, "beta-vae-1": 1.0, "beta-vae-4": 4.0, "beta-vae-10": 10.0}


def _metrics(name: str) -> dict:
    """Test-set metrics recomputed from the weights (not read from metrics.json)."""
    return measured_metrics(name)


@pytest.fixture(scope="module")
def images(test_digits):
    return test_digits.as_float(), test_digits.labels


@pytest.fixture(scope="module")
def posteriors(images):
    x, _ = images
    with torch.no_grad():
        return {name: get_model(name).encode(x) for name in BETAS}


# ---- beta-vae-disentanglement ------------------------------------------------------------------


@pytest.mark.claim("beta-vae-disentanglement")
def test_total_correlation_of_the_code_falls_as_beta_grows(posteriors):
    """Gaussian estimate of TC(q(z)) on active dims: ~0.11, 0.02, 0.005, 0.003 nats."""
    tc = {}
    for name, post in posteriors.items():
        active = torch.from_numpy(np.asarray(_metrics(name)["kl_per_dim"]) > 0.01)
        z = post.sample(torch.Generator().manual_seed(0))[:, active]  # one z per test digit
        cov = torch.cov(z.T)
        tc[name] = float(0.5 * (torch.log(torch.diag(cov)).sum() - torch.logdet(cov)))
    values = [tc[n] for n in BETAS]
    assert values == sorted(values, reverse=True), tc
    assert tc["beta-vae-0.5"] > 5 * tc["beta-vae-4"]
    assert tc["beta-vae-0.5"] == pytest.approx(0.11, abs=0.03)
    assert tc["beta-vae-4"] < 0.01 and tc["beta-vae-10"] < 0.01


@pytest.mark.claim("beta-vae-disentanglement")
def test_beta4_traversal_active_rows_move_the_image_inactive_rows_do_not():
    x, _ = load_test_digit(3)
    t = beta.traverse("beta-vae-4", x, 9)
    active = t.kl > beta.ACTIVE_KL
    assert active.sum() == 6
    assert t.change[active].min() > 0.04  # every one of the six used dims visibly redraws the 0
    assert t.change[~active].max() < 0.001


# ---- beta-rate-distortion --------------------------------------------------------------------


@pytest.mark.claim("beta-rate-distortion")
def test_recon_rises_and_kl_falls_with_beta_and_elbo_is_best_at_beta_one():
    m = {name: _metrics(name) for name in BETAS}
    recon = [m[n]["recon"] for n in BETAS]
    kl = [m[n]["kl"] for n in BETAS]
    assert recon == sorted(recon) and kl == sorted(kl, reverse=True)
    assert recon[0] == pytest.approx(79.5, abs=0.1) and recon[-1] == pytest.approx(140.6, abs=0.1)
    assert kl[0] == pytest.approx(23.5, abs=0.1) and kl[-1] == pytest.approx(3.86, abs=0.01)
    best = min(BETAS, key=lambda n: m[n]["neg_elbo"])
    assert best == "beta-vae-1"
    assert m["beta-vae-1"]["neg_elbo"] == pytest.approx(101.04, abs=0.01)
    assert m["beta-vae-0.5"]["neg_elbo"] == pytest.approx(102.95, abs=0.01)


@pytest.mark.claim("beta-rate-distortion")
def test_each_model_wins_its_own_objective_and_chord_slopes_sit_between_betas():
    m = {name: _metrics(name) for name in BETAS}
    for own, b in BETAS.items():
        scores = {n: m[n]["recon"] + b * m[n]["kl"] for n in BETAS}
        assert min(scores, key=scores.get) == own, (b, scores)
    names = list(BETAS)
    slopes = []
    for lo, hi in itertools.pairwise(names):
        slope = (m[hi]["recon"] - m[lo]["recon"]) / (m[lo]["kl"] - m[hi]["kl"])
        assert BETAS[lo] < slope < BETAS[hi], (lo, hi, slope)
        slopes.append(slope)
    assert slopes == pytest.approx([0.57, 2.45, 7.09], abs=0.02)


# ---- beta-switches-off-dimensions ------------------------------------------------------------


@pytest.mark.claim("beta-switches-off-dimensions")
def test_active_counts_are_10_10_6_4_by_both_measures():
    for name, want in zip(BETAS, (10, 10, 6, 4), strict=True):
        test = _metrics(name)
        kl = np.asarray(test["kl_per_dim"])
        assert int((kl > 0.01).sum()) == want
        assert test["active_units"] == want
        assert np.all((kl < 1e-4) | (kl > 0.3))  # no dimension half on: used, or not at all
    kl = {name: np.asarray(_metrics(name)["kl_per_dim"]) for name in BETAS}
    both = np.concatenate([kl["beta-vae-0.5"], kl["beta-vae-1"]])
    assert both.min() > 1.2 and both.max() < 2.95  # 1.2 to 2.9 nats each
    on4, on10 = (
        kl["beta-vae-4"][kl["beta-vae-4"] > 0.01],
        kl["beta-vae-10"][kl["beta-vae-10"] > 0.01],
    )
    assert on4.min() == pytest.approx(0.78, abs=0.01) and on4.max() == pytest.approx(1.86, abs=0.01)
    assert on10.min() == pytest.approx(0.40, abs=0.01) and on10.max() == pytest.approx(
        1.36, abs=0.01
    )
    assert np.all(kl["beta-vae-4"][kl["beta-vae-4"] < 0.01] < 1e-5)


@pytest.mark.claim("beta-switches-off-dimensions")
def test_switched_off_dimensions_are_the_prior_for_every_test_digit(posteriors):
    for name in ("beta-vae-4", "beta-vae-10"):
        post = posteriors[name]
        off = torch.from_numpy(np.asarray(_metrics(name)["kl_per_dim"]) < 0.01)
        assert post.mu[:, off].abs().max() < 0.05  # mu_j ~ 0 for all 10,000 digits
        assert (post.std[:, off] - 1).abs().max() < 0.01  # sigma_j ~ 1 for all of them
        per_dim = post.std[:, ~off].mean(0)  # the used dims are far narrower than the prior
        assert per_dim.min() > 0.15 and per_dim.max() < 0.72  # 0.16 to 0.71


# ---- latent-traversals -----------------------------------------------------------------------


@pytest.mark.claim("latent-traversals")
def test_inactive_rows_are_frozen_and_the_top_row_moves_the_image():
    for index in range(5):
        x, _ = load_test_digit(index)
        for name in ("beta-vae-4", "beta-vae-10"):
            t = beta.traverse(name, x, 9)
            inactive = t.kl < beta.ACTIVE_KL
            assert t.change[inactive].max() < 0.001
            assert t.change[0] > 0.07  # the highest-KL dimension: ~0.08-0.12 per pixel
            assert t.change[0] > 100 * t.change[inactive].max()
    x, _ = load_test_digit(0)
    t = beta.traverse("beta-vae-10", x, 9)
    assert t.order[:4].tolist() == [5, 2, 8, 4]  # the four used dimensions, largest KL first
    assert t.values[0] == -3.0 and t.values[-1] == 3.0


# ---- cvae-conditioning -----------------------------------------------------------------------


@pytest.mark.claim("cvae-conditioning")
def test_label_is_joined_to_encoder_and_decoder_inputs():
    cvae = get_model("cvae-2")
    assert cvae.trunk[0].weight.shape == (256, 794)  # [x ; onehot(y)] = 784 + 10
    assert cvae.decoder.net[0].weight.shape == (128, 12)  # [z ; onehot(y)] = 2 + 10
    vae = get_model("vae-2")
    assert vae.decoder.net[0].weight.shape == (128, 2)


@pytest.mark.claim("cvae-conditioning")
def test_one_z_with_ten_labels_gives_ten_different_digits(digit_classifier):
    z = torch.randn(100, 2, generator=torch.Generator().manual_seed(0))  # (100, 2) styles
    labels = torch.arange(10).repeat_interleave(100)  # every style with every label
    imgs = generate.decode_with_labels(z.repeat(10, 1), labels)
    hits = int((digit_classifier(imgs) == labels).sum())
    assert hits / 1000 > 0.995  # 999 of 1000: the label alone decides which digit appears
    row = generate.all_digits(torch.tensor([-1.13, -1.15]))
    assert digit_classifier(row).tolist() == list(range(10))


# ---- cvae-z-carries-style --------------------------------------------------------------------


def _knn_accuracy(z: torch.Tensor, y: torch.Tensor, k: int = 5) -> float:
    """Label accuracy of a k-NN vote in latent space: codes 5000.. against codes 0..4999."""
    idx = torch.cdist(z[5000:], z[:5000]).topk(k, largest=False).indices
    pred = torch.mode(y[:5000][idx], dim=1).values
    return float((pred == y[5000:]).float().mean())


@pytest.mark.claim("cvae-z-carries-style")
def test_cvae_codes_hold_no_class_vae_codes_do(images):
    x, y = images
    with torch.no_grad():
        z_cvae = get_model("cvae-2").encode(x, y).mu
        z_vae = get_model("vae-2").encode(x).mu
    acc_cvae, acc_vae = _knn_accuracy(z_cvae, y), _knn_accuracy(z_vae, y)
    assert acc_cvae < 0.15  # chance is 0.10 (measured 0.107)
    assert acc_vae > 0.75  # measured 0.81
    cvae, vae = _metrics("cvae-2"), _metrics("vae-2")
    assert cvae["kl"] < vae["kl"] and cvae["recon"] < vae["recon"]
    assert cvae["kl"] == pytest.approx(5.16, abs=0.01) and vae["kl"] == pytest.approx(
        6.81, abs=0.01
    )
    assert cvae["neg_elbo"] + np.log(10) < vae["neg_elbo"]  # 130.2 < 140.1 nats


def _width_and_shear(imgs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Ink-weighted column std (width) and d column / d row (shear) of (B, 1, 28, 28) images."""
    w = imgs[:, 0]
    r = torch.arange(28.0).view(1, 28, 1)
    c = torch.arange(28.0).view(1, 1, 28)
    s = w.sum(dim=(1, 2))
    mr, mc = (w * r).sum(dim=(1, 2)) / s, (w * c).sum(dim=(1, 2)) / s
    dr, dc = r - mr.view(-1, 1, 1), c - mc.view(-1, 1, 1)
    var_r = (w * dr**2).sum(dim=(1, 2)) / s
    var_c = (w * dc**2).sum(dim=(1, 2)) / s
    cov = (w * dr * dc).sum(dim=(1, 2)) / s
    return var_c.sqrt(), cov / var_r


@pytest.mark.claim("cvae-z-carries-style")
def test_each_style_coordinate_acts_the_same_way_on_all_ten_digits():
    def row(z1, z2):
        return _width_and_shear(generate.all_digits(torch.tensor([z1, z2])))

    narrow, _ = row(-2.5, 0.0)
    wide, _ = row(2.5, 0.0)
    assert torch.all(wide > narrow)  # z1: every digit gets wider
    _, lean_back = row(0.0, -2.5)
    _, lean_forward = row(0.0, 2.5)
    assert torch.all(lean_back > 0) and torch.all(lean_forward < 0)  # z2: the slant flips


# ---- sampling-temperature --------------------------------------------------------------------


@pytest.mark.claim("sampling-temperature")
def test_lower_temperature_gives_tighter_samples_nearer_the_typical_digit():
    temps = (0.0, 0.5, 1.0, 1.5, 2.0)
    spread = [generate.generate_digits(7, 16, t, 0)["numbers"]["pixel_spread"] for t in temps]
    assert spread[0] == 0.0
    assert spread == sorted(spread) and len(set(spread)) == len(spread)
    assert spread[1] == pytest.approx(0.063, abs=0.002)
    assert spread[2] == pytest.approx(0.095, abs=0.002)
    centre = generate.sample_digits(7, 1, 0.0, 0).images[0]  # T = 0: z = 0 for every sample
    dist = [
        float((generate.sample_digits(7, 64, t, 0).images - centre).abs().mean()) for t in temps[1:]
    ]
    assert dist == sorted(dist)


@pytest.mark.claim("sampling-temperature")
def test_scaling_a_gaussian_by_t_is_raising_its_density_to_one_over_t_squared():
    z = torch.randn(50, 2, generator=torch.Generator().manual_seed(1))
    t = 0.6
    scaled = torch.distributions.Normal(0.0, t).log_prob(z).sum(-1)
    powered = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1) / t**2
    diff = scaled - powered  # must be a constant (the normaliser), the same for every z
    assert torch.allclose(diff, diff[0].expand_as(diff), atol=1e-5)


# ---- conditional-sampling-unconditional-vae --------------------------------------------------


@pytest.mark.claim("conditional-sampling-unconditional-vae")
def test_class_gaussians_in_vae2_plane_are_impure_cvae_is_not(images, digit_classifier):
    x, y = images
    with torch.no_grad():
        mu = get_model("vae-2").encode(x[5000:]).mu  # the second half of the test set
    y = y[5000:]
    g = torch.Generator().manual_seed(0)
    vae_imgs, cvae_imgs = [], []
    for c in range(10):
        codes = mu[y == c]
        chol = torch.linalg.cholesky(torch.cov(codes.T))
        z = codes.mean(0) + torch.randn(150, 2, generator=g) @ chol.T  # fit N(m_c, S_c), sample
        with torch.no_grad():
            vae_imgs.append(get_model("vae-2").decode(z))
        cvae_imgs.append(
            generate.decode_with_labels(torch.randn(150, 2, generator=g), torch.full((150,), c))
        )
    wanted = torch.arange(10).repeat_interleave(150)
    hit_vae = (digit_classifier(torch.cat(vae_imgs)) == wanted).float().view(10, 150).mean(1)
    hit_cvae = (digit_classifier(torch.cat(cvae_imgs)) == wanted).float().view(10, 150).mean(1)
    purity_vae = {c: float(hit_vae[c]) for c in range(10)}
    purity_cvae = {c: float(hit_cvae[c]) for c in range(10)}
    assert np.mean(list(purity_vae.values())) == pytest.approx(0.65, abs=0.01)
    assert purity_vae[5] == pytest.approx(0.20, abs=0.01)  # 5s and 8s overlap other classes
    assert purity_vae[8] == pytest.approx(0.23, abs=0.01)
    assert purity_vae[0] == pytest.approx(0.93, abs=0.01)
    assert purity_vae[1] == pytest.approx(0.93, abs=0.01)
    five = digit_classifier(vae_imgs[5])  # the 5s' samples are read mostly as 3s and 6s
    assert torch.bincount(five, minlength=10).argsort(descending=True)[:3].tolist() == [3, 6, 5]
    assert min(purity_cvae.values()) > 0.98


@pytest.mark.claim("conditional-sampling-unconditional-vae")
def test_the_mean_code_of_all_test_fives_decodes_to_a_two(test_digits, digit_classifier):
    codes = torch.from_numpy(latent.encoded_test_set("vae-2").copy())
    centre = codes[test_digits.labels == 5].mean(0)
    assert centre.tolist() == pytest.approx([0.27, -0.47], abs=0.01)
    with torch.no_grad():
        image = get_model("vae-2").decode(centre.unsqueeze(0))
    assert int(digit_classifier(image)[0]) == 2
    assert latent.decode_point(0.27, -0.47)["numbers"]["nearest_label"] == 2


@pytest.mark.claim("beta-vae-disentanglement")
def test_the_prior_is_rotation_invariant_so_only_the_diagonal_posterior_picks_axes():
    """Rotate every code by one orthogonal R: the average KL to N(0, I) of the rotated
    posteriors N(R mu, R S R^T) is unchanged (full-covariance KL), but the rotated posterior is
    no longer diagonal, so a diagonal-Gaussian encoder can't represent it."""
    g = torch.Generator().manual_seed(0)
    d = 4
    mu = torch.randn(64, d, generator=g, dtype=torch.float64)
    var = torch.rand(64, d, generator=g, dtype=torch.float64) + 0.1
    r, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    prior = torch.distributions.MultivariateNormal(
        torch.zeros(d, dtype=torch.float64), torch.eye(d, dtype=torch.float64)
    )
    cov = torch.diag_embed(var)
    plain = torch.distributions.MultivariateNormal(mu, cov)
    rotated = torch.distributions.MultivariateNormal(mu @ r.T, r @ cov @ r.T)
    kl_plain = torch.distributions.kl_divergence(plain, prior)
    kl_rot = torch.distributions.kl_divergence(rotated, prior)
    assert torch.allclose(kl_plain, kl_rot, atol=1e-10)  # the objective can't tell them apart
    off_diag = (r @ cov @ r.T).triu(1).abs().amax(dim=(1, 2))
    assert float(off_diag.min()) > 1e-3  # but the rotated posteriors are not diagonal
