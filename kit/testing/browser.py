"""The headless browser the tests and benchmarks drive: Debian's Chromium and its flags."""

from __future__ import annotations

import os
import shutil

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
"""The Chromium executable (``CHROMIUM_PATH`` overrides; never Playwright's own download)."""

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
"""Flags for a container without a GPU, a sandbox or a network."""
