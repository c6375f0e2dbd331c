"""Teaching truth for questions/generative-models: each test checks a claim an answer makes.

Claims about this project are checked against the shipped checkpoints and the bundled test
digits; claims about other models (VQ-VAE, diffusion, flows, FID) are checked as mathematics in
torch. A failing test means the answer is wrong.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from kit.demos import elbo_gap, latent, vae_vs_gan
from kit.demos.common import get_model, load_test_digit
from kit.evaluate import evaluate, exact_log_px
from kit.frechet import frechet_distance
from kit.losses import (
    bce_reconstruction,
    gan_discriminator_loss,
    gan_generator_loss,
    importance_log_px,
)
from tests.measured import measured_metrics


def _metrics(name: str) -> dict:
    """Test-set metrics recomputed from the weights (not read from metrics.json)."""
    return measured_metrics(name)


@pytest.fixture(scope="module")
def samples():
    """1000 VAE-2 and 1000 GAN samples from seeded prior draws."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        vae = get_model("vae-2").decode(torch.randn(1000, 2, generator=g))
        gan = get_model("gan")(1000, generator=g).images
    return {"vae": vae, "gan": gan}


# ---- interpolation-vae-vs-ae -----------------------------------------------------------------


# ---- vae-vs-gan ------------------------------------------------------------------------------


@pytest.mark.claim("vae-vs-gan")
def test_gan_samples_are_sharper_than_vae_samples():
    real = vae_vs_gan.real_sharpness().laplacian
    for seed in (0, 1):
        sets = vae_vs_gan.draw_samples(seed)
        s_vae = float(vae_vs_gan.laplacian_sharpness(sets.vae).mean())
        s_gan = float(vae_vs_gan.laplacian_sharpness(sets.gan).mean())
        assert s_gan > 2.3 * s_vae  # seed 0: 0.187 vs 0.069
        assert s_vae < real < s_gan  # the GAN even out-scores real digits (0.166)
    sets = vae_vs_gan.draw_samples(0)
    assert float(vae_vs_gan.laplacian_sharpness(sets.vae).mean()) == pytest.approx(0.069, abs=0.002)
    assert float(vae_vs_gan.laplacian_sharpness(sets.gan).mean()) == pytest.approx(0.187, abs=0.002)


@pytest.mark.claim("vae-vs-gan")
def test_gan_discriminator_never_reached_its_equilibrium(test_digits):
    # computed from the weights, not read back from metrics.json
    gan = evaluate(get_model("gan"), test_digits)
    assert gan["d_real"] == pytest.approx(0.62, abs=0.01)
    assert gan["d_fake"] == pytest.approx(0.20, abs=0.01)
    assert "neg_elbo" not in gan  # no likelihood to report
    assert evaluate(get_model("vae-2"), test_digits)["neg_elbo"] == pytest.approx(140.06, abs=0.01)
    # with one-sided smoothing (real target 0.9) the best D where p_g = p_data is 0.45, not 1/2:
    # minimise the shipped discriminator loss over one shared logit, real and fake alike
    logit = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([logit], lr=0.5, max_iter=100)

    def closure():
        opt.zero_grad()
        loss = gan_discriminator_loss(logit, logit, real_label=0.9)
        loss.backward()
        return loss

    opt.step(closure)
    assert float(torch.sigmoid(logit.detach())) == pytest.approx(0.45, abs=1e-4)  # 0.9p / (p + p)


# ---- why-vae-samples-blurry -------------------------------------------------------------------


def _grey_fraction(imgs: torch.Tensor) -> float:
    return float(((imgs > 0.2) & (imgs < 0.8)).float().mean())


