"""Quiz progress (kit.quiz.progress) and FSRS scheduling (kit.quiz.schedule)."""

from __future__ import annotations

import copy
import json
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from kit.quiz import progress as P
from kit.quiz import schedule as S

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)


@dataclass
class Q:
    """A stand-in for kit.quiz.record.Question with the fields progress uses."""

    id: str
    topic: str
    title: str = "A question"
    hints: list[str] = field(default_factory=list)
    key_points: list[str] = field(default_factory=list)


def _interval(card: dict, now: datetime) -> timedelta:
    return S.due_at(card) - now


def _review_card(now: datetime = T0) -> dict:
    """A card that graduated to the Review state after a few good reviews."""
    card, t = None, now
    for _ in range(3):
        card = S.review(card, "good", t)
        t = S.due_at(card)
    assert card["state"] == 2  # Review
    return card


# ------------------------------------------------------------------------------------- schedule


def test_again_is_due_sooner_than_easy_for_new_and_review_cards():
    for card in (None, _review_card()):
        now = T0 if card is None else S.due_at(card)
        again = S.review(card, "again", now)
        easy = S.review(card, "easy", now)
        assert S.due_at(again) < S.due_at(easy)


def test_hard_good_easy_intervals_increase():
    for card in (None, _review_card()):
        now = T0 if card is None else S.due_at(card) + timedelta(days=1)
        hard, good, easy = (
            _interval(S.review(card, r, now), now) for r in ("hard", "good", "easy")
        )
        assert timedelta(0) < hard < good < easy


def test_due_dates_move_forward_with_growing_intervals():
    card, now, intervals = None, T0, []
    for _ in range(6):
        card = S.review(card, "good", now)
        due = S.due_at(card)
        assert due > now
        intervals.append(due - now)
        now = due
    assert intervals[-1] > intervals[2] > intervals[0]
    assert intervals[-1] > timedelta(days=30)


def test_times_are_timezone_aware_utc_and_zone_independent():
    card = S.review(None, "good", T0)
    for key in ("due", "last_review"):
        moment = datetime.fromisoformat(card[key])
        assert moment.utcoffset() == timedelta(0)
    assert S.due_at(card).tzinfo is timezone.utc
    # The same instant given in another zone schedules identically.
    paris = T0.astimezone(timezone(timedelta(hours=1)))
    assert S.review(None, "good", paris) == card
    with pytest.raises(ValueError, match="timezone-aware"):
        S.review(None, "good", datetime(2025, 3, 10, 9, 0))


def test_scheduling_is_deterministic_and_does_not_mutate():
    card = _review_card()
    before = copy.deepcopy(card)
    now = S.due_at(card)
    assert S.review(card, "good", now) == S.review(card, "good", now)  # no fuzzing
    assert card == before


def test_ratings_and_preview():
    assert S.parse_rating(" Good ") == S.Rating.Good
    with pytest.raises(ValueError, match="again, hard, good, easy"):
        S.parse_rating("meh")
    preview = {name: S.due_at(S.review(None, name, T0)) - T0 for name in S.RATINGS}
    assert preview["again"] < preview["hard"] < preview["good"] < preview["easy"]
    assert S.format_interval(preview["again"]) == "1 min"
    assert S.format_interval(timedelta(days=8)) == "8 days"
    assert S.format_interval(timedelta(hours=5)) == "5 h"


# ------------------------------------------------------------------------------------- grading


def test_grade_returns_new_dict_and_logs_the_review():
    fresh = P.new_progress()
    snapshot = json.dumps(fresh)
    after = P.grade(fresh, "kl-divergence", "vae-foundations", "Good", T0)
    assert json.dumps(fresh) == snapshot  # input untouched
    assert after is not fresh
    assert after["reviews"] == [
        {
            "id": "kl-divergence",
            "topic": "vae-foundations",
            "rating": "good",
            "time": T0.isoformat(),
        }
    ]
    assert set(after["cards"]) == {"kl-divergence"}
    second = P.grade(after, "kl-divergence", "vae-foundations", "easy", T0 + timedelta(hours=1))
    assert len(after["reviews"]) == 1 and len(second["reviews"]) == 2
    assert after["cards"]["kl-divergence"] != second["cards"]["kl-divergence"]


