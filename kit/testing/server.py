"""A live ``python app.py`` on a free loopback port, and a small client for Gradio's HTTP API.

Shared by the HTTP-level tests (security, hardening, load, no growth; the ``live_app`` fixture
of tests/conftest.py), the browser tests and ``benchmarks/load_test.py``. The client speaks raw HTTP (httpx), as any visitor of the public
Space can: ``POST /gradio_api/call/<api_name>`` joins the queue and returns an event id, then
``GET /gradio_api/call/<api_name>/<event_id>`` streams the result as server-sent events
(``generating`` updates, then ``complete`` or ``error``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
API = "/gradio_api"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppServer:
    """A running app: its base URL (no trailing slash), process and log file."""

    url: str
    proc: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    """The environment variables this server was started with on top of os.environ."""

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def alive(self) -> bool:
        """True while the server process runs."""
        return self.proc.poll() is None

    def log(self) -> str:
        """The server's log so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def rss_kib(self) -> int:
        """Resident memory of the server process (VmRSS), in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS line")

    def stop(self) -> None:
        """Terminate the server (kill it after 10 s) and wait for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_app(
    env: dict[str, str] | None = None,
    launch_overrides: dict[str, Any] | None = None,
    timeout: float = 120.0,
    log_dir: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
) -> AppServer:
    """Start the app on a free 127.0.0.1 port and wait until its page answers HTTP 200.

    ``env`` adds environment variables (e.g. ``GRADIO_TEMP_DIR``, ``LATENT_LAB_MODELS_DIR``).
    Without ``launch_overrides`` this runs ``python app.py`` exactly; with them it serves
    app.py's ``demo`` through ``kit.ui.server.serve(demo, **launch_overrides)``. The server's
    output goes to a log file (a pipe nobody reads would block it once full). ``root``: the
    checkout to serve (default: this one), e.g. an old commit's worktree for a comparison.
    """
    port = free_port()
    full_env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        **(env or {}),
    }
    if launch_overrides:
        code = (
            "import json, sys; import app; from kit.ui.server import serve; "
            "serve(app.demo, **json.loads(sys.argv[1]))"
        )
        cmd = [sys.executable, "-c", code, json.dumps(launch_overrides)]
    else:
        cmd = [sys.executable, "app.py"]
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="latent-lab-server-"))
    log_path = log_dir / f"server-{port}.log"
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            cmd, cwd=root or ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    server = AppServer(f"http://127.0.0.1:{port}", proc, log_path, dict(env or {}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(
                f"the app exited early (code {server.proc.returncode}):\n{server.log()[-4000:]}"
            )
        try:
            if httpx.get(server.url + "/", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"the app did not answer within {timeout:.0f} s:\n{server.log()[-4000:]}")


@contextmanager
def git_worktree(ref: str):
    """A temporary git worktree of this repository at ``ref`` (e.g. an old commit to compare
    against), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="latent-lab-before-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(path), ref], cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)


@contextmanager
def running_app(**kwargs):
    """``start_app(**kwargs)`` as a context manager that always stops the server."""
    server = start_app(**kwargs)
    try:
        yield server
    finally:
        server.stop()


# ---- the queue API client ------------------------------------------------------------------


@dataclass
class CallResult:
    """What one API call came to."""

    api_name: str
    status: int
    """HTTP status of the POST that joined the queue (200, or 503 when the queue is full)."""
    event: str
    """"complete", "error" (an error event), "queue_full", "refused" (HTTP 429: the session
    already has its share of the queue, see kit.ui.edge), "http_error" (POST refused for
    another reason), "timeout", "broken" (the connection broke off) or "no_result" (the
    stream ended without an outcome)."""
    data: Any = None
    """The outputs (complete), the error payload (error) or the refusal's body."""
    seconds: float = 0.0
    updates: int = 0
    """Number of ``generating`` events before the outcome (generators such as train_live)."""
    update_times: list[float] = field(default_factory=list)
    """When each ``generating`` event arrived (time.monotonic())."""
    started: float = 0.0
    finished: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the call completed."""
        return self.event == "complete"

    @property
    def error_message(self) -> str | None:
        """The gr.Error text of an error event (None for Gradio's generic, message-less error)."""
        if isinstance(self.data, dict):
            return self.data.get("error")
        return self.data if isinstance(self.data, str) else None

    @property
    def error_title(self) -> str | None:
        """The title of an error event, if it has one."""
        return self.data.get("title") if isinstance(self.data, dict) else None

    @property
    def server_error(self) -> bool:
        """An HTTP 5xx other than the queue's "full" refusal."""
        return self.status >= 500 and self.event != "queue_full"


def call(
    client: httpx.Client,
    base_url: str,
    api_name: str,
    data: list,
    timeout: float = 60.0,
    session_hash: str | None = None,
) -> CallResult:
    """Join the queue for ``api_name`` with ``data`` and follow the event stream to its end.

    Without ``session_hash`` every call is a session of its own on the server (what a bare
    HTTP caller gets); a browser tab or a ``gradio_client.Client`` keeps one for all its calls.
    """
    t0 = time.monotonic()
    result = CallResult(api_name, 0, "no_result", started=t0)
    body = {"data": data} if session_hash is None else {"data": data, "session_hash": session_hash}
    try:
        r = client.post(f"{base_url}{API}/call/{api_name}", json=body, timeout=timeout)
    except httpx.TimeoutException:
        result.event = "timeout"
    except httpx.HTTPError as err:
        result.event, result.data = "broken", repr(err)
    else:
        result.status = r.status_code
        if r.status_code != 200:
            result.data = r.text[:500]
            full = r.status_code == 503 and "queue is full" in r.text.lower()
            result.event = (
                "queue_full" if full else "refused" if r.status_code == 429 else "http_error"
            )
        else:
            _follow(client, base_url, api_name, r.json()["event_id"], result, timeout)
    result.finished = time.monotonic()
    result.seconds = result.finished - t0
    return result


def _follow(client, base_url, api_name, event_id, result: CallResult, timeout: float) -> None:
    url = f"{base_url}{API}/call/{api_name}/{event_id}"
    deadline = time.monotonic() + timeout
    event = None
    try:
        with client.stream("GET", url, timeout=timeout) as stream:
            if stream.status_code != 200:
                result.status = stream.status_code
                result.event = "http_error"
                return
            for line in stream.iter_lines():
                if time.monotonic() > deadline:
                    result.event = "timeout"
                    return
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event is not None:
                    payload = json.loads(line[5:].strip() or "null")
                    if event == "generating":
                        result.updates += 1
                        result.update_times.append(time.monotonic())
                        result.data = payload
                    elif event in ("complete", "error"):
                        result.event, result.data = event, payload
                        return
                    event = None
    except httpx.TimeoutException:
        result.event = "timeout"
    except httpx.HTTPError as err:  # the stream broke off: the server dropped the connection
        result.event, result.data = "broken", repr(err)


def upload(client: httpx.Client, base_url: str, name: str, content: bytes) -> httpx.Response:
    """POST one file to Gradio's upload route (the response lists the server-side path)."""
    return client.post(f"{base_url}{API}/upload", files={"files": (name, content)}, timeout=60)


def file_data(path: str) -> dict:
    """The reference to a file that an API call passes for a gr.File / gr.Image input."""
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def uploaded(client: httpx.Client, base_url: str, name: str, content: bytes) -> dict:
    """Upload ``content`` and return its file reference (raises if the upload is refused)."""
    r = upload(client, base_url, name, content)
    r.raise_for_status()
    return file_data(r.json()[0])


def endpoint_parameters(client: httpx.Client, base_url: str) -> dict[str, list[dict]]:
    """Every public api_name with its parameters (component, default), from /gradio_api/info."""
    info = client.get(f"{base_url}{API}/info", timeout=30).json()["named_endpoints"]
    return {name.lstrip("/"): spec["parameters"] for name, spec in info.items()}


def endpoint_returns(client: httpx.Client, base_url: str) -> dict[str, list[str]]:
    """Every public api_name with the component type of each output, from /gradio_api/info."""
    info = client.get(f"{base_url}{API}/info", timeout=30).json()["named_endpoints"]
    return {
        name.lstrip("/"): [r["component"] for r in spec["returns"]] for name, spec in info.items()
    }


def output_problems(data: Any, components: list[str]) -> list[str]:
    """What is wrong with a ``complete`` event's outputs, given the output components (empty
    when each is what its component sends: an image is a served file, a plot an encoded
    picture, markdown a string, JSON an object)."""
    if not isinstance(data, list) or len(data) != len(components):
        n = len(data) if isinstance(data, list) else type(data).__name__
        return [f"expected {len(components)} outputs, got {n}"]
    problems = []
    for i, (value, component) in enumerate(zip(data, components, strict=True)):
        kind = component.lower()
        if kind == "image":
            good = isinstance(value, dict) and str(value.get("url", "")).startswith("http")
        elif kind == "plot":
            good = isinstance(value, dict) and str(value.get("plot", "")).startswith("data:image/")
        elif kind == "markdown":
            good = isinstance(value, str) and bool(value.strip())
        elif kind == "json":
            good = isinstance(value, (dict, list))
        elif kind in ("number", "slider"):
            good = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            good = value is not None
        if not good:
            problems.append(f"output {i} ({component}) is malformed: {str(value)[:80]!r}")
    return problems


def digit_png() -> bytes:
    """A PNG of a handwritten-looking "1": dark stroke on white, 280x280."""
    import io

    import numpy as np
    from PIL import Image

    canvas = np.full((280, 280), 255, np.uint8)
    canvas[40:240, 130:150] = 0
    buf = io.BytesIO()
    Image.fromarray(canvas).save(buf, format="PNG")
    return buf.getvalue()


def canvas_digit() -> str:
    """The "1" of ``digit_png`` as the encoder view's canvas sends it: 784 ink values."""
    import numpy as np

    from kit.demos.encoder import canvas_value

    ink = np.zeros((28, 28))
    ink[2:26, 13:15] = 1.0
    return canvas_value(ink)


def default_inputs(
    client: httpx.Client, base_url: str, params: dict[str, list[dict]]
) -> dict[str, list]:
    """Valid inputs for every public endpoint: each parameter's default, plus an uploaded digit
    for the file input and a drawing (the same digit as the sketchpad's composite, or as the
    784 ink values the encoder view's canvas sends, a gr.HTML value)."""
    digit = uploaded(client, base_url, "digit.png", digit_png())
    sketch = {"background": None, "layers": [], "composite": digit}
    out = {}
    for api_name, ps in params.items():
        data = []
        for p in ps:
            if p["component"].lower() == "file":
                data.append(digit)
            elif p["component"].lower() == "imageeditor":
                data.append(sketch)
            elif p["component"].lower() == "html":
                data.append(canvas_digit())
            else:
                data.append(p.get("parameter_default"))
        out[api_name] = data
    return out
