"""Quiz · Interview: a walkthrough for an interviewer, question by question, with a timer,
hints one at a time, a rubric, notes and a summary to download.

Handlers first (plain functions of the session, returning named results), then ``build``.
"""

from __future__ import annotations

from datetime import datetime

import gradio as gr

from kit.quiz import interview as iv
from kit.quiz.study import hints_html, question_html
from kit.ui.errors import user_errors
from kit.ui.links import QUIET, DemoLink
from kit.ui.quiz_demo import demo_panel, drill_button, wire_panel
from kit.ui.quiz_tab import all_questions, export_file, find_question, now_utc, shown_file
from kit.ui.widgets import LATEX


def question_choices(user_questions=None) -> list[tuple[str, str]]:
    """(label, id) of every question, for the interviewer's picker."""
    return [(f"{q.title} ({q.topic}, {q.difficulty})", q.id) for q in all_questions(user_questions)]


def start_interview(picked, topics, user_questions=None) -> dict:
    """A session over the picked questions, else every question of the picked topics."""
    qs = all_questions(user_questions)
    ids = list(picked or []) or [q.id for q in qs if q.topic in set(topics or [])]
    known = {q.id for q in qs}
    ids = [i for i in ids if i in known]
    if not ids:
        raise gr.Error("Pick at least one question or topic first.", title="Nothing to ask")
    session = iv.start_session(ids[: iv.MAX_QUESTIONS], now_utc())
    return {"session": session, **interview_view(session, user_questions)}


def interview_view(session, user_questions=None) -> dict:
    """What the interviewer sees for the question on screen (or the summary at the end)."""
    if session is None:
        return {"stage": "<p><em>Pick questions and press Start.</em></p>", "summary": ""}
    by_id = {q.id: q for q in all_questions(user_questions)}
    if iv.is_finished(session):
        text = iv.summary_markdown(session, by_id, now_utc())
        return {
            "stage": "<h3>Session finished</h3><p>The summary is below: copy or download it.</p>",
            "summary": text,
            "rubric": gr.CheckboxGroup(choices=[], value=[]),
            "hints": "",
            "follow_ups": "",
            "drill": None,
        }
    qid = iv.current_id(session)
    q = by_id[qid]
    item = next(i for i in session["items"] if i["id"] == qid)
    position = f"Question {session['current'] + 1} of {len(session['items'])}"
    follow = "".join(f"<li>{f}</li>" for f in map(_inline, q.follow_ups))
    return {
        "stage": f"<p>{position}</p>" + question_html(q, large=True),
        "hints": hints_html(q, item["hints"]),
        "rubric": gr.CheckboxGroup(
            choices=[(p, i) for i, p in enumerate(q.key_points)], value=list(item["ticked"])
        ),
        "follow_ups": f"<h4>Follow-ups</h4><ul>{follow}</ul>",
        "notes": item["notes"],
        "summary": "",
        "drill": q.drill,
    }


def _inline(text: str) -> str:
    from kit.quiz.render import render_markdown

    return render_markdown(text)


def _with_current(session, ticked, notes, user_questions):
    """Store the rubric ticks and notes on screen into the session before moving on."""
    if session is None or iv.is_finished(session):
        raise gr.Error("Start an interview first.", title="No interview running")
    q = find_question(iv.current_id(session), user_questions)
    session = iv.tick_points(session, q, ticked or [])
    return iv.save_notes(session, notes), q


def interview_hint(session, ticked, notes, user_questions=None) -> dict:
    """Release the next hint of the question on screen (ticks and notes kept)."""
    session, q = _with_current(session, ticked, notes, user_questions)
    session = iv.reveal_hint(session, q)
    return {"session": session, **interview_view(session, user_questions)}


def interview_next(session, ticked, notes, user_questions=None) -> dict:
    """Move to the next question (ticks and notes of this one kept)."""
    session, _ = _with_current(session, ticked, notes, user_questions)
    session = iv.next_question(session, now_utc())
    return {"session": session, **interview_view(session, user_questions)}


def interview_finish(session, ticked, notes, user_questions=None) -> dict:
    """End the session and show its summary."""
    session, _ = _with_current(session, ticked, notes, user_questions)
    session = iv.finish_session(session, now_utc())
    return {"session": session, **interview_view(session, user_questions)}


def interview_clock(session) -> str:
    """Elapsed time of the whole session and of the question on screen."""
    if session is None:
        return "Timer: not started"
    now = now_utc()
    started = datetime.fromisoformat(session["started"])
    end = datetime.fromisoformat(session["finished"]) if session["finished"] else now
    total = iv.format_duration((end - started).total_seconds())
    if session["finished"]:
        return f"Timer: finished after {total}"
    entered = datetime.fromisoformat(session["entered"])
    return (
        f"⏱ {total} in all · {iv.format_duration((now - entered).total_seconds())} on this question"
    )


