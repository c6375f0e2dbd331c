"""Study mode polish: interval previews on the grade buttons, one due count, readable
coverage marks, undo of the last grade."""

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta, timezone

import pytest
from fsrs import Card, Rating, Scheduler

from kit.quiz.progress import grade, new_progress, stats
from kit.quiz.study import coverage_html, grade_previews
from kit.ui import quiz_study
from kit.ui.quiz_tab import bundled_bank

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def _interval_days(label: str) -> float:
    n, unit = re.fullmatch(r"([\d.]+) (min|h|days?|years)", label).groups()
    return float(n) * {"min": 1 / 1440, "h": 1 / 24, "day": 1, "days": 1, "years": 365}[unit]


def test_previews_match_an_independent_fsrs_scheduler_and_change_nothing():
    q = bundled_bank().questions[0]
    p = grade(new_progress(), q.id, q.topic, "good", NOW - timedelta(days=3))
    p = grade(p, q.id, q.topic, "good", NOW - timedelta(days=2))
    before = copy.deepcopy(p)
    shown = grade_previews(p, q.id, NOW)
    assert p == before  # the progress is not touched
    # ground truth: the reference fsrs package replaying the same history from scratch
    ref = Scheduler(desired_retention=0.9, enable_fuzzing=False)
    card = Card(card_id=1, due=NOW - timedelta(days=3))
    card, _ = ref.review_card(card, Rating.Good, NOW - timedelta(days=3))
    card, _ = ref.review_card(card, Rating.Good, NOW - timedelta(days=2))
    for rating, fsrs_rating in zip(("again", "hard", "good", "easy"), Rating, strict=True):
        after, _ = ref.review_card(copy.deepcopy(card), fsrs_rating, NOW)
        want = (after.due - NOW).total_seconds() / 86400
        assert _interval_days(shown[rating]) == pytest.approx(want, rel=0.05, abs=1 / 1440)
    assert _interval_days(shown["easy"]) > _interval_days(shown["again"])


def test_grade_labels_say_when_the_card_comes_back():
    labels = quiz_study.grade_labels(
        {"again": "1 min", "hard": "6 min", "good": "3 days", "easy": "8 days"}
    )
    assert labels["good"] == "Good · 3 days" and labels["again"] == "Again · 1 min"


def test_main_line_and_side_panel_count_due_the_same_way():
    qs = bundled_bank().questions
    p = new_progress()
    for q in qs[:5]:  # five reviewed long ago: due again now; the rest new
        p = grade(p, q.id, q.topic, "again", NOW - timedelta(days=30))
    out = quiz_study.show_next_card(p, [], [], [], None)
    panel = stats(p, qs, quiz_study.now_utc())
    assert f"**{panel.due} due** · {panel.new} new" in out["due"]
    assert f"**{panel.due} due** · {panel.new} new" in panel.markdown()
    assert panel.due == 5 and panel.new == len(qs) - 5


def test_coverage_is_marked_in_words_not_only_emoji():
    q = bundled_bank().questions[0]
    html = coverage_html(q, "bottleneck identity training data")
    plain = html.replace("✅", "").replace("⬜", "")  # a browser without an emoji font
    covered = plain.count("covered:</strong>") - plain.count("not covered:</strong>")
    missing = plain.count("not covered:</strong>")
    assert covered + missing == len(q.key_points)
    assert f"covered: {covered} of {len(q.key_points)}" in plain
    assert "kp-covered" in html or "kp-missing" in html


def test_undo_puts_back_the_progress_and_the_card():
    q = bundled_bank().questions[3]
    before = new_progress()
    after = quiz_study.grade_card(before, q.id, "easy")["progress"]
    assert q.id in after["cards"]
    out = quiz_study.undo_grade({"progress": before, "question": q.id})
    assert out["progress"] == before and out["current"] == q.id
    assert q.title in out["front"]
    with pytest.raises(Exception, match="no grade to undo"):
        quiz_study.undo_grade(None)
