"""The demo contract: one typed record per demo, the leaf every other layer imports.

A demo is a plain function taking keyword arguments and returning a dict of named outputs
(numpy images, markdown strings, numbers). Its ``DemoSpec`` is the one place that says what it
takes: each ``Param`` has a name, a kind, a range or choices, a default, a label and a line of
help. The Gradio tabs build their input widgets from it, the API names its parameters after it,
question files and deep links are checked against it, and ``coerce`` is the one function that
turns a preset, a URL value or an API value into the parameter's type (or says, in a sentence,
which parameter was wrong and what it accepts). Nothing else restates a default or a range.

Like markdown-it-py's ``Token``, this module imports nothing from the rest of the kit except
the error type, so the demo modules, the registry, the quiz and the UI can all import it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kit.demos.errors import DemoInputError

KINDS = ("int", "float", "choice", "text", "bool", "image", "file")
"""What a parameter can hold. ``image`` and ``file`` come from the visitor's own upload or
drawing: they are never presettable (a question file or a link can't name a server path)."""

PRESETTABLE_KINDS = ("int", "float", "choice", "text", "bool")
"""The kinds a question's ``demo_args`` or a deep link may set: plain data, never paths."""

MAX_TEXT = 200
"""Longest text value a ``text`` parameter accepts (the app's text inputs are short)."""

_ECHO = 40  # characters of a refused value quoted back in a message


def _quote(value: Any) -> str:
    """``value`` for an error message, truncated (a refused 1 MB string is not echoed whole)."""
    text = repr(value)
    return text if len(text) <= _ECHO else text[: _ECHO - 1] + "…"


@dataclass(frozen=True)
class Param:
    """One argument of a demo: what it is, what it accepts, how the UI shows it."""

    name: str
    """The demo function's argument name, also the API parameter and the URL key."""
    kind: str
    """One of ``KINDS``."""
    default: Any
    """The value used when nobody sets it (None: "random" for a seed, "none" for an image)."""
    label: str
    """The widget's label, a few words, e.g. "Temperature T"."""
    help: str = ""
    """One line shown under the widget and in the API description."""
    minimum: float | None = None
    """Smallest allowed value (int and float kinds)."""
    maximum: float | None = None
    """Largest allowed value (int and float kinds)."""
    step: float | None = None
    """Slider step (int and float kinds); ints default to 1."""
    choices: tuple = ()
    """The allowed values (``choice`` kind, or an ``int`` shown as a menu)."""
    optional: bool = False
    """True when None is a valid value (e.g. a seed left empty means a fresh random one)."""
    control: str = ""
    """Widget override: "number" (a box, not a slider), "dropdown" or "radio"; "" = natural."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name!r}: unknown kind {self.kind!r}")

    @property
    def presettable(self) -> bool:
        """Whether a question file or a deep link may set this parameter."""
        return self.kind in PRESETTABLE_KINDS

    def widget_value(self, value: Any) -> Any:
        """``value`` as this parameter's widget holds it: a number chosen from a menu is shown
        as its text (the menu's choices are text, so "7" from a page and 7 from a preset are
        both accepted and both mean 7)."""
        if self.kind in ("int", "float") and self.choices and value is not None:
            return str(value)
        return value

    def _fmt(self, x: float) -> str:
        return str(int(x)) if self.kind == "int" or float(x).is_integer() else f"{x:g}"

    def accepts(self) -> str:
        """What the parameter accepts, in words, e.g. "a whole number from 0 to 9999"."""
        if self.kind in ("int", "float"):
            noun = "a whole number" if self.kind == "int" else "a number"
            if self.choices:
                text = f"one of {', '.join(str(c) for c in self.choices)}"
            elif self.minimum is not None and self.maximum is not None:
                text = f"{noun} from {self._fmt(self.minimum)} to {self._fmt(self.maximum)}"
            elif self.minimum is not None:
                text = f"{noun} of at least {self._fmt(self.minimum)}"
            else:
                text = noun
        elif self.kind == "choice":
            text = f"one of {', '.join(str(c) for c in self.choices)}"
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind == "text":
            text = f"text of at most {MAX_TEXT} characters"
        else:
            text = f"an {self.kind}" if self.kind == "image" else f"a {self.kind}"
        return f"{text}, or empty" if self.optional else text

    def _fail(self, value: Any) -> DemoInputError:
        return DemoInputError(
            f"{self.label} ({self.name}) must be {self.accepts()}; got {_quote(value)}"
        )

    def coerce(self, value: Any) -> Any:
        """``value`` as this parameter's type, or a ``DemoInputError`` naming it and its range.

        Strings are parsed (URL values arrive as text); a number that is not whole is refused
        for an ``int`` (3.5 is never rounded to 4); booleans are not numbers.
        """
        if value is None or (isinstance(value, str) and not value.strip()):
            if self.optional:
                return None
            raise self._fail(value)
        if self.kind in ("int", "float"):
            return self._number(value)
        if self.kind == "choice":
            for c in self.choices:
                if str(c) == str(value):
                    return c
            raise self._fail(value)
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1", "yes", "on"):
                return True
            if text in ("false", "0", "no", "off"):
                return False
            raise self._fail(value)
        if self.kind == "text":
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise self._fail(value)
            text = str(value)
            if len(text) > MAX_TEXT:
                raise self._fail(value)
            return text
        return value  # image / file: the loaders in kit.preprocess check them

    def _number(self, value: Any) -> int | float:
        if isinstance(value, bool):
            raise self._fail(value)
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise self._fail(value) from None
        if not isinstance(value, (int, float)):
            raise self._fail(value)
        number = float(value)
        if not math.isfinite(number):
            raise self._fail(value)
        if self.kind == "int" and not number.is_integer():
            raise self._fail(value)
        if self.choices and number not in [float(c) for c in self.choices]:
            raise self._fail(value)
        if self.minimum is not None and number < self.minimum:
            raise self._fail(value)
        if self.maximum is not None and number > self.maximum:
            raise self._fail(value)
        return int(number) if self.kind == "int" else number


@dataclass(frozen=True)
class DemoSpec:
    """One runnable demonstration: its identity, its parameters and where the app shows it."""

    id: str
    """Stable id, "<tab>.<name>", e.g. "reconstruction.test_digit"."""
    tab: str
    """Id of the app tab that shows it, e.g. "reconstruction"."""
    api_name: str
    """The Gradio api_name of its main event (callable with gradio_client)."""
    fn: Callable[..., dict]
    """The UI-free function; called with every parameter by name it returns named outputs."""
    params: tuple[Param, ...] = ()
    """Its parameters, in the order the API takes them."""
    summary: str = ""
    """One line on what the demo shows."""
    section: str = ""
    """The heading of the section of its tab that holds it (the quiz opens that section)."""
    trains: bool = False
    """True when it trains a model (seconds, not milliseconds): the quiz only sets it up in
    its tab, and the latency benchmark reports it without a target."""
    outputs: tuple[str, ...] = field(default=())
    """The names of the outputs it returns, in display order (documentation and checks)."""

    @property
    def defaults(self) -> dict[str, Any]:
        """Every parameter's default, by name."""
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> Param:
        """The parameter called ``name`` (a ``DemoInputError`` if there is none)."""
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        raise DemoInputError(
            f"demo {self.id} has no parameter {_quote(name)} (its parameters: {known})"
        )

    def coerce(self, args: Mapping[str, Any], *, preset: bool = False) -> dict[str, Any]:
        """Every parameter's value: ``args`` coerced, defaults for the rest.

        ``preset=True`` is for values from a question file or a link: those may only set
        presettable parameters (numbers, choices, text), never an image or a file.
        """
        for name in args:
            p = self.param(name)
            if preset and not p.presettable:
                raise DemoInputError(
                    f"demo {self.id}: {p.name} is {p.accepts()} from the visitor, so a "
                    "question file or a link cannot set it"
                )
        return {
            p.name: p.coerce(args[p.name]) if p.name in args else p.default for p in self.params
        }

    def run(self, **args: Any) -> dict:
        """The demo's named outputs for ``args`` (coerced; defaults fill the rest)."""
        return self.fn(**self.coerce(args))

    def run_preset(self, preset: Mapping[str, Any]) -> dict:
        """``run`` for a question's or a link's preset (presettable parameters only)."""
        return self.fn(**self.coerce(preset, preset=True))

    def api_description(self) -> str:
        """A Google-style docstring (Gradio reads it for the API page and view_api)."""
        lines = [self.summary or self.id, "", "Args:"]
        for p in self.params:
            helptext = f" {p.help}" if p.help else ""
            lines.append(f"    {p.name}: {p.label}.{helptext} Accepts {p.accepts()}.")
        return "\n".join(lines)
