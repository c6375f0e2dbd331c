"""Issue 9's attacks, one test (or a few) per row, each at a small scale against the live app
(the session's ``live_app``, kit/testing/server.py) or the pure function that fixes it, asserting
the fix: a refusal with a sentence, a time, a memory bound, other visitors still served.

Timings are generous (the machine's two cores are shared), but each is far below what the
attack cost before the fix (the issue's table gives those numbers).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import json
import subprocess
import sys
import threading
import time
import types
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image

from kit.cache import fresh_cache
from kit.quiz import budget
from kit.quiz.parse import load_upload, parse_text
from kit.quiz.progress import (
    MAX_CARDS,
    MAX_REVIEWS,
    export_progress,
    grade,
    new_progress,
    validate_progress,
)
from kit.quiz.record import MAX_FILE_BYTES, MAX_UPLOAD_FILES
from kit.quiz.render import render_markdown
from kit.testing.server import ROOT, call, default_inputs, endpoint_parameters, uploaded
from kit.ui import edge

VALID = ROOT / "tests" / "fixtures" / "quiz" / "valid.md"


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def inputs(live_app, client):
    return default_inputs(client, live_app.url, endpoint_parameters(client, live_app.url))


@pytest.fixture(scope="module")
def config(live_app, client):
    return client.get(f"{live_app.url}/config").json()


def _fn_index(config: dict, api_name: str) -> int:
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)


def _served(server, client, inputs, within: float = 60.0) -> float:
    """Another visitor's request succeeds (no refusal); returns how long it took."""
    r = call(client, server.url, "decode_point", inputs["decode_point"], timeout=within)
    assert r.ok, r
    return r.seconds


def _join(client, url, fn_index, data, session) -> httpx.Response:
    body = {
        "data": data,
        "fn_index": fn_index,
        "session_hash": session,
        "event_data": None,
        "trigger_id": None,
    }
    return client.post(f"{url}/gradio_api/queue/join", json=body)


def _drain(url: str, session: str, events: int, timeout: float = 180) -> int:
    """Read a session's result stream until ``events`` events completed; returns how many did."""
    done = 0
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=timeout) as c:
        with c.stream("GET", f"{url}/gradio_api/queue/data", params={"session_hash": session}) as s:
            for line in s.iter_lines():
                if line.startswith("data:"):
                    msg = json.loads(line[5:])
                    done += msg.get("msg") == "process_completed"
                    if done >= events or msg.get("msg") == "close_stream":
                        break
                if time.monotonic() > deadline:
                    break
    return done


# ---- row 1: one client cannot fill the queue ---------------------------------------------------


#: a drill answer that runs until the grader's wall clock stops it (kit.drills.grader.GRADE_WALL_S),
#: so no flooded event can finish, and free its place, while the flood is still being sent
ENDLESS = "def lerp(z_a, z_b, t):\n    while True:\n        t = t + 1\n"


def test_one_session_holds_a_few_places_and_others_are_served(live_app, client, inputs, config):
    url, session = live_app.url, uuid.uuid4().hex
    train = [*inputs["train_live"][:-1], 300]  # a few seconds: still going during the flood
    answers = [
        _join(client, url, _fn_index(config, "train_live"), train, session) for _ in range(5)
    ]
    t0 = time.monotonic()
    answers += [
        _join(client, url, _fn_index(config, "grade_drill"), ["lerp", ENDLESS], session)
        for _ in range(30)
    ]
    assert time.monotonic() - t0 < 5, "the flood took longer than one grading: rerun"
    admitted = [r for r in answers if r.status_code == 200]
    refused = [r for r in answers if r.status_code == 429]
    assert len(admitted) + len(refused) == len(answers), [r.status_code for r in answers]
    # one training run, at most two of the same event: a flood of 35 holds <= 3 places
    assert len(admitted) == 1 + edge.SESSION_MAX_PER_EVENT, len(admitted)
    messages = {r.json()["detail"] for r in refused}
    assert any("training run is still going" in m for m in messages), messages
    assert any("already running for you" in m for m in messages), messages
    # another visitor is served while the flooder's events wait, and is never refused
    assert _served(live_app, client, inputs, within=120) < 60
    assert _drain(url, session, len(admitted)) == len(admitted)


