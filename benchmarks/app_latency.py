"""App latency: every registered demo in-process, and the app's cold start vs a bare Gradio app.

    python benchmarks/app_latency.py [--runs 30] [--starts 3] [--skip-cold]

1. Each demo in ``kit.demos.registry.all_demos()`` is called with its defaults: two warm-up
   calls, then ``--runs`` timed calls; p50 and p95 are printed with the target (50 ms, or 250 ms
   for demos that return a matplotlib figure) and PASS/FAIL. ``torch.set_num_threads(1)`` and
   ``gc.freeze()`` after warm-up, as in the app. The train-live demo trains a model and is
   reported but has no target. "draw ms" is the median time Gradio's ``gr.Plot`` then spends
   drawing the demo's figures (``savefig`` to WebP) when the app's per-argument plot cache
   (``kit.ui.errors.named_outputs``) misses; on a hit it is zero.
2. Cold start: ``python app.py`` until the page answers HTTP 200, against a bare Gradio app that
   imports torch, alternated ``--starts`` times on free loopback ports; medians and their ratio
   (target <= 1.3x).
3. ``--random``: every public endpoint with fresh random valid inputs on every call (so no
   per-argument cache can hit), "server time" = the demo function plus the Gradio
   ``postprocess`` of each output by the component the tab shows it in (what the server does
   before it answers: drawing a ``gr.Plot``, encoding a ``gr.Image``). With ``--before REF``
   (e.g. ``--before main``) the same inputs also go, call by call alternated, to the code at
   git ref REF (checked out in a temporary worktree and run in its own worker process), and a
   before/after table is printed. Targets: p95 <= 100 ms per endpoint. "first ms" is the
   first call in the fresh worker (model loading and per-process pictures included).
4. ``--http``: the same random inputs through the running app's queue API (``python app.py``
   on loopback, one client keeping one session, one request at a time), alternated with a
   bare Gradio echo endpoint started in the same run; p50/p95 of the round trip, and p95 minus the echo's
   (target <= 150 ms). With ``--before REF`` the old app is served and alternated too.

    python benchmarks/app_latency.py --random --http --before main --runs 20 --skip-cold
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]  # where app.py is
sys.path.insert(0, str(ROOT))  # this checkout's kit first (the worker puts another one first)

BARE_APP = """
import torch  # noqa: F401  (the bare app pays for torch's import too)
import gradio as gr

with gr.Blocks() as demo:
    gr.Markdown("bare")
