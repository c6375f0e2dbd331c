"""Question files -> ``Question``s, or ``Problem``s saying ``path:line: what is wrong``.

A file is read as bytes (size cap, not empty, UTF-8), tokenised with markdown-it-py and its
``front_matter`` plugin, its front matter read with ``yaml`` (the safe loader, keeping the line
of every key so messages point at it), and its level-2 sections checked for name, order and
content (key point levels and keywords that cannot be met by chance, the Junior/Senior/Staff
levels, red flags with their reasons, follow-ups with their answers). ``load_bank`` does this for files and folders and then checks that ids are unique;
``load_upload`` does the same for a learner's own files, with caps on how many and how big,
and ``load_texts`` for the files their browser kept (``kit.quiz.saved``); all three read a
file's bytes through ``parse_bytes``.
Nothing here raises on a bad file: every fault becomes a ``Problem`` and the good files load.
"""

from __future__ import annotations

import difflib
import os
import re
import textwrap
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin

from kit.demos.errors import DemoInputError
from kit.demos.spec import DemoSpec
from kit.quiz.budget import BoundedLoader, text_over_budget
from kit.quiz.coverage import normalise
from kit.quiz.record import (
    ANSWER_LEVELS,
    ANSWER_MARK,
    DIFFICULTIES,
    ID_PATTERN,
    LIST_SECTIONS,
    MAX_FILE_BYTES,
    MAX_SEE_ALSO,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_FILES,
    OPTIONAL_KEYS,
    OPTIONAL_SECTIONS,
    POINT_LEVELS,
    REQUIRED_KEYS,
    ROLES,
    SECTIONS,
    SHORT_KEYWORDS,
    TEXT_SECTIONS,
    TIME_BOX_MINUTES,
    UNSUITABLE_DEMOS,
    WHY_MARK,
    Bank,
    Problem,
    Question,
    RedFlag,
)
from kit.quiz.render import new_markdown

PathLike = str | os.PathLike
"""A path as a string or ``Path``."""

QUESTIONS_DIR = Path(__file__).resolve().parents[2] / "questions"
"""The bundled bank: ``questions/<topic>/<id>.md`` at the repository root."""

FRONT_MATTER_OFFSET = 2
"""YAML line 0 is file line 2 (1-based): line 1 is the opening ``---``."""

KEYWORDS_SUFFIX = re.compile(r"\(\s*keywords\s*:([^()]*)\)\s*$", re.IGNORECASE)
"""A key point's trailing ``(keywords: a, b/c, d)``."""

BULLET = re.compile(r"^[ \t]*[-*+](?:[ \t]+|$)")
"""The marker at the start of a bullet list item."""

LEVEL_TAG = re.compile(r"^\[([^\]\s]*)\][ \t]*")
"""A key point's leading ``[must]`` / ``[strong]`` / ``[bonus]``."""

LEVEL_LABEL = re.compile(r"^\*\*([A-Za-z]+):\*\*[ \t]*")
"""A ``## Levels`` bullet's leading ``**Junior:**``."""

DECIMAL = re.compile(r"\d[.,]\d")
"""Digits with a decimal point: a measured number, which only ``## Evidence`` may hold."""

Demos = Mapping[str, Any]
"""Demo id -> its ``DemoSpec`` (anything with ``.defaults``) or its mapping of argument names."""


# --- markdown-it ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    """The parser: js-default preset (nesting capped, see kit.quiz.budget), front matter, and ``$`` math kept as single tokens."""
    return new_markdown().use(front_matter_plugin)


@lru_cache(maxsize=1)
def _registry_arguments() -> dict[str, frozenset[str]]:
    """Demo id -> argument names, from the live registry (imports the demos once)."""
    from kit.demos.registry import all_demos

    return _demo_arguments(all_demos())


@lru_cache(maxsize=1)
def _drill_ids() -> tuple[str, ...]:
    """The code drills' ids, in menu order (imports the drill catalog once)."""
    from kit.drills.catalog import all_drills

    return tuple(all_drills())


def _demo_arguments(demos: Demos) -> dict[str, frozenset[str]]:
    """Demo id -> argument names, from specs (``.defaults``) or plain mappings of names."""
    return {k: frozenset(getattr(v, "defaults", v)) for k, v in demos.items()}


def _by_place(problem: Problem) -> tuple[str, int]:
    """Sort key: path, then line (a stable sort keeps the order found within a line)."""
    return problem.path, problem.line


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters for a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a choice is close to ``word``, else ""."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _trim(lines: list[str]) -> str:
    """The lines joined, without blank lines at either end or trailing spaces."""
    text = "\n".join(lines)
    kept = text.split("\n")
    while kept and not kept[0].strip():
        kept.pop(0)
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept).rstrip()


# --- key point keywords ---------------------------------------------------------------------


