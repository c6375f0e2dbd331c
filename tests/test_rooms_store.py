"""The room store: create, open, expire, cap, rate limit, concurrent writes, restart."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import datetime, timedelta, timezone

import pytest

from kit.rooms import room as rm
from kit.rooms.store import CODE_PATTERN, KEY_PATTERN, RoomError, RoomStore


def bundled_bank():
    from kit.quiz.parse import load_bank  # not at import: spawned seats import this module

    return load_bank()


T0 = datetime(2026, 1, 2, 10, 0, tzinfo=timezone.utc)


class Clock:
    """A settable clock (Unix seconds) so expiry and the rate window are tested exactly."""

    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _room(ids=("autoencoder-identity",)):
    return rm.new_room(ids, T0)


def test_create_and_open(tmp_path):
    store = RoomStore(tmp_path / "r.sqlite3")
    made = store.create(_room(), client="1.2.3.4")
    assert CODE_PATTERN.match(made.code) and KEY_PATTERN.match(made.key)
    snap = store.open(made.code)
    assert snap.state["items"][0]["id"] == "autoencoder-identity" and snap.version == 1
    assert store.is_presenter(made.code, made.key)
    assert not store.is_presenter(made.code, made.key[:-1] + ("A" if made.key[-1] != "A" else "B"))
    assert not store.is_presenter(made.code, None)


def test_codes_and_keys_are_random_and_long(tmp_path):
    store = RoomStore(tmp_path / "r.sqlite3", rate_max=100)
    made = [store.create(_room(), client="c") for _ in range(30)]
    assert len({m.code for m in made}) == 30 and len({m.key for m in made}) == 30
    # 12 url-safe characters carry 72 bits, 22 carry 132 (>= 64 bits each, as the issue asks)
    assert all(len(m.code) * 6 >= 64 and len(m.key) * 6 >= 64 for m in made)


@pytest.mark.parametrize(
    "code", ["", "short", "x" * 13, "abc/../../etc", None, 12, "ab cd efgh ij"]
)
def test_malformed_codes_get_a_sentence(tmp_path, code):
    store = RoomStore(tmp_path / "r.sqlite3")
    with pytest.raises(RoomError, match="not valid"):
        store.open(code)


def test_unknown_code_gets_a_sentence(tmp_path):
    store = RoomStore(tmp_path / "r.sqlite3")
    with pytest.raises(RoomError, match="no open room"):
        store.open("A" * 12)


def test_rooms_expire_after_their_last_change(tmp_path):
    clock = Clock()
    store = RoomStore(tmp_path / "r.sqlite3", ttl_s=100, clock=clock)
    made = store.create(_room(), client="c")
    clock.t += 90
    store.update(made.code, lambda s: rm.set_notes(s, 0, "still here"))  # activity renews
    clock.t += 90
    assert store.open(made.code).state["items"][0]["notes"] == "still here"
    clock.t += 11
    with pytest.raises(RoomError, match="expired"):
        store.open(made.code)
    with pytest.raises(RoomError, match="expired"):
        store.update(made.code, lambda s: s)
    assert store.count() == 0


def test_cap_refuses_a_new_room_with_a_message_and_expiry_frees_it(tmp_path):
    clock = Clock()
    store = RoomStore(tmp_path / "r.sqlite3", max_rooms=3, ttl_s=100, rate_max=100, clock=clock)
    for i in range(3):
        store.create(_room(), client=f"c{i}")
    with pytest.raises(RoomError, match="All 3 interview rooms are in use"):
        store.create(_room(), client="another")
    clock.t += 101  # all three expire; creating sweeps them
    store.create(_room(), client="another")
    assert store.count() == 1


def test_creation_is_rate_limited_per_client(tmp_path):
    clock = Clock()
    store = RoomStore(tmp_path / "r.sqlite3", rate_max=2, rate_window_s=60, clock=clock)
    store.create(_room(), client="a")
    store.create(_room(), client="a")
    with pytest.raises(RoomError, match="2 rooms in the last 1 minutes"):
        store.create(_room(), client="a")
    store.create(_room(), client="b")  # another client is not held back
    clock.t += 61
    store.create(_room(), client="a")


def test_restart_keeps_rooms(tmp_path):
    path = tmp_path / "r.sqlite3"
    first = RoomStore(path)
    made = first.create(_room(), client="c")
    q = bundled_bank().by_id()["autoencoder-identity"]
    first.update(made.code, lambda s: rm.reveal_hint(s, q))
    del first
    again = RoomStore(path)  # a fresh object on the same file: the server restarted
    snap = again.open(made.code)
    assert snap.state["items"][0]["hints"] == 1 and snap.version == 2
    assert again.is_presenter(made.code, made.key)


def _hammer(path: str, code: str, field: str, n: int) -> None:
    store = RoomStore(path)

    def append(state):
        text = state["items"][0][field] + field[0]
        return rm.set_answer(state, 0, text) if field == "answer" else rm.set_notes(state, 0, text)

    for _ in range(n):
        store.update(code, append)


def test_concurrent_writes_from_two_threads_lose_nothing(tmp_path):
    path = str(tmp_path / "r.sqlite3")
    store = RoomStore(path)
    code = store.create(_room(), client="c").code
    n = 150
    seats = [threading.Thread(target=_hammer, args=(path, code, f, n)) for f in ("answer", "notes")]
    for t in seats:
        t.start()
    for t in seats:
        t.join()
    snap = store.open(code)
    # every read-modify-write appended one character: a lost update would leave fewer
    assert snap.state["items"][0]["answer"] == "a" * n
    assert snap.state["items"][0]["notes"] == "n" * n
    assert snap.version == 1 + 2 * n


def test_concurrent_writes_from_two_processes_lose_nothing(tmp_path):
    path = str(tmp_path / "r.sqlite3")
    store = RoomStore(path)
    code = store.create(_room(), client="c").code
    n = 80
    ctx = multiprocessing.get_context("spawn")
    seats = [ctx.Process(target=_hammer, args=(path, code, f, n)) for f in ("answer", "notes")]
    for p in seats:
        p.start()
    for p in seats:
        p.join(timeout=120)
        assert p.exitcode == 0
    snap = store.open(code)
    assert snap.state["items"][0]["answer"] == "a" * n
    assert snap.state["items"][0]["notes"] == "n" * n


def test_a_failed_change_rolls_back(tmp_path):
    store = RoomStore(tmp_path / "r.sqlite3")
    code = store.create(_room(), client="c").code
    q = bundled_bank().by_id()["autoencoder-identity"]
    with pytest.raises(rm.RoomStateError):
        store.update(code, lambda s: rm.set_mark(s, q, 99, "covered"))
    assert store.open(code).version == 1
    store.update(code, lambda s: rm.set_notes(s, 0, "fine"))  # the lock was released


# ---- the room dict -------------------------------------------------------------------------


def test_room_walkthrough_and_summary():
    bank = bundled_bank().by_id()
    ids = ["autoencoder-identity", *[i for i in bank if i != "autoencoder-identity"][:2]]
    q0, q1 = bank[ids[0]], bank[ids[1]]
    r = rm.new_room(ids, T0)
    r = rm.reveal_hint(r, q0)
    r = rm.push_demo(r, q0)
    r = rm.set_mark(r, q0, 0, "covered")
    r = rm.set_mark(r, q0, 1, "partly")
    r = rm.set_answer(r, 0, "a bottleneck <b>keeps</b> what matters")
    r = rm.set_notes(r, 0, "good start")
    r = rm.move(r, +1, T0 + timedelta(minutes=3))
    assert rm.current_id(r) == ids[1] and r["items"][0]["seconds"] == 180
    r = rm.move(r, -1, T0 + timedelta(minutes=4))  # previous: back to the first
    assert rm.current_id(r) == ids[0] and r["items"][1]["seconds"] == 60
    with pytest.raises(rm.RoomStateError, match="first question"):
        rm.move(r, -1, T0 + timedelta(minutes=4))
    r = rm.move(r, +1, T0 + timedelta(minutes=5))
    r = rm.move(r, +1, T0 + timedelta(minutes=6), skip=True)
    r = rm.finish(r, T0 + timedelta(minutes=7))
    with pytest.raises(rm.RoomStateError, match="finished"):
        rm.reveal_hint(r, q1)
    text = rm.summary_markdown(r, bank, T0 + timedelta(minutes=8))
    assert "`" + q0.demo + "`" in text
    assert f"**covered**: {q0.key_points[0]}" in text
    assert f"**partly**: {q0.key_points[1]}" in text
    assert f"**missed**: {q0.key_points[2]}" in text
    assert "&lt;b&gt;keeps&lt;/b&gt;" in text and "<b>" not in text  # typed text is inert
    assert "good start" in text and "skipped" in text
    assert "**Time** 4 min 0 s" in text  # 3 min, then 1 more after coming back
    assert "**Rubric** 1.5 / " in text
    assert "**Total:** 7 min 0 s (finished)" in text
