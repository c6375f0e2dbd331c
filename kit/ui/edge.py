"""The app's edge: an ASGI middleware that every HTTP request passes before Gradio sees it.

It enforces what Gradio has no setting for:

- **body caps**: a JSON (or any non-multipart) body is at most ``MAX_JSON_BODY`` bytes and a
  multipart upload at most ``MAX_MULTIPART_BODY`` in all (Gradio caps each file, not the sum of
  a request's files). A declared ``Content-Length`` over the cap is refused before anything is
  read; a JSON body without one is counted as it streams in and refused once past the cap; a
  multipart body must declare its length (the server reads no further). Refusal: HTTP 413
  (411 for an undeclared upload) with a sentence.
- **fair queueing**: a request that joins the queue (``POST /gradio_api/queue/join`` from the
  page, ``POST /gradio_api/call/<api_name>`` from the API) is refused with HTTP 429 and a
  sentence when its session already has ``SESSION_MAX_EVENTS`` events waiting or running
  (``SESSION_BURST_EVENTS`` in its first seconds, while its page joins its load events),
  ``SESSION_MAX_PER_EVENT`` of the same event, or ``TRAIN_SESSION_MAX`` training runs; a training run is also refused while
  ``TRAIN_QUEUE_MAX`` runs are already waiting, and a model event while ``MODEL_QUEUE_MAX``
  model events are. So one visitor can hold at most a few places in the queue, and queued
  training runs never take the model demos' places (Gradio's own ``max_size`` is the sum, a
  backstop). The page's Gradio client shows the sentence as an error toast on the event.
- **complete calls**: a join that sends fewer input values than its event takes is refused
  (HTTP 422) with a sentence naming the missing inputs;
- **closed routes**: ``/gradio_api/deep_link`` (writes a session's state to disk on every
  call; the app has no deep-link button) and ``/gradio_api/dev/reload`` (only for
  ``gradio app.py`` reload mode) answer 404.

How many events a session has waiting or running is not part of Gradio's public API: it is read
from the queue in one function, ``queue_load``, and ``tests/test_hardening.py`` fails if that
read stops matching Gradio's behaviour.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_JSON_BODY = 1024 * 1024
"""Largest non-multipart request body: a full quiz progress is ~0.4 MB (kit.quiz.progress)."""

MAX_MULTIPART_BODY = 12 * 1024 * 1024
"""Largest multipart body (all files of one upload; each file is also capped at 5 MB)."""

SESSION_MAX_EVENTS = 4
"""Events one session may have waiting or running at once, once its page has loaded."""

SESSION_BURST_EVENTS = 6
"""The same for a session's first ``SESSION_BURST_EVENTS`` joins within ``SESSION_BURST_S``
seconds: a page visit joins one load event, and opening a tab one or two more (see
kit.ui.navigate). A flooder gets this once per session, then the steady cap."""

SESSION_BURST_S = 5.0
"""How long a new session may use the burst allowance."""

SESSIONS_REMEMBERED = 20_000
"""Sessions whose first join is remembered (oldest forgotten first; ~3 MB)."""

SESSION_MAX_PER_EVENT = 2
"""Of those, the same event (one running and one waiting: a double click, not a flood)."""

TRAIN_SESSION_MAX = 1
"""Training runs one session may have waiting or running."""

TRAIN_QUEUE_MAX = 4
"""Training runs waiting at once, all sessions together."""

MODEL_QUEUE_MAX = 64
"""Other events waiting at once, all sessions together (Gradio's max_size is this + the above)."""

CLOSED_PATHS = frozenset({"/gradio_api/deep_link", "/gradio_api/dev/reload"})

UPLOAD_PATHS = frozenset(
    {"/gradio_api/upload", "/gradio_api/process_recording", "/gradio_api/component_server"}
)
"""The routes that take multipart bodies (files, the sketchpad's drawing); everywhere else a
body is held to the JSON cap whatever its Content-Type says."""

ADDRESS_BURST = 30
"""Joins one client address may make at once, before ``ADDRESS_RATE`` applies."""

ADDRESS_RATE = 2.0
"""Joins per second one client address earns back. The per-session caps cannot stop a client
that sends no session or a new one each time; this bounds such a client by where it comes
from. The address is the last hop of ``X-Forwarded-For`` (the one the Space's proxy adds);
direct loopback traffic with no such header (development, tests, benchmarks) is exempt."""

ADDRESSES_REMEMBERED = 20_000
"""Routes that answer 404 (with or without a trailing slash)."""

LOG = logging.getLogger("latent_lab.edge")

JOIN_PATH = "/gradio_api/queue/join"
CALL_PREFIX = "/gradio_api/call/"

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


@dataclass(frozen=True)
class EventRoutes:
    """The app's queued events as requests name them."""

    fn_index_by_api: Mapping[str, int] = field(default_factory=dict)
    """``api_name`` (used in /call/<api_name>) -> ``fn_index`` (sent by the page to /queue/join)."""
    train_fn_indices: frozenset[int] = frozenset()
    """``fn_index`` values of the training events."""
    input_names: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    """``fn_index`` -> the names (labels) of its inputs, to name what a short call lacks."""


@dataclass
class QueueLoad:
    """What the queue holds right now, as far as admission needs to know."""

    session_events: int = 0
    """Events of the asking session waiting or running."""
    session_same: int = 0
    """Of those, events of the function being asked for."""
    session_train: int = 0
    """Of those, training runs."""
    waiting: dict[str, int] = field(default_factory=dict)
    """Waiting (not yet running) events per concurrency group."""


def queue_load(
    app: Any, session_hash: str | None, fn_index: int | None, train_group: str
) -> QueueLoad:
    """The queue's load, read from Gradio 6's queue object.

    INTERNAL: ``Blocks._queue.event_ids_to_events`` (every event waiting or running, by id,
    each with ``session_hash``, ``concurrency_id`` and ``fn._id``) and
    ``event_queue_per_concurrency_id[<group>].queue`` (the waiting ones) are not public API;
    Gradio offers no per-session count. Kept to this one function;
    ``test_queue_load_reads_gradios_queue`` checks it against a live server.
    """
    queue = app.get_blocks()._queue
    load = QueueLoad()
    for event in list(queue.event_ids_to_events.values()):
        if session_hash is not None and event.session_hash == session_hash:
            load.session_events += 1
            load.session_same += fn_index is not None and event.fn._id == fn_index
            load.session_train += event.concurrency_id == train_group
    for group, event_queue in list(queue.event_queue_per_concurrency_id.items()):
        load.waiting[group] = len(event_queue.queue)
    return load


def admission_refusal(
    load: QueueLoad, is_train: bool, train_group: str, allowance: int = SESSION_MAX_EVENTS
) -> str | None:
    """Why a new event is refused (one sentence for the visitor), or None to admit it.

    ``allowance``: events the session may have waiting or running (more while its page loads).
    """
    if load.session_events >= allowance:
        return (
            f"You already have {load.session_events} requests waiting or running: "
            "wait for them to finish, then try again."
        )
    if load.session_same >= SESSION_MAX_PER_EVENT:
        return "This is already running for you (and one more is waiting): wait for it to finish."
    if is_train:
        if load.session_train >= TRAIN_SESSION_MAX:
            return "Your training run is still going: wait for it to finish (or stop it) first."
        if load.waiting.get(train_group, 0) >= TRAIN_QUEUE_MAX:
            return f"{TRAIN_QUEUE_MAX} training runs are already waiting: try again in a minute."
        return None
    others = sum(n for group, n in load.waiting.items() if group != train_group)
    if others >= MODEL_QUEUE_MAX:
        return "The app is busy right now: try again in a few seconds."
    return None


def missing_inputs(data: Any, names: tuple[str, ...]) -> str | None:
    """The sentence for a call that sends fewer input values than the event takes, else None
    (Gradio's own message for it is a generic error, and its log line echoes every value)."""
    if not isinstance(data, list) or len(data) >= len(names):
        return None
    lacking = ", ".join(repr(n) for n in names[len(data) :])
    return (
        f"This call sends {len(data)} input value(s) but the event takes {len(names)}: "
        f"missing {lacking}"[:300]
    )


async def _respond(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail, "error": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def client_address(scope: Scope) -> str | None:
    """The address to rate-limit: the proxy's last ``X-Forwarded-For`` hop, else the peer's
    address; None for direct loopback traffic (nothing in front of the app)."""
    forwarded = _header(scope, b"x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[-1].strip()[:64] or None
    peer = (scope.get("client") or ("", 0))[0]
    return None if peer in ("127.0.0.1", "::1", "localhost") else peer


class AddressBuckets:
    """A token bucket per client address (least recently seen forgotten first)."""

    def __init__(self, burst: float = ADDRESS_BURST, rate: float = ADDRESS_RATE) -> None:
        self.burst, self.rate = burst, rate
        self.buckets: OrderedDict[str, list[float]] = OrderedDict()  # address -> [tokens, time]

    def take(self, address: str, now: float | None = None) -> bool:
        """Spend one join of ``address``'s allowance; False when it has none left."""
        now = time.monotonic() if now is None else now
        tokens, last = self.buckets.pop(address, [self.burst, now])
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        ok = tokens >= 1.0
        self.buckets[address] = [tokens - 1.0 if ok else tokens, now]
        while len(self.buckets) > ADDRESSES_REMEMBERED:
            self.buckets.popitem(last=False)
        return ok


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


class _TooLarge(Exception):
    pass


class EdgeGuard:
    """The middleware (pass it to FastAPI as ``Middleware(EdgeGuard, routes=..., ...)``)."""

    def __init__(
        self,
        app: Callable,
        routes: EventRoutes | None = None,
        train_group: str = "train_live",
        max_json: int = MAX_JSON_BODY,
        max_multipart: int = MAX_MULTIPART_BODY,
    ) -> None:
        self.app = app
        self.routes = routes or EventRoutes()
        self.train_group = train_group
        self.max_json = max_json
        self.max_multipart = max_multipart
        self.first_seen: OrderedDict[str, list[float]] = OrderedDict()
        """Session -> [time of its first join, joins asked for so far]."""
        self.addresses = AddressBuckets()
        """Each client address's join allowance."""
        self.in_flight: Counter[tuple[str, int]] = Counter()
        """(session, fn_index) -> joins admitted that Gradio has not answered yet: their events
        are not in its queue yet, so ``queue_load`` cannot see them. Without this, joins sent
        all at once would each find the session's queue empty and all be admitted."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point: check the request, then hand it to the app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._handle(scope, receive, tracked)
        except Exception as err:
            # One line instead of a traceback per request (1,000 requests wrote 5 MB of log):
            # an upload without a file name, a result stream for an unknown session, ...
            where = traceback.extract_tb(err.__traceback__)[-1]
            LOG.warning(
                "request error %s %s: %s: %s (%s:%d)",
                scope.get("method"),
                scope.get("path", "")[:80],
                type(err).__name__,
                str(err)[:120],
                where.filename.rsplit("/", 1)[-1],
                where.lineno,
            )
            if not started:
                await _respond(send, 400, "Bad request.")
            else:  # end the broken response cleanly (else uvicorn logs a second line)
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if path.rstrip("/") in CLOSED_PATHS:
            await _respond(send, 404, "Not found.")
            return
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        multipart = _header(scope, b"content-type").lower().startswith("multipart/")
        multipart = multipart and path.rstrip("/") in UPLOAD_PATHS
        cap = self.max_multipart if multipart else self.max_json
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > cap:
            await _respond(send, 413, self._too_large(cap))
            return
        joins = not multipart and (path == JOIN_PATH or path.startswith(CALL_PREFIX))
        if multipart:  # streamed on to Gradio's parser; the server stops it at the declared length
            if not declared.isdigit():
                await _respond(send, 411, "Uploads must declare their size (Content-Length).")
                return
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(receive, cap)
        except _TooLarge:
            await _respond(send, 413, self._too_large(cap))
            return
        ticket = None
        if joins:
            refusal, ticket = self._admission(scope, path, body)
            if refusal is not None:
                await _respond(send, *refusal)
                return
        if ticket is None:
            await self.app(scope, _replay(body, receive), send)
            return
        self.in_flight[ticket] += 1
        try:  # by the time Gradio answers, the event is in its queue (or done)
            await self.app(scope, _replay(body, receive), send)
        finally:
            self.in_flight[ticket] -= 1
            if self.in_flight[ticket] <= 0:
                del self.in_flight[ticket]

    @staticmethod
    def _too_large(cap: int) -> str:
        return f"Request too large: at most {cap / 2**20:g} MB is accepted here."

    @staticmethod
    async def _read(receive: Receive, cap: int) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _admission(
        self, scope: Scope, path: str, body: bytes
    ) -> tuple[tuple[int, str] | None, tuple[str, int] | None]:
        """(HTTP status, sentence) refusing a join, or None to pass it on to Gradio; and the
        (session, fn_index) to count in flight while Gradio takes an admitted join."""
        try:
            payload = json.loads(body) if body else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None, None  # Gradio answers malformed bodies itself
        if not isinstance(payload, Mapping):
            return None, None
        session = payload.get("session_hash")
        session = session if isinstance(session, str) and session else None
        if path == JOIN_PATH:
            fn_index = payload.get("fn_index")
        else:
            api_name = path[len(CALL_PREFIX) :].removeprefix("v2/").strip("/")
            fn_index = self.routes.fn_index_by_api.get(api_name)
        if not isinstance(fn_index, int) or isinstance(fn_index, bool):
            return None, None  # Gradio refuses it (no such event) itself
        short = missing_inputs(payload.get("data"), self.routes.input_names.get(fn_index, ()))
        if short is not None:
            return (422, short), None
        address = client_address(scope)
        if address is not None and not self.addresses.take(address):
            too_many = "Too many requests from your address: wait a few seconds, then try again."
            return (429, too_many), None
        is_train = fn_index in self.routes.train_fn_indices
        load = queue_load(scope["app"], session, fn_index, self.train_group)
        self._add_in_flight(load, session, fn_index)
        why = admission_refusal(load, is_train, self.train_group, self._allowance(session))
        if why is not None:
            return (429, why), None
        return None, (None if session is None else (session, fn_index))

    def _add_in_flight(self, load: QueueLoad, session: str | None, fn_index: int) -> None:
        """Count into ``load`` the session's admitted joins that Gradio has not queued yet."""
        if session is None:
            return
        for (who, fn), n in self.in_flight.items():
            if who == session:
                load.session_events += n
                load.session_same += n * (fn == fn_index)
                load.session_train += n * (fn in self.routes.train_fn_indices)

    def _allowance(self, session: str | None) -> int:
        """A session's event allowance: the burst while it is new, then the steady cap."""
        if session is None:
            return SESSION_MAX_EVENTS
        now = time.monotonic()
        seen = self.first_seen.setdefault(session, [now, 0])
        seen[1] += 1
        while len(self.first_seen) > SESSIONS_REMEMBERED:
            self.first_seen.popitem(last=False)
        young = now - seen[0] < SESSION_BURST_S and seen[1] <= SESSION_BURST_EVENTS
        return SESSION_BURST_EVENTS if young else SESSION_MAX_EVENTS


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that first gives back the body already read, then the real channel."""
    sent = False

    async def replayed() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
