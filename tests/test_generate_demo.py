"""The Generate-a-digit demos (conditional VAE samples, same style every digit, style sliders)."""

import gradio as gr
import numpy as np
import pytest
import torch

from kit.demos import generate
from kit.demos.common import DemoInputError
from kit.demos.registry import all_demos, get_demo
from kit.ui import generate_tab
from kit.ui.errors import named_outputs, user_errors
from kit.ui.links import Part, wire_together


def _cells(grid: np.ndarray, n: int, per_row: int, scale: int = 3, pad: int = 1) -> np.ndarray:
    """Cut a grid_display picture back into its n cells: -> (n, 28*scale, 28*scale)."""
    side = 28 * scale
    cells = []
    for i in range(n):
        r, c = divmod(i, per_row)
        y, x = pad + r * (side + pad), pad + c * (side + pad)
        cells.append(grid[y : y + side, x : x + side])
    return np.stack(cells).astype(float) / 255.0


# ---- samples -------------------------------------------------------------------------------


def test_samples_grid_is_display_ready():
    out = generate.generate_digits(digit=3, n_samples=16, temperature=1.0, seed=0)
    assert set(out) == {"samples", "summary", "numbers"}
    grid = out["samples"]
    assert grid.dtype == np.uint8 and grid.shape == (2 * 85 + 1, 8 * 85 + 1)  # 2 rows of 8
    assert grid.max() > 200  # there is ink
    assert len(out["numbers"]["z"]) == 16 and "digit 3" in out["summary"]
    one = generate.generate_digits(digit=3, n_samples=1, seed=0)["samples"]
    assert one.shape == (86, 86)


def test_same_seed_same_grid_different_seed_different_grid():
    a = generate.generate_digits(digit=5, n_samples=16, temperature=1.0, seed=11)
    b = generate.generate_digits(digit=5, n_samples=16, temperature=1.0, seed=11)
    c = generate.generate_digits(digit=5, n_samples=16, temperature=1.0, seed=12)
    assert np.array_equal(a["samples"], b["samples"])
    assert np.abs(a["samples"].astype(int) - c["samples"].astype(int)).mean() > 5


def test_more_samples_only_adds_to_the_grid():
    """Sample k comes from the same eps whatever the count: 4 samples are the first 4 of 16."""
    z4 = generate.generate_digits(n_samples=4, seed=3)["numbers"]["z"]
    z16 = generate.generate_digits(n_samples=16, seed=3)["numbers"]["z"]
    assert z4 == z16[:4]


def test_temperature_zero_gives_identical_samples_and_temperature_spreads_them():
    cold = generate.generate_digits(digit=2, n_samples=9, temperature=0.0, seed=4)
    cells = _cells(cold["samples"], 9, per_row=8)
    assert np.all(cells == cells[0])
    assert cold["numbers"]["pixel_spread"] == pytest.approx(0.0, abs=1e-6)
    spread = {
        t: generate.generate_digits(digit=2, n_samples=32, temperature=t, seed=4)["numbers"][
            "pixel_spread"
        ]
        for t in (0.5, 1.0, 2.0)
    }
    assert 0 < spread[0.5] < spread[1.0] < spread[2.0]


# ---- same style, every digit -----------------------------------------------------------------


def test_same_style_row_has_ten_different_digits():
    out = generate.same_style_all_digits(seed=0, temperature=1.0)
    row = out["row"]
    assert row.dtype == np.uint8 and row.shape == (86, 10 * 85 + 1)
    cells = _cells(row, 10, per_row=10)
    diffs = [np.abs(cells[i] - cells[j]).mean() for i in range(10) for j in range(i + 1, 10)]
    assert min(diffs) > 0.03  # every pair of labels decodes to a visibly different image


def test_same_style_uses_the_first_sample_of_the_grid():
    out = generate.same_style_all_digits(seed=9, temperature=1.0)
    z = generate.generate_digits(n_samples=1, seed=9)["numbers"]["z"][0]
    assert (out["z1"], out["z2"]) == pytest.approx(tuple(z), abs=0.006)
    assert "z carries the style" in out["summary"]


