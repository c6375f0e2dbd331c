"""Source-level checks ruff does not make: docstrings where Python sees them, imports first.

A string statement after an import inside a function is no docstring (``help()`` and the
docs miss it), and ruff's E402 accepts imports placed after an ``if TYPE_CHECKING:`` block.
"""

import ast
import itertools
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[1] / "kit"
SOURCES = sorted(KIT.rglob("*.py"))
NOT_YET: dict[str, str] = {}  # path -> reason, for a change in flight (strict xfail)


def _marks(path: Path):
    reason = NOT_YET.get(path.relative_to(KIT).as_posix())
    return [pytest.mark.xfail(reason=reason, strict=True)] if reason else []


def _ids(paths):
    return [p.relative_to(KIT).as_posix() for p in paths]


def stray_strings(tree: ast.AST) -> list[int]:
    """Lines of string statements that are neither a docstring nor an attribute docstring."""
    lines = []
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for prev, stmt in itertools.pairwise(body):
            is_string = isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            attribute_doc = isinstance(prev, ast.Assign | ast.AnnAssign)  # x = 1, then """x."""
            if is_string and isinstance(stmt.value.value, str) and not attribute_doc:
                lines.append(stmt.lineno)
    return lines


def late_imports(source: str) -> list[int]:
    """Lines of module-level imports that follow any other statement (docstring aside).

    An import marked ``# noqa: E402`` is a deliberate exception and is not reported.
    """
    lines, seen_other, source_lines = [], False, source.splitlines()
    for i, stmt in enumerate(ast.parse(source).body):
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            if seen_other and "noqa: E402" not in source_lines[stmt.end_lineno - 1]:
                lines.append(stmt.lineno)
        elif not (i == 0 and isinstance(stmt, ast.Expr)):
            seen_other = True
    return lines


@pytest.mark.parametrize(
    "path", [pytest.param(p, marks=_marks(p)) for p in SOURCES], ids=_ids(SOURCES)
)
def test_every_string_statement_is_a_docstring(path):
    assert stray_strings(ast.parse(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    "path", [pytest.param(p, marks=_marks(p)) for p in SOURCES], ids=_ids(SOURCES)
)
def test_module_imports_come_before_other_code(path):
    assert late_imports(path.read_text(encoding="utf-8")) == []


def test_the_checks_catch_what_they_claim():
    moved = "def f():\n    import os\n\n    '''Doc.'''\n    return os\n"
    assert stray_strings(ast.parse(moved)) == [4]
    assert stray_strings(ast.parse("def f():\n    '''Doc.'''\n    x = 1\n    '''x.'''\n")) == []
    late = "import os\n\nif TYPE_CHECKING:\n    import re\nimport sys\n"
    assert late_imports(late) == [5]
    assert late_imports('"""Doc."""\nimport os\nimport sys\nX = 1\n') == []
    assert late_imports("X = 1\nimport os  # noqa: E402\n") == []
