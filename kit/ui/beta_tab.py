"""β comparison tab: one digit through four β-VAEs, their latent traversals, and the trade-off."""

from __future__ import annotations

import gradio as gr

from kit.demos.beta import (
    BETA_MODELS,
    STEPS_RANGE,
    TRAVERSAL_CHOICES,
    beta_random_digit,
    beta_reconstruct,
    kl_per_dimension,
    latent_traversal,
    rate_distortion,
)
from kit.ui.errors import named_outputs
from kit.ui.widgets import LATEX, api_numbers, output_image

INTRO = r"""
### β comparison: how much should one nat of code cost?
Four VAEs with 10 latent dimensions were trained on
$\mathbb{E}_q[-\log p(x\mid z)] + \beta\,\mathrm{KL}(q(z\mid x)\,\|\,p(z))$ with
$\beta = 0.5, 1, 4, 10$. Raising $\beta$ makes the code cheaper (lower KL, the *rate*) and the
reconstruction worse (higher BCE, the *distortion*), and switches latent dimensions off: look for
traversal rows that do not change at all.
"""

TRAVERSAL_INTRO = r"""
**Latent traversals.** Encode the digit, then set one dimension $z_j$ to values from $-3$ to $3$
while the others stay at the posterior mean $\mu$. Rows are sorted by that dimension's KL on the
test set; a dimension with $\mathrm{KL}_j < 0.01$ nats is ignored by the decoder.
"""

METRICS_INTRO = r"""
**The trade-off on the whole test set** (from each model's shipped `metrics.json`): each point is
one model's average KL (rate) and reconstruction error (distortion) per test digit, in nats.
"""


# ---- layout and wiring ---------------------------------------------------------------------


def build(demo: gr.Blocks) -> None:
    gr.Markdown(INTRO, latex_delimiters=LATEX)
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            index = gr.Number(
                label="Test digit index (0 to 9999)", value=0, precision=0, minimum=0, maximum=9999
            )
            digit_class = gr.Dropdown(
                ["any", *map(str, range(10))], value="any", label="Digit class for random picks"
            )
            with gr.Row():
                show_btn = gr.Button("Compare", variant="primary")
                random_btn = gr.Button("Random digit")
        with gr.Column(scale=4):
            with gr.Row():
                images = {"input": output_image("Input", height=180)}
                for name in BETA_MODELS:
                    images[name] = output_image(name.replace("beta-vae-", "β = "), height=180)
            recon_summary = gr.Markdown()
            recon_numbers = api_numbers()

    gr.Markdown(TRAVERSAL_INTRO, latex_delimiters=LATEX)
    with gr.Row():
        which = gr.Dropdown(list(TRAVERSAL_CHOICES), value="all", label="Show the traversal of")
        steps = gr.Slider(*STEPS_RANGE, value=9, step=1, label="Steps from −3 to 3")
        traverse_btn = gr.Button("Traverse", variant="primary")
    traversal_plot = output_image("Latent traversals", show_label=False)
    traversal_summary = gr.Markdown()
    traversal_numbers = api_numbers()

    gr.Markdown(METRICS_INTRO, latex_delimiters=LATEX)
    with gr.Row():
        rd_plot = output_image("Rate-distortion", image_mode="RGB", show_label=False, scale=1)
        with gr.Column(scale=1):
            rd_table = gr.Markdown()
    rd_numbers = api_numbers()
    kl_plot = output_image("KL per dimension", image_mode="RGB", show_label=False)
    kl_summary = gr.Markdown()
    kl_numbers = api_numbers()

    # wiring: each main event under the DemoSpec's api_name; refreshes stay out of the API
    fn, outs = named_outputs(
        latent_traversal,
        {"figure": traversal_plot, "summary": traversal_summary, "numbers": traversal_numbers},
    )
    traversal_inputs = [index, which, steps]
    traverse_btn.click(fn, traversal_inputs, outs, api_name="latent_traversal")
    which.input(fn, traversal_inputs, outs, api_visibility="private")
    steps.release(fn, traversal_inputs, outs, api_visibility="private")
    traverse_fn, traverse_outs = fn, outs

    recon_outputs = {**images, "summary": recon_summary, "numbers": recon_numbers}
    fn, outs = named_outputs(beta_reconstruct, recon_outputs)
    show_btn.click(fn, [index], outs, api_name="beta_reconstruct").success(
        traverse_fn, traversal_inputs, traverse_outs, api_visibility="private"
    )
    index.submit(fn, [index], outs, api_visibility="private").success(
        traverse_fn, traversal_inputs, traverse_outs, api_visibility="private"
    )
    demo.load(fn, [index], outs, api_visibility="private")
    demo.load(traverse_fn, traversal_inputs, traverse_outs, api_visibility="private")

    fn, outs = named_outputs(beta_random_digit, {**recon_outputs, "index": index})
    random_btn.click(fn, [digit_class], outs, api_name="beta_random_digit").success(
        traverse_fn, traversal_inputs, traverse_outs, api_visibility="private"
    )

    fn, outs = named_outputs(
        rate_distortion, {"figure": rd_plot, "table": rd_table, "numbers": rd_numbers}
    )
    demo.load(fn, None, outs, api_name="rate_distortion")
    fn, outs = named_outputs(
        kl_per_dimension, {"figure": kl_plot, "summary": kl_summary, "numbers": kl_numbers}
    )
    demo.load(fn, None, outs, api_name="kl_per_dimension")
