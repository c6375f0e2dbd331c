"""Turn a user's drawing or upload into an MNIST-like digit, the way MNIST itself was made.

MNIST digits were size-normalised to fit a 20x20 box (aspect ratio kept) and then placed in a
28x28 field so that their centre of mass sits at the centre. This module repeats those steps on
any image: any size; grey, RGB or RGBA; 8 or 16 bit; dark ink on a light background or the
reverse; or the dict a Gradio sketchpad sends.

    1. to an "ink" map in [0, 1]: alpha where the image is transparent, else grey levels, inverted
       when the border (the background) is light;
    2. crop to the ink's bounding box;
    3. resize so the longer side is 20 px;
    4. paste into 28x28 so the centre of mass lands on pixel (14, 14), as in MNIST.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

BOX = 20  # the digit's longer side after resizing (MNIST: 20)
SIZE = 28  # output field (MNIST: 28)
INK_THRESHOLD = 0.1  # fraction of the strongest ink that counts as ink when cropping
MAX_SIDE = 2048  # larger inputs are shrunk first so a huge upload cannot stall the server
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # an uploaded image file may be at most 5 MiB
MAX_UPLOAD_PIXELS = 4096 * 4096  # and at most ~16.8 million pixels (checked before decoding)


class BlankImageError(ValueError):
    """The image holds no ink: nothing to turn into a digit."""


class UnreadableImageError(ValueError):
    """An uploaded file that is not an image we can safely decode; the message says why."""


MAX_FRAMES = 1  # animated images are refused: only a still digit makes sense here


def _open_checked(source, name: str) -> Image.Image:
    """Open ``source`` (a path or bytes) lazily after the byte checks; check the header's pixel
    count and frame count; nothing is decoded yet. Raises ``UnreadableImageError``."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        size, head, stream = len(data), data[:512], io.BytesIO(data)
    else:
        try:
            size = os.path.getsize(source)
            with open(source, "rb") as f:
                head = f.read(512)
        except (OSError, TypeError, ValueError):
            raise UnreadableImageError(
                "the uploaded file could not be found; upload it again"
            ) from None
        stream = source
    if size == 0:
        raise UnreadableImageError(f"{name} is empty (0 bytes)")
    if size > MAX_UPLOAD_BYTES:
        raise UnreadableImageError(
            f"{name} is {size / 2**20:.1f} MiB; images up to {MAX_UPLOAD_BYTES // 2**20} MiB are accepted"
        )
    head = head.lstrip().lower()
    if name.lower().endswith((".svg", ".svgz")) or head.startswith((b"<?xml", b"<svg")):
        raise UnreadableImageError(
            f"{name} is an SVG (vector) image; export it as PNG or JPEG and upload that"
        )
    try:
        with warnings.catch_warnings():  # the pixel cap below is stricter than Pillow's warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(stream)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        raise UnreadableImageError(
            f"{name} is not an image this app can read; use PNG, JPEG, GIF, BMP or WebP"
        ) from None
    w, h = image.size
    if w * h > MAX_UPLOAD_PIXELS:
        image.close()
        raise UnreadableImageError(
            f"{name} is {w}x{h} pixels; images up to {MAX_UPLOAD_PIXELS:,} pixels "
            "(e.g. 4096x4096) are accepted, so please shrink it first"
        )
    frames = getattr(image, "n_frames", 1) if image.format in ("PNG", "WEBP", "TIFF") else 1
    if frames > MAX_FRAMES or (image.format == "GIF" and getattr(image, "is_animated", False)):
        image.close()
        raise UnreadableImageError(
            f"{name} is an animated image; save one frame as PNG and upload that"
        )
    return image


def check_image_file(source) -> None:
    """Refuse an image over the caps from its header alone (bytes, SVG, format, pixels, frames).

    ``source``: a path or the bytes of a file. The one check every image input passes before
    anything decodes it: uploads (``load_image_file``), the sketchpad's composite, layers and
    background, and file references sent through the API (``kit.ui.server.check_inputs``).
    Raises ``UnreadableImageError`` with the sentence to show.
    """
    name = "the image" if isinstance(source, (bytes, bytearray, memoryview)) else None
    _open_checked(source, name or os.path.basename(str(source))).close()


def load_image_file(path: str | os.PathLike) -> Image.Image:
    """Open an uploaded image file defensively and return it decoded.

    Checks, in order and before any pixel is decoded where possible: the file exists and is at
    most ``MAX_UPLOAD_BYTES``; it is not SVG (a vector format, and a script carrier); Pillow
    recognises it; its header says at most ``MAX_UPLOAD_PIXELS`` pixels (a decompression bomb
    is refused before it expands) and one frame; the pixel data is complete. Raises
    ``UnreadableImageError``.
    """
    name = os.path.basename(str(path))
    image = _open_checked(path, name)
    try:
        image.load()  # decode now, so a truncated file fails here with a clear message
        image = ImageOps.exif_transpose(image)  # phone photos: honour the rotation flag
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise UnreadableImageError(
            f"{name} is damaged or truncated and could not be decoded"
        ) from None
    return image


