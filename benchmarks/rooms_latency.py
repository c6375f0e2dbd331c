"""Interview rooms: update latency between the two seats, and the store under many rooms.

Part 1 (browser): one app server, an interviewer and a candidate page in Chromium. N times the
candidate types a new answer and we time until the presenter's answer box shows it; N times
the presenter moves to the next/previous question and we time until the candidate's question
changes. Prints p50/p95 per direction.

Part 2 (store): ROOMS rooms, each with two seats (threads) that poll the version every second
like the app does, and write (a typed answer, a note) between polls; prints the write and
read latency percentiles and checks no update was lost.

    python benchmarks/rooms_latency.py [--changes 50] [--rooms 20] [--seconds 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from kit.rooms import room as rm  # noqa: E402
from kit.rooms.store import RoomStore  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, ms: list[float]) -> None:
    print(
        f"{name}: n={len(ms)} p50={pct(ms, 0.5):.0f} ms p95={pct(ms, 0.95):.0f} ms "
        f"max={max(ms):.0f} ms mean={statistics.mean(ms):.0f} ms"
    )


def seats_in_browser(changes: int) -> None:
    from playwright.sync_api import sync_playwright

    from kit.testing.browser import CHROMIUM, FLAGS
    from kit.testing.server import start_app

    tmp = Path(tempfile.mkdtemp(prefix="rooms-bench-"))
    env = {"LATENT_LAB_DATA_DIR": str(tmp / "data"), "GRADIO_TEMP_DIR": str(tmp / "cache")}
    server = start_app(env=env, log_dir=tmp)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            iv = browser.new_context().new_page()
            iv.goto(server.url + "/")
            iv.get_by_role("tab", name="Interview room").click()
            box = iv.locator("#room-pick input")
            for title in ("Why doesn't an autoencoder", "Why can't you sample"):
                box.click()
                box.fill(title)
                iv.get_by_role("option", name=title).first.wait_for()
                box.press("Enter")
            iv.click("#room-create")
            iv.locator("#room-answer-key", has_text="Model answer").wait_for(timeout=60_000)
            iv.wait_for_function(
                "() => document.querySelector('#room-candidate-link input, "
                "#room-candidate-link textarea').value.startsWith('http')"
            )
            link = iv.locator("#room-candidate-link input, #room-candidate-link textarea")
            cand = browser.new_context().new_page()
            cand.goto(link.first.input_value())
            cand.locator("#room-question h2").wait_for(timeout=60_000)

            typed: list[float] = []
            for i in range(changes):
                text = f"answer number {i}"
                area = cand.locator("#room-answer textarea")
                area.fill("")
                area.press_sequentially(text, delay=0)  # key events: Gradio's input event
                t0 = time.perf_counter()  # from the last key
                iv.wait_for_function(
                    "t => document.querySelector('#room-answer textarea').value === t",
                    arg=text,
                    timeout=30_000,
                    polling=20,
                )
                typed.append(1000 * (time.perf_counter() - t0))
            report("candidate types -> presenter sees", typed)

            moved: list[float] = []
            titles = ("Why can't you sample", "Why doesn't an autoencoder")
            for i in range(changes):
                button = "#room-next" if i % 2 == 0 else "#room-previous"
                t0 = time.perf_counter()
                iv.click(button)
                cand.locator("#room-question h2", has_text=titles[i % 2]).wait_for(timeout=30_000)
                moved.append(1000 * (time.perf_counter() - t0))
            report("presenter moves -> candidate sees", moved)
            browser.close()
    finally:
        server.stop()


def store_under_load(rooms: int, seconds: float) -> None:
    path = Path(tempfile.mkdtemp(prefix="rooms-store-")) / "rooms.sqlite3"
    store = RoomStore(path, rate_max=rooms + 1)
    now = datetime.now(timezone.utc)
    codes = [
        store.create(rm.new_room(["autoencoder-identity"], now), "bench").code for _ in range(rooms)
    ]
    writes: list[float] = []
    reads: list[float] = []
    counts: dict[tuple[str, str], int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def seat(code: str, field: str) -> None:
        mine_w, mine_r, n = [], [], 0
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            store.version(code)
            mine_r.append(1000 * (time.perf_counter() - t0))

            def append(state):
                text = state["items"][0][field] + "x"
                if field == "answer":
                    return rm.set_answer(state, 0, text)
                return rm.set_notes(state, 0, text)

            t0 = time.perf_counter()
            store.update(code, append)
            mine_w.append(1000 * (time.perf_counter() - t0))
            n += 1
            time.sleep(0.25)  # four writes a second per seat: a fast typist, debounced
        with lock:
            writes.extend(mine_w)
            reads.extend(mine_r)
            counts[(code, field)] = n

    threads = [
        threading.Thread(target=seat, args=(c, f)) for c in codes for f in ("answer", "notes")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lost = 0
    for code in codes:
        item = store.open(code).state["items"][0]
        lost += counts[(code, "answer")] - len(item["answer"])
        lost += counts[(code, "notes")] - len(item["notes"])
    print(f"store: {rooms} rooms x 2 seats for {seconds:g} s, {len(writes)} writes, lost {lost}")
    report("store write (BEGIN IMMEDIATE read-modify-write)", writes)
    report("store poll (version read)", reads)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--changes", type=int, default=50)
    ap.add_argument("--rooms", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--skip-browser", action="store_true")
    args = ap.parse_args()
    store_under_load(args.rooms, args.seconds)
    if not args.skip_browser:
        seats_in_browser(args.changes)


if __name__ == "__main__":
    main()
