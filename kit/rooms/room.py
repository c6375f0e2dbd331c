r"""One interview room as a plain JSON dict, and the pure functions that change it.

Format version 1::

    {
      "format": "latent-lab-room", "version": 1,
      "started": "<UTC iso>", "finished": null | "<UTC iso>",
      "current": 0,                 # index of the question on both screens
      "entered": "<UTC iso>",       # when it came on screen (null once finished)
      "demo_seq": 0,                # +1 on every push: seats redraw the demo when it changes
      "items": [{"id": "...", "hints": 1, "marks": {"0": "covered", "2": "partly"},
                 "notes": "...", "answer": "...", "seconds": 312.5,
                 "demos": ["latent.scatter"], "skipped": false}, ...]
    }

Per question: hints released, rubric ``marks`` (key-point index → one of ``MARKS``; an unmarked
point counts as missed), the presenter's ``notes``, the candidate's typed ``answer``, the seconds
it was on screen, the demos pushed, and whether it was skipped. Every function returns a new dict
(the store applies it inside one transaction, see ``kit.rooms.store``).

The summary scores a point 1 when covered, ½ when partly covered, 0 when missed:
$\text{score} = \sum_i s_i$ over the key points of the questions reached.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from kit.quiz.interview import escape_markdown, format_duration, unique_question_ids
from kit.quiz.schedule import to_utc

FORMAT = "latent-lab-room"
"""The ``format`` value of a room dict."""

VERSION = 1
"""The current room format version."""

MARKS = ("covered", "partly", "missed")
"""How the presenter marks a rubric point."""

SCORE = {"covered": 1.0, "partly": 0.5, "missed": 0.0}
"""Points per mark."""

MAX_QUESTIONS = 30
"""Most questions in one room."""

MAX_TEXT_CHARS = 10_000
"""Longest notes or typed answer kept per question (longer text is cut)."""

MAX_DEMOS = 20
"""Most demo pushes recorded per question."""


class RoomStateError(ValueError):
    """A room change that cannot be made; the message is one sentence for the visitor."""


class QuestionLike(Protocol):
    """What a room needs from a question (``kit.quiz.record.Question`` satisfies it)."""

    id: str
    title: str
    topic: str
    demo: str
    hints: list[str]
    key_points: list[str]
    time_box: int


def _now(now: datetime) -> datetime:
    try:
        return to_utc(now)
    except ValueError as error:
        raise RoomStateError(str(error)) from None


def new_room(question_ids: Iterable[str], now: datetime) -> dict[str, Any]:
    """A room over the given questions (duplicates dropped, order kept), started at ``now``."""
    ids = unique_question_ids(question_ids, RoomStateError)
    if not ids:
        raise RoomStateError("Pick at least one question for the room.")
    if len(ids) > MAX_QUESTIONS:
        raise RoomStateError(f"A room can hold at most {MAX_QUESTIONS} questions.")
    stamp = _now(now).isoformat()
    item = {"hints": 0, "marks": {}, "notes": "", "answer": "", "seconds": 0.0, "demos": []}
    return {
        "format": FORMAT,
        "version": VERSION,
        "started": stamp,
        "finished": None,
        "current": 0,
        "entered": stamp,
        "demo_seq": 0,
        "items": [{"id": qid, **copy.deepcopy(item), "skipped": False} for qid in ids],
    }


def current_id(room: dict[str, Any]) -> str | None:
    """The id of the question on screen, or None once the room has finished."""
    return None if room["finished"] else room["items"][room["current"]]["id"]


def _running(room: dict[str, Any]) -> dict[str, Any]:
    if room["finished"]:
        raise RoomStateError("This interview has finished: its summary is on the presenter's page.")
    return copy.deepcopy(room)


def _item(room: dict[str, Any], q: QuestionLike) -> dict[str, Any]:
    item = room["items"][room["current"]]
    if item["id"] != q.id:
        raise RoomStateError(f"The question {q.id!r} is not the one on screen.")
    return item


def reveal_hint(room: dict[str, Any], q: QuestionLike) -> dict[str, Any]:
    """Release the next hint of the question on screen (no change once all are out)."""
    out = _running(room)
    item = _item(out, q)
    if item["hints"] >= len(q.hints):
        raise RoomStateError("Every hint of this question is already out.")
    item["hints"] += 1
    return out


def push_demo(room: dict[str, Any], q: QuestionLike) -> dict[str, Any]:
    """Show the question's demo on both screens (recorded for the summary)."""
    out = _running(room)
    item = _item(out, q)
    if len(item["demos"]) < MAX_DEMOS:
        item["demos"].append(q.demo)
    out["demo_seq"] += 1
    return out


def set_mark(room: dict[str, Any], q: QuestionLike, index: int, mark: str | None) -> dict[str, Any]:
    """Mark key point ``index`` of the question on screen (``None`` clears the mark)."""
    out = _running(room)
    item = _item(out, q)
    if not isinstance(index, int) or not 0 <= index < len(q.key_points):
        raise RoomStateError(f"{index!r} is not a key point of this question.")
    if mark is None:
        item["marks"].pop(str(index), None)
    elif mark in MARKS:
        item["marks"][str(index)] = mark
    else:
        raise RoomStateError(f"A mark is one of {', '.join(MARKS)}.")
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RoomStateError("That must be text.")
    return value[:MAX_TEXT_CHARS]