@pytest.mark.parametrize(
    ("qid", "topic", "rating", "now", "match"),
    [
        ("kl", "vae", "perfect", T0, "rating"),
        ("KL Divergence", "vae", "good", T0, "question id"),
        ("kl", "", "good", T0, "topic"),
        ("kl", "vae", "good", datetime(2025, 1, 1), "timezone-aware"),
    ],
)
def test_grade_rejects_bad_arguments(qid, topic, rating, now, match):
    with pytest.raises(P.ProgressError, match=match):
        P.grade(P.new_progress(), qid, topic, rating, now)


def test_grade_rejects_something_that_is_not_progress():
    with pytest.raises(P.ProgressError):
        P.grade({"cards": {}}, "kl", "vae", "good", T0)


def test_history_is_capped_keeping_the_newest():
    base = P.new_progress()
    base["reviews"] = [
        {"id": "q", "topic": "t", "rating": "good", "time": (T0 + timedelta(seconds=i)).isoformat()}
        for i in range(P.MAX_REVIEWS)
    ]
    after = P.grade(base, "last", "t", "hard", T0 + timedelta(days=1))
    assert len(after["reviews"]) == P.MAX_REVIEWS
    assert after["reviews"][-1]["id"] == "last"
    assert after["reviews"][0]["time"] == base["reviews"][1]["time"]  # the oldest one dropped
    P.check_progress(after)


# ------------------------------------------------------------------------------------- queue


def test_due_ids_puts_most_overdue_first_then_new_in_order():
    p = P.new_progress()
    p = P.grade(p, "a", "t", "good", T0)  # due T0 + 10 min
    p = P.grade(p, "b", "t", "again", T0)  # due T0 + 1 min
    p = P.grade(p, "c", "t", "easy", T0)  # due in days
    now = T0 + timedelta(minutes=30)
    ids = ["new-2", "a", "c", "b", "new-1", "a"]
    assert P.due_ids(p, ids, now) == ["b", "a", "new-2", "new-1"]
    assert P.due_ids(p, ids, T0 + timedelta(seconds=30)) == ["new-2", "new-1"]
    assert P.due_ids(p, [], now) == []
    assert P.next_due(p, ids, now) == S.due_at(p["cards"]["c"])


# ------------------------------------------------------------------------------------- stats


def _day_review(day_offset: int, rating: str = "good", topic: str = "t", hour: int = 12):
    moment = T0.replace(hour=hour) + timedelta(days=day_offset)
    return {"id": "q", "topic": topic, "rating": rating, "time": moment.isoformat()}


@pytest.mark.parametrize(
    ("days", "streak"),
    [
        ([0, -1, -2], 3),  # ends today
        ([-1, -2, -3, -4], 4),  # ends yesterday: still alive
        ([0, -2, -3], 1),  # a gap breaks it
        ([-2, -3], 0),  # nothing today or yesterday
        ([], 0),
    ],
)
def test_streak_counts_consecutive_days_ending_today_or_yesterday(days, streak):
    p = P.new_progress()
    p["reviews"] = [_day_review(d) for d in sorted(days)]
    assert P.stats(p, [], T0.replace(hour=18)).streak_days == streak


def test_streak_and_today_use_the_zone_of_now():
    p = P.new_progress()
    # 23:30 UTC on the 9th is already the 10th in UTC+2.
    p["reviews"] = [_day_review(-1, hour=23) | {"time": "2025-03-09T23:30:00+00:00"}]
    utc_stats = P.stats(p, [], T0)
    local_stats = P.stats(p, [], T0.astimezone(timezone(timedelta(hours=2))))
    assert (utc_stats.reviews_today, local_stats.reviews_today) == (0, 1)
    assert utc_stats.streak_days == local_stats.streak_days == 1


