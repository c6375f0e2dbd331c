"""Teaching truth for questions/practice: each test checks a claim an answer makes.

Checked against the shipped checkpoints, their metrics.json / history.json, the bundled test
digits, the kit's own loss functions, or plain torch arithmetic. A failing test means the
answer is wrong.
"""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kit.demos import generate
from kit.demos.common import get_model
from kit.evaluate import evaluate
from kit.losses import bce_reconstruction, free_bits_kl, gaussian_kl, kl_warmup
from kit.models import BETA_MODELS, MODELS_DIR, ModelConfig, build_model, load_pretrained
from tests.measured import measured_metrics


def _read(name: str, file: str):
    return json.loads((MODELS_DIR / name / file).read_text())


def _metrics(name: str) -> dict:
    """Test-set metrics recomputed from the weights (not read from metrics.json)."""
    return measured_metrics(name)


# ---- nan-exploding-logvar --------------------------------------------------------------------


@pytest.mark.claim("nan-exploding-logvar")
def test_exp_of_logvar_overflows_float32_and_a_clamp_keeps_it_finite():
    lv = torch.tensor([88.0, 89.0, 100.0])
    assert torch.isfinite(lv[0].exp()) and torch.isinf(lv[1:].exp()).all()
    assert torch.isfinite(lv.clamp(-30.0, 20.0).exp()).all()
    assert math.exp(20.0) == pytest.approx(4.85e8, rel=0.01)

    mu = torch.zeros(3)
    wild = lv.clone().requires_grad_(True)
    kl = gaussian_kl(mu, wild).sum()
    kl.backward()
    assert torch.isinf(kl) and not torch.isfinite(wild.grad).all()
    tame = lv.clone().requires_grad_(True)
    kl = gaussian_kl(mu, tame.clamp(-30.0, 20.0)).sum()
    kl.backward()
    assert torch.isfinite(kl) and torch.isfinite(tame.grad).all()
    assert torch.all(tame.grad == 0)  # beyond the clamp no gradient flows: the clamp is a wall


@pytest.mark.claim("nan-exploding-logvar")
def test_kl_gradient_in_logvar_is_half_of_variance_minus_one():
    lv = torch.tensor([-5.0, 0.0, 3.0, 10.0], requires_grad=True)
    gaussian_kl(torch.zeros(4), lv).sum().backward()
    assert torch.allclose(lv.grad, 0.5 * (lv.detach().exp() - 1))
    assert float(lv.grad[-1]) > 1e4  # a logvar of 10 already pulls with a gradient of ~11,000


@pytest.mark.claim("nan-exploding-logvar")
def test_logits_form_of_bce_never_takes_log_zero():
    logits, x = torch.tensor([-200.0, 200.0]), torch.tensor([1.0, 0.0])
    p = torch.sigmoid(logits)  # underflows to exactly 0 and rounds to exactly 1 in float32
    naive = -(x * torch.log(p) + (1 - x) * torch.log(1 - p))
    assert torch.isinf(naive).all()
    stable = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    assert torch.allclose(stable, torch.tensor([200.0, 200.0]))
    clamped = F.binary_cross_entropy(p, x, reduction="none")  # PyTorch clamps log at -100
    assert torch.allclose(clamped, torch.tensor([100.0, 100.0]))


@pytest.mark.claim("nan-exploding-logvar")
def test_float16_overflows_near_e_to_the_11():
    assert float(torch.finfo(torch.float16).max) == 65504.0
    half = torch.tensor([11.0, 11.1], dtype=torch.float16).exp()
    assert torch.isfinite(half[0]) and torch.isinf(half[1])


@pytest.mark.claim("nan-exploding-logvar")
def test_shipped_encoders_keep_logvar_in_a_tame_range(test_digits):
    x = test_digits.as_float()
    lo, hi = [], []
    with torch.no_grad():
        for name in ("vae-2", *BETA_MODELS):
            lv = get_model(name).encode(x).logvar
            lo.append(float(lv.min()))
            hi.append(float(lv.max()))
    assert min(lo) > -11 and max(hi) < 0.5  # measured -10.2 (vae-2) to 0.23 (beta-vae-10)


