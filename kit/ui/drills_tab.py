"""Code drills tab: write a VAE's core functions, get them graded, then run them in the model.

The learner picks a drill, writes the function in a Python editor and presses **Check**: the
grader (``kit.drills.grader``) runs it in a fresh sandboxed worker on hidden cases and answers
with the tests, the named mistake if it recognises one, and the demo that shows what that bug
does: a link (``/?demo=<id>``) and a button that opens it in its tab on this page. **Run it in
the model** puts the function inside a live demo (reconstructions sampled through it, an
interpolation strip, samples, or a 60-step training run on it), beside the reference solution's
result.

Other parts of the page open a drill by setting the picker's value (its change event loads the
drill): a quiz card's "Try it as a code drill" and a ``/?drill=<id>`` link. The tab's children
are rendered at page load (hidden), so the picker and the saved code are there to receive it.

Per-user state: the code of each drill lives in the visitor's browser (``gr.BrowserState``
under its own storage key), saved by a browser-only event on every edit, so a reload keeps it;
the drill in the editor is a ``gr.State``. The grading event is the public API ``grade_drill``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from kit.drills.catalog import all_drills
from kit.drills.grader import (
    QUEUE_CAP,
    SLOTS,
    GraderBusy,
    UnknownDrill,
    shared_grader,
)
from kit.ui.errors import user_errors
from kit.ui.links import QUIET, DemoLink, filled_tabs, goto_after, opening_flags
from kit.ui.server import DRILL_CONCURRENCY_ID
from kit.ui.widgets import LATEX, output_image

TAB_ID = "drills"
"""The tab's id (``kit.ui.TABS``): quiz cards and ``/?drill=`` links select it."""
STORAGE_KEY = "latent-lab-drills-code"
# BrowserState encrypts with this secret; a fixed one lets saved code survive a restart. It
# guards nothing secret (the visitor's own code, in their own browser).
STATE_SECRET = os.environ.get("LATENT_LAB_DRILLS_SECRET", "latent-lab-drills-code-v1")
MAX_SAVED_DRILLS = len(all_drills())

INTRO = r"""
### Code drills: write the VAE's core functions
The coding round of an ML interview, graded the way a reviewer would: pick a drill, write the
function, press **Check**. Your code runs in a sandbox on hidden tests and is compared with a
reference solution; if you wrote one of the classic bugs (the KL's sign, $\exp(\log\sigma^2)$
where $\sigma$ belongs, the missing $\tfrac12$, a sum where a mean belongs, ...), the grader
names it. Then **Run it in the model**: your function drives a live demo, right or wrong.
The sandbox allows one function using `torch`, `F` (`torch.nn.functional`) and `math`; no
imports. Your code is kept in this browser.
"""

BUSY = (
    "The grader is busy (you would be number {position} in its queue, which holds "
    f"{QUEUE_CAP}); try again in a few seconds."
)

DRILL_JS_SAVE = """(drill, code, store) => {
  if (!drill) { return store; }
  const next = Object.assign({}, store || {});
  next[drill] = code;
  return next;
}"""


# ---- pure functions --------------------------------------------------------------------------


def drill_choices() -> list[tuple[str, str]]:
    """The drill picker's (title, id) choices."""
    return [(d.title, d.id) for d in all_drills().values()]


def saved_code(store, drill_id: str) -> str:
    """The visitor's saved code for a drill, or the drill's starter."""
    drill = all_drills()[drill_id]
    if isinstance(store, dict) and isinstance(store.get(drill_id), str) and store[drill_id].strip():
        return store[drill_id]
    return drill.starter


def with_code(store, drill_id, code) -> dict:
    """``store`` with ``code`` saved for ``drill_id`` (only known drills, only text)."""
    out = {k: v for k, v in (store or {}).items() if k in all_drills() and isinstance(v, str)}
    if drill_id in all_drills() and isinstance(code, str):
        out[drill_id] = code
    return out


def mistake_demo(result) -> str | None:
    """The registered demo that shows what a graded mistake does, or None (none named, or not a
    demo of this app: the result comes back from the page, so it is checked)."""
    from kit.demos.registry import all_demos

    demo = result.get("demo") if isinstance(result, dict) else None
    demo_id = demo.get("id") if isinstance(demo, dict) else None
    return demo_id if isinstance(demo_id, str) and demo_id in all_demos() else None


def demo_link(demo_id: str) -> str:
    """The page-relative URL that opens a demo with its defaults (``?demo=<id>``)."""
    return f"?demo={demo_id}"


def _tab_label(tab_id: str) -> str:
    from kit.ui import TABS

    return next((label for i, label, _ in TABS if i == tab_id), tab_id)


