"""The quiz's records: one ``Question``, one ``Problem`` found in a question file, a ``Bank``.

A question file (``questions/<topic>/<id>.md``) is YAML front matter followed by seven level-2
sections and an optional eighth (Evidence); ``kit.quiz.parse`` turns it into a ``Question`` or
into ``Problem``s, each printed as ``path:line: message`` so an editor can jump to it. The
constants below are the format's rules.

The interview-grade parts: each key point starts with a level tag (``[must]``, ``[strong]``,
``[bonus]``); ``## Levels`` says what a junior, senior and staff answer contains; ``## Red flags``
lists common wrong answers, each with ``**Why it is wrong:**``; every follow-up carries a short
``**Answer:**``; the front matter gives a ``time_box`` in minutes and the ``roles`` it suits;
``## Evidence`` keeps numbers measured on the shipped models apart from the rubric.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*\Z")  # \Z: "$" would let a final newline through
"""What an ``id`` looks like: lower-case letters, digits and hyphens, not starting with '-'."""

DIFFICULTIES = ("warm-up", "core", "deep")
"""The allowed ``difficulty`` values, easiest first."""

REQUIRED_KEYS = (
    "id",
    "title",
    "topic",
    "difficulty",
    "tags",
    "demo",
    "demo_args",
    "time_box",
    "roles",
)
"""Front matter keys every question must have."""

OPTIONAL_KEYS = ("sources", "drill", "see_also")
"""Front matter keys a question may have: references, the code drill that practises the
answer (an id of ``kit.drills.catalog.all_drills()``, e.g. ``drill: reparameterize``), and
further demos that show it (``see_also``)."""

MAX_SEE_ALSO = 3
"""Most further demos a question's ``see_also`` may list."""

SECTIONS = (
    "Question",
    "Answer",
    "Hints",
    "Key points",
    "Levels",
    "Red flags",
    "Follow-ups",
    "Evidence",
)
"""The level-2 sections of a question file, exactly these names, in this order."""

OPTIONAL_SECTIONS = ("Evidence",)
"""The sections a question may leave out; every other one of ``SECTIONS`` is required."""

LIST_SECTIONS = ("Hints", "Key points", "Levels", "Red flags", "Follow-ups", "Evidence")
"""The sections that are bullet lists with at least one item."""

ROLES = ("research-scientist", "research-engineer", "ml-engineer")
"""The interview roles a question can suit (``roles`` is a non-empty subset)."""

TIME_BOX_MINUTES = (1, 60)
"""Smallest and largest ``time_box`` (minutes, an integer)."""

POINT_LEVELS = ("must", "strong", "bonus")
"""Key point weights, most important first: written ``[must]`` etc. at the start of a point."""

ANSWER_LEVELS = ("Junior", "Senior", "Staff")
"""The ``## Levels`` bullets, in order, each written ``- **Junior:** ...``."""

WHY_MARK = "**Why it is wrong:**"
"""What separates a red flag's wrong claim from the reason it is wrong."""

ANSWER_MARK = "**Answer:**"
"""What separates a follow-up question from its short model answer."""

SHORT_KEYWORDS = ("kl", "mu", "nu", "xi", "pi")
"""Keyword alternatives allowed below 3 characters (see ``kit.quiz.coverage``).

"kl" is the standard abbreviation of the Kullback-Leibler divergence and no word an answer
would use starts with it; "mu", "nu", "xi", "pi" are what the coverage check spells the Greek
letters μ, ν, ξ, π as, and they match whole words only ("mu" never matches "must").
"""

TEXT_SECTIONS = ("Question", "Answer")
"""The sections that are free markdown and must not be empty."""

UNSUITABLE_DEMOS = {"reconstruction.drawing": "it needs a drawing from the learner"}
"""Registered demos a question may not link to, with the reason."""

MAX_FILE_BYTES = 16 * 1024
"""Size cap of one question file (the largest bundled one is 5.6 KB)."""

MAX_UPLOAD_FILES = 64
"""Most question files a learner may upload at once."""

MAX_UPLOAD_BYTES = 1024 * 1024
"""Most bytes (all files together) a learner may upload at once."""


@dataclass(frozen=True)
class RedFlag:
    """A common wrong answer and why it is wrong."""

    claim: str
    """The wrong answer as a candidate might give it, markdown."""
    why: str
    """Why it is wrong, markdown (the text after ``**Why it is wrong:**``)."""


