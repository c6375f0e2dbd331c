r"""A learner's own question files, kept in their browser so the questions come back on reload.

The Quiz tab keeps the text of every uploaded file that gave a question in ``gr.BrowserState``,
under its own storage key beside the study progress (so a bad value here never costs the
progress), as::

    {"format": "latent-lab-quiz-files", "version": 1,
     "files": [{"name": "my-question.md", "text": "---\nid: my-question\n..."}, ...]}

On page load the value comes back from the browser, which anyone can fill with anything, so
``restore`` bounds it before any parser sees it: at most ``MAX_SAVED_FILES`` entries (the rest
are not looked at), each a name of at most ``MAX_NAME_CHARS`` ending in ``.md`` and a text of
at most ``MAX_FILE_BYTES`` of UTF-8, all together at most ``MAX_SAVED_BYTES`` of JSON. Then the
files go through ``kit.quiz.parse.load_texts``, the path an uploaded file takes (size cap,
UTF-8, parsing budget, ids unique and not the bundled ones'). A bad entry is left out with one
sentence saying why; the others load. Nothing here raises.

Size: the page-load event sends this value together with the study progress (at most ~0.56 MB
of JSON, ``kit.quiz.progress.MAX_CARDS``), and the app refuses request bodies over 1 MB
(``kit.ui.edge.MAX_JSON_BODY``); ``MAX_SAVED_BYTES`` keeps the two together under it. A page
may hold more of a learner's questions (``kit.quiz.budget.MAX_SESSION_QUESTIONS``); what does
not fit stays on that page only, and ``saved_files`` says which.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kit.quiz.budget import MAX_SESSION_QUESTIONS
from kit.quiz.parse import load_texts
from kit.quiz.record import MAX_FILE_BYTES, Question

FORMAT = "latent-lab-quiz-files"
"""The ``format`` value of the saved files."""

VERSION = 1
"""The current format version."""

MAX_SAVED_FILES = MAX_SESSION_QUESTIONS
"""Files kept (a file gives one question, and a page keeps at most this many of them)."""

MAX_SAVED_BYTES = 320 * 1024
"""JSON bytes of all kept files together: ~50 files of the bundled bank's average 6.5 KB."""

MAX_NAME_CHARS = 200
"""Longest file name kept (Gradio cuts uploaded names at 200 bytes)."""

_NAME = re.compile(r"[^\x00-\x1f\x7f/\\]+\.md\Z", re.IGNORECASE)
_SHOWN_PROBLEMS = 3


def _json_bytes(entry: Mapping[str, str]) -> int:
    """What an entry adds to the request body (the browser sends it as JSON)."""
    text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8", "surrogatepass")) + 1  # and the comma


@dataclass(frozen=True)
class SavedFiles:
    """What to keep in the browser for a page's own questions, and what did not fit."""

    value: dict[str, Any]
    """The ``gr.BrowserState`` value."""
    kept: list[str] = field(default_factory=list)
    """Ids of the questions whose files it holds, in page order."""
    left_out: list[str] = field(default_factory=list)
    """Ids of the questions on this page only: their files would go past ``MAX_SAVED_BYTES``."""


def empty_value() -> dict[str, Any]:
    """The saved value of a learner without files of their own."""
    return {"format": FORMAT, "version": VERSION, "files": []}


def saved_files(questions: Sequence[Question], sources: Mapping[str, str]) -> SavedFiles:
    """The browser value for these questions (``sources``: question id -> its file's text).

    Files are kept in page order while they fit under ``MAX_SAVED_BYTES`` (one that does not is
    left out and a smaller later one may still fit); a question without a source is skipped.
    """
    files: list[dict[str, str]] = []
    kept: list[str] = []
    left_out: list[str] = []
    room = MAX_SAVED_BYTES
    for q in questions[:MAX_SAVED_FILES]:
        text = sources.get(q.id)
        if text is None:
            continue
        entry = {"name": q.path, "text": text}
        size = _json_bytes(entry)
        if size > room:
            left_out.append(q.id)
            continue
        room -= size
        files.append(entry)
        kept.append(q.id)
    left_out += [q.id for q in questions[MAX_SAVED_FILES:]]
    return SavedFiles({**empty_value(), "files": files}, kept, left_out)


