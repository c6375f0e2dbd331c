"""In Chromium: every answer opens its demo. ``/?q=<id>`` → Run the demo shows the result in the
card; Open in its tab lands on the demo's section, open and in view, and the tab still works;
``/?demo=`` deep links apply and run their values, and a bad one says what is wrong."""

from __future__ import annotations

import re
import time

import pytest

from kit.demos.registry import get_demo
from kit.ui import TABS
from kit.ui.links import anchor_id
from kit.ui.quiz_tab import bundled_bank

pytestmark = pytest.mark.browser

QUESTIONS = bundled_bank().questions
TAB_LABELS = {tab_id: label for tab_id, label, _ in TABS}
ONE_PER_DEMO = list({q.demo: q for q in reversed(QUESTIONS)}.values())


def _toasts(page) -> list[str]:
    return page.locator(".toast-body").all_inner_texts()


def _selected_tab(page, label: str, timeout=30_000):
    tab = page.get_by_role("tab", name=label, exact=True).first
    page.wait_for_function(
        "el => el.getAttribute('aria-selected') === 'true'",
        arg=tab.element_handle(timeout=timeout),
        timeout=timeout,
    )


def _in_viewport(page, element_id: str) -> bool:
    return page.evaluate(
        """id => { const r = document.getElementById(id).getBoundingClientRect();
                   return r.top < innerHeight && r.bottom > 0 && r.height > 0; }""",
        element_id,
    )


def _open_question(page, app_url, q):
    page.goto(f"{app_url}?q={q.id}")
    _selected_tab(page, "Quiz")
    page.locator("#quiz-front h3", has_text=q.title[:20]).first.wait_for(timeout=30_000)


@pytest.mark.parametrize("q", QUESTIONS, ids=lambda q: q.id)
def test_run_the_demo_shows_the_result_in_the_card(page, app_url, q):
    _open_question(page, app_url, q)
    page.click("#run-demo")
    result = page.locator("#demo-result")
    result.get_by_text(q.demo).first.wait_for(timeout=30_000)
    if get_demo(q.demo).trains:
        assert "Train" in result.inner_text()
    else:
        shown = result.locator("img, .js-plotly-plot, canvas, svg, table")
        shown.first.wait_for(timeout=30_000)
        assert shown.count() >= 1
    assert _toasts(page) == []


@pytest.mark.parametrize("q", ONE_PER_DEMO, ids=lambda q: q.demo)
def test_open_in_its_tab_lands_on_the_open_section_and_the_tab_still_works(page, app_url, q):
    spec = get_demo(q.demo)
    _open_question(page, app_url, q)
    page.click("#open-in-tab")
    _selected_tab(page, TAB_LABELS[spec.tab])
    anchor = anchor_id(spec.id)
    page.locator(f"#{anchor}").wait_for(state="visible", timeout=30_000)
    page.wait_for_function(
        """id => { const r = document.getElementById(id).getBoundingClientRect();
                   return r.top < innerHeight && r.bottom > 0; }""",
        arg=anchor,
        timeout=10_000,
    )
    assert _in_viewport(page, anchor)
    go = page.locator(f"#{anchor}-go")
    if not spec.trains and go.count():
        go.first.click()
        page.wait_for_timeout(1500)
    assert _toasts(page) == []


def test_a_deep_link_opens_the_demo_with_its_values(page, app_url):
    page.goto(f"{app_url}?demo=latent.grid&r=2&n=7")
    _selected_tab(page, "Latent space")
    section = page.locator(f"#{anchor_id('latent.grid')}")
    section.locator("img").first.wait_for(timeout=30_000)
    page.wait_for_function(
        "el => el.querySelector('input[type=number]')?.value === '2'",
        arg=section.element_handle(),
        timeout=30_000,
    )
    assert re.search(r"7\s*×\s*7|7 x 7|n = 7", section.inner_text())
    assert _toasts(page) == []


