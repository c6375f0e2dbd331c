"""Quiz · Study: the next due card, hints, reveal with key-point coverage, self-grading (FSRS).

Handlers first (plain functions of their inputs, returning named results), then ``build``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from kit.quiz.progress import (
    ProgressError,
    check_progress,
    export_progress,
    grade,
    import_progress,
    stats,
    validate_progress,
)
from kit.quiz.schedule import RATINGS
from kit.quiz.study import (
    answer_html,
    choices,
    coverage_html,
    filter_questions,
    grade_previews,
    hints_html,
    next_card,
    question_html,
)
from kit.ui.errors import user_errors
from kit.ui.links import QUIET, DemoLink
from kit.ui.quiz_demo import demo_panel, drill_button, wire_panel
from kit.ui.quiz_tab import (
    all_questions,
    export_file,
    find_question,
    now_utc,
    shown_file,
)
from kit.ui.widgets import LATEX


def load_progress(stored) -> dict:
    """The visitor's saved progress, checked; a corrupted value starts fresh with a warning."""
    loaded = validate_progress(stored)
    if loaded.warning:
        gr.Warning(loaded.warning)
    return loaded.progress


def stats_markdown(progress: dict, user_questions=None) -> str:
    """The study statistics (due, new, reviewed, streak, accuracy) as markdown."""
    return stats(progress, all_questions(user_questions), now_utc()).markdown()


def filter_choices(user_questions=None) -> dict:
    """The filter menus (topics, difficulties, tags) for these questions."""
    return choices(all_questions(user_questions))


def show_next_card(progress, topics, difficulties, tags, current=None, user_questions=None):
    """The next due card under the filters (named outputs); the answer side hidden again."""
    progress = load_progress(progress)
    pool = filter_questions(all_questions(user_questions), topics, difficulties, tags)
    if not pool:
        raise gr.Error("No question matches these filters: clear one of them.", title="No cards")
    pick = next_card(pool, progress, now_utc(), skip=current)
    if pick.question_id is None:
        when = pick.next_due.strftime("%Y-%m-%d %H:%M UTC") if pick.next_due else "later"
        front = (
            f"<h3>All caught up</h3><p>None of the {len(pool)} cards under these filters is due."
            f" The next one comes back at {when}. Widen the filters to study more.</p>"
        )
        return {"current": None, "front": front, "due": _due_line(0, 0, len(pool)), "drill": None}
    q = next(q for q in pool if q.id == pick.question_id)
    new = sum(1 for c in pool if c.id not in progress["cards"])
    return {
        "current": q.id,
        "front": question_html(q),
        "due": _due_line(pick.due_count - new, new, len(pool)),
        "previews": grade_previews(progress, q.id, now_utc()),
        "drill": q.drill,
    }


def _due_line(due: int, new: int, total: int) -> str:
    """The main line, counted as the side panel counts: due reviews, then new cards."""
    return f"**{due} due** · {new} new · {total} cards under these filters."


def grade_labels(previews: dict | None) -> dict:
    """Each grade button's label with when the card would come back, e.g. "Good · 3 days"."""
    return {r: f"{r.capitalize()} · {previews[r]}" if previews else r.capitalize() for r in RATINGS}


def reveal_answer(current, typed, user_questions=None) -> dict:
    """The back of the card: model answer, key-point coverage of what was typed, follow-ups."""
    q = find_question(current, user_questions)
    return {"back": coverage_html(q, typed) + answer_html(q), "hint_count": len(q.hints)}


def show_hint(current, shown, user_questions=None) -> dict:
    """One more hint of the card on screen, and how many are shown now."""
    q = find_question(current, user_questions)
    shown = min(int(shown or 0) + 1, len(q.hints))
    return {"hints": hints_html(q, shown), "shown": shown}


def grade_card(progress, current, rating, user_questions=None) -> dict:
    """Record a self-grade; returns the new progress and stats (the input is not modified)."""
    q = find_question(current, user_questions)
    if rating not in RATINGS:
        raise gr.Error(f"A grade is one of {', '.join(RATINGS)}.", title="Check the input")
    new = grade(load_progress(progress), q.id, q.topic, rating, now_utc())
    return {"progress": new, "stats": stats_markdown(new, user_questions)}


