"""Latent Lab: the Gradio app (a Hugging Face Space entry point). Run: python app.py

``python app.py --mcp`` (or ``LATENT_LAB_MCP=1``) also serves every public demo as a tool of
Gradio's MCP server (``/gradio_api/mcp/``), for AI assistants; it needs ``gradio[mcp]``.
"""

import importlib.util
import os
import sys

from kit.cache import fresh_cache

if __name__ == "__main__":
    fresh_cache()  # before Gradio is imported: it reads GRADIO_TEMP_DIR once

import torch

from kit.ui import build_app
from kit.ui.server import serve

torch.set_num_threads(1)  # two-core Spaces: one thread per request keeps the server responsive

demo = build_app()


def mcp_requested(argv: list[str], environ) -> bool:
    """Whether to serve the demos as MCP tools: ``--mcp``, or LATENT_LAB_MCP set to 1/true/yes."""
    flag = str(environ.get("LATENT_LAB_MCP", "")).strip().lower()
    return "--mcp" in argv or flag in ("1", "true", "yes", "on")


if __name__ == "__main__":
    mcp = mcp_requested(sys.argv[1:], os.environ)
    if mcp and importlib.util.find_spec("mcp") is None:
        sys.exit("--mcp needs Gradio's MCP extra: pip install 'gradio[mcp]'")
    serve(demo, **({"mcp_server": True} if mcp else {}))
