"""Interview room: a presenter seat and a candidate seat joined by a link.

The interviewer picks questions and presses **Create room**: the page becomes the presenter's
view and shows the candidate's link (``/?room=<code>``) and its own (``/?room=<code>&key=<key>``).
Both seats poll the room every second (``gr.Timer``); a poll reads one integer (the room's
version) and changes nothing on the page unless the room changed, so each seat sees the other
within about a second.

What the candidate's browser never receives: the answer, rubric, levels, red flags, follow-ups
and notes. They live only in the presenter column, which stays ``visible=False`` (not rendered)
and empty on a candidate's page; every handler fills it only after the presenter key checked
out against the store, and a candidate's responses carry only the shared components.

Handlers first (plain functions of the seat and the store, returning named results), then
``build``.
"""

from __future__ import annotations

import html
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import gradio as gr

from kit.quiz.study import choices, filter_questions, hints_html, question_html
from kit.rooms import room as rm
from kit.rooms.store import FILE_NAME, RoomError, RoomStore, data_dir
from kit.ui.errors import user_errors
from kit.ui.links import QUIET
from kit.ui.quiz_demo import inline_result
from kit.ui.quiz_tab import bundled_bank, export_file, now_utc, shown_file
from kit.ui.server import ROOM_CONCURRENCY_ID, ROOM_CONCURRENCY_LIMIT
from kit.ui.widgets import LATEX

MAX_POINTS = 8
"""Rubric rows on the presenter's page (the bank's questions have at most 5 key points)."""

POLL_S = 1.0
"""Seconds between a seat's polls."""


@lru_cache(maxsize=4)
def _store_at(path: str) -> RoomStore:
    return RoomStore(path)


def store() -> RoomStore:
    """The app's room store, in ``$LATENT_LAB_DATA_DIR/rooms.sqlite3`` (made on first use)."""
    return _store_at(str(data_dir() / FILE_NAME))


def client_id(request: gr.Request | None) -> str:
    """Who is creating a room, for the rate limit: the address the last proxy saw (a Space's
    proxy appends the visitor's address to X-Forwarded-For), else the socket's peer."""
    if request is None:
        return "unknown"
    forwarded = (request.headers.get("x-forwarded-for") or "").split(",")[-1].strip()
    host = request.client.host if request.client else ""
    return (forwarded or host or "unknown")[:100]


def _question(qid: str):
    return bundled_bank().by_id()[qid]


@lru_cache(maxsize=16)
def demo_result(qid: str) -> dict:
    """The question's inline demo result (``kit.ui.quiz_demo.inline_result``), computed once
    per question: both seats are shown the very same result, and the second seat's poll does
    not run the model again."""
    return inline_result(_question(qid))


_WARMER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="room-demo")


def warm_demo(qid: str) -> None:
    """Start computing the question's demo in the background while it is on screen, so a
    push shows it on both seats at once (the first run of a model loads its weights)."""
    _WARMER.submit(user_errors(demo_result), qid)


def _clock(seat: dict, now: datetime) -> str:
    if seat.get("finished"):
        return "## ⏱ Finished"
    spent = seat["booked"] + max(
        0.0, (now - datetime.fromisoformat(seat["entered"])).total_seconds()
    )
    minutes, secs = divmod(int(spent), 60)
    box = seat["time_box"]
    over = " · **over time**" if box and spent > 60 * box else ""
    return f"## ⏱ {minutes}:{secs:02d} <small>of a {box} min time box{over}</small>"


def answer_key_html(q) -> str:
    """Everything the presenter sees and the candidate must not: answer, levels, red flags,
    follow-ups with their answers."""
    from kit.quiz.study import answer_html

    return answer_html(q)


def _fresh_seat(code: str, key: str | None) -> dict:
    return {"code": code, "key": key, "version": -1, "current": -1, "demo_seq": -1}


