"""Parsing budgets: what a question file may cost before markdown-it or YAML ever sees it.

A question file comes from anyone (the Quiz tab's upload), and two parsers read it:

- markdown-it-py, whose inline rules are linear for ordinary text but much worse for runs of
  link and image openers, each of which re-scans what follows up to ``maxNesting`` deep:
  ``"!["`` x 750 (1.5 KB) took ~195 ms on the shared two cores and x 32,000 (64 KB) ~4 s,
  holding the GIL; lines and other markup characters cost microseconds each;
- PyYAML, where an alias (``*a``) re-uses a node, so nine aliases of nine aliases of ... turn
  581 bytes into 9**8 list items that any ``repr`` or ``str`` then walks for seconds.

So markdown-it runs with ``MAX_NESTING`` (when parsing and when rendering), and before parsing
the text is at most ``MAX_LINES`` lines, ``MAX_LINK_OPENERS`` ``[`` characters and
``MAX_MARKUP_CHARS`` markdown punctuation characters (each cap 3-10x the largest bundled
question: 84 lines, 10 ``[``, 502 markup characters, 5.6 KB), and its front matter is
composed by ``BoundedLoader``, which refuses every anchor and alias (a question needs neither)
and caps the node count and nesting before any value is constructed. Measured with these caps
(``tests/test_hardening.py::test_worst_case_file_parses_fast``), the slowest files we could build
parse in 3-55 ms (best of three, on two shared cores at a load average of ~13) and render in
less; a 64 KB file of ``"!["`` is refused in under 1 ms.

The per-upload and per-session caps on question counts live here too (``session_room``), so the
Quiz tab and the tests share one rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

MAX_LINES = 400
"""Lines per question file (the largest bundled one has 84)."""

MAX_LINK_OPENERS = 100
"""``[`` characters per file: every link or image opener (the largest bundled file has 10)."""

MAX_NESTING = 20
"""markdown-it's ``maxNesting`` for question text (its default, 100, lets each of a run of
``![`` openers re-scan the rest: ``"!["`` x 100 took 18 ms, x 1000 333 ms; with 20, 2.4 ms and
78 ms). CommonMark's own preset uses 20; a question nests lists or quotes 3 deep at most."""

MARKUP_CHARS = frozenset("[]()!*_~`<>&\\$|#{}")
"""Characters that open or close markdown (or LaTeX) constructs."""

MAX_MARKUP_CHARS = 1500
"""Markup characters per file (the largest bundled file has 502, most of them LaTeX)."""

MAX_YAML_NODES = 500
"""Nodes in the front matter (scalars, lists, mappings; a bundled file has about 30)."""

MAX_YAML_DEPTH = 8
"""Nesting of lists and mappings in the front matter (a bundled file has 2)."""

MAX_SESSION_QUESTIONS = 200
"""A learner's own questions kept by one page (all uploads together)."""


@dataclass(frozen=True)
class TextOverBudget:
    """Why a file's text is refused before parsing."""

    line: int
    """1-based line the message points at (where the budget ran out)."""
    message: str
    """One sentence for ``path:line: message``."""


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def text_over_budget(text: str) -> TextOverBudget | None:
    """The first budget ``text`` exceeds, or None if it is within all of them.

    One linear pass, no allocation proportional to the text beyond the count of lines.
    """
    breaks = text.count("\n") + text.count("\r") - text.count("\r\n")  # \n, \r\n and \r
    lines = breaks + (0 if text.endswith(("\n", "\r")) else 1)
    if lines > MAX_LINES:
        at = _nth(text, "\n", MAX_LINES) + 1
        return TextOverBudget(
            _line_of(text, at),
            f"file has {lines:,} lines, over the {MAX_LINES} line cap: shorten it",
        )
    openers = text.count("[")
    if openers > MAX_LINK_OPENERS:
        at = _nth(text, "[", MAX_LINK_OPENERS + 1)
        return TextOverBudget(
            _line_of(text, at),
            f"file has {openers:,} '[' characters (links, images, brackets), over the cap of "
            f"{MAX_LINK_OPENERS}: a question needs a few",
        )
    markup = sum(text.count(ch) for ch in MARKUP_CHARS)
    if markup > MAX_MARKUP_CHARS:
        return TextOverBudget(
            1,
            f"file has {markup:,} markdown/LaTeX punctuation characters ({''.join(sorted(MARKUP_CHARS))}), "
            f"over the cap of {MAX_MARKUP_CHARS:,}: split it or simplify the markup",
        )
    return None


def _nth(text: str, ch: str, n: int) -> int:
    """Index of the ``n``-th (1-based) occurrence of ``ch`` in ``text`` (n >= 1, it exists)."""
    at = -1
    for _ in range(n):
        at = text.index(ch, at + 1)
    return at


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses anchors and aliases and caps nodes and nesting.

    The checks run in the composer, event by event, so an alias bomb is refused at its first
    ``&anchor`` before any node is shared, let alone expanded or printed. Errors are
    ``ComposerError``s with the line of the offending event (a ``yaml.MarkedYAMLError``).
    """

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._nodes = 0
        self._depth = 0

    def _refuse(self, problem: str, event) -> None:
        raise ComposerError(None, None, problem, event.start_mark)

    def compose_node(self, parent, index):
        """The next node, refusing anchors, aliases and too many or too deep nodes."""
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            self._refuse(
                f"aliases ('*{event.anchor}') are not allowed in a question's front matter", event
            )
        if isinstance(event, (ScalarEvent, CollectionStartEvent)) and event.anchor is not None:
            self._refuse(
                f"anchors ('&{event.anchor}') are not allowed in a question's front matter", event
            )
        self._nodes += 1
        if self._nodes > MAX_YAML_NODES:
            self._refuse(f"more than {MAX_YAML_NODES} values in the front matter", event)
        collection = isinstance(event, CollectionStartEvent)
        if collection:
            self._depth += 1
            if self._depth > MAX_YAML_DEPTH:
                self._refuse(f"lists or mappings nested more than {MAX_YAML_DEPTH} deep", event)
        try:
            return super().compose_node(parent, index)
        finally:
            if collection:
                self._depth -= 1


@dataclass(frozen=True)
class Room:
    """How many uploaded questions a page may still take."""

    kept: int
    """Questions of this upload to keep (the first ``kept`` new ones, in upload order)."""
    dropped: int
    """Questions of this upload left out because the page is full."""
    message: str | None
    """One sentence saying what was left out and why, or None when everything fits."""


def session_room(already: int, arriving: int, limit: int = MAX_SESSION_QUESTIONS) -> Room:
    """Of ``arriving`` new questions, how many fit on a page that already holds ``already``.

    The Quiz tab keeps at most ``limit`` of a learner's own questions per page; an upload that
    would go past it keeps the first ones that fit and says how many were left out.
    """
    free = max(0, limit - max(0, already))
    kept = min(max(0, arriving), free)
    dropped = max(0, arriving) - kept
    if not dropped:
        return Room(kept, 0, None)
    return Room(
        kept,
        dropped,
        f"{dropped} question(s) left out: a page keeps at most {limit} of your own questions "
        f"(you had {already}); remove some of them to add others",
    )