@pytest.mark.claim("why-vae-samples-blurry")
def test_vae_samples_are_mostly_grey_where_real_and_gan_digits_are_not(samples, test_digits):
    real = _grey_fraction(test_digits.as_float(slice(0, 1000)))
    vae, gan = _grey_fraction(samples["vae"]), _grey_fraction(samples["gan"])
    assert real == pytest.approx(0.06, abs=0.01)
    assert vae == pytest.approx(0.19, abs=0.01)
    assert vae > 2.5 * real and gan < real
    with torch.no_grad():
        centre = get_model("vae-2").decode(torch.zeros(1, 2))  # the demo preset z = (0, 0)
    assert _grey_fraction(centre) > 2 * real


@pytest.mark.claim("why-vae-samples-blurry")
def test_more_latent_information_sharpens_reconstructions(test_digits):
    x = test_digits.as_float(slice(0, 1000))
    mse = {}
    with torch.no_grad():
        for name in ("vae-2", "beta-vae-0.5"):
            m = get_model(name)
            mse[name] = float(((m.decode(m.encode(x).mu) - x) ** 2).mean())
    assert mse["vae-2"] == pytest.approx(0.035, abs=0.002)
    assert mse["beta-vae-0.5"] == pytest.approx(0.012, abs=0.001)


@pytest.mark.claim("why-vae-samples-blurry")
def test_the_bce_optimal_single_image_for_several_digits_is_their_pixel_average(test_digits):
    x, y = test_digits.as_float(), test_digits.labels
    targets = torch.cat([x[y == 4][:20], x[y == 9][:20]]).flatten(1)  # (40, 784) fours and nines
    mean = targets.mean(0, keepdim=True)

    def loss(p):  # summed BCE of one prediction against every target
        return float(
            bce_reconstruction(
                torch.logit(p.clamp(1e-6, 1 - 1e-6)).expand_as(targets), targets
            ).sum()
        )

    logits = torch.logit(mean.clamp(1e-6, 1 - 1e-6)).requires_grad_(True)
    bce_reconstruction(logits.expand_as(targets), targets).sum().backward()
    grad_at_mean = logits.grad[(mean > 1e-3) & (mean < 1 - 1e-3)]
    assert grad_at_mean.abs().max() < 1e-3  # d/dlogit sum_i BCE = n (p - mean) = 0
    best_single = min(loss(t.unsqueeze(0)) for t in targets)
    assert loss(mean) < best_single  # hedging with grey beats committing to any one digit
    assert loss(mean) < loss((mean > 0.5).float())  # ... and beats the crisp, thresholded mean
    assert _grey_fraction(mean) == pytest.approx(0.21, abs=0.01)
    assert _grey_fraction(mean) > 3 * _grey_fraction(targets)  # 0.21 vs 0.06


@pytest.mark.claim("why-vae-samples-blurry")
def test_sampling_the_pixels_adds_speckle_not_sharp_strokes(samples):
    g = torch.Generator().manual_seed(0)
    means = samples["vae"][:256]
    pixels = torch.bernoulli(means, generator=g)  # x ~ p(x|z), pixel by pixel
    real = vae_vs_gan.real_sharpness().laplacian
    assert float(vae_vs_gan.laplacian_sharpness(pixels).mean()) > 2 * real


# ---- mode-collapse-and-coverage ---------------------------------------------------------------


@pytest.mark.claim("mode-collapse-and-coverage")
@pytest.mark.claim("vae-vs-gan")
def test_gan_class_mix_is_skewed_vae_mix_is_close_to_the_data(
    samples, digit_classifier, test_digits
):
    data = torch.bincount(test_digits.labels, minlength=10).float() / len(test_digits)
    freq = {
        k: torch.bincount(digit_classifier(v), minlength=10).float() / len(v)
        for k, v in samples.items()
    }
    tv = {k: float(0.5 * (f - data).abs().sum()) for k, f in freq.items()}
    # measured with the shipped CNN classifier (98.6% test accuracy, tests/test_classifier.py)
    assert tv["gan"] > 3 * tv["vae"]
    assert tv["gan"] == pytest.approx(0.22, abs=0.01) and tv["vae"] == pytest.approx(0.06, abs=0.01)
    assert int(freq["gan"].argmax()) == 1 and float(freq["gan"][1]) == pytest.approx(
        0.225, abs=0.01
    )
    assert freq["gan"].min() > 0.02  # every class still appears: partial, not total, collapse
    assert all(float(freq["gan"][c]) == pytest.approx(0.155, abs=0.01) for c in (8, 9))
    assert all(float(freq["gan"][c]) < 0.04 for c in (0, 6))  # a third or less of their share
    assert float(freq["vae"].min()) >= 0.06 and float(freq["vae"].max()) <= 0.13


