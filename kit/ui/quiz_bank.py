"""Quiz · Question bank: the bank as a table, your own question files (checked the same way as
the bundled ones), and an Anki export.

Handlers first (plain functions returning named results), then ``build``.
"""

from __future__ import annotations

import gradio as gr

from kit.quiz.anki import to_anki_csv
from kit.quiz.budget import session_room
from kit.quiz.parse import load_upload
from kit.quiz.record import MAX_FILE_BYTES
from kit.ui.errors import user_errors
from kit.ui.quiz_interview import question_choices
from kit.ui.quiz_study import Study, filter_choices
from kit.ui.quiz_tab import all_questions, bundled_bank, export_file, shown_file


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
    arriving = [q for q in bank.questions if q.id not in kept]  # a re-upload replaces in place
    kept.update({q.id: q for q in bank.questions if q.id in kept})
    room = session_room(len(kept), len(arriving))
    kept.update({q.id: q for q in arriving[: room.kept]})
    mine = list(kept.values())
    loaded = len(bank.questions) - room.dropped
    report = [f"Loaded **{loaded}** question(s); you now have {len(mine)} of your own."]
    if room.message:
        report.append(f"**{room.message[:1].upper()}{room.message[1:]}.**")
        gr.Warning(f"{room.message[:1].upper()}{room.message[1:]}.")
    if skipped:
        report.append(f"Skipped {skipped} file(s) that are not `.md`.")
    if problems:
        report.append(f"**{len(problems)} problem(s)**, each as `file:line: what is wrong`:")
        report.append("```\n" + "\n".join(problems) + "\n```")
        gr.Warning(f"{len(problems)} problem(s) in the upload: {problems[0]}")
    return {"user_questions": mine, "report": "\n\n".join(report)}


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


def build(user_questions: gr.State, study: Study, interview: dict) -> None:
    """The Question bank sub-tab's layout and events."""
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
            upload_report = gr.Markdown()
        with gr.Column():
            anki_btn = gr.Button("Export the bank for Anki (.csv)")
            anki_out = gr.File(label="Anki CSV", interactive=False, visible=False)
    table = gr.Markdown(bank_table())

    private = {"api_visibility": "private"}
    pick, pick_topics = interview["pick"], interview["pick_topics"]

    def upload_fn(paths, mine):
        out = user_errors(upload_questions)(paths, mine)
        menus = filter_choices(out["user_questions"])
        return {
            user_questions: out["user_questions"],
            upload_report: out["report"],
            table: bank_table(out["user_questions"]),
            study.topics: gr.Dropdown(choices=menus["topics"]),
            study.tags: gr.Dropdown(choices=menus["tags"]),
            pick: gr.Dropdown(choices=question_choices(out["user_questions"])),
            pick_topics: gr.Dropdown(choices=menus["topics"]),
        }

    outputs = [user_questions, upload_report, table, study.topics, study.tags, pick, pick_topics]
    upload_btn.click(upload_fn, [upload, user_questions], outputs, **private)
    folder_btn.upload(upload_fn, [folder_btn, user_questions], outputs, **private)
    anki_btn.click(shown_file(anki_file), [user_questions], [anki_out], **private)
