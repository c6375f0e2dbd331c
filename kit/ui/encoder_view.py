"""The encoder view (sections 5 and 6 of the Latent space tab): draw, pick or upload a digit and
watch q(z|x) live; paths from a random digit of one class to one of another.

Layout, then wiring. Each source (drawing, test digit, upload) is its own registered demo; the
model, label and seed controls re-run whichever source the visitor used last (kept in the
visitor's page, in a hidden box the page sets itself). The drawing is a plain canvas
(``CANVAS_JS``) that sends its 28 x 28 ink, not an image file, and runs as it changes
(``trigger_mode="always_last"``: a stroke made while a request runs is applied when it returns,
none is lost or queued twice).
"""

from __future__ import annotations

import random

import gradio as gr

from kit.demos.errors import DemoInputError
from kit.demos.latent import pixel_to_z
from kit.demos.registry import get_demo
from kit.preprocess import MAX_UPLOAD_BYTES, SIZE
from kit.ui.errors import named_outputs, user_errors
from kit.ui.links import QUIET, DemoLink, anchor_id, copy_link_button, wire_demo
from kit.ui.widgets import LATEX, api_numbers, output_image, param_input, param_inputs

ENCODER_INTRO = r"""
#### 5 · See the encoder think
Draw a digit (the pen is ready: just draw; the view follows as you draw), pick a test digit, or
upload one. The encoder turns it into a Gaussian
$q(z\mid x) = \mathcal{N}(\mu, \mathrm{diag}\,\sigma^2)$, drawn on the map of the test codes as
its 1σ and 2σ ellipses (blue dot: $\mu$). The red dot is one sample
$z = \mu + \sigma\epsilon$; **Resample** draws a new $\epsilon$ (its seed is shown). Below: the
decoded $\mu$ and the decoded sample side by side, and this input's ELBO split. With the CVAE,
change the label and watch the posterior move.
"""

PATH_INTRO = r"""
#### 6 · From a random 3 to a random 8
Two random test digits of the chosen classes, joined in latent space by a straight line (top row)
and by a spherical path (bottom row), with the prior's log-density $\log \mathcal{N}(z; 0, I)$
along each. In 10 dimensions almost all of the prior's mass lies near $\|z\| \approx \sqrt{10}$:
the straight line cuts through the emptier centre; the spherical path keeps its norm.
"""

# The drawing canvas. Gradio's Sketchpad exports the whole drawing as a PNG and uploads it
# before each event runs (1.5-3.5 s from a stroke to the outputs, measured with
# benchmarks/encoder_draw_latency.py); this plain canvas instead turns its strokes into the
# 28 x 28 ink values in the page and sends those 784 numbers (about 3 kB of text) as the value
# of a gr.HTML, so an event carries no file. The script crops a square around the ink (so a
# small digit keeps its detail), averages it down to 28 x 28 and sends the values while the
# pen moves, at most every SEND_EVERY_MS, and once more when it lifts; the server checks them
# (kit.demos.encoder.canvas_ink) and does the MNIST steps itself (kit.preprocess.ink_to_mnist).
#
# While the pen moves, a new value goes out only once the view has shown the answer to the
# last one (its map changed, or ANSWER_WAIT_MS passed) and REST_MS after that: each answer
# costs the page 100-300 ms of main-thread work on a loaded two-core machine (Gradio's own
# state updates), and sending every 100 ms regardless made the pen lag (an 8-move Playwright
# stroke took 2.4 s instead of 0.14 s, load 6-8) and the last answer later. Nor does anything go
# out in a stroke's first FIRST_SEND_MS: an answer takes about that long to come back, so for a
# quick stroke it would only be replaced before it showed, and the lift's own request would
# wait behind it (lift to answer p95 731 ms with such sends, 543 ms without, in two runs side by
# side with an older app). Lifting the pen always sends at once.
CANVAS_PX = 280  # the canvas's side in pixels: ten per pixel of the 28 x 28 digit
BRUSH_PX = 22  # the pen's width: about two MNIST pixels, as MNIST's strokes are
SEND_EVERY_MS = 150  # while the pen moves, the ink goes to the server at most this often
FIRST_SEND_MS = 300  # ... and not in the first this-many ms of a stroke
REST_MS = 150  # ... and no sooner than this after the view showed the last answer
ANSWER_WAIT_MS = 2000  # an answer that never shows (an error) holds the next one this long
ANSWER_ID = "encoder-map"  # the output whose change means "answered"

