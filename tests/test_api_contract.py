"""The public API, as a client sees it: every endpoint names its parameters after the demo's
spec (never ``param_0``) with the parameter's range in its description."""

from __future__ import annotations

import httpx

from kit.demos.registry import DEMOS


def test_every_endpoint_names_and_describes_its_parameters(live_app):
    info = httpx.get(f"{live_app.url}/gradio_api/info", timeout=30).json()
    endpoints = info["named_endpoints"]
    for spec in DEMOS:
        endpoint = endpoints[f"/{spec.api_name}"]
        names = [p["parameter_name"] for p in endpoint["parameters"]]
        visible = [p for p in spec.params if p.name in names]
        assert names == [p.name for p in visible], spec.id
        for given, p in zip(endpoint["parameters"], visible, strict=True):
            if p.presettable:
                assert p.accepts() in given["python_type"]["description"], (spec.id, p.name)
    assert not any(
        p["parameter_name"].startswith("param_")
        for e in endpoints.values()
        for p in e["parameters"]
    )