def split_keywords(point: str) -> tuple[str, list[list[str]] | None]:
    """``"text (keywords: a, b/c)"`` -> ``("text", [["a"], ["b", "c"]])``; no suffix -> None.

    Raises ``ValueError`` (with the sentence to show) on an empty keyword or group.
    """
    match = KEYWORDS_SUFFIX.search(point)
    if match is None:
        return point, None
    text = point[: match.start()].rstrip()
    groups: list[list[str]] = []
    for raw_group in match.group(1).split(","):
        alternatives = [" ".join(a.split()).lower() for a in raw_group.split("/")]
        if not all(alternatives):
            raise ValueError(
                "empty keyword in '(keywords: ...)': write 'a, b/c' "
                "(commas between groups, '/' between alternatives)"
            )
        groups.append(alternatives)
    if not text:
        raise ValueError("key point has keywords but no text before '(keywords: ...)'")
    return text, groups


def split_level(point: str) -> tuple[str | None, str]:
    """``"[must] text"`` -> ``("must", "text")``; no tag -> ``(None, point)``.

    Raises ``ValueError`` (with the sentence to show) on a tag that is not a level.
    """
    match = LEVEL_TAG.match(point)
    if match is None:
        return None, point
    level = match.group(1).lower()
    if level not in POINT_LEVELS:
        raise ValueError(
            f"unknown key point level [{match.group(1)}]{_did_you_mean(level, POINT_LEVELS)}; "
            f"start the point with {', '.join(f'[{v}]' for v in POINT_LEVELS)}"
        )
    return level, point[match.end() :]


def keyword_problem(alternative: str) -> str | None:
    """Why a keyword alternative could be met by chance or needs a project number, or None.

    A bare number ("0.40", "784") is typed by anyone who writes any number; a decimal
    ("6.81 nats") is a number only this project's models give, so it belongs in
    ``## Evidence``; an alternative under 3 characters ("ae", "k") starts too many words,
    except the few in ``SHORT_KEYWORDS``.
    """
    shown = repr(alternative)
    if any(c.isdigit() for c in alternative) and not any(c.isalpha() for c in alternative):
        return f"keyword {shown} is a bare number, which any answer with numbers matches: use words"
    if DECIMAL.search(alternative):
        return (
            f"keyword {shown} requires a measured number: a key point never needs a number "
            "only this project knows; put it in '## Evidence' and use words here"
        )
    if len(" ".join(normalise(alternative).split())) < 3 and alternative not in SHORT_KEYWORDS:
        return (
            f"keyword {shown} is under 3 characters and matches by chance: spell it out "
            f"(the short ones allowed are {', '.join(SHORT_KEYWORDS)})"
        )
    return None


def split_marked(item: str, mark: str) -> tuple[str, str] | None:
    """``"before **Mark:** after"`` -> ``("before", "after")``; None unless both are non-empty."""
    before, found, after = item.partition(mark)
    if not found or not before.strip() or not after.strip():
        return None
    return before.strip(), after.strip()


# --- one file ---------------------------------------------------------------------------------


@dataclass
class _Section:
    """A level-2 section as found in the file."""

    name: str
    line: int  # 1-based line of the heading
    lines: list[str]  # its source lines (heading excluded)
    tokens: list[Token]  # its tokens (heading excluded)


