"""The interview quiz: question files in ``questions/<topic>/<id>.md``, parsed and validated.

``load_bank()`` gives every valid ``Question`` and every ``Problem`` (``path:line: message``);
``render_markdown`` turns question markdown into safe HTML with the LaTeX kept for KaTeX;
``to_anki_csv`` exports a bank for Anki. ``python -m kit.quiz check`` validates the bank.
"""

from kit.quiz.anki import to_anki_csv
from kit.quiz.parse import QUESTIONS_DIR, load_bank, load_upload, parse_file, parse_text
from kit.quiz.record import Bank, Problem, Question
from kit.quiz.render import render_markdown

__all__ = [
    "QUESTIONS_DIR",
    "Bank",
    "Problem",
    "Question",
    "load_bank",
    "load_upload",
    "parse_file",
    "parse_text",
    "render_markdown",
    "to_anki_csv",
]
