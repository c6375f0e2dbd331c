"""Latent Lab: the Gradio app (a Hugging Face Space entry point). Run: python app.py"""

from kit.cache import fresh_cache

if __name__ == "__main__":
    fresh_cache()  # before Gradio is imported: it reads GRADIO_TEMP_DIR once

import torch

from kit.ui import build_app
from kit.ui.server import serve

torch.set_num_threads(1)  # two-core Spaces: one thread per request keeps the server responsive

demo = build_app()

if __name__ == "__main__":
    serve(demo)
