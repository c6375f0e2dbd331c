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
    label: str, height: int | None = None, image_mode: str = "L", **kwargs
) -> gr.Image:
    """A read-only image output for a demo's numpy result (grey unless told otherwise)."""
    return gr.Image(
        label=label,
        type="numpy",
        interactive=False,
        image_mode=image_mode,
        height=height,
        **kwargs,
    )


def api_numbers() -> gr.JSON:
    """A closed accordion showing the demo's "numbers" output, as the API returns it."""
    with gr.Accordion("Numbers (as the API returns them)", open=False):
        return gr.JSON(show_label=False)


# Gradio "template" components (the mechanism behind gr.ClearButton): the same widget in the
# page, plus the parameter's help and range in the API schema, which view_api() prints.


class _SpecSlider(gr.Slider):
    is_template = True
    api_help = ""

    def api_info_as_input(self) -> dict:
        return {**super().api_info_as_input(), "additional_description": self.api_help}


class _SpecNumber(gr.Number):
    is_template = True
    api_help = ""

    def api_info_as_input(self) -> dict:
        return {**super().api_info_as_input(), "additional_description": self.api_help}


class _SpecDropdown(gr.Dropdown):
    is_template = True
    api_help = ""

    def api_info_as_input(self) -> dict:
        return {**super().api_info_as_input(), "additional_description": self.api_help}


class _SpecRadio(gr.Radio):
    is_template = True
    api_help = ""

    def api_info_as_input(self) -> dict:
        return {**super().api_info_as_input(), "additional_description": self.api_help}


def _with_help(widget, p: Param):
    widget.api_help = f"{p.label}: {p.accepts()}. {p.help}".strip()
    return widget


def param_input(p: Param, **overrides) -> gr.components.Component:
    """The input widget for one demo parameter, built from its spec (label, range, default).

    Numbers with both bounds become sliders unless the spec asks for a box (``control="number"``);
    an int with ``choices`` becomes a menu whose values are ints, so a preset of 7 and the menu's
    "7" are the same value; choices become a dropdown or radio.
    """
    common = {"label": p.label, "info": p.help or None, "value": p.default}
    if p.kind in ("int", "float") and p.choices:
        choices = [(str(c), c) for c in p.choices]
        return _with_help(_SpecDropdown(choices, **{**common, **overrides}), p)
    if p.kind in ("int", "float"):
        step = p.step if p.step is not None else (1 if p.kind == "int" else None)
        bounded = p.minimum is not None and p.maximum is not None
        if bounded and p.control != "number":
            widget = _SpecSlider(p.minimum, p.maximum, step=step, **{**common, **overrides})
        else:
            widget = _SpecNumber(
                minimum=p.minimum,
                maximum=p.maximum,
                step=step,
                precision=0 if p.kind == "int" else None,
                **{**common, **overrides},
            )
        return _with_help(widget, p)
    if p.kind == "choice":
        cls = _SpecRadio if p.control == "radio" else _SpecDropdown
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