CANVAS_HTML = f"""<div class="enc-pad">
<canvas width="{CANVAS_PX}" height="{CANVAS_PX}" role="img"
 aria-label="Drawing canvas: draw a digit with the mouse, a finger or a pen"></canvas>
<button type="button" class="enc-clear">Clear</button>
</div>"""

CANVAS_CSS = f"""
.enc-pad {{ display: flex; flex-direction: column; align-items: flex-start; gap: 6px; }}
.enc-pad canvas {{ width: {CANVAS_PX}px; max-width: 100%; aspect-ratio: 1; background: #fff;
  border: 1px solid var(--border-color-primary); border-radius: 4px; cursor: crosshair;
  touch-action: none; }}
.enc-pad .enc-clear {{ padding: 2px 12px; border: 1px solid var(--border-color-primary);
  border-radius: 4px; background: var(--button-secondary-background-fill); }}
"""

# js_on_load runs as Function(element, trigger, props, server, upload, watch): none of those
# names may be declared again here.
CANVAS_JS = """
const canvas = element.querySelector("canvas");
const ctx = canvas.getContext("2d", {willReadFrequently: true});
const N = __N__, EVERY = __EVERY__, FIRST = __FIRST__, REST = __REST__, WAIT = __WAIT__;
ctx.lineWidth = __BRUSH__; ctx.lineCap = "round"; ctx.lineJoin = "round";
ctx.strokeStyle = "#000";
let down = false, dirty = false, last = null, timer = null;
let sentAt = -1e9, waiting = false, answeredAt = -1e9, downAt = 0;
// the strokes' ink (alpha) in a square around them, averaged down to N x N, as "[v0,...]"
const inkText = () => {
  const w = canvas.width, h = canvas.height, a = ctx.getImageData(0, 0, w, h).data;
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (a[(y * w + x) * 4 + 3]) {
    if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
  }
  if (x1 < 0) return null;
  const k = Math.max(1, Math.ceil(Math.max(x1 - x0 + 1, y1 - y0 + 1) / N));
  const side = k * N;  // the crop's side: a whole number k of canvas pixels per cell
  const sx = Math.round((x0 + x1 + 1 - side) / 2), sy = Math.round((y0 + y1 + 1 - side) / 2);
  const sum = new Float64Array(N * N);
  for (let y = Math.max(0, sy); y < Math.min(h, sy + side); y++) {
    const row = Math.floor((y - sy) / k) * N;
    for (let x = Math.max(0, sx); x < Math.min(w, sx + side); x++)
      sum[row + Math.floor((x - sx) / k)] += a[(y * w + x) * 4 + 3];
  }
  return "[" + Array.from(sum, (v) => +(v / (255 * k * k)).toFixed(3)).join(",") + "]";
};
const send = () => {
  if (timer !== null) { clearTimeout(timer); timer = null; }
  dirty = false;
  const text = inkText();
  if (text === null || text === props.value) return;
  props.value = text;
  sentAt = performance.now(); waiting = true;
  trigger("input");
};
// while drawing: send once FIRST has passed since the pen went down and EVERY since the last
// send, the last answer is shown (or overdue) and REST has passed since it; an answer coming in
// wakes this up
const pump = () => {
  if (timer !== null || !down || !dirty) return;
  const now = performance.now(), ready = waiting ? sentAt + WAIT : answeredAt + REST;
  timer = setTimeout(() => { timer = null; if (down && dirty) send(); },
                     Math.max(0, downAt + FIRST - now, sentAt + EVERY - now, ready - now));
};
const answered = () => {  // the view shows an answer: its map's image changed
  waiting = false; answeredAt = performance.now();
  if (timer !== null) { clearTimeout(timer); timer = null; }
  pump();
};
const watchMap = () => {  // the map may be mounted after this canvas
  const map = document.getElementById("__ANSWER__");
  if (!map) { setTimeout(watchMap, 250); return; }
  new MutationObserver(answered).observe(
    map, {subtree: true, childList: true, attributes: true, attributeFilter: ["src"]});
};
watchMap();
const at = (e) => {
  const r = canvas.getBoundingClientRect();
  return [(e.clientX - r.left) * canvas.width / r.width,
          (e.clientY - r.top) * canvas.height / r.height];
};
const line = (p, q) => {
  ctx.beginPath(); ctx.moveTo(p[0], p[1]); ctx.lineTo(q[0], q[1]); ctx.stroke();
};
canvas.addEventListener("pointerdown", (e) => {
  if (e.button !== 0) return;
  e.preventDefault();
  canvas.setPointerCapture(e.pointerId);
  down = true; dirty = true; downAt = performance.now(); last = at(e); line(last, last); pump();
});
canvas.addEventListener("pointermove", (e) => {
  if (!down) return;
  const p = at(e); line(last, p); last = p; dirty = true; pump();
});
const lift = () => { if (down) { down = false; send(); } };  // the pen lifts: send at once
canvas.addEventListener("pointerup", lift);
canvas.addEventListener("pointercancel", lift);
element.querySelector(".enc-clear").addEventListener("click", () => {
  if (timer !== null) { clearTimeout(timer); timer = null; }
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  props.value = "";  // an empty canvas: nothing is sent until the next stroke
});
canvas.dataset.ready = "1";
"""


