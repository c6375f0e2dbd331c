"""``LATENT_LAB_MCP=1 python app.py``: every public demo is an MCP tool with its typed parameters.

Reads the tool schema the running server publishes (``/gradio_api/mcp/schema``) and calls one
tool over MCP's streamable-HTTP transport (JSON-RPC ``tools/call``), as an assistant would.
Needs Gradio's MCP extra (``pip install 'gradio[mcp]'``); skipped with that reason without it.
"""

from __future__ import annotations

import importlib.util
import json

import httpx
import pytest

from app import mcp_requested
from kit.demos.registry import all_demos

needs_mcp = pytest.mark.skipif(
    importlib.util.find_spec("mcp") is None,
    reason="Gradio's MCP extra is not installed (pip install 'gradio[mcp]')",
)


def test_the_flag_and_the_environment_variable():
    assert mcp_requested(["--mcp"], {}) and mcp_requested([], {"LATENT_LAB_MCP": "1"})
    assert mcp_requested([], {"LATENT_LAB_MCP": "True"})
    assert not mcp_requested([], {}) and not mcp_requested([], {"LATENT_LAB_MCP": "0"})


@pytest.fixture(scope="module")
def mcp_app(tmp_path_factory):
    from kit.testing.server import start_app

    tmp = tmp_path_factory.mktemp("mcp-app")
    server = start_app(
        env={"LATENT_LAB_MCP": "1", "GRADIO_TEMP_DIR": str(tmp / "cache")},
        log_dir=tmp,
        timeout=300,
    )
    yield server
    server.stop()


def _sse_json(text: str) -> dict:
    """The JSON-RPC message of an MCP reply, sent as server-sent events or as plain JSON."""
    data = [ln[5:].strip() for ln in text.splitlines() if ln.startswith("data:")]
    return json.loads(data[-1] if data else text)


@needs_mcp
def test_schema_lists_every_public_demo_with_its_parameters(mcp_app):
    reply = httpx.get(mcp_app.url + "/gradio_api/mcp/schema", timeout=60)
    assert reply.status_code == 200
    tools = {t["name"]: t for t in reply.json()}
    endpoints = httpx.get(mcp_app.url + "/gradio_api/info", timeout=60).json()["named_endpoints"]
    specs = {s.api_name: s for s in all_demos().values()}
    # exactly the public API: every demo (plus any other public endpoint, e.g. grade_drill),
    # and no internal event (slider drags, state updates, the page-load handler)
    assert set(tools) == {name.lstrip("/") for name in endpoints}
    assert set(specs) <= set(tools)
    for name, spec in specs.items():
        tool = tools[name]
        assert tool["description"].startswith(spec.summary[:40])
        props = tool["inputSchema"]["properties"]
        # the same parameters as the API (a parameter the page fixes, like the seed of a
        # random pick, is in neither), in the spec's order, each described from the spec
        api = [p["parameter_name"] for p in endpoints[f"/{name}"]["parameters"]]
        assert list(props) == api, name
        published = [p for p in spec.params if p.name in props]
        assert [p.name for p in published] == api, name
        assert len(published) >= len(spec.params) - 1, name
        for p in published:
            assert p.label in props[p.name]["description"], (name, p.name)
            if p.presettable:
                assert p.accepts() in props[p.name]["description"], (name, p.name)


@needs_mcp
def test_a_tool_call_runs_the_demo(mcp_app):
    spec = all_demos()["latent.decode_point"]
    expected = spec.run(z1=0.5, z2=-1.0)["summary"]
    headers = {"Accept": "application/json, text/event-stream"}
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": spec.api_name, "arguments": {"z1": 0.5, "z2": -1.0}},
    }
    reply = httpx.post(mcp_app.url + "/gradio_api/mcp/", json=call, headers=headers, timeout=120)
    assert reply.status_code == 200, reply.text[:500]
    message = _sse_json(reply.text)
    assert "error" not in message, message
    result = message["result"]
    assert not result.get("isError"), result
    texts = [c["text"] for c in result["content"] if c["type"] == "text"]
    assert any(expected.split("\n")[0][:60] in t for t in texts), texts


@needs_mcp
def test_an_assistant_can_draw_a_digit_as_784_numbers(mcp_app):
    """``encode_drawing`` takes the canvas's 28 x 28 ink as text, so a tool call can draw."""
    import numpy as np

    from kit.demos.encoder import canvas_value

    ink = np.zeros((28, 28))
    ink[3:25, 12:16] = 1.0  # a "1"
    drawing = canvas_value(ink)
    spec = all_demos()["latent.encode_drawing"]
    expected = spec.run(drawing=drawing, seed=5)["numbers"]
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": spec.api_name, "arguments": {"drawing": drawing, "seed": 5}},
    }
    headers = {"Accept": "application/json, text/event-stream"}
    reply = httpx.post(mcp_app.url + "/gradio_api/mcp/", json=call, headers=headers, timeout=120)
    assert reply.status_code == 200, reply.text[:500]
    result = _sse_json(reply.text)["result"]
    assert not result.get("isError"), result
    texts = [c["text"] for c in result["content"] if c["type"] == "text"]
    shown = f"'z': {expected['z']}, 'recon': {expected['recon']}"  # the numbers, as listed
    assert any(shown in t for t in texts), (shown, texts)
