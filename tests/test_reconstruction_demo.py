"""The Reconstruction demo and its tab handlers, called without a browser."""

import gradio as gr
import numpy as np
import pytest

from kit.demos import reconstruction as recon_demo
from kit.demos.common import DemoInputError, parse_digit_class, test_digit, to_display
from kit.demos.reconstruction import RECON_MODELS, reconstruct, summary_markdown
from kit.demos.registry import all_demos
from kit.ui.errors import user_errors


def test_bigger_code_reconstructs_better_on_average(test_digits):
    mse = {name: [] for name in RECON_MODELS}
    for i in range(50):
        res = reconstruct(test_digits.as_float(slice(i, i + 1)))
        for row in res.rows:
            mse[row.name].append(row.mse)
    assert np.mean(mse["ae-32"]) < 0.5 * np.mean(mse["ae-2"])
    assert np.mean(mse["ae-32"]) < 0.5 * np.mean(mse["vae-2"])


def test_reconstruction_result_is_well_formed(test_digits):
    x, label = test_digit(0)
    res = reconstruct(x)
    assert [r.name for r in res.rows] == list(RECON_MODELS)
    for r in res.rows:
        assert r.image.shape == (28, 28)
        assert r.image.min() >= 0.0 and r.image.max() <= 1.0
        assert r.mse >= 0 and r.bce > 0
    vae = res.by_name("vae-2")
    assert vae.kl > 0 and vae.recon_expected > 0
    assert res.by_name("ae-32").kl is None
    text = summary_markdown(res, label)
    assert f"labelled **{label}**" in text and "negative ELBO" in text


def test_handlers_return_named_outputs():
    out = recon_demo.show_test_digit(7)
    assert set(out) == {"input", "ae-32", "ae-2", "vae-2", "summary"}
    assert out["input"].shape == (224, 224) and out["input"].dtype == np.uint8
    rnd = recon_demo.show_random_digit("3")
    _, label = test_digit(rnd["index"])
    assert label == 3


def test_drawing_handler_accepts_a_sketch(test_digits):
    ink = to_display(test_digits.as_float(slice(5, 6)), scale=10)  # 280 x 280, ink = 255
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = ink
    out = recon_demo.show_drawing({"background": None, "layers": [rgba], "composite": rgba})
    assert out["vae-2"].shape == (224, 224)


@pytest.mark.parametrize("bad", [-1, 10000, 2.5, "seven", None, float("nan")])
def test_bad_index_is_a_clear_error(bad):
    with pytest.raises(DemoInputError, match="whole number from 0 to 9999"):
        test_digit(bad)


@pytest.mark.parametrize("bad", ["ten", 11, -1, 3.5])
def test_bad_class_is_a_clear_error(bad):
    with pytest.raises(DemoInputError):
        parse_digit_class(bad)


def test_errors_become_gradio_toasts():
    handler = user_errors(recon_demo.show_drawing)
    with pytest.raises(gr.Error, match="draw or upload a digit"):
        handler(None)
    blank = np.zeros((100, 100, 4), np.uint8)
    with pytest.raises(gr.Error, match="blank"):
        handler({"background": None, "layers": [blank], "composite": blank})
    with pytest.raises(gr.Error, match="0 to 9999"):
        user_errors(recon_demo.show_test_digit)(123456)


def test_demos_are_registered_with_stable_ids():
    demos = all_demos()
    assert {
        "reconstruction.test_digit",
        "reconstruction.random_digit",
        "reconstruction.drawing",
    } <= set(demos)
    out = demos["reconstruction.test_digit"].run(index=3)
    assert out["summary"].startswith("**Input:** test digit labelled")
    with pytest.raises(ValueError, match="no argument"):
        demos["reconstruction.test_digit"].run(colour="red")
