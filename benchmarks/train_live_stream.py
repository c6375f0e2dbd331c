"""Train live as a visitor sees it: how often the chart updates during a default run, in Chromium.

    python benchmarks/train_live_stream.py [--screenshot out.png] [--second-visitor]

Starts its own ``python app.py`` on a free loopback port, opens the Train live tab in headless
Chromium, presses Train with the default settings and records (with a MutationObserver on the
page) every time the chart image changes, until the status says Done. Prints the number of
updates, the run's length on the page, the update rate and the longest gap between updates.
Targets (PASS/FAIL): >= 2 updates/s, for >= 10 s. With ``--second-visitor`` a second page
presses Train while the first run streams and the script prints what it was told.
"""

from __future__ import annotations

import argparse
import time
from itertools import pairwise
from pathlib import Path

from kit.testing.browser import CHROMIUM, FLAGS
from kit.testing.server import running_app
from kit.testing.train_live_page import STATUS, WATCH_CHART


def _open_tab(browser, url: str):
    page = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
    page.goto(url)
    page.wait_for_selector("text=Latent Lab", timeout=60_000)
    page.get_by_role("tab", name="Train live").first.click()
    page.locator("#train-live-chart").wait_for()
    return page


def _wait_text(page, start: str, timeout: float = 60_000) -> None:
    page.wait_for_function(
        f"document.querySelector({STATUS!r}).innerText.startsWith({start!r})", timeout=timeout
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshot", type=Path, help="save the page at the end of the run")
    parser.add_argument("--second-visitor", action="store_true")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with running_app() as app, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = _open_tab(browser, app.url + "/")
        other = _open_tab(browser, app.url + "/") if args.second_visitor else None
        page.evaluate(WATCH_CHART)
        status = page.locator(STATUS)
        page.get_by_role("button", name="Train", exact=True).click()
        told = ""
        if other is not None:
            _wait_text(page, "Training")
            time.sleep(2.0)
            other.get_by_role("button", name="Train", exact=True).click()
            _wait_text(other, "Waiting", 10_000)
            told = other.locator(STATUS).inner_text()
        deadline = time.monotonic() + 180
        while not status.inner_text().startswith("Done") and time.monotonic() < deadline:
            time.sleep(0.2)
        done = status.inner_text()
        times = page.evaluate("window.chartTimes")
        if args.screenshot:
            page.screenshot(path=str(args.screenshot), full_page=True)
        if other is not None:
            _wait_text(other, "Training", 120_000)
            waited_until = time.monotonic()
        browser.close()
    span = (times[-1] - times[0]) / 1000 if len(times) > 1 else 0.0
    rate = (len(times) - 1) / span if span else 0.0
    gaps = sorted(b - a for a, b in pairwise(times))
    print(f"chart updates seen: {len(times)} over {span:.1f} s = {rate:.2f} updates/s")
    if gaps:
        print(f"gap between updates: median {gaps[len(gaps) // 2]:.0f} ms, max {gaps[-1]:.0f} ms")
    print(f"final status: {done.splitlines()[0][:160]}")
    if other is not None:
        print(f"second visitor was told: {told!r}; its run started at {waited_until:.1f}")
    ok = rate >= 2.0 and span >= 10.0
    print(f"target >= 2 updates/s for >= 10 s: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
