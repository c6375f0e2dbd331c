"""How the app is served: queue and launch settings for a public two-core Space.

Every value here is a decision with a reason (SECURITY.md explains them for readers):

- one concurrency group, ``"models"``, shared by every model endpoint, two at a time: the
  Space has two cores and each request runs torch on one thread, so a third would only slow the
  other two down; the rest wait in the queue;
- Train live has its own group of one: a training run is seconds of CPU, never two at once;
- the queue holds at most ``QUEUE_MAX_SIZE`` waiting requests; beyond that a visitor is told
  the queue is full (a refusal, not a server error) instead of waiting minutes;
- ``api_open=False``: the direct REST routes (``/gradio_api/run/<name>``) refuse queued events,
  so no caller can skip the queue and its concurrency limit (Gradio opens them by default
  everywhere except on a Space);
- uploads are capped at ``MAX_FILE_SIZE`` (the image loader also checks pixels, see
  ``kit.preprocess.load_image_file``); ``allowed_paths`` is empty, so the file route serves
  only what the app itself produced; ``show_error`` is off, so an unexpected exception shows a
  generic message, never a stack trace, while ``gr.Error`` messages still reach the user;
- at most ``STATE_SESSION_CAPACITY`` sessions are remembered: Gradio keeps a copy of every
  block's config per session and every API call is a session of its own, so its default of
  10,000 lets the server's memory grow by gigabytes under API traffic;
- number, slider and choice inputs are checked before Gradio's own preprocessing
  (``check_inputs``): a missing or non-numeric value sent through the API gets a message naming
  the input and its range instead of a generic "Error";
- the cache of output images and uploads is swept every half hour (``DELETE_CACHE``);
- an unknown API name is a 404, not a 500; traffic monitoring (``/monitoring``) is off.
"""

from __future__ import annotations

import gc
import math

import gradio as gr
from fastapi.responses import JSONResponse

from kit.ui import quiz_tab

MODEL_CONCURRENCY_ID = "models"
MODEL_CONCURRENCY_LIMIT = 2  # two cores, one torch thread per request
TRAIN_CONCURRENCY_ID = "train_live"  # set by the Train live tab, limit 1
DRILL_CONCURRENCY_ID = "drills"  # set by the Code drills tab; its grader runs one at a time
# Waiting requests before new ones are refused with "queue full" (HTTP 503 on the API). The wait
# it allows is QUEUE_MAX_SIZE / throughput; measured on two shared cores (benchmarks/load_test.py):
# ~5 requests/s over every model endpoint (the plots' rendering dominates), ~25/s over the
# image-only ones, so 64 waiting means at most ~13 s, or ~3 s. Not lower: one page visit queues
# its 14 load events at once, so 64 admits ~4 visitors arriving together. 100 API clients get
# refusals and no server error; 50 (fewer than 64 waiting) never do.
QUEUE_MAX_SIZE = 64
MAX_FILE_SIZE = "5mb"  # uploads above this are refused by the server before any handler runs
# Sessions remembered (LRU). Gradio copies every block's config into each session (~0.55 MB of
# objects for this app's ~325 blocks) and every API call is a session of its own: measured, each
# call grew the server by ~0.85 MB until the cap, and not at all after it. Gradio's default of
# 10,000 would let API traffic take ~8.5 GB; 1,000 bound it to ~0.9 GB on the 16 GB Space while
# keeping far more sessions than visitors active at once (an idle visitor evicted after 1,000
# newer sessions keeps a working page but loses its Train-live run list and quiz session).
STATE_SESSION_CAPACITY = 1000
# Gradio writes every output image and upload into its cache folder (GRADIO_TEMP_DIR), named by
# content hash: a repeated request reuses its file, but random picks and uploads add new ones.
# Every 30 minutes, files older than an hour are deleted (and the whole cache at restart), so
# the folder holds at most about an hour of traffic. Passed to gr.Blocks by kit.ui.build_app.
DELETE_CACHE = (1800, 3600)  # (every N seconds, delete files older than M seconds)


