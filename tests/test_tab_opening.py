"""How much page state the app's events leave behind, and the tabs' once-per-page first opening.

Gradio's page keeps a loading status for each progress target of every event that has run (by
default its outputs) and for each input of every completed event, and writes all of them back on
every later status message. These tests read the built app's config (what the page receives) and
call the opening functions directly."""

from __future__ import annotations

import pytest

from kit.ui import build_app_and_links
from kit.ui.links import OPENED, filled_tabs, opening_flags


@pytest.fixture(scope="module")
def built():
    demo, links = build_app_and_links()
    return demo.get_config_file(), links


def _backend_events(config):
    return [d for d in config["dependencies"] if d.get("backend_fn")]


def test_quiet_events_name_no_progress_target(built):
    config, _ = built
    hidden = [d for d in _backend_events(config) if d["show_progress"] == "hidden"]
    assert len(hidden) > 100  # every demo event, the openings, the quiz's quick steps
    kept = [
        (d.get("api_name"), d["show_progress_on"]) for d in hidden if d["show_progress_on"] != []
    ]
    assert kept == []


def test_only_slow_file_and_grading_events_keep_a_spinner(built):
    config, _ = built
    shown = {
        d.get("api_name"): d["show_progress_on"] or d["outputs"]
        for d in _backend_events(config)
        if d["show_progress"] != "hidden"
    }
    assert "grade_drill" in shown and "upload_fn" in shown
    for name in shown:  # the demos, the openings and the quiz's steps are all quiet
        assert not name.startswith(("latent_", "next_fn", "on_select", "open_")), name
    assert sum(len(targets) for targets in shown.values()) <= 40


def test_a_tab_opening_reads_only_its_flag_and_link_box(built):
    config, links = built
    kinds = {c["id"]: c["type"] for c in config["components"]}
    tab_of = {c["id"]: c["props"].get("id") for c in config["components"] if c["type"] == "tabitem"}
    filling = {x.spec.tab for x in links.values() if x.on_open and x.spec.params}
    assert {"latent", "generate", "beta"} <= filling
    reads = {}
    for d in _backend_events(config):
        for target, event in d["targets"]:
            if event == "select" and tab_of.get(target) in filling and d["inputs"]:
                reads[tab_of[target]] = [kinds[i] for i in d["inputs"]]
    assert set(reads) == filling  # each such tab's opening, and no other select reads widgets
    for tab, kinds_read in reads.items():
        assert kinds_read in (["textbox"], ["textbox", "textbox"]), tab


def test_first_opening_widgets_hold_the_spec_defaults(built):
    _, links = built
    for link in links.values():
        if not (link.on_open and link.spec.params):
            continue
        for name, widget in link.inputs.items():
            p = link.spec.param(name)
            assert widget.value == p.widget_value(p.default), (link.id, name)


def test_opening_a_demo_in_an_unopened_tab_fills_the_others(built):
    _, links = built
    link = links["latent.grid"]
    others = [
        x for x in link.opening.links if x is not link and x.on_open and x.spec.params and x.outputs
    ]
    assert others  # the Latent space tab has more first-opening demos
    _, cold = link.open_with({"r": 2, "n": 7}, tab_filled=False)
    _, warm = link.open_with({"r": 2, "n": 7}, tab_filled=True)
    assert cold[link.opening.flag] == OPENED
    assert link.opening.flag not in warm
    for other in others:
        assert all(c in cold for c in other.outputs.values()), other.id
        assert not any(c in warm for c in other.outputs.values()), other.id
    assert cold[link.inputs["n"]] == warm[link.inputs["n"]] == link.spec.param("n").widget_value(7)


def test_the_opening_computes_each_demo_with_its_defaults(built):
    _, links = built
    opening = links["latent.grid"].opening
    updates = opening.updates()
    assert updates[opening.flag] == OPENED
    assert set(opening.outputs()) == set(updates)
    grid = links["latent.grid"]
    expected = grid.spec.run()
    for name, comp in grid.outputs.items():
        got, want = updates[comp], expected[name]
        assert type(got) is type(want)
        if hasattr(want, "shape"):
            assert (got == want).all()


def test_filled_tabs_reads_the_flags_back(built):
    _, links = built
    flags = opening_flags(links.values())
    assert len(flags) == len({x.spec.tab for x in links.values()})  # one per demo tab
    values = [OPENED if f is links["latent.grid"].opening.flag else "" for f in flags]
    filled = filled_tabs(flags, values)
    assert filled(links["latent.grid"])
    assert not filled(links["generate.samples"])
    with pytest.raises(ValueError):
        filled_tabs(flags, values[:-1])
