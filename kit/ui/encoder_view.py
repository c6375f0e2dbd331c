"""The encoder view (sections 5 and 6 of the Latent space tab): draw, pick or upload a digit and
watch q(z|x) live; paths from a random digit of one class to one of another.

Layout, then wiring. Each source (drawing, test digit, upload) is its own registered demo; the
model, label and seed controls re-run whichever source the visitor used last (kept per visitor
in a ``gr.State``). The drawing runs as it changes (``trigger_mode="always_last"``: a stroke
made while a request runs is applied when it returns, none is lost or queued twice).
"""

from __future__ import annotations

import random

import gradio as gr

from kit.demos.latent import pixel_to_z
from kit.demos.registry import get_demo
from kit.preprocess import MAX_UPLOAD_BYTES
from kit.ui.errors import named_outputs, user_errors
from kit.ui.links import QUIET, DemoLink, anchor_id, copy_link_button, wire_demo
from kit.ui.widgets import LATEX, api_numbers, output_image, param_input, param_inputs

ENCODER_INTRO = r"""
#### 5 · See the encoder think
Draw a digit (the brush is ready), pick a test digit, or upload one. The encoder turns it into
a Gaussian $q(z\mid x) = \mathcal{N}(\mu, \mathrm{diag}\,\sigma^2)$, drawn on the map of the test
codes as its 1σ and 2σ ellipses (blue dot: $\mu$). The red dot is one sample
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

# Gradio's sketchpad starts with no tool selected: a stroke then does nothing. This clicks its
# Brush button once whenever the encoder's sketchpad is on screen, so the first stroke draws.
BRUSH_READY_JS = """() => {
    const ready = () => {
        const root = document.getElementById("encoder-sketch");
        if (!root || root.offsetParent === null || root.dataset.brushReady) return;
        const brush = [...root.querySelectorAll("button")].find(
            (b) => (b.getAttribute("aria-label") || b.title || "").trim() === "Brush");
        if (brush) { brush.click(); root.dataset.brushReady = "1"; }
    };
    setInterval(ready, 300);
}"""

CLICK_INTRO = r"""
Or pick the two ends yourself: click a point of the VAE-2 map for **a**, then another for
**b** (the next click sets a again). The same two paths are decoded between them.
"""

SOURCES = ("test_digit", "drawing", "upload")


def build(demo: gr.Blocks) -> list[DemoLink]:
    """Sections 5 and 6 of the Latent space tab; returns their demos' links."""
    specs = {k: get_demo(f"latent.encode_{k}") for k in SOURCES}
    test_spec = specs["test_digit"]
    with gr.Column(elem_id="encoder-view"):
        gr.Markdown(ENCODER_INTRO, latex_delimiters=LATEX)
        with gr.Row():
            with gr.Column(scale=2, min_width=300):
                with gr.Tabs():
                    with gr.Tab("Draw", id="encoder-draw", elem_id=anchor_id(specs["drawing"].id)):
                        sketch = gr.Sketchpad(
                            label="Draw a digit",
                            type="numpy",
                            image_mode="RGBA",
                            canvas_size=(280, 280),
                            brush=gr.Brush(default_size=22, colors=["#000000"], color_mode="fixed"),
                            elem_id="encoder-sketch",
                        )
                    with gr.Tab("Test digit", id="encoder-test", elem_id=anchor_id(test_spec.id)):
                        index = param_input(test_spec.param("index"))
                        encode_btn = gr.Button("Encode", variant="primary")
                    with gr.Tab(
                        "Upload", id="encoder-upload", elem_id=anchor_id(specs["upload"].id)
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
                    elem_id="encoder-map",
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
                    "VAE-2 codes: click a, then b", image_mode="RGB", format="png",
                    elem_id="encoder-click-map",
                )  # fmt: skip
            with gr.Column(scale=3):
                with gr.Row():
                    point_inputs = param_inputs(point_spec)
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
    source = gr.State("test_digit")  # which input the visitor used last (per visitor)
    first = {"test_digit": index, "drawing": sketch, "upload": upload}
    links = []
    for kind, main, api_event in (
        ("test_digit", encode_btn.click, None),
        ("drawing", None, sketch.change),
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
        )
        links.append(link)
        trigger = {"test_digit": encode_btn.click, "drawing": sketch.change}.get(
            kind, upload.upload
        )
        trigger(lambda k=kind: k, None, source, api_visibility="private")

    def rerun(which, index_value, drawing, path, model, label, seed) -> dict:
        """The last-used source again, with the new model, label or seed."""
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

    resample.click(new_seed, None, shared["seed"], api_visibility="private").then(
        rerun_handler, rerun_inputs, rerun_outputs, api_visibility="private", **QUIET
    )
    demo.load(None, None, None, js=BRUSH_READY_JS)

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
            also=[w.submit for w in point_inputs.values() if isinstance(w, gr.Number)],
            button=point_btn,
        )
    )
    next_end = gr.State("a")  # which end the next click sets (per visitor)
    click_targets = {**point_outputs, **point_inputs}

    @user_errors
    def pick(end, z1_a, z2_a, z1_b, z2_b, steps, evt: gr.SelectData) -> dict:
        """A click on the map sets end ``end`` to the clicked point, then walks a -> b."""
        where = evt.index if isinstance(evt.index, (list, tuple)) else (None, None)
        z1, z2 = (round(v, 2) for v in pixel_to_z(*where[:2]))
        values = {"z1_a": z1_a, "z2_a": z2_a, "z1_b": z1_b, "z2_b": z2_b, "steps": steps}
        values.update({f"z1_{end}": z1, f"z2_{end}": z2})
        out = {click_targets[k]: v for k, v in point_spec.run(**values).items()}
        out.update({point_inputs[k]: v for k, v in values.items()})
        out[next_end] = "b" if end == "a" else "a"
        return out

    click_map.select(
        pick,
        [next_end, *point_inputs.values()],
        [*click_targets.values(), next_end],
        api_visibility="private",
        **QUIET,
    )
    return links
