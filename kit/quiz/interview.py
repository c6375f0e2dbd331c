"""A mock-interview session: questions one after another, timed, with hints and a rubric.

The session is a plain JSON-serialisable dict (it can live in `gr.State` or `gr.BrowserState`)
and every function is pure: it returns a new dict and never changes its input. Format version 1::

    {
      "format": "latent-lab-interview",
      "version": 1,
      "started": "2025-01-02T14:03:00+00:00",   # UTC
      "finished": null,                          # UTC time once finished
      "current": 0,                              # index of the question on screen
      "entered": "2025-01-02T14:03:00+00:00",   # when it came on screen (null once finished)
      "items": [{"id": "reparameterization-trick", "hints": 1, "ticked": [0, 2],
                 "notes": "...", "seconds": 312.5}, ...]
    }

Per question: `hints` revealed so far, `ticked` rubric points (indices into the question's key
points), the interviewer's or learner's `notes`, and `seconds` spent on it (the time on screen is
added when the session moves on or finishes). Questions after `current` were not reached.

`summary_markdown` writes the session up as markdown to copy or download; notes are escaped so
they stay plain text inside a blockquote (no raw HTML, no headings, links or tables).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from kit.quiz.record import ID_PATTERN
from kit.quiz.schedule import to_utc

FORMAT = "latent-lab-interview"
"""The `format` value of a session dict."""

VERSION = 1
"""The current session format version."""

MAX_QUESTIONS = 50
"""Most questions in one session."""

MAX_NOTES_CHARS = 20_000
"""Longest notes kept per question (longer notes are cut)."""

_KEYS = frozenset({"format", "version", "started", "finished", "current", "entered", "items"})
_ITEM_KEYS = frozenset({"id", "hints", "ticked", "notes", "seconds"})


class SessionError(ValueError):
    """A session operation that cannot be done; the message is one sentence for the learner."""


class QuestionLike(Protocol):
    """What a session needs from a question (`kit.quiz.record.Question` satisfies it)."""

    id: str
    title: str
    topic: str
    hints: list[str]
    key_points: list[str]
    key_point_levels: list[str]
    time_box: int


# --------------------------------------------------------------------------- helpers


def _copy(session: dict[str, Any]) -> dict[str, Any]:
    """A structural copy (the dicts and lists are new; the values are immutable)."""
    out = dict(session)
    out["items"] = [dict(item, ticked=list(item["ticked"])) for item in session["items"]]
    return out


def _check(session: Any) -> None:
    """Validate a session dict; raise SessionError when it is not one."""
    if not isinstance(session, dict) or session.get("format") != FORMAT:
        raise SessionError("This is not a Latent Lab interview session.")
    if session.get("version") != VERSION:
        raise SessionError(f"The interview session must be format version {VERSION}.")
    if set(session) != _KEYS:
        raise SessionError("The interview session has missing or unknown fields.")
    items = session["items"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_QUESTIONS:
        raise SessionError(f"An interview session has 1 to {MAX_QUESTIONS} questions.")
    current = session["current"]
    if isinstance(current, bool) or not isinstance(current, int):
        raise SessionError("The interview session's current question is not a number.")
    if not 0 <= current < len(items):
        raise SessionError("The interview session's current question is out of range.")
    for name in ("started", "finished", "entered"):
        value = session[name]
        if value is None and name != "started":
            continue
        try:
            to_utc(datetime.fromisoformat(value))
        except (TypeError, ValueError):
            raise SessionError(f"The interview session's {name} time is not valid.") from None
    if (session["finished"] is None) == (session["entered"] is None):
        raise SessionError("The interview session is neither running nor finished.")
    for item in items:
        if not isinstance(item, dict) or set(item) != _ITEM_KEYS:
            raise SessionError("An interview question entry has missing or unknown fields.")
        ok = (
            isinstance(item["id"], str)
            and ID_PATTERN.match(item["id"]) is not None
            and _is_count(item["hints"])
            and isinstance(item["ticked"], list)
            and all(_is_count(i) for i in item["ticked"])
            and isinstance(item["notes"], str)
            and len(item["notes"]) <= MAX_NOTES_CHARS
            and isinstance(item["seconds"], (int, float))
            and not isinstance(item["seconds"], bool)
            and 0 <= item["seconds"] < 1e9
        )
        if not ok:
            raise SessionError(
                f"The interview entry for {str(item.get('id'))[:40]!r} is not valid."
            )


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10_000


def _running(session: Any) -> dict[str, Any]:
    _check(session)
    if session["finished"] is not None:
        raise SessionError("The interview has finished; start a new one.")
    return _copy(session)


def _current_item(session: dict[str, Any], question: QuestionLike) -> dict[str, Any]:
    item = session["items"][session["current"]]
    if question.id != item["id"]:
        raise SessionError(
            f"The question {question.id!r} is not the one on screen ({item['id']!r})."
        )
    return item


def _add_time_on_screen(session: dict[str, Any], now: datetime) -> None:
    """Add the time since `entered` to the current question (in place, on a copy)."""
    entered = datetime.fromisoformat(session["entered"])
    spent = max(0.0, (now - entered).total_seconds())
    item = session["items"][session["current"]]
    item["seconds"] = round(item["seconds"] + spent, 3)


# --------------------------------------------------------------------------- session steps


def unique_question_ids(question_ids: Iterable[str], error: type[Exception]) -> list[str]:
    """The ids in order, duplicates dropped; ``error`` names the first one that is not a valid
    question id (an interview session and an interview room check their ids the same way)."""
    ids: list[str] = []
    for qid in question_ids:
        if not isinstance(qid, str) or ID_PATTERN.match(qid) is None or len(qid) > 100:
            raise error(f"{str(qid)[:40]!r} is not a valid question id.")
        if qid not in ids:
            ids.append(qid)
    return ids


def start_session(question_ids: Iterable[str], now: datetime) -> dict[str, Any]:
    """A new session over the given questions (duplicates dropped, order kept), started at `now`."""
    now = _utc(now)
    ids = unique_question_ids(question_ids, SessionError)
    if not ids:
        raise SessionError("Choose at least one question for the interview.")
    if len(ids) > MAX_QUESTIONS:
        raise SessionError(f"An interview can have at most {MAX_QUESTIONS} questions.")
    stamp = now.isoformat()
    return {
        "format": FORMAT,
        "version": VERSION,
        "started": stamp,
        "finished": None,
        "current": 0,
        "entered": stamp,
        "items": [
            {"id": qid, "hints": 0, "ticked": [], "notes": "", "seconds": 0.0} for qid in ids
        ],
    }


def _utc(now: datetime) -> datetime:
    try:
        return to_utc(now)
    except ValueError as error:
        raise SessionError(str(error)) from None


def current_id(session: dict[str, Any]) -> str | None:
    """The id of the question on screen, or None once the session has finished."""
    _check(session)
    if session["finished"] is not None:
        return None
    return session["items"][session["current"]]["id"]


def is_finished(session: dict[str, Any]) -> bool:
    """Whether the session has finished."""
    _check(session)
    return session["finished"] is not None


def reveal_hint(session: dict[str, Any], question: QuestionLike) -> dict[str, Any]:
    """Reveal the next hint of the question on screen (no change once all are shown)."""
    out = _running(session)
    item = _current_item(out, question)
    item["hints"] = min(item["hints"] + 1, len(question.hints))
    return out


def shown_hints(session: dict[str, Any], question: QuestionLike) -> list[str]:
    """The hints of `question` revealed so far in this session ([] if it is not in it)."""
    _check(session)
    for item in session["items"]:
        if item["id"] == question.id:
            return list(question.hints[: item["hints"]])
    return []


def tick_points(
    session: dict[str, Any], question: QuestionLike, ticked: Iterable[int | str]
) -> dict[str, Any]:
    """Set which rubric points of the question on screen were covered.

    `ticked` holds key-point indices (a `gr.CheckboxGroup(type="index")`) or key-point texts
    (its default `type="value"`); the set replaces the previous one.
    """
    out = _running(session)
    item = _current_item(out, question)
    points = list(question.key_points)
    indices: set[int] = set()
    for value in ticked or []:
        if isinstance(value, str):
            if value not in points:
                raise SessionError(f"{value[:60]!r} is not a key point of this question.")
            indices.add(points.index(value))
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(points):
            indices.add(value)
        else:
            raise SessionError(f"{str(value)[:40]!r} is not a key point of this question.")
    item["ticked"] = sorted(indices)
    return out


def save_notes(session: dict[str, Any], notes: str | None) -> dict[str, Any]:
    """Store notes for the question on screen (replacing earlier ones; cut at MAX_NOTES_CHARS)."""
    out = _running(session)
    if notes is None:
        notes = ""
    if not isinstance(notes, str):
        raise SessionError("Notes must be text.")
    out["items"][out["current"]]["notes"] = notes[:MAX_NOTES_CHARS]
    return out


def next_question(session: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Move on: the time on screen is added to the current question; after the last question
    the session finishes."""
    out = _running(session)
    now = _utc(now)
    if out["current"] + 1 >= len(out["items"]):
        return finish_session(session, now)
    _add_time_on_screen(out, now)
    out["current"] += 1
    out["entered"] = now.isoformat()
    return out


