"""Gradio layer: one builder module per tab, plus ``build_app`` that assembles them."""

from __future__ import annotations

import gradio as gr

from kit.ui import reconstruction_tab

TITLE = "Latent Lab: autoencoders and VAEs on MNIST"

INTRO = """# Latent Lab
Autoencoders and variational autoencoders on MNIST, live. Every model here was trained by this
project's own CLI on the real MNIST training set and runs on the CPU in a few milliseconds.
"""


def build_app() -> gr.Blocks:
    """The whole app as a ``gr.Blocks``; models load lazily on the first request."""
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab("Reconstruction", id="reconstruction"):
                reconstruction_tab.build(demo)
    return demo
