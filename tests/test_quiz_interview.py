"""Mock-interview sessions and their markdown summary (kit.quiz.interview)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from kit.quiz import interview as iv

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)


@dataclass
class Q:
    """A stand-in for kit.quiz.record.Question with the fields a session uses."""

    id: str
    title: str
    topic: str = "vae-foundations"
    hints: list[str] = field(default_factory=lambda: ["First hint", "Second hint"])
    key_points: list[str] = field(default_factory=lambda: ["Point one", "Point two", "Point three"])
    key_point_levels: list[str] = field(default_factory=lambda: ["must", "must", "bonus"])
    time_box: int = 5


BANK = [
    Q("reparameterization-trick", "The reparameterization trick"),
    Q("kl-term", "Why the KL term", topic="beta-and-conditioning", hints=["Only hint"]),
    Q("posterior-collapse", "Posterior collapse"),
]


def _frozen(session: dict) -> str:
    return json.dumps(session, sort_keys=True)


def test_start_session_shape_and_dedup():
    s = iv.start_session(["kl-term", "posterior-collapse", "kl-term"], T0)
    assert [item["id"] for item in s["items"]] == ["kl-term", "posterior-collapse"]
    assert s["started"] == T0.isoformat() and s["finished"] is None and s["current"] == 0
    assert iv.current_id(s) == "kl-term" and not iv.is_finished(s)
    assert json.loads(json.dumps(s)) == s  # plain JSON
    assert iv.check_session(s) == s


@pytest.mark.parametrize(
    ("ids", "match"),
    [
        ([], "at least one question"),
        (["Not An Id"], "not a valid question id"),
        ([f"q{i}" for i in range(iv.MAX_QUESTIONS + 1)], "at most"),
    ],
)
def test_start_session_rejects_bad_input(ids, match):
    with pytest.raises(iv.SessionError, match=match):
        iv.start_session(ids, T0)
    with pytest.raises(iv.SessionError, match="timezone-aware"):
        iv.start_session(["a"], datetime(2025, 1, 1))


def test_a_full_session_is_pure_and_books_the_time():
    q1, q2, _ = BANK
    s0 = iv.start_session([q.id for q in BANK], T0)
    steps = [s0]

    def step(fn, *args):
        before = _frozen(steps[-1])
        after = fn(steps[-1], *args)
        assert _frozen(steps[-1]) == before  # the input is never changed
        steps.append(after)
        return after

    s = step(iv.reveal_hint, q1)
    s = step(iv.reveal_hint, q1)
    s = step(iv.reveal_hint, q1)  # only two hints: stays at 2
    assert s["items"][0]["hints"] == 2
    assert iv.shown_hints(s, q1) == ["First hint", "Second hint"]
    s = step(iv.tick_points, q1, [2, 0, 0])
    assert s["items"][0]["ticked"] == [0, 2]
    s = step(iv.tick_points, q1, ["Point two"])  # texts (CheckboxGroup type="value") replace
    assert s["items"][0]["ticked"] == [1]
    s = step(iv.save_notes, "Explained eps well.")
    s = step(iv.next_question, T0 + timedelta(minutes=5))
    assert s["items"][0]["seconds"] == 300.0 and iv.current_id(s) == "kl-term"
    assert iv.shown_hints(s, q2) == []
    s = step(iv.tick_points, q2, [0, 1, 2])
    s = step(iv.next_question, T0 + timedelta(minutes=7, seconds=30))
    assert s["items"][1]["seconds"] == 150.0
    s = step(iv.next_question, T0 + timedelta(minutes=8))  # past the last question: finishes
    assert iv.is_finished(s) and iv.current_id(s) is None
    assert (
        s["items"][2]["seconds"] == 30.0
        and s["finished"] == (T0 + timedelta(minutes=8)).isoformat()
    )
    assert iv.finish_session(s, T0 + timedelta(hours=1)) == s  # finishing twice changes nothing
    assert s0["items"][0] == {"id": q1.id, "hints": 0, "ticked": [], "notes": "", "seconds": 0.0}
    for later in steps:
        iv.check_session(later)


def test_operations_check_the_question_on_screen_and_the_state():
    q1, q2, _ = BANK
    s = iv.start_session([q1.id, q2.id], T0)
    with pytest.raises(iv.SessionError, match="not the one on screen"):
        iv.reveal_hint(s, q2)
    with pytest.raises(iv.SessionError, match="not a key point"):
        iv.tick_points(s, q1, [3])
    with pytest.raises(iv.SessionError, match="not a key point"):
        iv.tick_points(s, q1, ["Point four"])
    with pytest.raises(iv.SessionError, match="not a key point"):
        iv.tick_points(s, q1, [True])
    with pytest.raises(iv.SessionError, match="text"):
        iv.save_notes(s, 42)  # type: ignore[arg-type]
    assert iv.save_notes(s, None)["items"][0]["notes"] == ""
    long = iv.save_notes(s, "x" * (iv.MAX_NOTES_CHARS + 10))
    assert len(long["items"][0]["notes"]) == iv.MAX_NOTES_CHARS
    done = iv.finish_session(s, T0 + timedelta(minutes=1))
    for fn, args in [
        (iv.reveal_hint, (q1,)),
        (iv.tick_points, (q1, [0])),
        (iv.save_notes, ("late",)),
        (iv.next_question, (T0,)),
    ]:
        with pytest.raises(iv.SessionError, match="finished"):
            fn(done, *args)


def test_clock_going_backwards_books_no_negative_time():
    s = iv.start_session(["a", "b"], T0)
    s = iv.next_question(s, T0 - timedelta(minutes=5))
    assert s["items"][0]["seconds"] == 0.0


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s.update(format="other"),
        lambda s: s.update(version=2),
        lambda s: s.update(current=5),
        lambda s: s.update(current=True),
        lambda s: s.update(items=[]),
        lambda s: s.update(started="yesterday"),
        lambda s: s.update(entered=None),  # neither running nor finished
        lambda s: s["items"][0].update(hints=-1),
        lambda s: s["items"][0].update(ticked=["0"]),
        lambda s: s["items"][0].update(seconds=float("nan")),
        lambda s: s["items"][0].update(extra=1),
        lambda s: s.update(junk=1),
    ],
)
def test_check_session_rejects_corrupted_sessions(mutate):
    s = iv.start_session(["a", "b"], T0)
    mutate(s)
    with pytest.raises(iv.SessionError):
        iv.check_session(s)


def _finished_session() -> dict:
    q1, q2, _ = BANK
    s = iv.start_session([q.id for q in BANK] + ["deleted-question"], T0)
    s = iv.reveal_hint(s, q1)
    s = iv.tick_points(s, q1, [0, 2])
    s = iv.save_notes(s, "Good intuition.\n\nMissed the variance argument.")
    s = iv.next_question(s, T0 + timedelta(minutes=6, seconds=2))
    s = iv.tick_points(s, q2, [1])
    return iv.finish_session(s, T0 + timedelta(minutes=10))


def test_summary_markdown_reports_each_question():
    md = iv.summary_markdown(_finished_session(), BANK)
    assert md.startswith("# Mock interview, 2025-03-10 09:00 UTC\n")
    assert "**Duration:** 10 min 0 s (finished)" in md
    assert "**Questions reached:** 2 of 4" in md
    assert "**Rubric:** 3/6 points · **Hints used:** 1" in md
    assert "## 1. The reparameterization trick" in md
    assert (
        "time 6 min 2 s · rubric 2/3 · must-haves 1/2 · hints 1 of 2 · time box 5 min (over)" in md
    )
    assert (
        "- ✅ **[must]** Point one\n- ⬜ **[must]** Point two\n- ✅ **[bonus]** Point three" in md
    )
    assert "> Good intuition.\n>\n> Missed the variance argument." in md
    assert "## 2. Why the KL term" in md
    assert "time 3 min 58 s · rubric 1/3 · must-haves 1/2 · hints 0 of 1 · time box 5 min\n" in md
    assert "## 3. Posterior collapse\n\n*vae-foundations* · not reached" in md
    assert "## 4. Unknown question `deleted-question`" in md
    # The bank may also be given as a mapping by id.
    assert iv.summary_markdown(_finished_session(), {q.id: q for q in BANK}) == md


def test_summary_of_a_running_session_counts_time_up_to_now():
    s = iv.start_session(["kl-term"], T0)
    md = iv.summary_markdown(s, BANK, now=T0 + timedelta(seconds=45))
    assert "**Duration:** 45 s (in progress)" in md
    assert "time 45 s (in progress)" in md
    assert "**Duration:** 0 s (in progress)" in iv.summary_markdown(s, BANK)


HOSTILE_NOTES = "\n".join(
    [
        "<script>alert('x')</script> <img src=x onerror=alert(1)>",
        "# Fake heading",
        "    ## indented heading",
        "Setext title",
        "===",
        "---",
        "- fake bullet",
        "1. fake item",
        "| a | b |",
        "|---|---|",
        "[click](javascript:alert(1)) ![img](http://x/y.png) <http://evil>",
        "`code` **bold** _em_ $x^2$ ~~gone~~",
        "```",
        "> quoted",
        "&amp; &lt;",
        "back\\slash",
    ]
)


class _QuoteText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.depth += tag == "blockquote"

    def handle_endtag(self, tag):
        self.depth -= tag == "blockquote"

    def handle_data(self, data):
        if self.depth:
            self.text.append(data)


def _blockquote_text(rendered: str) -> str:
    parser = _QuoteText()
    parser.feed(rendered)
    return "".join(parser.text).strip()


def _tokens(md: str):
    parser = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    flat = []
    for token in parser.parse(md):
        flat.append(token)
        flat.extend(token.children or [])
    return flat, parser.render(md)


def test_notes_cannot_break_the_markdown_structure():
    q1 = BANK[0]
    s = iv.start_session([q1.id], T0)
    s = iv.save_notes(s, HOSTILE_NOTES)
    s = iv.finish_session(s, T0 + timedelta(minutes=1))
    md = iv.summary_markdown(s, [q1])
    tokens, rendered = _tokens(md)
    assert sum(t.type == "heading_open" for t in tokens) == 2  # only our own headings
    notes_part = md.split("**Notes**\n\n", 1)[1]
    notes_tokens, _ = _tokens(notes_part)
    kinds = {t.type for t in notes_tokens}
    # Within the notes: no HTML, links, images, code, tables, emphasis, lists or rules.
    forbidden = {
        "html_block",
        "html_inline",
        "link_open",
        "image",
        "code_inline",
        "code_block",
        "fence",
        "table_open",
        "em_open",
        "s_open",
        "hr",
        "ordered_list_open",
        "bullet_list_open",
        "heading_open",
        "strong_open",
    }
    assert not kinds & forbidden
    assert "<script>" not in rendered and "<img" not in rendered
    # The only bullet list is the rubric (one item per key point, none from the notes).
    assert sum(t.type == "list_item_open" for t in tokens) == len(q1.key_points)
    # The notes come out as one blockquote whose text is the notes themselves.
    assert sum(t.type == "blockquote_open" for t in tokens) == 1
    assert all(line.startswith(">") for line in notes_part.strip().split("\n"))
    # Rendered, the blockquote's text is exactly the notes (each line's outer spaces trimmed).
    expected = "\n".join(line.strip() for line in HOSTILE_NOTES.split("\n"))
    assert _blockquote_text(rendered) == expected


def test_escape_markdown_keeps_plain_text_readable():
    assert iv.escape_markdown("Plain words, e.g. this: fine.") == "Plain words, e.g. this: fine."
    assert iv.escape_markdown("a < b & c") == "a &lt; b &amp; c"
    assert iv.escape_markdown("x\r\ny\rz") == "x\ny\nz"
    assert iv.escape_markdown("bell\x07") == "bell"


def test_format_duration():
    assert iv.format_duration(0) == "0 s"
    assert iv.format_duration(59.6) == "1 min 0 s"
    assert iv.format_duration(362) == "6 min 2 s"
    assert iv.format_duration(3780) == "1 h 3 min"
