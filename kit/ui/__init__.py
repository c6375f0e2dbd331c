"""Gradio layer: one builder module per tab, plus ``build_app`` that assembles them."""

from __future__ import annotations

import json

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
from kit.ui.links import QUIET, DemoLink, TabOpening, goto_after
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
        goto = gr.Textbox(visible=False)  # the top-level tab a navigation opens (links.GOTO_JS)
        openers = navigate.deep_link_openers(t for t, _, _ in TABS if t != DRILLS_TAB)
        flags = {t: gr.Textbox(visible=False) for t in openers}  # TabOpening.flag, per tab
        room_opener = gr.Textbox(visible=False)  # a ?room= link's code and key, as JSON
        tab_links: dict[str, list[DemoLink]] = {}
        opened_by: dict[str, gr.Tab] = {}
        with gr.Tabs():
            for tab_id, label, build in TABS:
                # the drills tab is rendered (hidden) at page load, so that a quiz card or a
                # link can open a drill in it: its picker and the saved code are mounted
                with gr.Tab(label, id=tab_id, render_children=tab_id == DRILLS_TAB) as tab:
                    if tab_id == DRILLS_TAB:
                        drills = drills_tab.build_tab(demo)
                        tab_links[tab_id] = []
                    else:
                        tab_links[tab_id] = build(demo)
                opened_by[tab_id] = tab
            openings = {t: TabOpening(flags[t], tab_links[t]) for t in flags}
            for opening in openings.values():
                for link in opening.links:
                    link.opening = opening
            links = {link.id: link for group in tab_links.values() for link in group}
            drills_tab.wire_demo_button(drills, goto, anchor, links)
            with gr.Tab("Quiz", id="quiz") as quiz:  # last: it links into the tabs above
                study, mine = quiz_tab.build(
                    demo, goto, progress, saved, links, anchor, drills.picker
                )
            with gr.Tab("Interview room", id="room"):
                room = rooms_tab.build(demo)
        for tab_id, opener in openers.items():
            navigate.wire_deep_link_opener(opener, openings[tab_id], anchor)
            # the first tab too: the page load fills it, unless a link opened another tab
            navigate.wire_tab_opening(opened_by[tab_id], openings[tab_id], opener)
        stores = (progress, saved)
        _wire_page_load(
            demo,
            goto,
            anchor,
            stores,
            (openers, room_opener),
            openings[TABS[0][0]],
            links,
            study,
            mine,
            room,
            drills,
        )
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
        opening = TabOpening(gr.Textbox(visible=False), links)
        navigate.wire_tab_opening(tab, opening)
    return demo, links


def _wire_page_load(
    demo, goto, anchor, stores, openers, first_tab, links, study, mine, room, drills
) -> None:
    """The one page-load event: the visitor's own question files read back from the browser,
    then a ``?demo=``, ``?q=``, ``?room=`` or ``?drill=`` link, else the first tab.
    ``stores``: the progress and the files ``gr.BrowserState``s; ``openers``: each demo tab's
    deep-link box (``navigate.deep_link_openers``) and the box a ``?room=`` link sets (its
    change enters the room); ``first_tab``: the first tab's ``TabOpening``, filled unless a link
    opens another."""
    opener, room_opener = openers

    def enter_room(text) -> dict:
        try:
            query = json.loads(text) if isinstance(text, str) and 0 < len(text) < 1000 else None
        except json.JSONDecodeError:
            query = None
        return room.load(query) if isinstance(query, dict) else {}

    room_opener.change(enter_room, [room_opener], room.outputs, api_visibility="private", **QUIET)
    card = [study.current, study.front, study.due, study.stats, study.drill_btn]
    card += study.grade_buttons

    def on_load(request: gr.Request, stored, files):
        try:  # a bad saved file is a warning inside; only a bug gets here, and the page loads
            restored = user_errors(mine.restore)(files)
        except gr.Error as err:
            gr.Warning(err.message)
            restored = {}
        mine_now = restored.get(mine.user_questions, [])
        return {**restored, **opened(request, stored, mine_now)}

    def opened(request, stored, user_questions) -> dict:
        query = dict(request.query_params) if request is not None else {}
        if "demo" in query:
            try:
                link = navigate.deep_link(query, links)[0]  # checked here, for the message
            except DemoInputError as err:
                gr.Warning(f"That link could not be opened: {err}.")
            else:  # the demo's own tab fills it: see navigate.wire_deep_link_opener
                return {goto: link.spec.tab, opener[link.spec.tab]: navigate.link_request(query)}
        if "room" in query:
            seat = {k: str(query[k])[:100] for k in ("room", "key") if k in query}
            return {goto: "room", room_opener: json.dumps(seat)}
        if "q" in query:
            try:
                out = user_errors(study_open)(str(query["q"])[:200], stored, user_questions)
            except gr.Error as err:
                gr.Warning(err.message)
            else:
                return {goto: "quiz", anchor: "quiz-card", **out}
        if "drill" in query:
            try:
                drill_id = navigate.drill_link(query)
            except DemoInputError as err:
                gr.Warning(f"That link could not be opened: {err}.")
            else:  # the picker's change event loads the drill and the visitor's saved code
                return {goto: DRILLS_TAB, anchor: "drill-choice",
                        drills.picker: drill_id}  # fmt: skip
        return user_errors(first_tab.updates)()

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

    outputs = [goto, anchor, *opener.values(), room_opener, *card, *mine.outputs, drills.picker]
    outputs = list({id(c): c for c in [*outputs, *first_tab.outputs()]}.values())
    loaded = demo.load(
        on_load,
        list(stores),
        outputs,
        api_visibility="private",
        **QUIET,
    )
    goto_after(loaded, goto, anchor)


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
        **QUIET,
    )


def _only_registered_demos_in_the_api(demo: gr.Blocks) -> None:
    """Keep the public API to the registered demos' api_names; every other event (slider
    drags, stop buttons, helper updates) stays callable by the page but is not an endpoint."""
    public = {spec.api_name for spec in all_demos().values()} | set(EXTRA_PUBLIC_API)
    for fn in demo.fns.values():
        if fn.api_name not in public:
            fn.api_visibility = "private"