def test_queue_load_reads_gradios_queue(live_app, client, inputs, config):
    """kit.ui.edge.queue_load reads Gradio internals: this fails if they change shape."""
    url, session = live_app.url, uuid.uuid4().hex
    idx = _fn_index(config, "train_live")
    first = _join(client, url, idx, [*inputs["train_live"][:-1], 20], session)
    second = _join(client, url, idx, [*inputs["train_live"][:-1], 20], session)
    assert first.status_code == 200, first.text  # an AttributeError inside would be a 400
    assert second.status_code == 429 and "training run" in second.json()["detail"], second.text
    assert _drain(url, session, 1) == 1
    for _ in range(50):  # Gradio forgets a finished event just after sending its result
        third = _join(client, url, idx, [*inputs["train_live"][:-1], 5], session)
        if third.status_code != 429:
            break
        time.sleep(0.1)
    assert third.status_code == 200, third.text  # finished runs no longer count
    assert _drain(url, session, 1) == 1


def test_admission_rules():
    load = edge.QueueLoad(session_events=edge.SESSION_MAX_EVENTS)
    assert "waiting or running" in edge.admission_refusal(load, False, "t")
    assert edge.admission_refusal(edge.QueueLoad(session_same=1), False, "t") is None
    assert edge.admission_refusal(edge.QueueLoad(session_same=2), False, "t")
    busy = edge.QueueLoad(waiting={"t": edge.TRAIN_QUEUE_MAX, "models": 0})
    assert "training runs are already waiting" in edge.admission_refusal(busy, True, "t")
    assert edge.admission_refusal(busy, False, "t") is None  # training never takes model places
    full = edge.QueueLoad(waiting={"t": 0, "models": edge.MODEL_QUEUE_MAX})
    assert (
        edge.admission_refusal(full, False, "t") and edge.admission_refusal(full, True, "t") is None
    )


def test_a_new_page_may_join_its_load_burst_then_the_steady_cap_applies():
    guard = edge.EdgeGuard(app=None)
    assert guard._allowance("page") == edge.SESSION_BURST_EVENTS >= 3  # a load, then a tab
    guard.first_seen["page"][0] -= edge.SESSION_BURST_S + 1
    assert guard._allowance("page") == edge.SESSION_MAX_EVENTS == 4  # later: the steady cap
    greedy = [guard._allowance("flood") for _ in range(edge.SESSION_BURST_EVENTS + 5)]
    assert greedy[-1] == edge.SESSION_MAX_EVENTS  # the burst is a number of joins, once
    assert guard._allowance(None) == edge.SESSION_MAX_EVENTS  # bare API calls: no burst


