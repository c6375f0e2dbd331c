"""The Quiz tab's logic without the UI: choosing cards, showing them, running their demos.

Everything here is a plain function of (questions, progress, time, what the learner typed), so
tests drive a whole study session without a browser. Text meant for the page is HTML made by
``kit.quiz.render.render_markdown`` (markdown-it-py's ``js-default`` preset: raw HTML in a
question file is escaped, ``javascript:``/``data:`` links are not linked); the app shows it in a
``gr.Markdown`` that typesets the ``$...$`` math with KaTeX.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from kit.demos.errors import DemoInputError
from kit.demos.registry import get_demo
from kit.quiz.coverage import CoverageItem, coverage
from kit.quiz.progress import due_ids, next_due
from kit.quiz.record import DIFFICULTIES, Question
from kit.quiz.render import render_markdown
from kit.quiz.schedule import RATINGS, due_at, format_interval, review, to_utc

if TYPE_CHECKING:  # matplotlib loads lazily, with the first plot
    from matplotlib.figure import Figure

ROLE_NAMES = {
    "research-scientist": "research scientist",
    "research-engineer": "research engineer",
    "ml-engineer": "ML engineer",
}
"""How each of ``kit.quiz.record.ROLES`` is written on a card."""


def filter_questions(
    questions: Iterable[Question],
    topics: Sequence[str] = (),
    difficulties: Sequence[str] = (),
    tags: Sequence[str] = (),
) -> list[Question]:
    """The questions matching every non-empty filter (a tag filter matches any of its tags)."""
    topics, difficulties, tags = set(topics or ()), set(difficulties or ()), set(tags or ())
    return [
        q
        for q in questions
        if (not topics or q.topic in topics)
        and (not difficulties or q.difficulty in difficulties)
        and (not tags or tags & set(q.tags))
    ]


def choices(questions: Iterable[Question]) -> dict[str, list[str]]:
    """The filter menus: every topic, difficulty (easiest first) and tag in the bank."""
    qs = list(questions)
    present = {q.difficulty for q in qs}
    return {
        "topics": sorted({q.topic for q in qs}),
        "difficulties": [d for d in DIFFICULTIES if d in present],
        "tags": sorted({t for q in qs for t in q.tags}),
    }


@dataclass
class NextCard:
    """What the study queue says to show next."""

    question_id: str | None
    """The card to show, or None when nothing in the filtered set is due."""
    due_count: int
    """How many filtered cards are due now (new cards count as due)."""
    next_due: datetime | None
    """When nothing is due: the earliest time a filtered card comes due again."""


def grade_previews(progress: dict, question_id: str, now: datetime) -> dict[str, str]:
    """When the card would come back after each grade, e.g. ``{"good": "3 days", ...}``.

    Runs the FSRS scheduler on a copy of the card (``kit.quiz.schedule.review`` never changes
    its input), so the progress is untouched.
    """
    card = progress.get("cards", {}).get(question_id)
    out = {}
    for rating in RATINGS:
        after = review(card, rating, now)
        out[rating] = format_interval(due_at(after) - to_utc(now))
    return out


def next_card(
    questions: Sequence[Question], progress: dict, now: datetime, skip: str | None = None
) -> NextCard:
    """The most overdue card (then new ones, in bank order), avoiding ``skip`` when possible."""
    ids = [q.id for q in questions]
    due = due_ids(progress, ids, now)
    pick = next((q for q in due if q != skip), due[0] if due else None)
    return NextCard(pick, len(due), None if due else next_due(progress, ids, now))


def _badges(q: Question) -> str:
    tags = " ".join(f"<code>{html.escape(t)}</code>" for t in q.tags)
    return (
        f"<p><strong>{html.escape(q.topic)}</strong> · {html.escape(q.difficulty)}"
        + (f" · {tags}" if tags else "")
        + "</p>"
    )


def question_html(q: Question, large: bool = False) -> str:
    """The card's front: title, topic and difficulty, the question."""
    heading = "h2" if large else "h3"
    return (
        f"<{heading}>{html.escape(q.title)}</{heading}>" + _badges(q) + render_markdown(q.question)
    )


