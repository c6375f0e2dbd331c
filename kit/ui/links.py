"""Links from the quiz (and from URLs) into a demo's place in the app.

Each tab's ``build()`` wires its demos with ``wire_demo`` and returns their ``DemoLink``s: which
widget holds each parameter, which component shows each named output, which accordion (or
sub-tab) holds the demo, and the element to scroll into view. ``kit.ui.build_app`` hands them
to the quiz ("Run the demo", "Open in its tab") and to the page-load handler (deep links).
Nothing here reads Gradio's internals: the tabs say where things are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from kit.demos.spec import DemoSpec
from kit.ui.errors import demo_handler, named_outputs

QUIET = {"show_progress": "hidden", "show_progress_on": ()}
"""Demo events keep their earlier outputs on screen while they run and when they fail, and give
the page no loading status to keep for them. Gradio's page keeps one for every component an
event names as a progress target (by default its outputs: ``show_progress_on=None``) and, on
every status message of every event, writes each one it keeps back into the component tree,
each write a search of the whole tree. With every demo's outputs kept that was the largest part
of the page's work per press (a Chromium profile of canvas strokes on the encoder view:
``update_loading_stati_state`` ~160 ms a stroke on the two-core machine). No targets, no
statuses kept: a hidden spinner needs none, and errors still come as toasts."""


@dataclass
class DemoLink:
    """Where one demo lives in the built app."""

    spec: DemoSpec
    """The demo's typed contract."""
    inputs: dict[str, gr.components.Component]
    """Parameter name -> the widget that holds it (presettable parameters only)."""
    outputs: dict[str, gr.components.Component]
    """Output name -> the component that shows it."""
    anchor: str
    """``elem_id`` of the block to scroll into view when the demo is opened from elsewhere."""
    section: gr.Accordion | None = None
    """The accordion that holds the demo (opened when it is linked to), if any."""
    subtab: tuple[gr.Tabs, str] | None = None
    """A sub-tab that holds it: (its Tabs, the tab's id), if any."""
    button: gr.Button | None = None
    """The demo's own main button, if it has one."""
    on_open: bool = True
    """Whether its outputs are computed the first time its tab is opened."""
    opening: TabOpening | None = None
    """Its tab's first opening (set when the app is assembled): opening this demo from
    elsewhere in a tab not yet opened fills the tab's other demos too."""

    def __post_init__(self) -> None:
        if self.button is not None and not self.button.elem_id:
            self.button.elem_id = f"{self.anchor}-go"  # stable, for tests and page scripts

    @property
    def id(self) -> str:
        """The demo id."""
        return self.spec.id

    def apply(self, values: dict[str, Any], outputs: dict[str, Any]) -> dict:
        """Gradio updates that put ``values`` into the widgets, ``outputs`` into the output
        components, and open the demo's section."""
        out: dict = {
            self.inputs[k]: self.spec.param(k).widget_value(v)
            for k, v in values.items()
            if k in self.inputs
        }
        out.update({self.outputs[k]: v for k, v in outputs.items() if k in self.outputs})
        if self.section is not None:
            out[self.section] = gr.Accordion(open=True)
        if self.subtab is not None:
            tabs, tab_id = self.subtab
            out[tabs] = gr.Tabs(selected=tab_id)
        return out

    def open_with(self, args: dict[str, Any], tab_filled: bool = True) -> tuple[str, dict]:
        """(tab id, updates) that open this demo in its tab with ``args`` (a preset, checked by
        the spec; defaults for the rest): the values in its widgets, its outputs filled (unless
        it trains), its section opened. The tab's own controls keep working afterwards. With
        ``tab_filled`` False (the tab's ``opening.flag`` is still empty in the page), the
        updates also fill the tab's other demos, as its first opening would have."""
        values = self.spec.coerce(args, preset=True)
        outputs = {} if self.spec.trains else self.spec.fn(**values)
        updates = {}
        if not tab_filled and self.opening is not None:
            updates = self.opening.updates(skip=self)
        updates.update(self.apply(values, outputs))
        return self.spec.tab, updates

    def components(self) -> list:
        """Every component ``apply`` and ``open_with`` may update, each once."""
        comps = [*self.inputs.values(), *self.outputs.values()]
        if self.section is not None:
            comps.append(self.section)
        if self.subtab is not None:
            comps.append(self.subtab[0])
        if self.opening is not None:
            comps.append(self.opening.flag)
        return comps


OPENED = "opened"
"""What a tab's ``TabOpening.flag`` holds once the tab's demos are filled in the page."""


