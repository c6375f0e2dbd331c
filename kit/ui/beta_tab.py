"""β comparison tab: one digit through four β-VAEs, their latent traversals, and the trade-off."""

from __future__ import annotations

import gradio as gr

from kit.demos.beta import BETA_MODELS
from kit.demos.registry import get_demo
from kit.ui.links import (
    DemoLink,
    Part,
    anchor_id,
    api_only,
    copy_link_button,
    wire_demo,
    wire_together,
)
from kit.ui.widgets import LATEX, api_numbers, output_image, param_input

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


def build(demo: gr.Blocks) -> list[DemoLink]:
    """The tab's layout and events; returns its demos' links."""
    recon_spec, random_spec = get_demo("beta.reconstruct"), get_demo("beta.random_digit")
    trav_spec = get_demo("beta.traversal")
    gr.Markdown(INTRO, latex_delimiters=LATEX)
    with gr.Row(elem_id=anchor_id(recon_spec.id)):
        with gr.Column(scale=1, min_width=260):
            index = param_input(recon_spec.param("index"))
            digit_class = param_input(random_spec.param("digit_class"))
            with gr.Row():
                show_btn = gr.Button("Compare", variant="primary")
                random_btn = gr.Button("Random digit")
            copy_link_button(recon_spec, {"index": index})
        with gr.Column(scale=4):
            with gr.Row():
                images = {"input": output_image("Input", height=180)}
                for name in BETA_MODELS:
                    images[name] = output_image(name.replace("beta-vae-", "β = "), height=180)
            recon_summary = gr.Markdown()
            recon_numbers = api_numbers()

    with gr.Column(elem_id=anchor_id(trav_spec.id)):
        gr.Markdown(TRAVERSAL_INTRO, latex_delimiters=LATEX)
        with gr.Row():
            which = param_input(trav_spec.param("model"))
            steps = param_input(trav_spec.param("steps"))
            traverse_btn = gr.Button("Traverse", variant="primary")
        trav_inputs = {"index": index, "model": which, "steps": steps}
        copy_link_button(trav_spec, trav_inputs)
        traversal_plot = output_image("Latent traversals", show_label=False)
        traversal_summary = gr.Markdown()
        traversal_numbers = api_numbers()

    with gr.Column(elem_id=anchor_id("beta.rate_distortion")):
        gr.Markdown(METRICS_INTRO, latex_delimiters=LATEX)
        with gr.Row():
            rd_plot = output_image("Rate-distortion", image_mode="RGB", show_label=False, scale=1)
            with gr.Column(scale=1):
                rd_table = gr.Markdown()
        rd_numbers = api_numbers()
        copy_link_button(get_demo("beta.rate_distortion"), {})
    with gr.Column(elem_id=anchor_id("beta.kl_per_dim")):
        kl_plot = output_image("KL per dimension", image_mode="RGB", show_label=False)
        kl_summary = gr.Markdown()
        kl_numbers = api_numbers()
        copy_link_button(get_demo("beta.kl_per_dim"), {})

    # wiring: each main event under its spec's api_name; refreshes stay out of the API
    trav_outputs = {
        "figure": traversal_plot,
        "summary": traversal_summary,
        "numbers": traversal_numbers,
    }
    traversal = wire_demo(
        trav_spec,
        trav_inputs,
        trav_outputs,
        main=traverse_btn.click,
        also=[which.input, steps.release],
        button=traverse_btn,
    )
    # a new digit's traversal follows it in the same event (one round trip, not two); the
    # public endpoints keep their own inputs and outputs
    follow = {"index": index, "model": which, "steps": steps}
    picked = Part(trav_spec, {"model": which, "steps": steps}, trav_outputs, carry=("index",))
    recon_outputs = {**images, "summary": recon_summary, "numbers": recon_numbers}
    reconstruct = api_only(recon_spec, {"index": index}, recon_outputs, button=show_btn)
    wire_together(
        [Part(recon_spec, {"index": index}, recon_outputs), Part(trav_spec, follow, trav_outputs)],
        [show_btn.click, index.submit],
    )
    random_outputs = {**recon_outputs, "index": index}
    random_fixed = {"seed": None}  # the seed stays empty: a fresh random pick every click
    random_digit = api_only(
        random_spec,
        {"digit_class": digit_class},
        random_outputs,
        random_fixed,
        button=random_btn,
        on_open=False,
    )
    wire_together(
        [Part(random_spec, {"digit_class": digit_class}, random_outputs, random_fixed), picked],
        [random_btn.click],
    )
    rates = wire_demo(
        get_demo("beta.rate_distortion"),
        {},
        {"figure": rd_plot, "table": rd_table, "numbers": rd_numbers},
        main=None,
    )
    kl_dims = wire_demo(
        get_demo("beta.kl_per_dim"),
        {},
        {"figure": kl_plot, "summary": kl_summary, "numbers": kl_numbers},
        main=None,
    )
    return [reconstruct, random_digit, traversal, rates, kl_dims]
