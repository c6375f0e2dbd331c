"""The demo contract: typed parameters, one coercion function, a registry without cycles."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from kit.demos.errors import DemoInputError
from kit.demos.registry import DEMOS, all_demos, get_demo
from kit.demos.spec import DemoSpec, Param
from kit.quiz.parse import parse_text

ROOT = Path(__file__).resolve().parents[1]

INT = Param("index", "int", 0, "Test digit index", minimum=0, maximum=9999)
FLOAT = Param("t", "float", 1.0, "Temperature", minimum=0.0, maximum=2.0)
CHOICE = Param("model", "choice", "all", "Model", choices=("all", "beta-vae-1"))
SEED = Param("seed", "int", None, "Seed", minimum=0, maximum=10, optional=True)
MENU = Param("digit", "int", 7, "Digit", choices=tuple(range(10)))


@pytest.mark.parametrize(
    ("param", "given", "expected"),
    [
        (INT, 3, 3),
        (INT, "42", 42),
        (INT, 7.0, 7),
        (INT, " 9999 ", 9999),
        (FLOAT, "0.5", 0.5),
        (FLOAT, 2, 2.0),
        (CHOICE, "beta-vae-1", "beta-vae-1"),
        (SEED, None, None),
        (SEED, "", None),
        (MENU, "7", 7),  # a dropdown's text and a preset's number are the same value
        (MENU, 3, 3),
    ],
)
def test_coerce_accepts_and_converts(param, given, expected):
    got = param.coerce(given)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("param", "given"),
    [
        (INT, 3.5),  # never rounded to 4
        (INT, "3.5"),
        (INT, -1),
        (INT, 10_000),
        (INT, True),  # a bool is not a number
        (INT, None),
        (INT, "seven"),
        (INT, [1]),
        (FLOAT, float("nan")),
        (FLOAT, float("inf")),
        (FLOAT, 2.01),
        (CHOICE, "beta-vae-2"),
        (MENU, 10),
        (SEED, 11),
    ],
)
def test_coerce_refuses_with_the_parameter_and_its_range(param, given):
    with pytest.raises(DemoInputError) as err:
        param.coerce(given)
    message = str(err.value)
    assert param.name in message and param.label in message
    assert param.accepts() in message


def test_refused_values_are_not_echoed_whole():
    with pytest.raises(DemoInputError) as err:
        CHOICE.coerce("x" * 1_000_000)
    assert len(str(err.value)) < 300


def test_accepts_in_words():
    assert INT.accepts() == "a whole number from 0 to 9999"
    assert FLOAT.accepts() == "a number from 0 to 2"
    assert SEED.accepts() == "a whole number from 0 to 10, or empty"
    assert CHOICE.accepts() == "one of all, beta-vae-1"


def _spec(**kw) -> DemoSpec:
    image = Param("sketch", "image", None, "Your drawing")
    return DemoSpec(
        id="t.demo", tab="t", api_name="t_demo", fn=lambda **a: a, params=(INT, image), **kw
    )


def test_spec_coerce_fills_defaults_and_refuses_unknown_names():
    spec = _spec()
    assert spec.coerce({"index": "5"}) == {"index": 5, "sketch": None}
    with pytest.raises(DemoInputError, match="no parameter 'steps'"):
        spec.coerce({"steps": 3})


def test_presets_can_never_set_an_image_or_a_file():
    spec = _spec()
    with pytest.raises(DemoInputError, match="cannot set it"):
        spec.coerce({"sketch": "/etc/passwd"}, preset=True)
    assert spec.coerce({"index": 2}, preset=True)["index"] == 2


@pytest.mark.parametrize("spec", DEMOS, ids=lambda s: s.id)
def test_every_spec_matches_its_function_and_its_defaults_coerce(spec):
    signature = inspect.signature(spec.fn)
    assert list(signature.parameters) == [p.name for p in spec.params]
    assert spec.coerce({}) == spec.defaults
    for p in spec.params:
        assert p.coerce(p.default) == p.default
    assert spec.id.startswith(spec.tab + ".")
    assert spec.section, "every demo names the section of its tab that holds it"


def test_ids_and_api_names_are_unique_and_lookups_agree():
    assert len({s.id for s in DEMOS}) == len(DEMOS) == len(all_demos())
    assert len({s.api_name for s in DEMOS}) == len(DEMOS)
    assert get_demo("latent.grid").api_name == "latent_grid"
    assert get_demo("no.such") is None


def _imports(path: Path) -> set[str]:
    """Every ``kit.demos`` module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "kit.demos":
                found |= {f"kit.demos.{a.name}" for a in node.names}
            elif node.module.startswith("kit.demos."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("kit.demos.")}
    return found


def test_the_demo_package_has_no_import_cycle():
    graph = {
        f"kit.demos.{p.stem}": _imports(p)
        for p in (ROOT / "kit" / "demos").glob("*.py")
        if p.stem != "__init__"
    }
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        assert node not in path, f"import cycle: {' -> '.join([*path, node])}"
        if node in done or node not in graph:
            return
        for nxt in graph[node]:
            visit(nxt, [*path, node])
        done.add(node)

    for module in graph:
        visit(module, [])
    importers = [m for m, deps in graph.items() if "kit.demos.registry" in deps]
    assert importers == [], "demo modules must not import the registry"


QUESTION = """---
id: preset-check
title: A preset check
topic: autoencoders
difficulty: core
tags: []
demo: {demo}
demo_args: {args}
sources: []
time_box: 5
roles: [ml-engineer]
---

## Question
Why?

## Answer
Because.

## Hints
- Think.

## Key points
- [must] A point about bottlenecks (keywords: bottleneck)

## Levels
- **Junior:** says why.
- **Senior:** says why, with numbers.
- **Staff:** says when it fails.

## Red flags
- "It never fails." **Why it is wrong:** it does.

## Follow-ups
- And then? **Answer:** then more.
"""


@pytest.mark.parametrize(
    ("demo", "args", "expected"),
    [
        ("reconstruction.upload", "{path: /etc/passwd}", "cannot set it"),
        ("reconstruction.test_digit", "{index: 3.5}", "whole number from 0 to 9999"),
        ("generate.samples", "{temperature: 9}", "number from 0 to 2"),
        ("beta.traversal", "{model: beta-vae-3}", "one of all"),
    ],
)
def test_quiz_check_runs_the_contract_on_every_preset(demo, args, expected):
    question, problems = parse_text(
        QUESTION.format(demo=demo, args=args), "q.md", folder_topic="autoencoders"
    )
    assert question is None
    assert any(expected in p.message and p.line == 8 for p in problems), problems
    assert all("/etc/passwd" not in p.message or "cannot" in p.message for p in problems)


def test_a_good_preset_passes_the_check():
    question, problems = parse_text(
        QUESTION.format(demo="generate.samples", args="{digit: 3, temperature: 0.5}"),
        "q.md",
        folder_topic="autoencoders",
    )
    assert problems == []
    assert question is not None and question.demo_args == {"digit": 3, "temperature": 0.5}
