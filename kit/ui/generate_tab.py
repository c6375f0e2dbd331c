"""Generate a digit tab: sample any digit from the conditional VAE, and steer its style by hand."""

from __future__ import annotations

import gradio as gr

from kit.demos.registry import get_demo
from kit.ui.links import (
    DemoLink,
    Part,
    anchor_id,
    copy_link_button,
    wire_demo,
    wire_together,
)
from kit.ui.widgets import LATEX, api_numbers, output_image, param_input, param_inputs

INTRO = r"""
### Generate a digit: the label picks the digit, z picks the handwriting
The conditional VAE decodes a 2-number code $z$ together with the label $y$, so you can ask for
any digit: each sample is $z = T\,\epsilon$ with $\epsilon \sim \mathcal{N}(0, I)$, decoded as
$p(x \mid z, y)$. Compare samples at different temperatures $T$, then decode one $z$ with all ten
labels and watch the same slant and stroke width run through every digit.
"""

STYLE_INTRO = r"""
**Style sliders.** Set $z = (z_1, z_2)$ yourself. The left image is your chosen digit at that
$z$; the row is the same $z$ with every label.
"""


# ---- layout and wiring ---------------------------------------------------------------------


def build(demo: gr.Blocks) -> list[DemoLink]:
    """The tab's layout and events; returns its demos' links."""
    samples_spec = get_demo("generate.samples")
    style_spec = get_demo("generate.same_style")
    sliders_spec = get_demo("generate.style_sliders")
    gr.Markdown(INTRO, latex_delimiters=LATEX)
    with gr.Row(elem_id=anchor_id(samples_spec.id)):
        with gr.Column(scale=1, min_width=280):
            sample_inputs = param_inputs(samples_spec)
            with gr.Row():
                generate_btn = gr.Button("Generate", variant="primary")
                same_style_btn = gr.Button("Same style, every digit")
            copy_link_button(samples_spec, sample_inputs)
        with gr.Column(scale=2):
            samples = output_image("Samples (seed decides ε; same seed, same grid)")
            samples_summary = gr.Markdown(latex_delimiters=LATEX)
            samples_numbers = api_numbers()

    with gr.Column(elem_id=anchor_id(style_spec.id)):
        gr.Markdown("#### Same style, every digit")
        row = output_image("One z, labels 0 to 9")
        row_summary = gr.Markdown(latex_delimiters=LATEX)

    with gr.Column(elem_id=anchor_id(sliders_spec.id)):
        gr.Markdown(STYLE_INTRO, latex_delimiters=LATEX)
        with gr.Row():
            with gr.Column(scale=1, min_width=280):
                z1 = param_input(sliders_spec.param("z1"))
                z2 = param_input(sliders_spec.param("z2"))
                copy_link_button(
                    sliders_spec, {"digit": sample_inputs["digit"], "z1": z1, "z2": z2}
                )
            with gr.Column(scale=1, min_width=240):
                digit_image = output_image("Your digit at (z₁, z₂)", height=224)
    digit, seed, temperature = (sample_inputs[k] for k in ("digit", "seed", "temperature"))

    # wiring: each main event under its spec's api_name; live refreshes stay out of the API
    samples_link = wire_demo(
        samples_spec,
        sample_inputs,
        {"samples": samples, "summary": samples_summary, "numbers": samples_numbers},
        main=generate_btn.click,
        also=[
            sample_inputs["n_samples"].release,
            temperature.release,
            seed.submit,
        ],
        button=generate_btn,
    )
    sliders_link = wire_demo(
        sliders_spec,
        {"digit": digit, "z1": z1, "z2": z2},
        {"digit_image": digit_image, "row": row, "summary": row_summary},
        main=None,
        api_event=z1.input,
        also=[z2.input],  # Gradio 6 sliders send input on drags, keys and typing
    )
    # a new digit redraws the samples and the digit at the sliders' z, in one event
    wire_together(
        [
            Part(samples_spec, sample_inputs, samples_link.outputs),
            Part(sliders_spec, {"digit": digit, "z1": z1, "z2": z2}, sliders_link.outputs),
        ],
        [digit.input],
    )
    style_link = wire_demo(
        style_spec,
        {"seed": seed, "temperature": temperature, "digit": digit},
        # the single digit follows the new z: one event, one round trip
        {"row": row, "z1": z1, "z2": z2, "digit_image": digit_image, "summary": row_summary},
        main=same_style_btn.click,
        button=same_style_btn,
        on_open=False,
    )
    return [samples_link, style_link, sliders_link]
