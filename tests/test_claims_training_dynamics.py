"""Teaching truth for questions/training-dynamics/: each test checks a claim an answer makes.

Claims are checked against the shipped checkpoints (``get_model``), the bundled 10k test set,
``models/*/metrics.json`` and ``history.json``, small toy trainings, or plain torch math. If one
fails, the answer is wrong: fix the answer.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kit.demos.collapse import load_kl_record
from kit.demos.common import get_model
from kit.demos.registry import all_demos
from kit.losses import bce_reconstruction, free_bits_kl, gaussian_kl, kl_warmup
from kit.models import BETA_MODELS, MODELS_DIR, SHIPPED
from tests.measured import measured_metrics

THRESHOLD = 0.01  # both the KL (nats) and the variance threshold


def _metrics(name: str) -> dict:
    """The training record (recipe, config) with its test metrics recomputed from the weights."""
    record = json.loads((MODELS_DIR / name / "metrics.json").read_text())
    return {**record, "test": measured_metrics(name)}


def _history(name: str) -> list[dict]:
    return sorted(
        json.loads((MODELS_DIR / name / "history.json").read_text()), key=lambda r: r["epoch"]
    )


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def posteriors(test_digits) -> dict:
    """q(z|x) of every beta-VAE for all 10k test digits (computed once)."""
    x = test_digits.as_float()
    with torch.no_grad():
        return {name: get_model(name).encode(x) for name in BETA_MODELS}


def _unit_stats(post) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per dimension: average KL (nats), Var_x(mu_j), average sigma_j."""
    return post.kl_per_dim().mean(0), post.mu.var(0), post.std.mean(0)


# ---- posterior-collapse ---------------------------------------------------------------------


@pytest.mark.claim("posterior-collapse")
def test_beta_vae_10_has_six_collapsed_dimensions(posteriors):
    kl, var, sigma = _unit_stats(posteriors["beta-vae-10"])
    collapsed = kl < THRESHOLD
    assert int(collapsed.sum()) == 6
    assert float(kl[collapsed].max()) < 1e-4  # "about 1e-5 nats"
    assert float(var[collapsed].max()) < 1e-4  # means hardly move across images
    assert torch.allclose(sigma[collapsed], torch.ones(6), atol=0.01)  # sigma ~ 1: the prior
    kl1, _, _ = _unit_stats(posteriors["beta-vae-1"])
    assert bool((kl1 > THRESHOLD).all())  # beta-vae-1 keeps all 10


@pytest.mark.claim("posterior-collapse")
def test_collapsed_dimensions_do_not_change_the_image(test_digits, posteriors):
    model = get_model("beta-vae-10")
    mu = posteriors["beta-vae-10"].mu[:100]
    kl, _, _ = _unit_stats(posteriors["beta-vae-10"])
    effect = []
    with torch.no_grad():
        for j in range(10):  # sweep dimension j from -3 to 3, the others at the posterior mean
            lo, hi = mu.clone(), mu.clone()
            lo[:, j], hi[:, j] = -3.0, 3.0
            effect.append(float(((model.decode(lo) - model.decode(hi)) ** 2).mean()))
    effect = torch.tensor(effect)
    collapsed = kl < THRESHOLD
    assert float(effect[collapsed].max()) < 1e-4  # "about 1e-5 in MSE"
    assert float(effect[~collapsed].mean()) == pytest.approx(0.1, abs=0.03)  # "about 0.1"


@pytest.mark.claim("posterior-collapse")
def test_collapse_happened_early_in_training():
    record = load_kl_record("beta-vae-10")
    settled = record.settled_epochs()
    assert len(settled) == 6
    assert min(settled) == 2 and max(settled) == 10
    assert int(record.epochs[-1]) == 60


# ---- kl-annealing ---------------------------------------------------------------------------


@pytest.mark.claim("kl-annealing")
def test_kl_warmup_ramps_linearly_to_beta():
    beta, t = 4.0, 100
    weights = [kl_warmup(step, t, beta) for step in range(0, 151)]
    assert weights[0] == 0.0 and weights[50] == pytest.approx(2.0) and weights[100] == beta
    assert all(w == beta for w in weights[100:])  # stays at beta after the ramp
    steps = torch.diff(torch.tensor(weights[:101]))
    assert torch.allclose(steps, torch.full_like(steps, beta / t))  # linear: equal increments
    assert kl_warmup(0, 0, beta) == beta  # T = 0: no warm-up


