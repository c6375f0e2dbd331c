r"""Which key points of a model answer a learner's typed answer covers (a keyword check).

Each key point carries keyword groups, e.g. ``(keywords: deterministic, noise/epsilon/eps)``
gives the groups ``[["deterministic"], ["noise", "epsilon", "eps"]]``. A group is *matched* when
any of its alternatives occurs in the learner's text as a word prefix, case-insensitively:
``noise`` matches "Noise,", "noiseless" and "white-noise", but never a word that merely contains
it, like "annoise" (a word starts after any character that is not a letter or digit). A point
with $g$ groups is covered when at least $\lceil g/2 \rceil$ of them match.

Without explicit keywords the groups are the point's content words (>= 4 letters, stop words
removed), lightly stemmed ("gradients" -> "gradient", "sampling" -> "sampl") so that the learner
may use another form of the word; the threshold is again half of them, rounded up.

The text is normalised before matching: Unicode NFKC and case folding, Greek letters spelled out
(μ -> mu, σ -> sigma, ε -> epsilon), LaTeX ``\var`` variants reduced (``\varepsilon`` ->
``\epsilon``). A LaTeX command is a word of its own (``\sigma`` matches ``sigma``), as is each
piece of ``snake_case``. A multi-word alternative such as ``posterior collapse`` matches any run
of spaces, hyphens or underscores between its words.

An alternative under 3 characters ("mu") matches whole words only, so that "mu" never matches
"must" or "multiple"; "kl" is the exception and also matches "KLD".

**Negation.** An occurrence is *negated* when one of the ``NEGATION_WINDOW`` words just before
it, in the same clause, is a negation: "not", "never", "cannot" or a word ending in "n't"
("isn't", "doesn’t"); "no", "without" and "nor" negate only the next ``NARROW_WINDOW`` words,
their object ("estimated without bias from one sample" does not negate "sample"). A clause ends at ``. , ; : ! ? ( )`` and at "but" /
"however", and "not only" / "not just" / "not merely" do not negate. A group is matched by an
occurrence whose negation agrees with the point's own, alternative by alternative: when the
point's text contains that alternative, its first occurrence there sets the polarity, otherwise
it is affirmative. So "sampling is not differentiable" does not cover "z is a differentiable
function of mu" (keyword ``differentiable``), and does cover "sampling isn't differentiable"
(the point negates it too), while "sampling is differentiable" does not cover the latter.

This is a study aid, not a grader: it cannot see wrong reasoning that uses the right words, nor
negation further away or in other forms ("fails to be differentiable").
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

MAX_TEXT_CHARS = 50_000
"""Only the first this many characters of an answer are checked (a typed answer is far shorter)."""

MIN_CONTENT_LETTERS = 4
"""Content words (used when a point has no keywords) have at least this many letters."""

STOP_WORDS = frozenset(
    [
        "about",
        "above",
        "across",
        "after",
        "again",
        "against",
        "almost",
        "along",
        "also",
        "although",
        "always",
        "among",
        "another",
        "anyone",
        "anything",
        "around",
        "because",
        "been",
        "before",
        "behind",
        "being",
        "below",
        "between",
        "both",
        "cannot",
        "could",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "either",
        "else",
        "enough",
        "even",
        "ever",
        "every",
        "from",
        "further",
        "given",
        "gives",
        "have",
        "having",
        "here",
        "hers",
        "herself",
        "himself",
        "however",
        "into",
        "itself",
        "just",
        "like",
        "made",
        "make",
        "makes",
        "many",
        "might",
        "more",
        "most",
        "much",
        "must",
        "neither",
        "never",
        "once",
        "only",
        "onto",
        "other",
        "others",
        "otherwise",
        "ours",
        "over",
        "quite",
        "rather",
        "same",
        "several",
        "shall",
        "should",
        "since",
        "some",
        "such",
        "than",
        "that",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "therefore",
        "these",
        "they",
        "thing",
        "things",
        "this",
        "those",
        "though",
        "through",
        "thus",
        "together",
        "under",
        "unless",
        "until",
        "upon",
        "used",
        "uses",
        "using",
        "very",
        "want",
        "what",
        "whatever",
        "when",
        "where",
        "whether",
        "which",
        "while",
        "whom",
        "whose",
        "will",
        "with",
        "within",
        "without",
        "would",
        "your",
        "yours",
        "yourself",
    ]
)
"""Words that carry no content and are never used as fallback keywords."""

_GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ϵ": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "ϑ": "theta",
    "ι": "iota",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "ς": "sigma",
    "τ": "tau",
    "υ": "upsilon",
    "φ": "phi",
    "ϕ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
    "∇": "nabla",
    "∂": "partial",
}
_GREEK_RE = re.compile("|".join(map(re.escape, _GREEK)))
_LATEX_VAR_RE = re.compile(r"\\var(epsilon|theta|phi|pi|rho|sigma|kappa)")
_WORD_RE = re.compile(r"[^\W_]+")  # runs of letters/digits: underscores split words
_SEPARATOR = r"[\s\-_]+"
_TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")  # words, keeping "isn't" whole
_CLAUSE_END_RE = re.compile(r"[.,;:!?()]|\bbut\b|\bhowever\b")

NEGATIONS = frozenset({"not", "never", "cannot"})
"""Words that negate the next ``NEGATION_WINDOW`` words (as does every word ending in "n't")."""

NARROW_NEGATIONS = frozenset({"no", "without", "nor"})
"""Words that negate only the next ``NARROW_WINDOW`` words: their object ("without bias from
one sample" negates "bias", not "sample")."""

NOT_NEGATING = frozenset({"only", "just", "merely"})
"""After "not", these make it affirm ("not only X" says X)."""

NEGATION_WINDOW = 4
"""How many words before an occurrence are searched for a negation."""

NARROW_WINDOW = 2
"""How far back a ``NARROW_NEGATIONS`` word reaches."""

PREFIX_SHORT = frozenset({"kl"})
"""Alternatives under 3 characters that still match as a word prefix ("kl" in "KLD")."""
_SUFFIXES = ("ing", "ies", "es", "ed", "ly", "s")


@dataclass
class CoverageItem:
    """How well a learner's answer covers one key point."""

    point: str
    """The key point's text (markdown, without its keywords suffix)."""
    groups: list[list[str]]
    """The keyword groups checked, each a list of alternatives (normalised, lower case)."""
    matched: list[bool]
    """Per group, whether one of its alternatives occurs in the answer as a word prefix."""
    needed: int
    """How many groups must match for the point to count as covered (half, rounded up)."""
    covered: bool
    """True when at least `needed` groups matched."""
    explicit: bool
    """True when the groups came from the point's keywords, False when from its content words."""

    @property
    def hits(self) -> int:
        """Number of matched groups."""
        return sum(self.matched)

    @property
    def missing(self) -> list[str]:
        """The unmatched groups, each written as its alternatives joined by `/`."""
        return ["/".join(g) for g, hit in zip(self.groups, self.matched, strict=True) if not hit]


def normalise(text: str) -> str:
    """Text in the form matching works on: NFKC, case-folded, Greek letters spelled out."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _GREEK_RE.sub(lambda m: f" {_GREEK[m.group(0)]} ", text)
    return _LATEX_VAR_RE.sub(r"\\\1", text)


def _stem(word: str) -> str:
    """Strip one common English suffix if at least `MIN_CONTENT_LETTERS` letters remain."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_CONTENT_LETTERS:
            return word[: -len(suffix)]
    return word


def content_words(point: str) -> list[list[str]]:
    r"""Fallback groups of a key point without keywords: its stemmed content words, one each.

    Content words have >= `MIN_CONTENT_LETTERS` letters and are not stop words; inline LaTeX
    commands count as words (``\sigma`` -> ``sigma``). Duplicates are dropped.
    """
    seen: list[str] = []
    for word in _WORD_RE.findall(normalise(point)):
        if len(word) < MIN_CONTENT_LETTERS or word in STOP_WORDS or word.isdigit():
            continue
        stem = _stem(word)
        if stem not in seen:
            seen.append(stem)
    return [[w] for w in seen]


def _clean_groups(groups: Sequence[Sequence[str]]) -> list[list[str]]:
    """Normalise alternatives (splitting any left joined by `/`), dropping empty ones and then
    empty groups."""
    cleaned = []
    for group in groups:
        if isinstance(group, str):  # a bare string is one group: "noise/epsilon"
            group = [group]
        alternatives = []
        for entry in group:
            for alt in str(entry).split("/"):
                alt = " ".join(normalise(alt).split())
                if alt and alt not in alternatives:
                    alternatives.append(alt)
        if alternatives:
            cleaned.append(alternatives)
    return cleaned


@lru_cache(maxsize=4096)
def _pattern(alternative: str) -> re.Pattern[str]:
    """A regex finding `alternative` at the start of a word; its words may be joined by any run
    of spaces, hyphens or underscores."""
    parts = [re.escape(p) for p in re.split(_SEPARATOR, alternative) if p]
    body = _SEPARATOR.join(parts)
    # A word starts where the previous character is not a letter or digit. If the alternative
    # itself begins with a non-word character (e.g. "\\mu", "$"), no boundary is needed.
    boundary = r"(?<![^\W_])" if _WORD_RE.match(alternative) else ""
    # Short alternatives ("mu") match whole words only: "mu" would start "must", "multiple".
    end = r"(?![^\W_])" if len(alternative) < 3 and alternative not in PREFIX_SHORT else ""
    return re.compile(boundary + body + end)


def _scope(word: str, following: str) -> int:
    """How many of the next words `word` negates (0: it is not a negation)."""
    if word == "not" and following in NOT_NEGATING:
        return 0
    if word in NEGATIONS or word.endswith(("n't", "n’t")):
        return NEGATION_WINDOW
    return NARROW_WINDOW if word in NARROW_NEGATIONS else 0


class _Negations:
    """One normalised text's words and clause ends, to say which occurrences are negated.

    Built once per text: each query is two binary searches over the words and clause ends.
    """

    def __init__(self, text: str):
        words = list(_TOKEN_RE.finditer(text))
        self.word_ends = [w.end() for w in words]
        self.word_starts = [w.start() for w in words]
        self.clause_ends = [m.end() for m in _CLAUSE_END_RE.finditer(text)]
        names = [w.group(0) for w in words] + [""]
        self.scopes = [_scope(w, names[i + 1]) for i, w in enumerate(names[:-1])]

    def negated(self, start: int) -> bool:
        """Whether the occurrence at `start` follows a negation in its clause (module doc)."""
        last = bisect.bisect_right(self.word_ends, start)  # words wholly before `start`
        first = max(0, last - NEGATION_WINDOW)
        ended = bisect.bisect_right(self.clause_ends, start)  # clause ends before `start`
        if ended:  # only words after the last of them count
            first = max(first, bisect.bisect_left(self.word_starts, self.clause_ends[ended - 1]))
        # word i negates the occurrence when it reaches it: last - i words away at most
        return any(self.scopes[i] >= last - i for i in range(first, last))


def negated(text: str, start: int) -> bool:
    """Whether the occurrence at `start` of normalised `text` is negated (see the module doc)."""
    return _Negations(text).negated(start)


def _polarity(point: str, alternative: str) -> bool:
    """Whether the point itself negates `alternative`: its first occurrence in the point's
    normalised text is negated (an alternative the point never uses is affirmative)."""
    found = _pattern(alternative).search(point)
    return negated(point, found.start()) if found else False


def group_matches(
    text: str,
    group: Sequence[str],
    point: str = "",
    negations: _Negations | None = None,
) -> bool:
    """Whether an alternative of `group` occurs in normalised `text` as a word prefix, negated
    exactly when the normalised `point` negates that alternative itself. ``negations``:
    ``text``'s, when already built."""
    negations = negations or _Negations(text)
    for alt in group:
        negative = _polarity(point, alt)
        if any(negations.negated(m.start()) == negative for m in _pattern(alt).finditer(text)):
            return True
    return False


def coverage(
    answer_text: str,
    key_points: Sequence[str],
    keywords: Sequence[Sequence[Sequence[str]]] | None = None,
    explicit: Sequence[bool] | None = None,
) -> list[CoverageItem]:
    """Check a learner's answer against each key point; one `CoverageItem` per point.

    `keywords[i]` holds point i's keyword groups (`Question.keywords`); a missing or empty entry
    falls back to the point's content words. `explicit[i]` False (`Question.explicit_keywords`)
    marks groups that were themselves derived from the point's words: they are stemmed like the
    fallback so that other forms of the word match. An empty answer covers nothing.
    """
    text = normalise(answer_text[:MAX_TEXT_CHARS] if isinstance(answer_text, str) else "")
    keywords = list(keywords or [])
    explicit = list(explicit or [])
    negations = _Negations(text)
    items = []
    for index, point in enumerate(key_points):
        groups = _clean_groups(keywords[index]) if index < len(keywords) else []
        from_keywords = bool(groups)
        if groups and index < len(explicit) and not explicit[index]:
            groups = _clean_groups([[_stem(a) for a in g] for g in groups])
            from_keywords = False
        if not groups:
            groups = content_words(point)
        point_text = normalise(point)
        matched = [group_matches(text, g, point_text, negations) for g in groups]
        # At least one group must match: a point with no checkable words is never covered.
        needed = max(1, math.ceil(len(groups) / 2))
        items.append(
            CoverageItem(
                point=point,
                groups=groups,
                matched=matched,
                needed=needed,
                covered=sum(matched) >= needed,
                explicit=from_keywords,
            )
        )
    return items