@dataclass
class TabOpening:
    """A demo tab's first opening in a page: its ``on_open`` demos computed with their spec
    defaults (the widgets hold them until the tab is first shown), once per page.

    ``flag`` is a hidden box, empty until the tab is filled; every event that fills the tab
    (its first ``Tab.select``, a ``?demo=`` link, "Open in its tab" from the quiz or a drill)
    sets it, and a later select leaves the tab as the visitor left it. The select's only input
    is that box (and the tab's deep-link box): Gradio's page keeps a loading status for each
    input of every event that has run and writes each one back on every status message of every
    later event, so an opening that read the tab's 20 widgets made every later press slower.
    """

    flag: gr.Textbox
    """Hidden; "" until the tab is filled in this page, then ``OPENED``."""
    links: list[DemoLink]
    """The tab's demos."""

    def filled(self) -> list[DemoLink]:
        """The demos the opening computes: ``on_open`` ones with parameters (those without have
        their own select event and endpoint), never a training one."""
        return [x for x in self.links if x.on_open and x.spec.params and not x.spec.trains]

    def updates(self, skip: DemoLink | None = None) -> dict:
        """Every ``filled`` demo computed with its defaults, and the flag set; ``skip``: a demo
        the caller fills itself with other values (so it is not computed twice)."""
        out: dict = {self.flag: OPENED}
        for link in self.filled():
            if link is not skip:
                results = link.spec.run()
                out.update({link.outputs[k]: v for k, v in results.items() if k in link.outputs})
        return out

    def outputs(self) -> list:
        """The components ``updates`` sets."""
        return [self.flag, *(c for link in self.filled() for c in link.outputs.values())]


def opening_flags(links: Iterable[DemoLink]) -> list[gr.Textbox]:
    """Each tab's ``TabOpening.flag`` once: the extra inputs of an event that opens a demo in
    its tab (``filled_tabs`` reads their values back)."""
    return list({id(x.opening.flag): x.opening.flag for x in links if x.opening}.values())


def filled_tabs(flags: Sequence[gr.Textbox], values: Sequence[Any]) -> Callable[[DemoLink], bool]:
    """Whether a link's tab is already filled in the page, given ``flags`` (``opening_flags``)
    and their values as an event received them."""
    filled = {id(f) for f, v in zip(flags, values, strict=True) if v}
    return lambda link: link.opening is None or id(link.opening.flag) in filled


def anchor_id(demo_id: str) -> str:
    """The element id of a demo's block, e.g. "demo-latent-interpolate"."""
    return "demo-" + demo_id.replace(".", "-").replace("_", "-")


def wire_demo(
    spec: DemoSpec,
    inputs: dict[str, gr.components.Component],
    outputs: dict[str, gr.components.Component],
    *,
    main: Callable | None,
    also: Sequence[Callable] = (),
    api_event: Callable | None = None,
    fixed: dict | None = None,
    **link_fields,
) -> DemoLink:
    """Wire a demo's events and return its link.

    ``main`` is the event method of its main control (e.g. ``button.click``), registered under
    ``spec.api_name``; ``also`` are further triggers (slider releases, box submits), private,
    always applying the last value. ``api_event`` registers the API endpoint on another
    trigger when the demo has no button (e.g. a dropdown's ``.change``). Inputs that the
    visitor supplies (images, files) are given in ``inputs`` too; only presettable ones are
    kept in the link.
    """
    handler, outs = demo_handler(spec, outputs, fixed)
    ins = [inputs[p.name] for p in spec.params if p.name not in (fixed or {})]
    if main is not None:
        main(handler, ins, outs, api_name=spec.api_name, **QUIET)
    elif api_event is not None:
        api_event(handler, ins, outs, api_name=spec.api_name, trigger_mode="always_last", **QUIET)
    for trigger in also:
        trigger(handler, ins, outs, api_visibility="private", trigger_mode="always_last", **QUIET)
    kept = {p.name: inputs[p.name] for p in spec.params if p.presettable and p.name in inputs}
    return DemoLink(spec, kept, dict(outputs), anchor_id(spec.id), **link_fields)


def api_only(
    spec: DemoSpec,
    inputs: dict[str, gr.components.Component],
    outputs: dict[str, gr.components.Component],
    fixed: dict | None = None,
    **link_fields,
) -> DemoLink:
    """``wire_demo`` with the public endpoint on a trigger no visitor presses (a hidden
    button), for a demo whose button runs a wider private event (``wire_together``). API
    clients call it by ``spec.api_name`` with the spec's own inputs and outputs, as before."""
    hidden = gr.Button(visible=False)
    return wire_demo(spec, inputs, outputs, main=hidden.click, fixed=fixed, **link_fields)


@dataclass
class Part:
    """One demo of a ``wire_together`` event."""

    spec: DemoSpec
    """The demo to run."""
    inputs: dict[str, gr.components.Component]
    """Parameter name -> widget, for the parameters neither fixed nor carried."""
    outputs: dict[str, gr.components.Component]
    """Output name -> component (no component is shared with another part)."""
    fixed: dict = field(default_factory=dict)
    """Parameters the event does not read (e.g. ``{"seed": None}``: a fresh random pick)."""
    carry: tuple[str, ...] = ()
    """Parameters taken from the previous part's outputs of the same name (e.g. the ``index``
    that a random pick chose), not from a widget."""


