"""Generate a digit tab: sample any digit from the conditional VAE, and steer its style by hand."""

from __future__ import annotations

import gradio as gr

from kit.demos.generate import (
    DIGITS,
    MAX_SAMPLES,
    STYLE_RANGE,
    TEMPERATURE_RANGE,
    generate_digits,
    same_style_all_digits,
    style_sliders,
)
from kit.ui.errors import named_outputs
from kit.ui.widgets import LATEX, api_numbers, output_image

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


def _digit_only(digit, z1, z2) -> dict:
    """Just the chosen digit at (z1, z2), to follow the sliders after "Same style"."""
    return {"digit_image": style_sliders(digit, z1, z2)["digit_image"]}


# ---- layout and wiring ---------------------------------------------------------------------


def build(demo: gr.Blocks) -> None:
    gr.Markdown(INTRO, latex_delimiters=LATEX)
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            digit = gr.Dropdown([str(d) for d in DIGITS], value="7", label="Digit to draw")
            n_samples = gr.Slider(1, MAX_SAMPLES, value=16, step=1, label="Number of samples")
            temperature = gr.Slider(
                *TEMPERATURE_RANGE, value=1.0, step=0.05, label="Temperature T (z = T · ε)"
            )
            seed = gr.Number(value=0, precision=0, minimum=0, label="Seed")
            with gr.Row():
                generate_btn = gr.Button("Generate", variant="primary")
                same_style_btn = gr.Button("Same style, every digit")
        with gr.Column(scale=2):
            samples = output_image("Samples (seed decides ε; same seed, same grid)")
            samples_summary = gr.Markdown(latex_delimiters=LATEX)
            samples_numbers = api_numbers()

    gr.Markdown("#### Same style, every digit")
    row = output_image("One z, labels 0 to 9")
    row_summary = gr.Markdown(latex_delimiters=LATEX)

    gr.Markdown(STYLE_INTRO, latex_delimiters=LATEX)
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            z1 = gr.Slider(*STYLE_RANGE, value=0.0, step=0.05, label="z₁")
            z2 = gr.Slider(*STYLE_RANGE, value=0.0, step=0.05, label="z₂")
        with gr.Column(scale=1, min_width=240):
            digit_image = output_image("Your digit at (z₁, z₂)", height=224)

    # wiring: each main event under the DemoSpec's api_name; live refreshes stay out of the API
    fn, outs = named_outputs(
        generate_digits,
        {"samples": samples, "summary": samples_summary, "numbers": samples_numbers},
    )
    sample_inputs = [digit, n_samples, temperature, seed]
    generate_btn.click(fn, sample_inputs, outs, api_name="generate_digits")
    for trigger in (digit.input, n_samples.release, temperature.release, seed.submit):
        trigger(fn, sample_inputs, outs, api_visibility="private")
    demo.load(fn, sample_inputs, outs, api_visibility="private")

    sliders_fn, sliders_outs = named_outputs(
        style_sliders, {"digit_image": digit_image, "row": row, "summary": row_summary}
    )
    fn, outs = named_outputs(
        same_style_all_digits, {"row": row, "z1": z1, "z2": z2, "summary": row_summary}
    )
    digit_fn, digit_outs = named_outputs(_digit_only, {"digit_image": digit_image})
    same_style_btn.click(fn, [seed, temperature], outs, api_name="same_style_all_digits").success(
        digit_fn, [digit, z1, z2], digit_outs, api_visibility="private"
    )  # the single digit follows the new z; the row and its caption stay the same-style ones

    slider_inputs = [digit, z1, z2]
    z1.input(sliders_fn, slider_inputs, sliders_outs, api_name="style_sliders")
    z2.input(sliders_fn, slider_inputs, sliders_outs, api_visibility="private")
    digit.input(sliders_fn, slider_inputs, sliders_outs, api_visibility="private")
    demo.load(sliders_fn, slider_inputs, sliders_outs, api_visibility="private")