def finish_session(session: dict[str, Any], now: datetime) -> dict[str, Any]:
    """End the session at `now` (questions after the current one stay unreached).

    Finishing an already finished session changes nothing.
    """
    _check(session)
    if session["finished"] is not None:
        return _copy(session)
    out = _copy(session)
    now = _utc(now)
    _add_time_on_screen(out, now)
    out["finished"] = now.isoformat()
    out["entered"] = None
    return out


# --------------------------------------------------------------------------- summary


def escape_markdown(text: str) -> str:
    """Plain text made inert for markdown: no raw HTML, links, emphasis, code, math or tables,
    and no line that starts a heading, list, quote or rule. Line breaks are kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text)
    text = html.escape(text, quote=False)  # & < >  ->  entities: no HTML at all
    text = re.sub(r"([\\`*_\[\]|$~])", r"\\\1", text)
    lines = []
    for line in text.split("\n"):
        line = line.strip()
        line = re.sub(r"^([#+\-=])", r"\\\1", line)  # headings, list items, setext rules
        line = re.sub(r"^(\d+)([.)])", r"\1\\\2", line)  # ordered list items
        lines.append(line)
    return "\n".join(lines)


def format_duration(seconds: float) -> str:
    """`45 s`, `6 min 2 s`, `1 h 3 min`."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def _by_id(questions: Mapping[str, QuestionLike] | Iterable[QuestionLike]) -> dict:
    if isinstance(questions, Mapping):
        return dict(questions)
    return {q.id: q for q in questions}


