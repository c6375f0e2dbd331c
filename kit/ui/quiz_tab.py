"""Quiz tab: study cards with spaced repetition, run live interviews, load your own questions.

Per-user state: the study progress lives in the visitor's browser (``gr.BrowserState``, so it
survives a reload and a server restart); the card on screen, the interview session and any
uploaded questions live in ``gr.State`` (this page only). Nothing per-user is kept in module
globals; the bundled bank is read-only and cached.

The handlers are plain functions of their inputs (tests call them without a browser); the
layout and the event wiring come after them.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import gradio as gr

from kit.demos.registry import all_demos
from kit.quiz import interview as iv
from kit.quiz.anki import to_anki_csv
from kit.quiz.parse import load_bank, load_upload
from kit.quiz.progress import (
    ProgressError,
    export_progress,
    grade,
    import_progress,
    stats,
    validate_progress,
)
from kit.quiz.record import Question
from kit.quiz.study import (
    RATINGS,
    answer_html,
    choices,
    coverage_html,
    filter_questions,
    hints_html,
    next_card,
    question_html,
    run_demo,
)
from kit.ui.errors import user_errors
from kit.ui.links import DemoLink, demo_links, linked_components
from kit.ui.widgets import LATEX

INTRO = r"""
### Quiz: interview questions, each answer backed by a live demo
**Study** on your own: type an answer, reveal the model answer, see which key points you
covered, grade yourself, and the FSRS scheduler decides when the card comes back (progress is
kept in this browser). **Interview** is for a person running a walkthrough: the question large,
a timer, hints one at a time, a rubric and notes, and a summary to download. Every answer has a
**Run the demo** button that opens the demo proving it, e.g. the ELBO
$\log p(x) \ge \mathbb{E}_{q}[\log p(x\mid z)] - \mathrm{KL}(q(z\mid x)\,\|\,p(z))$.
"""

# BrowserState encrypts what it stores with this secret; a fixed one lets progress survive a
# server restart. It guards nothing secret (the visitor's own study record, in their browser).
STATE_SECRET = os.environ.get("LATENT_LAB_STATE_SECRET", "latent-lab-quiz-progress-v1")
STORAGE_KEY = "latent-lab-quiz-progress"
EXPORT_DIR = Path(tempfile.gettempdir()) / "latent-lab-exports"
EXPORT_MAX_AGE_S = 600  # exported files are written here and pruned after ten minutes
# the interview question is read from a shared screen: large type (passed to launch(css=...))
CSS = "#interview-stage { font-size: 1.25rem; line-height: 1.5; }"


def _now() -> datetime:
    return datetime.now(timezone.utc)


@lru_cache(maxsize=1)
def bundled_bank():
    """The bundled question bank (read-only, loaded once per process)."""
    return load_bank()


def all_questions(user_questions: list[Question] | None) -> list[Question]:
    return [*bundled_bank().questions, *(user_questions or [])]


def find_question(question_id: str | None, user_questions) -> Question:
    for q in all_questions(user_questions):
        if q.id == question_id:
            return q
    raise gr.Error("No question is on screen yet: press Next card first.", title="No card")


def _export_file(name: str, text: str) -> str:
    """Write ``text`` to a fresh file for download; prune old exports so the folder stays small."""
    EXPORT_DIR.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - EXPORT_MAX_AGE_S
    for old in EXPORT_DIR.glob("*/*"):
        try:  # another request may be pruning the same files
            if old.stat().st_mtime < cutoff:
                old.unlink()
                old.parent.rmdir()  # one file per folder
        except OSError:
            pass
    folder = EXPORT_DIR / uuid.uuid4().hex
    folder.mkdir()
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# ---- study mode -------------------------------------------------------------------------------


def load_progress(stored) -> dict:
    """The visitor's saved progress, checked; a corrupted value starts fresh with a warning."""
    loaded = validate_progress(stored)
    if loaded.warning:
        gr.Warning(loaded.warning)
    return loaded.progress


