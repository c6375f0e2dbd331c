"""Quiz · Question bank: the bank as a table, your own question files (checked the same way as
the bundled ones, kept in this browser, removable) and an Anki export.

Your own files: the page keeps their questions in ``gr.State`` and each file's text in another
(``sources``, question id -> text), and writes the texts to the browser (``gr.BrowserState``,
``kit.quiz.saved``) on every upload and removal; the page-load event reads them back through
``restore_questions``. Progress on a removed question stays in the study progress, so adding
the file again picks up its schedule where it was.

Handlers first (plain functions returning named results), then ``build``.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from kit.quiz.anki import to_anki_csv
from kit.quiz.budget import session_room
from kit.quiz.parse import load_upload
from kit.quiz.record import MAX_FILE_BYTES
from kit.quiz.saved import MAX_SAVED_BYTES, restore, saved_files
from kit.ui.errors import as_sentence, user_errors
from kit.ui.links import QUIET
from kit.ui.quiz_interview import question_choices
from kit.ui.quiz_study import Study, filter_choices
from kit.ui.quiz_tab import all_questions, bundled_bank, export_file, shown_file

REMOVED_CARD = (
    "<h3>Card removed</h3><p>This card's file was removed from the bank. Press "
    "<strong>Next card</strong> for your due cards.</p>"
)


def upload_questions(paths, user_questions=None, sources=None) -> dict:
    """Validate uploaded question files; the valid ones join this page's bank and are kept in
    the browser (named results: ``user_questions``, ``sources``, ``saved``, ``report``)."""
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
    arriving = [q for q in bank.questions if q.id not in kept]  # a re-upload replaces in place
    kept.update({q.id: q for q in bank.questions if q.id in kept})
    room = session_room(len(kept), len(arriving))
    kept.update({q.id: q for q in arriving[: room.kept]})
    mine = list(kept.values())
    texts = {**(sources or {}), **{q.id: bank.sources[q.id] for q in bank.questions}}
    texts = {q.id: texts[q.id] for q in mine if q.id in texts}
    saved = saved_files(mine, texts)
    loaded = len(bank.questions) - room.dropped
    report = [f"Loaded **{loaded}** question(s); you now have {len(mine)} of your own."]
    if loaded:
        report.append(_kept_line(saved.left_out))
    if room.message:
        report.append(f"**{as_sentence(room.message)}**")
        gr.Warning(as_sentence(room.message))
    if skipped:
        report.append(f"Skipped {skipped} file(s) that are not `.md`.")
    if problems:
        report.append(f"**{len(problems)} problem(s)**, each as `file:line: what is wrong`:")
        report.append("```\n" + "\n".join(problems) + "\n```")
        gr.Warning(f"{len(problems)} problem(s) in the upload: {problems[0]}")
    return {
        "user_questions": mine,
        "sources": texts,
        "saved": saved.value,
        "left_out": saved.left_out,
        "report": "\n\n".join(report),
    }


def _kept_line(left_out: list[str]) -> str:
    """Where the learner's files are kept, and which are on this page only."""
    if not left_out:
        return "They are kept in this browser and come back when you reload the page."
    return (
        f"**{len(left_out)} of your questions are on this page only:** this browser keeps at most "
        f"{MAX_SAVED_BYTES // 1024} KB of your question files; remove some to make room."
    )


def remove_questions(ids, user_questions=None, sources=None, current=None) -> dict:
    """Drop the chosen files' questions from the page and from the browser; the bundled bank
    and the study progress stay as they are (named results, as ``upload_questions``, and
    ``current``: the card on screen, None if it was one of them)."""
    ids = set(ids or [])
    mine = list(user_questions or [])
    gone = [q for q in mine if q.id in ids]
    if not gone:
        raise gr.Error("Choose one or more of your question files first.", title="Nothing chosen")
    mine = [q for q in mine if q.id not in ids]
    texts = {k: v for k, v in (sources or {}).items() if k not in ids}
    saved = saved_files(mine, texts)
    names = ", ".join(f"`{q.path}`" for q in gone[:5]) + (" …" if len(gone) > 5 else "")
    report = [
        f"Removed **{len(gone)}** question(s) ({names}); you now have {len(mine)} of your own. "
        "Your study progress on them is kept: add the file again to pick up where you left off."
    ]
    if saved.left_out:
        report.append(_kept_line(saved.left_out))
    return {
        "user_questions": mine,
        "sources": texts,
        "saved": saved.value,
        "left_out": saved.left_out,
        "report": "\n\n".join(report),
        "current": None if current in ids else current,
    }


def restore_questions(stored) -> dict:
    """The learner's files read back from the browser at page load (named results:
    ``user_questions``, ``sources``, ``left_out``, and ``saved`` only when the stored value
    must be rewritten because something in it was left out, with a warning toast)."""
    restored = restore(stored, [q.id for q in bundled_bank().questions])
    if restored.warning:
        gr.Warning(restored.warning)
    saved = saved_files(restored.questions, restored.sources)
    out = {
        "user_questions": restored.questions,
        "sources": restored.sources,
        "left_out": saved.left_out,
    }
    if restored.changed:
        out["saved"] = saved.value
    return out


def file_choices(user_questions=None, left_out=()) -> list[tuple[str, str]]:
    """(label, question id) of each of the learner's files, for the remove picker."""
    return [
        (f"{q.path} · {q.title}" + (" (this page only)" if q.id in left_out else ""), q.id)
        for q in user_questions or []
    ]


def still_offered(chosen, options) -> list:
    """The values of ``chosen`` that a menu's new ``options`` (values or (label, value) pairs)
    still hold: a menu whose choices shrink must drop the others, or Gradio refuses the next
    event that reads it ("not in the list of choices")."""
    values = {o[1] if isinstance(o, tuple) else o for o in options}
    return [v for v in chosen or [] if v in values]


