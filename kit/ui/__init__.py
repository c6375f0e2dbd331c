"""Gradio layer: one builder module per tab, plus ``build_app`` that assembles them."""

from __future__ import annotations

import gradio as gr

from kit.demos.registry import all_demos
from kit.ui import (
    beta_tab,
    drills_tab,
    generate_tab,
    latent_tab,
    quiz_tab,
    reconstruction_tab,
    train_live_tab,
    under_the_hood_tab,
)
from kit.ui.server import DELETE_CACHE, share_model_concurrency

TITLE = "Latent Lab: autoencoders and VAEs on MNIST"

INTRO = """# Latent Lab
Autoencoders and variational autoencoders on MNIST, live. Every model here was trained by this
project's own CLI on the real MNIST training set and runs on the CPU in a few milliseconds.
Preparing for an interview? The **Quiz** tab asks the questions, and every answer comes with
a button that runs the demo proving it.
"""

#: (tab id, tab label, builder); the ids are stable: question files and links name them
TABS = (
    ("reconstruction", "Reconstruction", reconstruction_tab.build),
    ("latent", "Latent space", latent_tab.build),
    ("generate", "Generate a digit", generate_tab.build),
    ("beta", "β comparison", beta_tab.build),
    ("under_the_hood", "Under the hood", under_the_hood_tab.build),
    ("train_live", "Train live", train_live_tab.build),
    ("drills", "Code drills", drills_tab.build),
)

#: events that are public endpoints without being registry demos, each a deliberate API
EXTRA_PUBLIC_API = ("grade_drill",)  # the Code drills grader (kit/ui/drills_tab.py)


def build_app() -> gr.Blocks:
    """The whole app as a ``gr.Blocks``; models load lazily on the first request."""
    with gr.Blocks(title=TITLE, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(INTRO)
        progress = quiz_tab.progress_store()  # top level: mounted (and read) at page load
        with gr.Tabs() as tabs:
            for tab_id, label, build in TABS:
                with gr.Tab(label, id=tab_id):
                    build(demo)
            with gr.Tab("Quiz", id="quiz"):  # last: its "Run the demo" links into the tabs above
                quiz_tab.build(demo, tabs, progress)
        _only_registered_demos_in_the_api(demo)
        share_model_concurrency(demo)
    return demo


def _only_registered_demos_in_the_api(demo: gr.Blocks) -> None:
    """Keep the public API to the registered demos' api_names; every other event (slider
    drags, stop buttons, helper updates) stays callable by the page but is not an endpoint."""
    public = {spec.api_name for spec in all_demos().values()} | set(EXTRA_PUBLIC_API)
    for fn in demo.fns.values():
        if fn.api_name not in public:
            fn.api_visibility = "private"