def test_same_style_clips_the_slider_values():
    seed = next(
        s for s in range(200) if generate.prior_draw(s, 2.0, 1).abs().max() > 3.05
    )  # a draw that lands beyond the sliders' range at temperature 2
    out = generate.same_style_all_digits(seed=seed, temperature=2.0)
    assert -3 <= out["z1"] <= 3 and -3 <= out["z2"] <= 3
    assert "clipped" in out["summary"]


def _slant(images: torch.Tensor) -> np.ndarray:
    """Shear of the ink, sum w (x - cx)(y - cy) / sum w (y - cy)^2: (B, 1, 28, 28) -> (B,)."""
    w = images[:, 0]  # (B, 28, 28), ink as weights
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    mass = w.sum(dim=(1, 2))
    cx = ((w * xs).sum(dim=(1, 2)) / mass)[:, None, None]
    cy = ((w * ys).sum(dim=(1, 2)) / mass)[:, None, None]
    return (
        (w * (xs - cx) * (ys - cy)).sum(dim=(1, 2)) / (w * (ys - cy) ** 2).sum(dim=(1, 2))
    ).numpy()


def test_z_carries_style_across_labels():
    """The slant a z gives is the slant of every digit decoded from it: over 25 codes, the
    slants of any two labels are strongly correlated (measured: 0.82 at worst, 0.94 on average)."""
    v = torch.linspace(-2, 2, 5)
    zs = torch.cartesian_prod(v, v)  # (25, 2)
    slants = np.stack(
        [_slant(generate.decode_with_labels(zs, torch.full((25,), d))) for d in range(10)]
    )  # (10 labels, 25 codes)
    assert np.ptp(slants, axis=1).min() > 0.5  # z really does change the slant of each digit
    corr = np.corrcoef(slants)  # (10, 10)
    assert corr.min() > 0.7


# ---- style sliders ---------------------------------------------------------------------------


def test_style_sliders_show_the_digit_and_the_row():
    out = generate.style_sliders(digit=4, z1=0.5, z2=-1.0)
    assert out["digit_image"].shape == (224, 224) and out["digit_image"].dtype == np.uint8
    assert out["row"].shape == (86, 851)
    # the big image is cell 4 of the row at a larger scale
    small = _cells(out["row"], 10, per_row=10)[4][::3, ::3]
    assert np.abs(out["digit_image"][::8, ::8] / 255.0 - small).max() < 0.01


def test_moving_z1_changes_the_image_smoothly():
    z1 = torch.linspace(-3, 3, 61)  # steps of 0.1
    z = torch.stack([z1, torch.full_like(z1, 0.5)], dim=1)  # (61, 2)
    images = generate.decode_with_labels(z, torch.full((61,), 6))  # (61, 1, 28, 28)
    steps = (images[1:] - images[:-1]).abs().mean(dim=(1, 2, 3))  # (60,)
    total = (images[-1] - images[0]).abs().mean()
    assert total > 0.05  # the sweep does change the digit
    assert steps.max() < 3 * steps.mean()  # no step of 0.1 jumps (measured: 1.7x the mean)
    assert steps.max() < 0.03


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"digit": 10},
        {"digit": "seven"},
        {"digit": None},
        {"digit": 2.5},
        {"n_samples": 0},
        {"n_samples": 65},
        {"n_samples": None},
        {"temperature": -0.1},
        {"temperature": 2.5},
        {"temperature": float("nan")},
        {"temperature": "hot"},
        {"seed": -1},
        {"seed": None},
        {"seed": 1.5},
    ],
)
def test_bad_sample_arguments_are_clear_errors(kwargs):
    with pytest.raises(DemoInputError):
        generate.generate_digits(**kwargs)


@pytest.mark.parametrize(
    "fn, kwargs",
    [
        (generate.same_style_all_digits, {"seed": None}),
        (generate.same_style_all_digits, {"temperature": 3}),
        (generate.style_sliders, {"z1": 3.5}),
        (generate.style_sliders, {"z2": None}),
        (generate.style_sliders, {"digit": -1}),
    ],
)
def test_bad_style_arguments_are_clear_errors(fn, kwargs):
    with pytest.raises(DemoInputError):
        fn(**kwargs)


