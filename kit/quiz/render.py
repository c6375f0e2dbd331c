r"""Markdown -> safe HTML for question text, with the LaTeX left for KaTeX to typeset.

markdown-it-py's ``js-default`` preset escapes raw HTML (``<script>`` becomes text) and refuses
to link ``javascript:``, ``vbscript:``, ``file:`` and non-image ``data:`` URLs. The dollarmath
plugin lifts ``$...$`` and ``$$...$$`` out before the markdown rules see them, so
``$q_\phi(z \mid x)$`` keeps its underscore and backslashes; the render rules below write the
math back between its delimiters with only HTML escaping (``<`` -> ``&lt;``, which the browser
turns back into ``<`` in the text KaTeX reads). The app shows the HTML in a ``gr.Markdown`` with
KaTeX ``latex_delimiters`` for ``$$`` and ``$``, which typesets it. ``math="anki"`` writes
``\(...\)`` and ``\[...\]`` instead: the delimiters Anki's MathJax looks for.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin

from kit.quiz.budget import MAX_NESTING

DELIMITERS = {
    # style: (inline left, inline right, display left, display right)
    "dollars": ("$", "$", "$$", "$$"),
    "anki": ("\\(", "\\)", "\\[", "\\]"),
}
"""Math delimiters written back out, per output style."""


def new_markdown() -> MarkdownIt:
    """A fresh js-default markdown-it with ``$`` / ``$$`` math lifted out as single tokens.

    The one configuration the question parser (``kit.quiz.parse``, which adds front matter) and
    the renderers below share, so what the validator accepts is what the page shows.
    """
    return MarkdownIt("js-default", {"maxNesting": MAX_NESTING}).use(
        dollarmath_plugin, allow_labels=False, allow_digits=False, double_inline=True
    )


def _math_source(content: str) -> str:
    """Math content, HTML-escaped, without blank lines (a blank line would end the HTML block
    when ``gr.Markdown`` re-reads the HTML as markdown, exposing the LaTeX to its rules)."""
    lines = [line for line in content.strip().split("\n") if line.strip()]
    return escapeHtml("\n".join(lines))


@lru_cache(maxsize=len(DELIMITERS))
def _renderer(math: str) -> MarkdownIt:
    """js-default markdown-it with math tokens written back between ``math``'s delimiters."""
    inline_l, inline_r, display_l, display_r = DELIMITERS[math]
    md = new_markdown()

    def inline(self, tokens: Sequence[Token], idx: int, options, env) -> str:
        return f"{inline_l}{_math_source(tokens[idx].content)}{inline_r}"

    def inline_display(self, tokens: Sequence[Token], idx: int, options, env) -> str:
        return f"{display_l}{_math_source(tokens[idx].content)}{display_r}"

    def block(self, tokens: Sequence[Token], idx: int, options, env) -> str:
        source = _math_source(tokens[idx].content)
        return f'<div class="math">{display_l}\n{source}\n{display_r}</div>\n'

    md.add_render_rule("math_inline", inline)
    md.add_render_rule("math_inline_double", inline_display)
    md.add_render_rule("math_block", block)
    return md


def render_markdown(text: str, *, math: str = "dollars") -> str:
    r"""Question markdown -> HTML with raw HTML escaped, unsafe links unlinked, math kept.

    ``math``: "dollars" (``$...$`` / ``$$...$$``, for KaTeX in the app) or "anki"
    (``\(...\)`` / ``\[...\]``, for Anki's MathJax).
    """
    if math not in DELIMITERS:
        raise ValueError(f"math must be one of {sorted(DELIMITERS)}, got {math!r}")
    return _renderer(math).render(text or "")