@dataclass
class Restored:
    """The questions read back from the browser, and what was left out."""

    questions: list[Question] = field(default_factory=list)
    """The valid questions, in saved order."""
    sources: dict[str, str] = field(default_factory=dict)
    """Each question's file text, by id."""
    problems: list[str] = field(default_factory=list)
    """One line per entry left out: ``name: why`` (names HTML-escaped: a toast shows them)."""
    changed: bool = False
    """True when the stored value should be replaced with ``saved_files`` of what loaded."""

    @property
    def warning(self) -> str | None:
        """One message for ``gr.Warning`` when something was left out, else None."""
        if not self.problems:
            return None
        n = len(self.problems)
        shown = "; ".join(self.problems[:_SHOWN_PROBLEMS])
        more = f"; and {n - _SHOWN_PROBLEMS} more" if n > _SHOWN_PROBLEMS else ""
        return (
            f"{n} of your saved question files could not be loaded and were removed from this "
            f"browser: {shown}{more}. Your study progress is unchanged."
        )


def _entry_problem(entry: Any, index: int) -> tuple[str, str | None]:
    """(the name to show, why the entry cannot be used or None) for one saved entry."""
    if not isinstance(entry, dict):
        return f"entry {index + 1}", "not a file"
    name, text = entry.get("name"), entry.get("text")
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > MAX_NAME_CHARS:
        return f"entry {index + 1}", "no valid file name"
    if set(entry) != {"name", "text"}:
        return name, "unexpected fields"
    if not isinstance(text, str):
        return name, "no text"
    if len(text) > MAX_FILE_BYTES:  # a character is at least one byte
        return name, f"over the {MAX_FILE_BYTES // 1024} KiB cap of a question file"
    return name, None


def _encoded(text: str) -> tuple[str | None, bytes]:
    """(None, the UTF-8 bytes) of a saved text, or (why not, b"")."""
    try:
        return None, text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: JSON allows it, UTF-8 does not
        return "text that is not valid Unicode", b""


def restore(stored: Any, existing_ids: Collection[str] = ()) -> Restored:
    """Read back the saved files (``stored``, from the browser) as questions; never raises.

    ``existing_ids``: the bundled questions' ids (a saved file may not reuse one). None, an
    empty value or ``empty_value()`` is a learner without files (no warning).
    """
    if stored is None or stored == {} or stored == "" or stored == empty_value():
        return Restored()
    if (
        not isinstance(stored, dict)
        or stored.get("format") != FORMAT
        or stored.get("version") != VERSION
        or not isinstance(stored.get("files"), list)
    ):
        return Restored(problems=["the saved value is not a list of question files"], changed=True)
    entries = stored["files"]
    problems: list[str] = []
    if len(entries) > MAX_SAVED_FILES:  # counted, not walked
        problems.append(
            f"{len(entries) - MAX_SAVED_FILES} file(s) past the first {MAX_SAVED_FILES}"
        )
        entries = entries[:MAX_SAVED_FILES]
    files: list[tuple[str, bytes]] = []
    room = MAX_SAVED_BYTES
    for index, entry in enumerate(entries):
        name, why = _entry_problem(entry, index)
        if why is None:
            why, data = _encoded(entry["text"])
        if why is None:
            size = _json_bytes(entry)
            if size > room:
                why = f"past the {MAX_SAVED_BYTES // 1024} KiB this browser keeps"
        if why is not None:
            problems.append(f"{html.escape(name, quote=False)}: {why}")
            continue
        room -= size
        files.append((name, data))
    bank = load_texts(files, existing_ids)
    problems += [html.escape(str(p), quote=False) for p in bank.problems]
    return Restored(bank.questions, dict(bank.sources), problems, changed=bool(problems))