def canvas_script() -> str:
    """The canvas's ``js_on_load`` with its sizes filled in."""
    return (
        CANVAS_JS.replace("__N__", str(SIZE))
        .replace("__EVERY__", str(SEND_EVERY_MS))
        .replace("__FIRST__", str(FIRST_SEND_MS))
        .replace("__REST__", str(REST_MS))
        .replace("__WAIT__", str(ANSWER_WAIT_MS))
        .replace("__ANSWER__", ANSWER_ID)
        .replace("__BRUSH__", str(BRUSH_PX))
    )


CLICK_INTRO = r"""
Or pick the two ends yourself: click a point of the map for **a**, then another for **b** (the
next click sets a again). The same two paths are decoded between them, by the VAE-2 or by the
CVAE-2 (which decodes every point as the digit of its label, so a path changes the style, not
the class).
"""

SOURCES = ("test_digit", "drawing", "upload")
SOURCE_TABS = {"drawing": "encoder-draw", "test_digit": "encoder-test", "upload": "encoder-upload"}


def build(demo: gr.Blocks) -> list[DemoLink]:
    """Sections 5 and 6 of the Latent space tab; returns their demos' links."""
    specs = {k: get_demo(f"latent.encode_{k}") for k in SOURCES}
    test_spec = specs["test_digit"]
    with gr.Column(elem_id="encoder-view"):
        gr.Markdown(ENCODER_INTRO, latex_delimiters=LATEX)
        with gr.Row():
            with gr.Column(scale=2, min_width=300):
                with gr.Tabs() as source_tabs:
                    with gr.Tab(
                        "Draw", id=SOURCE_TABS["drawing"], elem_id=anchor_id(specs["drawing"].id)
                    ):
                        sketch = gr.HTML(
                            "",
                            label="Draw a digit",
                            html_template=CANVAS_HTML,
                            css_template=CANVAS_CSS,
                            js_on_load=canvas_script(),
                            apply_default_css=False,
                            elem_id="encoder-sketch",
                        )
                    with gr.Tab(
                        "Test digit", id=SOURCE_TABS["test_digit"], elem_id=anchor_id(test_spec.id)
                    ):
                        index = param_input(test_spec.param("index"))
                        encode_btn = gr.Button("Encode", variant="primary")
                    with gr.Tab(
                        "Upload", id=SOURCE_TABS["upload"], elem_id=anchor_id(specs["upload"].id)
                    ):
                        upload = gr.File(
                            label=f"An image of one digit (up to {MAX_UPLOAD_BYTES // 2**20} MB)",
                            file_count="single",
                            file_types=["image"],
                            type="filepath",
                        )
                shared = {
                    "model": param_input(test_spec.param("model")),
                    "label": param_input(test_spec.param("label")),
                }
                with gr.Row():
                    shared["seed"] = param_input(test_spec.param("seed"))
                    resample = gr.Button("Resample ε", elem_id="encoder-resample")
                copy_link_button(test_spec, {"index": index, **shared})
            with gr.Column(scale=3):
                enc_map = output_image(
                    "q(z|x) on the latent map: 1σ and 2σ ellipses, μ (blue), z (red)",
                    image_mode="RGB",
                    format="png",
                    elem_id=ANSWER_ID,
                )
        with gr.Row():
            seen = output_image("What the model sees (28×28)", height=200, elem_id="encoder-input")
            mean_img = output_image("Decoded μ", height=200, elem_id="encoder-mean")
            sample_img = output_image("Decoded z = μ + σε", height=200, elem_id="encoder-sample")
        summary = gr.Markdown(latex_delimiters=LATEX, elem_id="encoder-summary")
        numbers = api_numbers()

    path_spec = get_demo("latent.class_path")
    with gr.Column(elem_id=anchor_id(path_spec.id)):
        gr.Markdown(PATH_INTRO, latex_delimiters=LATEX)
        with gr.Row():
            with gr.Column(scale=1, min_width=260):
                path_inputs = param_inputs(path_spec)
                path_btn = gr.Button("Walk", variant="primary")
                copy_link_button(path_spec, path_inputs)
            with gr.Column(scale=3):
                paths = output_image("Linear (top) and spherical (bottom) paths")
                path_summary = gr.Markdown(latex_delimiters=LATEX)
                path_numbers = api_numbers()

    point_spec = get_demo("latent.point_path")
    with gr.Column(elem_id=anchor_id(point_spec.id)):
        gr.Markdown(CLICK_INTRO, latex_delimiters=LATEX)
        with gr.Row():
            with gr.Column(scale=2):
                click_map = output_image(
                    "The model's test codes: click a, then b", image_mode="RGB", format="png",
                    elem_id="encoder-click-map",
                )  # fmt: skip
            with gr.Column(scale=3):
                point_inputs = {}
                with gr.Row():
                    for name in ("model", "label"):
                        point_inputs[name] = param_input(point_spec.param(name))
                with gr.Row():
                    for name in ("z1_a", "z2_a", "z1_b", "z2_b", "steps"):
                        point_inputs[name] = param_input(point_spec.param(name))
                point_btn = gr.Button("Walk between a and b", variant="primary")
                copy_link_button(point_spec, point_inputs)
                point_paths = output_image("Linear (top) and spherical (bottom) paths")
                point_summary = gr.Markdown(latex_delimiters=LATEX)
                point_numbers = api_numbers()

    # ---- wiring ------------------------------------------------------------------------------
    outputs = {
        "input": seen,
        "map": enc_map,
        "mean_decoded": mean_img,
        "sample_decoded": sample_img,
        "summary": summary,
        "numbers": numbers,
    }
    # Which input the visitor used last, kept in their page (a hidden box) and set by the page
    # itself when a source is used, so a stroke sends one request, not two.
    source = gr.Textbox("test_digit", visible=False)
    first = {"test_digit": index, "drawing": sketch, "upload": upload}
    links = []
    for kind, main, api_event in (
        ("test_digit", encode_btn.click, None),
        ("drawing", None, sketch.input),
        ("upload", None, upload.upload),
    ):
        spec = specs[kind]
        link = wire_demo(
            spec,
            {spec.params[0].name: first[kind], **shared},
            outputs,
            main=main,
            api_event=api_event,
            also=[index.submit] if kind == "test_digit" else [],
            button=encode_btn if kind == "test_digit" else None,
            on_open=kind == "test_digit",
            subtab=(source_tabs, SOURCE_TABS[kind]),  # a link to it selects its sub-tab
        )
        links.append(link)
        trigger = {"test_digit": encode_btn.click, "drawing": sketch.input}.get(kind, upload.upload)
        trigger(None, None, source, js=f"() => {kind!r}", api_visibility="private")

    def rerun(which, index_value, drawing, path, model, label, seed) -> dict:
        """The last-used source again, with the new model, label or seed."""
        if which not in SOURCES:  # the page's own box, so only a tampered page sends another
            raise DemoInputError(f"unknown input {str(which)[:40]!r}: use one of the tabs")
        first_value = {"test_digit": index_value, "drawing": drawing, "upload": path}[which]
        spec = specs[which]
        return spec.run(
            **{spec.params[0].name: first_value, "model": model, "label": label, "seed": seed}
        )

    rerun_handler, rerun_outputs = named_outputs(rerun, outputs)
    rerun_inputs = [source, index, sketch, upload, *shared.values()]
    for widget in shared.values():
        trigger = widget.submit if isinstance(widget, gr.Number) else widget.change
        trigger(
            rerun_handler,
            rerun_inputs,
            rerun_outputs,
            api_visibility="private",
            trigger_mode="always_last",
            **QUIET,
        )

    def new_seed() -> int:
        return random.SystemRandom().randrange(0, 2**31 - 1)  # a fresh ε each press

    resample.click(new_seed, None, shared["seed"], api_visibility="private", **QUIET).then(
        rerun_handler, rerun_inputs, rerun_outputs, api_visibility="private", **QUIET
    )

    links.append(
        wire_demo(
            path_spec,
            path_inputs,
            {"paths": paths, "summary": path_summary, "numbers": path_numbers},
            main=path_btn.click,
            also=[w.change for w in path_inputs.values() if isinstance(w, (gr.Dropdown, gr.Radio))],
            button=path_btn,
        )
    )
    point_outputs = {
        "map": click_map,
        "paths": point_paths,
        "summary": point_summary,
        "numbers": point_numbers,
    }
    links.append(
        wire_demo(
            point_spec,
            point_inputs,
            point_outputs,
            main=point_btn.click,
            also=[
                *(w.submit for w in point_inputs.values() if isinstance(w, gr.Number)),
                point_inputs["model"].change,
                point_inputs["label"].change,
            ],
            button=point_btn,
        )
    )
    next_end = gr.State("a")  # which end the next click sets (per visitor)
    ends = [point_inputs[k] for k in ("z1_a", "z2_a", "z1_b", "z2_b")]
    pick_order = ("model", "label", "z1_a", "z2_a", "z1_b", "z2_b", "steps")  # pick's arguments

    @user_errors
    def pick(end, model, label, z1_a, z2_a, z1_b, z2_b, steps, evt: gr.SelectData) -> dict:
        """A click on the map sets end ``end`` to the clicked point, in the plane of the model
        shown (every 2-D model's map has the same frame, ``pixel_to_z``), then walks a -> b."""
        where = evt.index if isinstance(evt.index, (list, tuple)) else (None, None)
        z1, z2 = (round(v, 2) for v in pixel_to_z(*where[:2]))
        values = {"z1_a": z1_a, "z2_a": z2_a, "z1_b": z1_b, "z2_b": z2_b}
        values.update({f"z1_{end}": z1, f"z2_{end}": z2})
        result = point_spec.run(**values, steps=steps, model=model, label=label)
        out = {point_outputs[k]: v for k, v in result.items() if k in point_outputs}
        out.update({point_inputs[k]: v for k, v in values.items()})  # the ends, shown
        out[next_end] = "b" if end == "a" else "a"
        return out

    click_map.select(
        pick,
        [next_end, *(point_inputs[k] for k in pick_order)],
        [*point_outputs.values(), *ends, next_end],
        api_visibility="private",
        **QUIET,
    )
    return links