# ---- evaluating-generative-models -------------------------------------------------------------


@pytest.mark.claim("evaluating-generative-models")
def test_importance_sampling_lifts_the_elbo_and_the_gap_varies_by_digit(test_digits):
    vae = get_model("vae-2")
    x = test_digits.as_float(slice(0, 16))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        post = vae.encode(x)
        z = post.sample(g, n=64)  # (64, 16, 2)
        rec = bce_reconstruction(vae.decode_logits(z.reshape(-1, 2)), x.repeat(64, 1, 1, 1))
        elbo = -(rec.view(64, 16).mean(0) + post.kl())
        iwae = importance_log_px(post, vae.decode_logits, x, k=200, generator=g)
    exact = exact_log_px(vae, x).float()  # the truth, by quadrature
    assert float((iwae - elbo).mean()) > 0.1
    assert bool((iwae < exact + 0.25).all())  # a lower bound in expectation; one draw is noisy
    assert float((exact - iwae).max()) > 5  # and a loose one on some digits
    hard = elbo_gap.elbo_and_bounds(load_test_digit(218)[0], seed=0)
    easy = elbo_gap.elbo_and_bounds(load_test_digit(0)[0], seed=0)
    assert hard.bound_mean[-1] - hard.elbo == pytest.approx(26, abs=1.5)
    assert hard.elbo == pytest.approx(-170.6, abs=0.1)
    assert hard.bound_mean[-1] == pytest.approx(-145.0, abs=0.1)
    assert hard.exact == pytest.approx(-133.6, abs=0.05)
    assert hard.exact - hard.bound_mean[-1] == pytest.approx(11.4, abs=0.5)  # "11 nats missing"
    assert easy.bound_mean[-1] - easy.elbo < 1  # about 0.3 nats
    assert abs(easy.exact - easy.bound_mean[-1]) < 0.05
    first100 = test_digits.as_float(slice(0, 100))
    assert float(exact_log_px(vae, first100).mean()) == pytest.approx(-130.8, abs=0.05)


def _spd(g: torch.Generator, n: int = 6) -> torch.Tensor:
    a = torch.randn(n, n, generator=g, dtype=torch.float64)
    return a @ a.T + 0.1 * torch.eye(n, dtype=torch.float64)