def _quote(text: str) -> list[str]:
    return [f"> {line}" if line else ">" for line in escape_markdown(text).split("\n")]


def summary_markdown(
    session: dict[str, Any],
    questions: Mapping[str, QuestionLike] | Sequence[QuestionLike],
    now: datetime | None = None,
) -> str:
    """The session written up as markdown, to show, copy or download.

    Date and duration, then per question: title, topic, time spent, rubric points ticked (x/y,
    and how many of the [must] points), hints used, the time box (marked "(over)" when the time
    spent passed it), each point with its level marked ✅ or ⬜, and the notes. For a running session pass `now` to
    count the time up to now; without it only the time already booked is counted.
    """
    _check(session)
    bank = _by_id(questions)
    started = datetime.fromisoformat(session["started"])
    finished = session["finished"]
    end = datetime.fromisoformat(finished) if finished else (_utc(now) if now else None)
    items = session["items"]
    seconds = [item["seconds"] for item in items]
    if not finished and now is not None:
        on_screen = (_utc(now) - datetime.fromisoformat(session["entered"])).total_seconds()
        seconds[session["current"]] += max(0.0, on_screen)
    duration = (end - started).total_seconds() if end else sum(seconds)
    reached = session["current"] + 1

    ticked_total = points_total = hints_total = 0
    sections: list[str] = []
    for index, item in enumerate(items):
        question = bank.get(item["id"])
        number = index + 1
        if question is None:
            sections += [
                f"## {number}. Unknown question `{item['id']}`",
                "",
                "This question is not in the current question bank.",
                "",
            ]
            continue
        sections += [f"## {number}. {question.title}", ""]
        if index >= reached:
            sections += [f"*{escape_markdown(question.topic)}* · not reached", ""]
            continue
        points = list(question.key_points)
        ticked = [i for i in item["ticked"] if i < len(points)]
        ticked_total += len(ticked)
        points_total += len(points)
        hints_total += item["hints"]
        running = not finished and index == session["current"]
        levels = list(question.key_point_levels) or [""] * len(points)
        musts = [i for i, level in enumerate(levels) if level == "must"]
        must_part = f" · must-haves {len(set(musts) & set(ticked))}/{len(musts)}" if musts else ""
        over = seconds[index] > 60 * question.time_box > 0
        sections += [
            f"*{escape_markdown(question.topic)}* · time {format_duration(seconds[index])}"
            f"{' (in progress)' if running else ''} · rubric {len(ticked)}/{len(points)}"
            f"{must_part} · hints {item['hints']} of {len(question.hints)}"
            + (
                f" · time box {question.time_box} min{' (over)' if over else ''}"
                if question.time_box
                else ""
            ),
            "",
        ]
        sections += [
            f"- {'✅' if i in ticked else '⬜'} {f'**[{levels[i]}]** ' if levels[i] else ''}{point}"
            for i, point in enumerate(points)
        ]
        sections.append("")
        if item["notes"].strip():
            sections += ["**Notes**", "", *_quote(item["notes"]), ""]

    status = "finished" if finished else "in progress"
    head = [
        f"# Mock interview, {started.strftime('%Y-%m-%d %H:%M')} UTC",
        "",
        f"**Duration:** {format_duration(duration)} ({status}) · "
        f"**Questions reached:** {min(reached, len(items))} of {len(items)} · "
        f"**Rubric:** {ticked_total}/{points_total} points · **Hints used:** {hints_total}",
        "",
    ]
    return "\n".join(head + sections).rstrip() + "\n"


def check_session(obj: Any) -> dict[str, Any]:
    """Validate a session value (e.g. read back from the browser); return a copy or raise."""
    _check(obj)
    return _copy(obj)