demo.launch()
"""


def bench_inputs(tmp: Path) -> dict[str, dict]:
    """Presets for demos whose defaults are "no input yet": a drawn stroke, an uploaded PNG."""
    import numpy as np
    from PIL import Image

    from kit.testing.server import canvas_digit

    stroke = np.zeros((280, 280, 4), np.uint8)
    stroke[40:240, 130:150] = (0, 0, 0, 255)  # a black "1" on a transparent sketchpad
    png = tmp / "digit.png"
    Image.fromarray(255 - stroke[..., 3]).save(png)  # the same "1", dark on white, as a file
    return {
        "train_live.run": {"steps": 60},  # a short run: the default is a 13 s stream
        "reconstruction.drawing": {
            "sketch": {"background": None, "layers": [], "composite": stroke}
        },
        "reconstruction.upload": {"path": str(png)},
        "latent.encode_drawing": {"drawing": canvas_digit()},  # what the page's canvas sends
        "latent.encode_upload": {"path": str(png)},
    }


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def bench_demos(runs: int) -> bool:
    import gc

    import torch
    from matplotlib.figure import Figure

    from kit.demos.registry import all_demos

    torch.set_num_threads(1)
    tmp = tempfile.TemporaryDirectory()
    inputs = bench_inputs(Path(tmp.name))
    demos = sorted(all_demos().items())
    for demo_id, spec in demos:  # warm every cache first, as a running server would be
        if not spec.trains:
            spec.run(**inputs.get(demo_id, {}))
    gc.collect()
    gc.freeze()  # as kit.ui.server.serve does before the app starts serving
    ok = True
    print(f"{'demo':38s} {'p50 ms':>8s} {'p95 ms':>8s} {'target':>7s}      draw ms")
    for demo_id, spec in demos:
        n = 3 if spec.trains else runs
        args = inputs.get(demo_id, {})
        out = spec.run(**args)
        spec.run(**args)
        times = []
        for _ in range(n):
            t = time.perf_counter()
            out = spec.run(**args)
            times.append((time.perf_counter() - t) * 1000)
        plots = any(isinstance(v, Figure) for v in out.values())
        target = None if spec.trains else (250 if plots else 50)
        p50, p95 = statistics.median(times), percentile(times, 95)
        verdict = "" if target is None else ("PASS" if p95 <= target else "FAIL")
        ok &= verdict != "FAIL"
        draw = ""
        if plots and not spec.trains:  # what gr.Plot adds when nothing is cached
            draws = []
            for _ in range(max(3, n // 5)):
                figs = [v for v in spec.run(**args).values() if isinstance(v, Figure)]
                t = time.perf_counter()
                for fig in figs:
                    fig.savefig(io.BytesIO(), format="webp")
                draws.append((time.perf_counter() - t) * 1000)
            draw = f"{statistics.median(draws):8.0f}"
        print(f"{demo_id:38s} {p50:8.1f} {p95:8.1f} {target or '-':>7} {verdict:4s} {draw}")
    tmp.cleanup()
    return ok


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_start(script: Path) -> float:
    port = _free_port()
    env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - t < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - t
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{script} did not answer within 120 s")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def bench_cold_start(starts: int) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(BARE_APP)
        app, base = [], []
        for _ in range(starts):
            base.append(time_start(bare))
            app.append(time_start(ROOT / "app.py"))
    a, b = statistics.median(app), statistics.median(base)
    print(
        f"\ncold start to HTTP 200: app.py {a:.2f} s, bare Gradio + torch {b:.2f} s "
        f"(medians of {starts}) -> ratio {a / b:.2f}x (target <= 1.3x)"
    )
    return a / b <= 1.3


# ---- 3. fresh random inputs, in-process server time, before vs after -------------------------

SERVER_TARGET_MS = 100.0  # p95 of one endpoint's server time, random inputs
HTTP_TARGET_MS = 150.0  # p95 of a round trip minus the bare echo endpoint's p95
BETA_MODELS = ("beta-vae-0.5", "beta-vae-1", "beta-vae-4", "beta-vae-10")
REPARAM_FUNCTIONS = ("z^2", "sin(z)", "exp(z)", "step 1[z>0]")
SAMPLERS = (
    "Normal(mu, sigma).sample()",
    "torch.normal(mu, sigma)",
    "(mu + sigma * eps).detach()",
    "Normal(mu, sigma).rsample()",
    "mu + sigma * eps",
)


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _stepped(rng, lo: float, hi: float, step: float) -> float:
    """A random value lo + k * step in [lo, hi], as a slider with that step would send."""
    return round(lo + step * int(rng.integers(0, round((hi - lo) / step) + 1)), 6)


def _seed(rng) -> int:
    return int(rng.integers(0, 2**31 - 1))


def random_drawing(rng) -> np.ndarray:
    """A sketchpad composite (280, 280, 4) RGBA: two to four random black strokes."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    points = [tuple(int(v) for v in rng.integers(40, 240, 2)) for _ in range(rng.integers(3, 6))]
    draw.line(points, fill=(0, 0, 0, 255), width=int(rng.integers(14, 26)), joint="curve")
    return np.asarray(image)


