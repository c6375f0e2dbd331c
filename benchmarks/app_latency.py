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
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # where app.py is; kit is imported as installed

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

    stroke = np.zeros((280, 280, 4), np.uint8)
    stroke[40:240, 130:150] = (0, 0, 0, 255)  # a black "1" on a transparent sketchpad
    png = tmp / "digit.png"
    Image.fromarray(255 - stroke[..., 3]).save(png)  # the same "1", dark on white, as a file
    return {
        "reconstruction.drawing": {
            "sketch": {"background": None, "layers": [], "composite": stroke}
        },
        "reconstruction.upload": {"path": str(png)},
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


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--starts", type=int, default=3)
    ap.add_argument("--skip-cold", action="store_true")
    args = ap.parse_args()
    ok = bench_demos(args.runs)
    if not args.skip_cold:
        ok &= bench_cold_start(args.starts)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