@pytest.mark.claim("evaluating-generative-models")
def test_frechet_distance_matches_independent_references():
    g = torch.Generator().manual_seed(0)
    cov1, cov2 = _spd(g), _spd(g)
    mu1, mu2 = (torch.randn(6, generator=g, dtype=torch.float64) for _ in range(2))
    got = frechet_distance(mu1, cov1, mu2, cov2)
    # reference 1: Tr (S1^1/2 S2 S1^1/2)^1/2 = sum_i sqrt(lambda_i(S1 S2)), the eigenvalues of
    # the (non-symmetric) product, computed by a general eigensolver
    lam = torch.linalg.eigvals(cov1 @ cov2).real.clamp(min=0)
    ref = float(((mu1 - mu2) ** 2).sum() + torch.trace(cov1 + cov2) - 2 * lam.sqrt().sum())
    assert got == pytest.approx(ref, rel=1e-8)
    assert frechet_distance(mu2, cov2, mu1, cov1) == pytest.approx(got, rel=1e-8)  # symmetric
    # reference 2: commuting (diagonal) covariances, ||dmu||^2 + sum (sqrt a_i - sqrt b_i)^2
    a, b = (
        torch.rand(6, generator=g, dtype=torch.float64),
        torch.rand(6, generator=g, dtype=torch.float64),
    )
    diag = frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b))
    assert diag == pytest.approx(
        float(((mu1 - mu2) ** 2).sum() + ((a.sqrt() - b.sqrt()) ** 2).sum())
    )
    # reference 3: in 1-D, W2^2 by its definition: the optimal coupling pairs equal quantiles,
    # so the mean squared gap between sorted samples of N(0, 4) and N(1, 1) converges to it
    n = 200_000
    x = torch.sort(2 * torch.randn(n, generator=g, dtype=torch.float64)).values
    y = torch.sort(1 + torch.randn(n, generator=g, dtype=torch.float64)).values
    one = torch.ones(1, 1, dtype=torch.float64)
    fd = frechet_distance(
        torch.zeros(1, dtype=torch.float64), 4 * one, torch.ones(1, dtype=torch.float64), one
    )
    assert fd == pytest.approx(float(((x - y) ** 2).mean()), abs=0.02)
    assert fd == pytest.approx(2.0, abs=1e-10)  # (m1 - m2)^2 + (s1 - s2)^2
    # the answer's two properties: 0 for identical statistics; a mean shift adds ||dmu||^2
    assert frechet_distance(mu1, cov1, mu1, cov1) == pytest.approx(0.0, abs=1e-8)
    shift = torch.full((6,), 0.5, dtype=torch.float64)
    assert frechet_distance(mu1, cov1, mu1 + shift, cov1) == pytest.approx(1.5, abs=1e-8)


# ---- vq-vae ----------------------------------------------------------------------------------


@pytest.mark.claim("vq-vae")
def test_straight_through_and_the_two_vq_losses():
    g = torch.Generator().manual_seed(0)
    codebook = torch.randn(8, 4, generator=g).requires_grad_(True)  # K = 8 codes of size 4
    z_e = torch.randn(5, 4, generator=g).requires_grad_(True)  # encoder outputs
    idx = torch.cdist(z_e.detach(), codebook.detach()).argmin(dim=1)  # nearest code
    z_q = codebook[idx]
    z_st = z_e + (z_q - z_e).detach()  # forward: z_q; backward: identity to z_e
    assert torch.allclose(z_st, z_q)
    w = torch.randn(5, 4, generator=g)
    (z_st * w).sum().backward()
    assert torch.allclose(z_e.grad, w)  # decoder gradient copied straight onto z_e
    assert codebook.grad is None  # ... and none reaches the codebook this way

    z_e.grad, codebook.grad = None, None
    codebook_loss = ((z_e.detach() - codebook[idx]) ** 2).sum()
    codebook_loss.backward()
    assert z_e.grad is None and codebook.grad.abs().sum() > 0
    codebook.grad = None
    commitment = 0.25 * ((z_e - codebook[idx].detach()) ** 2).sum()
    commitment.backward()
    assert codebook.grad is None and z_e.grad.abs().sum() > 0

    k = 512  # one-hot q(z|x) against a uniform prior over K codes: KL = log K, a constant
    q = torch.zeros(k)
    q[3] = 1.0
    kl = float((q[q > 0] * (q[q > 0].log() - math.log(1 / k))).sum())
    assert kl == pytest.approx(math.log(k))


# ---- diffusion-as-hierarchical-vae -----------------------------------------------------------


def _ddpm_schedule():
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    return betas, torch.cumprod(1 - betas, dim=0)