def stats_markdown(progress: dict, user_questions=None) -> str:
    return stats(progress, all_questions(user_questions), _now()).markdown()


def filter_choices(user_questions=None) -> dict:
    return choices(all_questions(user_questions))


def show_next_card(progress, topics, difficulties, tags, current=None, user_questions=None):
    """The next due card under the filters (named outputs); the answer side hidden again."""
    progress = load_progress(progress)
    pool = filter_questions(all_questions(user_questions), topics, difficulties, tags)
    if not pool:
        raise gr.Error("No question matches these filters: clear one of them.", title="No cards")
    pick = next_card(pool, progress, _now(), skip=current)
    if pick.question_id is None:
        when = pick.next_due.strftime("%Y-%m-%d %H:%M UTC") if pick.next_due else "later"
        front = (
            f"<h3>All caught up</h3><p>None of the {len(pool)} cards under these filters is due."
            f" The next one comes back at {when}. Widen the filters to study more.</p>"
        )
        return {"current": None, "front": front, "due": _due_line(0, len(pool))}
    q = next(q for q in pool if q.id == pick.question_id)
    return {
        "current": q.id,
        "front": question_html(q),
        "due": _due_line(pick.due_count, len(pool)),
    }


def _due_line(due: int, total: int) -> str:
    return f"**{due}** of {total} cards under these filters are due (new cards count as due)."


def reveal_answer(current, typed, user_questions=None) -> dict:
    """The back of the card: model answer, key-point coverage of what was typed, follow-ups."""
    q = find_question(current, user_questions)
    return {"back": coverage_html(q, typed) + answer_html(q), "hint_count": len(q.hints)}


def show_hint(current, shown, user_questions=None) -> dict:
    q = find_question(current, user_questions)
    shown = min(int(shown or 0) + 1, len(q.hints))
    return {"hints": hints_html(q, shown), "shown": shown}


def grade_card(progress, current, rating, user_questions=None) -> dict:
    """Record a self-grade; returns the new progress and stats (the input is not modified)."""
    q = find_question(current, user_questions)
    if rating not in RATINGS:
        raise gr.Error(f"A grade is one of {', '.join(RATINGS)}.", title="Check the input")
    new = grade(load_progress(progress), q.id, q.topic, rating, _now())
    return {"progress": new, "stats": stats_markdown(new, user_questions)}


def export_progress_file(progress) -> str:
    return _export_file("latent-lab-progress.json", export_progress(load_progress(progress)))


def import_progress_file(path, user_questions=None) -> dict:
    """Replace the progress with an exported file's; a bad file changes nothing."""
    if not path:
        raise gr.Error("Choose a progress file (.json) first.", title="Nothing to import")
    try:
        data = Path(path).read_bytes()
        new = import_progress(data)
    except (OSError, ProgressError) as err:
        raise gr.Error(
            f"That progress file was not imported: {err}", title="Import failed"
        ) from None
    gr.Info(f"Imported {len(new['cards'])} cards and {len(new['reviews'])} reviews.")
    return {"progress": new, "stats": stats_markdown(new, user_questions)}


# ---- your own questions, export ---------------------------------------------------------------


def upload_questions(paths, user_questions=None) -> dict:
    """Validate uploaded question files; the valid ones join this page's bank."""
    if not paths:
        raise gr.Error("Choose one or more .md question files first.", title="Nothing uploaded")
    paths = paths if isinstance(paths, list) else [paths]
    md = [p for p in paths if str(p).lower().endswith(".md")]  # a folder may hold other files
    if not md:
        raise gr.Error("No .md question files in that upload.", title="Nothing to add")
    skipped = len(paths) - len(md)
    bank = load_upload(md, [q.id for q in bundled_bank().questions])
    problems = [str(p) for p in bank.problems]
    kept = {q.id: q for q in user_questions or []}
    kept.update({q.id: q for q in bank.questions})
    mine = list(kept.values())
    report = [
        f"Loaded **{len(bank.questions)}** question(s); you now have {len(mine)} of your own."
    ]
    if skipped:
        report.append(f"Skipped {skipped} file(s) that are not `.md`.")
    if problems:
        report.append(f"**{len(problems)} problem(s)**, each as `file:line: what is wrong`:")
        report.append("```\n" + "\n".join(problems) + "\n```")
        gr.Warning(f"{len(problems)} problem(s) in the upload: {problems[0]}")
    return {"user_questions": mine, "report": "\n\n".join(report)}