def set_notes(room: dict[str, Any], at: int, notes: str | None) -> dict[str, Any]:
    """The presenter's notes for question ``at`` (the one they were typing on)."""
    out = _running(room)
    if not isinstance(at, int) or not 0 <= at < len(out["items"]):
        raise RoomStateError("Those notes belong to no question of this room.")
    out["items"][at]["notes"] = _text(notes)
    return out


def set_answer(room: dict[str, Any], at: int, answer: str | None) -> dict[str, Any]:
    """The candidate's typed answer to question ``at`` (the one on their screen as they typed)."""
    out = _running(room)
    if not isinstance(at, int) or not 0 <= at < len(out["items"]):
        raise RoomStateError("That answer belongs to no question of this room.")
    out["items"][at]["answer"] = _text(answer)
    return out


def _book_time(room: dict[str, Any], now: datetime) -> None:
    """Add the time since ``entered`` to the question on screen (in place, on a copy)."""
    spent = (now - datetime.fromisoformat(room["entered"])).total_seconds()
    item = room["items"][room["current"]]
    item["seconds"] = round(item["seconds"] + max(0.0, spent), 3)


def move(room: dict[str, Any], step: int, now: datetime, skip: bool = False) -> dict[str, Any]:
    """Go ``step`` questions on (+1) or back (-1); moving on from the last one finishes.

    ``skip`` marks the question left as skipped.
    """
    out = _running(room)
    now = _now(now)
    target = out["current"] + step
    if target < 0:
        raise RoomStateError("This is the first question.")
    _book_time(out, now)
    out["items"][out["current"]]["skipped"] = bool(skip)
    if target >= len(out["items"]):
        out["finished"], out["entered"] = now.isoformat(), None
        return out
    out["current"], out["entered"] = target, now.isoformat()
    return out


def finish(room: dict[str, Any], now: datetime) -> dict[str, Any]:
    """End the room at ``now`` (finishing twice changes nothing)."""
    if room["finished"]:
        return copy.deepcopy(room)
    out = copy.deepcopy(room)
    now = _now(now)
    _book_time(out, now)
    out["finished"], out["entered"] = now.isoformat(), None
    return out


def seconds_on_screen(room: dict[str, Any], now: datetime) -> float:
    """Seconds the question on screen has been up in all (0 once finished)."""
    if room["finished"]:
        return 0.0
    item = room["items"][room["current"]]
    return item["seconds"] + max(
        0.0, (_now(now) - datetime.fromisoformat(room["entered"])).total_seconds()
    )


def summary_markdown(
    room: dict[str, Any], questions: Mapping[str, QuestionLike], now: datetime
) -> str:
    """The room written up as markdown, to copy or download.

    Per question its time, hints used, demos shown, each rubric point with its mark, the notes
    and the candidate's typed answer; then the totals.
    """
    now = _now(now)
    started = datetime.fromisoformat(room["started"])
    end = datetime.fromisoformat(room["finished"]) if room["finished"] else now
    sections: list[str] = []
    score = points = 0.0
    hints = demos = 0
    for index, item in enumerate(room["items"]):
        q = questions.get(item["id"])
        title = q.title if q else f"Unknown question {item['id']}"
        sections += [f"## {index + 1}. {escape_markdown(title)}", ""]
        seconds = item["seconds"]
        if not room["finished"] and index == room["current"]:
            seconds = seconds_on_screen(room, now)
        if q is None or (index > room["current"] and not item["seconds"]):
            sections += ["Not reached.", ""]
            continue
        shown = list(dict.fromkeys(item["demos"]))
        mine = sum(SCORE[item["marks"].get(str(i), "missed")] for i in range(len(q.key_points)))
        score, points = score + mine, points + len(q.key_points)
        hints, demos = hints + item["hints"], demos + len(item["demos"])
        over = q.time_box and seconds > 60 * q.time_box
        sections += [
            f"**Time** {format_duration(seconds)} of a {q.time_box} min box"
            f"{' (over)' if over else ''}{' · skipped' if item['skipped'] else ''} · "
            f"**Hints used** {item['hints']} of {len(q.hints)} · "
            f"**Demos shown** {', '.join(f'`{d}`' for d in shown) or 'none'} · "
            f"**Rubric** {mine:g} / {len(q.key_points)}",
            "",
        ]
        for i, point in enumerate(q.key_points):
            mark = item["marks"].get(str(i), "missed")
            sections.append(f"- **{mark}**: {point}")
        sections.append("")
        for label, text in (("Candidate's answer", item["answer"]), ("Notes", item["notes"])):
            if text.strip():
                quoted = [f"> {ln}" if ln else ">" for ln in escape_markdown(text).split("\n")]
                sections += [f"**{label}**", "", *quoted, ""]
    status = "finished" if room["finished"] else "in progress"
    head = [
        f"# Interview room, {started.strftime('%Y-%m-%d %H:%M')} UTC",
        "",
        f"**Total:** {format_duration((end - started).total_seconds())} ({status}) · "
        f"**Rubric** {score:g} / {points:g} points (covered 1, partly ½) · "
        f"**Hints used** {hints} · **Demos shown** {demos}",
        "",
    ]
    return "\n".join(head + sections).rstrip() + "\n"