@pytest.mark.claim("diffusion-as-hierarchical-vae")
def test_the_fixed_encoder_ends_at_the_prior(test_digits):
    _, abar = _ddpm_schedule()
    assert float(abar[-1]) == pytest.approx(4.0e-5, rel=0.05)
    x0 = test_digits.as_float(slice(0, 1)).flatten().double()
    a = abar[-1]
    kl = 0.5 * (a * x0**2 + (1 - a) - torch.log(1 - a) - 1)  # KL(q(x_T|x_0) || N(0, 1)) per pixel
    assert float(kl.sum()) < 0.01  # nats, over all 784 pixels
    # against torch's KL of the same Gaussians, and the scale dependence the answer states
    q = torch.distributions.Normal(a.sqrt() * x0, (1 - a).sqrt())
    ref = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum()
    assert float(kl.sum()) == pytest.approx(float(ref), rel=1e-6)
    x_pm1 = 2 * x0 - 1  # the same digit in [-1, 1]
    kl_pm1 = 0.5 * (a * x_pm1**2 + (1 - a) - torch.log(1 - a) - 1)
    assert float(kl_pm1.sum()) > 3 * float(kl.sum())  # background pixels now cost too
    assert float(kl_pm1.sum()) == pytest.approx(0.5 * float(a) * float((x_pm1**2).sum()), rel=0.01)


@pytest.mark.claim("diffusion-as-hierarchical-vae")
def test_noising_step_by_step_matches_the_closed_form():
    betas, abar = _ddpm_schedule()
    g = torch.Generator().manual_seed(0)
    x = torch.full((20000,), 0.8, dtype=torch.float64)
    for t in range(300):
        eps = torch.randn(20000, generator=g, dtype=torch.float64)
        x = torch.sqrt(1 - betas[t]) * x + torch.sqrt(betas[t]) * eps
    a = abar[299]
    assert float(x.mean()) == pytest.approx(float(torch.sqrt(a) * 0.8), abs=0.02)
    assert float(x.var()) == pytest.approx(float(1 - a), rel=0.03)


@pytest.mark.claim("diffusion-as-hierarchical-vae")
def test_each_elbo_term_is_a_weighted_noise_prediction_error():
    betas, abar = _ddpm_schedule()
    t = 400
    alpha, a_t, a_prev, beta = 1 - betas[t], abar[t], abar[t - 1], betas[t]
    g = torch.Generator().manual_seed(0)
    x0, eps, eps_hat = (torch.randn(16, generator=g, dtype=torch.float64) for _ in range(3))
    xt = a_t.sqrt() * x0 + (1 - a_t).sqrt() * eps
    post_mean = (a_prev.sqrt() * beta / (1 - a_t)) * x0 + (
        alpha.sqrt() * (1 - a_prev) / (1 - a_t)
    ) * xt
    var = (1 - a_prev) / (1 - a_t) * beta  # the posterior q(x_{t-1} | x_t, x_0)'s variance
    model_mean = (xt - beta / (1 - a_t).sqrt() * eps_hat) / alpha.sqrt()
    q = torch.distributions.Normal(post_mean, var.sqrt())
    p = torch.distributions.Normal(model_mean, var.sqrt())
    kl = float(torch.distributions.kl_divergence(q, p).sum())
    weight = beta**2 / (2 * var * alpha * (1 - a_t))
    assert kl == pytest.approx(float(weight * ((eps - eps_hat) ** 2).sum()), rel=1e-9)


# ---- latent-diffusion-autoencoder -------------------------------------------------------------


@pytest.mark.claim("latent-diffusion-autoencoder")
def test_ae32_compresses_24x_with_small_error_and_only_the_vae_code_has_a_fixed_scale(
    test_digits, digit_classifier
):
    x = test_digits.as_float(slice(0, 1000))
    with torch.no_grad():
        mse = float(((get_model("ae-32")(x).recon - x) ** 2).mean())
    assert mse < 0.006 and _metrics("ae-32")["mse"] == pytest.approx(0.0046, abs=1e-4)
    assert 784 / get_model("ae-32").config.latent_dim == 24.5
    assert 512 * 512 * 3 / (64 * 64 * 4) == 48  # Stable Diffusion's latent: f = 8, 4 channels
    assert _metrics("ae-2")["mse"] > 7 * _metrics("ae-32")["mse"]
    ae_std = latent.encoded_test_set_stats("ae-2").std
    vae_std = latent.encoded_test_set_stats("vae-2").std
    assert min(ae_std) > 4 and max(vae_std) < 1.2
    x8, label = load_test_digit(8)  # the demo preset: a 5
    with torch.no_grad():
        pair = torch.cat([get_model("ae-32")(x8).recon, get_model("ae-2")(x8).recon])
    assert (
        label == 5
        and digit_classifier(pair).tolist()[0] == 5
        and digit_classifier(pair).tolist()[1] != 5
    )