def _train_tiny_beta_vae(test_digits, beta: float, warmup_steps: int, steps: int = 300, d: int = 6):
    """784-64-(2d) encoder, d-64-784 decoder, Adam 2e-3, batch 128, on 2000 test digits, with
    the KL weight kit.losses.kl_warmup(t, warmup_steps, beta). Returns the KL per dimension and
    the reconstruction at the posterior mean, on those digits (nats)."""
    x_all = test_digits.as_float(slice(0, 2000)).flatten(1)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    enc = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 2 * d))
    dec = nn.Sequential(nn.Linear(d, 64), nn.ReLU(), nn.Linear(64, 784))
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=2e-3)
    for t in range(steps):
        x = x_all[torch.randint(0, len(x_all), (128,), generator=g)]
        mu, logvar = enc(x).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=g)
        recon = F.binary_cross_entropy_with_logits(dec(z), x, reduction="none").sum(1).mean()
        kl = gaussian_kl(mu, logvar).sum(1).mean()
        loss = recon + kl_warmup(t, warmup_steps, beta) * kl
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        mu, logvar = enc(x_all).chunk(2, dim=1)
        rec = F.binary_cross_entropy_with_logits(dec(mu), x_all, reduction="none").sum(1).mean()
        return {"kl": gaussian_kl(mu, logvar).mean(0), "recon": float(rec)}


@pytest.fixture(scope="module")
def warmup_runs(test_digits):
    return {
        (beta, warm): _train_tiny_beta_vae(test_digits, beta, warm)
        for beta in (8.0, 16.0)
        for warm in (0, 200)
    }


@pytest.mark.claim("kl-annealing")
@pytest.mark.claim("beta-switches-off-dimensions")
@pytest.mark.slow
def test_warmup_lets_the_decoder_use_z_and_changes_which_dimensions_survive(warmup_runs):
    """Same model, data, seed and steps, with and without a 200-step KL warm-up."""
    for beta in (8.0, 16.0):
        cold, warm = warmup_runs[(beta, 0)], warmup_runs[(beta, 200)]
        assert float(warm["kl"].sum()) > 1.3 * float(cold["kl"].sum())  # more information in z
        assert warm["recon"] < cold["recon"] - 10  # and the decoder uses it
    # the active count is a property of the training path, not only of beta and the data
    active = {k: int((r["kl"] > THRESHOLD).sum()) for k, r in warmup_runs.items()}
    assert active[(16.0, 0)] == 6 and active[(16.0, 200)] == 4


@pytest.mark.claim("kl-annealing")
def test_shipped_models_used_no_warmup_and_collapse_was_decided_early():
    for name in SHIPPED:  # a fact about how they were trained (the causal claim is tested above)
        assert _metrics(name)["train_config"]["kl_warmup_epochs"] == 0.0
    settled_4 = load_kl_record("beta-vae-4").settled_epochs()
    assert len(settled_4) == 4 and max(settled_4) <= 3  # "within the first 3 epochs"
    assert max(load_kl_record("beta-vae-10").settled_epochs()) <= 10


# ---- free-bits ------------------------------------------------------------------------------


@pytest.mark.claim("free-bits")
def test_free_bits_clamps_the_batch_average_kl_per_dimension():
    g = torch.Generator().manual_seed(0)
    kl_dims = torch.rand(64, 5, generator=g) * torch.tensor([0.05, 0.2, 1.0, 2.0, 0.01])
    lam = 0.5
    expected = torch.clamp(kl_dims.mean(0), min=lam).sum()
    assert float(free_bits_kl(kl_dims, lam)) == pytest.approx(float(expected))
    assert float(free_bits_kl(kl_dims, 0.0)) == pytest.approx(float(kl_dims.sum(1).mean()))
    # gradient: zero for dimensions below the floor, the plain KL's gradient above it
    leaf = kl_dims.clone().requires_grad_()
    free_bits_kl(leaf, lam).backward()
    below = kl_dims.mean(0) < lam
    assert bool((leaf.grad[:, below] == 0).all())
    assert torch.allclose(leaf.grad[:, ~below], torch.full_like(leaf.grad[:, ~below], 1 / 64))


@pytest.mark.claim("free-bits")
def test_free_bits_floor_applies_to_the_batch_average_not_each_example():
    kl_dims = torch.tensor([[0.1], [0.1], [1.5], [1.5]], requires_grad=True)  # mean 0.8 > 0.5
    free_bits_kl(kl_dims, 0.5).backward()
    assert bool((kl_dims.grad > 0).all())  # every example of the dimension is still penalised
    per_example = kl_dims.detach().clone().requires_grad_()
    torch.clamp(per_example, min=0.5).mean(0).sum().backward()
    assert float(per_example.grad[0, 0]) == 0.0  # per-example clamp lets low examples off


