"""Every live demo under a stable id, so question files and the API can name it.

A demo is a plain function taking keyword arguments and returning a dict of named outputs
(numpy images, matplotlib ``Figure``s, markdown strings, numbers). Its id (``"<tab>.<name>"``)
and its Gradio ``api_name`` never change once published: quiz answers link to the id with a
preset of arguments (``demo_args``), and API clients call the api_name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DemoSpec:
    """One runnable demonstration."""

    id: str
    """Stable id, "<tab>.<name>", e.g. "reconstruction.test_digit"."""
    tab: str
    """Id of the app tab that shows it, e.g. "reconstruction"."""
    api_name: str
    """The Gradio api_name of its main event (callable with gradio_client)."""
    fn: Callable[..., dict]
    """The UI-free function; called as fn(**args) it returns named outputs."""
    defaults: dict = field(default_factory=dict)
    """Argument names and default values; a preset may override any of them."""
    summary: str = ""
    """One line on what the demo shows."""
    trains: bool = False
    """True when it trains a model (seconds, not milliseconds): the quiz only sets it up in
    its tab, and the latency benchmark reports it without a target."""

    def run(self, **preset) -> dict:
        unknown = set(preset) - set(self.defaults)
        if unknown:
            raise ValueError(f"demo {self.id!r} has no argument(s) {sorted(unknown)}")
        return self.fn(**{**self.defaults, **preset})


def all_demos() -> dict[str, DemoSpec]:
    """Every registered demo by id (imports the demo modules on first call)."""
    from kit.demos import beta, generate, latent, reconstruction, train_live, under_the_hood

    specs: list[DemoSpec] = []
    for module in (reconstruction, latent, generate, beta, under_the_hood, train_live):
        specs.extend(module.DEMOS)
    by_id = {s.id: s for s in specs}
    if len(by_id) != len(specs):
        raise RuntimeError("two demos share an id")
    return by_id


def markdown_table() -> str:
    """The demo list as a markdown table (pasted into README.md; a test keeps them in step)."""
    rows = ["| demo id | api_name | what it shows |", "|---|---|---|"]
    for spec in sorted(all_demos().values(), key=lambda s: s.id):
        rows.append(f"| `{spec.id}` | `{spec.api_name}` | {spec.summary} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