def check_pixels(arr: np.ndarray) -> None:
    """An already decoded image (e.g. a sketchpad array from a Python caller) within the cap."""
    h, w = arr.shape[:2]
    if h * w > MAX_UPLOAD_PIXELS:
        raise UnreadableImageError(
            f"the image is {w}x{h} pixels; images up to {MAX_UPLOAD_PIXELS:,} pixels are accepted"
        )


def _from_sketch(value: dict) -> Any:
    """A Gradio ImageEditor/Sketchpad value: use its composite, else background + layers."""
    composite = value.get("composite")
    if composite is not None:
        return composite
    layers = [v for v in value.get("layers") or [] if v is not None]
    if layers:
        return layers[-1]
    if value.get("background") is not None:
        return value["background"]
    raise BlankImageError("the sketchpad is empty: draw a digit first")


def _to_float_array(image: Any) -> np.ndarray:
    """Any supported input -> float array (H, W) or (H, W, C) scaled to [0, 1]."""
    if isinstance(image, dict):
        image = _from_sketch(image)
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    if isinstance(image, Image.Image):
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(image, dtype=np.float64)
            return arr / (65535.0 if arr.max() > 255 else 255.0)
        if image.mode not in ("L", "LA", "RGB", "RGBA"):
            image = image.convert("RGBA")
        image = np.asarray(image)
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise ValueError(f"expected an image array of shape (H, W) or (H, W, C), got {arr.shape}")
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4):
        arr = np.moveaxis(arr, 0, -1)  # channels-first -> channels-last
    check_pixels(arr)
    if arr.dtype == np.uint8:
        return arr.astype(np.float64) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float64) / 65535.0
    if arr.dtype == np.bool_:
        return arr.astype(np.float64)
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError("the image contains NaN or infinite values")
    return arr / 255.0 if arr.max() > 1.0 else arr


def ink_map(image: Any) -> np.ndarray:
    """Ink strength in [0, 1], shape (H, W): 1 where the pen was, 0 on the background."""
    arr = _to_float_array(image)
    if arr.ndim == 3 and arr.shape[-1] in (2, 4):  # grey+alpha or RGBA
        alpha = arr[..., -1]
        if alpha.min() < 0.99:  # transparent background: the strokes are where alpha is
            return np.clip(alpha, 0.0, 1.0)
        arr = arr[..., :-1]
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    grey = arr if arr.ndim == 2 else arr[..., :3] @ np.array([0.299, 0.587, 0.114])  # luminance
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    ink = background - grey if background > 0.5 else grey - background  # light bg: dark ink
    return np.clip(ink, 0.0, 1.0)


def _shrink(ink: np.ndarray) -> np.ndarray:
    h, w = ink.shape
    if max(h, w) <= MAX_SIDE:
        return ink
    scale = MAX_SIDE / max(h, w)
    img = Image.fromarray(ink.astype(np.float32))
    return np.asarray(
        img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
    )


def to_mnist_digit(image: Any) -> torch.Tensor:
    """An image of one digit -> float tensor (1, 1, 28, 28) in [0, 1], MNIST-style.

    Raises ``BlankImageError`` when there is no ink, ``ValueError`` for an unusable array.
    """
    if image is None:
        raise BlankImageError("no image was given: draw or upload a digit first")
    return ink_to_mnist(_shrink(ink_map(image)))


def ink_to_mnist(ink: np.ndarray) -> torch.Tensor:
    """An ink map (H, W) in [0, 1] (1: the pen) -> (1, 1, 28, 28), MNIST-style: steps 2-4.

    Raises ``BlankImageError`` when there is no ink.
    """
    ink = np.asarray(ink, dtype=np.float64)
    peak = float(ink.max())
    if peak < 0.05:  # a few faint pixels are noise, not a digit
        raise BlankImageError("the image is blank: no pen strokes were found")
    ink = ink / peak
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # bounding box of the ink
    h, w = crop.shape
    scale = BOX / max(h, w)  # longer side -> 20 px, aspect ratio kept
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    small = Image.fromarray(crop.astype(np.float32)).resize((new_w, new_h), Image.LANCZOS)
    small = np.clip(np.asarray(small), 0.0, 1.0)
    total = small.sum()
    ys, xs = np.indices(small.shape)
    com_y, com_x = (ys * small).sum() / total, (xs * small).sum() / total  # centre of mass
    centre = SIZE / 2  # MNIST's digits have their centre of mass at pixel (14, 14)
    top = int(np.clip(round(centre - com_y), 0, SIZE - new_h))
    left = int(np.clip(round(centre - com_x), 0, SIZE - new_w))
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    out[top : top + new_h, left : left + new_w] = small
    return torch.from_numpy(out).view(1, 1, SIZE, SIZE)
