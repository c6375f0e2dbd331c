"""How the app is served: queue and launch settings for a public two-core Space.

Every value here is a decision with a reason (SECURITY.md explains them for readers):

- one concurrency group, ``"models"``, shared by every model endpoint, two at a time: the
  Space has two cores and each request runs torch on one thread, so a third would only slow the
  other two down; the rest wait in the queue;
- Train live has its own group of one: a training run is seconds of CPU, never two at once;
- the queue holds at most ``QUEUE_MAX_SIZE`` waiting requests; beyond that a visitor is told
  the queue is full (a refusal, not a server error) instead of waiting minutes; in front of it,
  ``kit.ui.edge.EdgeGuard`` (passed to FastAPI as middleware) caps request bodies, gives each
  session a few places in the queue and training runs their own share, and closes the
  deep-link and dev-reload routes;
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
  the input and its range instead of a generic "Error", cut to ``MAX_ECHO_CHARS``; File and
  ImageEditor payloads of the wrong shape are named the same way, and every image they
  reference (and every sketchpad blob) passes ``kit.preprocess.check_image_file`` before
  Gradio decodes it;
- the cache of output images and uploads is swept every half hour (``DELETE_CACHE``);
- an unknown API name is a 404, not a 500; traffic monitoring (``/monitoring``) is off;
- the server process is not dumpable (``deny_inspection``): another process of the same user,
  such as a drill worker that got past every other layer, can neither read its
  ``/proc/<pid>/environ`` (or memory, or file descriptors) nor attach a debugger to it.
"""

from __future__ import annotations

import ctypes
import gc
import inspect
import math

import gradio as gr
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.middleware import Middleware

from kit.preprocess import UnreadableImageError, check_image_file
from kit.ui import quiz_tab
from kit.ui.edge import (
    MAX_MULTIPART_BODY,
    MODEL_QUEUE_MAX,
    TRAIN_QUEUE_MAX,
    EdgeGuard,
    EventRoutes,
)
from kit.ui.memory import MemoryTrimmer

MODEL_CONCURRENCY_ID = "models"
MODEL_CONCURRENCY_LIMIT = 2  # two cores, one torch thread per request
TRAIN_CONCURRENCY_ID = "train_live"  # set by the Train live tab, limit 1
DRILL_CONCURRENCY_ID = "drills"  # set by the Code drills tab; its grader runs one at a time
# Interview-room polls and actions: SQLite reads and writes, no torch, so they never wait for a
# model slot (each seat polls once a second; four at a time keep both seats of a room moving)
ROOM_CONCURRENCY_ID, ROOM_CONCURRENCY_LIMIT = "rooms", 4
# Waiting requests before new ones are refused with "queue full" (HTTP 503 on the API): 64 model
# events (kit.ui.edge.MODEL_QUEUE_MAX) plus 4 training runs (TRAIN_QUEUE_MAX), each group held to
# its own share by the edge. The wait it allows is 64 / throughput; measured on two shared cores
# (benchmarks/load_test.py --vary): 4-8 requests/s over every model endpoint with random inputs,
# so up to ~8-16 s. A page visit queues one load event (kit.ui.navigate), so a burst of
# visitors fits. 100 API clients get
# refusals and no server error; 50 (fewer than 64 waiting) never do.
QUEUE_MAX_SIZE = MODEL_QUEUE_MAX + TRAIN_QUEUE_MAX  # kit.ui.edge keeps each group to its share
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
        own = (TRAIN_CONCURRENCY_ID, DRILL_CONCURRENCY_ID, ROOM_CONCURRENCY_ID)
        if fn.queue and fn.concurrency_id not in own:
            fn.concurrency_id = MODEL_CONCURRENCY_ID
            fn.concurrency_limit = MODEL_CONCURRENCY_LIMIT


def event_routes(demo: gr.Blocks) -> EventRoutes:
    """Each event's fn index by api name, and the training events', for the edge's caps."""
    fns = list(demo.fns.values())
    return EventRoutes(
        fn_index_by_api={fn.api_name: fn._id for fn in fns if isinstance(fn.api_name, str)},
        train_fn_indices=frozenset(
            fn._id for fn in fns if fn.concurrency_id == TRAIN_CONCURRENCY_ID
        ),
        input_names={fn._id: tuple(_input_name(c) for c in fn.inputs) for fn in fns},
    )


MAX_ECHO_CHARS = 200
"""Longest error message sent back for a bad input (Gradio's own messages echo the value)."""


def _clip(message: str, limit: int = MAX_ECHO_CHARS) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


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
        raise gr.Error(_clip(message), title="Check the input", print_exception=False)

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


def _file_refs(value) -> list:
    """Every file reference (``{"path": ...}``) in a File or ImageEditor payload."""
    if isinstance(value, dict):
        if "path" in value:
            return [value]
        return [ref for part in value.values() for ref in _file_refs(part)]
    if isinstance(value, list):
        return [ref for part in value for ref in _file_refs(part)]
    return []


