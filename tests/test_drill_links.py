"""Links into and out of the Code drills tab, without a browser: the questions that name a drill
(front matter ``drill:``), the card's "Try it as a code drill" button in study and interview
mode, ``/?drill=<id>`` links, and a named mistake's link and button to its demo.
(In Chromium: tests/browser/test_drill_links_in_browser.py.)"""

from __future__ import annotations

import gradio as gr
import pytest

from kit.demos.errors import DemoInputError
from kit.drills.catalog import all_drills
from kit.drills.grader import expected_results, grade_results, variant_results
from kit.quiz.progress import new_progress
from kit.ui import DRILLS_TAB, TABS, build_app_and_links, drills_tab, navigate
from kit.ui import quiz_demo as qd
from kit.ui import quiz_interview as ivt
from kit.ui import quiz_study as st
from kit.ui import quiz_tab as qt
from kit.ui.links import GOTO_JS

QUESTIONS = qt.bundled_bank().questions
BY_ID = {q.id: q for q in QUESTIONS}


@pytest.fixture(scope="module")
def links():
    return build_app_and_links()[1]


# ---- the questions that name a drill --------------------------------------------------------

EXPECTED = {
    "reparameterization-trick": "reparameterize",
    "code-reparameterization": "reparameterize",
    "gaussian-kl-closed-form": "gaussian_kl",
    "code-gaussian-kl": "gaussian_kl",
    "bce-and-sigmoid-output": "bernoulli_nll",
    "elbo-why": "negative_elbo",
    "code-find-the-loss-bug": "negative_elbo",
    "iwae-importance-weighting": "iwae_bound",
    "code-iwae-logsumexp": "iwae_bound",
    "kl-annealing": "kl_warmup",
    "free-bits": "free_bits_kl",
    "interpolation-ae-vs-vae": "lerp",
    "sampling-temperature": "sample_with_temperature",
    "active-units": "active_units",
    "nats-and-bits-per-dim": "nats_to_bits_per_dim",
    "code-vae-loss-training-step": "training_step",
}


def test_the_matching_questions_name_their_drill():
    for question_id, drill_id in EXPECTED.items():
        assert BY_ID[question_id].drill == drill_id, question_id
    linked = {q.drill for q in QUESTIONS if q.drill}
    assert linked <= set(all_drills())
    assert len(linked) >= 12  # all but slerp have a question that leads to them
    assert BY_ID["autoencoder-identity"].drill is None  # and the others name none


# ---- the card's button --------------------------------------------------------------------


def test_drill_button_shows_only_for_a_known_drill():
    shown = qd.drill_button("gaussian_kl")
    assert shown.visible is True and "gaussian_kl" in shown.value
    assert qd.drill_button(None).visible is False
    assert qd.drill_button("no_such_drill").visible is False


def test_drill_of_a_question_or_a_clear_error():
    assert qd.drill_of(BY_ID["free-bits"]) == "free_bits_kl"
    with pytest.raises(gr.Error, match="has no code drill"):
        qd.drill_of(BY_ID["autoencoder-identity"])


def test_study_cards_carry_their_drill():
    opened = st.open_question("reparameterization-trick", new_progress())
    assert opened["drill_button"].visible is True
    assert "reparameterize" in opened["drill_button"].value
    plain = st.open_question("autoencoder-identity", new_progress())
    assert plain["drill_button"].visible is False
    for topic in ("coding", "autoencoders"):
        card = st.show_next_card(new_progress(), [topic], [], [], None, [])
        assert card["drill"] == BY_ID[card["current"]].drill


def test_interview_view_carries_the_current_questions_drill():
    out = ivt.start_interview(["code-iwae-logsumexp", "autoencoder-identity"], [], [])
    assert out["drill"] == "iwae_bound"
    nxt = ivt.interview_next(out["session"], [], "", [])
    assert nxt["drill"] is None
    done = ivt.interview_finish(nxt["session"], [], "", [])
    assert done["drill"] is None


