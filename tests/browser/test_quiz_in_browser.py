"""End to end in Chromium: answer a card, reload and find the progress kept; a bad question file
shows a toast. (Run the demo and Open in its tab: test_answer_to_demo.py.)"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


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
    page.click("#quiz-grade-good")
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


def test_keyboard_grading_and_undo(page):
    _open_quiz(page)
    good = page.locator("#quiz-grade-good")
    page.wait_for_function(  # the labels say when the card comes back
        "() => /Good · \\d/.test(document.querySelector('#quiz-grade-good').innerText)"
    )
    assert "Keys:" in page.locator("#quiz-keys").inner_text()
    first = page.locator("#quiz-front h3").first.inner_text()
    page.locator("#quiz-keys").click()  # focus on the page, not in a text box
    page.keyboard.press(" ")  # Space reveals
    page.locator("#quiz-back").get_by_text("Model answer").wait_for(timeout=30_000)
    page.keyboard.press("3")  # 3 grades Good and the next card follows
    page.get_by_text(re.compile(r"1 of \d+ reviewed")).wait_for(timeout=30_000)
    page.wait_for_function(
        "t => document.querySelector('#quiz-front h3')?.innerText !== t", arg=first
    )
    second = page.locator("#quiz-front h3").first.inner_text()
    page.keyboard.press("n")  # N: the next card
    page.wait_for_function(
        "t => document.querySelector('#quiz-front h3')?.innerText !== t", arg=second
    )
    # typing in the answer box does not grade
    page.locator("#quiz-card textarea").first.press_sequentially("1 2 3")
    page.wait_for_timeout(1000)
    assert _reviewed(page) == 1
    page.click("#quiz-undo")
    page.get_by_text(re.compile(r"0 of \d+ reviewed")).wait_for(timeout=30_000)
    page.locator("#quiz-front h3", has_text=first).wait_for(timeout=30_000)
    assert good.is_visible()
    _assert_clean(page)
