"""Gradio layer: one builder module per tab, plus ``build_app`` that assembles them."""

from __future__ import annotations

import gradio as gr

from kit.demos.errors import DemoInputError
from kit.demos.registry import all_demos
from kit.ui import (
    beta_tab,
    drills_tab,
    generate_tab,
    latent_tab,
    navigate,
    quiz_study,
    quiz_tab,
    reconstruction_tab,
    rooms_tab,
    train_live_tab,
    under_the_hood_tab,
)
from kit.ui.errors import user_errors
from kit.ui.links import DemoLink, scroll_js
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
    (drills_tab.TAB_ID, "Code drills", drills_tab.build),
)

#: events that are public endpoints without being registry demos, each a deliberate API
EXTRA_PUBLIC_API = ("grade_drill",)  # the Code drills grader (kit/ui/drills_tab.py)
DRILLS_TAB = drills_tab.TAB_ID
"""The tab quiz cards and ``/?drill=`` links open; rendered at page load (see drills_tab)."""


def build_app() -> gr.Blocks:
    """The whole app as a ``gr.Blocks``; models load lazily on the first request."""
    return build_app_and_links()[0]


def build_app_and_links() -> tuple[gr.Blocks, dict[str, DemoLink]]:
    """The app and every demo's link (where its widgets, outputs and section are), by id."""
    with gr.Blocks(title=TITLE, delete_cache=DELETE_CACHE, head=quiz_study.KEYS_HEAD) as demo:
        gr.Markdown(INTRO)
        progress = quiz_tab.progress_store()  # top level: mounted (and read) at page load
        saved = quiz_tab.files_store()  # the visitor's own question files, likewise
        anchor = gr.Textbox(visible=False)  # the element a navigation scrolls to
        tab_links: dict[str, list[DemoLink]] = {}
        with gr.Tabs() as tabs:
            for tab_id, label, build in TABS:
                # the drills tab is rendered (hidden) at page load, so that a quiz card or a
                # link can open a drill in it: its picker and the saved code are mounted
                with gr.Tab(label, id=tab_id, render_children=tab_id == DRILLS_TAB) as tab:
                    if tab_id == DRILLS_TAB:
                        drills = drills_tab.build_tab(demo)
                        tab_links[tab_id] = []
                    else:
                        tab_links[tab_id] = build(demo)
                if tab_id != TABS[0][0]:
                    navigate.wire_tab_opening(tab, tab_links[tab_id])
            links = {link.id: link for group in tab_links.values() for link in group}
            drills_tab.wire_demo_button(drills, tabs, anchor, links)
            with gr.Tab("Quiz", id="quiz") as quiz:  # last: it links into the tabs above
                study, mine = quiz_tab.build(
                    demo, tabs, progress, saved, links, anchor, drills.picker
                )
            with gr.Tab("Interview room", id="room"):
                room = rooms_tab.build(demo)
        stores = (progress, saved)
        _wire_page_load(demo, tabs, anchor, stores, tab_links, links, study, mine, room, drills)
        _wire_quiz_opening(quiz, progress, study, mine)
        _only_registered_demos_in_the_api(demo)
        share_model_concurrency(demo)
    return demo, links


def build_single_tab(tab_id: str) -> tuple[gr.Blocks, list[DemoLink]]:
    """One demo tab alone, with its first-opening events (tests and tab development)."""
    label, build = next((label, b) for i, label, b in TABS if i == tab_id)
    with gr.Blocks() as demo:
        with gr.Tabs():
            with gr.Tab(label, id=tab_id) as tab:
                links = build(demo)
        navigate.wire_tab_opening(tab, links)
    return demo, links


