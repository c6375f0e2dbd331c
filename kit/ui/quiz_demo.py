"""The quiz's demo panel: "Run the demo" shows a question's demo inline, under the answer;
"Open in its tab" goes to the demo's tab, opens its section, applies the preset, shows the
result and scrolls to it; "Copy link" gives the question's URL (``/?q=<id>``); "Try it as a
code drill", on the cards whose question names a drill (front matter ``drill:``), opens the
Code drills tab on that drill.

Pure functions first (``inline_result``, ``open_in_tab``, ``drill_button``, ``drill_of``),
tested without a browser; then the layout (``demo_panel``) and the wiring (``wire_panel``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from kit.demos.registry import get_demo
from kit.quiz.record import Question
from kit.quiz.study import run_demo
from kit.ui.drills_tab import TAB_ID
from kit.ui.errors import user_errors
from kit.ui.links import QUIET, DemoLink, filled_tabs, goto_after, opening_flags
from kit.ui.widgets import LATEX


def _args_text(args: dict) -> str:
    if not args:
        return "its default settings"
    return ", ".join(f"`{k} = {v!r}`" for k, v in args.items())


def inline_result(q: Question) -> dict:
    """The demo's result for the card, by name: ``note``, ``images``, ``figure``, ``text``.

    A training demo is not run inline (it takes seconds of CPU): the note says what pressing
    Train in its tab will do, with the question's settings.
    """
    spec = get_demo(q.demo)
    if spec is None:
        raise gr.Error(f"This question links an unknown demo, {q.demo!r}.", title="No demo")
    if spec.trains:
        settings = spec.coerce(q.demo_args, preset=True)
        return {
            "note": (
                f"**Demo `{q.demo}`** trains a model for a few seconds with "
                f"{_args_text(settings)}, so it runs in its own tab: **Open in its tab** fills "
                "these settings in, then press **Train** to watch the loss curve and the "
                "reconstructions change as it learns."
            ),
            "images": None,
            "figure": None,
            "text": "",
        }
    preview = run_demo(q)
    return {
        "note": f"**Demo `{q.demo}`** with {_args_text(q.demo_args)}: {spec.summary}",
        "images": preview.images or None,
        "figure": preview.figure,
        "text": preview.text,
    }


def open_in_tab(q: Question, link: DemoLink, tab_filled: bool = True) -> tuple[str, dict]:
    """(tab id, updates): the preset applied to the demo's widgets, its outputs filled (unless
    it trains), its section opened, and the tab's other demos filled when it is not yet
    (``tab_filled``). The tab's own controls keep working afterwards."""
    return link.open_with(q.demo_args, tab_filled)


DRILL_LABEL = "⌨ Try it as a code drill: {id}"


def drill_button(drill_id: str | None) -> gr.Button:
    """The card's "Try it as a code drill" button: shown, naming the drill, when the question on
    screen has one; hidden otherwise."""
    from kit.drills.catalog import all_drills

    if drill_id not in all_drills():
        return gr.Button(visible=False)
    return gr.Button(value=DRILL_LABEL.format(id=drill_id), visible=True)


def drill_of(q: Question) -> str:
    """The code drill a question names (a ``gr.Error`` when it names none)."""
    from kit.drills.catalog import all_drills

    if q.drill not in all_drills():
        raise gr.Error(f"The question {q.title!r} has no code drill.", title="No drill")
    return q.drill


# ---- layout and wiring ------------------------------------------------------------------------


@dataclass
class DemoPanel:
    """The components of one demo panel (study or interview)."""

    run_btn: gr.Button
    open_btn: gr.Button
    copy_btn: gr.Button
    drill_btn: gr.Button
    link_box: gr.Textbox
    note: gr.Markdown
    images: gr.Gallery
    figure: gr.Plot
    text: gr.Markdown