def files_note(user_questions=None, left_out=()) -> str:
    """The line above the remove picker: how many files, and where they are kept."""
    n = len(user_questions or [])
    if not n:
        return (
            "**Your question files:** none yet. Files you add are kept in this browser, so "
            "their questions come back when you reload the page."
        )
    here = n - len(left_out)
    page_only = f", {len(left_out)} on this page only" if left_out else ""
    return (
        f"**Your question files:** {n} ({here} kept in this browser{page_only}); they come "
        "back when you reload the page."
    )


def bank_table(user_questions=None) -> str:
    """The bank (bundled and the visitor's own) as a markdown table."""
    rows = ["| id | title | topic | difficulty | demo |", "|---|---|---|---|---|"]
    for q in all_questions(user_questions):
        title = q.title.replace("|", "\\|")
        rows.append(f"| `{q.id}` | {title} | {q.topic} | {q.difficulty} | `{q.demo}` |")
    return "\n".join(rows)


def anki_file(user_questions=None) -> str:
    """The bank as an Anki CSV file for download (its path)."""
    return export_file("latent-lab-anki.csv", to_anki_csv(all_questions(user_questions)))


# ---- layout and wiring ------------------------------------------------------------------------


@dataclass
class MyFiles:
    """The learner's own files: their state, and what the page-load event refreshes."""

    user_questions: gr.State
    sources: gr.State
    saved: gr.BrowserState
    outputs: list
    """Every component ``restore`` may update."""
    restore: object
    """``restore(stored) -> {component: value}``: the files read back from the browser."""


def build(
    user_questions: gr.State, saved: gr.BrowserState, study: Study, interview: dict
) -> MyFiles:
    """The Question bank sub-tab's layout and events; ``saved`` is the browser's copy of the
    learner's files (made at the page's top level, like the progress)."""
    sources = gr.State({})
    with gr.Row():
        with gr.Column():
            upload = gr.File(
                label=f"Add your own question files (.md, up to {MAX_FILE_BYTES // 1024} KB each)",
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
            upload_report = gr.Markdown(elem_id="quiz-upload-report")
        with gr.Column():
            note = gr.Markdown(files_note(), elem_id="quiz-my-files-note")
            picker = gr.Dropdown(
                [],
                multiselect=True,
                label="Your files to remove from the bank",
                info="The bundled questions stay, and so does your study progress on these.",
                elem_id="quiz-my-files",
            )
            with gr.Row():
                remove_btn = gr.Button(
                    "Remove from the bank",
                    variant="stop",
                    size="md",
                    elem_id="quiz-remove",
                    scale=0,
                    min_width=200,
                )
            anki_btn = gr.Button("Export the bank for Anki (.csv)")
            anki_out = gr.File(label="Anki CSV", interactive=False, visible=False)
    table = gr.Markdown(bank_table(), elem_id="quiz-bank-table")

    private = {"api_visibility": "private"}
    pick, pick_topics = interview["pick"], interview["pick_topics"]

    menus_in = [study.topics, study.tags, pick, pick_topics]  # what a learner may have chosen

    def view(out, chosen=None) -> dict:
        """The page for ``out``; ``chosen``: the values of ``menus_in`` (None at page load)."""
        chosen = chosen or [None] * len(menus_in)
        mine, left_out = out["user_questions"], out["left_out"]
        menus = filter_choices(mine)
        options = [menus["topics"], menus["tags"], question_choices(mine), menus["topics"]]
        shown = {
            user_questions: mine,
            sources: out["sources"],
            note: files_note(mine, left_out),
            picker: gr.Dropdown(choices=file_choices(mine, left_out), value=[], multiselect=True),
            table: bank_table(mine),
        }
        for menu, offered, values in zip(menus_in, options, chosen, strict=True):  # all multiselect
            kept = {} if values is None else {"value": still_offered(values, offered)}
            shown[menu] = gr.Dropdown(choices=offered, multiselect=True, **kept)
        if "saved" in out:
            shown[saved] = out["saved"]
        return shown

    def upload_fn(paths, mine, texts, *chosen):
        out = user_errors(upload_questions)(paths, mine, texts)
        return {**view(out, chosen), upload_report: out["report"]}

    outputs = [user_questions, sources, saved, note, picker, table, *menus_in]
    upload_outputs = [*outputs, upload_report]
    upload_inputs = [user_questions, sources, *menus_in]
    upload_btn.click(upload_fn, [upload, *upload_inputs], upload_outputs, **private)
    folder_btn.upload(upload_fn, [folder_btn, *upload_inputs], upload_outputs, **private)

    def remove_fn(ids, mine, texts, current, *chosen):
        out = user_errors(remove_questions)(ids, mine, texts, current)
        shown = {**view(out, chosen), upload_report: out["report"]}
        if out["current"] != current:  # the card on screen, its answer and demo go with it
            due = "The card on screen was removed with its file."
            shown.update({study.current: None, study.front: REMOVED_CARD, study.due: due})
            shown.update({**study.labels(None), **study.cleared()})  # no card to grade
        return shown

    remove_btn.click(
        remove_fn,
        [picker, user_questions, sources, study.current, *menus_in],
        [*outputs, upload_report, *study.card_outputs],
        **private,
        **QUIET,  # quick, and 27 outputs: no statuses kept for them (kit.ui.links.QUIET)
    )
    anki_btn.click(shown_file(anki_file), [user_questions], [anki_out], **private)

    def restore_fn(stored) -> dict:
        out = restore_questions(stored)
        if not out["user_questions"] and "saved" not in out:
            return {}  # nothing saved: the page stays as it was built
        return view(out)

    return MyFiles(user_questions, sources, saved, outputs, restore_fn)