def random_args(demo_id: str, rng, tmp: Path) -> dict:
    """Fresh valid arguments for one demo, drawn from the ranges its tab offers."""

    def canvas_value(ink):  # imported late: an old checkout (--before) has no encoder view
        from kit.demos.encoder import canvas_value as encode

        return encode(ink)

    index = lambda: int(rng.integers(0, 10000))  # noqa: E731
    digit_class = lambda: _pick(rng, ["any", *map(str, range(10))])  # noqa: E731
    noise = lambda: _stepped(rng, 0.0, 1.0, 0.05)  # noqa: E731
    if demo_id in ("reconstruction.upload", "latent.encode_upload"):
        from PIL import Image

        path = tmp / f"upload-{_seed(rng)}.png"
        Image.fromarray(255 - random_drawing(rng)[..., 3]).save(path)  # dark strokes on white
    a, b = index(), index()
    table = {
        "beta.kl_per_dim": lambda: {},
        "beta.rate_distortion": lambda: {},
        "latent.scatter": lambda: {},
        "beta.random_digit": lambda: {"digit_class": digit_class(), "seed": _seed(rng)},
        "beta.reconstruct": lambda: {"index": index()},
        "beta.traversal": lambda: {
            "index": index(),
            "model": _pick(rng, ["all", *BETA_MODELS]),
            "steps": int(rng.integers(3, 16)),
        },
        "generate.same_style": lambda: {
            "seed": _seed(rng),
            "temperature": _stepped(rng, 0.0, 2.0, 0.05),
            "digit": int(rng.integers(0, 10)),
        },
        "generate.samples": lambda: {
            "digit": int(rng.integers(0, 10)),
            "n_samples": int(rng.integers(1, 65)),
            "temperature": _stepped(rng, 0.0, 2.0, 0.05),
            "seed": _seed(rng),
        },
        "generate.style_sliders": lambda: {
            "digit": int(rng.integers(0, 10)),
            "z1": _stepped(rng, -3.0, 3.0, 0.05),
            "z2": _stepped(rng, -3.0, 3.0, 0.05),
        },
        "latent.encode_test_digit": lambda: {
            "index": index(),
            "model": _pick(rng, ["vae-2", "cvae-2"]),
            "label": _pick(rng, ["auto", *map(str, range(10))]),
            "seed": _seed(rng),
        },
        "latent.encode_drawing": lambda: {  # the page's canvas: 28 x 28 ink values as text
            "drawing": canvas_value(
                random_drawing(rng)[..., 3].reshape(28, 10, 28, 10).mean((1, 3)) / 255
            ),
            "model": _pick(rng, ["vae-2", "cvae-2"]),
            "seed": _seed(rng),
        },
        "latent.encode_upload": lambda: {"path": str(path), "seed": _seed(rng)},
        "latent.class_path": lambda: {
            "model": _pick(
                rng, ["vae-2", "beta-vae-0.5", "beta-vae-1", "beta-vae-4", "beta-vae-10"]
            ),
            "class_a": str(int(rng.integers(0, 10))),
            "class_b": str(int(rng.integers(0, 10))),
            "steps": int(rng.integers(3, 17)),
            "seed": _seed(rng),
        },
        "latent.point_path": lambda: {
            "z1_a": round(float(rng.uniform(-4, 4)), 2),
            "z2_a": round(float(rng.uniform(-4, 4)), 2),
            "z1_b": round(float(rng.uniform(-4, 4)), 2),
            "z2_b": round(float(rng.uniform(-4, 4)), 2),
            "steps": int(rng.integers(3, 17)),
            "model": _pick(rng, ["vae-2", "cvae-2"]),
            "label": str(int(rng.integers(0, 10))),
        },
        "latent.decode_point": lambda: {
            "z1": round(float(rng.uniform(-6, 6)), 2),
            "z2": round(float(rng.uniform(-6, 6)), 2),
        },
        "latent.grid": lambda: {"r": _stepped(rng, 0.5, 5.0, 0.25), "n": int(rng.integers(5, 26))},
        "latent.interpolate": lambda: {
            "index_a": a,
            "index_b": b if b != a else (a + 1) % 10000,
            "steps": int(rng.integers(2, 21)),
        },
        "reconstruction.drawing": lambda: {
            "sketch": {"background": None, "layers": [], "composite": random_drawing(rng)},
            "noise": noise(),
        },
        "reconstruction.random_digit": lambda: {
            "digit_class": digit_class(),
            "seed": _seed(rng),
            "noise": noise(),
        },
        "reconstruction.test_digit": lambda: {"index": index(), "noise": noise()},
        "reconstruction.upload": lambda: {"path": str(path), "noise": noise()},
        "under_the_hood.elbo_vs_iwae": lambda: {"index": index(), "seed": _seed(rng)},
        "under_the_hood.no_gradient_path": lambda: {
            "method": _pick(rng, SAMPLERS),
            "mu": _stepped(rng, -3.0, 3.0, 0.1),
            "sigma": _stepped(rng, 0.1, 3.0, 0.1),
            "seed": _seed(rng),
        },
        "under_the_hood.posterior_collapse": lambda: {"model": _pick(rng, BETA_MODELS)},
        "under_the_hood.reparam_gradients": lambda: {
            "f": _pick(rng, REPARAM_FUNCTIONS),
            "mu": _stepped(rng, -3.0, 3.0, 0.1),
            "sigma": _stepped(rng, 0.1, 3.0, 0.1),
            "n_samples": int(rng.integers(1, 1001)),
            "repeats": int(rng.integers(1, 201)) * 10,
            "seed": _seed(rng),
        },
        "under_the_hood.vae_vs_gan": lambda: {
            "n_shown": int(rng.integers(1, 17)) * 4,
            "seed": _seed(rng),
        },
    }
    if demo_id not in table:
        raise KeyError(f"no random inputs for demo {demo_id!r}: add it to random_args")
    return table[demo_id]()