def test_the_buttons_open_the_drills_tab_and_set_its_picker():
    demo, _ = build_app_and_links()
    drills_tab_block = next(
        b for b in demo.blocks.values() if isinstance(b, gr.Tab) and b.id == DRILLS_TAB
    )
    assert drills_tab_block.render_children is True  # its picker is there before it is opened
    pickers = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "drill-choice"]
    (picker,) = pickers
    for button_id in ("try-drill", "interview-try-drill"):
        (button,) = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == button_id]
        (event,) = [
            fn
            for fn in demo.fns.values()
            if any(t[0] == button._id for t in fn.targets) and fn.fn is not None
        ]
        assert picker in event.outputs  # it sets the picker (whose change loads the drill)
        # and the page then opens the tab named in the hidden goto box (never gr.Tabs as an
        # output: see kit.ui.links.GOTO_JS)
        assert not any(isinstance(o, gr.Tabs) for o in event.outputs)
        (then,) = [f for f in demo.fns.values() if f.trigger_after == event._id]
        assert then.js == GOTO_JS and then.trigger_only_on_success
        goto = then.inputs[0]
        assert isinstance(goto, gr.Textbox) and goto in event.outputs and not goto.visible


# ---- ?drill= links --------------------------------------------------------------------------


def test_a_drill_link_names_a_known_drill():
    assert navigate.drill_link({"drill": "slerp"}) == "slerp"
    with pytest.raises(DemoInputError, match=r"no drill 'slrep'.*did you mean 'slerp'"):
        navigate.drill_link({"drill": "slrep"})
    with pytest.raises(DemoInputError, match=r"no drill 'x{57}\.\.\.'"):
        navigate.drill_link({"drill": "x" * 5000})


# ---- a mistake's demo ---------------------------------------------------------------------


def _graded_mistake(drill_id: str, mistake_id: str) -> dict:
    drill = all_drills()[drill_id]
    return grade_results(drill, variant_results(drill_id, mistake_id), 0.1)


def test_a_mistakes_message_links_its_demo_and_shows_a_button():
    result = _graded_mistake("reparameterize", "std_is_variance")
    assert result["demo"]["id"] == "under_the_hood.reparam_gradients"
    text = drills_tab.result_markdown(result)
    tab = dict((i, label) for i, label, _ in TABS)["under_the_hood"]
    assert f"[the *{tab}* tab, demo `under_the_hood.reparam_gradients`]" in text
    assert "(?demo=under_the_hood.reparam_gradients)" in text  # a real link, this page's URL
    failed = [line for line in text.splitlines() if line.startswith("- ")]
    assert failed and all("**fail**" in line for line in failed)  # in words, not only an emoji
    button = drills_tab.demo_button(result)
    assert button.visible is True and "under_the_hood.reparam_gradients" in button.value


def test_no_demo_no_button():
    passed = grade_results(all_drills()["lerp"], expected_results("lerp"), 0.1)
    assert passed["passed"] and drills_tab.demo_button(passed).visible is False
    note_only = _graded_mistake("gaussian_kl", "kl_sign_flipped")  # a note, no demo id
    assert note_only["demo"] and not note_only["demo"]["id"]
    assert drills_tab.demo_button(note_only).visible is False
    forged = {"demo": {"id": "../../etc/passwd"}}  # the result comes back from the page
    assert drills_tab.mistake_demo(forged) is None
    assert drills_tab.demo_button(forged).visible is False


def test_open_the_demo_fills_and_runs_it_in_its_tab(links):
    result = _graded_mistake("slerp", "is_lerp")
    tab, link, updates = drills_tab.open_mistake_demo(result, links)
    assert tab == "latent" and link.id == "latent.interpolate"
    assert any(updates.get(c) is not None for c in link.outputs.values())  # it ran
    with pytest.raises(gr.Error, match="names no demo"):
        drills_tab.open_mistake_demo({"demo": None}, links)
