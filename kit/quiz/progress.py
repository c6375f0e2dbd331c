"""A learner's quiz progress: a plain JSON-serialisable dict kept in the browser.

Progress lives in `gr.BrowserState`, so it is per user and never touches the server's disk.
Everything here is a pure function: `grade` returns a new dict and never changes its input.

The dict (format version 1) is::

    {
      "format": "latent-lab-quiz-progress",
      "version": 1,
      "cards": {"<question id>": <fsrs.Card.to_dict()>, ...},
      "reviews": [{"id": "<question id>", "topic": "<topic>", "rating": "good",
                   "time": "2025-01-02T14:03:00+00:00"}, ...]
    }

`cards` holds the FSRS memory state of every question graded at least once (see
`kit.quiz.schedule`); `reviews` is the review history, oldest first, capped at the last
`MAX_REVIEWS` entries. A question is *due* when its card's `due` time has passed; a question
without a card is *new* and counts as due. Accuracy per topic is the share of reviews rated
`good` or `easy`.

`export_progress` / `import_progress` move progress between browsers as a JSON file;
`validate_progress` checks a value read back from the browser and falls back to fresh progress
(with a warning) when it is corrupted.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from kit.quiz.record import ID_PATTERN
from kit.quiz.schedule import RATINGS, due_at, format_interval, parse_rating, review, to_utc

FORMAT = "latent-lab-quiz-progress"
"""The `format` value every progress dict and export file carries."""

VERSION = 1
"""The current progress format version."""

MAX_REVIEWS = 1000
"""Review history kept per learner (oldest entries are dropped beyond this)."""

MAX_CARDS = 1000
"""Most question cards a progress value may hold (the bank has 46, a page at most 200 more).