class _SlowGradio:
    """Just enough of a Gradio app for the guard: a join is queued only after ``delay``
    seconds (as Gradio parses the body first), and stays queued (it never finishes)."""

    def __init__(self, delay: float = 0.05):
        self.delay = delay
        queue = types.SimpleNamespace(event_ids_to_events={}, event_queue_per_concurrency_id={})
        self.blocks = types.SimpleNamespace(_queue=queue)

    def get_blocks(self):
        return self.blocks

    async def __call__(self, scope, receive, send):
        body = json.loads((await receive())["body"])
        await asyncio.sleep(self.delay)
        event = types.SimpleNamespace(
            session_hash=body["session_hash"],
            fn=types.SimpleNamespace(_id=body["fn_index"]),
            concurrency_id="models",
        )
        self.blocks._queue.event_ids_to_events[uuid.uuid4().hex] = event
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def test_joins_sent_all_at_once_are_counted_before_gradio_queues_them():
    """Twelve joins of one event from one session, all at once: each is checked before Gradio
    has queued the others, and still only SESSION_MAX_PER_EVENT get in."""
    gradio = _SlowGradio()
    guard = edge.EdgeGuard(gradio, routes=edge.EventRoutes(train_fn_indices=frozenset({9})))
    body = json.dumps({"data": [1], "fn_index": 3, "session_hash": "flood"}).encode()

    async def join() -> int:
        scope = {
            "type": "http", "method": "POST", "path": edge.JOIN_PATH, "app": gradio,
            "headers": [(b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 5000),
        }  # fmt: skip
        sent = []

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            sent.append(message)

        await guard(scope, receive, send)
        return sent[0]["status"]

    async def flood() -> list[int]:
        return await asyncio.gather(*(join() for _ in range(12)))

    # a thread of its own: the session's browser fixtures may run an event loop in this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        codes = pool.submit(asyncio.run, flood()).result(timeout=60)
    assert codes.count(200) == edge.SESSION_MAX_PER_EVENT, codes
    assert codes.count(429) == 12 - edge.SESSION_MAX_PER_EVENT, codes
    assert len(gradio.blocks._queue.event_ids_to_events) == edge.SESSION_MAX_PER_EVENT
    assert guard.in_flight == {}  # nothing is left counted once Gradio has answered


# ---- row 2: YAML alias bombs -------------------------------------------------------------------


def _alias_bomb() -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 8):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    front = "\n".join(lines) + "\nid: *a7\n"
    return "---\n" + front + "---\n\n## Question\n\nq\n"


def test_yaml_alias_bomb_is_refused_before_expansion():
    text = _alias_bomb()
    assert len(text.encode()) < 700
    t0 = time.perf_counter()
    question, problems = parse_text(text, "bomb.md")
    took = time.perf_counter() - t0
    assert question is None
    assert took < 0.1, f"{took:.3f} s"
    assert "anchors ('&a0') are not allowed" in str(problems[0]) and problems[0].line == 2


def test_plain_alias_without_anchor_and_deep_nesting_are_refused():
    _, problems = parse_text("---\nid: *nothing\n---\n", "alias.md")
    assert any("alias" in str(p) or "bad YAML" in str(p) for p in problems), problems
    deep = "---\nid: " + "[" * 50 + "]" * 50 + "\n---\n"
    _, problems = parse_text(deep, "deep.md")
    assert any(f"nested more than {budget.MAX_YAML_DEPTH} deep" in str(p) for p in problems)
    many = "---\ntags: [" + ", ".join(["x"] * 2000) + "]\n---\n"
    _, problems = parse_text(many, "many.md")
    assert any(f"more than {budget.MAX_YAML_NODES} values" in str(p) for p in problems)


# ---- row 5: markdown that costs seconds --------------------------------------------------------


def test_image_opener_flood_is_refused_fast():
    valid = VALID.read_text(encoding="utf-8")
    text = valid.replace("## Hints", "![" * 6000 + "\n\n## Hints", 1)  # 12 KB, under the size cap
    assert len(text.encode()) < MAX_FILE_BYTES
    t0 = time.perf_counter()
    question, problems = parse_text(text, "flood.md")
    assert time.perf_counter() - t0 < 0.1
    assert question is None and "'[' characters" in problems[0].message


