"""Pieces every tab builds the same way: LaTeX delimiters, output images, the API-numbers box."""

from __future__ import annotations

import gradio as gr

#: KaTeX delimiters for every ``gr.Markdown`` that holds math: $$display$$ and $inline$
LATEX = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]


def output_image(
    label: str,
    height: int | None = None,
    image_mode: str = "L",
    format: str = "png",
    **kwargs,
) -> gr.Image:
    """A read-only image output for a demo's numpy result (grey unless told otherwise).

    PNG, not Gradio's default WebP: the server encodes every output image on each request, and
    for these flat digit grids and charts PNG is 3-5x faster (a 681 x 681 sample grid: ~16 ms
    against ~60 ms on one core) and lossless, so strokes and text stay crisp.
    """
    return gr.Image(
        label=label,
        type="numpy",
        interactive=False,
        image_mode=image_mode,
        height=height,
        format=format,
        **kwargs,
    )


def api_numbers() -> gr.JSON:
    """A closed accordion showing the demo's "numbers" output, as the API returns it."""
    with gr.Accordion("Numbers (as the API returns them)", open=False):
        return gr.JSON(show_label=False)