def _wire_page_load(
    demo, tabs, anchor, stores, tab_links, links, study, mine, room, drills
) -> None:
    """The one page-load event: the visitor's own question files read back from the browser,
    then a ``?demo=``, ``?q=``, ``?room=`` or ``?drill=`` link, else the first tab.
    ``stores``: the progress and the files ``gr.BrowserState``s."""
    first_fn, first_inputs, first_outputs = navigate.first_open_handler(tab_links[TABS[0][0]])
    every = {id(c): c for link in links.values() for c in link.components()}
    card = [study.current, study.front, study.due, study.stats, study.drill_btn]
    card += study.grade_buttons

    def on_load(request: gr.Request, stored, files, *first_values):
        try:  # a bad saved file is a warning inside; only a bug gets here, and the page loads
            restored = user_errors(mine.restore)(files)
        except gr.Error as err:
            gr.Warning(err.message)
            restored = {}
        mine_now = restored.get(mine.user_questions, [])
        return {**restored, **opened(request, stored, mine_now, first_values)}

    def opened(request, stored, user_questions, first_values) -> dict:
        query = dict(request.query_params) if request is not None else {}
        if "demo" in query:
            try:
                link, values = navigate.deep_link(query, links)
            except DemoInputError as err:
                gr.Warning(f"That link could not be opened: {err}.")
            else:
                spec = link.spec
                outputs = {} if spec.trains else user_errors(spec.fn)(**values)
                return {
                    tabs: gr.Tabs(selected=spec.tab),
                    anchor: link.anchor,
                    **link.apply(values, outputs),
                }
        if "room" in query:
            return {tabs: gr.Tabs(selected="room"), **room.load(query)}
        if "q" in query:
            try:
                out = user_errors(study_open)(str(query["q"])[:200], stored, user_questions)
            except gr.Error as err:
                gr.Warning(err.message)
            else:
                return {tabs: gr.Tabs(selected="quiz"), anchor: "quiz-card", **out}
        if "drill" in query:
            try:
                drill_id = navigate.drill_link(query)
            except DemoInputError as err:
                gr.Warning(f"That link could not be opened: {err}.")
            else:  # the picker's change event loads the drill and the visitor's saved code
                return {tabs: gr.Tabs(selected=DRILLS_TAB), anchor: "drill-choice",
                        drills.picker: drill_id}  # fmt: skip
        return first_fn(*first_values)

    def study_open(question_id, stored, user_questions):
        from kit.ui.quiz_study import open_question

        out = open_question(question_id, stored, user_questions)
        return {
            study.current: out["current"],
            study.front: out["front"],
            study.due: out["due"],
            study.stats: out["stats"],
            study.drill_btn: out["drill_button"],
            **study.labels(out["previews"]),
        }

    outputs = [tabs, anchor, *every.values(), *card, *room.outputs, *mine.outputs, drills.picker]
    outputs = list({id(c): c for c in [*outputs, *first_outputs]}.values())
    demo.load(
        on_load,
        [*stores, *first_inputs],
        outputs,
        api_visibility="private",
        show_progress="hidden",
    ).then(None, [anchor], [anchor], js=scroll_js(), api_visibility="private")


def _wire_quiz_opening(quiz, progress, study, mine) -> None:
    """Opening the Quiz tab: the stats, and the first due card unless one is on screen."""

    def quiz_opened(stored, current, user_questions, *filters):
        from kit.ui.quiz_study import load_progress, stats_markdown

        p = load_progress(stored)
        out = {study.stats: stats_markdown(p, user_questions)}
        if current is None:
            out.update(study.next_fn(p, *filters, None, user_questions))
        return out

    filters = [study.topics, study.difficulties, study.tags]
    quiz.select(
        quiz_opened,
        [progress, study.current, mine.user_questions, *filters],
        [study.stats, *study.card_outputs],
        api_visibility="private",
    )


def _only_registered_demos_in_the_api(demo: gr.Blocks) -> None:
    """Keep the public API to the registered demos' api_names; every other event (slider
    drags, stop buttons, helper updates) stays callable by the page but is not an endpoint."""
    public = {spec.api_name for spec in all_demos().values()} | set(EXTRA_PUBLIC_API)
    for fn in demo.fns.values():
        if fn.api_name not in public:
            fn.api_visibility = "private"