def worker(root: str) -> None:
    """Serve timing requests for the code at ``root``: read "<demo id> <seed>" lines on stdin,
    answer "@@" + JSON {"ms": server time} (or {"error": ...}) on stdout."""
    sys.path.insert(0, root)
    os.chdir(root)
    tmp = Path(tempfile.mkdtemp(prefix="latency-worker-"))
    os.environ["GRADIO_TEMP_DIR"] = str(tmp / "gradio")
    import gc

    import torch

    torch.set_num_threads(1)
    from kit.demos.registry import all_demos

    outputs_of, specs = output_components(), all_demos()
    gc.collect()
    gc.freeze()
    print("@@ready", flush=True)
    for line in sys.stdin:
        demo_id, seed = line.split()
        if demo_id not in specs or demo_id not in outputs_of:  # a demo this checkout lacks
            print("@@" + json.dumps({"error": f"no demo {demo_id} here"}), flush=True)
            continue
        spec, outputs = specs[demo_id], outputs_of[demo_id]
        args = random_args(demo_id, np.random.default_rng(int(seed)), tmp)
        t = time.perf_counter()
        try:
            out = spec.run(**args)
            t_fn = time.perf_counter()
            for name, component in outputs.items():  # what Gradio does before answering
                if name in out:
                    component.postprocess(out[name])
        except Exception as err:  # a benchmark reports any failure and goes on
            print("@@" + json.dumps({"error": f"{type(err).__name__}: {err}"}), flush=True)
            continue
        done = time.perf_counter()
        reply = {
            "ms": (done - t) * 1000,
            "fn_ms": (t_fn - t) * 1000,
            "post_ms": (done - t_fn) * 1000,
        }
        print("@@" + json.dumps(reply), flush=True)


def output_components() -> dict[str, dict]:
    """Demo id -> {output name: the component its tab shows it in}, for this checkout.

    Since the typed demo contract each tab's ``build`` returns its ``DemoLink``s; before it
    (e.g. 053fca3) ``kit.ui.links.demo_links`` read them from the built app.
    """
    from kit.ui import links

    if hasattr(links, "demo_links"):  # the older checkout
        import app

        return {k: link.outputs for k, link in links.demo_links(app.demo).items()}
    import gradio as gr

    from kit.ui import TABS

    found = {}
    with gr.Blocks() as blocks:
        for _, label, build in TABS:
            with gr.Tab(label):
                found.update({link.id: link.outputs for link in build(blocks)})
    return found


class Worker:
    """A ``worker`` subprocess for one checkout."""

    def __init__(self, root: Path):
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", str(root)],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"},
        )
        self._read()

    def _read(self) -> str:
        for line in self.proc.stdout:
            if line.startswith("@@"):
                return line[2:].strip()
        raise RuntimeError(f"the worker exited (code {self.proc.wait()})")

    def time(self, demo_id: str, seed: int) -> dict | None:
        """{"ms": total, "fn_ms": the demo, "post_ms": postprocessing}, or None on an error."""
        self.proc.stdin.write(f"{demo_id} {seed}\n")
        self.proc.stdin.flush()
        reply = json.loads(self._read())
        if "error" in reply:
            print(f"  {demo_id} seed {seed}: {reply['error']}", file=sys.stderr)
            return None
        return reply

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@contextmanager
def old_checkout(ref: str | None):
    """A temporary git worktree of ``ref`` (None: no old code), removed afterwards."""
    if ref is None:
        yield None
        return
    from kit.testing.server import git_worktree

    with git_worktree(ref) as path:
        yield path


def _p(values: list[float], q: float) -> float:
    return percentile(values, q) if values else float("nan")


def public_demos() -> list[tuple[str, object]]:
    from kit.demos.registry import all_demos

    return [(i, s) for i, s in sorted(all_demos().items()) if not s.trains]


