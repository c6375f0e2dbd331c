"""Drawings and uploads become MNIST-like digits: cropped, 20x20, centred by mass."""

import numpy as np
import pytest
import torch
from PIL import Image

from kit.preprocess import BlankImageError, to_mnist_digit


def centre_of_mass(img: torch.Tensor) -> tuple[float, float]:
    """(row, col) centre of mass of a (..., 28, 28) image."""
    a = img.reshape(img.shape[-2], img.shape[-1]).double()
    ys, xs = torch.meshgrid(torch.arange(a.shape[0]), torch.arange(a.shape[1]), indexing="ij")
    total = a.sum()
    return float((ys * a).sum() / total), float((xs * a).sum() / total)


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(np.corrcoef(a.flatten().numpy(), b.flatten().numpy())[0, 1])


def _paint(digit: np.ndarray, canvas_hw=(400, 300), at=(200, 140), size=140, white_bg=True):
    """Put an upscaled MNIST digit (uint8, ink = 255) off-centre on a big RGB canvas."""
    big = np.asarray(Image.fromarray(digit).resize((size, size), Image.BILINEAR))
    canvas = np.zeros((*canvas_hw, 3), np.uint8)
    canvas[at[0] : at[0] + size, at[1] : at[1] + size] = big[..., None]
    return 255 - canvas if white_bg else canvas


@pytest.mark.parametrize("white_bg", [True, False])
def test_shifted_digit_is_centred_and_recognisable(test_digits, white_bg):
    for i in range(10):
        digit = test_digits.images[i].numpy()
        out = to_mnist_digit(_paint(digit, white_bg=white_bg))
        assert out.shape == (1, 1, 28, 28) and out.dtype == torch.float32
        assert out.min() >= 0.0 and out.max() <= 1.0
        cy, cx = centre_of_mass(out)
        assert abs(cy - 14) < 1.0 and abs(cx - 14) < 1.0
        assert _corr(out, test_digits.as_float(slice(i, i + 1))) > 0.75


def test_digit_fits_a_20_pixel_box_keeping_aspect_ratio():
    bar = np.full((300, 300), 255, np.uint8)
    bar[20:220, 100:150] = 0  # a 200 x 50 stroke: 4:1
    out = to_mnist_digit(bar)[0, 0]
    rows = torch.nonzero(out.sum(1) > 0.1).flatten()
    cols = torch.nonzero(out.sum(0) > 0.1).flatten()
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    assert height == 20
    assert 4 <= width <= 6


@pytest.mark.parametrize(
    "blank",
    [
        np.full((200, 200), 255, np.uint8),
        np.zeros((200, 200, 3), np.uint8),
        np.zeros((200, 200, 4), np.uint8),  # fully transparent sketch
        {"background": None, "layers": [], "composite": np.zeros((50, 50, 4), np.uint8)},
        {"background": None, "layers": [], "composite": None},
        None,
    ],
)
def test_blank_canvas_is_an_error_not_a_black_digit(blank):
    with pytest.raises(BlankImageError):
        to_mnist_digit(blank)


def test_rgba_sketch_uses_the_strokes(test_digits):
    digit = test_digits.images[3].numpy()
    big = np.asarray(Image.fromarray(digit).resize((112, 112)))
    rgba = np.zeros((300, 300, 4), np.uint8)
    rgba[10:122, 150:262, 3] = big  # black strokes on a transparent layer
    sketch = {"background": None, "layers": [rgba], "composite": rgba}
    out = to_mnist_digit(sketch)
    assert _corr(out, test_digits.as_float(slice(3, 4))) > 0.75


def test_sixteen_bit_and_grey_with_alpha_inputs(test_digits):
    digit = test_digits.images[0].numpy()
    big = np.asarray(Image.fromarray(digit).resize((56, 56))).astype(np.uint16) * 257
    im16 = Image.fromarray(big)
    assert im16.mode.startswith("I;16")
    assert _corr(to_mnist_digit(im16), test_digits.as_float(slice(0, 1))) > 0.75
    la = Image.fromarray(digit).convert("LA")
    assert _corr(to_mnist_digit(la), test_digits.as_float(slice(0, 1))) > 0.9


def test_huge_image_is_shrunk_first():
    img = np.full((4000, 3000), 255, np.uint8)  # 12 M pixels: under the cap, over MAX_SIDE
    img[800:3200, 1200:1700] = 0
    out = to_mnist_digit(img)
    assert out.shape == (1, 1, 28, 28)
    assert abs(centre_of_mass(out)[1] - 14) < 1


def test_array_over_the_pixel_cap_is_refused_like_a_file():
    from kit.preprocess import MAX_UPLOAD_PIXELS, UnreadableImageError

    img = np.full((6000, 5000), 255, np.uint8)  # 30 M pixels
    assert img.shape[0] * img.shape[1] > MAX_UPLOAD_PIXELS
    with pytest.raises(UnreadableImageError, match="5000x6000 pixels"):
        to_mnist_digit(img)


def test_unusable_arrays_are_value_errors():
    with pytest.raises(ValueError):
        to_mnist_digit(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError):
        to_mnist_digit(np.full((10, 10), np.nan))
