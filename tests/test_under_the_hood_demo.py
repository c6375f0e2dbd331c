"""The Under the hood demos (reparameterization, ELBO gap, collapse, VAE vs GAN), without a browser."""

import json
import math

import gradio as gr
import numpy as np
import pytest
import torch

from kit.demos import collapse, elbo_gap, reparam, vae_vs_gan
from kit.demos.common import DemoInputError
from kit.demos.registry import all_demos
from kit.demos.render import TAB, TAB10_RGB
from kit.models import MODELS_DIR, TrainingRecord
from kit.ui import under_the_hood_tab
from kit.ui.errors import named_outputs, user_errors

# ---- 1. reparameterization ------------------------------------------------------------------


def test_reparam_both_estimators_unbiased_and_pathwise_less_noisy():
    out = reparam.reparam_gradients(f="z^2", mu=1.0, sigma=1.0, n_samples=10, repeats=500, seed=0)
    assert "True gradient" in out["summary"]
    s = out["numbers"]
    assert s["true_gradient"] == pytest.approx(2.0)  # d/dmu (mu^2 + sigma^2) = 2 mu
    for kind in ("pathwise", "score"):  # each mean within 4 standard errors of the truth
        se = math.sqrt(s[f"{kind}_variance"] / 500)
        assert abs(s[f"{kind}_mean"] - 2.0) < 4 * se, kind
    assert s["pathwise_variance"] < 0.5 * s["score_variance"]
    # the pathwise estimator of E[z^2] is the mean of 2(mu + sigma eps): variance 4 sigma^2 / N
    assert s["pathwise_variance"] == pytest.approx(4 * 1.0 / 10, rel=0.2)


@pytest.mark.parametrize(
    ("f", "mu", "sigma", "n"),
    [("z^2", 1.0, 1.0, 10), ("exp(z)", -0.7, 2.2, 3), ("sin(z)", 2.9, 0.1, 1000)],
)
def test_histogram_picture_marks_the_true_gradient_and_both_estimators(f, mu, sigma, n):
    est = reparam.estimate_gradients(f, mu, sigma, n, 300, seed=4)
    image = reparam.histogram_image(est, f, n)
    assert image.dtype == np.uint8 and image.shape == (*reversed(reparam.HIST_SIZE), 3)
    panel = reparam.histogram_panel(est)
    left, top, right, bottom = panel.box
    x = round(float(panel.col(est.true)))
    assert left <= x <= right
    column = image[top + 2 : bottom - 1, x]  # the true-gradient line: black, full height
    assert (column.max(axis=1) < 40).mean() > 0.9
    plot = image[top:bottom, left:right].reshape(-1, 3).astype(int)
    for tab in ("orange", "blue"):  # bars of each estimator (at 60% over white or each other)
        tint = np.round(255 - 0.6 * (255 - np.array(TAB[tab]))).astype(int)
        assert (np.abs(plot - tint).max(axis=1) <= 3).sum() > 50, tab
    # bar heights: over the left half (the legend sits top right), each bin's top is where
    # its count is; above the taller of the two bars there is only background
    counts = reparam.bin_counts(est).max(axis=0)  # (60,) the taller bar of each bin
    edges = np.linspace(panel.xlim[0], panel.xlim[1], reparam.HIST_BINS + 1)
    centres = panel.col((edges[:-1] + edges[1:]) / 2)
    checked = 0
    clear = (centres < (left + right) / 2) & (np.abs(centres - x) > 4)  # not the black line
    for k in np.flatnonzero(clear & (counts >= 5)):
        col, y = round(float(centres[k])), float(panel.row(counts[k]))
        assert image[round(y) + 3, col].min() < 235, k  # inside the bar: tinted
        assert image[top + 2 : round(y) - 2, col].min() >= 220, k  # above: white or grid
        checked += 1
    assert checked >= 3


def test_pathwise_sees_no_slope_in_a_step_but_the_score_function_does():
    est = reparam.estimate_gradients("step 1[z>0]", mu=0.5, sigma=1.0, n=100, m=200, seed=1)
    assert np.all(est.pathwise == 0.0)  # f' = 0 almost everywhere: a biased pathwise answer
    assert est.true > 0.3
    assert abs(est.score.mean() - est.true) < 4 * est.score.std() / math.sqrt(200)