def test_stats_counts_and_accuracy_by_topic():
    bank = [Q("a", "autoencoders"), Q("b", "autoencoders"), Q("c", "practice"), Q("d", "beta")]
    p = P.new_progress()
    p = P.grade(p, "a", "autoencoders", "good", T0)
    p = P.grade(p, "b", "autoencoders", "again", T0)
    p = P.grade(p, "a", "autoencoders", "easy", T0 + timedelta(minutes=20))
    p = P.grade(p, "gone", "old|topic", "hard", T0)  # no longer in the bank
    now = T0 + timedelta(minutes=30)
    s = P.stats(p, bank, now)
    assert (s.total, s.new, s.reviewed, s.reviews, s.reviews_today) == (4, 2, 2, 4, 4)
    assert s.due == 1  # "b" (again, due after 1 min); "a" was rated easy -> days away
    by_topic = {row.topic: row for row in s.by_topic}
    assert [row.topic for row in s.by_topic] == ["autoencoders", "practice", "beta", "old|topic"]
    assert (by_topic["autoencoders"].reviews, by_topic["autoencoders"].recalled) == (3, 2)
    assert by_topic["autoencoders"].accuracy == pytest.approx(2 / 3)
    assert by_topic["practice"].accuracy is None
    assert by_topic["old|topic"].accuracy == 0.0
    md = s.markdown()
    assert "**1 due** · 2 new · 2 of 4 reviewed" in md
    assert "| autoencoders | 3 | 67% |" in md
    assert "| old\\|topic | 1 | 0% |" in md  # a pipe cannot split the table row
    assert "| practice | 0 | – |" in md


def test_stats_markdown_without_reviews_and_with_nothing_due():
    empty = P.stats(P.new_progress(), [Q("a", "t")], T0).markdown()
    assert "No reviews yet" in empty and "1 new" in empty
    p = P.grade(P.new_progress(), "a", "t", "easy", T0)
    md = P.stats(p, [Q("a", "t")], T0 + timedelta(hours=1)).markdown()
    assert "Nothing due now; the next review is due in 8 days." in md


# ------------------------------------------------------------------------------------- export / import


def _random_progress(n: int = 120, seed: int = 0) -> dict:
    rng = random.Random(seed)
    p, now = P.new_progress(), T0
    for _ in range(n):
        qid = rng.choice(["ae-basics", "kl-term", "beta-vae", "elbo", "reparam"])
        p = P.grade(p, qid, rng.choice(["autoencoders", "practice"]), rng.choice(S.RATINGS), now)
        now += timedelta(minutes=rng.choice([1, 5, 60, 60 * 30]), microseconds=rng.randrange(10**6))
    return p


def test_every_graded_progress_is_valid_and_round_trips_exactly():
    p = _random_progress()
    assert P.check_progress(p) == p
    text = P.export_progress(p)
    data = json.loads(text)
    assert (data["format"], data["version"]) == (P.FORMAT, P.VERSION)
    back = P.import_progress(text)
    assert back == p
    assert json.dumps(back) == json.dumps(p)  # same types too (floats stay floats)
    assert P.import_progress(text.encode("utf-8")) == p


def test_progress_survives_a_browser_round_trip():
    """JavaScript writes 1.0 as 1: such values must still validate and schedule."""
    p = P.grade(P.new_progress(), "a", "t", "easy", T0)  # difficulty 1.0
    assert p["cards"]["a"]["difficulty"] == 1.0
    js = json.loads(json.dumps(p).replace("1.0,", "1,"))
    assert isinstance(js["cards"]["a"]["difficulty"], int)
    loaded = P.validate_progress(js)
    assert loaded.warning is None and loaded.progress == p
    P.grade(loaded.progress, "a", "t", "good", T0 + timedelta(days=9))


def _variant(mutate) -> str:
    data = json.loads(P.export_progress(_random_progress(8)))
    mutate(data)
    return json.dumps(data)


def _first_card(data: dict) -> dict:
    return next(iter(data["cards"].values()))


