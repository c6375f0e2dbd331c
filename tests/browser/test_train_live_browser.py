"""Train live in a real browser: the curves stream in, Pause stops them, Step and Continue work.

The page records every time the chart image changes (a MutationObserver), so the test counts
the updates the visitor actually saw, and when they arrived.
"""

import re
import time

import pytest

from kit.testing.train_live_page import STATUS, WATCH_CHART

pytestmark = pytest.mark.browser


def _status(page) -> str:
    return page.locator(STATUS).inner_text()


def _chart_times(page) -> list[float]:
    return page.evaluate("window.chartTimes")


def _wait_status(page, pattern: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = _status(page)
        if re.search(pattern, text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"status never matched {pattern!r}; last: {text!r}")


def _step_number(text: str) -> int:
    return int(re.search(r"step (\d+) /", text).group(1))


def _assert_clean(page):
    assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()
    assert page.dialogs == []


def test_train_streams_then_pause_step_continue(page):
    page.get_by_role("tab", name="Train live").first.click()
    page.locator("#train-live-chart").wait_for()
    page.evaluate(WATCH_CHART)
    page.get_by_role("button", name="Train", exact=True).click()
    first = _step_number(_wait_status(page, r"^Training"))
    # the chart is redrawn several times while the run trains (rates: benchmarks/)
    page.wait_for_function("window.chartTimes.length >= 4", timeout=60_000)
    assert _status(page).startswith("Training")
    assert _step_number(_status(page)) > first

    page.get_by_role("button", name="Pause").click()
    paused = _wait_status(page, r"^Paused", timeout=10)
    at = _step_number(paused)
    assert at > 0
    seen = len(_chart_times(page))
    time.sleep(1.5)
    assert _step_number(_status(page)) == at  # paused: no progress
    assert len(_chart_times(page)) == seen  # and no new frames

    page.get_by_role("button", name="Step").click()
    _wait_status(page, rf"step {at + 1} /", timeout=20)
    time.sleep(0.5)
    assert _step_number(_status(page)) == at + 1  # exactly one batch
    page.get_by_role("button", name="Step").click()
    _wait_status(page, rf"step {at + 2} /", timeout=20)

    page.get_by_role("button", name="Continue").click()
    _wait_status(page, r"^Training", timeout=20)
    time.sleep(1.5)
    assert _step_number(_status(page)) > at + 2
    assert len(_chart_times(page)) > seen + 2
    page.get_by_role("button", name="Pause").click()
    _wait_status(page, r"^Paused", timeout=10)
    _assert_clean(page)


def test_a_second_visitor_is_told_how_long_they_wait(browser, app_url):
    pages = []
    for _ in range(2):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = context.new_page()
        pg.dialogs = []
        pg.goto(app_url)
        pg.wait_for_selector("text=Latent Lab", timeout=30_000)
        pg.get_by_role("tab", name="Train live").first.click()
        pages.append(pg)
    first, second = pages
    first.get_by_role("button", name="Train", exact=True).click()
    _wait_status(first, r"^Training")
    second.get_by_role("button", name="Train", exact=True).click()
    told = _wait_status(second, r"^Waiting", timeout=10)
    assert re.search(r"Another run is in progress; you are next \(about \d+ s\)\.", told), told
    first.get_by_role("button", name="Pause").click()  # pausing frees the CPU: the next one runs
    _wait_status(first, r"^Paused", timeout=20)
    _wait_status(second, r"^Training", timeout=30)
    second.get_by_role("button", name="Pause").click()
    _wait_status(second, r"^Paused", timeout=20)
    for pg in pages:
        _assert_clean(pg)
        pg.context.close()