def share_model_concurrency(demo: gr.Blocks) -> None:
    """Put every queued event except Train live and the drills into the ``"models"`` group."""
    for fn in demo.fns.values():
        if fn.queue and fn.concurrency_id not in (TRAIN_CONCURRENCY_ID, DRILL_CONCURRENCY_ID):
            fn.concurrency_id = MODEL_CONCURRENCY_ID
            fn.concurrency_limit = MODEL_CONCURRENCY_LIMIT


def _input_name(component) -> str:
    label = getattr(component, "label", None)
    return str(label) if label else type(component).__name__.lower()


def _checked_preprocess(component):
    """``component.preprocess`` with the API's bad values turned into a clear ``gr.Error``."""
    original = component.preprocess
    name = _input_name(component)
    numeric = isinstance(component, (gr.Slider, gr.Number))
    lo, hi = getattr(component, "minimum", None), getattr(component, "maximum", None)
    if lo is not None and hi is not None:
        expected = f"a number from {lo:g} to {hi:g}"
    elif lo is not None:
        expected = f"a number of at least {lo:g}"
    else:
        expected = "a number"

    def fail(message: str):
        raise gr.Error(message, title="Check the input", print_exception=False)

    def preprocess(payload):
        if numeric:
            if payload is None and isinstance(component, gr.Slider):  # a Number passes None on
                fail(f"{name}: expected {expected}, but no value was given.")
            if isinstance(payload, str):
                try:
                    payload = float(payload)
                except ValueError:
                    fail(f"{name}: expected {expected}, got {payload[:40]!r}.")
            if payload is not None and (
                isinstance(payload, bool) or not isinstance(payload, (int, float))
            ):
                fail(f"{name}: expected {expected}, got a {type(payload).__name__}.")
            if isinstance(payload, float) and not math.isfinite(payload):
                fail(f"{name}: expected {expected}, got {payload}.")
        try:
            return original(payload)
        except gr.Error as err:  # Gradio's own range/choice check: say which input it was
            fail(f"{name}: {err.message}")

    return preprocess


def check_inputs(demo: gr.Blocks) -> None:
    """Wrap the preprocessing of every slider, number, dropdown and radio of ``demo`` so a bad
    API value names the input and its range (idempotent)."""
    for block in demo.blocks.values():
        if isinstance(block, (gr.Slider, gr.Number, gr.Dropdown, gr.Radio)) and not getattr(
            block, "_input_checked", False
        ):
            block.preprocess = _checked_preprocess(block)
            block._input_checked = True


def _unknown_api_name(request, exc) -> JSONResponse:
    return JSONResponse(
        {"detail": "No API endpoint by that name; /gradio_api/info lists the public ones."},
        status_code=404,
    )


def _exception_handlers() -> dict:
    try:
        from gradio.route_utils import FnIndexInferError
    except ImportError:  # another Gradio 6 layout: keep its default (a 500)
        return {}
    return {FnIndexInferError: _unknown_api_name}


def queue_settings() -> dict:
    return {
        "max_size": QUEUE_MAX_SIZE,
        "default_concurrency_limit": MODEL_CONCURRENCY_LIMIT,
        "api_open": False,
    }


def launch_settings() -> dict:
    return {
        "max_file_size": MAX_FILE_SIZE,
        "allowed_paths": [],
        "show_error": False,
        "mcp_server": False,
        "enable_monitoring": False,
        "state_session_capacity": STATE_SESSION_CAPACITY,
        "app_kwargs": {"exception_handlers": _exception_handlers()},
        "css": quiz_tab.CSS,
    }


def serve(demo: gr.Blocks, **launch_overrides) -> None:
    """Queue and launch ``demo`` with the settings above (``python app.py``)."""
    check_inputs(demo)
    gc.collect()
    gc.freeze()  # startup objects (torch, gradio, models) leave the GC's scans: shorter pauses
    demo.queue(**queue_settings()).launch(**{**launch_settings(), **launch_overrides})