def demo_panel(prefix: str = "") -> DemoPanel:
    """The buttons and the inline result area; ``prefix`` keeps element ids unique per mode."""
    with gr.Row():
        run_btn = gr.Button("▶ Run the demo", variant="primary", elem_id=f"{prefix}run-demo")
        open_btn = gr.Button("Open in its tab", elem_id=f"{prefix}open-in-tab")
        copy_btn = gr.Button("Copy link", elem_id=f"{prefix}copy-link", scale=0)
    drill_btn = gr.Button(
        "⌨ Try it as a code drill", visible=False, elem_id=f"{prefix}try-drill", size="sm"
    )
    link_box = gr.Textbox(
        show_label=False,
        container=False,
        interactive=False,
        placeholder="The link to this question appears here",
        elem_id=f"{prefix}question-link",
    )
    with gr.Column(elem_id=f"{prefix}demo-result"):
        note = gr.Markdown()
        images = gr.Gallery(
            label="Demo output", columns=4, height="auto", object_fit="contain", visible=False
        )
        figure = gr.Plot(label="Demo plot", visible=False)
        text = gr.Markdown(latex_delimiters=LATEX)
    return DemoPanel(run_btn, open_btn, copy_btn, drill_btn, link_box, note, images, figure, text)


COPY_JS = """(path) => {
    const url = location.origin + location.pathname + path;
    if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {});
    return url;
}"""


def wire_panel(
    panel: DemoPanel,
    current_id: Callable[..., str],
    inputs: list,
    links: dict[str, DemoLink],
    goto: gr.Textbox,
    anchor: gr.Textbox,
    find: Callable[[str, list], Question],
    user_questions: gr.State,
    drill_picker: gr.Dropdown | None = None,
) -> None:
    """Wire a panel. ``current_id(*inputs)`` gives the id of the question on screen (it raises a
    ``gr.Error`` when there is none); ``find(id, user_questions)`` gives the question;
    ``drill_picker`` is the Code drills tab's picker (None: the drill button stays unwired)."""

    def question(*args) -> Question:
        *rest, mine = args
        return find(current_id(*rest), mine)

    @user_errors
    def run(*args) -> dict:
        out = inline_result(question(*args))
        return {
            panel.note: out["note"],
            panel.images: gr.Gallery(value=out["images"], visible=out["images"] is not None),
            panel.figure: gr.Plot(value=out["figure"], visible=out["figure"] is not None),
            panel.text: out["text"],
        }

    inline = [panel.note, panel.images, panel.figure, panel.text]
    ins = [*inputs, user_questions]
    private = {"api_visibility": "private", **QUIET}
    panel.run_btn.click(run, ins, inline, **private)

    targets: dict[int, object] = {}
    for link in links.values():
        for comp in link.components():
            targets.setdefault(id(comp), comp)

    flags = opening_flags(links.values())

    @user_errors
    def open_tab(*args) -> dict:
        args, flag_values = args[: len(ins)], args[len(ins) :]
        q = question(*args)
        link = links.get(q.demo)
        if link is None:
            raise gr.Error(f"The demo {q.demo!r} is not in this app.", title="No demo")
        tab, updates = open_in_tab(q, link, filled_tabs(flags, flag_values)(link))
        return {goto: tab, anchor: link.anchor, **updates}

    opening = panel.open_btn.click(
        open_tab, [*ins, *flags], [goto, anchor, *targets.values()], **private
    )
    goto_after(opening, goto, anchor)

    if drill_picker is not None:

        @user_errors
        def open_drill(*args) -> dict:
            drill_id = drill_of(question(*args))
            # the picker's change event loads the drill (and the visitor's saved code)
            return {goto: TAB_ID, anchor: "drill-choice", drill_picker: drill_id}

        goto_after(panel.drill_btn.click(open_drill, ins, [goto, anchor, drill_picker], **private),
                   goto, anchor)  # fmt: skip

    def link_path(*args) -> str:
        *rest, _mine = args
        return f"?q={current_id(*rest)}"

    panel.copy_btn.click(user_errors(link_path), ins, [panel.link_box], **private).success(
        None, [panel.link_box], [panel.link_box], js=COPY_JS, api_visibility="private"
    )
