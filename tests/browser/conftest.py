"""Headless-Chromium fixtures: one app server per test session, one fresh page per test.

Browser tests run wherever Debian's chromium is installed and are skipped, with the reason,
elsewhere; under CI (CI=true) a missing browser is a failure, not a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kit.testing.browser import CHROMIUM, FLAGS

ROOT = Path(__file__).resolve().parents[2]


def _browser_missing_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _browser_missing_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def app_url(live_app):
    """The session's app server (``live_app`` in tests/conftest.py), as the page URL."""
    return live_app.url + "/"


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.goto(app_url)
    pg.wait_for_selector("text=Latent Lab", timeout=30_000)
    pg.dialogs = dialogs
    yield pg
    context.close()