def _demo_line(demo: dict | None) -> str:
    if not demo:
        return ""
    note = demo.get("note") or ""
    if not demo.get("id"):
        return f"\n\n**See what it does:** {note}"
    from kit.demos.registry import all_demos

    spec = all_demos().get(demo["id"])
    if spec is None:
        return ""
    where = f"[the *{_tab_label(spec.tab)}* tab, demo `{spec.id}`]({demo_link(spec.id)})"
    return (f"\n\n**See what it does:** {where}: {spec.summary}" + (f" ({note})" if note else "")
            + " **Open the demo** below shows it here.")  # fmt: skip


def demo_button(result) -> gr.Button:
    """The "Open the demo" button for a grade: shown, naming the demo's tab, when its mistake
    has a demo; hidden otherwise."""
    demo_id = mistake_demo(result)
    if demo_id is None:
        return gr.Button(visible=False)
    from kit.demos.registry import get_demo

    tab = _tab_label(get_demo(demo_id).tab)
    return gr.Button(value=f"▶ Open the demo: {tab} · {demo_id}", visible=True)


def open_mistake_demo(
    result, links: dict[str, DemoLink], tab_filled: Callable[[DemoLink], bool] | None = None
) -> tuple[str, DemoLink, dict]:
    """(tab id, link, updates) that open the demo of a graded mistake in its tab, with its
    defaults (and the tab's other demos, unless ``tab_filled`` says the page has them); a
    ``gr.Error`` when the grade names none."""
    demo_id = mistake_demo(result)
    link = links.get(demo_id) if demo_id else None
    if link is None:
        raise gr.Error("This grade names no demo to open.", title="No demo")
    tab, updates = link.open_with({}, tab_filled is None or tab_filled(link))
    return tab, link, updates


def result_markdown(result: dict | None) -> str:
    """The grade as the learner reads it."""
    if not result:
        return ""
    head = "✅ **Passed.**" if result.get("passed") else "❌ **Not yet.**"
    if result.get("mistake"):
        head = f"❌ **Classic mistake: `{result['mistake']}`.**"
    lines = [f"{head} {result.get('message', '')}{_demo_line(result.get('demo'))}"]
    tests = result.get("tests") or []
    if tests:
        lines.append("")
        for t in tests:
            # words, not only an emoji: without an emoji font both show as the same box
            mark = "✅ **pass**" if t.get("passed") else "❌ **fail**"
            detail = "" if t.get("passed") else f": {t.get('message', '')}"
            lines.append(f"- {mark} {t.get('name', '')}{detail}")
    if result.get("seconds") is not None:
        lines.append(f"\n_Graded in {result['seconds']:.2f} s._")
    return "\n".join(lines)


def statement_of(drill_id) -> str:
    """The drill's statement, tolerance note and drive note as markdown (a hint if none)."""
    drill = all_drills().get(drill_id)
    if drill is None:
        return "_Pick a drill above._"
    run = "" if drill.drive is None else "\n\nA passing answer can **run in the model** below."
    return drill.statement + "\n\n" + _tolerance_note(drill) + run


def _tolerance_note(drill) -> str:
    return (
        f"_{len(drill.cases)} hidden tests compare your result with a reference solution at "
        f"a relative tolerance of {drill.rtol:g} (absolute {drill.atol:g})._"
    )


# ---- handlers ----------------------------------------------------------------------------


def _grader_call(call, drill_id, code):
    """``call(drill_id, code)`` (a method of the shared grader), its refusals as toasts."""
    if not drill_id:
        raise gr.Error("Pick a drill first.", title="No drill")
    try:
        return call(drill_id, code)
    except GraderBusy as err:
        raise gr.Error(BUSY.format(position=err.position), title="Grader busy") from None
    except UnknownDrill as err:
        raise gr.Error(f"{str(err)[:1].upper()}{str(err)[1:]}.", title="Check the input") from None


def grade_drill(drill_id, code) -> dict:
    """The API: grade ``code`` for drill ``drill_id``; JSON with passed, tests, mistake,
    message (and seconds, demo)."""
    return _grader_call(shared_grader().grade, drill_id, code)


def drive_drill(drill_id, code):
    """Grade and run the code in its drill's live demo: (JSON, summary, picture, plot)."""
    result, view = _grader_call(shared_grader().drive, drill_id, code)
    if view is None:
        return result, "_Nothing ran: see the message above._", None, None
    return result, view.summary, view.image, view.plot


def select_drill(drill_id, previous, code, store):
    """Switch the editor to ``drill_id``, saving the code of the drill it showed."""
    if previous in all_drills():
        store = with_code(store, previous, code)
    if drill_id not in all_drills():
        return statement_of(None), gr.update(), None, store, "", gr.update(interactive=False)
    drill = all_drills()[drill_id]
    # a learner picked a drill: start the forker's torch import while they write (not at app
    # start, where it would compete with the server's own start on two cores)
    shared_grader().warm()
    return (
        statement_of(drill_id),
        saved_code(store, drill_id),
        drill_id,
        store,
        "",
        gr.update(interactive=drill.drive is not None),
    )


