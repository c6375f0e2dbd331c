"""Reconstruction tab: pick a test digit or draw one, and compare AE-32, AE-2 and VAE-2."""

from __future__ import annotations

import gradio as gr

from kit.demos.reconstruction import (
    NOISE_RANGE,
    show_drawing,
    show_random_digit,
    show_test_digit,
    show_upload,
)
from kit.preprocess import MAX_UPLOAD_BYTES
from kit.ui.errors import named_outputs
from kit.ui.widgets import output_image

INTRO = r"""
### Reconstruction: how much survives the bottleneck?
Each model squeezes the 784 pixels into a short code and rebuilds the image from it. With 32
numbers (AE-32) the rebuilt digit is close to the original; with only 2 (AE-2, VAE-2) the models
keep the digit's identity and rough shape but lose the details. For the VAE the loss splits into
reconstruction and the KL term $\mathrm{KL}(q(z\mid x)\,\|\,\mathcal{N}(0, I))$, measured in nats.
Add input noise to see what a bottleneck removes, and where it starts guessing a different digit.
"""


# ---- layout and wiring ---------------------------------------------------------------------


def build(demo: gr.Blocks) -> None:
    gr.Markdown(INTRO, latex_delimiters=[{"left": "$", "right": "$", "display": False}])
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            with gr.Tab("Test digit"):
                index = gr.Number(
                    label="Test digit index (0 to 9999)",
                    value=0,
                    precision=0,
                    minimum=0,
                    maximum=9999,
                )
                digit_class = gr.Dropdown(
                    ["any", *map(str, range(10))], value="any", label="Digit class for random picks"
                )
                with gr.Row():
                    show_btn = gr.Button("Reconstruct", variant="primary")
                    random_btn = gr.Button("Random digit")
            with gr.Tab("Draw"):
                sketch = gr.Sketchpad(
                    label="Pick the brush, then draw",
                    type="numpy",
                    image_mode="RGBA",
                    canvas_size=(280, 280),
                    brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                )
                draw_btn = gr.Button("Reconstruct my drawing", variant="primary")
            with gr.Tab("Upload"):
                upload = gr.File(
                    label=f"An image of one digit (PNG, JPEG, GIF, BMP, WebP; up to "
                    f"{MAX_UPLOAD_BYTES // 2**20} MB)",
                    file_count="single",
                    file_types=["image"],
                    type="filepath",
                )
                upload_btn = gr.Button("Reconstruct my image", variant="primary")
            noise = gr.Slider(
                *NOISE_RANGE,
                value=0.0,
                step=0.05,
                label="Input noise (std of Gaussian noise added to the pixels)",
            )
        with gr.Column(scale=2):
            with gr.Row():
                images = {
                    key: output_image(label, height=200)
                    for key, label in [
                        ("input", "Input (28×28)"),
                        ("ae-32", "AE-32"),
                        ("ae-2", "AE-2"),
                        ("vae-2", "VAE-2 (mean z)"),
                    ]
                }
            summary = gr.Markdown()

    outputs = {**images, "summary": summary}

    fn, outs = named_outputs(show_test_digit, outputs)
    # show_progress="hidden": on a bad input the toast explains, and earlier outputs stay visible
    quiet = {"show_progress": "hidden"}
    show_btn.click(fn, [index, noise], outs, api_name="reconstruct_test_digit", **quiet)
    index.submit(fn, [index, noise], outs, api_visibility="private", **quiet)
    demo.load(fn, [index, noise], outs, api_visibility="private", **quiet)

    def random_digit(digit_class, noise):  # a fresh random pick every click (no seed)
        return show_random_digit(digit_class, None, noise)

    fn, outs = named_outputs(random_digit, {**outputs, "index": index})
    random_btn.click(fn, [digit_class, noise], outs, api_name="random_test_digit", **quiet)
    fn, outs = named_outputs(show_drawing, outputs)
    draw_btn.click(fn, [sketch, noise], outs, api_name="reconstruct_drawing", **quiet)
    fn, outs = named_outputs(show_upload, outputs)
    upload_btn.click(fn, [upload, noise], outs, api_name="reconstruct_upload", **quiet)
