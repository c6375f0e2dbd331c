"""Question markdown -> safe HTML with LaTeX kept (kit.quiz.render), and the Anki export."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kit.quiz import load_bank, render_markdown, to_anki_csv

FIXTURES = Path(__file__).parent / "fixtures" / "quiz"
UNSAFE_SCHEMES = ("javascript:", "vbscript:", "data:text")


class _Tags(HTMLParser):
    """Every start tag and its attributes, as a browser would build them."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def live_markup(html: str) -> list[str]:
    """What in ``html`` could run script: script-ish tags, on* handlers, unsafe URLs."""
    parser = _Tags()
    parser.feed(html)
    found = []
    for tag, attrs in parser.tags:
        if tag in ("script", "iframe", "object", "embed", "svg", "style"):
            found.append(f"<{tag}>")
        for name, value in attrs.items():
            if name.startswith("on"):
                found.append(f"{tag} {name}=")
            if name in ("href", "src") and value.strip().lower().startswith(UNSAFE_SCHEMES):
                found.append(f"{tag} {name}={value}")
    return found


def test_live_markup_detector_sees_real_markup():
    # The check below must be able to fail: raw HTML that is live is caught.
    assert live_markup('<script>x</script><img src=x onerror=alert(1)><a href="javascript:x">') == [
        "<script>",
        "img onerror=",
        "a href=javascript:x",
    ]


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](vbscript:msgbox(1))",
        "![x](javascript:alert(1))",
        "<javascript:alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "<svg onload=alert(1)>",
        "[x]: javascript:alert(1)\n\n[go][x]",
        "$x$ <script>alert(1)</script> $$y$$",
        "$<script>alert(1)</script>$",
    ],
)
def test_payloads_render_dead(payload):
    html = render_markdown(payload)
    assert live_markup(html) == [], html
    assert "<script" not in html
    assert 'href="javascript:' not in html.lower()


def test_xss_fixture_renders_dead():
    bank = load_bank([FIXTURES / "xss"])
    assert bank.problems == []
    (q,) = bank.questions
    for text in [q.question, q.answer, *q.hints, *q.key_points, *q.follow_ups]:
        html = render_markdown(text)
        assert live_markup(html) == [], html
        assert "<script" not in html and 'href="javascript:' not in html.lower()


def test_safe_links_and_markdown_still_render():
    html = render_markdown("**bold** [paper](https://arxiv.org/abs/1312.6114)")
    assert "<strong>bold</strong>" in html
    assert '<a href="https://arxiv.org/abs/1312.6114">paper</a>' in html


def test_inline_math_round_trips_untouched():
    html = render_markdown(r"The encoder $q_\phi(z \mid x)$ and the prior $p(z)$.")
    assert r"$q_\phi(z \mid x)$" in html
    assert "$p(z)$" in html
    assert "<em>" not in html


def test_math_underscores_are_not_emphasis_and_html_is_escaped():
    html = render_markdown(r"$a_1 < b_1$ and $c_2 * d_2 * e$ and *real emphasis*")
    assert r"$a_1 &lt; b_1$" in html
    assert "$c_2 * d_2 * e$" in html
    assert html.count("<em>") == 1


def test_display_math_round_trips():
    html = render_markdown("Before\n\n$$\n\\sum_i x_i \\\\\n\n\\mathbb{E}_q[\\log p]\n$$\n\nAfter")
    assert '<div class="math">$$\n\\sum_i x_i \\\\\n\\mathbb{E}_q[\\log p]\n$$</div>' in html
    assert "\n\n$$" not in html  # no blank line inside the math block
    assert render_markdown("one $$x^2$$ line") == "<p>one $$x^2$$ line</p>\n"


def test_anki_delimiters():
    html = render_markdown(r"$q_\phi$ and $$\sum_i$$", math="anki")
    assert r"\(q_\phi\) and \[\sum_i\]" in html
    with pytest.raises(ValueError):
        render_markdown("x", math="mathml")