def test_errors_become_gradio_toasts():
    with pytest.raises(gr.Error, match="digit must be a whole number from 0 to 9"):
        user_errors(generate.generate_digits)(12, 16, 1.0, 0)
    handler, _ = named_outputs(generate.style_sliders, {"digit_image": 0, "row": 1, "summary": 2})
    with pytest.raises(gr.Error, match="style slider z1 must be a number from -3"):
        handler(7, 9.0, 0.0)


# ---- registry and tab ------------------------------------------------------------------------


def test_demos_are_registered_and_run_with_defaults():
    demos = all_demos()
    expected = {
        "generate.samples": "generate_digits",
        "generate.same_style": "same_style_all_digits",
        "generate.style_sliders": "style_sliders",
    }
    for demo_id, api_name in expected.items():
        spec = demos[demo_id]
        assert spec.tab == "generate" and spec.api_name == api_name
        assert isinstance(spec.run(), dict)
    assert demos["generate.samples"].run(seed=5)["numbers"]["seed"] == 5


def test_tab_builds_and_exposes_the_api_names():
    with gr.Blocks() as demo:
        generate_tab.build(demo)
    names = {dep.get("api_name") for dep in demo.config["dependencies"]}
    assert {"generate_digits", "same_style_all_digits", "style_sliders"} <= names
    public = [
        d for d in demo.config["dependencies"] if d.get("api_visibility", "public") == "public"
    ]
    assert len(public) == 3


@pytest.mark.parametrize("seed, temperature", [(0, 1.0), (11, 2.0), (123, 0.0)])
def test_same_style_shows_the_digit_the_sliders_show_at_its_z(seed, temperature):
    """The "Same style" event writes a (clipped) z to the sliders and, with it, the chosen digit
    at that z: exactly what the slider demo draws for it."""
    style = get_demo("generate.same_style").run(seed=seed, temperature=temperature, digit=4)
    expected = get_demo("generate.style_sliders").run(digit=4, z1=style["z1"], z2=style["z2"])
    np.testing.assert_array_equal(style["digit_image"], expected["digit_image"])
    assert abs(style["z1"]) <= 3 and abs(style["z2"]) <= 3


def test_same_style_refuses_a_digit_out_of_range():
    with pytest.raises(DemoInputError, match="digit"):
        get_demo("generate.same_style").run(seed=0, temperature=1.0, digit=10)


def test_a_new_digit_redraws_the_samples_and_the_slider_digit_in_one_event():
    with gr.Blocks() as demo:
        generate_tab.build(demo)
    (event,) = [
        f
        for f in demo.fns.values()
        if getattr(f.fn, "__name__", None) == "generate_digits_then_style_sliders"
    ]
    assert event.api_visibility == "private"
    by_label = {c.label: c for c in event.inputs}
    values = {id(c): c.value for c in event.inputs}
    values[id(by_label["Digit to draw"])] = "2"
    values[id(by_label["z₁"])] = 1.5
    out = {c.label: v for c, v in event.fn(*(values[id(c)] for c in event.inputs)).items()}
    samples = get_demo("generate.samples").run(digit="2")
    np.testing.assert_array_equal(
        out["Samples (seed decides ε; same seed, same grid)"], samples["samples"]
    )
    at_z = get_demo("generate.style_sliders").run(digit="2", z1=1.5, z2=0.0)
    np.testing.assert_array_equal(out["Your digit at (z₁, z₂)"], at_z["digit_image"])
    np.testing.assert_array_equal(out["One z, labels 0 to 9"], at_z["row"])


def test_joined_demos_may_not_write_to_one_component():
    spec = get_demo("generate.samples")
    with gr.Blocks():
        box, out, btn = gr.Number(), gr.Image(), gr.Button()
        part = Part(spec, {"digit": box}, {"samples": out})
        with pytest.raises(ValueError, match="same component"):
            wire_together([part, part], [btn.click])