def open_seat(code, key=None) -> dict:
    """The seat for a ``?room=`` link: a presenter when ``key`` matches, else the candidate."""
    code = str(code or "")[:100]
    key = str(key)[:100] if key else None
    st = store()
    if key is not None and not st.is_presenter(code, key):
        raise RoomError("That presenter key does not belong to this room: use the link you got.")
    st.version(code)  # raises a RoomError with a sentence for a bad or expired code
    return _fresh_seat(code, key)


def is_presenter(seat: dict | None) -> bool:
    """Whether this seat holds the room's presenter key (checked against the store each time)."""
    return bool(seat and seat.get("key")) and store().is_presenter(seat["code"], seat["key"])


def view(seat: dict, snap, presenter: bool) -> dict:
    """The seat's named updates for a room that changed since ``seat`` last saw it.

    Shared names go to both seats; names starting ``p_`` only ever to the presenter. Text boxes a
    seat types in (the candidate's answer, the presenter's notes and marks) are set only when
    the question on screen changes, so a poll never overwrites what is being typed.
    """
    state, now = snap.state, now_utc()
    moved = state["current"] != seat["current"] or bool(state["finished"]) != bool(
        seat.get("finished")
    )
    new_seat = {
        **seat,
        "version": snap.version,
        "current": state["current"],
        "demo_seq": state["demo_seq"],
        "finished": bool(state["finished"]),
    }
    out: dict = {}
    n = len(state["items"])
    if state["finished"]:
        new_seat.update(booked=0.0, entered=None, time_box=0)
        out.update(
            status=f"Room `{snap.code}` · finished",
            question="<h3>The interview has finished</h3><p>Thank you!</p>"
            if not presenter
            else "<h3>The interview has finished</h3><p>The summary is below.</p>",
            hints="",
            answer=gr.Textbox(visible=False),
            demo=None,
        )
    else:
        item = state["items"][state["current"]]
        q = _question(item["id"])
        new_seat.update(booked=item["seconds"], entered=state["entered"], time_box=q.time_box)
        out.update(
            status=f"Room `{snap.code}` · question {state['current'] + 1} of {n}",
            question=question_html(q, large=True),
            hints=hints_html(q, item["hints"]) if item["hints"] else "",
        )
        if presenter:
            out["answer"] = gr.Textbox(value=item["answer"], interactive=False, visible=True)
        elif moved:
            out["answer"] = gr.Textbox(value=item["answer"], interactive=True, visible=True)
        if moved or state["demo_seq"] != seat["demo_seq"]:
            out["demo"] = demo_result(q.id) if item["demos"] else None
        if presenter:
            out["p_hint_count"] = f"{item['hints']} of {len(q.hints)} hints released"
            if moved:
                warm_demo(q.id)
                out["p_key"] = answer_key_html(q)
                out["p_notes"] = item["notes"]
                out["p_marks"] = [
                    (point, item["marks"].get(str(i))) for i, point in enumerate(q.key_points)
                ]
    out["clock"] = _clock(new_seat, now)
    if presenter and (state["finished"] or moved):
        by_id = bundled_bank().by_id()
        out["p_summary"] = rm.summary_markdown(state, by_id, now) if state["finished"] else ""
    return {"seat": new_seat, **out}


def poll(seat: dict | None) -> dict:
    """One poll: only the clock, unless the room's version moved on."""
    if not seat:
        return {}
    try:
        version = store().version(seat["code"])
    except RoomError as err:
        return {"seat": None, "status": str(err), "timer": False}
    if version == seat["version"]:
        return {"clock": _clock(seat, now_utc())} if seat.get("entered") else {}
    snap = store().open(seat["code"])
    return view(seat, snap, presenter=bool(seat.get("key")))


def create_room(picked, topics, difficulties, request: gr.Request | None = None) -> dict:
    """A new room over the picked questions (else every question of the topics and
    difficulties chosen); the seat is its presenter's."""
    qs = bundled_bank().questions
    known = {q.id for q in qs}
    ids = [i for i in (picked or []) if i in known]
    if not ids and (topics or difficulties):
        ids = [q.id for q in filter_questions(qs, topics or (), difficulties or ())]
    if not ids:
        raise gr.Error("Pick questions, or a topic or difficulty, first.", title="Nothing to ask")
    try:
        made = store().create(rm.new_room(ids[: rm.MAX_QUESTIONS], now_utc()), client_id(request))
    except RoomError as err:
        raise gr.Error(str(err), title="No room made") from None
    seat = _fresh_seat(made.code, made.key)
    return {
        **view(seat, store().open(made.code), presenter=True),
        "candidate_link": f"?room={made.code}",
        "presenter_link": f"?room={made.code}&key={made.key}",
    }