def wire_together(parts: Sequence[Part], triggers: Sequence[Callable]) -> None:
    """Run ``parts`` one after the other in one private event on each of ``triggers``.

    A follow-up chained with ``.success`` costs the page a second round trip: Gradio's page
    joins it only once the first event has finished (150-250 ms more per press in Chromium on
    the two-core machine). One event updating both sets of outputs shows them together.
    """
    widgets: list[gr.components.Component] = []
    for part in parts:
        widgets += [w for w in part.inputs.values() if all(w is not v for v in widgets)]
    components = {f"{i}:{k}": c for i, part in enumerate(parts) for k, c in part.outputs.items()}
    if len({id(c) for c in components.values()}) != len(components):
        raise ValueError("wire_together: two parts write to the same component")

    def run_parts(*values) -> dict:
        given = dict(zip((id(w) for w in widgets), values, strict=True))
        out: dict = {}
        previous: dict = {}
        for i, part in enumerate(parts):
            args = {name: given[id(w)] for name, w in part.inputs.items()}
            args.update({name: previous[name] for name in part.carry})
            previous = part.spec.run(**args, **part.fixed)
            out.update({f"{i}:{k}": v for k, v in previous.items()})
        return out

    run_parts.__name__ = "_then_".join(part.spec.api_name for part in parts)
    handler, outs = named_outputs(run_parts, components)
    for trigger in triggers:
        trigger(
            handler, widgets, outs, api_visibility="private", trigger_mode="always_last", **QUIET
        )


def copy_link_button(spec: DemoSpec, inputs: dict[str, gr.components.Component]) -> None:
    """A small "Copy link" button and box: the URL of this demo with its widgets' current values
    (``/?demo=<id>&<param>=<value>``), copied to the clipboard where the browser allows."""
    shown = {p.name: inputs[p.name] for p in spec.params if p.presettable and p.name in inputs}
    with gr.Row():
        btn = gr.Button("Copy link", size="sm", scale=0, elem_classes=["copy-link"])
        box = gr.Textbox(
            show_label=False,
            container=False,
            interactive=False,
            scale=4,
            placeholder="A link to this demo with these settings",
        )
    js = f"""(...values) => {{
        const names = {list(shown)!r};
        const q = new URLSearchParams({{demo: {spec.id!r}}});
        names.forEach((n, i) => {{
            if (values[i] !== null && values[i] !== undefined && values[i] !== "") q.set(n, values[i]);
        }});
        const url = location.origin + location.pathname + "?" + q.toString();
        if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {{}});
        return url;
    }}"""
    btn.click(None, list(shown.values()), [box], js=js, api_visibility="private")


def scroll_js() -> str:
    """JavaScript that scrolls the element whose id is its first argument into view."""
    return """(anchor) => {
        if (!anchor) return anchor;
        const go = (tries) => {
            const el = document.getElementById(anchor);
            if (el && el.offsetParent !== null) { el.scrollIntoView({block: "start"}); return; }
            if (tries > 0) setTimeout(() => go(tries - 1), 100);
        };
        go(20);
        return anchor;
    }"""


# Navigation opens a top-level tab from the page, as a click on its button would (so its
# Tab.select event, the first opening, runs as usual), instead of returning gr.Tabs(selected=)
# from the server. An event whose outputs include the top-level Tabs makes Gradio's page read
# back every component of the app on every later status message of every event (it refreshes
# the loading status of each component an event ever output to, children included): ~100 ms
# more on every press, measured in Chromium (benchmarks/encoder_draw_latency.py). Overflowed
# tabs have a disabled button and a menu item with the same data-tab-id: the enabled one is
# clicked.
GOTO_JS = """(tab, anchor) => {
    if (tab) {
        const sel = '[data-tab-id="' + CSS.escape(tab) + '"]';
        const button = [...document.querySelectorAll(sel)].find((b) => !b.disabled);
        if (button && button.getAttribute("aria-selected") !== "true") button.click();
    }
    if (anchor) {
        const go = (tries) => {
            const el = document.getElementById(anchor);
            if (el && el.offsetParent !== null) { el.scrollIntoView({block: "start"}); return; }
            if (tries > 0) setTimeout(() => go(tries - 1), 100);
        };
        go(20);
    }
    return [];
}"""


def goto_after(event, goto: gr.Textbox, anchor: gr.Textbox) -> None:
    """After ``event`` succeeds: open the top-level tab named in ``goto`` (a hidden box the
    event set to a tab id, or left empty) and scroll to the element named in ``anchor``."""
    event.success(None, [goto, anchor], None, js=GOTO_JS, api_visibility="private")
