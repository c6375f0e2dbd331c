"""Latent space tab: the test digits in the AE-2 and VAE-2 planes, the decoded VAE plane, a
clickable map that decodes any point, and straight-line walks between two digits."""

from __future__ import annotations

import gradio as gr

from kit.demos.latent import MAP_EXTENT, Z_LIMIT, decode_pixel
from kit.demos.registry import DEMOS
from kit.ui import encoder_view
from kit.ui.errors import user_errors
from kit.ui.links import QUIET, DemoLink, anchor_id, copy_link_button, wire_demo
from kit.ui.widgets import LATEX, api_numbers, output_image, param_inputs

INTRO = r"""
### Latent space: where do the digits land?
AE-2 and VAE-2 both turn a digit into a point $z = (z_1, z_2)$. Nothing in the autoencoder's loss
says where its codes should go, so they spread unevenly, with gaps and an arbitrary scale; the
VAE's KL term pulls each code towards the prior $\mathcal{N}(0, I)$, so its codes form one filled
cloud around 0. Click the map to decode any point, and walk a straight line between two digits.
"""

SCATTER_INTRO = r"""
#### 1 · The 10,000 test digits in each plane
Each dot is one test digit (the VAE's is its posterior mean $\mu(x)$), coloured by its label.
Dashed circles: $|z| = 1, 2, 3$, which hold 39%, 86% and 99% of $\mathcal{N}(0, I)$. Compare the
axis scales.
"""

GRID_INTRO = r"""
#### 2 · The VAE plane, decoded
Each cell is VAE-2's decoder applied to one point of an $n \times n$ lattice over $[-r, r]^2$,
laid out like a plot ($z_1$ grows to the right, $z_2$ upwards). Raise $r$ past 3 to see what lies
outside the prior's bulk.
"""

POINT_INTRO = rf"""
#### 3 · Click the map to decode a point
The map shows the VAE-2 codes on $[-{MAP_EXTENT:g}, {MAP_EXTENT:g}]^2$ (faint lines one unit
apart). Click anywhere, or type $z_1, z_2$ (from $-{Z_LIMIT:g}$ to ${Z_LIMIT:g}$).
"""

PATH_INTRO = r"""
#### 4 · Walk between two test digits
Both models decode $z(t) = (1 - t)\,z_a + t\,z_b$ for evenly spaced $t$. The **jump ratio** is
the largest frame-to-frame change divided by the change from first to last frame split evenly
over the steps: 1 is a perfectly even morph; a large value means the picture changes mostly in
one abrupt step, as when the line crosses a gap or another digit's region.
"""


# ---- layout and wiring ---------------------------------------------------------------------