def undo_grade(last, user_questions=None) -> dict:
    """Put back the progress from before the last grade, and that card on screen."""
    if not last:
        raise gr.Error("There is no grade to undo yet.", title="Nothing to undo")
    progress = check_progress(last["progress"])
    q = find_question(last["question"], user_questions)
    return {
        "progress": progress,
        "stats": stats_markdown(progress, user_questions),
        "current": q.id,
        "front": question_html(q),
        "due": f"Undid your grade of **{q.title}**: grade it again.",
        "previews": grade_previews(progress, q.id, now_utc()),
        "drill": q.drill,
    }


def export_progress_file(progress) -> str:
    """The progress as a JSON file for download (its path)."""
    return export_file("latent-lab-progress.json", export_progress(load_progress(progress)))


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


def open_question(question_id: str, progress, user_questions=None) -> dict:
    """The card for one question (a ``?q=<id>`` link), whether or not it is due."""
    for q in all_questions(user_questions):
        if q.id == question_id:
            p = load_progress(progress)
            due = f"Opened from a link: **{q.title}**. Press **Next card** for your due cards."
            return {
                "current": q.id,
                "front": question_html(q),
                "due": due,
                "stats": stats_markdown(p, user_questions),
                "previews": grade_previews(p, q.id, now_utc()),
                "drill_button": drill_button(q.drill),
            }
    raise gr.Error(
        f"There is no question {question_id[:60]!r} in this app: here is your next due card.",
        title="Unknown question",
    )


def _current_card(current) -> str:
    if not current:
        raise gr.Error("No question is on screen yet: press Next card first.", title="No card")
    return current


# ---- layout and wiring ------------------------------------------------------------------------

SCROLL_TO_CARD_JS = """() => {
    const card = document.getElementById("quiz-card");
    if (card) card.scrollIntoView({ block: "start", behavior: "smooth" });
}"""

KEYS_HEAD = """<script>
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
  const t = e.target;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
  const card = document.getElementById("quiz-front");
  if (!card || card.offsetParent === null) return;  // the study card is not on screen
  const ids = { "1": "again", "2": "hard", "3": "good", "4": "easy" };
  const id = ids[e.key] ? "quiz-grade-" + ids[e.key]
    : e.key === " " ? "quiz-reveal" : (e.key === "n" || e.key === "N") ? "quiz-next" : null;
  const button = id && document.getElementById(id);
  if (!button) return;
  e.preventDefault();
  button.click();
});
</script>"""
"""Keys 1-4 grade, Space reveals, N shows the next card, while the study card is on screen and
no text box has the focus (``gr.Blocks(head=...)``)."""


@dataclass
class Study:
    """The study mode's components other builders and the page-load handler use."""

    current: gr.State
    front: gr.Markdown
    due: gr.Markdown
    stats: gr.Markdown
    topics: gr.Dropdown
    difficulties: gr.Dropdown
    tags: gr.Dropdown
    drill_btn: gr.Button
    """The card's "Try it as a code drill" button (shown when the question names a drill)."""
    card_outputs: list
    """What a new card replaces: current, front, due, the typed answer, back, hints, shown, the
    demo panel's results, the drill button and the grade buttons."""
    next_fn: object
    """The handler that puts the next due card on screen (for the quiz tab's first opening)."""
    grade_buttons: list
    """The four grade buttons (again, hard, good, easy)."""
    labels: object
    """``labels(previews) -> {button: update}``: each grade button says when the card returns."""
    cleared: object
    """``cleared() -> {component: update}``: the typed answer, back, hints and inline demo of
    the card on screen emptied (what a new card does; the rest of ``card_outputs`` is not in it)."""