# ---- normalizing-flows-richer-posteriors ------------------------------------------------------


@pytest.mark.claim("normalizing-flows-richer-posteriors")
def test_planar_flow_log_density_by_change_of_variables():
    g = torch.Generator().manual_seed(0)
    d = 3
    u, w = (
        torch.randn(d, generator=g, dtype=torch.float64),
        torch.randn(d, generator=g, dtype=torch.float64),
    )
    u = u - (w @ u - 0.5) * w / (w @ w)  # now w.u = 0.5 > -1, so the flow is invertible
    assert float(w @ u) == pytest.approx(0.5)
    b = torch.tensor(0.3, dtype=torch.float64)

    def flow(z):
        return z + u * torch.tanh(w @ z + b)

    base = torch.distributions.MultivariateNormal(
        torch.zeros(d, dtype=torch.float64), torch.eye(d, dtype=torch.float64)
    )
    for _ in range(5):
        z0 = torch.randn(d, generator=g, dtype=torch.float64)
        jac = torch.autograd.functional.jacobian(flow, z0)
        closed = torch.log(torch.abs(1 + (1 - torch.tanh(w @ z0 + b) ** 2) * (w @ u)))
        assert float(torch.linalg.slogdet(jac).logabsdet) == pytest.approx(float(closed), abs=1e-10)
    # an affine flow z = A eps + m turns N(0, I) into N(m, A A^T): the log-densities agree
    a = torch.randn(d, d, generator=g, dtype=torch.float64) + 3 * torch.eye(d, dtype=torch.float64)
    m = torch.randn(d, generator=g, dtype=torch.float64)
    eps = torch.randn(d, generator=g, dtype=torch.float64)
    z = a @ eps + m
    via_flow = base.log_prob(eps) - torch.linalg.slogdet(a).logabsdet
    target = torch.distributions.MultivariateNormal(m, a @ a.T).log_prob(z)
    assert float(via_flow) == pytest.approx(float(target), abs=1e-10)


@pytest.mark.claim("normalizing-flows-richer-posteriors")
def test_the_gaussian_posterior_misses_most_on_a_badly_fitted_digit():
    x, label = load_test_digit(33)
    assert label == 4
    bad = elbo_gap.elbo_and_bounds(x, seed=0)
    gap = bad.bound_mean[-1] - bad.elbo
    assert gap == pytest.approx(136, abs=3)
    assert bad.exact == pytest.approx(-204.0, abs=0.05)
    assert bad.exact - bad.elbo == pytest.approx(370, abs=1)  # the true gap
    assert bad.elbo == pytest.approx(-574, abs=1) and bad.bound_mean[-1] == pytest.approx(
        -438, abs=1
    )
    assert bad.recon > 3 * _metrics("vae-2")["recon"]  # badly reconstructed: 568 vs 133 nats
    assert bad.bound_mean[-1] > bad.bound_mean[-3] > bad.bound_mean[0]  # still climbing with K
    good = elbo_gap.elbo_and_bounds(load_test_digit(0)[0], seed=0)
    assert good.bound_mean[-1] - good.elbo < 1