@pytest.mark.parametrize(
    ("query", "named"),
    [("demo=no.such.demo", "no.such.demo"), ("demo=latent.grid&n=3.5", "(n)")],
    ids=["unknown-demo", "bad-value"],
)
def test_a_bad_deep_link_says_what_is_wrong_and_the_app_works(page, app_url, query, named):
    page.goto(f"{app_url}?{query}")
    toast = page.locator(".toast-body").first
    toast.wait_for(timeout=30_000)
    assert named in toast.inner_text()
    _selected_tab(page, "Reconstruction")
    page.locator("#demo-reconstruction-test-digit-go").click()
    page.locator("#demo-reconstruction-test-digit img").first.wait_for(timeout=30_000)


def test_an_unknown_question_link_says_so(page, app_url):
    page.goto(f"{app_url}?q=no-such-question")
    toast = page.locator(".toast-body").first
    toast.wait_for(timeout=30_000)
    assert "no-such-question" in toast.inner_text()


def _settled_image_count(section, quiet_s: float = 1.0, timeout_s: float = 30.0) -> int:
    """The number of visible images in ``section`` once it has not changed for ``quiet_s``."""
    count, since = -1, time.monotonic()
    deadline = since + timeout_s
    while time.monotonic() < deadline:
        now = section.locator("img:visible").count()
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return count
        time.sleep(0.1)
    raise AssertionError(f"the images kept changing for {timeout_s:.0f} s")


@pytest.mark.parametrize(
    ("tab", "demo_id", "field", "bad"),
    [
        ("Latent space", "latent.decode_point", "z₁", "7"),
        ("β comparison", "beta.reconstruct", "Test digit index", "12000"),
        ("Generate a digit", "generate.samples", "Seed", "-5"),
        ("Reconstruction", "reconstruction.test_digit", "Test digit index", "3.5"),
        ("Under the hood", "under_the_hood.reparam_gradients", "Seed", "-1"),
    ],
)
def test_a_refused_input_keeps_the_earlier_outputs(page, tab, demo_id, field, bad):
    page.get_by_role("tab", name=tab, exact=True).first.click()
    anchor = anchor_id(demo_id)
    section = page.locator(f"#{anchor}")
    section.locator("img").first.wait_for(timeout=30_000)
    before = _settled_image_count(section)  # the tab's opening may show its images in turn
    box = section.get_by_label(field, exact=True).locator("visible=true").first
    box.fill(bad)
    page.locator(f"#{anchor}-go").click()
    page.locator(".toast-body").first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    assert section.locator("img:visible").count() == before >= 1  # nothing wiped


SEE_ALSO = [q for q in QUESTIONS if q.see_also]


@pytest.mark.parametrize("q", SEE_ALSO, ids=lambda q: q.id)
def test_see_also_links_under_the_answer_open_their_demos(page, app_url, q):
    _open_question(page, app_url, q)
    page.click("#quiz-reveal")
    for demo_id in q.see_also:
        spec = get_demo(demo_id)
        link = page.locator(f'#quiz-card a[href="?demo={demo_id}"]').first
        link.wait_for(timeout=30_000)
        assert spec.section in link.inner_text()
        assert link.get_attribute("target") == "_blank"  # the card stays where it is
        with page.context.expect_page(timeout=30_000) as opened:
            link.click()
        demo_page = opened.value
        demo_page.wait_for_selector("text=Latent Lab", timeout=30_000)
        _selected_tab(demo_page, TAB_LABELS[spec.tab])
        anchor = anchor_id(spec.id)
        demo_page.locator(f"#{anchor}").wait_for(state="visible", timeout=30_000)
        demo_page.wait_for_function(
            """id => { const r = document.getElementById(id).getBoundingClientRect();
                       return r.top < innerHeight && r.bottom > 0; }""",
            arg=anchor,
            timeout=10_000,
        )
        shown = demo_page.locator(f"#{anchor}").locator("xpath=ancestor::*[.//img][1]//img")
        shown.first.wait_for(timeout=30_000)  # the demo ran: its section shows its images
        assert _toasts(demo_page) == []
        demo_page.close()
    assert _toasts(page) == []