# ---- kl-vanishing-debugging ------------------------------------------------------------------


@pytest.mark.claim("kl-vanishing-debugging")
def test_a_healthy_total_kl_can_hide_six_dead_dimensions():
    kl = np.asarray(_metrics("beta-vae-10")["kl_per_dim"])
    assert kl.sum() == pytest.approx(3.86, abs=0.01)
    assert int((kl < 1e-4).sum()) == 6
    history = _read("beta-vae-10", "history.json")
    dead = kl < 0.01
    first = np.asarray(history[0]["test_kl_per_dim"])
    assert np.all(first[dead] < 0.1)  # the six were already nearly dead after the first epoch


@pytest.mark.claim("kl-vanishing-debugging")
def test_free_bits_stop_the_push_below_the_floor_and_warmup_ramps_linearly():
    kl_dims = torch.tensor([[0.05, 0.8, 0.0], [0.15, 1.2, 0.02]], requires_grad=True)  # (B=2, d=3)
    free_bits_kl(kl_dims, free_bits=0.5).backward()
    grad = kl_dims.grad
    assert torch.all(grad[:, [0, 2]] == 0)  # dims averaging under 0.5 nats: no pull to the prior
    assert torch.allclose(grad[:, 1], torch.full((2,), 0.5))  # d/dKL_bj of the batch mean
    assert kl_warmup(0, 1000) == 0.0
    assert kl_warmup(500, 1000) == pytest.approx(0.5)
    assert kl_warmup(5000, 1000, beta=4.0) == 4.0


# ---- loss-units-sum-vs-mean ------------------------------------------------------------------


# ---- choosing-latent-size --------------------------------------------------------------------


@pytest.mark.claim("choosing-latent-size")
def test_more_latent_dimensions_help_until_the_kl_switches_the_spare_ones_off():
    assert _metrics("ae-2")["mse"] == pytest.approx(0.0344, abs=1e-4)
    assert _metrics("ae-32")["mse"] == pytest.approx(0.0046, abs=1e-4)
    assert _metrics("ae-2")["mse"] / _metrics("ae-32")["mse"] > 7
    assert _metrics("vae-2")["neg_elbo"] - _metrics("beta-vae-1")["neg_elbo"] > 38  # 140.1 vs 101.0
    kl1 = np.asarray(_metrics("beta-vae-1")["kl_per_dim"])
    assert kl1.min() > 1.2 and kl1.max() < 2.6  # at beta = 1 all ten carry 1.2-2.6 nats
    assert _metrics("beta-vae-4")["active_units"] == 6
    cfg = {n: _read(n, "metrics.json")["train_config"] for n in ("vae-2", "beta-vae-1")}
    assert cfg["vae-2"]["batch_size"] == 128 and cfg["beta-vae-1"]["batch_size"] == 64
    assert cfg["vae-2"]["epochs"] == cfg["beta-vae-1"]["epochs"] == 60


@pytest.mark.claim("choosing-latent-size")
def test_preset_digit_survives_32_numbers_but_not_2(test_digits):
    ref = test_digits.as_float(slice(1000, 4000)).flatten(1)
    ref_labels = test_digits.labels[1000:4000]
    x = test_digits.as_float(slice(8, 9))
    assert int(test_digits.labels[8]) == 5
    with torch.no_grad():
        recons = torch.cat(
            [
                get_model("ae-32")(x).recon,
                get_model("ae-2")(x).recon,
                get_model("vae-2").decode(get_model("vae-2").encode(x).mu),
            ]
        )
    read_as = ref_labels[torch.cdist(recons.flatten(1), ref).argmin(1)].tolist()
    assert read_as[0] == 5 and read_as[1] != 5 and read_as[2] != 5


# ---- reconstructions-vs-samples --------------------------------------------------------------