def bench_random(runs: int, old_root: Path | None, seed: int) -> bool:
    """Server time per endpoint on fresh random inputs, new code (and old, alternated)."""
    workers = {"after": Worker(ROOT)}
    if old_root is not None:
        workers["before"] = Worker(old_root)
    times: dict[str, dict[str, list[float]]] = {k: {} for k in workers}
    parts: dict[str, dict[str, list[float]]] = {"fn_ms": {}, "post_ms": {}}  # new code only
    first: dict[str, dict[str, float]] = {k: {} for k in workers}
    demos = public_demos()
    for demo_id, _ in demos:
        for i in range(runs + 1):
            for label, w in workers.items():  # the same inputs, one after the other
                reply = w.time(demo_id, seed + i)
                if reply is None:
                    continue
                if i == 0:
                    first[label][demo_id] = reply["ms"]
                    continue
                times[label].setdefault(demo_id, []).append(reply["ms"])
                if label == "after":
                    for k, v in parts.items():
                        v.setdefault(demo_id, []).append(reply[k])
    for w in workers.values():
        w.close()
    ok = True
    print(
        f"\nserver time, fresh random inputs ({runs} calls each after one first call; "
        f"target p95 <= {SERVER_TARGET_MS:.0f} ms)"
    )
    head = f"{'endpoint':28s}"
    if old_root is not None:
        head += f" {'before p50':>10s} {'p95':>7s} |"
    head += f" {'first ms':>8s} {'p50':>7s} {'p95':>7s} {'demo p50':>8s} {'encode p50':>10s}"
    head += f"  target  {'p95 before/after':>16s}"
    print(head)
    for demo_id, spec in demos:
        after = times["after"].get(demo_id, [])
        p95 = _p(after, 95)
        verdict = "PASS" if p95 <= SERVER_TARGET_MS else "FAIL"
        ok &= verdict == "PASS"
        row = f"{spec.api_name:28s}"
        ratio = ""
        if old_root is not None:
            before = times["before"].get(demo_id, [])
            row += f" {_p(before, 50):10.1f} {_p(before, 95):7.1f} |"
            ratio = f"{_p(before, 95) / p95:.1f}x" if p95 > 0 else ""
        row += f" {first['after'].get(demo_id, float('nan')):8.1f} {_p(after, 50):7.1f} {p95:7.1f}"
        fn, post = parts["fn_ms"].get(demo_id, []), parts["post_ms"].get(demo_id, [])
        row += f" {_p(fn, 50):8.1f} {_p(post, 50):10.1f}"
        print(f"{row}  {verdict:6s}  {ratio:>16s}")
    return ok


# ---- 4. HTTP round trips against a bare echo endpoint ----------------------------------------

ECHO_APP = """
import gradio as gr

with gr.Blocks() as demo:
    box = gr.Textbox()
    out = gr.Textbox()
    box.submit(lambda s: s, box, out, api_name="echo")
demo.queue().launch()
"""


# One session for all calls, as a browser tab or a ``gradio_client.Client`` keeps: a bare HTTP
# call without one is a new session each time, which costs this app ~100 ms more per call
# (Gradio copies every block's state into each new session; the echo app has three blocks).
SESSION = "latencybench01"