def bank_table(user_questions=None) -> str:
    rows = ["| id | title | topic | difficulty | demo |", "|---|---|---|---|---|"]
    for q in all_questions(user_questions):
        title = q.title.replace("|", "\\|")
        rows.append(f"| `{q.id}` | {title} | {q.topic} | {q.difficulty} | `{q.demo}` |")
    return "\n".join(rows)


def anki_file(user_questions=None) -> str:
    return _export_file("latent-lab-anki.csv", to_anki_csv(all_questions(user_questions)))


# ---- interview mode ---------------------------------------------------------------------------


def question_choices(user_questions=None) -> list[tuple[str, str]]:
    return [(f"{q.title} ({q.topic}, {q.difficulty})", q.id) for q in all_questions(user_questions)]


def start_interview(picked, topics, user_questions=None) -> dict:
    """A session over the picked questions, else every question of the picked topics."""
    qs = all_questions(user_questions)
    ids = list(picked or []) or [q.id for q in qs if q.topic in set(topics or [])]
    known = {q.id for q in qs}
    ids = [i for i in ids if i in known]
    if not ids:
        raise gr.Error("Pick at least one question or topic first.", title="Nothing to ask")
    session = iv.start_session(ids[: iv.MAX_QUESTIONS], _now())
    return {"session": session, **interview_view(session, user_questions)}