With both caps and the longest ids and topics, progress is ~0.6 MB of JSON: the browser sends
it with the events that read it, so it must fit under the app's request cap (1 MB,
``kit.ui.edge.MAX_JSON_BODY``); a typical one is ~0.1 MB."""

MAX_IMPORT_CHARS = 1_000_000
"""Largest progress file accepted by `import_progress` (a full one is about 0.6 MB)."""

MAX_ID_CHARS = 100
MAX_TOPIC_CHARS = 100

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_CARD_KEYS = frozenset(
    {"card_id", "state", "step", "stability", "difficulty", "due", "last_review"}
)
_REVIEW_KEYS = frozenset({"id", "topic", "rating", "time"})
_TOP_KEYS = frozenset({"format", "version", "cards", "reviews"})
_EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(3000, 1, 1, tzinfo=timezone.utc)
_MAX_JSON_INT = 2**53  # larger integers do not survive the browser's JavaScript numbers
_RECALLED = frozenset({"good", "easy"})


class ProgressError(ValueError):
    """Progress data that cannot be used; the message is one sentence a learner understands."""


class QuestionLike(Protocol):
    """What progress needs from a question (`kit.quiz.record.Question` satisfies it)."""

    id: str
    topic: str


# --------------------------------------------------------------------------- creation, grading


def new_progress() -> dict[str, Any]:
    """Fresh progress: no cards, no reviews."""
    return {"format": FORMAT, "version": VERSION, "cards": {}, "reviews": []}


def grade(
    progress: dict[str, Any], question_id: str, topic: str, rating: str, now: datetime
) -> dict[str, Any]:
    """Record one self-rated answer and reschedule the question; returns a NEW progress dict.

    `rating` is one of `again`, `hard`, `good`, `easy`; `now` must be timezone-aware (it is
    stored in UTC). The input dict is not modified. Raises ProgressError for a malformed
    progress value or bad arguments.
    """
    _check_shape(progress)
    if not isinstance(question_id, str) or not _valid_id(question_id):
        raise ProgressError(f"{str(question_id)[:40]!r} is not a valid question id.")
    if not isinstance(topic, str) or not _valid_topic(topic):
        raise ProgressError(f"{str(topic)[:40]!r} is not a valid topic name.")
    try:
        rating_name = parse_rating(rating).name.lower()
        now = to_utc(now)
    except ValueError as error:
        raise ProgressError(str(error)) from None
    cards = {qid: dict(card) for qid, card in progress["cards"].items()}
    if question_id not in cards and len(cards) >= MAX_CARDS:
        raise ProgressError(f"Progress can hold at most {MAX_CARDS} questions.")
    cards[question_id] = review(cards.get(question_id), rating_name, now)
    entry = {"id": question_id, "topic": topic, "rating": rating_name, "time": now.isoformat()}
    reviews = [dict(r) for r in progress["reviews"][-(MAX_REVIEWS - 1) :]] + [entry]
    return {"format": FORMAT, "version": VERSION, "cards": cards, "reviews": reviews}


# --------------------------------------------------------------------------- queue


def _unique(ids: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for qid in ids:
        if qid not in seen:
            seen.add(qid)
            out.append(qid)
    return out


def due_ids(progress: dict[str, Any], question_ids: Iterable[str], now: datetime) -> list[str]:
    """The questions to study now: reviewed ones whose due time has passed, most overdue first,
    then new (never graded) ones in the order given. Ids not in `question_ids` are ignored."""
    _check_shape(progress)
    now = to_utc(now)
    cards = progress["cards"]
    overdue: list[tuple[datetime, int, str]] = []
    new: list[str] = []
    for order, qid in enumerate(_unique(question_ids)):
        card = cards.get(qid)
        if card is None:
            new.append(qid)
        else:
            due = due_at(card)
            if due <= now:
                overdue.append((due, order, qid))
    overdue.sort()
    return [qid for _due, _order, qid in overdue] + new


def next_due(
    progress: dict[str, Any], question_ids: Iterable[str], now: datetime
) -> datetime | None:
    """The earliest future due time among the given reviewed questions (None if there is none)."""
    _check_shape(progress)
    now = to_utc(now)
    cards = progress["cards"]
    future = [due_at(cards[q]) for q in _unique(question_ids) if q in cards]
    future = [d for d in future if d > now]
    return min(future) if future else None


# --------------------------------------------------------------------------- statistics


@dataclass
class TopicAccuracy:
    """How well a learner recalls one topic's questions."""

    topic: str
    """The topic (question folder name)."""
    reviews: int
    """Reviews of this topic's questions in the kept history."""
    recalled: int
    """Of those, how many were rated `good` or `easy`."""
    accuracy: float | None
    """`recalled / reviews`, or None when the topic has no reviews yet."""


@dataclass
class Stats:
    """Numbers for the quiz's progress panel."""

    total: int
    """Questions in the bank."""
    due: int
    """Reviewed questions whose due time has passed (new questions not included)."""
    new: int
    """Questions never graded (they count as due in the study queue)."""
    reviewed: int
    """Questions of the bank graded at least once."""
    reviews: int
    """Reviews in the kept history (all questions, including ones no longer in the bank)."""
    reviews_today: int
    """Reviews on the current day (in the time zone of the `now` passed to `stats`)."""
    streak_days: int
    """Consecutive days with at least one review, ending today or yesterday (0 if neither)."""
    by_topic: list[TopicAccuracy] = field(default_factory=list)
    """Accuracy per topic: bank topics in bank order, then other reviewed topics by name."""
    next_due: datetime | None = None
    """Earliest future due time among reviewed bank questions (UTC), None if none."""
    now: datetime | None = None
    """The time the statistics were computed for (used to word `next_due`)."""

    def markdown(self) -> str:
        """The stats panel as markdown: a summary line and a per-topic accuracy table."""
        days = "day" if self.streak_days == 1 else "days"
        line = (
            f"**{self.due} due** · {self.new} new · {self.reviewed} of {self.total} reviewed · "
            f"streak {self.streak_days} {days} · {self.reviews_today} today"
        )
        lines = [line, ""]
        if self.due == 0 and self.new == 0 and self.next_due is not None and self.now is not None:
            wait = format_interval(self.next_due - to_utc(self.now))
            lines += [f"Nothing due now; the next review is due in {wait}.", ""]
        if self.reviews == 0:
            lines.append(
                "No reviews yet: answer a question and rate your recall to track progress."
            )
            return "\n".join(lines)
        lines += ["| Topic | Reviews | Recalled (good or easy) |", "|---|---:|---:|"]
        for row in self.by_topic:
            share = "–" if row.accuracy is None else f"{row.accuracy:.0%}"
            lines.append(f"| {_escape_cell(row.topic)} | {row.reviews} | {share} |")
        return "\n".join(lines)


