"""End to end in Chromium: answer a card, reload and find the progress kept; Run the demo lands
on the demo's tab with the question's preset in its inputs; a bad question file shows a toast."""

from __future__ import annotations

import re

import pytest

from kit.demos.registry import all_demos
from kit.ui import TABS

pytestmark = pytest.mark.browser

TAB_LABELS = {tab_id: label for tab_id, label, _ in TABS}


def _open_quiz(page):
    page.get_by_role("tab", name="Quiz", exact=True).first.click()
    page.locator("#quiz-front h3").first.wait_for(timeout=30_000)


def _reviewed(page) -> int:
    text = page.locator("#quiz-stats").inner_text()
    return int(re.search(r"(\d+) of \d+ reviewed", text).group(1))


def _assert_clean(page):
    assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()
    assert page.dialogs == []


def test_progress_survives_a_reload(page):
    _open_quiz(page)
    assert _reviewed(page) == 0
    first = page.locator("#quiz-front h3").first.inner_text()
    page.get_by_role("button", name="Reveal answer").click()
    page.locator("#quiz-back").get_by_text("Model answer").wait_for(timeout=30_000)
    page.get_by_role("button", name="Good", exact=True).click()
    page.get_by_text(re.compile(r"1 of \d+ reviewed")).wait_for(timeout=30_000)
    page.wait_for_function(  # the next card replaces the graded one
        "t => document.querySelector('#quiz-front h3')?.innerText !== t", arg=first
    )
    page.reload()
    page.wait_for_selector("text=Latent Lab", timeout=30_000)
    _open_quiz(page)
    page.get_by_text(re.compile(r"1 of \d+ reviewed")).wait_for(timeout=30_000)
    assert page.locator("#quiz-front h3").first.inner_text() != first  # graded card not due
    _assert_clean(page)


def test_run_the_demo_opens_its_tab_with_the_preset(page):
    import app
    from kit.ui.links import demo_links
    from kit.ui.quiz_tab import all_questions

    _open_quiz(page)
    title = page.locator("#quiz-front h3").first.inner_text()
    q = next(q for q in all_questions([]) if q.title == title)
    page.get_by_role("button", name="Reveal answer").click()
    page.get_by_role("button", name="▶ Run the demo").click()
    tab_label = TAB_LABELS[all_demos()[q.demo].tab]
    selected = page.get_by_role("tab", name=tab_label, exact=True).first
    page.wait_for_function(
        "el => el.getAttribute('aria-selected') === 'true'",
        arg=selected.element_handle(),
        timeout=30_000,
    )
    # the preset is in the tab's number boxes and sliders, found by their labels
    import gradio as gr

    link = demo_links(app.demo)[q.demo]
    checked = 0
    for name, value in q.demo_args.items():
        comp = link.inputs.get(name)
        if not isinstance(comp, (gr.Number, gr.Slider)) or isinstance(value, bool):
            continue
        label = comp.label if isinstance(comp, gr.Number) else f"number input for {comp.label}"
        box = page.get_by_label(label, exact=True).locator("visible=true").first
        page.wait_for_function(
            "([el, v]) => Number(el.value) === Number(v)",
            arg=[box.element_handle(timeout=30_000), value],
            timeout=30_000,
        )
        checked += 1
    print(f"{q.id}: {q.demo} on tab {tab_label!r}, {checked} preset value(s) checked")
    _assert_clean(page)


def test_an_invalid_question_file_shows_a_closable_toast(page, tmp_path):
    _open_quiz(page)
    page.get_by_role("tab", name="Question bank").first.click()
    bad = tmp_path / "broken.md"
    bad.write_text("---\nid: [unclosed\n---\n", encoding="utf-8")
    page.locator("#quiz-upload input[type=file]").set_input_files(str(bad))
    page.get_by_text("broken.md").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Check and add").click()
    toast = page.locator(".toast-body").first
    toast.wait_for(timeout=30_000)
    assert "problem" in toast.inner_text()
    page.get_by_text(re.compile(r"broken\.md:\d+: ")).first.wait_for(timeout=10_000)
    page.locator(".toast-body .toast-close, .toast-close").first.click()
    page.wait_for_function("() => document.querySelectorAll('.toast-body').length === 0")
    page.get_by_role("tab", name="Study").first.click()
    assert page.locator("#quiz-front h3").first.inner_text()  # the study card is still there
    assert page.dialogs == []
