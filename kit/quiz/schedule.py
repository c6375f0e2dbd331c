r"""Spaced-repetition scheduling of quiz questions with FSRS.

FSRS (Free Spaced Repetition Scheduler, Ye et al.; the `fsrs` package is its reference Python
implementation) models each card's memory with a stability $S$ (days until recall probability
drops to the desired retention) and a difficulty $D \in [1, 10]$. The predicted recall
probability $t$ days after the last review is the power-law forgetting curve

$$R(t) = \left(1 + F \cdot \frac{t}{S}\right)^{-w_{20}}, \qquad F = 0.9^{-1/w_{20}} - 1,$$

and after each review the next interval is chosen so that $R$ falls to the desired retention
(0.9 here) when the card comes due. New cards first go through short learning steps (1 min,
10 min); a lapse ("again") sends a review card through a 10-minute relearning step.

This module is a thin, deterministic wrapper: one fixed `Scheduler` configuration (no interval
fuzzing, so tests and users see the same intervals), ratings as the strings
`again`/`hard`/`good`/`easy`, and cards stored as the JSON-serialisable dicts of
`fsrs.Card.to_dict()` so they fit in browser storage. Every datetime is timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from fsrs import Card, Rating, Scheduler

RATINGS: tuple[str, ...] = ("again", "hard", "good", "easy")
"""The four answers to "how well did you recall it?", worst first (FSRS ratings 1..4)."""

_RATING_BY_NAME: dict[str, Rating] = {
    "again": Rating.Again,
    "hard": Rating.Hard,
    "good": Rating.Good,
    "easy": Rating.Easy,
}

DESIRED_RETENTION = 0.9
"""Target probability of recalling a card when it comes due."""

# One fixed, read-only configuration shared by every user (no per-user state lives here).
SCHEDULER = Scheduler(desired_retention=DESIRED_RETENTION, enable_fuzzing=False)


def to_utc(moment: datetime) -> datetime:
    """Return `moment` as a timezone-aware datetime in UTC (`tzinfo is timezone.utc`).

    Raises ValueError for naive datetimes: their time zone is unknown, and guessing would shift
    due dates by hours.
    """
    if not isinstance(moment, datetime):
        raise ValueError(f"Expected a datetime, got {type(moment).__name__}.")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            "The time must be timezone-aware (for example datetime.now(timezone.utc))."
        )
    return moment.astimezone(timezone.utc)


def parse_rating(rating: str) -> Rating:
    """Map `again`/`hard`/`good`/`easy` (case and surrounding spaces ignored) to an FSRS Rating."""
    if isinstance(rating, str):
        found = _RATING_BY_NAME.get(rating.strip().lower())
        if found is not None:
            return found
    raise ValueError(f"The rating must be one of {', '.join(RATINGS)} (got {rating!r}).")


def card_from_dict(card: dict[str, Any]) -> Card:
    """Rebuild an `fsrs.Card` from its stored dict, with its datetimes in UTC."""
    restored = Card.from_dict(card)
    restored.due = to_utc(restored.due)
    if restored.last_review is not None:
        restored.last_review = to_utc(restored.last_review)
    return restored


def review(card: dict[str, Any] | None, rating: str, now: datetime) -> dict[str, Any]:
    """Apply one review to a card and return the updated card dict (the input is not changed).

    `card` is None for a question never reviewed before: a fresh FSRS card is created, due now,
    whose `card_id` is the epoch milliseconds of this first review (FSRS's own convention).
    """
    now = to_utc(now)
    fsrs_rating = parse_rating(rating)
    if card is None:
        current = Card(card_id=int(now.timestamp() * 1000), due=now)
    else:
        current = card_from_dict(card)
    updated, _log = SCHEDULER.review_card(current, fsrs_rating, review_datetime=now)
    return updated.to_dict()


def due_at(card: dict[str, Any]) -> datetime:
    """When a stored card is next due (timezone-aware UTC)."""
    return to_utc(datetime.fromisoformat(card["due"]))


def format_interval(interval: timedelta) -> str:
    """A short human label for a scheduling interval: `1 min`, `5 h`, `8 days`, `1.3 years`."""
    minutes = round(max(0.0, interval.total_seconds()) / 60)
    if minutes < 1:
        return "now"
    if minutes < 60:
        return f"{minutes} min"
    hours = round(minutes / 60)
    if hours < 24:
        return f"{hours} h"
    days = round(hours / 24)
    if days == 1:
        return "1 day"
    if days < 365:
        return f"{days} days"
    return f"{days / 365:.1f} years"
