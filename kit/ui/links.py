"""Links from a quiz answer to a live demo: which tab, which input boxes, which output panes.

Every registered demo's main event is wired with ``kit.ui.errors.named_outputs``, which records
the handler's argument names (in input order) and the component showing each named result. This
module reads those records back from the built app, so "Run the demo" can switch to the demo's
tab, put the preset into its inputs and its results into its outputs, with no per-tab code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gradio as gr

from kit.demos.registry import all_demos


@dataclass
class DemoLink:
    """Where one demo lives in the built app."""

    demo_id: str
    """The demo's registry id, e.g. "latent.interpolate"."""
    tab: str
    """Id of the top-level tab that shows it."""
    inputs: dict[str, gr.components.Component] = field(default_factory=dict)
    """Argument name -> the input component that holds it on the tab."""
    outputs: dict[str, gr.components.Component] = field(default_factory=dict)
    """Result name -> the output component that shows it on the tab."""


def demo_links(demo: gr.Blocks) -> dict[str, DemoLink]:
    """Every registered demo's link, read from the events already wired in ``demo``."""
    by_api = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name}
    links = {}
    for demo_id, spec in all_demos().items():
        event = by_api.get(spec.api_name)
        handler = getattr(event, "fn", None)
        if event is None:
            links[demo_id] = DemoLink(demo_id, spec.tab)
            continue
        names = getattr(handler, "input_names", None)
        if names is None and len(event.inputs) == len(spec.defaults):
            names = list(spec.defaults)  # e.g. a streaming handler: inputs in the spec's order
        inputs = dict(zip(names or [], event.inputs, strict=False))
        outputs = dict(getattr(handler, "output_components", {}))
        links[demo_id] = DemoLink(demo_id, spec.tab, inputs, outputs)
    return links


def linked_components(links: dict[str, DemoLink]) -> list[gr.components.Component]:
    """Every input and output component of every link, each once, in a stable order."""
    seen: dict[int, gr.components.Component] = {}
    for link in links.values():
        for comp in [*link.inputs.values(), *link.outputs.values()]:
            seen.setdefault(comp._id, comp)
    return list(seen.values())