@pytest.mark.claim("free-bits")
def test_reference_kl_values_quoted_in_the_answer():
    kl4 = torch.tensor(_metrics("beta-vae-4")["test"]["kl_per_dim"])
    off = kl4[kl4 < THRESHOLD]
    assert len(off) == 4 and bool((off > 5e-6).all() and (off < 1e-5).all())  # ~7e-6 nats
    kl1 = torch.tensor(_metrics("beta-vae-1")["test"]["kl_per_dim"])
    assert round(float(kl1.min()), 1) == 1.2 and round(float(kl1.max()), 1) == 2.6


# ---- active-units ---------------------------------------------------------------------------


@pytest.mark.claim("active-units")
def test_variance_and_kl_criteria_agree_on_the_shipped_models(posteriors):
    counts_var, counts_kl = [], []
    for name in BETA_MODELS:
        kl, var, _ = _unit_stats(posteriors[name])
        counts_var.append(int((var > THRESHOLD).sum()))
        counts_kl.append(int((kl > THRESHOLD).sum()))
        assert counts_var[-1] == _metrics(name)["test"]["active_units"]
        off = kl < THRESHOLD
        if off.any():  # wide margins: about three orders of magnitude under both thresholds
            assert float(var[off].min()) > 1e-5 and float(var[off].max()) < 5e-5
            assert float(kl[off].min()) > 5e-6 and float(kl[off].max()) < 3e-5
        assert float(var[~off].min()) > 0.45 and float(var[~off].max()) < 1.2
        assert float(kl[~off].min()) > 0.39
    assert counts_var == counts_kl == [10, 10, 6, 4]


@pytest.mark.claim("active-units")
def test_partially_active_dimension_of_beta_vae_10(posteriors):
    kl, var, sigma = _unit_stats(posteriors["beta-vae-10"])
    assert float(kl[4]) == pytest.approx(0.40, abs=0.01)
    assert float(var[4]) == pytest.approx(0.47, abs=0.01)
    assert float(sigma[4]) == pytest.approx(0.7, abs=0.02)


@pytest.mark.claim("active-units")
def test_traversal_demo_numbers_for_digit_zero():
    numbers = all_demos()["beta.traversal"].run(index=0, model="beta-vae-10", steps=9)["numbers"]
    b10 = numbers["beta-vae-10"]
    assert b10["order"][0] == 5
    assert b10["kl_per_dim_sorted"][0] == pytest.approx(1.36, abs=0.005)
    assert b10["image_change"][0] == pytest.approx(0.108, abs=0.001)
    assert max(b10["image_change"][4:]) <= 0.0003  # the six inactive dimensions


# ---- kl-vanishing-powerful-decoders ---------------------------------------------------------


def _train_copy_bits(autoregressive: bool, steps: int = 400, seed: int = 0) -> dict:
    """A tiny VAE on x = 4 copies of one fair bit (-log p(x) = ln 2); 1-d latent.

    Both variants share everything but the decoder's input: the autoregressive one also sees the
    earlier bits x_<i when predicting bit i (a masked copy of x), the factorised one does not.
    """
    d = 4
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    enc = nn.Sequential(nn.Linear(d, 32), nn.Tanh(), nn.Linear(32, 2))
    dec = nn.Sequential(nn.Linear(1 + d, 32), nn.Tanh(), nn.Linear(32, d))
    mask = torch.tril(torch.ones(d, d), -1)  # row i: which bits bit i may look at (j < i)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-2)

    def terms(batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = (torch.rand(batch, 1, generator=g) < 0.5).float().expand(batch, d)
        mu, logvar = enc(x).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=g)
        if autoregressive:  # logit_i = dec([z, x masked to j < i])_i, all i in one batched call
            inputs = torch.cat([z.expand(d, *z.shape), x * mask[:, None, :]], dim=2)  # (d, B, 1+d)
            logits = dec(inputs).diagonal(dim1=0, dim2=2)  # (d, B, d) -> (B, d): output i of row i
        else:
            logits = dec(torch.cat([z, torch.zeros_like(x)], 1))
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        return recon.mean(), gaussian_kl(mu, logvar).sum(1).mean()

    kl_half = None
    for step in range(steps):
        recon, kl = terms(256)
        opt.zero_grad()
        (recon + kl).backward()
        opt.step()
        if step == steps // 2:
            kl_half = float(kl.detach())
    with torch.no_grad():
        recon, kl = terms(8192)
    return {
        "recon": float(recon),
        "kl": float(kl),
        "neg_elbo": float(recon + kl),
        "kl_half": kl_half,
    }


