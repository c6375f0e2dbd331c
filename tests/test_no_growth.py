"""Nothing accumulates per request: the same batch (every model endpoint once) run twice leaves
no matplotlib figures behind in-process, and on the live server neither its memory (VmRSS) nor
its Gradio cache folder grows beyond what the batch itself explains.

Why the cache may grow at all: Gradio stores each output image in GRADIO_TEMP_DIR under a hash
of its content, so a repeated deterministic request reuses its file, but the endpoints that pick
a random digit (no seed) produce new images each time. ``DELETE_CACHE`` (kit/ui/server.py) bounds
that: files older than an hour are swept every half hour. One more file per upload request comes
from Gradio itself: ``gr.File(type="filepath")`` preprocessing creates an empty ``tmp*`` file in
the cache root and never removes it (gradio 6.31, components/file.py); zero bytes, but not swept.

Server memory: the batches run in one Gradio session, as a browser tab's calls do. A bare HTTP
call without a session hash is a new session, which Gradio keeps (~0.85 MB each) up to
``STATE_SESSION_CAPACITY``; the last test shows that the cap stops that growth.
"""

from __future__ import annotations

import gc
from pathlib import Path

import httpx
import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from benchmarks.app_latency import bench_inputs
from benchmarks.load_test import TRAIN, Workload, run_clients
from kit.demos.registry import all_demos
from kit.testing.server import running_app
from kit.ui.server import DELETE_CACHE, STATE_SESSION_CAPACITY, launch_settings

RANDOM_PICKS = {"random_test_digit", "beta_random_digit"}  # no seed: a new digit every call
UPLOAD_INPUTS = {  # endpoints with a gr.File input (a file parameter in their spec)
    s.api_name for s in all_demos().values() if any(p.kind == "file" for p in s.params)
}
RSS_GROWTH = 0.05  # at most 5% between the end of batch 1 and the end of batch 2
CACHE_ALLOWANCE = 256 * 1024  # bytes: the random picks' new images (a few KB each)


def _figures_alive() -> int:
    gc.collect()
    return sum(issubclass(type(o), Figure) for o in gc.get_objects())  # type(): no proxies


def test_demo_functions_leave_no_figures_behind(tmp_path):
    inputs = bench_inputs(tmp_path)  # a drawing and an uploaded PNG for the two input demos
    specs = [s for s in all_demos().values() if s.api_name != TRAIN]

    def batch() -> tuple[list[int], int]:
        for spec in specs:
            out = spec.run(**inputs.get(spec.id, {}))
            assert isinstance(out, dict) and out, spec.id
            del out
        return plt.get_fignums(), _figures_alive()

    batch()  # warm-up: the read-only caches fill here
    open1, alive1 = batch()
    open2, alive2 = batch()
    assert open1 == open2 == [], "a demo left a pyplot figure open"
    assert alive2 <= alive1, f"Figure objects grew from {alive1} to {alive2} between batches"


def _cache_files(folder: Path) -> dict[Path, int]:
    return {f: f.stat().st_size for f in folder.rglob("*") if f.is_file()}


def test_settings_bound_sessions_and_cache():
    assert launch_settings()["state_session_capacity"] == STATE_SESSION_CAPACITY <= 1000
    every, older_than = DELETE_CACHE
    assert 0 < every <= 3600 and 0 < older_than <= 2 * 3600


@pytest.mark.slow
def test_server_memory_and_cache_stay_flat(live_app):
    cache = Path(live_app.env["GRADIO_TEMP_DIR"])
    work = Workload.discover(live_app.url)

    def batch() -> list:
        results = run_clients(work, 1, len(work.endpoints), timeout=120)
        failed = [r for r in results if not r.ok]
        assert not failed, failed[:3]
        return results

    batch()  # warm-up: models, encodings and figures' fonts load here
    batch()
    rss1, files1 = live_app.rss_kib(), _cache_files(cache)
    results2 = batch()
    rss2, files2 = live_app.rss_kib(), _cache_files(cache)

    growth = (rss2 - rss1) / rss1
    print(f"server RSS {rss1 / 1024:.0f} -> {rss2 / 1024:.0f} MiB ({growth:+.1%})")
    assert growth < RSS_GROWTH, f"server RSS grew {growth:.1%} in one batch"

    new = {f: n for f, n in files2.items() if f not in files1}
    print(f"cache {sum(files1.values()) / 1024:.0f} KiB, +{sum(new.values()) / 1024:.0f} KiB")
    explained = set()  # the files the random picks of batch 2 returned
    for r in results2:
        if r.api_name in RANDOM_PICKS:
            explained |= {Path(v["path"]) for v in r.data if isinstance(v, dict) and "path" in v}
    stray = [f for f, n in new.items() if f.parent == cache and f.name.startswith("tmp") and not n]
    unexplained = [f for f in new if f not in explained and f not in stray]
    assert not unexplained, f"batch 2 added cache files no random pick returned: {unexplained[:5]}"
    assert len(stray) <= len(UPLOAD_INPUTS)  # gr.File's empty temp file, one per upload call
    assert sum(new.values()) <= CACHE_ALLOWANCE
    with httpx.Client(timeout=30) as client:  # and the server still serves the earlier files
        some = next(iter(files1))
        assert client.get(f"{live_app.url}/gradio_api/file={some}").status_code == 200


@pytest.mark.slow
def test_session_cap_stops_memory_growth(tmp_path):
    """With a small session cap, once it is full, more API calls no longer grow the server."""
    overrides = {"state_session_capacity": 20}
    env = {"GRADIO_TEMP_DIR": str(tmp_path / "cache")}
    with running_app(env=env, launch_overrides=overrides, log_dir=tmp_path) as app:
        work = Workload.discover(app.url).only(["no_gradient_path"])
        # bare HTTP calls without a session hash: every call is a new session on the server
        assert len(run_clients(work, 2, 25, sessions=False)) == 50  # the cap of 20 is full
        rss1 = app.rss_kib()
        results = run_clients(work, 2, 40, sessions=False)  # 80 more: ~70 MB if all were kept
        rss2 = app.rss_kib()
    assert all(r.ok for r in results)
    growth = (rss2 - rss1) / rss1
    print(f"server RSS {rss1 / 1024:.0f} -> {rss2 / 1024:.0f} MiB ({growth:+.1%}) over 80 calls")
    assert growth < 0.02
