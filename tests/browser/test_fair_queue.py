"""A refused event says so on the page: with the training queue full (kit.ui.edge), pressing
Train in a real browser shows the refusal's sentence in a toast instead of an empty pane."""

from __future__ import annotations

import uuid

import httpx

from kit.testing.server import endpoint_parameters
from kit.ui.edge import TRAIN_QUEUE_MAX


def _fill_training_queue(url: str) -> list[str]:
    """One running and TRAIN_QUEUE_MAX waiting runs, each from a session of its own."""
    with httpx.Client(timeout=60) as c:
        config = c.get(f"{url}/config").json()
        idx = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "train_live")
        params = endpoint_parameters(c, url)["train_live"]
        data = [*[p.get("parameter_default") for p in params][:-1], 150]
        sessions = []
        for _ in range(TRAIN_QUEUE_MAX + 1):
            s = uuid.uuid4().hex
            body = {"data": data, "fn_index": idx, "session_hash": s, "event_data": None}
            r = c.post(f"{url}/gradio_api/queue/join", json=body)
            assert r.status_code == 200, r.text
            sessions.append(s)
        return sessions


def _cancel(url: str, sessions: list[str]) -> None:
    """Drop the waiting runs: open and close each session's stream (Gradio cleans up on
    disconnect)."""
    for s in sessions:
        try:
            with httpx.Client(timeout=2) as c:
                with c.stream("GET", f"{url}/gradio_api/queue/data", params={"session_hash": s}):
                    pass
        except httpx.HTTPError:
            pass


def test_refused_training_run_shows_a_toast(page, live_app):
    page.get_by_role("tab", name="Train live").first.click()
    train = page.get_by_role("button", name="Train", exact=True)
    train.wait_for(timeout=30_000)
    sessions = _fill_training_queue(live_app.url)
    try:
        train.click()
        toast = page.locator(".toast-body").filter(has_text="training runs are already waiting")
        toast.first.wait_for(timeout=30_000)
        assert page.dialogs == []
    finally:
        _cancel(live_app.url, sessions)
