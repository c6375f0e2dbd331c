"""Page load, deep links and first openings of a tab.

One event runs when a page loads, whatever the visitor opens: it reads the URL and

- ``/?demo=<demo id>&<param>=<value>…`` opens the demo's tab and section with those values
  applied (checked by the demo's spec, like any preset) and run, and scrolls to it;
- ``/?q=<question id>`` opens the Quiz on that question;
- ``/?room=<code>`` opens the Interview room;
- ``/?drill=<drill id>`` opens the Code drills tab on that drill (with the visitor's saved code);
- anything else (or a bad id or value, which gets a message naming it) fills the first tab.

Every other tab computes its outputs the first time the visitor opens it (``Tab.select``), with
its demos' defaults, once per page (``kit.ui.links.TabOpening``), so a page visit queues one
event, not one per demo.

The page-load event's outputs are kept few on purpose. Gradio's page keeps a loading status for
every component any event of the session has output to, and on each status message of every
later event (pending, started, done) it looks each of them up in the component tree and reads
its state back (a layout block's whole subtree with it). With the top-level Tabs and every
demo's widgets among the load event's outputs (183 components), that was ~40 ms a message and
~160 ms on every press, measured in Chromium. So a ``?demo=`` link only puts its query in its
tab's hidden opener box; that box's change event fills the demo, with only that tab's components
as outputs, and only when a link asked for it. (Opener boxes rather than ``gr.State``s: a State
is not in the page's component tree, so each lookup of one walks all of it.)
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping

import gradio as gr

from kit.demos.errors import DemoInputError
from kit.demos.registry import get_demo
from kit.ui.errors import demo_handler, user_errors
from kit.ui.links import QUIET, DemoLink, TabOpening, scroll_js

MAX_QUERY_VALUE = 200  # characters of a URL value that are read at all
MAX_QUERY_KEYS = 50  # keys of a URL that a deep-link opener keeps
MAX_LINK_TEXT = 16_000  # characters of an opener box's text that are parsed at all


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


def deep_link_openers(tab_ids: Iterable[str]) -> dict[str, gr.Textbox]:
    """Per demo tab, the hidden box a ``?demo=`` page load sets to the link's query (as
    ``link_request`` text; see ``wire_deep_link_opener``). Made before the tabs, so that they
    sit near the root of the page's component tree, where Gradio's page finds them quickly."""
    return {tab_id: gr.Textbox(visible=False) for tab_id in tab_ids}


def link_request(query: Mapping[str, str]) -> str:
    """The text an opener box holds for a ``?demo=`` link: its query, as JSON."""
    items = list(query.items())[:MAX_QUERY_KEYS]
    return json.dumps({str(k)[:MAX_QUERY_VALUE]: str(v)[:MAX_QUERY_VALUE] for k, v in items})


def wire_deep_link_opener(box: gr.Textbox, opening: TabOpening, anchor: gr.Textbox) -> None:
    """When ``box`` is set: fill the tab's first-opening demos (``opening``; its ``Tab.select``
    leaves a tab opened by a link to this event), open the linked demo over them (its values in
    its widgets, its outputs computed, its section opened), then scroll to it. The box's text
    comes back from the page, so it is checked again."""
    by_id = {link.id: link for link in opening.links}
    comps = {
        id(c): c for c in [*opening.outputs(), *(c for x in opening.links for c in x.components())]
    }

    @user_errors
    def open_demo(text) -> dict:
        if not isinstance(text, str) or not text or len(text) > MAX_LINK_TEXT:
            return {}
        try:
            query = json.loads(text)
        except json.JSONDecodeError:
            return {}
        if not isinstance(query, dict):
            return {}
        link, linked = deep_link(query, by_id)
        out = {anchor: link.anchor, **opening.updates(skip=link)}
        out.update(link.apply(linked, {} if link.spec.trains else link.spec.fn(**linked)))
        return out

    box.change(open_demo, [box], [anchor, *comps.values()], api_visibility="private", **QUIET).then(
        None, [anchor], [anchor], js=scroll_js(), api_visibility="private"
    )


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


def wire_tab_opening(tab: gr.Tab, opening: TabOpening, opener: gr.Textbox | None = None) -> None:
    """On selecting ``tab``: fill its demos with parameters once per page (``opening``), and
    run the API endpoint of each demo without parameters (e.g. ``latent_scatter``). With
    ``opener`` (the tab's ``deep_link_openers`` box), a tab that a ``?demo=`` link opened is
    left to the link's own event, which fills it with the link's values."""
    outputs = opening.outputs()
    if len(outputs) > 1:
        boxes = [opening.flag] if opener is None else [opening.flag, opener]

        @user_errors
        def on_select(*texts) -> dict:
            return {} if any(texts) else opening.updates()

        tab.select(on_select, boxes, outputs, api_visibility="private", **QUIET)
    for link in opening.links:
        if link.on_open and not link.spec.params:
            fn, outs = demo_handler(link.spec, link.outputs)
            tab.select(fn, [], outs, api_name=link.spec.api_name, **QUIET)
