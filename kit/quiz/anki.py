r"""The bank as an Anki-importable CSV: one note per question (front, back, tags).

Anki 2.1.55+ reads file headers on lines starting with ``#``: ``#separator:Comma``,
``#html:true`` (the fields are HTML) and ``#tags column:3``. The front is the title, the time
box and roles, and the question; the back is the answer, the key points with their levels, the
Junior/Senior/Staff levels, the red flags, the follow-ups with their answers, the evidence and
the sources; every field is rendered by
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


def _list(title: str, items: list[str]) -> str:
    rows = "\n".join(f"<li>{_html(i)}</li>" for i in items)
    return f"<h4>{title}</h4>\n<ul>\n{rows}\n</ul>"


def front(q: Question) -> str:
    """The card's front: title, time box and roles, and the question."""
    roles = ", ".join(r.replace("-", " ") for r in q.roles)
    facts = f"<p><em>{q.time_box} min · {escape(roles)}</em></p>" if q.time_box else ""
    return f"<h3>{escape(q.title)}</h3>\n{facts}{_html(q.question)}"


def back(q: Question) -> str:
    """The card's back: answer, key points with their levels, the Junior/Senior/Staff levels,
    red flags, follow-ups with their answers, evidence and sources."""
    parts = [_html(q.answer)]
    if q.key_points:
        levels = q.key_point_levels or [""] * len(q.key_points)
        points = [
            f"**[{lv}]** {p}" if lv else p for lv, p in zip(levels, q.key_points, strict=True)
        ]
        parts.append(_list("Key points", points))
    if q.levels:
        parts.append(_list("Levels", [f"**{k.title()}:** {v}" for k, v in q.levels.items()]))
    if q.red_flags:
        parts.append(
            _list("Red flags", [f"{f.claim} **Why it is wrong:** {f.why}" for f in q.red_flags])
        )
    if q.follow_ups:
        answers = q.follow_up_answers or [""] * len(q.follow_ups)
        rows = [
            f"{f} **Answer:** {a}" if a else f for f, a in zip(q.follow_ups, answers, strict=True)
        ]
        parts.append(_list("Follow-ups", rows))
    if q.evidence:
        parts.append(_list("Evidence (measured on the shipped models)", q.evidence))
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