def build(demo: gr.Blocks) -> list[DemoLink]:
    """The tab's layout and events; returns its demos' links."""
    specs = {s.id: s for s in DEMOS if s.tab == "latent"}
    gr.Markdown(INTRO, latex_delimiters=LATEX)

    with gr.Column(elem_id=anchor_id("latent.scatter")):
        gr.Markdown(SCATTER_INTRO, latex_delimiters=LATEX)
        scatter_plot = output_image(
            "AE-2 and VAE-2 codes of the test digits", image_mode="RGB", show_label=False
        )
        scatter_summary = gr.Markdown(latex_delimiters=LATEX)
        scatter_numbers = api_numbers()
        copy_link_button(specs["latent.scatter"], {})

    grid_spec = specs["latent.grid"]
    with gr.Column(elem_id=anchor_id(grid_spec.id)):
        gr.Markdown(GRID_INTRO, latex_delimiters=LATEX)
        with gr.Row():
            with gr.Column(scale=1, min_width=260):
                grid_inputs = param_inputs(grid_spec)
                grid_btn = gr.Button("Decode the grid", variant="primary")
                copy_link_button(grid_spec, grid_inputs)
                grid_summary = gr.Markdown(latex_delimiters=LATEX)
                grid_numbers = api_numbers()
            with gr.Column(scale=3):
                grid_image = output_image("VAE-2 decoder over the lattice")

    point_spec = specs["latent.decode_point"]
    with gr.Column(elem_id=anchor_id(point_spec.id)):
        gr.Markdown(POINT_INTRO, latex_delimiters=LATEX)
        with gr.Row():
            with gr.Column(scale=3):
                point_map = output_image(
                    "VAE-2 codes of the test digits: click a point", image_mode="RGB", format="png"
                )
            with gr.Column(scale=2, min_width=280):
                with gr.Row():
                    point_inputs = param_inputs(point_spec)
                decode_btn = gr.Button("Decode", variant="primary")
                copy_link_button(point_spec, point_inputs)
                point_digit = output_image("Decoded digit (28×28)", height=280)
                point_summary = gr.Markdown(latex_delimiters=LATEX)
                point_numbers = api_numbers()

    path_spec = specs["latent.interpolate"]
    with gr.Column(elem_id=anchor_id(path_spec.id)):
        gr.Markdown(PATH_INTRO, latex_delimiters=LATEX)
        with gr.Row():
            with gr.Column(scale=1, min_width=260):
                path_inputs = param_inputs(path_spec)
                path_btn = gr.Button("Interpolate", variant="primary")
                copy_link_button(path_spec, path_inputs)
                with gr.Row():
                    input_a = output_image("Digit a", height=112, min_width=100)
                    input_b = output_image("Digit b", height=112, min_width=100)
            with gr.Column(scale=3):
                gr.Markdown("**AE-2**: the straight line between the two codes, decoded")
                ae_path = output_image("AE-2 path", show_label=False)
                gr.Markdown("**VAE-2**: the straight line between the two posterior means, decoded")
                vae_path = output_image("VAE-2 path", show_label=False)
                path_summary = gr.Markdown(latex_delimiters=LATEX)
                path_numbers = api_numbers()

    # wiring: each main event under its spec's api_name; refreshes stay out of the API
    scatter = wire_demo(
        specs["latent.scatter"],
        {},
        {"figure": scatter_plot, "summary": scatter_summary, "numbers": scatter_numbers},
        main=None,
    )
    grid = wire_demo(
        grid_spec,
        grid_inputs,
        {"grid": grid_image, "summary": grid_summary, "numbers": grid_numbers},
        main=grid_btn.click,
        also=[w.release for w in grid_inputs.values()],
        button=grid_btn,
    )
    point_outputs = {
        "digit": point_digit,
        "map": point_map,
        "summary": point_summary,
        "numbers": point_numbers,
    }
    point = wire_demo(
        point_spec,
        point_inputs,
        point_outputs,
        main=decode_btn.click,
        also=[w.submit for w in point_inputs.values()],
        button=decode_btn,
    )
    click_outputs = {**point_outputs, **point_inputs}

    @user_errors
    def decode_click(evt: gr.SelectData) -> dict:
        """The clicked map pixel (SelectData.index = [column, row]) decoded."""
        where = evt.index if isinstance(evt.index, (list, tuple)) else (None, None)
        return {click_outputs[k]: v for k, v in decode_pixel(*where[:2]).items()}

    point_map.select(
        decode_click, None, list(click_outputs.values()), api_visibility="private", **QUIET
    )

    path = wire_demo(
        path_spec,
        path_inputs,
        {
            "input_a": input_a,
            "input_b": input_b,
            "ae_path": ae_path,
            "vae_path": vae_path,
            "summary": path_summary,
            "numbers": path_numbers,
        },
        main=path_btn.click,
        also=[
            path_inputs["index_a"].submit,
            path_inputs["index_b"].submit,
            path_inputs["steps"].release,
        ],
        button=path_btn,
    )
    encoder_links = encoder_view.build(demo)  # sections 5 and 6, laid out and wired there
    return [scatter, grid, point, path, *encoder_links]
