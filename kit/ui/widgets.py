"""Pieces every tab builds the same way: LaTeX delimiters, output images, the API-numbers box,
and the input widget of a demo parameter, built from its spec."""

from __future__ import annotations

import gradio as gr

from kit.demos.spec import MAX_TEXT, DemoSpec, Param

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


def _with_help(widget, p: Param):
    """``widget`` whose API schema carries the parameter's label, range and help, which
    ``view_api()`` prints next to the parameter (Gradio reads ``api_info_as_input``)."""
    plain = widget.api_info_as_input
    text = f"{p.label}: {p.accepts()}. {p.help}".strip()
    widget.api_info_as_input = lambda: {**plain(), "additional_description": text}
    return widget


def _number_menu(widget):
    """A menu of numbers: its choices are text, and a client may send 7 or "7" (both mean 7;
    the spec turns the text back into a number)."""
    plain = widget.preprocess

    def preprocess(payload):
        if isinstance(payload, (int, float)) and not isinstance(payload, bool):
            payload = str(int(payload)) if float(payload).is_integer() else str(payload)
        return plain(payload)

    widget.preprocess = preprocess
    return widget


def param_input(p: Param, **overrides) -> gr.components.Component:
    """The input widget for one demo parameter, built from its spec (label, range, default).

    Numbers with both bounds become sliders unless the spec asks for a box (``control="number"``);
    an int with ``choices`` becomes a menu whose values are ints, so a preset of 7 and the menu's
    "7" are the same value; choices become a dropdown or radio.
    """
    common = {"label": p.label, "info": p.help or None, "value": p.default}
    if p.kind in ("int", "float") and p.choices:
        common["value"] = p.widget_value(p.default)
        choices = [str(c) for c in p.choices]  # text; the spec turns "7" back into 7
        return _with_help(_number_menu(gr.Dropdown(choices, **{**common, **overrides})), p)
    if p.kind in ("int", "float"):
        step = p.step if p.step is not None else (1 if p.kind == "int" else None)
        bounded = p.minimum is not None and p.maximum is not None
        if bounded and p.control != "number":
            widget = gr.Slider(p.minimum, p.maximum, step=step, **{**common, **overrides})
        else:
            widget = gr.Number(
                minimum=p.minimum,
                maximum=p.maximum,
                step=step,
                precision=None,  # whole numbers are checked by the spec: 3.5 is refused, not rounded
                **{**common, **overrides},
            )
        return _with_help(widget, p)
    if p.kind == "choice":
        cls = gr.Radio if p.control == "radio" else gr.Dropdown
        return _with_help(cls(list(p.choices), **{**common, **overrides}), p)
    if p.kind == "bool":
        return gr.Checkbox(**{**common, **overrides})
    if p.kind == "text":
        return gr.Textbox(max_length=MAX_TEXT, **{**common, **overrides})
    raise ValueError(f"{p.name}: a {p.kind} input is built by its tab (sketchpad, upload)")


def param_inputs(spec: DemoSpec, **per_param) -> dict[str, gr.components.Component]:
    """Widgets for every presettable parameter of ``spec``, by name; ``per_param`` maps a name
    to overrides for its widget (e.g. ``steps={"scale": 0}``)."""
    return {
        p.name: param_input(p, **per_param.get(p.name, {})) for p in spec.params if p.presettable
    }
