"""In Chromium: your own question files stay in the bank across reloads until you remove them,
and a ``/?q=`` card's grade buttons say when the card comes back, as in the study flow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kit.ui.quiz_tab import bundled_bank

pytestmark = pytest.mark.browser

VALID = Path(__file__).resolve().parents[1] / "fixtures" / "quiz" / "valid.md"
LABEL = r"/^Good · \d/"


def _question_file(folder: Path, qid: str, title: str) -> Path:
    text = VALID.read_text(encoding="utf-8")
    text = text.replace("id: fixture-reparam-trick", f"id: {qid}")
    text = text.replace("title: The reparameterization trick", f"title: {title}")
    path = folder / f"{qid}.md"
    path.write_text(text, encoding="utf-8")
    return path


def _open_bank(page):
    page.get_by_role("tab", name="Quiz", exact=True).first.click()
    page.locator("#quiz-front h3").first.wait_for(timeout=30_000)
    page.get_by_role("tab", name="Question bank").first.click()
    page.locator("#quiz-bank-table").wait_for(timeout=30_000)


def _reload(page):
    page.reload()
    page.wait_for_selector("text=Latent Lab", timeout=30_000)
    _open_bank(page)


def _table(page) -> str:
    return page.locator("#quiz-bank-table").inner_text()


def _toasts(page) -> list[str]:
    return page.locator(".toast-body").all_inner_texts()


def test_own_files_survive_a_reload_until_removed(page, app_url, tmp_path):
    keep = _question_file(tmp_path, "browser-kept-question", "A question I keep")
    drop = _question_file(tmp_path, "browser-dropped-question", "A question I remove")
    _open_bank(page)
    page.locator("#quiz-upload input[type=file]").set_input_files([str(keep), str(drop)])
    page.locator("#quiz-upload").get_by_text(drop.stem).first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Check and add").click()
    page.locator("#quiz-upload-report", has_text="Loaded 2 question(s)").wait_for(timeout=30_000)
    assert "kept in this browser" in page.locator("#quiz-upload-report").inner_text()
    assert "browser-dropped-question" in _table(page)

    _reload(page)  # both come back, read from this browser at page load
    note = page.locator("#quiz-my-files-note", has_text="2 (2 kept in this browser)")
    note.wait_for(timeout=30_000)
    assert "browser-kept-question" in _table(page)
    assert "browser-dropped-question" in _table(page)

    page.locator("#quiz-my-files input").click()
    page.get_by_role("option", name=re.compile("A question I remove")).click()
    page.keyboard.press("Escape")
    page.locator("#quiz-remove").click()
    page.locator("#quiz-upload-report", has_text="Removed 1 question(s)").wait_for(timeout=30_000)
    assert "browser-dropped-question" not in _table(page)
    assert "browser-kept-question" in _table(page)

    _reload(page)  # the kept one is back (the page has loaded), the removed one is not
    page.locator("#quiz-my-files-note", has_text="1 (1 kept in this browser)").wait_for(
        timeout=30_000
    )
    table = _table(page)
    assert "browser-kept-question" in table and "browser-dropped-question" not in table
    bundled = bundled_bank().questions
    assert bundled[0].id in table and bundled[-1].id in table  # the bundled bank is intact

    page.goto(f"{app_url}?q=browser-kept-question")  # a link to your own question works too
    page.locator("#quiz-front h3", has_text="A question I keep").wait_for(timeout=30_000)
    page.wait_for_function(
        f"() => {LABEL}.test(document.querySelector('#quiz-grade-good').innerText)"
    )
    assert _toasts(page) == [] and page.dialogs == []


def test_a_q_link_card_has_interval_labels(page, app_url):
    q = bundled_bank().questions[3]
    page.goto(f"{app_url}?q={q.id}")
    page.locator("#quiz-front h3", has_text=q.title[:20]).first.wait_for(timeout=30_000)
    page.wait_for_function(
        f"() => {LABEL}.test(document.querySelector('#quiz-grade-good').innerText)",
        timeout=30_000,
    )
    labels = [page.locator(f"#quiz-grade-{r}").inner_text() for r in ("again", "hard", "easy")]
    assert all(re.match(r"^\w+ · \d", label) for label in labels), labels
    assert _toasts(page) == []