def test_anki_csv_round_trips_through_csv():
    bank = load_bank([FIXTURES / "valid.md", FIXTURES / "xss"])
    assert bank.problems == []
    text = to_anki_csv(bank.questions)
    lines = text.split("\n")
    assert lines[:3] == ["#separator:Comma", "#html:true", "#tags column:3"]
    rows = list(csv.reader(io.StringIO("\n".join(lines[3:]))))
    assert len(rows) == len(bank.questions) == 2
    assert all(len(row) == 3 for row in rows)
    (front, back, tags), (xss_front, xss_back, xss_tags) = rows
    assert tags == "vae-foundations core gradients sampling training"
    assert xss_tags == "practice warm-up security_test"
    assert "The reparameterization trick" in front
    assert r"\(z \sim q_\phi(z \mid x)\)" in front
    assert "Key points" in back and "Gradients flow through mu and sigma" in back
    assert "keywords:" not in back
    assert "Kingma &amp; Welling" in back
    for field in (xss_front, xss_back):
        assert live_markup(field) == [], field
        assert "<script" not in field


def test_anki_csv_of_nothing_is_just_the_header():
    assert to_anki_csv([]) == "#separator:Comma\n#html:true\n#tags column:3\n"


# --- the interview-grade fields on the card and in the export ---


def _valid():
    (q,) = load_bank([FIXTURES / "valid.md"]).questions
    return q


def test_answer_html_shows_levels_red_flags_follow_up_answers_evidence_and_facts():
    from kit.quiz.study import answer_html, coverage_html

    html = answer_html(_valid())
    assert "<em>Time box 8 min · for research scientist, research engineer</em>" in html
    for piece in (
        "<strong>Junior:</strong> says sampling blocks the gradient",
        "<strong>Staff:</strong> knows when the trick fails",
        "<h4>Red flags</h4>",
        "<strong>Why it is wrong:</strong> a drawn number has no recorded dependence",
        "Which distributions can be reparameterized this way? <strong>Answer:</strong> "
        "location-scale families",
        "<h4>Evidence from the shipped models</h4>",
        "variance 0.40 (pathwise)",
    ):
        assert piece in html, piece
    assert html.index("Model answer") < html.index("Junior") < html.index("Red flags")
    points = coverage_html(_valid(), "")
    assert "<strong>[must]</strong> The sample is written" in points
    assert "<strong>[strong]</strong> The pathwise estimate" in points


def test_new_fields_of_the_xss_fixture_render_dead_on_the_card_and_in_anki():
    from kit.quiz.study import answer_html, coverage_html

    (q,) = load_bank([FIXTURES / "xss"]).questions
    assert q.levels and q.red_flags and q.follow_up_answers and q.evidence  # all hostile
    (row,) = _anki_rows([q])
    for html in (answer_html(q), coverage_html(q, "nothing"), row[0], row[1]):
        assert live_markup(html) == [], html
        assert "<script" not in html and "<iframe" not in html


def _anki_rows(questions) -> list[list[str]]:
    """The CSV rows of an Anki export, after its header lines."""
    return list(csv.reader(io.StringIO("\n".join(to_anki_csv(questions).split("\n")[3:]))))


def test_anki_back_has_the_new_fields():
    (row,) = _anki_rows([_valid()])
    front, back = row[0], row[1]
    assert "8 min · research scientist, research engineer" in front
    assert "<strong>[must]</strong> Gradients flow through mu and sigma" in back
    assert "<h4>Levels</h4>" in back and "<strong>Senior:</strong> derives" in back
    assert "<strong>Why it is wrong:</strong>" in back
    assert "<strong>Answer:</strong> a Gumbel-softmax relaxation" in back
    assert "Evidence (measured on the shipped models)" in back and "2.94 (score function)" in back


def test_the_parser_and_the_renderer_share_one_markdown_configuration():
    from kit.quiz.parse import _markdown
    from kit.quiz.render import new_markdown

    text = "Let $q_\\phi(z \\mid x)$ be it.\n\n$$\nx_1 + x_2\n$$\n"

    def flat(md):
        return [(t.type, t.content) for tok in md.parse(text) for t in [tok, *(tok.children or [])]]

    assert flat(_markdown()) == flat(new_markdown())  # plus front matter in the parser only
    assert ("math_inline", "q_\\phi(z \\mid x)") in flat(new_markdown())
    assert ("math_block", "\nx_1 + x_2\n") in flat(new_markdown())
    assert new_markdown() is not new_markdown()  # fresh: a caller's render rules stay its own