def _checked_file_model(component):
    """The component's ``data_model`` with a bad payload turned into a named ``gr.Error``, and
    every image it names checked by ``kit.preprocess.check_image_file`` (bytes, pixels and
    frames from the header) before Gradio decodes any of it."""
    model = component.data_model
    name = _input_name(component)
    editor = isinstance(component, gr.ImageEditor)
    images = editor or _is_image_input(component)
    shape = (
        "a dict with 'background', 'layers' and 'composite' (each an uploaded file or null)"
        if editor
        else "an uploaded file reference {'path': ..., 'meta': {'_type': 'gradio.FileData'}}"
    )

    def fail(message: str):
        raise gr.Error(_clip(message), title="Check the input", print_exception=False)

    def model_validate(cls, obj, *args, **kwargs):
        if not isinstance(obj, dict if editor else (dict, list)):
            fail(f"{name}: expected {shape}, got a {type(obj).__name__}.")
        try:
            value = super(checked, cls).model_validate(obj, *args, **kwargs)
        except ValidationError:
            fail(f"{name}: expected {shape}.")
        layers = obj.get("layers") if isinstance(obj, dict) else None
        if isinstance(layers, list) and len(layers) > MAX_LAYERS:
            fail(f"{name}: at most {MAX_LAYERS} layers are accepted.")
        for ref in _file_refs(obj) if images else []:
            try:
                check_image_file(ref["path"])
            except UnreadableImageError as err:
                fail(f"{name}: {err}")
        return value

    checked = type(model.__name__, (model,), {"model_validate": classmethod(model_validate)})
    return checked


def _checked_blobs(component):
    """The sketchpad's ``accept_blobs`` server function (the page sends its drawing through it)
    with every blob checked like an upload, the layer index bounded, and at most
    ``MAX_PENDING_BLOBS`` drawings held (Gradio keeps each until an event uses it)."""
    original = component.accept_blobs

    def accept_blobs(data):
        index = data.data.get("index")
        if index not in (None, "null") and (not str(index).isdigit() or int(index) >= MAX_LAYERS):
            raise HTTPException(400, f"at most {MAX_LAYERS} layers are accepted")
        for _, blob in data.files:
            try:
                check_image_file(blob)
            except UnreadableImageError as err:
                raise HTTPException(413, _clip(f"drawing refused: {err}")) from None
        held = component.blob_storage  # INTERNAL: Gradio's dict of drawings not yet used
        while len(held) >= MAX_PENDING_BLOBS:
            held.pop(next(iter(held)))
        return original(data)

    accept_blobs._is_server_fn = True
    return accept_blobs


MAX_PENDING_BLOBS = 64
"""Drawings sent by pages but not yet used by an event, kept at most (oldest dropped)."""

MAX_LAYERS = 8
"""Sketchpad layers accepted per request (the app's sketchpad uses one)."""


def _is_image_input(component) -> bool:
    types = getattr(component, "file_types", None) or []
    return any(t == "image" or str(t).lower() in (".png", ".jpg", ".jpeg") for t in types)


def check_inputs(demo: gr.Blocks) -> None:
    """Wrap the preprocessing of every slider, number, dropdown and radio of ``demo`` so a bad
    API value names the input and its range, and the payload check of every File and
    ImageEditor so a wrong shape is named and an image over the caps is refused before Gradio
    decodes it (idempotent)."""
    for block in demo.blocks.values():
        if getattr(block, "_input_checked", False):
            continue
        if isinstance(block, (gr.Slider, gr.Number, gr.Dropdown, gr.Radio)):
            block.preprocess = _checked_preprocess(block)
            block._input_checked = True
        elif isinstance(block, (gr.File, gr.ImageEditor)) and block.data_model is not None:
            block.data_model = _checked_file_model(block)
            if isinstance(block, gr.ImageEditor):
                block.accept_blobs = _checked_blobs(block)
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


def _whole_body_cap() -> dict:
    """FastAPI's own cap on every request body (newer FastAPI only), as a backstop to
    ``kit.ui.edge``'s per-kind caps."""
    if "max_body_size" in inspect.signature(FastAPI.__init__).parameters:
        return {"max_body_size": MAX_MULTIPART_BODY}
    return {}


def queue_settings() -> dict:
    """The keyword arguments for ``demo.queue``."""
    return {
        "max_size": QUEUE_MAX_SIZE,
        "default_concurrency_limit": MODEL_CONCURRENCY_LIMIT,
        "api_open": False,
    }


def launch_settings(demo: gr.Blocks | None = None) -> dict:
    """The keyword arguments for ``demo.launch``: limits, middleware, error handlers and CSS."""
    routes = event_routes(demo) if demo is not None else EventRoutes()
    return {
        "max_file_size": MAX_FILE_SIZE,
        "allowed_paths": [],
        "show_error": False,
        "mcp_server": False,
        "enable_monitoring": False,
        "state_session_capacity": STATE_SESSION_CAPACITY,
        "app_kwargs": {
            **_whole_body_cap(),
            "exception_handlers": _exception_handlers(),
            "middleware": [Middleware(EdgeGuard, routes=routes, train_group=TRAIN_CONCURRENCY_ID)],
        },
        "css": quiz_tab.CSS,
    }


PR_SET_DUMPABLE = 4  # from <linux/prctl.h>


def deny_inspection() -> bool:
    """Make this process non-dumpable (``prctl(PR_SET_DUMPABLE, 0)``): its ``/proc/<pid>/``
    files (environ, mem, fd, maps) become root's and ``ptrace`` needs ``CAP_SYS_PTRACE``, so a
    process of the same user cannot read its environment or attach to it; no core dumps.
    Processes it starts are dumpable again after their ``exec``. False where there is no
    ``prctl`` (not Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def serve(demo: gr.Blocks, **launch_overrides) -> None:
    """Queue and launch ``demo`` with the settings above (``python app.py``)."""
    deny_inspection()
    check_inputs(demo)
    gc.collect()
    gc.freeze()  # startup objects (torch, gradio, models) leave the GC's scans: shorter pauses
    settings = {**launch_settings(demo), **launch_overrides}
    MemoryTrimmer().start()  # freed per-request memory goes back to the system
    demo.queue(**queue_settings()).launch(**settings)
