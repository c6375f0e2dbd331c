"""End to end in Chromium: write a drill with a classic bug, see it named, fix it, see it pass,
run it in the model, and find the code kept after a reload."""

from __future__ import annotations

import pytest

from tests.drills_submissions import CORRECT, WRONG

pytestmark = pytest.mark.browser

TITLE = "reparameterize: the reparameterisation trick"


def _open_drill(page, title: str) -> None:
    page.get_by_role("tab", name="Code drills", exact=True).first.click()
    page.locator("#drill-choice input").first.click()
    page.get_by_role("option", name=title).first.click()
    page.get_by_text("Gradients must flow").first.wait_for(timeout=30_000)


def _editor_text(page) -> str:
    return page.locator("#drill-code .cm-content").first.inner_text()


def _write(page, code: str) -> None:
    editor = page.locator("#drill-code .cm-content").first
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(code.strip() + "\n")  # no key events: no auto-indent


def _result(page, words: str) -> str:
    box = page.locator("#drill-result")
    box.get_by_text(words).first.wait_for(timeout=240_000)
    return box.inner_text()


def test_named_mistake_then_pass_then_the_model_then_a_reload(page):
    _open_drill(page, TITLE)
    assert "return ..." in _editor_text(page)  # the starter

    _write(page, WRONG[("reparameterize", "std_is_variance")])
    page.locator("#drill-check").click()
    text = _result(page, "Classic mistake")
    assert "std_is_variance" in text and "exp(logvar) is the variance" in text

    _write(page, CORRECT["reparameterize"])
    page.locator("#drill-check").click()
    text = _result(page, "Passed")
    assert "All 3 tests passed" in text

    page.locator("#drill-run").click()
    summary = page.locator("#drill-drive-summary")
    summary.get_by_text("your").first.wait_for(timeout=240_000)
    assert "decoded by the shipped VAE-2" in summary.inner_text()
    page.locator("#drill-drive-image img").first.wait_for(timeout=60_000)

    page.reload()
    page.wait_for_selector("text=Latent Lab", timeout=30_000)
    _open_drill(page, TITLE)
    assert "std = torch.exp(0.5 * logvar)" in _editor_text(page)  # kept in this browser
    assert page.dialogs == []
