"""Your own checkpoint (a section of Under the hood): upload a checkpoint (folder or zip) and see it diagnosed on the test digits.

The reading and the checks are ``kit.checkpoint_upload``; the measurements ``kit.diagnose``.
This module is only layout and one private event (not a public API endpoint: uploads of
weights stay a page feature).
"""

from __future__ import annotations

import gradio as gr

from kit.diagnose import EXACT_LOG_PX_DIGITS, Diagnosis, diagnose, summary_markdown
from kit.ui.errors import user_errors
from kit.ui.links import QUIET
from kit.ui.widgets import LATEX, output_image

INTRO = rf"""
### Your own checkpoint, diagnosed
Trained a model with `python -m kit.train` (or your own code with the kit's classes)? Upload its
folder, or a zip of it, holding `config.json` and `model.safetensors`. It is measured on the
10,000 bundled test digits, beside the shipped model of the same shape: the test $-$ELBO split
into reconstruction and KL, the KL of each latent dimension (a dimension under 0.01 nats is
collapsed), reconstructions, samples from the prior, and where $d = 2$ the latent map (and the
exact $\log p(x)$ on the first {EXACT_LOG_PX_DIGITS} digits where the kit can compute it).

Only safetensors weights are read, never a pickle; files are checked for size, shape and
config before anything is loaded. Nothing you upload is kept.
"""


def _outputs(result: Diagnosis) -> dict:
    """The diagnosis as named values for the components below."""
    a, b = result.upload, result.shipped
    return {
        "summary": summary_markdown(result),
        "recon_mine": a.reconstructions,
        "recon_shipped": b.reconstructions if b else None,
        "samples_mine": a.samples,
        "samples_shipped": b.samples if b else None,
        "scatter": result.scatter,
    }


SECTION = "5 · Your own checkpoint, diagnosed"


def build_section() -> None:
    """The section's accordion, layout and its one private event (no registered demo)."""
    with gr.Accordion(SECTION, open=False, elem_id="checkpoint-section"):
        _build()


def _build() -> None:
    gr.Markdown(INTRO, latex_delimiters=LATEX)
    with gr.Row():
        folder = gr.File(
            label="A checkpoint folder",
            file_count="directory",
            elem_id="checkpoint-folder",
        )
        files = gr.File(
            label="…or a .zip, or config.json and model.safetensors",
            file_count="multiple",
            file_types=[".zip", ".json", ".safetensors"],
            elem_id="checkpoint-files",
        )
    go = gr.Button("Diagnose", variant="primary", elem_id="checkpoint-go")
    out = {"summary": gr.Markdown(latex_delimiters=LATEX, elem_id="checkpoint-summary")}
    with gr.Row():
        out["recon_mine"] = output_image("Test digits (top) and your model's reconstructions")
        out["recon_shipped"] = output_image("…and the shipped model's")
    with gr.Row():
        out["samples_mine"] = output_image("Your model: samples z ~ N(0, I)")
        out["samples_shipped"] = output_image("The shipped model: the same z")
    out["scatter"] = output_image(
        "Your model's test codes (d = 2), coloured by digit, on [-4, 4]²", image_mode="RGB"
    )

    @user_errors
    def run(folder_files, picked_files):
        upload = folder_files or picked_files
        result = _outputs(diagnose(upload))
        return {out[k]: v for k, v in result.items()}

    go.click(run, [folder, files], list(out.values()), api_visibility="private", **QUIET)