@pytest.mark.claim("reconstructions-vs-samples")
def test_samples_sit_farther_from_real_digits_than_reconstructions_most_at_small_beta(test_digits):
    ref = test_digits.as_float(slice(0, 2000)).flatten(1)
    x = test_digits.as_float(slice(3000, 3500))
    g = torch.Generator().manual_seed(0)
    gaps = []
    for name in BETA_MODELS:
        m = get_model(name)
        with torch.no_grad():
            recon = m.decode(m.encode(x).mu)
            samples = m.decode(torch.randn(500, m.config.latent_dim, generator=g))
        d_rec = torch.cdist(recon.flatten(1), ref).min(1).values.mean()
        d_smp = torch.cdist(samples.flatten(1), ref).min(1).values.mean()
        gaps.append(float(d_smp - d_rec))
    assert all(gap > 0 for gap in gaps)
    assert gaps == sorted(gaps, reverse=True)
    assert gaps == pytest.approx([0.75, 0.68, 0.39, 0.31], abs=0.03)
    assert gaps[0] > 2 * gaps[-1]


@pytest.mark.claim("reconstructions-vs-samples")
def test_prior_draws_land_where_the_test_posteriors_are_thin_unless_beta_is_large(test_digits):
    x = test_digits.as_float()
    g = torch.Generator().manual_seed(0)
    thin = {}
    for name in ("beta-vae-1", "beta-vae-10"):
        m = get_model(name)
        with torch.no_grad():
            post = m.encode(x)
        d = m.config.latent_dim
        z = torch.randn(200, d, generator=g)
        # log q(z) for the mixture of the 10,000 test posteriors, and log p(z)
        sq = ((z[:, None, :] - post.mu[None]) ** 2 / post.logvar.exp()[None]).sum(-1)
        log_q = torch.logsumexp(-0.5 * (sq + post.logvar.sum(-1)[None]), dim=1) - math.log(len(x))
        log_p = -0.5 * (z**2).sum(-1)  # the same (2 pi)^(-d/2) dropped on both sides
        thin[name] = float((log_q < log_p - math.log(10)).float().mean())
    assert thin["beta-vae-1"] > 0.9  # nearly every prior draw: q(z) < p(z) / 10
    assert thin["beta-vae-10"] < 0.05


# ---- seeding-reproducibility -----------------------------------------------------------------


@pytest.mark.claim("seeding-reproducibility")
def test_seeded_generators_repeat_and_leave_the_global_rng_alone():
    state = torch.get_rng_state()
    load_pretrained("cvae-2")  # building the layers before loading weights draws random inits ...
    assert not torch.equal(torch.get_rng_state(), state)  # ... from the global RNG
    get_model("cvae-2")
    state = torch.get_rng_state()
    a = generate.generate_digits(digit=3, n_samples=16, temperature=1.0, seed=42)
    b = generate.generate_digits(digit=3, n_samples=16, temperature=1.0, seed=42)
    c = generate.generate_digits(digit=3, n_samples=16, temperature=1.0, seed=43)
    assert torch.equal(torch.get_rng_state(), state)
    assert np.array_equal(a["samples"], b["samples"])
    assert not np.array_equal(a["samples"], c["samples"])


@pytest.mark.claim("seeding-reproducibility")
def test_evaluation_with_one_z_sample_is_repeatable_only_with_the_same_seed(test_digits):
    sub = test_digits.__class__(test_digits.images[:500], test_digits.labels[:500])
    model = get_model("vae-2")
    first, again = evaluate(model, sub, seed=0), evaluate(model, sub, seed=0)
    other = evaluate(model, sub, seed=1)
    assert first["recon"] == again["recon"] and first["kl"] == again["kl"]
    assert other["recon"] != first["recon"]  # a different z draw moves the reconstruction term
    assert other["kl"] == pytest.approx(first["kl"], abs=1e-4)  # the closed-form KL does not


# ---- vae-sanity-checks -----------------------------------------------------------------------


@pytest.mark.claim("vae-sanity-checks")
def test_untrained_decoder_costs_784_ln2_nats_per_image():
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    bce = bce_reconstruction(torch.zeros_like(x), x)  # logits 0: every pixel predicted 0.5
    assert torch.allclose(bce, torch.full((4,), 784 * math.log(2)))
    assert 784 * math.log(2) == pytest.approx(543.4, abs=0.05)
    history = _read("vae-2", "history.json")
    assert history[0]["train_recon"] == pytest.approx(186.7, abs=0.1)  # mean over epoch 1
    assert history[0]["test_neg_elbo"] == pytest.approx(168.2, abs=0.1)
    assert history[-1]["test_neg_elbo"] == pytest.approx(140.1, abs=0.1)