def interview_summary_file(session, user_questions=None) -> str:
    """The session's summary as a markdown file for download (its path)."""
    if session is None:
        raise gr.Error("Start an interview first.", title="No interview running")
    by_id = {q.id: q for q in all_questions(user_questions)}
    return export_file("interview-summary.md", iv.summary_markdown(session, by_id, now_utc()))


def _current_question(session) -> str:
    if session is None or iv.is_finished(session):
        raise gr.Error("Start an interview first.", title="No interview running")
    return iv.current_id(session)


# ---- layout and wiring ------------------------------------------------------------------------


def build(
    user_questions: gr.State,
    links: dict[str, DemoLink],
    goto: gr.Textbox,
    anchor: gr.Textbox,
    drill_picker: gr.Dropdown | None = None,
) -> dict:
    """The Interview sub-tab's layout and events (``drill_picker``: the Code drills tab's
    picker); returns its question pickers by name (the bank refreshes their choices when
    questions are added)."""
    from kit.quiz.study import choices

    topics = choices(all_questions(None))["topics"]
    session = gr.State(None)
    with gr.Row():
        pick = gr.Dropdown(question_choices(), multiselect=True, label="Questions (in this order)")
        pick_topics = gr.Dropdown(
            topics, multiselect=True, label="…or every question of these topics"
        )
        start_btn = gr.Button("Start interview", variant="primary", scale=0)
    clock = gr.Markdown("Timer: not started", elem_id="interview-clock")
    stage = gr.Markdown(latex_delimiters=LATEX, elem_id="interview-stage")
    with gr.Row():
        with gr.Column(scale=3):
            iv_hints = gr.Markdown(latex_delimiters=LATEX)
            rubric = gr.CheckboxGroup(
                [], type="value", label="Rubric: key points the candidate covered"
            )
            notes = gr.Textbox(label="Notes", lines=4, max_length=iv.MAX_NOTES_CHARS)
        with gr.Column(scale=2):
            follow_ups = gr.Markdown(latex_delimiters=LATEX)
    with gr.Row():
        hint_btn = gr.Button("Reveal next hint")
        next_btn = gr.Button("Next question", variant="primary")
        finish_btn = gr.Button("Finish")
    panel = demo_panel(prefix="interview-")
    summary = gr.Markdown(buttons=["copy"], elem_id="interview-summary")
    summary_btn = gr.Button("Download the summary (.md)")
    summary_file = gr.File(label="Summary", interactive=False, visible=False)
    timer = gr.Timer(1.0, active=False)

    private = {"api_visibility": "private", **QUIET}  # quick: no spinner, no statuses kept
    stage_outputs = {
        "session": session,
        "stage": stage,
        "hints": iv_hints,
        "rubric": rubric,
        "follow_ups": follow_ups,
        "notes": notes,
        "summary": summary,
    }

    def iv_handler(fn):
        def handler(*args):
            out = user_errors(fn)(*args)
            running = out["session"] is not None and not iv.is_finished(out["session"])
            return {
                **{stage_outputs[k]: v for k, v in out.items() if k in stage_outputs},
                timer: gr.Timer(active=running),
                clock: interview_clock(out["session"]),
                panel.note: "",
                panel.images: gr.Gallery(value=None, visible=False),
                panel.figure: gr.Plot(value=None, visible=False),
                panel.text: "",
                panel.drill_btn: drill_button(out.get("drill")),
            }

        return handler

    inline = [panel.note, panel.images, panel.figure, panel.text]
    iv_outputs = [*stage_outputs.values(), timer, clock, *inline, panel.drill_btn]
    start_btn.click(
        iv_handler(start_interview), [pick, pick_topics, user_questions], iv_outputs, **private
    )
    step_inputs = [session, rubric, notes, user_questions]
    hint_btn.click(iv_handler(interview_hint), step_inputs, iv_outputs, **private)
    next_btn.click(iv_handler(interview_next), step_inputs, iv_outputs, **private)
    finish_btn.click(iv_handler(interview_finish), step_inputs, iv_outputs, **private)
    timer.tick(interview_clock, [session], [clock], **private)
    summary_btn.click(
        shown_file(interview_summary_file),
        [session, user_questions],
        [summary_file],
        api_visibility="private",
    )
    wire_panel(
        panel, _current_question, [session], links, goto, anchor, find_question, user_questions,
        drill_picker,
    )  # fmt: skip
    return {"pick": pick, "pick_topics": pick_topics}