@pytest.mark.claim("kl-vanishing-powerful-decoders")
def test_autoregressive_decoder_ignores_z_and_factorised_decoder_uses_it():
    fact, ar = _train_copy_bits(False), _train_copy_bits(True)
    assert fact["kl"] == pytest.approx(0.9, abs=0.1)
    assert fact["neg_elbo"] == pytest.approx(1.05, abs=0.1)
    assert fact["neg_elbo"] > math.log(2) + 0.2  # a worse bound than the optimum ln 2
    assert ar["kl"] < 0.15  # "about 0.1 nats or less"
    assert ar["kl"] < ar["kl_half"]  # "and keeps falling"
    assert ar["neg_elbo"] == pytest.approx(math.log(2), abs=0.05)
    assert ar["neg_elbo"] < fact["neg_elbo"] and ar["kl"] < fact["kl"] / 4


@pytest.mark.claim("kl-vanishing-powerful-decoders")
def test_factorised_mlp_decoder_keeps_every_dimension_at_beta_1():
    test = _metrics("beta-vae-1")["test"]
    kl = torch.tensor(test["kl_per_dim"])
    assert test["active_units"] == 10 and bool((kl > 1.2).all() and (kl < 2.6).all())
    assert test["kl"] == pytest.approx(19.0, abs=0.05)


# ---- loss-reduction-sum-vs-mean -------------------------------------------------------------


def _train_tiny_vae(test_digits, reduction: str, steps: int = 150, d: int = 4) -> torch.Tensor:
    """784-64-(2d) encoder, d-64-784 decoder on 2000 test digits; returns KL per dim (nats)."""
    x_all = test_digits.as_float(slice(0, 2000)).flatten(1)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    enc = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 2 * d))
    dec = nn.Sequential(nn.Linear(d, 64), nn.ReLU(), nn.Linear(64, 784))
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=2e-3)
    for _ in range(steps):
        x = x_all[torch.randint(0, len(x_all), (128,), generator=g)]
        mu, logvar = enc(x).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=g)
        bce = F.binary_cross_entropy_with_logits(dec(z), x, reduction="none")
        recon = bce.sum(1).mean() if reduction == "sum" else bce.mean()  # the bug: mean
        loss = recon + gaussian_kl(mu, logvar).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        mu, logvar = enc(x_all).chunk(2, dim=1)
        return gaussian_kl(mu, logvar).mean(0)


@pytest.mark.claim("loss-reduction-sum-vs-mean")
def test_mean_reduction_collapses_a_vae_that_summed_bce_trains(test_digits):
    summed = _train_tiny_vae(test_digits, "sum")
    meaned = _train_tiny_vae(test_digits, "mean")
    assert bool((summed > 0.5).all())  # every dimension in use
    assert float(summed.sum()) == pytest.approx(9.3, abs=0.3)
    assert float(meaned.max()) < 1e-3  # "every dimension ends below 0.001 nats"