@pytest.mark.claim("vae-sanity-checks")
def test_a_fresh_vae_starts_near_543_nats_with_kl_near_zero(test_digits):
    x = test_digits.as_float(slice(0, 256))
    for seed in range(3):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_model(ModelConfig(kind="vae", latent_dim=2))
        with torch.no_grad():
            out = model(x, generator=torch.Generator().manual_seed(0))
        recon = float(bce_reconstruction(out.logits, x).mean())
        assert 543 <= recon <= 547.5
        assert float(out.posterior.kl().mean()) < 0.05


@pytest.mark.claim("vae-sanity-checks")
def test_the_no_information_baseline_costs_about_217_nats(test_digits):
    fit, score = test_digits.as_float(slice(0, 5000)), test_digits.as_float(slice(5000, 10000))
    p = fit.mean(0, keepdim=True).clamp(1e-4, 1 - 1e-4)  # the average digit, per pixel
    baseline = float(bce_reconstruction(torch.logit(p).expand_as(score), score).mean())
    assert baseline == pytest.approx(217, abs=1)
    vae = _metrics("vae-2")
    assert vae["recon"] + vae["kl"] < baseline - 70  # 140 nats


@pytest.mark.claim("vae-sanity-checks")
def test_closed_form_kl_matches_torch_and_is_zero_only_at_the_prior():
    g = torch.Generator().manual_seed(0)
    mu, lv = torch.randn(64, 10, generator=g), torch.randn(64, 10, generator=g)
    ours = gaussian_kl(mu, lv)
    q = torch.distributions.Normal(mu, (0.5 * lv).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    assert torch.allclose(ours, torch.distributions.kl_divergence(q, p), atol=1e-5)
    tutorial = -0.5 * (1 + lv - mu.pow(2) - lv.exp())  # the tutorial's form, per dimension
    assert torch.allclose(ours, tutorial, atol=1e-6)
    assert torch.all(ours >= 0)
    assert float(gaussian_kl(torch.zeros(3), torch.zeros(3)).abs().max()) == 0.0


@pytest.mark.claim("vae-sanity-checks")
def test_full_loss_gradient_check_passes_on_a_cut_sampling_path_but_recon_alone_catches_it(batch):
    """The bug: z drawn with .sample() (no reparameterisation). The encoder still gets a gradient
    through the KL term, so 'every parameter has a gradient' passes; the reconstruction term
    alone, or dz/dmu, exposes it."""
    x, _ = batch
    model = build_model(ModelConfig(kind="vae", latent_dim=2))

    def encoder_grads(loss_of, sample_kind: str):
        model.zero_grad()
        post = model.encode(x)
        normal = torch.distributions.Normal(post.mu, post.std)
        z = normal.sample() if sample_kind == "sample" else normal.rsample()
        recon = bce_reconstruction(model.decode_logits(z), x).mean()
        kl = post.kl().mean()
        loss_of(recon, kl).backward()
        g = model.mu_head.weight.grad
        return 0.0 if g is None else float(g.abs().sum()), z, post

    full_buggy, _, _ = encoder_grads(lambda r, k: r + k, "sample")
    assert full_buggy > 0  # the full-loss check passes on the buggy code
    recon_buggy, _, _ = encoder_grads(lambda r, k: r, "sample")
    recon_fixed, z, post = encoder_grads(lambda r, k: r, "rsample")
    assert recon_buggy == 0.0 and recon_fixed > 0  # the reconstruction-only check catches it
    # dz/dmu: 1 per dimension with rsample, no path at all with sample
    post = model.encode(x)
    z = torch.distributions.Normal(post.mu, post.std).rsample()
    (dz,) = torch.autograd.grad(z.sum(), post.mu)
    assert torch.allclose(dz, torch.ones_like(dz))
    assert not torch.distributions.Normal(post.mu, post.std).sample().requires_grad
