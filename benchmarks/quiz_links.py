"""Answer to demo, timed in a real browser: "Run the demo" (inline) and "Open in its tab".

For every question of the bundled bank: open ``/?q=<id>``, press Run the demo, and time until
the demo's result shows in the card (an image, a plot or a table). For one question per demo:
press Open in its tab and time until the demo's section is on screen with its outputs. Prints
p50/p95 of each against the targets (inline p95 <= 1 s, open-in-tab p95 <= 1.5 s).

    python benchmarks/quiz_links.py [--limit N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from kit.demos.registry import get_demo
from kit.testing.browser import CHROMIUM, FLAGS
from kit.testing.server import running_app
from kit.ui.links import anchor_id
from kit.ui.quiz_tab import bundled_bank

TARGETS = {"inline": 1.0, "open in its tab": 1.5}


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _open(page, url: str, qid: str, title: str) -> None:
    page.goto(f"{url}/?q={qid}")
    page.locator("#quiz-front h3", has_text=title[:20]).first.wait_for(timeout=60_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions")
    args = parser.parse_args()
    questions = bundled_bank().questions[: args.limit or None]
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {"inline": [], "open in its tab": []}
    with running_app() as app, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app.url + "/")
        page.wait_for_selector("text=Latent Lab", timeout=60_000)
        for q in questions:
            _open(page, app.url, q.id, q.title)
            start = time.perf_counter()
            page.click("#run-demo")
            result = page.locator("#demo-result")
            if get_demo(q.demo).trains:
                result.get_by_text("Train").first.wait_for(timeout=60_000)
            else:
                result.locator("img, canvas, svg, table").first.wait_for(timeout=60_000)
            times["inline"].append(time.perf_counter() - start)
        for q in {q.demo: q for q in questions}.values():
            _open(page, app.url, q.id, q.title)
            anchor = anchor_id(q.demo)
            start = time.perf_counter()
            page.click("#open-in-tab")
            page.wait_for_function(
                """id => { const el = document.getElementById(id);
                           if (!el || el.offsetParent === null) return false;
                           const r = el.getBoundingClientRect();
                           return r.top < innerHeight && r.bottom > 0; }""",
                arg=anchor,
                timeout=60_000,
            )
            times["open in its tab"].append(time.perf_counter() - start)
        browser.close()

    print(f"{'action':<18} {'n':>4} {'p50 s':>7} {'p95 s':>7} {'target p95':>11}  ok")
    for name, values in times.items():
        p50, p95 = statistics.median(values), _p(values, 0.95)
        ok = "yes" if p95 <= TARGETS[name] else "NO"
        print(f"{name:<18} {len(values):>4} {p50:>7.2f} {p95:>7.2f} {TARGETS[name]:>10.1f}s  {ok}")


if __name__ == "__main__":
    main()