def reset_code(drill_id, store):
    """Reset pressed: the starter code, the store with it saved, and a note."""
    if drill_id not in all_drills():
        return gr.update(), store, ""
    starter = all_drills()[drill_id].starter
    return starter, with_code(store, drill_id, starter), "_Starter code restored._"


# ---- layout and wiring ---------------------------------------------------------------------


@dataclass
class DrillsTab:
    """The components of the Code drills tab that the rest of the page uses."""

    picker: gr.Dropdown
    """The drill picker: setting its value (from any event) opens that drill."""
    result_json: gr.JSON
    """The last grade, as the API returns it."""
    demo_btn: gr.Button
    """The "Open the demo" button of the last grade's mistake (``wire_demo_button``)."""


def build(demo: gr.Blocks) -> list:
    """The Code drills tab (no registry demos of its own: it returns no demo links)."""
    build_tab(demo)
    return []


def build_tab(demo: gr.Blocks) -> DrillsTab:
    """The Code drills tab's layout and its own events; returns what the page links to."""
    gr.Markdown(INTRO, latex_delimiters=LATEX)
    store = gr.BrowserState({}, storage_key=STORAGE_KEY, secret=STATE_SECRET)
    current = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            drill = gr.Dropdown(
                drill_choices(),
                value=None,
                label="Drill",
                info=f"{len(all_drills())} drills; pick one to load its starter (or your code)",
                elem_id="drill-choice",
            )
        with gr.Column(scale=3):
            statement = gr.Markdown(statement_of(None), latex_delimiters=LATEX)
    code = gr.Code(
        value="",
        language="python",
        lines=14,
        max_lines=40,
        label="Your code",
        interactive=True,
        elem_id="drill-code",
    )
    with gr.Row():
        check_btn = gr.Button("Check", variant="primary", elem_id="drill-check")
        run_btn = gr.Button("Run it in the model", interactive=False, elem_id="drill-run")
        reset_btn = gr.Button("Reset to the starter", elem_id="drill-reset")
    result_md = gr.Markdown(elem_id="drill-result")
    demo_btn = gr.Button("▶ Open the demo", visible=False, elem_id="drill-demo", size="sm")
    with gr.Accordion("Result (as the API returns it)", open=False):
        result_json = gr.JSON(show_label=False)
    drive_md = gr.Markdown(elem_id="drill-drive-summary")
    drive_img = output_image("Your code in the model", elem_id="drill-drive-image")
    drive_plot = gr.Plot(label="Training curves", show_label=False)

    grading = {
        "concurrency_id": DRILL_CONCURRENCY_ID,
        # the grader itself runs SLOTS at a time and turns away more than QUEUE_CAP waiting
        # with a clear message, so the event admits that many handlers and no more
        "concurrency_limit": SLOTS + QUEUE_CAP + 1,
        "show_progress": "minimal",
    }
    check = check_btn.click(
        user_errors(grade_drill), [drill, code], result_json, api_name="grade_drill", **grading
    )
    shown = [result_md, demo_btn]

    def show_result(result):
        return result_markdown(result), demo_button(result)

    check.success(show_result, result_json, shown, api_visibility="private", **QUIET)
    run = run_btn.click(
        user_errors(drive_drill),
        [drill, code],
        [result_json, drive_md, drive_img, drive_plot],
        api_visibility="private",
        **grading,
    )
    run.success(show_result, result_json, shown, api_visibility="private", **QUIET)

    def select(drill_id, previous, text, saved):
        return (*select_drill(drill_id, previous, text, saved), gr.Button(visible=False))

    drill.change(
        select,
        [drill, current, code, store],
        [statement, code, current, store, result_md, run_btn, demo_btn],
        api_visibility="private",
        **QUIET,
    )

    def reset(drill_id, saved):
        return (*reset_code(drill_id, saved), gr.Button(visible=False))

    reset_btn.click(
        reset, [drill, store], [code, store, result_md, demo_btn], api_visibility="private", **QUIET
    )
    code.change(None, [drill, code, store], store, js=DRILL_JS_SAVE, api_visibility="private")
    return DrillsTab(drill, result_json, demo_btn)


def wire_demo_button(
    tab: DrillsTab, goto: gr.Textbox, anchor: gr.Textbox, links: dict[str, DemoLink]
) -> None:
    """Wire "Open the demo": switch to the mistake's demo in its tab (this page, no reload),
    filled in and run with its defaults, and scroll to it. ``links`` is every demo's link."""
    targets = {id(c): c for link in links.values() for c in link.components()}
    flags = opening_flags(links.values())

    @user_errors
    def open_demo(result, *flag_values) -> dict:
        tab_id, link, updates = open_mistake_demo(result, links, filled_tabs(flags, flag_values))
        return {goto: tab_id, anchor: link.anchor, **updates}

    opened = tab.demo_btn.click(
        open_demo,
        [tab.result_json, *flags],
        [goto, anchor, *targets.values()],
        api_visibility="private",
        **QUIET,
    )
    goto_after(opened, goto, anchor)
