"""Reconstruction tab: pick a test digit or draw one, and compare AE-32, AE-2 and VAE-2."""

from __future__ import annotations

import gradio as gr

from kit.demos.registry import DEMOS
from kit.preprocess import MAX_UPLOAD_BYTES
from kit.ui.links import DemoLink, anchor_id, copy_link_button, wire_demo
from kit.ui.widgets import LATEX, output_image, param_input

INTRO = r"""
### Reconstruction: how much survives the bottleneck?
Each model squeezes the 784 pixels into a short code and rebuilds the image from it. With 32
numbers (AE-32) the rebuilt digit is close to the original; with only 2 (AE-2, VAE-2) the models
keep the digit's identity and rough shape but lose the details. For the VAE the loss splits into
reconstruction and the KL term $\mathrm{KL}(q(z\mid x)\,\|\,\mathcal{N}(0, I))$, measured in nats.
Add input noise to see what a bottleneck removes, and where it starts guessing a different digit.
"""


# ---- layout and wiring ---------------------------------------------------------------------


def build(demo: gr.Blocks) -> list[DemoLink]:
    """The tab's layout and events; returns its demos' links."""
    specs = {s.id: s for s in DEMOS if s.tab == "reconstruction"}
    test_spec, random_spec = (
        specs["reconstruction.test_digit"],
        specs["reconstruction.random_digit"],
    )
    # The tab a visitor lands on shows its defaults' result from the start: it is in the page's
    # config (Gradio keeps an initial value's files in its cache), so a visit shows this tab
    # without waiting for an event to compute it.
    first = test_spec.run()
    gr.Markdown(INTRO, latex_delimiters=LATEX)
    with gr.Row(elem_id=anchor_id(test_spec.id)):
        with gr.Column(scale=1, min_width=300):
            with gr.Tabs() as sources:
                with gr.Tab("Test digit", id="test_digit"):
                    index = param_input(test_spec.param("index"))
                    digit_class = param_input(random_spec.param("digit_class"))
                    with gr.Row():
                        show_btn = gr.Button("Reconstruct", variant="primary")
                        random_btn = gr.Button("Random digit")
                with gr.Tab("Draw", id="draw"):
                    sketch = gr.Sketchpad(
                        label="Pick the brush, then draw",
                        type="numpy",
                        image_mode="RGBA",
                        canvas_size=(280, 280),
                        brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                    )
                    draw_btn = gr.Button("Reconstruct my drawing", variant="primary")
                with gr.Tab("Upload", id="upload"):
                    upload = gr.File(
                        label=f"An image of one digit (PNG, JPEG, GIF, BMP, WebP; up to "
                        f"{MAX_UPLOAD_BYTES // 2**20} MB)",
                        file_count="single",
                        file_types=["image"],
                        type="filepath",
                    )
                    upload_btn = gr.Button("Reconstruct my image", variant="primary")
            noise = param_input(test_spec.param("noise"))
            copy_link_button(test_spec, {"index": index, "noise": noise})
        with gr.Column(scale=2):
            with gr.Row():
                images = {
                    key: output_image(label, height=200, value=first[key])
                    for key, label in [
                        ("input", "Input (28×28)"),
                        ("ae-32", "AE-32"),
                        ("ae-2", "AE-2"),
                        ("vae-2", "VAE-2 (mean z)"),
                    ]
                }
            summary = gr.Markdown(first["summary"])

    outputs = {**images, "summary": summary}
    test_digit = wire_demo(
        test_spec,
        {"index": index, "noise": noise},
        outputs,
        main=show_btn.click,
        also=[index.submit],
        subtab=(sources, "test_digit"),
        button=show_btn,
        on_open=False,  # already shown: ``first`` above
    )
    random_digit = wire_demo(
        random_spec,
        {"digit_class": digit_class, "noise": noise},
        {**outputs, "index": index},
        main=random_btn.click,
        fixed={"seed": None},  # a fresh random pick every click
        subtab=(sources, "test_digit"),
        button=random_btn,
        on_open=False,
    )
    drawing = wire_demo(
        specs["reconstruction.drawing"],
        {"sketch": sketch, "noise": noise},
        outputs,
        main=draw_btn.click,
        subtab=(sources, "draw"),
        button=draw_btn,
        on_open=False,
    )
    uploaded = wire_demo(
        specs["reconstruction.upload"],
        {"path": upload, "noise": noise},
        outputs,
        main=upload_btn.click,
        subtab=(sources, "upload"),
        button=upload_btn,
        on_open=False,
    )
    return [test_digit, random_digit, drawing, uploaded]