def _escape_cell(text: str) -> str:
    """Make arbitrary text safe inside a markdown table cell (no HTML, no column breaks)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]|#$~])", r"\\\1", text)


def _streak(days: set, today) -> int:
    one = timedelta(days=1)
    start = today if today in days else today - one
    count = 0
    while start in days:
        count += 1
        start -= one
    return count


def stats(progress: dict[str, Any], questions: Iterable[QuestionLike], now: datetime) -> Stats:
    """Compute the progress panel's numbers for the given bank at time `now`.

    Day boundaries (today's reviews, the streak) use `now`'s time zone: pass the learner's local
    time to count local days, or UTC.
    """
    _check_shape(progress)
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise ProgressError("The time must be timezone-aware.")
    now_utc = to_utc(now)
    zone = now.tzinfo
    questions = list(questions)
    ids = _unique(q.id for q in questions)
    cards = progress["cards"]
    new = sum(1 for q in ids if q not in cards)
    due = len(due_ids(progress, ids, now_utc)) - new

    per_topic: dict[str, list[int]] = {}
    for q in questions:
        per_topic.setdefault(q.topic, [0, 0])
    bank_topics = list(per_topic)
    study_days = set()
    today = now.date()
    reviews_today = 0
    for entry in progress["reviews"]:
        counts = per_topic.setdefault(entry["topic"], [0, 0])
        counts[0] += 1
        counts[1] += entry["rating"] in _RECALLED
        day = datetime.fromisoformat(entry["time"]).astimezone(zone).date()
        study_days.add(day)
        reviews_today += day == today
    order = bank_topics + sorted(set(per_topic) - set(bank_topics))
    by_topic = [
        TopicAccuracy(
            topic=t,
            reviews=per_topic[t][0],
            recalled=per_topic[t][1],
            accuracy=per_topic[t][1] / per_topic[t][0] if per_topic[t][0] else None,
        )
        for t in order
    ]
    return Stats(
        total=len(ids),
        due=due,
        new=new,
        reviewed=len(ids) - new,
        reviews=len(progress["reviews"]),
        reviews_today=reviews_today,
        streak_days=_streak(study_days, today),
        by_topic=by_topic,
        next_due=next_due(progress, ids, now_utc),
        now=now_utc,
    )


# --------------------------------------------------------------------------- validation


def _fail(where: str, problem: str) -> ProgressError:
    return ProgressError(f"The progress data is not valid: {where} {problem}.")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _check_shape(progress: Any) -> None:
    """The cheap check every public function does: the top-level structure is right."""
    if not isinstance(progress, dict):
        raise ProgressError(f"Progress must be a dict, not {type(progress).__name__}.")
    if progress.get("format") != FORMAT or progress.get("version") != VERSION:
        raise ProgressError(f"Progress must have format {FORMAT!r} version {VERSION}.")
    if not isinstance(progress.get("cards"), dict) or not isinstance(progress.get("reviews"), list):
        raise ProgressError("Progress must have a 'cards' mapping and a 'reviews' list.")


def _valid_id(value: str) -> bool:
    return len(value) <= MAX_ID_CHARS and ID_PATTERN.match(value) is not None


def _valid_topic(value: str) -> bool:
    return bool(value.strip()) and len(value) <= MAX_TOPIC_CHARS and not _CONTROL_RE.search(value)


def _check_id(value: Any, where: str) -> None:
    if not isinstance(value, str):
        raise _fail(where, f"must be a string, not {type(value).__name__}")
    if not _valid_id(value):
        raise _fail(where, f"must be a question id like 'kl-divergence' (got {value[:40]!r})")


def _check_topic(value: Any, where: str) -> None:
    if not isinstance(value, str):
        raise _fail(where, f"must be a string, not {type(value).__name__}")
    if not _valid_topic(value):
        raise _fail(where, f"must be a short topic name (got {value[:40]!r})")


def _check_time(value: Any, where: str) -> None:
    if not isinstance(value, str) or len(value) > 40:
        raise _fail(where, "must be an ISO date-time string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(where, f"is not an ISO date-time (got {value!r})") from None
    if moment.utcoffset() is None:
        raise _fail(where, f"must include a time zone (got {value!r})")
    if not _EARLIEST <= moment < _LATEST:
        raise _fail(where, f"is out of range (got {value!r})")


def _check_card(card: Any, where: str) -> None:
    if not isinstance(card, dict):
        raise _fail(where, "must be an object")
    if set(card) != _CARD_KEYS:
        missing = sorted(_CARD_KEYS - set(card))
        extra = sorted(str(k) for k in set(card) - _CARD_KEYS)
        detail = f"lacks {', '.join(missing)}" if missing else f"has unknown {', '.join(extra)}"
        raise _fail(where, detail)
    if not _is_int(card["card_id"]) or not 0 <= card["card_id"] < _MAX_JSON_INT:
        raise _fail(f"{where}.card_id", "must be a non-negative integer")
    state = card["state"]
    if not _is_int(state) or state not in (1, 2, 3):
        raise _fail(f"{where}.state", "must be 1 (learning), 2 (review) or 3 (relearning)")
    step = card["step"]
    if state == 2:
        if step is not None:
            raise _fail(f"{where}.step", "must be null for a card in review")
    elif not _is_int(step) or not 0 <= step <= 100:
        raise _fail(f"{where}.step", "must be a small non-negative integer")
    stability = card["stability"]
    if not _is_number(stability) or not 0 < stability <= 1e9:
        raise _fail(f"{where}.stability", "must be a positive number")
    difficulty = card["difficulty"]
    if not _is_number(difficulty) or not 1 <= difficulty <= 10:
        raise _fail(f"{where}.difficulty", "must be a number from 1 to 10")
    _check_time(card["due"], f"{where}.due")
    _check_time(card["last_review"], f"{where}.last_review")


def _check_review(entry: Any, where: str) -> None:
    if not isinstance(entry, dict):
        raise _fail(where, "must be an object")
    if set(entry) != _REVIEW_KEYS:
        raise _fail(where, f"must have exactly the keys {', '.join(sorted(_REVIEW_KEYS))}")
    _check_id(entry["id"], f"{where}.id")
    _check_topic(entry["topic"], f"{where}.topic")
    if entry["rating"] not in RATINGS:
        raise _fail(f"{where}.rating", f"must be one of {', '.join(RATINGS)}")
    _check_time(entry["time"], f"{where}.time")


def check_progress(obj: Any) -> dict[str, Any]:
    """Validate a progress value completely; return a copy or raise ProgressError."""
    if not isinstance(obj, dict):
        raise ProgressError(f"The progress data must be a JSON object, not {type(obj).__name__}.")
    fmt = obj.get("format")
    if fmt != FORMAT:
        raise ProgressError(
            f"This is not Latent Lab quiz progress (its format is {str(fmt)[:60]!r}, "
            f"expected {FORMAT!r})."
        )
    version = obj.get("version")
    if not _is_int(version) or version < 1:
        raise ProgressError("The progress data has no valid format version.")
    if version > VERSION:
        raise ProgressError(
            f"This progress was saved by a newer Latent Lab (format version {version}; "
            f"this one reads version {VERSION})."
        )
    if set(obj) != _TOP_KEYS:
        extra = sorted(str(k)[:40] for k in set(obj) - _TOP_KEYS)
        missing = sorted(_TOP_KEYS - set(obj))
        detail = f"lacks {', '.join(missing)}" if missing else f"has unknown {', '.join(extra)}"
        raise _fail("the top level", detail)
    cards, reviews = obj["cards"], obj["reviews"]
    if not isinstance(cards, dict):
        raise _fail("'cards'", "must be an object mapping question ids to cards")
    if len(cards) > MAX_CARDS:
        raise _fail("'cards'", f"has {len(cards)} entries, more than the limit of {MAX_CARDS}")
    if not isinstance(reviews, list):
        raise _fail("'reviews'", "must be a list")
    if len(reviews) > MAX_REVIEWS:
        raise _fail(
            "'reviews'", f"has {len(reviews)} entries, more than the limit of {MAX_REVIEWS}"
        )
    for qid, card in cards.items():
        _check_id(qid, f"the card key {str(qid)[:40]!r}")
        _check_card(card, f"cards[{qid!r}]")
    for index, entry in enumerate(reviews):
        _check_review(entry, f"reviews[{index}]")
    return {
        "format": FORMAT,
        "version": VERSION,
        "cards": {qid: dict(card) for qid, card in cards.items()},
        "reviews": [dict(entry) for entry in reviews],
    }


@dataclass
class LoadedProgress:
    """Progress read back from the browser, with a warning when it had to be reset."""

    progress: dict[str, Any]
    """Valid progress: the stored value, or fresh progress if that was unusable."""
    warning: str | None
    """One sentence for `gr.Warning` when the stored value was corrupted, else None."""


def validate_progress(obj: Any) -> LoadedProgress:
    """Check a value read from `gr.BrowserState` (sent by any browser); never raises.

    None or an empty value (a first visit) gives fresh progress without a warning; a JSON string
    is parsed; anything invalid gives fresh progress and a warning saying why.

    Bounded before anything is copied: a value with more than `MAX_CARDS` cards is refused on
    its count (not walked), and only the last `MAX_REVIEWS` reviews are looked at and kept (an
    older, longer history is trimmed, as `grade` trims it); then the kept part is validated in
    full (`check_progress`) and copied.
    """
    if obj is None or obj == {} or obj == "":
        return LoadedProgress(new_progress(), None)
    if isinstance(obj, dict):
        cards, reviews = obj.get("cards"), obj.get("reviews")
        if isinstance(cards, dict) and len(cards) > MAX_CARDS:
            return LoadedProgress(
                new_progress(),
                "Your saved quiz progress could not be read, so it starts fresh (it has "
                f"{len(cards):,} cards, more than the limit of {MAX_CARDS}).",
            )
        if isinstance(reviews, list) and len(reviews) > MAX_REVIEWS:
            obj = {**obj, "reviews": reviews[-MAX_REVIEWS:]}  # only the kept tail is checked
    try:
        progress = import_progress(obj) if isinstance(obj, str) else check_progress(obj)
    except ProgressError as error:
        reason = str(error).rstrip(".")
        return LoadedProgress(
            new_progress(),
            f"Your saved quiz progress could not be read, so it starts fresh ({reason}).",
        )
    return LoadedProgress(progress, None)


# --------------------------------------------------------------------------- export, import


def export_progress(progress: dict[str, Any]) -> str:
    """Progress as a JSON document (format name and version included) for download."""
    checked = check_progress(progress)
    return json.dumps(checked, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def import_progress(text: str | bytes) -> dict[str, Any]:
    """Parse and fully validate an exported progress file; raise ProgressError if unusable."""
    if isinstance(text, bytes):
        if len(text) > MAX_IMPORT_CHARS:
            raise ProgressError("The progress file is too large to be Latent Lab quiz progress.")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ProgressError("The progress file is not UTF-8 text.") from None
    if not isinstance(text, str):
        raise ProgressError(f"Progress must be given as text, not {type(text).__name__}.")
    if len(text) > MAX_IMPORT_CHARS:
        raise ProgressError("The progress file is too large to be Latent Lab quiz progress.")
    if not text.strip():
        raise ProgressError("The progress file is empty.")
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise ProgressError(
            f"The progress file is not valid JSON (line {error.lineno}, column {error.colno})."
        ) from None
    except RecursionError:
        raise ProgressError("The progress file is nested too deeply to be quiz progress.") from None
    except ValueError:  # NaN/Infinity, or an integer with thousands of digits
        raise ProgressError("The progress file contains a number that is not allowed.") from None
    return check_progress(obj)
