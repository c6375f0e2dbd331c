"""Quiz tab: study cards with spaced repetition, run live interviews, load your own questions.

Per-user state: the study progress and the text of the visitor's own question files live in
their browser (two ``gr.BrowserState``s, so both survive a reload and a server restart, and a
bad value of one never costs the other); the card on screen, the interview session and the
questions parsed from the visitor's files live in ``gr.State`` (this page). Nothing per-user is
kept in module globals; the bundled bank is read-only and cached.

This module holds what the three modes share and assembles them; each mode is its own builder
(``quiz_study``, ``quiz_interview``, ``quiz_bank``) with plain handler functions that tests call
without a browser, and the demo panel is ``quiz_demo``.
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

from kit.quiz.parse import load_bank
from kit.quiz.record import Question
from kit.ui.errors import user_errors
from kit.ui.links import DemoLink
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
FILES_STORAGE_KEY = "latent-lab-quiz-files"  # the visitor's own question files (kit.quiz.saved)
EXPORT_DIR = Path(tempfile.gettempdir()) / "latent-lab-exports"
EXPORT_MAX_AGE_S = 600  # exported files are written here and pruned after ten minutes
# the interview question is read from a shared screen: large type (passed to launch(css=...))
CSS = "#interview-stage { font-size: 1.25rem; line-height: 1.5; }\n#quiz-card { min-height: 4rem; }"


def now_utc() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(timezone.utc)


@lru_cache(maxsize=1)
def bundled_bank():
    """The bundled question bank (read-only, loaded once per process)."""
    return load_bank()


def all_questions(user_questions: list[Question] | None) -> list[Question]:
    """The bundled questions followed by the visitor's own."""
    return [*bundled_bank().questions, *(user_questions or [])]


def find_question(question_id: str | None, user_questions) -> Question:
    """The question with this id, or a ``gr.Error`` when there is none on screen."""
    for q in all_questions(user_questions):
        if q.id == question_id:
            return q
    raise gr.Error("No question is on screen yet: press Next card first.", title="No card")


def export_file(name: str, text: str) -> str:
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


def shown_file(make_path):
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


def files_store() -> gr.BrowserState:
    """The visitor's own question files in localStorage (``kit.quiz.saved``), beside the
    progress; made at the top level for the same reason."""
    return gr.BrowserState(None, storage_key=FILES_STORAGE_KEY, secret=STATE_SECRET)


def build(
    demo: gr.Blocks,
    goto: gr.Textbox,
    progress: gr.BrowserState,
    saved: gr.BrowserState,
    links: dict[str, DemoLink],
    anchor: gr.Textbox,
    drill_picker: gr.Dropdown | None = None,
):
    """The Quiz tab; ``goto`` is the page's tab-to-open box ("Open in its tab" sets it),
    ``progress`` and ``saved`` the ``progress_store()`` and ``files_store()`` made at the top
    level of the page, ``links`` every demo's link, ``anchor`` the page's scroll-target box and
    ``drill_picker`` the Code drills tab's picker ("Try it as a code drill" sets it; None: no
    such button). Returns the study handle and the learner's files (the page-load handler reads
    the files back and opens a card from a ``?q=`` link through them)."""
    from kit.ui import quiz_bank, quiz_interview, quiz_study

    user_questions = gr.State([])
    gr.Markdown(INTRO, latex_delimiters=LATEX)
    with gr.Tabs():
        with gr.Tab("Study", id="study"):
            study = quiz_study.build(progress, user_questions, links, goto, anchor, drill_picker)
        with gr.Tab("Interview", id="interview"):
            interview = quiz_interview.build(user_questions, links, goto, anchor, drill_picker)
        with gr.Tab("Question bank", id="bank"):
            mine = quiz_bank.build(user_questions, saved, study, interview)
    return study, mine