@pytest.mark.claim("normalizing-flows-richer-posteriors")
def test_large_gaps_concentrate_on_badly_fitted_digits(test_digits):
    vae = get_model("vae-2")
    x = test_digits.as_float(slice(0, 200))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        post = vae.encode(x)
        z = post.sample(g, n=32)  # (32, 200, 2)
        rec = bce_reconstruction(vae.decode_logits(z.reshape(-1, 2)), x.repeat(32, 1, 1, 1))
        elbo = -(rec.view(32, -1).mean(0) + post.kl())
    log_px = exact_log_px(vae, x).float()  # quadrature, not another bound
    gap = log_px - elbo
    worst = elbo.argsort()[:20]  # the 20 digits with the lowest ELBO
    rest = torch.ones(200, dtype=torch.bool)
    rest[worst] = False
    assert gap[worst].mean() > 3 * gap[rest].mean()


@pytest.mark.claim("evaluating-generative-models")
@pytest.mark.slow
def test_a_one_percent_mixture_keeps_the_likelihood_and_ruins_the_samples(test_digits):
    """0.01 * VAE-2 + 0.99 * uniform pixel noise, scored on real test digits and sampled."""
    vae, x = get_model("vae-2"), test_digits.as_float(slice(0, 200))
    log_good = exact_log_px(vae, x)  # (200,), exact
    log_noise = torch.full_like(log_good, -784 * math.log(2))  # every pixel Bernoulli(1/2)
    mixed = torch.logaddexp(math.log(0.01) + log_good, math.log(0.99) + log_noise)
    loss = log_good - mixed  # nats per image the mixture gives up
    assert float(loss.max()) <= math.log(100) + 1e-9
    assert float(loss.mean()) == pytest.approx(math.log(100), abs=1e-3)  # the noise adds nothing
    # yet 99% of its samples are pixel noise, far from every real digit, while VAE-2's own
    # samples sit close to real ones (mean squared pixel distance to the nearest test digit)
    g = torch.Generator().manual_seed(0)
    noise = torch.bernoulli(torch.full((500, 784), 0.5), generator=g)
    with torch.no_grad():
        own = vae.decode(torch.randn(500, 2, generator=g)).flatten(1)
    ref = test_digits.as_float(slice(0, 2000)).flatten(1)

    def nearest(imgs):
        return torch.cdist(imgs, ref).min(1).values.pow(2) / 784

    assert float(nearest(noise).min()) > 5 * float(nearest(own).median())


def _train_tiny_vq_vae(test_digits, straight_through: bool = True, steps: int = 300) -> dict:
    """A tiny VQ-VAE on 2000 test digits: encoder 784-256-(4 x 8), 4 positions each quantised to
    the nearest of K = 16 codes (size 8), decoder 32-256-784 (Bernoulli logits); loss = BCE +
    codebook + 0.25 * commitment, Adam 2e-3, batch 128. Without ``straight_through`` the decoder
    sees z_q with no gradient path back to the encoder."""
    x_all = test_digits.as_float(slice(0, 2000)).flatten(1)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    positions, dim, k = 4, 8, 16
    enc = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, positions * dim)
    )
    dec = torch.nn.Sequential(
        torch.nn.Linear(positions * dim, 256), torch.nn.ReLU(), torch.nn.Linear(256, 784)
    )
    codebook = torch.nn.Parameter(torch.randn(k, dim) * 0.1)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters(), codebook], lr=2e-3)

    def quantise(x):
        z_e = enc(x).view(-1, positions, dim)  # (B, 4, 8)
        idx = torch.cdist(z_e.detach().reshape(-1, dim), codebook.detach()).argmin(1)
        z_q = codebook[idx].view_as(z_e)
        return z_e, z_q, idx.view(-1, positions)

    for _ in range(steps):
        x = x_all[torch.randint(0, len(x_all), (128,), generator=g)]
        z_e, z_q, _ = quantise(x)
        z_dec = z_e + (z_q - z_e).detach() if straight_through else z_q.detach()
        recon = (
            F.binary_cross_entropy_with_logits(dec(z_dec.flatten(1)), x, reduction="none")
            .sum(1)
            .mean()
        )
        codebook_loss = (z_e.detach() - z_q).pow(2).sum((1, 2)).mean()
        commitment = (z_e - z_q.detach()).pow(2).sum((1, 2)).mean()
        opt.zero_grad()
        (recon + codebook_loss + 0.25 * commitment).backward()
        opt.step()
    with torch.no_grad():
        _, z_q, idx = quantise(x_all)
        recon = F.binary_cross_entropy_with_logits(dec(z_q.flatten(1)), x_all, reduction="none")
        random_idx = torch.randint(0, k, (500, positions), generator=g)
        random_images = torch.sigmoid(dec(codebook[random_idx].flatten(1)))
        own_images = torch.sigmoid(dec(z_q[:500].flatten(1)))
    return {
        "recon": float(recon.sum(1).mean()),
        "codes_used": int(idx.unique().numel()),
        "random": random_images,
        "own": own_images,
        "x": x_all,
    }