@pytest.mark.claim("loss-reduction-sum-vs-mean")
def test_mean_reduced_bce_is_beta_784_up_to_scale(batch):
    x, _ = batch
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(x.shape, generator=g).requires_grad_()
    mu = torch.randn(8, 2, generator=g).requires_grad_()
    logvar = torch.randn(8, 2, generator=g).requires_grad_()

    def grads(loss):
        return torch.autograd.grad(loss, [logits, mu, logvar])

    def kl():
        return gaussian_kl(mu, logvar).sum(1).mean()

    buggy = grads(F.binary_cross_entropy_with_logits(logits, x) + kl())
    beta_784 = grads((bce_reconstruction(logits, x).mean() + 784 * kl()) / 784)
    for a, b in zip(buggy, beta_784, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def _fit(scale: float, optimiser: str = "adam", eps: float = 1e-8, steps: int = 100):
    """A small regression (5 -> 16 -> 1) trained on ``scale`` * MSE; returns the final weights."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1))
    g = torch.Generator().manual_seed(1)
    x = torch.randn(64, 5, generator=g)
    y = torch.sin(x.sum(1, keepdim=True))
    if optimiser == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=1e-2, eps=eps)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        (scale * (net(x) - y).pow(2).mean()).backward()
        opt.step()
    return torch.cat([p.detach().flatten() for p in net.parameters()])


@pytest.mark.claim("loss-reduction-sum-vs-mean")
@pytest.mark.claim("bce-and-sigmoid-output")
def test_adam_ignores_the_overall_loss_scale_while_eps_is_negligible():
    # one Adam step is lr * sign(g) for any scale, so it proves nothing: take 100 steps.
    # Adam's update m / (sqrt(v) + eps) is unchanged when g -> c g, as long as eps << c sqrt(v)
    base = _fit(1.0, eps=1e-12)
    assert torch.allclose(base, _fit(1 / 784, eps=1e-12), rtol=1e-4, atol=1e-6)
    assert torch.allclose(base, _fit(784.0, eps=1e-12), rtol=1e-4, atol=1e-6)
    # with the default eps = 1e-8 the 1/784 run drifts only slightly ("barely matters")
    assert (_fit(1.0) - _fit(1 / 784)).abs().max() < 1e-2
    # ... and not at all once the scaled gradients are as small as eps
    assert (_fit(1.0) - _fit(1e-9)).abs().max() > 1e-1
    # plain SGD is not scale-invariant: the same 1/784 is a 784x smaller learning rate
    sgd, sgd_small = _fit(1.0, "sgd"), _fit(1 / 784, "sgd")
    assert (sgd - sgd_small).abs().max() > 1e-2


@pytest.mark.claim("loss-reduction-sum-vs-mean")
def test_shipped_beta_trend_quoted_in_the_answer():
    b1, b10 = _metrics("beta-vae-1")["test"], _metrics("beta-vae-10")["test"]
    assert round(b1["recon"], 2) == 82.05 and round(b10["recon"], 1) == 140.6
    assert round(b1["kl"], 1) == 19.0 and round(b10["kl"], 1) == 3.9
    assert (b1["active_units"], b10["active_units"]) == (10, 4)


# ---- reading-vae-loss-curves ----------------------------------------------------------------


@pytest.mark.claim("reading-vae-loss-curves")
def test_vae2_history_reconstruction_falls_and_kl_rises():
    hist = _history("vae-2")
    first, last = hist[0], hist[-1]
    by_epoch = {r["epoch"]: r for r in hist}
    assert round(first["test_recon"], 1) == 163.3 and round(by_epoch[19]["test_recon"], 1) == 137.0
    assert round(last["test_recon"], 2) == 133.25
    assert round(first["test_kl"], 2) == 4.90 and round(last["test_kl"], 2) == 6.81
    assert round(first["test_neg_elbo"], 1) == 168.2 and round(last["test_neg_elbo"], 2) == 140.06
    assert all(r["test_active_units"] == 2 for r in hist)  # both dimensions active throughout
    assert last["lr"] < 1e-6  # the cosine schedule ends at ~0
    gap = last["test_recon"] - last["train_recon"]
    assert round(last["train_recon"], 1) == 129.4 and gap == pytest.approx(4, abs=0.3)
    b1 = _history("beta-vae-1")
    assert round(b1[0]["test_kl"], 1) == 14.4 and round(b1[-1]["test_kl"], 1) == 19.0


@pytest.mark.claim("reading-vae-loss-curves")
def test_beta_vae_10_history_shows_dimensions_dying_early():
    hist = _history("beta-vae-10")
    kl = torch.tensor([r["test_kl_per_dim"] for r in hist])  # (epochs, 10)
    dead_from_10 = (kl[9:] < THRESHOLD).all(0)  # below 0.01 nats from epoch 10 to 60
    assert int(dead_from_10.sum()) == 6


@pytest.mark.claim("posterior-collapse")
def test_beta_below_one_is_not_a_bound_on_the_likelihood(test_digits):
    """recon + beta * KL with beta = 1/2, for VAE-2 on test digit 0, against its exact
    -log p(x) (quadrature): the beta = 1 objective is above it, the beta = 1/2 one below."""
    from kit.demos.elbo_gap import elbo_and_bounds

    x = test_digits.as_float(slice(0, 1))
    curve = elbo_and_bounds(x, seed=0)
    neg_log_px = -curve.exact
    assert curve.recon + curve.kl > neg_log_px  # the negative ELBO bounds -log p(x) from above
    assert curve.recon + 0.5 * curve.kl < neg_log_px - 2  # beta = 1/2 undercuts it by ~3 nats
