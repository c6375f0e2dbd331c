"""Page load, deep links and first openings of a tab.

One event runs when a page loads, whatever the visitor opens: it reads the URL and

- ``/?demo=<demo id>&<param>=<value>…`` opens the demo's tab and section with those values
  applied (checked by the demo's spec, like any preset) and run, and scrolls to it;
- ``/?q=<question id>`` opens the Quiz on that question;
- ``/?room=<code>`` opens the Interview room;
- ``/?drill=<drill id>`` opens the Code drills tab on that drill (with the visitor's saved code);
- anything else (or a bad id or value, which gets a message naming it) fills the first tab.

Every other tab computes its outputs the first time the visitor opens it (``Tab.select``), with
whatever its widgets hold then, so a page visit queues one event, not one per demo.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping

import gradio as gr

from kit.demos.errors import DemoInputError
from kit.demos.registry import get_demo
from kit.ui.errors import demo_handler, user_errors
from kit.ui.links import DemoLink

MAX_QUERY_VALUE = 200  # characters of a URL value that are read at all


def deep_link(query: Mapping[str, str], links: dict[str, DemoLink]) -> tuple[DemoLink, dict]:
    """The link and coerced values a ``?demo=`` URL asks for (a ``DemoInputError`` names what
    is wrong: an unknown demo, parameter or value)."""
    demo_id = str(query.get("demo", ""))[:MAX_QUERY_VALUE]
    spec = get_demo(demo_id)
    link = links.get(demo_id)
    if spec is None or link is None:
        raise DemoInputError(f"there is no demo {demo_id!r} in this app")
    given = {  # Gradio's own URL keys (``__theme``, ``view``) are not the demo's
        k: str(v)[:MAX_QUERY_VALUE]
        for k, v in query.items()
        if k != "demo" and not k.startswith("__") and k != "view"
    }
    return link, spec.coerce(given, preset=True)


def drill_link(query: Mapping[str, str]) -> str:
    """The drill a ``?drill=`` URL asks for (a ``DemoInputError`` names an unknown one)."""
    from kit.drills.catalog import all_drills

    drill_id = str(query.get("drill", ""))[:MAX_QUERY_VALUE]
    drills = all_drills()
    if drill_id not in drills:
        shown = drill_id if len(drill_id) <= 60 else drill_id[:57] + "..."
        close = difflib.get_close_matches(drill_id, list(drills), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DemoInputError(
            f"there is no drill {shown!r} in this app{hint}; the Code drills tab lists them"
        )
    return drill_id


def first_open_outputs(links: list[DemoLink]) -> list:
    """The output components a tab's first opening fills."""
    return [c for link in links if link.on_open and link.spec.params for c in link.outputs.values()]


def first_open_handler(links: list[DemoLink]) -> tuple[Callable, list, list]:
    """(handler, inputs, outputs) computing every ``on_open`` demo (with parameters) of a tab
    from its widgets' current values."""
    chosen = [link for link in links if link.on_open and link.spec.params]
    inputs: list = []
    for link in chosen:
        inputs += [link.inputs[p.name] for p in link.spec.params if p.name in link.inputs]

    @user_errors
    def handler(*values) -> dict:
        out: dict = {}
        i = 0
        for link in chosen:
            names = [p.name for p in link.spec.params if p.name in link.inputs]
            args = dict(zip(names, values[i : i + len(names)], strict=True))
            i += len(names)
            results = link.spec.run(**args)
            out.update({link.outputs[k]: v for k, v in results.items() if k in link.outputs})
        return out

    return handler, inputs, first_open_outputs(chosen)


def wire_tab_opening(tab: gr.Tab, links: list[DemoLink]) -> None:
    """On selecting ``tab``: one private event for its demos with parameters, and the API
    endpoint of each demo without parameters (e.g. ``latent_scatter``)."""
    handler, inputs, outputs = first_open_handler(links)
    if outputs:
        tab.select(handler, inputs, outputs, api_visibility="private", show_progress="hidden")
    for link in links:
        if link.on_open and not link.spec.params:
            fn, outs = demo_handler(link.spec, link.outputs)
            tab.select(fn, [], outs, api_name=link.spec.api_name, show_progress="hidden")