def test_reparam_is_reproducible_for_a_seed():
    a = reparam.reparam_gradients(seed=3, repeats=50)["numbers"]
    b = reparam.reparam_gradients(seed=3, repeats=50)["numbers"]
    c = reparam.reparam_gradients(seed=4, repeats=50)["numbers"]
    assert a == b and a != c


@pytest.mark.parametrize(
    "method",
    ["Normal(mu, sigma).sample()", "(mu + sigma * eps).detach()"],
)
def test_sample_without_a_gradient_path_fails_on_backward(method):
    out = reparam.no_gradient_path(method=method, mu=1.0, sigma=1.0, seed=0)
    n = out["numbers"]
    assert n["mu_grad"] is None and n["gradient_flows"] is False
    assert "does not require grad" in n["error"]
    assert "backward() failed" in out["summary"]


def test_torch_normal_gives_a_silent_zero_gradient():
    n = reparam.no_gradient_path(method="torch.normal(mu, sigma)", mu=1.0, sigma=1.0)["numbers"]
    assert n["error"] is None and n["mu_grad"] == 0.0 and not n["gradient_flows"]


@pytest.mark.parametrize("method", ["Normal(mu, sigma).rsample()", "mu + sigma * eps"])
def test_reparameterized_sample_passes_the_gradient(method):
    n = reparam.no_gradient_path(method=method, mu=0.7, sigma=0.5, seed=2)["numbers"]
    assert n["error"] is None and n["gradient_flows"]
    assert n["mu_grad"] == pytest.approx(2 * n["z"], rel=1e-5)  # d z^2 / d mu = 2 z


# ---- 2. ELBO vs importance-weighted bound ---------------------------------------------------


def test_iwae_bound_climbs_above_the_elbo(test_digits):
    curves = [elbo_gap.elbo_and_bounds(test_digits.as_float(slice(i, i + 1))) for i in range(3)]
    elbo = np.mean([c.elbo for c in curves])
    bounds = np.mean([c.bound_mean for c in curves], axis=0)  # (len(K),)
    assert bounds[-1] > elbo + 0.1  # K = 1000 is above the ELBO
    assert bounds[0] == pytest.approx(elbo, abs=0.3)  # K = 1 is the ELBO, in expectation
    assert np.all(np.diff(bounds) > -0.3)  # non-decreasing in K, up to sampling noise
    assert bounds[-1] > bounds[0] + 0.2


def test_elbo_demo_outputs():
    out = elbo_gap.elbo_vs_iwae(index=7, seed=0)
    assert out["input"].shape == (224, 224) and out["input"].dtype == np.uint8
    chart = out["figure"]  # drawn directly (kit.demos.render), not a matplotlib figure
    assert chart.ndim == 3 and chart.shape[2] == 3 and chart.dtype == np.uint8
    black = (chart == 0).all(axis=2).sum(axis=1)  # pure black pixels per row
    red = (chart == (214, 39, 40)).all(axis=2).sum(axis=1)  # the ELBO's colour
    assert black.max() > 400 and red.max() > 400  # the exact log p(x) and ELBO lines span it
    n = out["numbers"]
    assert n["recon"] > 0 and n["kl"] > 0
    assert n["elbo"] == pytest.approx(-(n["recon"] + n["kl"]))
    assert list(n["bound_by_k"]) == [str(k) for k in elbo_gap.K_VALUES]
    assert "labelled" in out["summary"] and "ELBO" in out["summary"]
    # the exact log p(x) line: above the bounds (one draw of L_K may poke above it by noise)
    assert n["exact_log_px"] > n["bound_by_k"]["1"] + 0.5
    assert n["exact_log_px"] >= n["bound_by_k"]["1000"] - 0.2
    assert n["gap_exact_to_elbo"] == pytest.approx(n["exact_log_px"] - n["elbo"])
    assert n["gap_exact_to_iwae"] == pytest.approx(n["exact_log_px"] - n["log_px_estimate"])
    assert "exact log p(x)" in out["summary"]


# ---- 3. posterior collapse ------------------------------------------------------------------


def test_larger_beta_collapses_more_dimensions():
    out = collapse.posterior_collapse(model="beta-vae-4")
    n = out["numbers"]
    assert set(n) == set(collapse.BETA_MODELS)
    assert n["beta-vae-10"]["collapsed_dims"] > n["beta-vae-0.5"]["collapsed_dims"]
    for rec in n.values():
        assert len(rec["kl_per_dim"]) == 10
        assert rec["kl_active_units"] + rec["collapsed_dims"] == 10
    assert "collapsed" in out["summary"]


