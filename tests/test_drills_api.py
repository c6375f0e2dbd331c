"""The ``grade_drill`` endpoint of the running app, over raw HTTP as any visitor can call it."""

from __future__ import annotations

import httpx
import pytest

from kit.testing.server import call, endpoint_parameters
from tests.drills_submissions import CORRECT, WRONG


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=120) as c:
        yield c


def grade(client, url, drill_id, code):
    return call(client, url, "grade_drill", [drill_id, code], timeout=300)


def test_grade_drill_is_public_with_two_inputs_and_drive_is_not(live_app, client):
    params = endpoint_parameters(client, live_app.url)
    assert [p["component"].lower() for p in params["grade_drill"]] == ["dropdown", "code"]
    assert "drive_drill" not in params


def test_right_answer_passes_and_wrong_one_is_named(live_app, client):
    r = grade(client, live_app.url, "gaussian_kl", CORRECT["gaussian_kl"])
    assert r.ok, r
    (result,) = r.data
    assert result["passed"] is True and result["mistake"] is None
    assert {"passed", "tests", "mistake", "message"} <= set(result)
    assert all(set(t) == {"name", "passed", "message"} for t in result["tests"])
    r = grade(client, live_app.url, "gaussian_kl", WRONG[("gaussian_kl", "kl_sign_flipped")])
    (result,) = r.data
    assert result["passed"] is False and result["mistake"] == "kl_sign_flipped"
    assert "sign of the bracket is flipped" in result["message"]


@pytest.mark.parametrize(
    "code,words",
    [
        ("import os\ndef lerp(z_a, z_b, t):\n    return z_a\n", "line 1: imports are not allowed"),
        ("def lerp(z_a, z_b, t):\n    return ().__class__\n", "line 2: attributes starting"),
        ("def lerp(z_a, z_b, t):\n    return z_a\n" + "#" * 9000, "longer than 8 KB"),
    ],
)
def test_refusals_come_back_as_json_with_the_line(live_app, client, code, words):
    r = grade(client, live_app.url, "lerp", code)
    assert r.ok, r
    (result,) = r.data
    assert result["passed"] is False and words in result["message"]


def test_bad_inputs_get_clear_messages(live_app, client):
    r = grade(client, live_app.url, "os.system", CORRECT["lerp"])
    assert r.event == "error" and "Drill" in (r.error_message or ""), r
    r = grade(client, live_app.url, None, CORRECT["lerp"])
    assert r.event == "error" and "Pick a drill" in (r.error_message or ""), r


def test_endless_loop_is_stopped_and_the_server_keeps_serving(live_app, client):
    r = grade(
        client, live_app.url, "lerp", "def lerp(z_a, z_b, t):\n    while True:\n        t = t\n"
    )
    assert r.ok, r
    assert "stopped" in r.data[0]["message"]
    r = grade(client, live_app.url, "lerp", CORRECT["lerp"])
    assert r.ok and r.data[0]["passed"], r
    assert live_app.alive()