def presenter_action(seat: dict | None, change) -> dict:
    """Apply ``change(state, question)`` as the presenter, in one store transaction."""
    if not is_presenter(seat):
        raise gr.Error("Only the presenter's link can run the room.", title="Not the presenter")

    def apply(state):
        qid = rm.current_id(state)
        return change(state, _question(qid) if qid else None)

    try:
        snap = store().update(seat["code"], apply)
    except (RoomError, rm.RoomStateError) as err:
        raise gr.Error(str(err), title="Room") from None
    return view(seat, snap, presenter=True)


def type_answer(seat: dict | None, text: str) -> dict:
    """The candidate's answer box changed: store it on the question on their screen."""
    if not seat or seat.get("key") or seat.get("current", -1) < 0:
        return {}
    try:
        snap = store().update(seat["code"], lambda s: rm.set_answer(s, seat["current"], text))
    except (RoomError, rm.RoomStateError):
        return {}  # the room finished or expired: the next poll says so
    return (
        {"seat": {**seat, "version": snap.version}}
        if snap.state["current"] == seat["current"]
        else {}
    )


def summary_file(seat: dict | None) -> str:
    """The room's summary as a markdown file to download (the presenter only)."""
    if not is_presenter(seat):
        raise gr.Error("Only the presenter can download the summary.", title="Not the presenter")
    snap = store().open(seat["code"])
    text = rm.summary_markdown(snap.state, bundled_bank().by_id(), now_utc())
    return export_file("interview-room-summary.md", text)


# ---- layout and wiring ------------------------------------------------------------------------

INTRO = """### Interview room: a presenter seat and a candidate seat
Pick questions and press **Create room**. Send the **candidate link** to the candidate; keep
the **presenter link** (it carries your key). The candidate sees the question, the hints you
release and the demos you push, with a timer and a box to type in; only you see the answer,
the rubric, the follow-ups and your notes. Rooms close 12 h after their last change.
"""

LINKS_JS = """(c, p) => {
    const base = location.origin + location.pathname;
    if (p) history.replaceState(null, "", p);
    return [c ? base + c : c, p ? base + p : p];
}"""


@dataclass
class RoomTab:
    """The room tab's handle for the page-load event (``?room=`` links)."""

    load: object
    """``load(query) -> {component: update}`` for a page opened on a room link."""
    outputs: list
    """The components ``load`` may update."""


