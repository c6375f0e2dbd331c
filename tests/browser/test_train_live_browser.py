"""Train live in a real browser: the curves stream in, Pause stops them, Step and Continue work.

The page records every time the chart image changes (a MutationObserver), so the test counts
the updates the visitor actually saw, and when they arrived.
"""

import re
import time
from itertools import pairwise

import pytest

pytestmark = pytest.mark.browser

STATUS = "#train-live-status [data-testid=markdown]"  # the text, not the queue tracker
WATCH_CHART = """
() => {
  window.chartTimes = [];
  const root = document.querySelector('#train-live-chart');
  let last = null;
  const note = () => {
    const img = root.querySelector('img');
    const src = img ? img.getAttribute('src') : null;
    if (src && src !== last) { last = src; window.chartTimes.push(performance.now()); }
  };
  new MutationObserver(note).observe(root, {subtree: true, childList: true, attributes: true});
}
"""


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
    _wait_status(page, r"^Training")
    time.sleep(4.0)
    times = _chart_times(page)
    assert len(times) >= 6, f"only {len(times)} chart updates in the first seconds"
    gaps = [b - a for a, b in pairwise(times)]
    assert max(gaps[1:]) < 2000, gaps  # a steady stream, not one late frame

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
