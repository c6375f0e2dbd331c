"""How the app is served: queue and launch settings for a public two-core Space.

Every value here is a decision with a reason (SECURITY.md explains them for readers):

- one concurrency group, ``"models"``, shared by every model endpoint, two at a time: the
  Space has two cores and each request runs torch on one thread, so a third would only slow the
  other two down; the rest wait in the queue;
- Train live has its own group of one: a training run is seconds of CPU, never two at once;
- the queue holds at most ``QUEUE_MAX_SIZE`` waiting requests; beyond that a visitor is told
  the queue is full (a refusal, not a server error) instead of waiting minutes;
- uploads are capped at ``MAX_FILE_SIZE`` (the image loader also checks pixels, see
  ``kit.preprocess.load_image_file``); ``allowed_paths`` is empty, so the file route serves
  only what the app itself produced; ``show_error`` is off, so an unexpected exception shows a
  generic message, never a stack trace, while ``gr.Error`` messages still reach the user.
"""

from __future__ import annotations

import gc

import gradio as gr

MODEL_CONCURRENCY_ID = "models"
MODEL_CONCURRENCY_LIMIT = 2  # two cores, one torch thread per request
TRAIN_CONCURRENCY_ID = "train_live"  # set by the Train live tab, limit 1
QUEUE_MAX_SIZE = 64  # waiting requests before new ones are refused with "queue full"
MAX_FILE_SIZE = "5mb"  # uploads above this are refused by the server before any handler runs


def share_model_concurrency(demo: gr.Blocks) -> None:
    """Put every queued event except Train live into the ``"models"`` group of two."""
    for fn in demo.fns.values():
        if fn.queue and fn.concurrency_id != TRAIN_CONCURRENCY_ID:
            fn.concurrency_id = MODEL_CONCURRENCY_ID
            fn.concurrency_limit = MODEL_CONCURRENCY_LIMIT


def queue_settings() -> dict:
    return {"max_size": QUEUE_MAX_SIZE, "default_concurrency_limit": MODEL_CONCURRENCY_LIMIT}


def launch_settings() -> dict:
    return {
        "max_file_size": MAX_FILE_SIZE,
        "allowed_paths": [],
        "show_error": False,
        "mcp_server": False,
    }


def serve(demo: gr.Blocks, **launch_overrides) -> None:
    """Queue and launch ``demo`` with the settings above (``python app.py``)."""
    gc.collect()
    gc.freeze()  # startup objects (torch, gradio, models) leave the GC's scans: shorter pauses
    demo.queue(**queue_settings()).launch(**{**launch_settings(), **launch_overrides})
