"""A small load test: 8 concurrent clients x 10 requests over every model endpoint, through the
queue HTTP API, with the client code of benchmarks/load_test.py. No timing assertions (CI
machines vary); every request must succeed with well-formed outputs."""

from __future__ import annotations

import httpx
import pytest

from benchmarks.load_test import TRAIN, Workload, run_clients
from kit.demos.registry import all_demos

CLIENTS, REQUESTS = 8, 6  # 48 requests: every endpoint at least twice


@pytest.mark.slow
def test_concurrent_clients_all_get_well_formed_results(live_app):
    work = Workload.discover(live_app.url)
    assert set(work.endpoints) == {s.api_name for s in all_demos().values()} - {TRAIN}
    results = run_clients(work, CLIENTS, REQUESTS, timeout=120)
    assert len(results) == CLIENTS * REQUESTS
    assert {r.api_name for r in results} == set(work.endpoints)  # every endpoint is hit
    failed = [
        f"{r.api_name}: {r.event} HTTP {r.status} {str(r.data)[:200]}" for r in results if not r.ok
    ]
    assert not failed, "\n".join(failed)  # run_clients marks malformed outputs as failures
    # the images they point at are served: one per endpoint that returns an image
    seen = set()
    with httpx.Client(timeout=30) as client:
        for r in results:
            image = next((v for v in r.data if isinstance(v, dict) and "url" in v), None)
            if image is None or r.api_name in seen:
                continue
            seen.add(r.api_name)
            got = client.get(image["url"])
            assert got.status_code == 200 and got.content[:4] in (b"RIFF", b"\x89PNG"), r.api_name
    assert len(seen) >= 10
    assert live_app.alive()