def serve_script(cwd: Path, args: list[str]) -> tuple[subprocess.Popen, str]:
    """Start ``python <args>`` in ``cwd`` on a free loopback port; wait for HTTP 200."""
    port = _free_port()
    env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    proc = subprocess.Popen([sys.executable, *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    t = time.perf_counter()
    while time.perf_counter() - t < 180:
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"{args} in {cwd} did not answer within 180 s")


def _http_data(
    client, url: str, params: list[dict], args: dict, tmp: Path, defaults: dict | None = None
) -> list:
    """``args`` as the queue API's data list for ``url``: by parameter name where the API names
    them (``defaults`` for any ``args`` leaves out), else in the demo's parameter order; files
    uploaded first (not timed)."""
    from PIL import Image

    from kit.testing.server import uploaded

    data = []
    names = [p.get("parameter_name") for p in params]
    known = {**(defaults or {}), **args}
    if all(n in known for n in names):  # the typed contract names each parameter
        values = [known[n] for n in names]
    else:  # older apps: the event's inputs are the first parameters of the demo, in order
        values = list(args.values())[: len(params)]
    for p, value in zip(params, values, strict=True):
        kind = p["component"].lower()
        if kind == "file":
            data.append(uploaded(client, url, "digit.png", Path(value).read_bytes()))
        elif kind == "imageeditor":
            png = tmp / "sketch.png"
            Image.fromarray(value["composite"]).save(png)
            ref = uploaded(client, url, "sketch.png", png.read_bytes())
            data.append({"background": None, "layers": [], "composite": ref})
        elif (
            value not in p.get("type", {}).get("enum", [value]) and str(value) in p["type"]["enum"]
        ):
            data.append(str(value))  # e.g. a digit offered as the text "7"
        else:
            data.append(value)
    return data


def bench_http(runs: int, old_root: Path | None, seed: int) -> bool:
    import httpx

    from kit.testing.server import call, endpoint_parameters

    tmp = Path(tempfile.mkdtemp(prefix="latency-http-"))
    echo_script = tmp / "echo_app.py"
    echo_script.write_text(ECHO_APP)
    procs = []
    try:
        proc, echo_url = serve_script(tmp, [str(echo_script)])
        procs.append(proc)
        servers = {}
        for label, root in (("after", ROOT), ("before", old_root)):
            if root is not None:
                proc, url = serve_script(root, ["app.py"])
                procs.append(proc)
                servers[label] = url
        rtt: dict[str, dict[str, list[float]]] = {k: {} for k in servers}
        echo: list[float] = []
        errors: dict[str, int] = {k: 0 for k in servers}
        demos = public_demos()
        with httpx.Client() as client:
            params = {k: endpoint_parameters(client, u) for k, u in servers.items()}
            call(client, echo_url, "echo", ["warm"])
            for demo_id, spec in demos:
                for i in range(runs + 1):
                    args = random_args(demo_id, np.random.default_rng(seed + i), tmp)
                    for label, url in servers.items():
                        data = _http_data(
                            client,
                            url,
                            params[label][spec.api_name],
                            args,
                            tmp,
                            spec.defaults,
                        )
                        r = call(client, url, spec.api_name, data, session_hash=SESSION)
                        if not r.ok:
                            errors[label] += 1
                            print(f"  {label} {spec.api_name}: {r.event} {str(r.data)[:120]}",
                                  file=sys.stderr)  # fmt: skip
                        elif i > 0:  # the first call of each endpoint warms it up
                            rtt[label].setdefault(demo_id, []).append(r.seconds * 1000)
                    e = call(client, echo_url, "echo", [f"ping {i}"], session_hash=SESSION)
                    if e.ok and i > 0:
                        echo.append(e.seconds * 1000)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
    e50, e95 = _p(echo, 50), _p(echo, 95)
    print(
        f"\nHTTP round trip (queue API, one client, loopback), random inputs, {runs} calls each; "
        f"bare echo endpoint p50 {e50:.1f} ms, p95 {e95:.1f} ms (n = {len(echo)}); "
        f"target p95 - echo p95 <= {HTTP_TARGET_MS:.0f} ms; errors {errors}"
    )
    head = f"{'endpoint':28s}"
    if "before" in servers:
        head += f" {'before p50':>10s} {'p95':>7s} |"
    print(head + f" {'p50':>7s} {'p95':>7s} {'p95-echo':>9s}  target")
    ok = sum(errors.values()) == 0
    for demo_id, spec in demos:
        after = rtt["after"].get(demo_id, [])
        over = _p(after, 95) - e95
        verdict = "PASS" if over <= HTTP_TARGET_MS else "FAIL"
        ok &= verdict == "PASS"
        row = f"{spec.api_name:28s}"
        if "before" in servers:
            before = rtt["before"].get(demo_id, [])
            row += f" {_p(before, 50):10.1f} {_p(before, 95):7.1f} |"
        print(f"{row} {_p(after, 50):7.1f} {_p(after, 95):7.1f} {over:9.1f}  {verdict}")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--starts", type=int, default=3)
    ap.add_argument("--skip-cold", action="store_true")
    ap.add_argument("--skip-defaults", action="store_true", help="skip part 1 (default inputs)")
    ap.add_argument("--random", action="store_true", help="part 3: fresh random inputs")
    ap.add_argument("--http", action="store_true", help="part 4: HTTP round trips vs echo")
    ap.add_argument("--before", metavar="REF", help="also time the code at git ref REF")
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--worker", metavar="ROOT", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    ok = True
    if not args.skip_defaults:
        ok &= bench_demos(args.runs)
    with old_checkout(args.before) as old_root:
        if args.random:
            ok &= bench_random(args.runs, old_root, args.seed)
        if args.http:
            ok &= bench_http(args.runs, old_root, args.seed)
    if not args.skip_cold:
        ok &= bench_cold_start(args.starts)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
