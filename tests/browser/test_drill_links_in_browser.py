"""In Chromium: a quiz card whose question names a drill opens it in the Code drills tab (study
and interview mode), ``/?drill=<id>`` does the same and a bad id gets a toast naming it, and a
named mistake's demo opens in its tab on the same page. Screenshots go to
``$LATENT_LAB_SHOTS`` when it is set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kit.drills.catalog import all_drills
from kit.ui.links import anchor_id
from tests.drills_submissions import WRONG

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("LATENT_LAB_SHOTS")


def _shot(page, name: str) -> None:
    if SHOTS:
        page.wait_for_timeout(1000)  # let the page settle (no half-faded pending outputs)
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)


def _selected_tab(page, label: str, timeout=30_000):
    tab = page.get_by_role("tab", name=label, exact=True).first
    page.wait_for_function(
        "el => el.getAttribute('aria-selected') === 'true'",
        arg=tab.element_handle(timeout=timeout),
        timeout=timeout,
    )


def _drill_open(page, drill_id: str) -> None:
    """The Code drills tab shows ``drill_id``: its title in the picker, its starter in the
    editor, its statement above it."""
    title = all_drills()[drill_id].title
    _selected_tab(page, "Code drills")
    page.wait_for_function(
        "t => document.querySelector('#drill-choice input')?.value === t", arg=title,
        timeout=30_000,
    )  # fmt: skip
    page.wait_for_function(
        "n => (document.querySelector('#drill-code .cm-content')?.innerText || '')"
        ".includes('def ' + n + '(')",
        arg=drill_id,
        timeout=30_000,
    )
    page.get_by_text(f"{drill_id}(").first.wait_for(timeout=30_000)  # the statement's heading


def _toasts(page) -> list[str]:
    return page.locator(".toast-body").all_inner_texts()


def test_a_study_card_opens_its_drill(page, app_url):
    page.goto(f"{app_url}?q=reparameterization-trick")
    _selected_tab(page, "Quiz")
    button = page.locator("#try-drill")
    button.wait_for(state="visible", timeout=30_000)
    assert "reparameterize" in button.inner_text()
    _shot(page, "quiz-card-with-drill-button")
    button.click()
    _drill_open(page, "reparameterize")
    _shot(page, "drills-tab-opened-from-the-card")
    assert _toasts(page) == []


def test_the_drill_button_follows_the_card(page, app_url):
    page.goto(f"{app_url}?q=autoencoder-identity")  # a question without a drill
    _selected_tab(page, "Quiz")
    page.locator("#quiz-front h3").first.wait_for(timeout=30_000)
    assert not page.locator("#try-drill").is_visible()


def test_an_interview_question_opens_its_drill(page):
    page.get_by_role("tab", name="Quiz", exact=True).first.click()
    page.get_by_role("tab", name="Interview", exact=True).first.click()
    picker = page.get_by_label("Questions (in this order)")
    picker.click()
    page.get_by_role("option", name="Coding round: the closed-form Gaussian KL").first.click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Start interview").click()
    button = page.locator("#interview-try-drill")
    button.wait_for(state="visible", timeout=30_000)
    assert "gaussian_kl" in button.inner_text()
    button.click()
    _drill_open(page, "gaussian_kl")
    assert _toasts(page) == []


def test_a_drill_link_opens_the_drill(page, app_url):
    page.goto(f"{app_url}?drill=iwae_bound")
    _drill_open(page, "iwae_bound")
    assert _toasts(page) == []


def test_a_bad_drill_link_gets_a_toast_naming_it(page, app_url):
    page.goto(f"{app_url}?drill=iwae_bund")
    toast = page.locator(".toast-body").first
    toast.wait_for(timeout=30_000)
    text = toast.inner_text()
    assert "iwae_bund" in text and "iwae_bound" in text  # named, with the likely one
    _selected_tab(page, "Reconstruction")  # and the page opened as usual


def test_a_mistakes_demo_opens_in_its_tab_on_this_page(page, app_url):
    page.goto(f"{app_url}?drill=reparameterize")
    _drill_open(page, "reparameterize")
    editor = page.locator("#drill-code .cm-content").first
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(WRONG[("reparameterize", "std_is_variance")].strip() + "\n")
    page.locator("#drill-check").click()
    result = page.locator("#drill-result")
    result.get_by_text("Classic mistake").first.wait_for(timeout=240_000)
    link = result.locator("a", has_text="Under the hood")
    assert link.get_attribute("href").endswith("?demo=under_the_hood.reparam_gradients")
    button = page.locator("#drill-demo")
    button.wait_for(state="visible", timeout=30_000)
    assert "under_the_hood.reparam_gradients" in button.inner_text()
    _shot(page, "drill-mistake-with-demo-button")
    url = page.url
    button.click()
    _selected_tab(page, "Under the hood")
    anchor = anchor_id("under_the_hood.reparam_gradients")
    page.locator(f"#{anchor}").wait_for(state="visible", timeout=30_000)
    page.locator(f"#{anchor} img, #{anchor} .js-plotly-plot, #{anchor} canvas").first.wait_for(
        timeout=60_000
    )
    assert page.url == url  # the same page: no reload, the drill is still there
    _shot(page, "mistake-demo-opened")
    assert _toasts(page) == []
