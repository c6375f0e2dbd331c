"""Page load: how long after the HTML arrives the first tab is fully shown, in a real browser.

    python benchmarks/page_load.py [--visits 20]

Starts ``python app.py`` on a free loopback port and opens the page ``--visits`` times, each
in a fresh browser context (no cache, a new session), one after another, in headless Debian
Chromium. For each visit:

- "HTML" is the navigation's ``responseEnd`` (the page's HTML has arrived), on the page's own
  ``performance.now()`` clock;
- "shown" is when the Reconstruction tab (the one a visitor lands on) has its four output
  images decoded and its caption (``test digit labelled ...``) on screen, and nothing visible
  has changed for ``QUIET_MS`` since (that wait is not counted): a ``MutationObserver`` and the
  images' ``load`` events stamp each change, as in ``benchmarks/browser_latency.py``.

Prints each visit and p50/p95 of shown - HTML, and PASS/FAIL against the target (p95 <= 1.5
s, issue 10). The first visit is reported but not counted (the server's first page build).
The machine's other work shows in these times: note the load average beside them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from kit.testing.browser import CHROMIUM, FLAGS
from kit.testing.server import start_app

TARGET_S = 1.5
QUIET_MS = 400
TIMEOUT_MS = 60_000

# stamps the last visible change (nodes, text, src, an image decoded) on performance.now()
RECORDER = """
(() => {
  const rec = window.__load = {last: 0};
  const note = (target) => {
    const el = target && (target.nodeType === 1 ? target : target.parentElement);
    if (!el || !el.checkVisibility || !el.checkVisibility() || el.closest('.progress-text, .hide')) return;
    rec.last = performance.now();
  };
  const start = () => new MutationObserver((muts) => { for (const m of muts) note(m.target); })
    .observe(document.documentElement, {subtree: true, childList: true, characterData: true,
                                        attributes: true, attributeFilter: ['src']});
  document.addEventListener('load', (e) => { if (e.target.tagName === 'IMG') note(e.target); },
                            true);
  if (document.documentElement) start(); else addEventListener('DOMContentLoaded', start);
})();
"""

FIRST_TAB_SHOWN = """
() => {
  const imgs = [...document.querySelectorAll("img[src*='gradio_api/file=']")]
    .filter((i) => i.offsetParent && i.complete && i.naturalWidth > 0);
  const caption = !!document.body && document.body.innerText.includes('test digit labelled');
  return imgs.length >= 4 && caption;
}
"""


def visit(browser, url: str) -> float:
    """Seconds from the HTML's arrival to the first tab fully shown, for one fresh visit."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.add_init_script(RECORDER)
        page.goto(url, wait_until="commit")
        page.wait_for_function(FIRST_TAB_SHOWN, timeout=TIMEOUT_MS, polling=50)
        while True:  # settle: nothing visible changes for QUIET_MS
            quiet = page.evaluate("performance.now() - window.__load.last")
            if quiet >= QUIET_MS:
                break
            time.sleep((QUIET_MS - quiet) / 1000 + 0.02)
        html = page.evaluate("performance.getEntriesByType('navigation')[0].responseEnd")
        return (page.evaluate("window.__load.last") - html) / 1000
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=20)
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    server = start_app()
    print(f"started python app.py at {server.url}; load average {os.getloadavg()[0]:.1f}")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            times = []
            for i in range(args.visits + 1):
                seconds = visit(browser, server.url + "/")
                print(f"visit {i}: first tab shown {seconds:.3f} s after the HTML"
                      + (" (not counted: first page build)" if i == 0 else ""))  # fmt: skip
                if i:
                    times.append(seconds)
            browser.close()
    finally:
        server.stop()
    times.sort()
    p50 = statistics.median(times)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    passed = p95 <= TARGET_S
    print(f"{'PASS' if passed else 'FAIL'}  first tab shown after the HTML: p50 {p50:.3f} s, "
          f"p95 {p95:.3f} s over {len(times)} visits (target p95 <= {TARGET_S} s); "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