def build(
    progress: gr.BrowserState,
    user_questions: gr.State,
    links: dict[str, DemoLink],
    goto: gr.Textbox,
    anchor: gr.Textbox,
    drill_picker: gr.Dropdown | None = None,
) -> Study:
    """The Study sub-tab's layout and events (``drill_picker``: the Code drills tab's picker)."""
    first = filter_choices()
    current = gr.State(None)
    hints_shown = gr.State(0)
    last_grade = gr.State(None)  # {"progress": before the last grade, "question": its id}
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Row():
                topics = gr.Dropdown(first["topics"], multiselect=True, label="Topics")
                difficulties = gr.Dropdown(
                    first["difficulties"], multiselect=True, label="Difficulty"
                )
                tags = gr.Dropdown(first["tags"], multiselect=True, label="Tags")
            due = gr.Markdown()
            with gr.Column(elem_id="quiz-card"):
                front = gr.Markdown(latex_delimiters=LATEX, elem_id="quiz-front")
                typed = gr.Textbox(
                    label="Your answer (optional: type it before you reveal)",
                    lines=4,
                    max_length=5000,
                )
                with gr.Row():
                    next_btn = gr.Button("Next card", variant="primary", elem_id="quiz-next")
                    hint_btn = gr.Button("Hint", elem_id="quiz-hint")
                    reveal_btn = gr.Button("Reveal answer", elem_id="quiz-reveal")
                hints = gr.Markdown(latex_delimiters=LATEX)
                back = gr.Markdown(latex_delimiters=LATEX, elem_id="quiz-back")
                panel = demo_panel()
            gr.Markdown(
                "**How well did you know it?** (the next card follows; each button says when "
                "this card comes back)  \nKeys: **1**–**4** grade · **Space** reveals · "
                "**N** next card",
                elem_id="quiz-keys",
            )
            with gr.Row():
                grade_btns = {
                    r: gr.Button(r.capitalize(), elem_id=f"quiz-grade-{r}") for r in RATINGS
                }
                undo_btn = gr.Button("↶ Undo last grade", elem_id="quiz-undo", scale=0)
        with gr.Column(scale=2):
            stats_md = gr.Markdown(elem_id="quiz-stats")
            with gr.Accordion("Save or move your progress", open=False):
                export_btn = gr.Button("Export progress (.json)")
                export_out = gr.File(label="Your progress file", interactive=False, visible=False)
                import_btn = gr.UploadButton(
                    "Import progress (.json)", file_types=[".json"], type="filepath"
                )

    private = {"api_visibility": "private", **QUIET}  # quick: no spinner, no statuses kept
    card = {"current": current, "front": front, "due": due}
    filters = [progress, topics, difficulties, tags, current, user_questions]
    inline = [panel.note, panel.images, panel.figure, panel.text]

    def labels(previews):
        return {grade_btns[r]: gr.Button(value=v) for r, v in grade_labels(previews).items()}

    def cleared():
        return {
            typed: "",
            back: "",
            hints: "",
            hints_shown: 0,
            panel.note: "",
            panel.images: gr.Gallery(value=None, visible=False),
            panel.figure: gr.Plot(value=None, visible=False),
            panel.text: "",
            panel.drill_btn: drill_button(None),
        }

    def next_fn(*args):
        out = user_errors(show_next_card)(*args)
        return {
            **{card[k]: v for k, v in out.items() if k in card},
            **labels(out.get("previews")),
            **cleared(),
            panel.drill_btn: drill_button(out.get("drill")),
        }

    card_outputs = [
        *card.values(), typed, back, hints, hints_shown, *inline, panel.drill_btn,
        *grade_btns.values(),
    ]  # fmt: skip
    next_btn.click(next_fn, filters, card_outputs, **private).then(
        None, js=SCROLL_TO_CARD_JS, api_visibility="private"
    )
    for f in (topics, difficulties, tags):
        f.input(next_fn, filters, card_outputs, **private)

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
            before = {"progress": load_progress(p), "question": cur}
            return {progress: out["progress"], stats_md: out["stats"], last_grade: before}

        btn.click(
            grade_fn,
            [progress, current, user_questions],
            [progress, stats_md, last_grade],
            **private,
        ).success(next_fn, filters, card_outputs, **private).then(
            None, js=SCROLL_TO_CARD_JS, api_visibility="private"
        )

    def undo_fn(last, mine):
        out = user_errors(undo_grade)(last, mine)
        return {
            progress: out["progress"],
            stats_md: out["stats"],
            last_grade: None,
            **{card[k]: out[k] for k in card},
            **labels(out["previews"]),
            typed: "",
            back: "",
            hints: "",
            hints_shown: 0,
            panel.drill_btn: drill_button(out["drill"]),
        }

    undo_btn.click(
        undo_fn,
        [last_grade, user_questions],
        [progress, stats_md, last_grade, *card_outputs],
        **private,
    )

    files = {"api_visibility": "private"}  # a file to make or read: the spinner shows
    export_btn.click(shown_file(export_progress_file), [progress], [export_out], **files)

    def import_fn(path, mine):
        out = user_errors(import_progress_file)(path, mine)
        return {progress: out["progress"], stats_md: out["stats"]}

    import_btn.upload(import_fn, [import_btn, user_questions], [progress, stats_md], **files)

    wire_panel(
        panel, _current_card, [current], links, goto, anchor, find_question, user_questions,
        drill_picker,
    )  # fmt: skip
    return Study(
        current, front, due, stats_md, topics, difficulties, tags, panel.drill_btn, card_outputs,
        next_fn, list(grade_btns.values()), labels, cleared,
    )  # fmt: skip