@dataclass(frozen=True, kw_only=True)
class Question:
    """One interview question, parsed and validated from its markdown file."""

    id: str
    """Stable id, unique across the bank, e.g. "reparameterization-trick"."""
    title: str
    """Short human title, e.g. "The reparameterization trick"."""
    topic: str
    """Topic (the folder name under ``questions/``), e.g. "vae-foundations"."""
    difficulty: str
    """One of ``DIFFICULTIES``: "warm-up", "core" or "deep"."""
    tags: list[str] = field(default_factory=list)
    """Free-form tags, possibly empty."""
    demo: str
    """Id of the live demo that shows the answer (a key of ``kit.demos.registry.all_demos()``)."""
    demo_args: dict[str, Any] = field(default_factory=dict)
    """Preset arguments for that demo (a subset of its ``defaults``), possibly empty."""
    see_also: list[str] = field(default_factory=list)
    """Further demos that show the answer, by id, possibly empty (at most ``MAX_SEE_ALSO``):
    linked under the model answer, each opening with its default settings, e.g. the encoder
    view (``latent.encode_test_digit``) from the reparameterization-trick question."""
    sources: list[str] = field(default_factory=list)
    """References backing the answer, possibly empty."""
    drill: str | None = None
    """Id of the code drill that practises the answer (a key of
    ``kit.drills.catalog.all_drills()``), or None; the card offers "Try it as a code drill"."""
    question: str
    """The question, markdown (LaTeX between ``$...$`` / ``$$...$$``)."""
    answer: str
    """The model answer, markdown."""
    hints: list[str] = field(default_factory=list)
    """Hints, vaguest first, each markdown."""
    key_points: list[str] = field(default_factory=list)
    """Points a good answer covers, markdown, without their ``(keywords: ...)`` suffix."""
    keywords: list[list[list[str]]] = field(default_factory=list)
    """Per key point, its keyword groups; each group is a list of lower-case alternatives.

    From the point's ``(keywords: a, b/c)`` suffix: ``[["a"], ["b", "c"]]``. A point without
    the suffix has ``[]`` here, and ``kit.quiz.coverage`` falls back to its content words.
    """
    explicit_keywords: list[bool] = field(default_factory=list)
    """Per key point, True when it has a ``(keywords: ...)`` suffix."""
    key_point_levels: list[str] = field(default_factory=list)
    """Per key point, its level: one of ``POINT_LEVELS`` ("must", "strong", "bonus")."""
    levels: dict[str, str] = field(default_factory=dict)
    """What an answer at each level contains: ``{"junior": ..., "senior": ..., "staff": ...}``,
    markdown (keys are ``ANSWER_LEVELS`` in lower case, in that order)."""
    red_flags: list[RedFlag] = field(default_factory=list)
    """Common wrong answers, each with why it is wrong."""
    follow_ups: list[str] = field(default_factory=list)
    """Questions an interviewer could ask next, markdown (without their model answers)."""
    follow_up_answers: list[str] = field(default_factory=list)
    """Per follow-up, its short model answer, markdown (the text after ``**Answer:**``)."""
    evidence: list[str] = field(default_factory=list)
    """Numbers measured on the shipped models, markdown; possibly empty. Never in the rubric."""
    time_box: int = 0
    """Minutes this question gets in an interview (``TIME_BOX_MINUTES``)."""
    roles: list[str] = field(default_factory=list)
    """The roles the question suits: a non-empty subset of ``ROLES``, in the file's order."""
    path: str = ""
    """The file the question came from, as it is shown in messages."""
    key_lines: dict[str, int] = field(default_factory=dict)
    """1-based line of each front matter key, e.g. ``{"id": 2, "demo": 7}``."""
    section_lines: dict[str, int] = field(default_factory=dict)
    """1-based line of each section heading, e.g. ``{"Question": 12}``."""
    key_point_lines: list[int] = field(default_factory=list)
    """1-based line of each key point."""

    def __hash__(self) -> int:  # the list and dict fields are unhashable; id and path are not
        return hash((self.id, self.path))

    @property
    def line(self) -> int:
        """Line of the ``id`` key (where messages about the whole question point)."""
        return self.key_lines.get("id", 1)

    @property
    def location(self) -> str:
        """``path:line`` of the question's id."""
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a question file; ``str()`` gives ``path:line: message``."""

    path: str
    """The file, as given (relative paths stay relative)."""
    line: int
    """1-based line the problem is on."""
    message: str
    """What is wrong, in a sentence that says how to fix it."""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class Bank:
    """Every question that loaded and every problem found; a bad file never hides the good ones."""

    questions: list[Question] = field(default_factory=list)
    """The valid questions, in file order (sorted paths)."""
    problems: list[Problem] = field(default_factory=list)
    """Everything wrong, sorted by path and line."""
    sources: dict[str, str] = field(default_factory=dict, repr=False)
    """Each question's file as text, by question id (what a learner's browser keeps)."""

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def by_id(self) -> dict[str, Question]:
        """The questions by id."""
        return {q.id: q for q in self.questions}

    def topics(self) -> list[str]:
        """The distinct topics, sorted."""
        return sorted({q.topic for q in self.questions})

    def summary(self) -> str:
        """E.g. "43 questions in 6 topics"."""
        n, t = len(self.questions), len(self.topics())
        return f"{n} question{'s' * (n != 1)} in {t} topic{'s' * (t != 1)}"
