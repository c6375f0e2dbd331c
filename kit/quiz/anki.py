r"""The bank as an Anki-importable CSV: one note per question (front, back, tags).

Anki 2.1.55+ reads file headers on lines starting with ``#``: ``#separator:Comma``,
``#html:true`` (the fields are HTML) and ``#tags column:3``. The front is the title and the
question; the back is the answer, the key points and the sources; every field is rendered by
``render_markdown`` (raw HTML escaped) with math between ``\(...\)`` / ``\[...\]``, which Anki's
MathJax typesets. Tags are the topic, the difficulty and the question's tags, spaces replaced by
underscores (Anki separates tags with spaces).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from html import escape

from kit.quiz.record import Question
from kit.quiz.render import render_markdown

HEADER = ("#separator:Comma", "#html:true", "#tags column:3")
"""Anki file headers: comma-separated, HTML fields, tags in the third column."""


def _html(text: str) -> str:
    return render_markdown(text, math="anki").strip()


def front(q: Question) -> str:
    """The card's front: title and question."""
    return f"<h3>{escape(q.title)}</h3>\n{_html(q.question)}"


def back(q: Question) -> str:
    """The card's back: answer, key points, sources."""
    parts = [_html(q.answer)]
    if q.key_points:
        items = "\n".join(f"<li>{_html(p)}</li>" for p in q.key_points)
        parts.append(f"<h4>Key points</h4>\n<ul>\n{items}\n</ul>")
    if q.sources:
        items = "\n".join(f"<li>{escape(s)}</li>" for s in q.sources)
        parts.append(f"<h4>Sources</h4>\n<ul>\n{items}\n</ul>")
    return "\n".join(parts)


def tags(q: Question) -> str:
    """Topic, difficulty and tags, spaces -> underscores, space-separated, no repeats."""
    names = ["_".join(t.split()) for t in (q.topic, q.difficulty, *q.tags)]
    return " ".join(dict.fromkeys(n for n in names if n))


def to_anki_csv(questions: Iterable[Question], *, deck: str | None = None) -> str:
    """The questions as Anki CSV text: header lines, then one (front, back, tags) row each.

    ``deck``: adds a ``#deck:`` header so Anki files the notes into that deck.
    """
    out = io.StringIO()
    header = [*HEADER, *([f"#deck:{' '.join(deck.split())}"] if deck else [])]
    out.write("\n".join(header) + "\n")
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    for q in questions:
        writer.writerow([front(q), back(q), tags(q)])
    return out.getvalue()