def build(demo: gr.Blocks) -> RoomTab:
    """The room tab's layout and events."""
    qs = bundled_bank().questions
    menus = choices(qs)
    seat = gr.State(None)
    with gr.Column(visible=True) as setup:
        gr.Markdown(INTRO)
        with gr.Row():
            pick = gr.Dropdown(
                [(f"{q.title} ({q.topic}, {q.difficulty})", q.id) for q in qs],
                multiselect=True,
                label="Questions (in this order)",
                elem_id="room-pick",
            )
            topics = gr.Dropdown(menus["topics"], multiselect=True, label="…or by topic")
            levels = gr.Dropdown(menus["difficulties"], multiselect=True, label="…and difficulty")
        create = gr.Button("Create room", variant="primary", elem_id="room-create")
    status = gr.Markdown(elem_id="room-status")
    with gr.Column(visible=False) as stage:
        clock = gr.Markdown(elem_id="room-clock")
        question = gr.Markdown(latex_delimiters=LATEX, elem_id="room-question")
        hints = gr.Markdown(latex_delimiters=LATEX, elem_id="room-hints")
        with gr.Column(elem_id="room-demo"):
            note = gr.Markdown()
            images = gr.Gallery(label="Demo", columns=4, height="auto", visible=False)
            figure = gr.Plot(label="Demo plot", visible=False)
            text = gr.Markdown(latex_delimiters=LATEX)
        answer = gr.Textbox(
            label="The candidate's answer (the presenter sees it as it is typed)",
            lines=5,
            max_length=rm.MAX_TEXT_CHARS,
            elem_id="room-answer",
        )
    with gr.Column(visible=False, elem_id="room-presenter") as presenter:
        with gr.Row():
            cand_link = gr.Textbox(
                label="Candidate link (send this)", elem_id="room-candidate-link", buttons=["copy"]
            )
            pres_link = gr.Textbox(
                label="Presenter link (keep this: it carries your key)",
                elem_id="room-presenter-link",
                buttons=["copy"],
            )
        with gr.Row():
            hint_btn = gr.Button("Release next hint", elem_id="room-next-hint")
            push_btn = gr.Button("Push the demo to both screens", elem_id="room-push-demo")
            hint_count = gr.Markdown(elem_id="room-hint-count")
        with gr.Row():
            prev_btn = gr.Button("◀ Previous", elem_id="room-previous")
            skip_btn = gr.Button("Skip", elem_id="room-skip")
            next_btn = gr.Button("Next ▶", variant="primary", elem_id="room-next")
            finish_btn = gr.Button("Finish", variant="stop", elem_id="room-finish")
        gr.Markdown("**Rubric**: mark each key point as the candidate answers")
        marks = [
            gr.Radio(
                list(rm.MARKS), label=f"Point {i + 1}", visible=False, elem_id=f"room-mark-{i}"
            )
            for i in range(MAX_POINTS)
        ]
        notes = gr.Textbox(label="Notes (only you see them)", lines=3, elem_id="room-notes")
        key_md = gr.Markdown(latex_delimiters=LATEX, elem_id="room-answer-key")
        summary = gr.Markdown(buttons=["copy"], elem_id="room-summary")
        summary_btn = gr.Button("Download the summary (.md)", elem_id="room-download")
        summary_out = gr.File(label="Summary", interactive=False, visible=False)
    timer = gr.Timer(POLL_S, active=False)

    shared = [seat, status, clock, question, hints, note, images, figure, text, answer, timer]
    private_outs = [cand_link, pres_link, hint_count, key_md, notes, summary, *marks]
    layout = [setup, stage, presenter]

    def updates(out: dict, presenter_seat: bool) -> dict:
        """Named results -> component updates (``p_`` names dropped unless presenter)."""
        u: dict = {}
        simple = {"status": status, "clock": clock, "question": question, "hints": hints}
        for name, comp in simple.items():
            if name in out:
                u[comp] = out[name]
        if "seat" in out:
            u[seat] = out["seat"]
        if "answer" in out:
            u[answer] = out["answer"]
        if "timer" in out:
            u[timer] = gr.Timer(active=bool(out["timer"]))
        if "demo" in out:
            d = out["demo"]
            u.update(
                {
                    note: d["note"] if d else "",
                    images: gr.Gallery(value=d and d["images"], visible=bool(d and d["images"])),
                    figure: gr.Plot(value=d and d["figure"], visible=bool(d and d["figure"])),
                    text: d["text"] if d else "",
                }
            )
        if not presenter_seat:
            return u
        for name, comp in (
            ("candidate_link", cand_link),
            ("presenter_link", pres_link),
            ("p_hint_count", hint_count),
            ("p_key", key_md),
            ("p_notes", notes),
            ("p_summary", summary),
        ):
            if name in out:
                u[comp] = out[name]
        if "p_marks" in out:
            rows = out["p_marks"]
            for i, radio in enumerate(marks):
                if i < len(rows):
                    point, mark = rows[i]
                    u[radio] = gr.Radio(value=mark, label=f"{i + 1}. {_plain(point)}", visible=True)
                else:
                    u[radio] = gr.Radio(value=None, visible=False)
        return u

    def entered(out: dict, as_presenter: bool) -> dict:
        """Updates for a seat taking its place: layout shown, timer on."""
        u = updates(out, as_presenter)
        u.update({setup: gr.Column(visible=False), stage: gr.Column(visible=True)})
        u[timer] = gr.Timer(active=True)
        if as_presenter:
            u[presenter] = gr.Column(visible=True)
        return u

    def load(query) -> dict:
        """A page opened on ``?room=<code>[&key=<key>]``."""
        try:
            s = open_seat(query.get("room"), query.get("key"))
            snap = store().open(s["code"])
        except RoomError as err:
            gr.Warning(str(err))
            return {status: f"**{html.escape(str(err))}**"}
        as_presenter = bool(s["key"])
        out = view(s, snap, presenter=as_presenter)
        if as_presenter:
            out["candidate_link"] = f"?room={s['code']}"
            out["presenter_link"] = f"?room={s['code']}&key={s['key']}"
        return entered(out, as_presenter)

    everything = [*shared, *private_outs, *layout]
    private = {
        "api_visibility": "private",
        **QUIET,
        "concurrency_id": ROOM_CONCURRENCY_ID,  # never behind a model demo (kit.ui.server)
        "concurrency_limit": ROOM_CONCURRENCY_LIMIT,
    }

    def on_create(p, t, lv, request: gr.Request):
        return entered(user_errors(create_room)(p, t, lv, request), True)

    create.click(on_create, [pick, topics, levels], everything, **private).success(
        None, [cand_link, pres_link], [cand_link, pres_link], js=LINKS_JS, **private
    )

    def on_poll(s):
        out = poll(s)
        return updates(out, bool(s and s.get("key")))

    timer.tick(on_poll, [seat], [*shared, *private_outs], **private)

    def action(change):
        def handler(s):
            return updates(user_errors(presenter_action)(s, change), True)

        return handler

    now = now_utc
    steps = {
        hint_btn: lambda st, q: rm.reveal_hint(st, q),
        push_btn: lambda st, q: rm.push_demo(st, q),
        prev_btn: lambda st, q: rm.move(st, -1, now()),
        skip_btn: lambda st, q: rm.move(st, +1, now(), skip=True),
        next_btn: lambda st, q: rm.move(st, +1, now()),
        finish_btn: lambda st, q: rm.finish(st, now()),
    }
    for btn, change in steps.items():
        btn.click(action(change), [seat], [*shared, *private_outs], **private)

    for i, radio in enumerate(marks):
        radio.input(_mark_handler(i, seat), [seat, radio], [seat], **private)

    def on_notes(s, value):
        if not is_presenter(s):
            return {}
        try:
            snap = store().update(s["code"], lambda st: rm.set_notes(st, s["current"], value))
        except (RoomError, rm.RoomStateError):
            return {}
        return {seat: {**s, "version": snap.version}}

    notes.input(on_notes, [seat, notes], [seat], trigger_mode="always_last", **private)

    def on_answer(s, value):
        out = type_answer(s, value)
        return {seat: out["seat"]} if "seat" in out else {}

    answer.input(on_answer, [seat, answer], [seat], trigger_mode="always_last", **private)
    summary_btn.click(shown_file(summary_file), [seat], [summary_out], **private)
    return RoomTab(load=load, outputs=everything)


def _plain(markdown: str) -> str:
    """A key point as a radio label (labels are plain text: markdown marks dropped)."""
    return markdown.replace("**", "").replace("`", "")


def _mark_handler(index: int, seat: gr.State):
    def handler(s, value):
        if not is_presenter(s):
            raise gr.Error("Only the presenter can mark the rubric.", title="Not the presenter")

        def change(st):
            qid = rm.current_id(st)
            if qid is None or st["current"] != s["current"]:
                raise rm.RoomStateError("The question changed: mark it again.")
            return rm.set_mark(st, _question(qid), index, value)

        try:
            snap = store().update(s["code"], change)
        except (RoomError, rm.RoomStateError) as err:
            raise gr.Error(str(err), title="Room") from None
        return {seat: {**s, "version": snap.version}}

    return handler