class _FileParser:
    """Checks one file's text, collecting problems; ``run`` gives a Question when there are none."""

    def __init__(self, text: str, path: str, folder_topic: str | None, demos: Demos | None):
        # markdown-it normalises newlines the same way, so its line maps match self.lines.
        self.text = re.sub(r"\r\n?", "\n", text).replace("\0", "\ufffd")
        self.lines = self.text.split("\n")
        self.path = path
        self.folder_topic = folder_topic
        self.demos = demos
        self.problems: list[Problem] = []
        self.value_nodes: dict[str, yaml.Node] = {}  # front matter key -> its YAML value node

    @property
    def demo_args(self) -> dict[str, frozenset[str]]:
        """Demo id -> argument names (the registry is imported only when a file names a demo)."""
        return _registry_arguments() if self.demos is None else _demo_arguments(self.demos)

    def spec(self, demo: str) -> DemoSpec | None:
        """The demo's typed contract, when the demos given are specs (tests may pass names)."""
        if self.demos is None:
            from kit.demos.registry import get_demo

            return get_demo(demo)
        found = self.demos.get(demo)
        return found if isinstance(found, DemoSpec) else None

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    @property
    def last_line(self) -> int:
        """1-based number of the file's last line (a final newline ends it, adds none)."""
        n = len(self.lines)
        return max(1, n - 1 if self.text.endswith("\n") else n)

    def run(self) -> Question | None:
        tokens = _markdown().parse(self.text)
        meta: dict[str, Any] | None = None
        key_lines: dict[str, int] = {}
        if tokens and tokens[0].type == "front_matter" and tokens[0].map and tokens[0].map[0] == 0:
            front = tokens[0]
            end_line = front.map[1] if front.map else 1  # the closing '---', 1-based
            meta, key_lines = self.front_matter(front.content, end_line)
            tokens = tokens[1:]
        elif self.lines[0].rstrip() == "---":
            self.problem(
                1, "the front matter opened here is never closed: add a '---' line after it"
            )
        else:
            self.problem(
                1,
                "no front matter: the file must start with a '---' line, the YAML keys "
                f"({', '.join(REQUIRED_KEYS)}), and a closing '---' line",
            )
        sections = self.sections(tokens, after_front_matter=meta is not None)
        if meta is not None:
            self.check_keys(meta, key_lines)
        content = self.section_content(sections)
        if self.problems or meta is None:
            return None
        points, groups, explicit, point_levels = [], [], [], []
        for text in content["Key points"]:
            level, rest = split_level(text)
            point, written = split_keywords(rest)
            point_levels.append(level or "")
            points.append(point)
            explicit.append(written is not None)
            groups.append(written or [])
        follow_ups = [split_marked(f, ANSWER_MARK) for f in content["Follow-ups"]]
        flags = [split_marked(f, WHY_MARK) for f in content["Red flags"]]
        levels = {
            name.lower(): LEVEL_LABEL.sub("", item, count=1).strip()
            for name, item in zip(ANSWER_LEVELS, content["Levels"], strict=True)
        }
        return Question(
            id=meta["id"],
            title=meta["title"].strip(),
            topic=meta["topic"],
            difficulty=meta["difficulty"],
            tags=list(meta["tags"]),
            demo=meta["demo"],
            demo_args=dict(meta["demo_args"]),
            sources=list(meta.get("sources") or []),
            drill=meta.get("drill"),
            see_also=list(meta.get("see_also") or []),
            question=content["Question"],
            answer=content["Answer"],
            hints=content["Hints"],
            key_points=points,
            keywords=groups,
            explicit_keywords=explicit,
            key_point_levels=point_levels,
            levels=levels,
            red_flags=[RedFlag(claim=c, why=w) for c, w in filter(None, flags)],
            follow_ups=[q for q, _ in filter(None, follow_ups)],
            follow_up_answers=[a for _, a in filter(None, follow_ups)],
            evidence=content.get("Evidence", []),
            time_box=meta["time_box"],
            roles=list(meta["roles"]),
            path=self.path,
            key_lines=key_lines,
            section_lines={name: s.line for name, s in sections.items()},
            key_point_lines=self.item_lines(sections["Key points"]),
        )

    # --- front matter ---

    def front_matter(self, content: str, end_line: int) -> tuple[dict | None, dict[str, int]]:
        """The YAML mapping and each key's file line, or (None, {}) after reporting why not."""
        loader = BoundedLoader(content)  # no anchors or aliases: nothing can expand
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + FRONT_MATTER_OFFSET if mark else FRONT_MATTER_OFFSET
            reason = str(exc.problem or exc.context or "cannot be read")
            if exc.context and exc.problem:
                started = exc.context_mark.line + FRONT_MATTER_OFFSET if exc.context_mark else line
                where = f" started on line {started}" if started != line else ""
                reason += f" ({exc.context}{where})"
            self.problem(min(line, end_line), f"bad YAML in the front matter: {reason}")
            return None, {}
        except yaml.YAMLError as exc:
            self.problem(FRONT_MATTER_OFFSET, f"bad YAML in the front matter: {exc}")
            return None, {}
        except RecursionError:
            self.problem(FRONT_MATTER_OFFSET, "bad YAML in the front matter: nested too deeply")
            return None, {}
        finally:
            loader.dispose()
        if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
            got = "nothing" if data is None else f"a {type(data).__name__}"
            self.problem(1, f"the front matter must be YAML 'key: value' lines, got {got}")
            return None, {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + FRONT_MATTER_OFFSET
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(line, "front matter keys must be plain words like 'title'")
                continue
            key = str(key_node.value)
            if key in key_lines:
                self.problem(line, f"key {key!r} appears twice (first on line {key_lines[key]})")
                continue
            key_lines[key] = line
            self.value_nodes[key] = value_node
        return data, key_lines

    def check_keys(self, meta: dict, key_lines: dict[str, int]) -> None:
        """Every key known, every required key present, every value of the right kind."""
        allowed = REQUIRED_KEYS + OPTIONAL_KEYS
        for key, line in key_lines.items():
            if key not in allowed:
                self.problem(
                    line,
                    f"unknown front matter key {_short(key)}{_did_you_mean(key, allowed)}; "
                    f"the keys are {', '.join(allowed)}",
                )
        missing = [repr(key) for key in REQUIRED_KEYS if key not in key_lines]
        if missing:
            plural = "s" * (len(missing) > 1)
            self.problem(1, f"missing front matter key{plural} {', '.join(missing)}")

        def at(key: str) -> int:
            return key_lines.get(key, 1)

        if "id" in key_lines:
            value = meta["id"]
            if not isinstance(value, str) or not ID_PATTERN.match(value):
                self.problem(
                    at("id"),
                    f"id must be lower-case letters, digits and hyphens "
                    f"(e.g. 'reparameterization-trick'), got {_short(value)}",
                )
        for key in ("title", "topic"):
            if key in key_lines and not (isinstance(meta[key], str) and meta[key].strip()):
                self.problem(at(key), f"{key} must be non-empty text, got {_short(meta[key])}")
        topic = meta.get("topic")
        if isinstance(topic, str) and self.folder_topic is not None and topic != self.folder_topic:
            self.problem(
                at("topic"),
                f"topic {topic!r} does not match the folder 'questions/{self.folder_topic}/': "
                "change the topic or move the file",
            )
        if "difficulty" in key_lines and meta["difficulty"] not in DIFFICULTIES:
            self.problem(
                at("difficulty"),
                f"unknown difficulty {_short(meta['difficulty'])}; "
                f"use one of {', '.join(DIFFICULTIES)}",
            )
        for key in ("tags", "sources"):
            if key in key_lines:
                value = meta[key]
                if not isinstance(value, list) or not all(
                    isinstance(v, str) and v.strip() for v in value
                ):
                    self.problem(
                        at(key),
                        f"{key} must be a list of text, e.g. [a, b] or [] (got {_short(value)})",
                    )
        if "demo" in key_lines:
            self.check_demo(meta["demo"], meta.get("demo_args"), key_lines)
        if "drill" in key_lines:
            self.check_drill(meta["drill"], at("drill"))
        if "see_also" in key_lines:
            self.check_see_also(meta["see_also"], meta.get("demo"), at("see_also"))
        if "time_box" in key_lines:
            value, (low, high) = meta["time_box"], TIME_BOX_MINUTES
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                self.problem(
                    at("time_box"),
                    f"time_box must be a whole number of minutes from {low} to {high}, "
                    f"e.g. 'time_box: 8' (got {_short(value)})",
                )
        if "roles" in key_lines:
            self.check_roles(meta["roles"], at("roles"))

    def check_roles(self, roles: Any, line: int) -> None:
        """``roles`` is a non-empty list of distinct ``ROLES``."""
        if not isinstance(roles, list) or not roles:
            self.problem(
                line,
                f"roles must be a non-empty list of {', '.join(ROLES)}, "
                f"e.g. [research-engineer] (got {_short(roles)})",
            )
            return
        for role in roles:
            if not isinstance(role, str) or role not in ROLES:
                self.problem(
                    line,
                    f"unknown role {_short(role)}{_did_you_mean(str(role), ROLES)}; "
                    f"the roles are {', '.join(ROLES)}",
                )
        if len(set(map(str, roles))) != len(roles):
            self.problem(line, "roles lists a role twice")

    def check_drill(self, drill: Any, line: int) -> None:
        """``drill`` names a code drill of the catalog."""
        known = _drill_ids()
        if not isinstance(drill, str) or drill not in known:
            hint = _did_you_mean(drill, known) if isinstance(drill, str) else ""
            self.problem(
                line,
                f"unknown drill {_short(drill)}{hint}; the drills are {', '.join(known)}",
            )

    def check_demo(self, demo: Any, args: Any, key_lines: dict[str, int]) -> None:
        """The demo exists and suits a question; ``demo_args`` only names its arguments."""
        known = self.demo_args
        if not isinstance(demo, str) or demo not in known:
            self.problem(
                key_lines["demo"],
                f"unknown demo {_short(demo)}{_did_you_mean(demo, known)}; "
                "see kit.demos.registry.all_demos() for the ids",
            )
            return
        if demo in UNSUITABLE_DEMOS:
            self.problem(
                key_lines["demo"], f"demo {demo!r} cannot back a question: {UNSUITABLE_DEMOS[demo]}"
            )
        if "demo_args" not in key_lines:
            return
        line = key_lines["demo_args"]
        if not isinstance(args, dict):
            self.problem(
                line, f"demo_args must be a mapping, e.g. {{}} or {{index: 3}} (got {_short(args)})"
            )
            return
        node = self.value_nodes["demo_args"]
        arg_lines = {
            str(k.value): k.start_mark.line + FRONT_MATTER_OFFSET
            for k, _ in getattr(node, "value", [])
        }
        takes = known[demo]
        spec = self.spec(demo)
        for name, value in args.items():
            if str(name) not in takes:
                listed = ", ".join(sorted(takes)) if takes else "none"
                self.problem(
                    arg_lines.get(str(name), line),
                    f"demo {demo!r} takes no argument {_short(name)}{_did_you_mean(name, takes)}; "
                    f"its arguments: {listed}",
                )
            elif spec is not None:  # the preset must run: the demo contract's own check
                try:
                    spec.coerce({str(name): value}, preset=True)
                except DemoInputError as err:
                    self.problem(arg_lines.get(str(name), line), f"demo_args: {err}")

    def check_see_also(self, see_also: Any, demo: Any, line: int) -> None:
        """``see_also`` lists 1 to ``MAX_SEE_ALSO`` distinct known demo ids that suit a question,
        none of them the question's own demo; each problem points at its item's line."""
        example = "e.g. [latent.encode_test_digit]"
        if not isinstance(see_also, list) or not see_also:
            self.problem(
                line,
                f"see_also must be a non-empty list of demo ids, {example} (got {_short(see_also)})",
            )
            return
        if len(see_also) > MAX_SEE_ALSO:
            self.problem(line, f"see_also lists {len(see_also)} demos; at most {MAX_SEE_ALSO}")
        node = self.value_nodes["see_also"]
        item_lines = [n.start_mark.line + FRONT_MATTER_OFFSET for n in getattr(node, "value", [])]
        known = self.demo_args
        seen: set[str] = set()
        for i, item in enumerate(see_also):
            at = item_lines[i] if i < len(item_lines) else line
            if not isinstance(item, str) or item not in known:
                self.problem(
                    at,
                    f"see_also: unknown demo {_short(item)}{_did_you_mean(str(item), known)}; "
                    "see kit.demos.registry.all_demos() for the ids",
                )
            elif item in UNSUITABLE_DEMOS:
                self.problem(at, f"see_also: demo {item!r} cannot back a question: "
                             f"{UNSUITABLE_DEMOS[item]}")  # fmt: skip
            elif item == demo:
                self.problem(at, f"see_also: {item!r} is already this question's demo")
            elif item in seen:
                self.problem(at, f"see_also lists {item!r} twice")
            if isinstance(item, str):
                seen.add(item)

    # --- sections ---

    def sections(self, tokens: list[Token], after_front_matter: bool) -> dict[str, _Section]:
        """The known sections by name, after checking names, order, duplicates and presence.

        ``after_front_matter`` False: text before the first section is the broken front matter
        already reported, not reported again.
        """
        heads = [
            i
            for i, t in enumerate(tokens)
            if t.type == "heading_open" and t.tag == "h2" and t.level == 0 and t.map
        ]
        first_head = heads[0] if heads else len(tokens)
        for t in tokens[:first_head] if after_front_matter else []:
            if t.map and t.level == 0 and t.nesting >= 0:
                self.problem(
                    t.map[0] + 1, "text before the first section: start the body with '## Question'"
                )
                break
        found: dict[str, _Section] = {}
        last: _Section | None = None  # the furthest section in the canonical order so far
        for n, i in enumerate(heads):
            head = tokens[i]
            line = head.map[0] + 1 if head.map else 1
            name = tokens[i + 1].content.strip()
            stop = heads[n + 1] if n + 1 < len(heads) else len(tokens)
            start_line = head.map[1] if head.map else line
            next_head = tokens[stop] if stop < len(tokens) else None
            end_line = next_head.map[0] if next_head and next_head.map else len(self.lines)
            if name not in SECTIONS:
                self.problem(
                    line,
                    f"unknown section '## {name}'{_did_you_mean(name, SECTIONS)}; "
                    f"the sections are {', '.join(SECTIONS)} in that order",
                )
                continue
            if name in found:
                self.problem(
                    line, f"section '## {name}' appears twice (first on line {found[name].line})"
                )
                continue
            section = _Section(name, line, self.lines[start_line:end_line], tokens[i + 3 : stop])
            if last is not None and SECTIONS.index(name) < SECTIONS.index(last.name):
                self.problem(
                    line,
                    f"section '## {name}' is out of order: it must come before "
                    f"'## {last.name}' (line {last.line}); the sections go {', '.join(SECTIONS)}",
                )
            else:
                last = section
            found[name] = section
        if not heads:
            self.problem(
                self.last_line,
                "no sections: after the front matter write "
                + ", ".join("## " + s for s in SECTIONS if s not in OPTIONAL_SECTIONS),
            )
            return found
        for rank, name in enumerate(SECTIONS):
            if name in found or name in OPTIONAL_SECTIONS:
                continue
            later = [found[s].line for s in SECTIONS[rank + 1 :] if s in found]
            if later:
                self.problem(min(later), f"missing section '## {name}' (expected before this line)")
            else:
                self.problem(self.last_line, f"missing section '## {name}' (expected at the end)")
        return found

    def section_content(self, sections: dict[str, _Section]) -> dict[str, Any]:
        """Question/Answer text and the list sections' items, reporting empty ones."""
        content: dict[str, Any] = {}
        for name in TEXT_SECTIONS:
            if name in sections:
                text = _trim(sections[name].lines)
                if not text:
                    self.problem(sections[name].line, f"section '## {name}' is empty")
                content[name] = text
        for name in LIST_SECTIONS:
            if name in sections:
                content[name] = self.list_items(sections[name])
        if "Key points" in sections and content["Key points"]:
            self.check_point_levels(sections["Key points"], content["Key points"])
        if "Levels" in sections and content["Levels"]:
            self.check_levels(sections["Levels"], content["Levels"])
        return content

    def check_point_levels(self, section: _Section, items: list[str]) -> None:
        """At least one key point is a ``[must]`` (each item's own tag is checked per item)."""
        levels = []
        for item in items:
            try:
                levels.append(split_level(item)[0])
            except ValueError:
                levels.append(None)
        if all(levels) and "must" not in levels:
            self.problem(
                section.line,
                "no [must] key point: mark the points every acceptable answer has with [must]",
            )

    def check_levels(self, section: _Section, items: list[str]) -> None:
        """Exactly one ``**Junior:**``, ``**Senior:**``, ``**Staff:**`` bullet, in that order."""
        lines = self.item_lines(section)
        expected = ", ".join(f"'- **{name}:** ...'" for name in ANSWER_LEVELS)
        if len(items) != len(ANSWER_LEVELS):
            self.problem(
                section.line,
                f"'## Levels' has {len(items)} item{'s' * (len(items) != 1)}; "
                f"write exactly {expected}, in that order",
            )
            return
        for name, item, line in zip(ANSWER_LEVELS, items, lines, strict=True):
            match = LEVEL_LABEL.match(item)
            if match is None or match.group(1) != name:
                got = f"'**{match.group(1)}:**'" if match else "no '**Level:**' label"
                self.problem(
                    line, f"this '## Levels' item must start with '**{name}:**' (got {got})"
                )
            elif not item[match.end() :].strip():
                self.problem(line, f"the '**{name}:**' level says nothing: write what it contains")

    def check_item(self, section: str, line: int, text: str) -> None:
        """The per-item rules of the sections that have them."""
        if section == "Key points":
            try:
                level, rest = split_level(text)
                _, groups = split_keywords(rest)
            except ValueError as exc:
                self.problem(line, str(exc))
                return
            if level is None:
                self.problem(
                    line,
                    "key point has no level: start it with "
                    + ", ".join(f"[{v}]" for v in POINT_LEVELS),
                )
            for alternative in (a for g in groups or [] for a in g):
                reason = keyword_problem(alternative)
                if reason is not None:
                    self.problem(line, reason)
        elif section == "Red flags" and split_marked(text, WHY_MARK) is None:
            self.problem(
                line,
                f"a red flag is 'the wrong answer. {WHY_MARK} the reason', with text on both sides",
            )
        elif section == "Follow-ups" and split_marked(text, ANSWER_MARK) is None:
            self.problem(
                line,
                f"a follow-up is 'the question? {ANSWER_MARK} a short model answer', "
                "with text on both sides",
            )

    def list_items(self, section: _Section) -> list[str]:
        """The texts of a list section's bullet items (markdown, marker removed)."""
        for t in section.tokens:
            if t.level == 0 and t.nesting >= 0 and t.type != "bullet_list_open":
                what = t.type.removesuffix("_open").replace("_", " ")
                what = f"{'an' if what[0] in 'aeiou' else 'a'} {what}"
                line = t.map[0] + 1 if t.map else section.line
                self.problem(
                    line,
                    f"section '## {section.name}' must be a bullet list ('- item'), found {what}",
                )
                return []
        items: list[str] = []
        for t in section.tokens:
            if t.type != "list_item_open" or t.level != 1 or not t.map:
                continue
            first, *rest = self.lines[t.map[0] : t.map[1]]
            text = _trim([BULLET.sub("", first, count=1), textwrap.dedent("\n".join(rest))])
            if not text:
                self.problem(t.map[0] + 1, f"empty item in '## {section.name}'")
            else:
                self.check_item(section.name, t.map[0] + 1, text)
            items.append(text)
        if not items:
            self.problem(section.line, f"section '## {section.name}' needs at least one '- ' item")
        return items

    @staticmethod
    def item_lines(section: _Section) -> list[int]:
        """1-based line of each bullet item in a list section."""
        return [
            t.map[0] + 1
            for t in section.tokens
            if t.type == "list_item_open" and t.level == 1 and t.map
        ]


def parse_text(
    text: str,
    path: str = "<text>",
    *,
    folder_topic: str | None = None,
    demos: Demos | None = None,
) -> tuple[Question | None, list[Problem]]:
    """One question file's text -> (the Question, []) or (None, its problems).

    ``folder_topic``: the topic the file's folder requires (None: no folder rule).
    ``demos``: demo id -> spec or argument names (default: ``kit.demos.registry.all_demos()``).
    """
    over = text_over_budget(text)  # before any parser sees it: every file costs milliseconds
    if over is not None:
        return None, [Problem(path, over.line, over.message)]
    parser = _FileParser(text, path, folder_topic, demos)
    question = parser.run()
    return question, sorted(parser.problems, key=_by_place)


def _folder_topic(path: Path) -> str | None:
    """``<topic>`` when the file is ``.../questions/<topic>/<file>.md``, else None."""
    parent = path.resolve().parent
    return parent.name if parent.parent.name == "questions" else None


def parse_file(
    path: PathLike, *, shown: str | None = None, demos: Demos | None = None
) -> tuple[Question | None, list[Problem]]:
    """One question file -> (the Question, []) or (None, its problems); never raises.

    ``shown``: how the path appears in messages and in ``Question.path`` (default: as given).
    """
    path = Path(path)
    shown = str(path) if shown is None else shown
    data = _read_capped(path, shown)
    if isinstance(data, Problem):
        return None, [data]
    return parse_bytes(data, shown, folder_topic=_folder_topic(path), demos=demos)


def _read_capped(path: Path, shown: str) -> bytes | Problem:
    """A file's bytes, never more than ``MAX_FILE_BYTES + 1`` read, or why it cannot be used."""
    try:
        size = path.stat().st_size
        if size <= MAX_FILE_BYTES:
            with path.open("rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
            size = len(data)
    except OSError as exc:
        return Problem(shown, 1, f"cannot read the file: {exc.strerror or exc}")
    if size > MAX_FILE_BYTES:
        return _too_big(shown, size)
    return data


def _too_big(shown: str, size: int) -> Problem:
    return Problem(
        shown, 1, f"file is {size:,} bytes, over the {MAX_FILE_BYTES // 1024} KiB cap: shorten it"
    )


def decode_question(data: bytes) -> str:
    """A question file's bytes as text (UTF-8, a byte order mark dropped); raises
    ``UnicodeDecodeError``."""
    return data.decode("utf-8").removeprefix("\ufeff")  # a byte order mark is harmless


def parse_bytes(
    data: bytes,
    shown: str,
    *,
    folder_topic: str | None = None,
    demos: Demos | None = None,
) -> tuple[Question | None, list[Problem]]:
    """One question file's bytes -> (the Question, []) or (None, its problems); never raises.

    Every file a learner gives goes through here, whether read from an upload (``parse_file``)
    or from their browser (``load_texts``): the size cap, not empty, UTF-8, the parsing budget
    (``parse_text``), and no stack trace for whatever the parsers may raise.
    """
    if len(data) > MAX_FILE_BYTES:
        return None, [_too_big(shown, len(data))]
    if not data.strip():
        return None, [
            Problem(shown, 1, "file is empty: a question needs front matter and sections")
        ]
    try:
        text = decode_question(data)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [
            Problem(
                shown,
                line,
                f"not UTF-8: byte 0x{data[exc.start]:02x} on this line is not valid UTF-8; "
                "save the file as UTF-8",
            )
        ]
    try:
        return parse_text(text, shown, folder_topic=folder_topic, demos=demos)
    except Exception as exc:  # never a stack trace for a learner's file
        return None, [
            Problem(shown, 1, f"could not read the question ({type(exc).__name__}: {exc})")
        ]


# --- many files ---------------------------------------------------------------------------------


def _as_list(paths: PathLike | Iterable[PathLike] | None) -> list[PathLike]:
    if paths is None:
        return []
    if isinstance(paths, (str, os.PathLike)):
        return [paths]
    return list(paths)


def _markdown_files(folder: Path) -> list[Path]:
    """``*.md`` under a folder, recursively, sorted; README.md and hidden paths left out."""
    found = []
    for p in folder.rglob("*.md"):
        rel = p.relative_to(folder)
        if p.name.lower() == "readme.md" or any(part.startswith(".") for part in rel.parts):
            continue
        if p.is_file():
            found.append(p)
    return sorted(found)


def collect_files(
    paths: Iterable[PathLike], *, name_only: bool = False
) -> tuple[list[tuple[Path, str]], list[Problem]]:
    """Files and folders -> [(file, shown name)] in order, and problems for bad paths.

    Folders give their ``*.md`` files recursively (sorted, README.md ignored); a file named
    directly must end in ``.md``. ``name_only``: show files by name (uploads live in temp
    folders whose names mean nothing to the learner), folders' files relative to the folder.
    """
    files: list[tuple[Path, str]] = []
    problems: list[Problem] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        shown = path.name if name_only else str(path)
        if path.is_dir():
            found = [
                (f, str(f.relative_to(path.parent)) if name_only else str(f))
                for f in _markdown_files(path)
            ]
        elif path.is_file():
            if path.suffix.lower() != ".md":
                problems.append(Problem(shown, 1, "not a question file: the name must end in .md"))
                continue
            found = [(path, shown)]
        else:
            problems.append(Problem(shown, 1, "no such file or folder"))
            continue
        for f, name in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                files.append((f, name))
    return files, problems


def _load(
    files: list[tuple[Path, str]],
    problems: list[Problem],
    existing: Mapping[str, str],
    demos: Demos | None,
) -> Bank:
    """Parse every file, keep the first question of each id, report the later ones."""

    def parsed():
        for path, shown in files:
            data = _read_capped(path, shown)
            if isinstance(data, Problem):
                yield shown, b"", None, [data]
            else:
                folder = _folder_topic(path)
                yield shown, data, *parse_bytes(data, shown, folder_topic=folder, demos=demos)

    return _first_of_each_id(parsed(), problems, existing)


def _first_of_each_id(
    parsed: Iterable[tuple[str, bytes, Question | None, list[Problem]]],
    problems: list[Problem],
    existing: Mapping[str, str],
) -> Bank:
    """The parsed files (shown name, bytes, question, problems) as a bank: the first question
    of each id kept with its file's text, later ones reported."""
    questions: list[Question] = []
    sources: dict[str, str] = {}
    first: dict[str, Question] = {}
    problems = list(problems)
    for shown, data, question, found in parsed:
        problems.extend(found)
        if question is None:
            continue
        if question.id in existing:
            problems.append(
                Problem(
                    shown,
                    question.line,
                    f"duplicate id {question.id!r}: {existing[question.id]} already uses it",
                )
            )
        elif question.id in first:
            problems.append(
                Problem(
                    shown,
                    question.line,
                    f"duplicate id {question.id!r}: first used in {first[question.id].location}",
                )
            )
        else:
            first[question.id] = question
            questions.append(question)
            sources[question.id] = decode_question(data)  # it parsed, so it decodes
    return Bank(questions=questions, problems=sorted(problems, key=_by_place), sources=sources)


def load_bank(
    paths: PathLike | Iterable[PathLike] | None = None, *, demos: Demos | None = None
) -> Bank:
    """Load question files and folders (default: the bundled ``questions/``); never raises.

    Folders are searched recursively for ``*.md`` (sorted, README.md ignored). Ids must be
    unique: the second file using an id is reported and left out.
    """
    files, problems = collect_files([QUESTIONS_DIR] if paths is None else _as_list(paths))
    return _load(files, problems, {}, demos)


def load_upload(
    paths: PathLike | Iterable[PathLike] | None,
    existing_ids: Collection[str] = (),
    *,
    max_files: int = MAX_UPLOAD_FILES,
    max_bytes: int = MAX_UPLOAD_BYTES,
    demos: Demos | None = None,
) -> Bank:
    """A learner's own question files / folders, validated like the bank; never raises.

    ``existing_ids``: ids already taken (the bundled bank's); reusing one is a problem.
    Refuses the whole upload (one problem, no questions) above ``max_files`` question files or
    ``max_bytes`` in total. Files are shown by name, not by their temporary path.
    """
    paths = _as_list(paths)
    if not paths:
        return Bank(problems=[Problem("upload", 1, "nothing uploaded: choose .md question files")])
    files, problems = collect_files(paths, name_only=True)
    first = files[0][1] if files else Path(paths[0]).name
    if len(files) > max_files:
        message = f"too many files: {len(files)} question files, at most {max_files} at once"
        return Bank(problems=[Problem(first, 1, message)])
    total = 0
    for path, _ in files:
        try:
            total += path.stat().st_size
        except OSError:
            continue  # parse_file reports it
    if total > max_bytes:
        message = f"upload too big: {total:,} bytes in all, at most {max_bytes:,}"
        return Bank(problems=[Problem(first, 1, message)])
    existing = {i: "a bundled question" for i in existing_ids}
    return _load(files, problems, existing, demos)


def load_texts(
    files: Iterable[tuple[str, bytes]],
    existing_ids: Collection[str] = (),
    *,
    demos: Demos | None = None,
) -> Bank:
    """Question files given as (name, bytes), e.g. a learner's files kept in their browser;
    never raises.

    Each goes through ``parse_bytes``, like an uploaded file, and the ids are checked the same
    way as ``load_upload`` checks them (``existing_ids`` taken, the second file of an id
    reported). The caller bounds how many files and bytes it passes (``kit.quiz.saved``).
    """
    existing = {i: "a bundled question" for i in existing_ids}
    parsed = ((name, data, *parse_bytes(data, name, demos=demos)) for name, data in files)
    return _first_of_each_id(parsed, [], existing)