def _at_the_caps() -> dict[str, str]:
    """The slowest files we could build that pass every budget, each with a valid skeleton."""
    head = VALID.read_text(encoding="utf-8")
    room = budget.MAX_LINK_OPENERS - head.count("[")
    marks = budget.MAX_MARKUP_CHARS - sum(head.count(c) for c in budget.MARKUP_CHARS)
    lines = budget.MAX_LINES - head.count("\n") - 2

    def filled(unit: str, n: int) -> str:
        return head.replace("## Hints", unit * n + "\n\n## Hints", 1)

    return {
        "image openers": filled("![", room),
        "link openers": filled("[", room),
        "reference links": filled("[a][", room // 2),
        "emphasis": filled("*_", marks // 2),
        "backticks": filled("`a``", marks // 3),
        "escapes": filled("\\*", marks // 2),
        "lines": filled("word word word\n", lines),
        "table": filled("|a|b|\n", min(lines, marks // 3)),
        "nested quotes": filled("> ", marks),
        "long line": filled("word ", 2000),
    }


@pytest.mark.parametrize("case", list(_at_the_caps()))
def test_worst_case_file_parses_fast(case):
    text = _at_the_caps()[case]
    assert len(text.encode()) <= MAX_FILE_BYTES, len(text.encode())
    best = render = float("inf")
    for _ in range(3):  # best of three: the shared machine's noise, not the parser's cost
        t0 = time.perf_counter()
        question, problems = parse_text(text, f"{case}.md")
        best = min(best, time.perf_counter() - t0)
        if question is not None:  # Reveal renders the answer: the same budget holds
            t0 = time.perf_counter()
            render_markdown(question.answer)
            render = min(render, time.perf_counter() - t0)
    assert not any("cap" in p.message for p in problems), problems[:2]  # within every budget
    assert best < 0.1, f"{case}: parsing took {best * 1000:.0f} ms"
    assert render == float("inf") or render < 0.1, f"{case}: rendering took {render * 1000:.0f} ms"


def test_bundled_questions_are_well_within_the_budgets():
    for path in sorted((ROOT / "questions").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        assert budget.text_over_budget(text) is None, path
        assert text.count("\n") * 3 <= budget.MAX_LINES, path
        assert text.count("[") * 3 <= budget.MAX_LINK_OPENERS, path


# ---- row 6: presets are data, never paths (the lead's typed spec; may fail until it lands) -----


def test_question_file_cannot_preset_a_server_path(tmp_path):
    text = VALID.read_text(encoding="utf-8")
    start = text.index("demo:")
    end = text.index("\n", text.index("demo_args:")) + 1
    bad = (
        text[:start] + "demo: reconstruction.upload\ndemo_args: {path: /etc/passwd}\n" + text[end:]
    )
    path = tmp_path / "q.md"
    path.write_text(bad, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "kit.quiz", "check", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "path" in out.stdout and "/etc/passwd" not in out.stdout.split(":", 2)[-1]
    bank = load_upload([path])
    assert not bank.questions and bank.problems


# ---- row 3: oversized request bodies -----------------------------------------------------------


def test_oversized_json_body_is_refused_without_growing_memory(live_app, client, inputs):
    url = live_app.url
    before = live_app.rss_kib()
    for mib in (2, 5, 20, 160):  # the progress with 1,000,000 cards was 162 MB
        big = b'{"data": [' + b"1," * (mib * 2**19) + b'1], "fn_index": 0, "session_hash": "x"}'
        t0 = time.monotonic()
        r = client.post(
            f"{url}/gradio_api/queue/join",
            content=big,
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 413, r.text[:200]  # from 12 MB on, FastAPI's backstop answers
        assert mib > 12 or "at most 1 MB" in r.json()["detail"], r.text[:200]
        assert time.monotonic() - t0 < 5

    def chunks():  # no Content-Length: counted as it streams in
        for _ in range(40):
            yield b"1," * 2**19

    r = client.post(
        f"{url}/gradio_api/call/decode_point",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413, r.text[:200]
    grown = (live_app.rss_kib() - before) / 1024
    assert grown < 30, f"RSS grew {grown:.0f} MiB over five refused requests of 2-160 MB"
    _served(live_app, client, inputs)


def test_full_progress_fits_well_under_the_body_cap():
    progress = _full_progress()
    size = len(json.dumps(progress).encode())
    assert size < 0.75 * edge.MAX_JSON_BODY, size  # room for the event's other inputs


# ---- row 3, the progress itself: capped before any copy is kept ------------------------------


def _full_progress() -> dict:
    """Progress at both caps, with the longest ids and topics allowed."""
    from datetime import datetime, timezone

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    progress = new_progress()
    one = grade(progress, "a" * 100, "t" * 100, "good", now)
    card = one["cards"]["a" * 100]
    review = one["reviews"][0]
    cards = {f"{i:05d}" + "a" * 95: dict(card) for i in range(MAX_CARDS)}
    reviews = [dict(review, id=f"{i % MAX_CARDS:05d}" + "a" * 95) for i in range(MAX_REVIEWS)]
    return {**progress, "cards": cards, "reviews": reviews}


def test_browser_progress_keeps_the_latest_reviews_and_refuses_too_many_cards():
    full = _full_progress()
    export_progress(full)  # valid at the caps
    longer = {**full, "reviews": full["reviews"] + full["reviews"][:10]}
    kept = validate_progress(longer)
    assert kept.warning is None and len(kept.progress["reviews"]) == MAX_REVIEWS
    assert kept.progress["reviews"][-1] == longer["reviews"][-1]
    flood = {**full, "cards": {f"q{i}": {} for i in range(1_000_000)}}
    t0 = time.perf_counter()
    refused = validate_progress(flood)
    assert time.perf_counter() - t0 < 0.05  # refused on the count, nothing is walked or copied
    assert refused.progress == new_progress() and "more than the limit" in refused.warning


# ---- row 4: one image loader, one set of caps --------------------------------------------------


def _png_8000() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (8000, 8000), 255).save(buf, format="PNG")
    return buf.getvalue()


def test_huge_sketch_composite_is_refused_from_the_header(live_app, client, inputs):
    ref = uploaded(client, live_app.url, "sketch.png", _png_8000())
    before = live_app.rss_kib()
    for slot in ("composite", "background", "layers"):
        sketch = {"background": None, "layers": [], "composite": None}
        sketch[slot] = [ref] if slot == "layers" else ref
        r = call(client, live_app.url, "reconstruct_drawing", [sketch, 0.0])
        assert r.event == "error" and "8000x8000 pixels" in r.error_message, (slot, r)
        assert r.seconds < 5, (slot, r.seconds)
    assert (live_app.rss_kib() - before) / 1024 < 100  # never decoded (3.6 GB before)
    _served(live_app, client, inputs)


def test_huge_sketch_blob_is_refused_at_the_door(live_app, client, config):
    editor = next(c["id"] for c in config["components"] if c["type"] == "imageeditor")
    form = {
        "session_hash": uuid.uuid4().hex,
        "component_id": str(editor),
        "fn_name": "accept_blobs",
        "id": "drawing-1",
        "type": "composite",
        "index": "null",
    }
    r = client.post(
        f"{live_app.url}/gradio_api/component_server",
        data=form,
        files={"file": ("composite.png", _png_8000())},
    )
    assert r.status_code == 413 and "8000x8000 pixels" in r.text, r.text[:300]
    r = client.post(
        f"{live_app.url}/gradio_api/component_server",
        data={**form, "type": "layer", "index": str(10**8)},
        files={"file": ("layer.png", b"\x89PNG")},
    )
    assert r.status_code == 400 and "layers" in r.text, r.text[:300]


def test_wrong_shapes_for_file_and_editor_inputs_are_named(live_app, client):
    cases = [
        ("reconstruct_drawing", "a string", "got a str"),
        ("reconstruct_drawing", {"composite": {"nope": 1}}, "expected a dict"),
        ("reconstruct_upload", 12, "got a int"),
        ("reconstruct_upload", {"nope": 1}, "uploaded file reference"),
    ]
    for api, value, words in cases:
        r = call(client, live_app.url, api, [value, 0.0])
        assert r.event == "error" and words in (r.error_message or ""), (api, value, r)


def test_missing_inputs_are_named(live_app, client):
    for api, data in [("reconstruct_upload", [None]), ("reconstruct_drawing", [])]:
        r = client.post(f"{live_app.url}/gradio_api/call/{api}", json={"data": data})
        assert r.status_code == 422, (api, r.status_code, r.text[:200])
        assert "missing 'Input noise" in r.json()["detail"] or "missing 'Pick" in r.json()["detail"]
    assert edge.missing_inputs([1, 2], ("a", "b")) is None
    assert edge.missing_inputs([1], ("a", "b")).endswith("missing 'b'")


# ---- rows 7, 11: closed routes -----------------------------------------------------------------


def test_deep_link_and_dev_reload_are_closed(live_app, client, inputs):
    cache = Path(live_app.env["GRADIO_TEMP_DIR"])
    for path in ("/gradio_api/deep_link?session_hash=abc", "/gradio_api/dev/reload"):
        r = client.get(live_app.url + path, timeout=10)
        assert r.status_code == 404, (path, r.status_code)
    assert not list(cache.rglob("deep_links")), "deep links were written"
    # 200 held reload connections would be 200 immediate 404s now: /config stays fast
    with httpx.Client(timeout=10) as c:
        statuses = {c.get(live_app.url + "/gradio_api/dev/reload").status_code for _ in range(200)}
    assert statuses == {404}
    t0 = time.monotonic()
    assert client.get(live_app.url + "/config").status_code == 200
    assert time.monotonic() - t0 < 2


# ---- row 8: questions per upload and per session -----------------------------------------------


def test_uploads_and_sessions_hold_a_bounded_number_of_questions(tmp_path):
    text = VALID.read_text(encoding="utf-8")
    paths = []
    for i in range(MAX_UPLOAD_FILES + 1):
        p = tmp_path / f"q{i}.md"
        p.write_text(text.replace("id: ", f"id: x{i}-", 1), encoding="utf-8")
        paths.append(p)
    bank = load_upload(paths)
    assert not bank.questions and "too many files" in bank.problems[0].message
    room = budget.session_room(already=budget.MAX_SESSION_QUESTIONS - 3, arriving=10)
    assert (room.kept, room.dropped) == (3, 7) and "at most" in room.message
    assert budget.session_room(0, 10).message is None


# ---- row 9: unqueued events (the lead makes them queued) ---------------------------------------


def test_every_event_goes_through_the_queue(config):
    unqueued = [  # events that reach the server (a js-only event never does)
        d.get("api_name")
        for d in config["dependencies"]
        if d.get("queue") is False and d.get("backend_fn", True)
    ]
    assert not unqueued, unqueued


# ---- row 12: small items -----------------------------------------------------------------------


def test_a_huge_dropdown_value_is_not_echoed(live_app, client, inputs):
    data = list(inputs["beta_random_digit"])
    data[0] = "x" * 900_000  # under the body cap: it reaches the Dropdown's check
    r = call(client, live_app.url, "beta_random_digit", data)
    assert r.event == "error", r
    assert len(r.error_message) <= 200 and "xxxx" in r.error_message


def test_routine_client_errors_log_one_line(live_app, client):
    before = len(live_app.log())
    for _ in range(20):
        r = client.post(f"{live_app.url}/gradio_api/upload", files={"files": ("", b"abc")})
        assert r.status_code == 400, r.text[:200]
        client.get(
            f"{live_app.url}/gradio_api/queue/data", params={"session_hash": "nope"}, timeout=20
        )
    time.sleep(0.5)
    added = live_app.log()[before:]
    assert "Traceback" not in added, added[:2000]
    assert len(added.splitlines()) <= 60, len(added.splitlines())  # 40 requests, ~1 line each


def test_restart_clears_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    old = tmp_path / ("ab" * 32)
    old.mkdir()
    (old / "image.webp").write_bytes(b"x" * 1000)
    keep = tmp_path / "notes.txt"
    keep.write_text("not Gradio's")
    assert fresh_cache() == tmp_path
    assert not old.exists() and keep.exists()


def test_default_cache_is_the_apps_own(tmp_path, monkeypatch):
    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    folder = fresh_cache(port="7999")
    assert folder == tmp_path / "latent-lab-cache-7999" and folder.is_dir()


# ---- everything at once: other visitors keep being served --------------------------------------


def test_a_flooding_session_does_not_refuse_other_visitors(live_app, inputs, config):
    url, flooder = live_app.url, uuid.uuid4().hex
    stop = threading.Event()
    refused_others: list = []
    times: list[float] = []

    def flood():
        with httpx.Client(timeout=30) as c:
            names = ["decode_point", "generate_digits", "reconstruct_test_digit", "interpolate"]
            while not stop.is_set():
                for name in names:
                    _join(c, url, _fn_index(config, name), inputs[name], flooder)
                time.sleep(0.05)

    def visitor():
        with httpx.Client(timeout=120) as c:
            for _ in range(3):
                r = call(c, url, "decode_point", inputs["decode_point"], timeout=120)
                (times if r.ok else refused_others).append(r.seconds if r.ok else r)

    flooding = threading.Thread(target=flood, daemon=True)
    flooding.start()
    visitors = [threading.Thread(target=visitor) for _ in range(4)]
    for t in visitors:
        t.start()
    for t in visitors:
        t.join(300)
    stop.set()
    flooding.join(30)
    _drain(url, flooder, 8, timeout=120)
    assert not refused_others, refused_others[:3]
    assert len(times) == 12 and max(times) < 30, times


# ---- review findings: session-less floods, multipart on the wrong route --------------------


def test_an_address_gets_a_burst_then_its_rate():
    buckets = edge.AddressBuckets(burst=3, rate=1.0)
    assert [buckets.take("a", now=0.0) for _ in range(4)] == [True, True, True, False]
    assert buckets.take("b", now=0.0)  # another address has its own allowance
    assert not buckets.take("a", now=0.5)  # half a token earned back: not enough
    assert buckets.take("a", now=1.6)


@pytest.mark.parametrize(
    ("headers", "client", "expected"),
    [
        ({}, ("127.0.0.1", 5000), None),  # direct loopback: development, tests, benchmarks
        ({b"x-forwarded-for": b"198.51.100.4, 10.0.0.9"}, ("10.1.1.1", 80), "10.0.0.9"),
        ({b"x-forwarded-for": b"203.0.113.7"}, ("127.0.0.1", 80), "203.0.113.7"),
        ({}, ("192.0.2.5", 4000), "192.0.2.5"),
    ],
)
def test_the_address_is_the_proxys_last_hop(headers, client, expected):
    scope = {"headers": list(headers.items()), "client": client}
    assert edge.client_address(scope) == expected


def test_calls_without_a_session_are_limited_by_address(live_app, client, inputs):
    """A client sending no session (or a new one each time) is bounded by its address: after
    the burst it is refused with a sentence, while another address is still served."""
    url = f"{live_app.url}/gradio_api/call/no_gradient_path"
    body = {"data": inputs["no_gradient_path"]}
    flood = {"x-forwarded-for": "203.0.113.77"}  # a documentation address, as a header only
    answers = []
    start = time.monotonic()
    while len(answers) < 200 and sum(r.status_code == 429 for r in answers) < 3:
        answers.append(client.post(url, json=body, headers=flood))
    elapsed = time.monotonic() - start
    codes = [r.status_code for r in answers]
    assert codes[: edge.ADDRESS_BURST - 5].count(200) == edge.ADDRESS_BURST - 5
    # the allowance is the burst plus what ADDRESS_RATE earned back while the calls ran,
    # however slow the machine: no more calls than that were served
    refused = [r for r in answers if r.status_code == 429]
    assert len(refused) == 3, codes
    served = codes.count(200)
    assert served <= edge.ADDRESS_BURST + edge.ADDRESS_RATE * elapsed + 1, (served, elapsed)
    assert all("your address" in r.json()["detail"] for r in refused), refused[0].text
    other = client.post(url, json=body, headers={"x-forwarded-for": "203.0.113.78"})
    assert other.status_code == 200


def test_a_multipart_label_on_a_json_route_gets_the_json_cap(live_app, client):
    big = b'{"data": [' + b"1," * (5 * 2**19) + b'1], "fn_index": 0, "session_hash": "x"}'
    r = client.post(
        f"{live_app.url}/gradio_api/queue/join",
        content=big,
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 413, r.text[:200]
    assert len(r.content) < 1000  # no echo of the body
