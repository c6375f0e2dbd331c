"""The records a drill is made of: its signature, hidden cases and named mistakes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kit.drills.allowlist import Signature


@dataclass(frozen=True)
class Case:
    """One hidden test: the arguments (as JSON the harness turns into tensors) and how to run."""

    name: str
    """Short name shown to the learner, e.g. "mu = 1, sigma = 1"."""
    args: dict
    """Argument name -> JSON description (see ``kit.drills.harness.build_value``)."""
    runner: str = "value"
    """How the harness calls the function (``kit.drills.harness.RUNNERS``)."""
    shows: str = ""
    """The input as the learner reads it in a failure message (defaults to a summary)."""


@dataclass(frozen=True)
class Mistake:
    """A classic wrong answer: recognised when a submission's results equal the variant's."""

    id: str
    """Stable id, e.g. "kl_sign_flipped" (the API's ``mistake`` field)."""
    message: str
    """What the learner reads: the symptom on a stated input and the cause."""
    variant: Callable
    """The wrong code, as a server-side function with the drill's signature."""
    demo: str | None = None
    """Registry id of a demo that shows what the bug does (``kit.demos.registry``), if any."""
    demo_note: str = ""
    """One line on what to look for in that demo."""


@dataclass(frozen=True)
class Drill:
    """One coding exercise."""

    id: str
    """The function's name, e.g. "reparameterize" (the API's ``drill_id``)."""
    title: str
    """Menu label."""
    params: tuple[str, ...]
    """Parameter names in order."""
    statement: str
    """Markdown with LaTeX ($...$), shown above the editor."""
    starter: str
    """Starter code: the signature, a docstring and ``return ...`` to fill in."""
    reference: Callable
    """The reference solution (server side only; never sent to the page)."""
    cases: tuple[Case, ...]
    """Hidden tests, chosen so each named mistake fails at least one of them."""
    mistakes: tuple[Mistake, ...] = ()
    """Named wrong variants, each with its own message."""
    drive: str | None = None
    """Which live demo a submission drives (``kit.drills.drive.DRIVES``), if any."""
    rtol: float = 1e-4
    """Relative tolerance of the comparison with the reference."""
    atol: float = 1e-5
    """Absolute tolerance of the comparison with the reference."""
    tags: tuple[str, ...] = field(default_factory=tuple)
    """Topics, for the menu and the quiz's links."""

    @property
    def signature(self) -> Signature:
        """The function the drill asks for: its name (the drill's id) and parameters."""
        return Signature(self.id, self.params)