BAD_FILES = {
    "not json": ("{'format': 1}", "not valid JSON"),
    "truncated": (P.export_progress(P.new_progress())[:-5], "not valid JSON"),
    "empty": ("  \n", "empty"),
    "list": ("[1, 2]", "must be a JSON object"),
    "other format": (_variant(lambda d: d.update(format="anki")), "not Latent Lab quiz progress"),
    "newer version": (_variant(lambda d: d.update(version=2)), "newer Latent Lab"),
    "version as text": (_variant(lambda d: d.update(version="1")), "version"),
    "version as bool": (_variant(lambda d: d.update(version=True)), "version"),
    "extra key": (_variant(lambda d: d.update(extra=1)), "unknown extra"),
    "missing reviews": (_variant(lambda d: d.pop("reviews")), "lacks reviews"),
    "cards as list": (_variant(lambda d: d.update(cards=[])), "'cards' must be an object"),
    "bad card key": (_variant(lambda d: d["cards"].update({"Bad Id": {}})), "card key"),
    "card key ending in a newline": (
        _variant(lambda d: d["cards"].update({"abc\n": {}})),
        "card key",
    ),
    "stability text": (
        _variant(lambda d: _first_card(d).update(stability="2.3")),
        "stability must be a positive number",
    ),
    "negative stability": (
        _variant(lambda d: _first_card(d).update(stability=-1.0)),
        "stability",
    ),
    "difficulty 11": (_variant(lambda d: _first_card(d).update(difficulty=11)), "difficulty"),
    "state 7": (_variant(lambda d: _first_card(d).update(state=7)), "state must be"),
    "step in review": (
        _variant(lambda d: _first_card(d).update(state=2, step=1)),
        "must be null for a card in review",
    ),
    "card id float": (_variant(lambda d: _first_card(d).update(card_id=1.5)), "card_id"),
    "card id huge": (_variant(lambda d: _first_card(d).update(card_id=2**60)), "card_id"),
    "card missing due": (_variant(lambda d: _first_card(d).pop("due")), "lacks due"),
    "naive due": (
        _variant(lambda d: _first_card(d).update(due="2025-03-10T09:00:00")),
        "time zone",
    ),
    "not a date": (_variant(lambda d: _first_card(d).update(due="next tuesday")), "ISO"),
    "year 9999": (
        _variant(lambda d: _first_card(d).update(due="9999-12-31T00:00:00+00:00")),
        "out of range",
    ),
    "unknown rating": (
        _variant(lambda d: d["reviews"][0].update(rating="perfect")),
        "rating must be one of again, hard, good, easy",
    ),
    "rating as number": (_variant(lambda d: d["reviews"][0].update(rating=3)), "rating"),
    "review not object": (_variant(lambda d: d["reviews"].append("good")), "must be an object"),
    "review extra key": (_variant(lambda d: d["reviews"][0].update(x=1)), "exactly the keys"),
    "topic not text": (_variant(lambda d: d["reviews"][0].update(topic=5)), "topic"),
    "topic with newline": (_variant(lambda d: d["reviews"][0].update(topic="a\nb")), "topic"),
    "too many reviews": (
        _variant(lambda d: d.update(reviews=d["reviews"][:1] * (P.MAX_REVIEWS + 1))),
        "more than the limit",
    ),
    "NaN": (
        re.sub(r'"stability": [0-9.]+', '"stability": NaN', P.export_progress(_random_progress(3))),
        "not allowed",
    ),
    "huge integer": ('{"format": ' + "9" * 5000 + "}", "not allowed"),
    "deep nesting": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "too large": (" " * (P.MAX_IMPORT_CHARS + 1), "too large"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_import_rejects_bad_files_with_one_clear_sentence(name):
    text, expected = BAD_FILES[name]
    with pytest.raises(P.ProgressError) as info:
        P.import_progress(text)
    message = str(info.value)
    assert expected in message
    assert message[0].isupper() and message.endswith(".") and "\n" not in message
    assert len(message) < 240


def test_import_rejects_non_utf8_bytes_and_non_text():
    with pytest.raises(P.ProgressError, match="UTF-8"):
        P.import_progress(b"\xff\xfe{}")
    with pytest.raises(P.ProgressError, match="text"):
        P.import_progress(42)  # type: ignore[arg-type]


def test_export_refuses_invalid_progress():
    broken = P.grade(P.new_progress(), "a", "t", "good", T0)
    broken["reviews"][0]["rating"] = "perfect"
    with pytest.raises(P.ProgressError):
        P.export_progress(broken)


def test_validate_progress_falls_back_to_fresh_with_a_warning():
    for first_visit in (None, {}, ""):
        loaded = P.validate_progress(first_visit)
        assert loaded.progress == P.new_progress() and loaded.warning is None
    good = _random_progress(10)
    loaded = P.validate_progress(good)
    assert loaded.progress == good and loaded.warning is None
    assert loaded.progress is not good
    assert P.validate_progress(P.export_progress(good)).progress == good  # a JSON string
    corrupted = copy.deepcopy(good)
    _first_card(corrupted)["due"] = None
    for bad in (corrupted, "garbage{", 17, [good], {"format": P.FORMAT}):
        loaded = P.validate_progress(bad)
        assert loaded.progress == P.new_progress()
        assert loaded.warning is not None and loaded.warning.startswith("Your saved quiz progress")
        assert loaded.warning.endswith(".")