def test_magma_matches_matplotlibs_colour_map():
    from matplotlib import colormaps

    t = np.linspace(0, 1, 41)
    reference = np.round(colormaps["magma"](t)[:, :3] * 255)
    assert np.abs(collapse.magma(t).astype(int) - reference).max() <= 12


@pytest.mark.parametrize("model", collapse.BETA_MODELS)
def test_collapse_picture_colours_each_cell_by_its_stored_kl(model):
    image = collapse.posterior_collapse(model=model)["figure"]
    assert image.dtype == np.uint8 and image.shape == (*reversed(collapse.FIG_SIZE), 3)
    assert not image.flags.writeable and collapse.posterior_collapse(model)["figure"] is image
    records = [collapse.load_kl_record(n) for n in collapse.BETA_MODELS]
    layout = collapse.collapse_layout(records, collapse.load_kl_record(model))
    left, top, right, bottom = layout.heat
    lo, hi = layout.colour_range
    cw, ch = (right - left) / 10, (bottom - top) / len(records)
    for i, name in enumerate(collapse.BETA_MODELS):
        stored = json.loads((MODELS_DIR / name / "metrics.json").read_text())["test"]
        for j, kl in enumerate(stored["kl_per_dim"]):
            expected = collapse.magma((np.log10(max(kl, 1e-3)) - lo) / (hi - lo))
            pixel = image[round(top + i * ch + 4), round(left + j * cw + 4)]  # a corner, no text
            assert np.abs(pixel.astype(int) - expected.astype(int)).max() <= 2, (name, j)
    # the right panel: one line per dimension, the picked model's last epoch at its final KL
    panel = layout.curves
    rec = collapse.load_kl_record(model)
    x = round(float(panel.col(rec.epochs[-1])))
    ys = np.round(panel.row(np.clip(rec.kl_history[-1], collapse.LINE_FLOOR, None)))  # (10,)
    for j in range(10):  # lines that end within 2 px of each other hide one another there
        patch = image[int(ys[j]) - 2 : int(ys[j]) + 3, x - 3 : x + 1].reshape(-1, 3).astype(int)
        near = [k for k in range(10) if abs(ys[k] - ys[j]) <= 2]
        seen = [(np.abs(patch - np.array(TAB10_RGB[k])).max(axis=1) <= 30).any() for k in near]
        assert any(seen), (model, j)


def test_kl_history_has_one_row_per_epoch():
    rec = collapse.load_kl_record("beta-vae-10")
    assert rec.kl_history.shape == (len(rec.epochs), rec.kl_per_dim.size)
    assert np.all(np.diff(rec.epochs) > 0) and np.all(rec.kl_history >= -1e-6)


def test_settled_epoch_is_when_a_dimension_switched_off_for_good(tmp_path):
    kl_hist = [[1.0, 0.5], [0.001, 0.6], [0.02, 0.7], [0.001, 0.7], [0.002, 0.8]]
    rows = [
        {"epoch": e, "test_recon": 100.0, "test_kl": sum(kl), "test_kl_per_dim": kl}
        for e, kl in enumerate(kl_hist, start=1)
    ]
    test = {"recon": 100.0, "kl": 0.802, "neg_elbo": 100.802, "active_units": 1}
    metrics = {"test": {**test, "kl_per_dim": kl_hist[-1]}, "model_config": {"beta": 1.0}}
    rec = TrainingRecord.parse("toy", tmp_path, metrics, rows)
    assert rec.collapsed == 1 and rec.kl_active_units == 1
    assert rec.settled_epochs() == [4]  # back above 0.01 at epoch 3, off from epoch 4 on


# ---- 4. VAE vs GAN --------------------------------------------------------------------------


def test_gan_samples_are_sharper_than_vae_samples():
    out = vae_vs_gan.vae_vs_gan(n_shown=16, seed=0)
    n = out["numbers"]
    assert n["gan_laplacian"] > n["vae_laplacian"]
    assert n["real_laplacian"] > n["vae_laplacian"]  # the VAE's mean images are the blurry ones
    for key in ("vae_samples", "gan_samples", "real_digits"):
        assert out[key].dtype == np.uint8 and out[key].shape == (
            4 * 85 + 1,
            4 * 85 + 1,
        )  # 16 as 4 x 4
    assert out["vae_interpolation"].shape == (86, 10 * 85 + 1)
    assert out["gan_interpolation"].shape == (86, 10 * 85 + 1)