def interview_view(session, user_questions=None) -> dict:
    """What the interviewer sees for the question on screen (or the summary at the end)."""
    if session is None:
        return {"stage": "<p><em>Pick questions and press Start.</em></p>", "summary": ""}
    by_id = {q.id: q for q in all_questions(user_questions)}
    if iv.is_finished(session):
        text = iv.summary_markdown(session, by_id, _now())
        return {
            "stage": "<h3>Session finished</h3><p>The summary is below: copy or download it.</p>",
            "summary": text,
            "rubric": gr.CheckboxGroup(choices=[], value=[]),
            "hints": "",
            "follow_ups": "",
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
    session, q = _with_current(session, ticked, notes, user_questions)
    session = iv.reveal_hint(session, q)
    return {"session": session, **interview_view(session, user_questions)}


def interview_next(session, ticked, notes, user_questions=None) -> dict:
    session, _ = _with_current(session, ticked, notes, user_questions)
    session = iv.next_question(session, _now())
    return {"session": session, **interview_view(session, user_questions)}


def interview_finish(session, ticked, notes, user_questions=None) -> dict:
    session, _ = _with_current(session, ticked, notes, user_questions)
    session = iv.finish_session(session, _now())
    return {"session": session, **interview_view(session, user_questions)}


def interview_clock(session) -> str:
    """Elapsed time of the whole session and of the question on screen."""
    if session is None:
        return "Timer: not started"
    now = _now()
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
    if session is None:
        raise gr.Error("Start an interview first.", title="No interview running")
    by_id = {q.id: q for q in all_questions(user_questions)}
    return _export_file("interview-summary.md", iv.summary_markdown(session, by_id, _now()))


# ---- "Run the demo" ---------------------------------------------------------------------------


def demo_updates(q: Question, links: dict[str, DemoLink], switch: bool) -> dict:
    """Named results for the quiz's inline demo area, plus the target tab's inputs and outputs.

    Keys are strings for the inline area ("inline_*", "tab") and components for the tab.
    """
    if all_demos()[q.demo].trains:  # too slow inline: set it up, the learner presses Train
        return _set_up_only(q, links, switch)
    preview = run_demo(q)
    out: dict = {
        "inline_note": (
            f"**Demo `{q.demo}`** with {_args_text(q.demo_args)} "
            + ("(also opened in its tab)." if switch else "")
        ),
        "inline_images": preview.images or None,
        "inline_plot": preview.figure,
        "inline_text": preview.text,
    }
    if switch:
        link = links.get(q.demo)
        out["tab"] = gr.Tabs(selected=preview.tab)
        if link is not None:
            for name, comp in link.inputs.items():
                out[comp] = preview.args[name]
            for name, comp in link.outputs.items():
                if name in preview.outputs:
                    out[comp] = preview.outputs[name]
    return out


def _set_up_only(q: Question, links: dict[str, DemoLink], switch: bool) -> dict:
    spec = all_demos()[q.demo]
    out: dict = {
        "inline_note": (
            f"**Demo `{q.demo}`** with {_args_text(q.demo_args)}: it trains a model for a few "
            f"seconds, so it runs in its own tab. "
            + (
                "The settings are filled in there: press **Train**."
                if switch
                else "Press **▶ Run the demo** to open it."
            )
        ),
        "inline_images": None,
        "inline_plot": None,
        "inline_text": "",
    }
    if switch:
        out["tab"] = gr.Tabs(selected=spec.tab)
        link = links.get(q.demo)
        args = {**spec.defaults, **q.demo_args}
        for name, comp in (link.inputs if link else {}).items():
            out[comp] = args[name]
    return out


def _args_text(args: dict) -> str:
    if not args:
        return "its default settings"
    return ", ".join(f"`{k} = {v!r}`" for k, v in args.items())


def _shown_file(make_path):
    """A handler that makes a file and reveals the (initially hidden) File component with it."""

    def handler(*args):
        return gr.File(value=user_errors(make_path)(*args), visible=True)

    handler.__name__ = make_path.__name__
    return handler


# ---- layout and wiring ------------------------------------------------------------------------


def progress_store() -> gr.BrowserState:
    """The visitor's progress in localStorage. Create it outside any tab: a component inside a
    tab that has not been opened yet is not mounted, so it could not be read at page load."""
    return gr.BrowserState(None, storage_key=STORAGE_KEY, secret=STATE_SECRET)


def build(demo: gr.Blocks, tabs: gr.Tabs, progress: gr.BrowserState) -> None:
    """The Quiz tab; ``tabs`` is the app's top-level Tabs (Run the demo switches it) and
    ``progress`` the ``progress_store()`` made at the top level of the page."""
    links = demo_links(demo)  # the demo tabs are built before this one
    first = filter_choices()

    user_questions = gr.State([])
    current = gr.State(None)
    hints_shown = gr.State(0)
    session = gr.State(None)

    gr.Markdown(INTRO, latex_delimiters=LATEX)
    with gr.Tabs():
        with gr.Tab("Study", id="study"):
            with gr.Row():
                with gr.Column(scale=3):
                    with gr.Row():
                        topics = gr.Dropdown(first["topics"], multiselect=True, label="Topics")
                        difficulties = gr.Dropdown(
                            first["difficulties"], multiselect=True, label="Difficulty"
                        )
                        tags = gr.Dropdown(first["tags"], multiselect=True, label="Tags")
                    due = gr.Markdown()
                    front = gr.Markdown(latex_delimiters=LATEX, elem_id="quiz-front")
                    typed = gr.Textbox(
                        label="Your answer (optional: type it before you reveal)",
                        lines=4,
                        max_length=5000,
                    )
                    with gr.Row():
                        next_btn = gr.Button("Next card", variant="primary")
                        hint_btn = gr.Button("Hint")
                        reveal_btn = gr.Button("Reveal answer")
                    hints = gr.Markdown(latex_delimiters=LATEX)
                    back = gr.Markdown(latex_delimiters=LATEX, elem_id="quiz-back")
                    with gr.Row():
                        run_btn = gr.Button("▶ Run the demo", variant="primary")
                        preview_btn = gr.Button("Preview the demo here")
                    with gr.Column(elem_id="quiz-demo"):
                        inline_note = gr.Markdown()
                        inline_images = gr.Gallery(
                            label="Demo output",
                            columns=4,
                            height="auto",
                            object_fit="contain",
                            visible=False,
                        )
                        inline_plot = gr.Plot(label="Demo plot", visible=False)
                        inline_text = gr.Markdown(latex_delimiters=LATEX)
                    gr.Markdown("**How well did you know it?** (the next card follows)")
                    with gr.Row():
                        grade_btns = {r: gr.Button(r.capitalize()) for r in RATINGS}
                with gr.Column(scale=2):
                    stats_md = gr.Markdown(elem_id="quiz-stats")
                    with gr.Accordion("Save or move your progress", open=False):
                        export_btn = gr.Button("Export progress (.json)")
                        export_file = gr.File(
                            label="Your progress file", interactive=False, visible=False
                        )
                        import_btn = gr.UploadButton(
                            "Import progress (.json)", file_types=[".json"], type="filepath"
                        )
        with gr.Tab("Interview", id="interview"):
            with gr.Row():
                pick = gr.Dropdown(
                    question_choices(), multiselect=True, label="Questions (in this order)"
                )
                pick_topics = gr.Dropdown(
                    first["topics"], multiselect=True, label="…or every question of these topics"
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
                iv_hint_btn = gr.Button("Reveal next hint")
                iv_run_btn = gr.Button("▶ Run the demo")
                iv_next_btn = gr.Button("Next question", variant="primary")
                iv_finish_btn = gr.Button("Finish")
            summary = gr.Markdown(buttons=["copy"], elem_id="interview-summary")
            summary_btn = gr.Button("Download the summary (.md)")
            summary_file = gr.File(label="Summary", interactive=False, visible=False)
            timer = gr.Timer(1.0, active=False)
        with gr.Tab("Question bank", id="bank"):
            with gr.Row():
                with gr.Column():
                    upload = gr.File(
                        label="Add your own question files (.md, up to 64 KB each)",
                        file_count="multiple",
                        file_types=[".md"],
                        type="filepath",
                        elem_id="quiz-upload",
                    )
                    with gr.Row():
                        upload_btn = gr.Button("Check and add", variant="primary")
                        folder_btn = gr.UploadButton(
                            "…or add a whole folder", file_count="directory", type="filepath"
                        )
                    upload_report = gr.Markdown()
                with gr.Column():
                    anki_btn = gr.Button("Export the bank for Anki (.csv)")
                    anki_out = gr.File(label="Anki CSV", interactive=False, visible=False)
            table = gr.Markdown(bank_table())

    # ---- wiring -------------------------------------------------------------------------------
    private = {"api_visibility": "private"}
    card = {"current": current, "front": front, "due": due}
    filters = [progress, topics, difficulties, tags, current, user_questions]

    def next_fn(*args):
        out = user_errors(show_next_card)(*args)
        return {
            **{card[k]: v for k, v in out.items()},
            typed: "",
            back: "",
            hints: "",
            hints_shown: 0,
        }

    card_outputs = [*card.values(), typed, back, hints, hints_shown]
    next_btn.click(next_fn, filters, card_outputs, **private)
    for f in (topics, difficulties, tags):
        f.input(next_fn, filters, card_outputs, **private)

    def on_load(stored):  # reads the stored progress; writes it only when the learner grades
        p = load_progress(stored)
        return {stats_md: stats_markdown(p), **next_fn(p, [], [], [], None, [])}

    demo.load(on_load, [progress], [stats_md, *card_outputs], **private)

    def reveal_fn(cur, text, mine):
        return {back: user_errors(reveal_answer)(cur, text, mine)["back"]}

    reveal_btn.click(reveal_fn, [current, typed, user_questions], [back], **private)

    def hint_fn(cur, shown, mine):
        out = user_errors(show_hint)(cur, shown, mine)
        return {hints: out["hints"], hints_shown: out["shown"]}

    hint_btn.click(hint_fn, [current, hints_shown, user_questions], [hints, hints_shown], **private)

    for rating, btn in grade_btns.items():

        def grade_fn(p, cur, mine, rating=rating):
            out = user_errors(grade_card)(p, cur, rating, mine)
            return {progress: out["progress"], stats_md: out["stats"]}

        btn.click(
            grade_fn, [progress, current, user_questions], [progress, stats_md], **private
        ).success(next_fn, filters, card_outputs, **private)

    export_btn.click(_shown_file(export_progress_file), [progress], [export_file], **private)

    def import_fn(path, mine):
        out = user_errors(import_progress_file)(path, mine)
        return {progress: out["progress"], stats_md: out["stats"]}

    import_btn.upload(import_fn, [import_btn, user_questions], [progress, stats_md], **private)

    # Run the demo: the inline area under the answer, and (Run) the demo's own tab
    inline = {
        "inline_note": inline_note,
        "inline_images": inline_images,
        "inline_plot": inline_plot,
        "inline_text": inline_text,
        "tab": tabs,
    }
    tab_components = linked_components(links)

    def run_fn(question_id, mine, switch: bool):
        q = find_question(question_id, mine)
        out = user_errors(demo_updates)(q, links, switch)
        # show only the panes this demo fills
        out["inline_images"] = gr.Gallery(
            value=out["inline_images"], visible=out["inline_images"] is not None
        )
        out["inline_plot"] = gr.Plot(
            value=out["inline_plot"], visible=out["inline_plot"] is not None
        )
        return {inline[k] if isinstance(k, str) else k: v for k, v in out.items()}

    run_outputs = [*inline.values(), *tab_components]
    run_btn.click(
        lambda cur, mine: run_fn(cur, mine, True), [current, user_questions], run_outputs, **private
    )
    preview_btn.click(
        lambda cur, mine: run_fn(cur, mine, False),
        [current, user_questions],
        run_outputs,
        **private,
    )

    # interview
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
            }

        return handler

    iv_outputs = [*stage_outputs.values(), timer, clock]
    start_btn.click(
        iv_handler(start_interview), [pick, pick_topics, user_questions], iv_outputs, **private
    )
    step_inputs = [session, rubric, notes, user_questions]
    iv_hint_btn.click(iv_handler(interview_hint), step_inputs, iv_outputs, **private)
    iv_next_btn.click(iv_handler(interview_next), step_inputs, iv_outputs, **private)
    iv_finish_btn.click(iv_handler(interview_finish), step_inputs, iv_outputs, **private)
    timer.tick(interview_clock, [session], [clock], queue=False, **private)
    summary_btn.click(
        _shown_file(interview_summary_file), [session, user_questions], [summary_file], **private
    )

    def iv_run_fn(sess, mine):
        if sess is None or iv.is_finished(sess):
            raise gr.Error("Start an interview first.", title="No interview running")
        return run_fn(iv.current_id(sess), mine, True)

    iv_run_btn.click(iv_run_fn, [session, user_questions], run_outputs, **private)

    # question bank
    def upload_fn(paths, mine):
        out = user_errors(upload_questions)(paths, mine)
        menus = filter_choices(out["user_questions"])
        return {
            user_questions: out["user_questions"],
            upload_report: out["report"],
            table: bank_table(out["user_questions"]),
            topics: gr.Dropdown(choices=menus["topics"]),
            tags: gr.Dropdown(choices=menus["tags"]),
            pick: gr.Dropdown(choices=question_choices(out["user_questions"])),
            pick_topics: gr.Dropdown(choices=menus["topics"]),
        }

    bank_outputs = [user_questions, upload_report, table, topics, tags, pick, pick_topics]
    upload_btn.click(upload_fn, [upload, user_questions], bank_outputs, **private)
    folder_btn.upload(upload_fn, [folder_btn, user_questions], bank_outputs, **private)
    anki_btn.click(_shown_file(anki_file), [user_questions], [anki_out], **private)