@pytest.mark.claim("vq-vae")
@pytest.mark.slow
def test_a_tiny_vq_vae_trains_through_the_straight_through_copy(test_digits):
    vq = _train_tiny_vq_vae(test_digits)
    cut = _train_tiny_vq_vae(test_digits, straight_through=False)
    # the straight-through copy is what trains the encoder for reconstruction: 168 vs 197 nats
    assert vq["recon"] < cut["recon"] - 20
    # dead codes: with the encoder cut off, its outputs barely move and most codes go unused
    assert vq["codes_used"] == 16 and cut["codes_used"] <= 4

    # with only 4 positions, uniformly random code grids still decode to digit-like images:
    # as close to a real digit as the decodes of real digits' own codes (mean squared pixel
    # distance to the nearest of the 2000 digits), so the "random grids are nonsense" problem
    # is one of large grids, where independent positions stop fitting together
    def nearest(imgs):
        return float(torch.cdist(imgs, vq["x"]).min(1).values.pow(2).mean() / 784)

    assert nearest(vq["random"]) == pytest.approx(nearest(vq["own"]), rel=0.15)


@pytest.mark.claim("mode-collapse-and-coverage")
def test_non_saturating_generator_follows_reverse_kl_minus_two_jsd():
    """Arjovsky & Bottou (2017): with D frozen at its optimum D* = p / (p + p_g), the gradient of
    the non-saturating loss E_{p_g}[-log D*] equals that of KL(p_g || p) - 2 JSD(p || p_g).
    Checked by autograd on a 12-point distribution with p_g = softmax(theta)."""
    g = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(12, generator=g, dtype=torch.float64), 0)
    theta = torch.randn(12, generator=g, dtype=torch.float64, requires_grad=True)

    def pg():
        return torch.softmax(theta, 0)

    d_star = (p / (p + pg())).detach()  # the optimal discriminator, held fixed
    (grad_ns,) = torch.autograd.grad((pg() * -torch.log(d_star)).sum(), theta)

    def kl(a, b):
        return (a * (a / b).log()).sum()

    q = pg()
    m = 0.5 * (p + q)
    target = kl(q, p) - 2 * (0.5 * kl(p, m) + 0.5 * kl(q, m))
    (grad_div,) = torch.autograd.grad(target, theta)
    assert torch.allclose(grad_ns, grad_div, atol=1e-12)
    # and the minimax generator loss E_{p_g}[log(1 - D*)] follows 2 JSD instead
    (grad_mm,) = torch.autograd.grad((pg() * torch.log(1 - d_star)).sum(), theta)
    q = pg()
    m = 0.5 * (p + q)
    (grad_jsd,) = torch.autograd.grad(2 * (0.5 * kl(p, m) + 0.5 * kl(q, m)), theta)
    assert torch.allclose(grad_mm, grad_jsd, atol=1e-12)
    # the kit's generator loss (the shipped GAN's) is the non-saturating one, -log D(G(z))
    logits = torch.randn(32, generator=g, dtype=torch.float64)
    ns = float(gan_generator_loss(logits))
    assert ns == pytest.approx(float(-torch.log(torch.sigmoid(logits)).mean()), rel=1e-10)
