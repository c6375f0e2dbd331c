"""The app's Gradio cache folder, emptied at every start (imported before Gradio itself).

Gradio writes every output image and upload into ``GRADIO_TEMP_DIR`` and deletes what it made
on a clean shutdown, not after a SIGTERM, so a restarted Space found the old files (186 MB).
``fresh_cache`` runs at the top of ``app.py``, before ``import gradio`` reads the variable.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

CACHE_ENTRY = re.compile(r"^[0-9a-f]{16,}$")
"""Gradio's cache entries: one folder per file, named by a hex hash."""


def fresh_cache(port: str | None = None) -> Path:
    """The app's own Gradio cache folder, emptied of Gradio's entries; returns it.

    When ``GRADIO_TEMP_DIR`` is unset it is set to a folder of this app and port (not the
    machine-wide ``/tmp/gradio`` other apps share); only Gradio's hash-named entries inside it
    are removed, so a mistyped variable cannot empty an unrelated folder.
    """
    folder = os.environ.get("GRADIO_TEMP_DIR")
    if not folder:
        port = port or os.environ.get("GRADIO_SERVER_PORT", "7860")
        folder = str(Path(tempfile.gettempdir()) / f"latent-lab-cache-{port}")
        os.environ["GRADIO_TEMP_DIR"] = folder
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for entry in path.iterdir():
        if entry.is_dir() and CACHE_ENTRY.match(entry.name):
            shutil.rmtree(entry, ignore_errors=True)
    return path
