"""The encoder view's numbers against the models called directly (kit/demos/encoder.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kit.data import bundled_test_set
from kit.demos import encoder
from kit.demos.errors import DemoInputError
from kit.demos.latent import z_to_pixel
from kit.demos.registry import all_demos
from kit.losses import bce_reconstruction
from kit.models import MODELS_DIR, load_pretrained


def _digit(i):
    d = bundled_test_set()
    return d.as_float(slice(i, i + 1)), int(d.labels[i])


@pytest.mark.parametrize(("model", "label"), [("vae-2", "auto"), ("cvae-2", "7"), ("cvae-2", "2")])
def test_mu_sigma_and_z_match_the_model_for_the_shown_seed(model, label):
    out = all_demos()["latent.encode_test_digit"].run(index=17, model=model, label=label, seed=1234)
    nums = out["numbers"]
    net = load_pretrained(MODELS_DIR / model)  # a fresh load, not the demo's cache
    x, _ = _digit(17)
    y = torch.tensor([int(label)]) if model == "cvae-2" else None
    with torch.no_grad():
        post = net.encode(x, y)
        eps = torch.randn(1, 2, generator=torch.Generator().manual_seed(1234))
        z = post.mu + post.std * eps  # z = mu + sigma * eps
        recon = bce_reconstruction(net.decode_logits(z, y), x)
    assert nums["seed"] == 1234
    np.testing.assert_allclose(nums["mu"], post.mu[0].numpy(), atol=1e-4)
    np.testing.assert_allclose(nums["sigma"], post.std[0].numpy(), atol=1e-4)
    np.testing.assert_allclose(nums["eps"], eps[0].numpy(), atol=1e-4)
    np.testing.assert_allclose(nums["z"], z[0].numpy(), atol=1e-4)
    np.testing.assert_allclose(
        nums["z"], np.array(nums["mu"]) + np.array(nums["sigma"]) * np.array(nums["eps"]), atol=1e-3
    )
    # KL in closed form, written out here: 1/2 sum (mu^2 + sigma^2 - 1 - log sigma^2)
    mu, s = post.mu[0].double(), post.std[0].double()
    kl = 0.5 * float((mu**2 + s**2 - 1 - torch.log(s**2)).sum())
    assert nums["kl"] == pytest.approx(kl, abs=1e-3)
    assert nums["recon"] == pytest.approx(float(recon), abs=1e-3)
    assert nums["neg_elbo"] == pytest.approx(nums["recon"] + nums["kl"], abs=1e-3)
    if model == "cvae-2":
        assert nums["label"] == int(label)


def test_the_same_seed_repeats_and_another_seed_moves_z():
    spec = all_demos()["latent.encode_test_digit"]
    a, b = (spec.run(index=5, seed=7)["numbers"] for _ in range(2))
    c = spec.run(index=5, seed=8)["numbers"]
    assert a["z"] == b["z"] and a["z"] != c["z"] and a["mu"] == c["mu"]


def test_the_ellipses_and_points_are_drawn_where_the_posterior_is():
    out = all_demos()["latent.encode_test_digit"].run(index=3, seed=0)
    nums, img = out["numbers"], out["map"]
    x, y = z_to_pixel(*nums["z"])
    assert tuple(img[y, x]) == encoder.SAMPLE_RGB
    # the 2-sigma ring crosses the horizontal line through mu at mu_1 +- 2 sigma_1 (>= 1.5 px)
    cx, cy = z_to_pixel(*nums["mu"])
    half = max(2 * nums["sigma"][0] * 60, 1.5)
    row = img[cy, int(cx + half) - 3 : int(cx + half) + 4]
    assert any(
        tuple(p) in (encoder.ELLIPSE_RGB[2], encoder.SAMPLE_RGB, encoder.MEAN_RGB) for p in row
    )
    assert out["mean_decoded"].shape == out["sample_decoded"].shape == out["input"].shape


def test_auto_label_is_the_label_with_the_best_deterministic_elbo():
    net = load_pretrained(MODELS_DIR / "cvae-2")
    x, _ = _digit(0)
    scores = []
    with torch.no_grad():
        for label in range(10):
            y = torch.tensor([label])
            post = net.encode(x, y)
            scores.append(float(bce_reconstruction(net.decode_logits(post.mu, y), x) + post.kl()))
    out = all_demos()["latent.encode_test_digit"].run(index=0, model="cvae-2", label="auto")
    assert out["numbers"]["label"] == int(np.argmin(scores))


def test_drawing_runs_and_blank_or_bad_input_is_refused():
    sketch = np.zeros((280, 280, 4), np.uint8)
    sketch[60:220, 130:152, 3] = 255  # a vertical stroke: a "1"
    out = all_demos()["latent.encode_drawing"].run(drawing={"composite": sketch, "layers": []})
    assert out["input"].shape == (224, 224)
    with pytest.raises(DemoInputError, match="draw a digit first"):
        all_demos()["latent.encode_drawing"].run(drawing=None)
    with pytest.raises(DemoInputError, match="seed"):
        all_demos()["latent.encode_test_digit"].run(seed=-1)


def test_slerp_keeps_the_norm_of_equal_norm_ends_and_lerp_dips():
    a = torch.tensor([3.0, 0.0, 0.0])
    b = torch.tensor([0.0, 3.0, 0.0])
    t = torch.linspace(0, 1, 5)
    s = encoder.slerp(a, b, t)
    torch.testing.assert_close(s.norm(dim=1), torch.full((5,), 3.0))
    torch.testing.assert_close(s[2], torch.tensor([3 / math.sqrt(2), 3 / math.sqrt(2), 0.0]))
    lerp_mid = 0.5 * (a + b)
    assert float(lerp_mid.norm()) == pytest.approx(3 / math.sqrt(2))
    # log N(z; 0, I) against scipy-free closed form at a point
    z = torch.tensor([[1.0, 2.0, -1.0]])
    assert float(encoder.prior_log_density(z)) == pytest.approx(-1.5 * math.log(2 * math.pi) - 3.0)


def test_class_path_ends_at_the_two_chosen_classes():
    out = all_demos()["latent.class_path"].run(
        model="beta-vae-4", class_a="3", class_b="8", steps=6
    )
    nums = out["numbers"]
    labels = bundled_test_set().labels
    assert int(labels[nums["index_a"]]) == 3 and int(labels[nums["index_b"]]) == 8
    assert nums["log_prior_linear"][0] == pytest.approx(nums["log_prior_spherical"][0], abs=1e-3)
    assert nums["log_prior_linear"][-1] == pytest.approx(nums["log_prior_spherical"][-1], abs=1e-3)
    d = 10  # the density follows from the norm: log p = -d/2 log 2 pi - |z|^2 / 2
    for lp, n in zip(nums["log_prior_linear"], nums["norm_linear"], strict=True):
        assert lp == pytest.approx(-d / 2 * math.log(2 * math.pi) - n**2 / 2, abs=1e-2)


def test_point_path_between_equal_norm_points_keeps_the_norm_spherically():
    out = all_demos()["latent.point_path"].run(z1_a=2.0, z2_a=0.0, z1_b=0.0, z2_b=2.0, steps=5)
    nums = out["numbers"]
    assert nums["norm_spherical"] == pytest.approx([2.0] * 5, abs=1e-3)
    assert nums["norm_linear"][2] == pytest.approx(math.sqrt(2), abs=1e-3)  # |(1, 1)|
    x, y = z_to_pixel(2.0, 0.0)
    assert tuple(out["map"][y, x]) == encoder.SAMPLE_RGB  # end a is marked on the map
    with pytest.raises(DemoInputError, match="z1"):
        all_demos()["latent.point_path"].run(z1_a=99)


def _stroke_ink() -> np.ndarray:
    ink = np.zeros((28, 28))
    ink[2:26, 12:16] = 1.0  # a "1", as the page's canvas crops and averages it
    ink[2:26, 11] = ink[2:26, 16] = 0.5
    return ink


def test_the_canvas_values_are_encoded_like_the_same_ink_preprocessed():
    from kit.preprocess import ink_to_mnist

    ink = _stroke_ink()
    text = encoder.canvas_value(ink)
    assert text.startswith("[0,") and text.count(",") == 783 and len(text) < 3000
    np.testing.assert_array_equal(encoder.canvas_ink(text), ink)
    spec = all_demos()["latent.encode_drawing"]
    out = spec.run(drawing=text, seed=3)
    direct = encoder.encode(ink_to_mnist(ink), "vae-2", "auto", 3)
    np.testing.assert_allclose(out["numbers"]["mu"], direct.mu, atol=1e-4)
    assert out["numbers"]["z"] == spec.run(drawing=ink.ravel().tolist(), seed=3)["numbers"]["z"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[" + ",".join(["0.5"] * 783) + "]", "got 783 values"),
        ("[" + ",".join(["0.5"] * 785) + "]", "got 785 values"),
        ("[" + ",".join(["0.5"] * 783 + ["1.5"]) + "]", "outside"),
        ("[" + ",".join(["0.5"] * 783 + ["-0.1"]) + "]", "outside"),
        ("[" + ",".join(["0.5"] * 783 + ["NaN"]) + "]", "not a number"),
        ("[" + ",".join(["0.5"] * 783 + ["Infinity"]) + "]", "not a number"),
        ("[" + ",".join(["0.5"] * 783 + ["1e400"]) + "]", "outside"),  # inf once parsed
        ("[" + ",".join(["[0.5]"] * 784) + "]", "not a number"),
        ("0.5," * 784, "written as"),
        ("[" + "0" * 20_000 + "]", "characters"),
        ([0.5] * 783 + [True], "not a number"),
        ([0.5] * 783 + [float("nan")], "outside"),
        ([0.5] * 10, "got 10 values"),
        ({"composite": None}, "empty"),
    ],
)
def test_bad_canvas_values_are_refused_with_what_is_expected(value, message):
    with pytest.raises((DemoInputError, ValueError), match=message):
        all_demos()["latent.encode_drawing"].run(drawing=value)


def test_an_empty_canvas_is_refused():
    from kit.preprocess import BlankImageError

    with pytest.raises(DemoInputError, match="draw a digit first"):
        all_demos()["latent.encode_drawing"].run(drawing="")
    with pytest.raises(BlankImageError):
        all_demos()["latent.encode_drawing"].run(drawing=encoder.canvas_value(np.zeros((28, 28))))


def test_the_drawn_posterior_matches_a_whole_map_drawing():
    """The rings and dots drawn over windows equal the same formulas over every pixel."""
    base = encoder.base_map("vae-2")
    h, w = base.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    for mu, sigma, z in [
        ((0.2, 2.3), (0.05, 0.1), (0.25, 2.2)),
        ((-3.9, 3.9), (1.2, 0.8), (-4.5, 4.4)),  # rings cut by the map's edge, z outside it
        ((7.0, 0.0), (0.3, 0.3), (0.0, 0.0)),  # mu off the map
    ]:
        enc = encoder.Encoding(
            mu=np.array(mu), sigma=np.array(sigma), eps=None, z=np.array(z), label=None,
            recon=0.0, kl=0.0, mean_image=None, sample_image=None,
        )  # fmt: skip
        want = base.copy()
        cx, cy = z_to_pixel(*mu)
        for k in (2, 1):
            a, b = max(k * sigma[0] * 60, 1.5), max(k * sigma[1] * 60, 1.5)
            r = np.sqrt(((xx - cx) / a) ** 2 + ((yy - cy) / b) ** 2)
            want[np.abs(r - 1.0) * min(a, b) <= 1.3] = encoder.ELLIPSE_RGB[k]
        for (px, py), rgb, radius in ((mu, encoder.MEAN_RGB, 4), (z, encoder.SAMPLE_RGB, 5)):
            x, y = z_to_pixel(px, py)
            want[(xx - x) ** 2 + (yy - y) ** 2 <= radius**2] = rgb
        np.testing.assert_array_equal(encoder.draw_posterior(base, enc), want)


def test_point_path_with_the_cvae_decodes_every_point_as_its_label():
    out = all_demos()["latent.point_path"].run(
        z1_a=-1.0, z2_a=0.5, z1_b=1.0, z2_b=-0.5, steps=4, model="cvae-2", label="7"
    )
    net = load_pretrained(MODELS_DIR / "cvae-2")
    t = torch.linspace(0, 1, 4)[:, None]
    line = (1 - t) * torch.tensor([-1.0, 0.5]) + t * torch.tensor([1.0, -0.5])
    with torch.no_grad():
        want = net.decode(line, torch.full((4,), 7))  # (4, 1, 28, 28)
    cell = 28 * 3 + 1  # grid_display: each digit upscaled 3x after one pixel of padding
    for k in range(4):  # the top row is the linear path
        tile = out["paths"][1:cell:3, k * cell + 1 : (k + 1) * cell : 3]  # (28, 28)
        np.testing.assert_array_equal(
            tile, np.clip(want[k, 0].numpy() * 255 + 0.5, 0, 255).astype(np.uint8)
        )
    other = all_demos()["latent.point_path"].run(
        z1_a=-1.0, z2_a=0.5, z1_b=1.0, z2_b=-0.5, steps=4, model="cvae-2", label="2"
    )
    assert not np.array_equal(other["paths"], out["paths"])  # the label is what is decoded
    assert out["numbers"]["model"] == "cvae-2" and out["numbers"]["label"] == 7
    x, y = z_to_pixel(-1.0, 0.5)
    assert tuple(out["map"][y, x]) == encoder.SAMPLE_RGB
    assert "CVAE-2 with the label **7**" in out["summary"]
    with pytest.raises(DemoInputError, match="label"):
        all_demos()["latent.point_path"].run(model="cvae-2", label="auto")