def test_sharpness_measure_prefers_crisp_edges():
    crisp = np.zeros((1, 1, 28, 28), np.float32)
    crisp[..., 10:18, 10:18] = 1.0
    x = torch.from_numpy(crisp)
    blurred = torch.nn.functional.avg_pool2d(x, 5, stride=1, padding=2)
    assert vae_vs_gan.laplacian_sharpness(x) > 2 * vae_vs_gan.laplacian_sharpness(blurred)


# ---- bad input, errors, registration --------------------------------------------------------

BAD_CALLS = [
    (reparam.reparam_gradients, {"f": "z^5"}),
    (reparam.reparam_gradients, {"mu": None}),
    (reparam.reparam_gradients, {"sigma": 0}),
    (reparam.reparam_gradients, {"sigma": float("nan")}),
    (reparam.reparam_gradients, {"n_samples": 0}),
    (reparam.reparam_gradients, {"n_samples": 1001}),
    (reparam.reparam_gradients, {"repeats": 2.5}),
    (reparam.reparam_gradients, {"seed": -1}),
    (reparam.no_gradient_path, {"method": "sample"}),
    (reparam.no_gradient_path, {"mu": "one"}),
    (elbo_gap.elbo_vs_iwae, {"index": 10000}),
    (elbo_gap.elbo_vs_iwae, {"index": None}),
    (elbo_gap.elbo_vs_iwae, {"seed": "x"}),
    (collapse.posterior_collapse, {"model": "vae-2"}),
    (collapse.posterior_collapse, {"model": None}),
    (vae_vs_gan.vae_vs_gan, {"n_shown": 1000}),
    (vae_vs_gan.vae_vs_gan, {"seed": None}),
]


@pytest.mark.parametrize(("fn", "kwargs"), BAD_CALLS)
def test_bad_input_is_a_clear_error(fn, kwargs):
    with pytest.raises(DemoInputError, match=r"must be"):
        fn(**kwargs)


@pytest.mark.parametrize(
    ("fn", "args"),
    [
        (reparam.reparam_gradients, ("z^5",)),
        (reparam.no_gradient_path, (None,)),
        (elbo_gap.elbo_vs_iwae, (12345,)),
        (collapse.posterior_collapse, ("beta-vae-2",)),
        (vae_vs_gan.vae_vs_gan, (0,)),
    ],
)
def test_bad_input_becomes_a_gradio_toast(fn, args):
    with pytest.raises(gr.Error, match="must be"):
        user_errors(fn)(*args)
    handler, _ = named_outputs(fn, {})
    with pytest.raises(gr.Error, match="must be"):
        handler(*args)


def test_demos_are_registered_with_stable_ids():
    ids = {
        "under_the_hood.reparam_gradients": "reparam_gradients",
        "under_the_hood.no_gradient_path": "no_gradient_path",
        "under_the_hood.elbo_vs_iwae": "elbo_vs_iwae",
        "under_the_hood.posterior_collapse": "posterior_collapse",
        "under_the_hood.vae_vs_gan": "vae_vs_gan",
    }
    demos = all_demos()
    for demo_id, api_name in ids.items():
        spec = demos[demo_id]
        assert spec.tab == "under_the_hood" and spec.api_name == api_name and spec.summary
    assert {s.id for s in demos.values() if s.tab == "under_the_hood"} == set(ids)
    out = demos["under_the_hood.no_gradient_path"].run(method="Normal(mu, sigma).rsample()")
    assert out["numbers"]["gradient_flows"]
    with pytest.raises(ValueError, match="no parameter 'colour'"):
        demos["under_the_hood.reparam_gradients"].run(colour="red")


def test_tab_builds_and_exposes_the_api_names():
    with gr.Blocks() as demo:
        under_the_hood_tab.build(demo)
    names = {dep.get("api_name") for dep in demo.config["dependencies"]}
    assert {s.api_name for s in all_demos().values() if s.tab == "under_the_hood"} <= names
