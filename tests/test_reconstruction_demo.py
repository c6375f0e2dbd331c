"""The Reconstruction demo and its tab handlers, called without a browser."""

import gradio as gr
import numpy as np
import pytest

from kit.demos import reconstruction as recon_demo
from kit.demos.common import DemoInputError, load_test_digit, parse_digit_class, to_display
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
    x, label = load_test_digit(0)
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
    _, label = load_test_digit(rnd["index"])
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
        load_test_digit(bad)


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
    with pytest.raises(ValueError, match="no parameter"):
        demos["reconstruction.test_digit"].run(colour="red")


# ---- input noise: models trained on clean digits are not denoisers ---------------------------


def _mean_clean_error(test_digits, level, name):
    errs, noise = [], []
    for i in range(30):
        x = test_digits.as_float(slice(i, i + 1))
        noisy, clean = recon_demo._add_noise(x, level, seed=i)
        res = reconstruct(noisy, samples=2, clean=clean)
        errs.append(res.by_name(name).mse_clean)
        noise.append(res.noise_mse)
    return float(np.mean(errs)), float(np.mean(noise))


def test_clean_trained_models_are_not_denoisers(test_digits):
    # AE-32's error to the clean digit grows with the noise: mild noise is kept, not removed
    errors = [_mean_clean_error(test_digits, s, "ae-32")[0] for s in (0.05, 0.1, 0.2)]
    assert errors[0] < errors[1] < errors[2]
    # heavy noise cannot pass a 2-number bottleneck: the output is nearer the clean digit
    err, noise = _mean_clean_error(test_digits, 0.7, "ae-2")
    assert err < 0.7 * noise


def test_noise_is_seeded_and_reported():
    a = recon_demo.show_test_digit(4, noise=0.3)
    b = recon_demo.show_test_digit(4, noise=0.3)
    clean = recon_demo.show_test_digit(4)
    np.testing.assert_array_equal(a["input"], b["input"])
    assert not np.array_equal(a["input"], clean["input"])
    assert "MSE to clean digit" in a["summary"] and "Noisy input" in a["summary"]
    assert "MSE to clean digit" not in clean["summary"]


@pytest.mark.parametrize("bad", [-0.1, 1.5, "lots", float("nan")])
def test_bad_noise_is_a_clear_error(bad):
    with pytest.raises(gr.Error, match="noise level"):
        user_errors(recon_demo.show_test_digit)(0, bad)


# ---- uploads: checked before decoding, each failure a sentence ------------------------------


def _digit_png(path, mode="L", size=(120, 90)):
    from PIL import Image, ImageDraw

    img = Image.new("L", size, 255)
    ImageDraw.Draw(img).line([(60, 10), (60, 80)], fill=0, width=12)  # a "1", dark on light
    if mode == "I;16":
        img = Image.fromarray(np.asarray(img).astype(np.uint16) * 257)
    elif mode != "L":
        img = img.convert(mode)
    img.save(path)
    return path


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "I;16"])
def test_upload_reconstructs_an_image_file(tmp_path, mode):
    out = recon_demo.show_upload(str(_digit_png(tmp_path / "one.png", mode)))
    assert out["input"].shape == (224, 224)
    assert out["input"].max() > 200  # the stroke became bright ink on black, MNIST-style


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _huge_png(path):
    from PIL import Image

    Image.new("1", (10000, 10000)).save(path)  # 100 Mpx, a few kB on disk
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: _write(p, b"this is not an image\n" * 10), "not an image"),
        (lambda p: _write(p, _half(_digit_png(p).read_bytes())), "damaged or truncated"),
        (lambda p: _write(p, b'<svg xmlns="http://www.w3.org/2000/svg"/>'), "SVG"),
        (_huge_png, "10000x10000 pixels"),
        (lambda p: _write(p, b"\x89PNG" + b"\0" * (6 * 2**20)), "MiB"),
        (lambda p: _write(p, b""), "empty"),
    ],
    ids=["not-an-image", "truncated", "svg", "10000x10000", "over-5MiB", "empty"],
)
def test_bad_uploads_get_a_clear_error(tmp_path, make, message):
    path = make(tmp_path / "digit.png")
    with pytest.raises(gr.Error, match=message):
        user_errors(recon_demo.show_upload)(str(path))


def test_missing_upload_is_a_clear_error():
    with pytest.raises(gr.Error, match="no file was uploaded"):
        user_errors(recon_demo.show_upload)(None)
