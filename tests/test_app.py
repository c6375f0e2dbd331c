"""The assembled app: every tab present, the public API exactly the registered demos."""

import gradio as gr

from kit.demos.registry import all_demos
from kit.ui import EXTRA_PUBLIC_API, TABS, build_app


def test_every_tab_and_every_demo_endpoint():
    demo = build_app()
    assert isinstance(demo, gr.Blocks)
    tab_ids = {t[0] for t in TABS}
    assert tab_ids == {
        "reconstruction",
        "latent",
        "generate",
        "beta",
        "under_the_hood",
        "train_live",
        "drills",
    }
    specs = all_demos()
    # every tab has at least one demo, except Code drills (its endpoint is the grader)
    assert {s.tab for s in specs.values()} == tab_ids - {"drills"}
    public = {
        d["api_name"] for d in demo.config["dependencies"] if d.get("api_visibility") == "public"
    }
    assert public == {s.api_name for s in specs.values()} | set(EXTRA_PUBLIC_API)
    assert len({s.api_name for s in specs.values()}) == len(specs)  # api_names are unique


def test_demo_ids_name_their_tab():
    for demo_id, spec in all_demos().items():
        assert demo_id == spec.id and demo_id.split(".")[0] == spec.tab
        assert spec.summary, f"{demo_id} has no summary"


def test_readme_lists_every_demo():
    from pathlib import Path

    from kit.demos.registry import markdown_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- demos:start -->")[1].split("<!-- demos:end -->")[0].strip()
    assert block == markdown_table(), "README's demo table is stale: python -m kit.demos.registry"


def test_plot_events_draw_once_per_argument_tuple():
    from matplotlib.figure import Figure

    from kit.ui.errors import named_outputs

    calls = []

    def demo_fn(n=1, seed=0):
        calls.append((n, seed))
        fig = Figure(figsize=(2, 2))
        fig.subplots().plot(range(n + 2))
        return {"figure": fig, "summary": f"n = {n}"}

    plot, text = gr.Plot(render=False), gr.Markdown(render=False)
    handler, _ = named_outputs(demo_fn, {"figure": plot, "summary": text})
    first, again = handler(3, 0), handler(3, 0)
    assert calls == [(3, 0)]  # the second call is served from the cache
    assert first[plot].plot.startswith("data:image/") and first[plot] == again[plot]
    assert handler(4, 0)[text] == "n = 4" and len(calls) == 2  # other arguments: drawn anew
    handler(3, None), handler(3, None)
    assert calls[-2:] == [(3, None), (3, None)]  # None may mean "random": never cached


def test_a_broken_model_message_hides_the_server_paths():
    import pytest

    from kit.models import CheckpointError
    from kit.ui.errors import user_errors

    def broken():
        raise CheckpointError(
            "/srv/app/models/cvae-2/model.safetensors: file is truncated; rebuild it with: "
            "python -m kit.train --model cvae-2"
        )

    with pytest.raises(gr.Error) as err:
        user_errors(broken)()
    assert "/srv/app" not in err.value.message
    assert "cvae-2/model.safetensors: file is truncated" in err.value.message


def test_app_import_leaves_matplotlib_for_the_first_plot():
    """Cold start: matplotlib (about 0.5 s) is imported by the first plot, not by app.py."""
    import subprocess
    import sys

    code = "import sys, app; assert 'matplotlib' not in sys.modules, 'imported at start'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-500:]


def test_digit_colours_are_matplotlibs_tab10():
    import numpy as np
    from matplotlib import colormaps

    from kit.demos.latent import TAB10

    np.testing.assert_allclose(TAB10, np.asarray(colormaps["tab10"].colors), atol=1e-3)


def test_only_the_training_demo_is_marked_as_training():
    assert {s.id for s in all_demos().values() if s.trains} == {"train_live.run"}