def _bullets(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{render_markdown(i)}</li>" for i in items) + "</ul>"


def interview_facts_html(q: Question) -> str:
    """One line: the question's time box and the roles it suits."""
    roles = ", ".join(ROLE_NAMES.get(r, r) for r in q.roles)
    return f"<p><em>Time box {q.time_box} min · for {html.escape(roles)}</em></p>"


def _point_items(q: Question) -> list[str]:
    """Each key point's markdown with its level in front, e.g. "**[must]** The sample ..."."""
    levels = q.key_point_levels or [""] * len(q.key_points)
    return [f"**[{lv}]** {p}" if lv else p for lv, p in zip(levels, q.key_points, strict=True)]


def answer_html(q: Question) -> str:
    """The card's back: the model answer, levels, red flags, follow-ups with their answers,
    evidence measured on the shipped models, and sources."""
    parts = [interview_facts_html(q), "<h4>Model answer</h4>", render_markdown(q.answer)]
    if q.levels:
        rows = [f"**{name.title()}:** {text}" for name, text in q.levels.items()]
        parts += ["<h4>What each level of answer contains</h4>", _bullets(rows)]
    if q.red_flags:
        rows = [f"{f.claim} **Why it is wrong:** {f.why}" for f in q.red_flags]
        parts += ["<h4>Red flags</h4>", _bullets(rows)]
    if q.follow_ups:
        answers = q.follow_up_answers or [""] * len(q.follow_ups)
        rows = [
            f"{f} **Answer:** {a}" if a else f for f, a in zip(q.follow_ups, answers, strict=True)
        ]
        parts += ["<h4>Follow-up questions</h4>", _bullets(rows)]
    if q.evidence:
        parts += ["<h4>Evidence from the shipped models</h4>", _bullets(q.evidence)]
    if q.see_also:
        parts += ["<h4>See it live</h4>", see_also_html(q)]
    if q.sources:
        parts += ["<h4>Sources</h4>", _bullets(q.sources)]
    return "".join(parts)


def see_also_html(q: Question) -> str:
    """A link to each ``see_also`` demo: its deep link (``?demo=<id>``, which opens its tab and
    section and runs it with its defaults), opened in a new browser tab so the card stays."""
    items = []
    for demo_id in q.see_also:
        spec = get_demo(demo_id)
        if spec is None:  # a parsed question names registered demos only
            continue
        title = html.escape(spec.section or spec.id)
        items.append(
            f'<li><a href="?demo={html.escape(demo_id)}" target="_blank" rel="noopener" '
            f'class="see-also" data-demo="{html.escape(demo_id)}">{title}</a>: '
            f"{html.escape(spec.summary)}</li>"
        )
    return "<ul>" + "".join(items) + "</ul>"


def hints_html(q: Question, shown: int) -> str:
    """The first ``shown`` hints (clamped), numbered, and how many remain."""
    shown = max(0, min(int(shown), len(q.hints)))
    if not q.hints:
        return "<p><em>This question has no hints.</em></p>"
    items = "".join(
        f"<li><strong>Hint {i + 1}.</strong> {render_markdown(h)}</li>"
        for i, h in enumerate(q.hints[:shown])
    )
    left = len(q.hints) - shown
    note = f"<p><em>{left} more hint{'s' if left != 1 else ''} available.</em></p>" if left else ""
    return (f"<ol>{items}</ol>" if items else "") + note


def key_point_coverage(q: Question, typed: str) -> list[CoverageItem]:
    """Which of the question's key points the learner's typed answer covers."""
    return coverage(typed or "", q.key_points, q.keywords)


def coverage_html(q: Question, typed: str) -> str:
    """Key points as a checklist: ticked where the typed answer covered them."""
    if not (typed or "").strip():
        return "<h4>Key points</h4>" + _bullets(_point_items(q))
    items = key_point_coverage(q, typed)
    done = sum(i.covered for i in items)
    # the mark is words, not only an emoji: without an emoji font ✅ and ⬜ look the same
    rows = "".join(
        f"<li class='{'kp-covered' if i.covered else 'kp-missing'}'>"
        f"<strong>{'✅ covered' if i.covered else '⬜ not covered'}:</strong> {render_markdown(p)}"
        "</li>"
        for i, p in zip(items, _point_items(q), strict=True)
    )
    return (
        f"<h4>Key points your answer covered: {done} of {len(items)}</h4>"
        f"<ul style='list-style: none; padding-left: 0'>{rows}</ul>"
        "<p><em>Matched by keywords, so treat it as a prompt, not a grade.</em></p>"
    )


# ---- "Run the demo": the question's preset through the registry -----------------------------


@dataclass
class DemoPreview:
    """A question's demo, run with its preset, split into what the quiz shows inline."""

    demo_id: str
    """The registry id of the demo."""
    tab: str
    """Id of the app tab the demo belongs to."""
    args: dict[str, Any]
    """The full arguments it ran with: the question's ``demo_args`` coerced, defaults for the rest."""
    outputs: dict[str, Any]
    """The demo's named outputs, unchanged (the tab shows these)."""
    images: list[tuple[np.ndarray, str]] = field(default_factory=list)
    """Every image output with its name as caption, in output order."""
    figure: Figure | None = None
    """The first matplotlib figure among the outputs, if any."""
    text: str = ""
    """The markdown outputs joined, e.g. the demo's summary table."""


def _is_figure(value) -> bool:
    return type(value).__name__ == "Figure" and type(value).__module__.startswith("matplotlib")


def run_demo(q: Question) -> DemoPreview:
    """Run ``q.demo`` with ``q.demo_args`` (raises the demo's own ``DemoInputError``)."""
    spec = get_demo(q.demo)
    if spec is None:
        raise DemoInputError(f"the question links an unknown demo, {q.demo!r}")
    args = spec.coerce(q.demo_args, preset=True)
    outputs = spec.fn(**args)
    images, figure, texts = [], None, []
    for name, value in outputs.items():
        if isinstance(value, np.ndarray) and value.ndim in (2, 3) and value.shape[0] > 1:
            images.append((value, name.replace("_", " ")))
        elif _is_figure(value) and figure is None:
            figure = value
        elif isinstance(value, str) and value.strip():
            texts.append(value)
    return DemoPreview(
        demo_id=q.demo,
        tab=spec.tab,
        args=args,
        outputs=outputs,
        images=images,
        figure=figure,
        text="\n\n".join(texts),
    )
