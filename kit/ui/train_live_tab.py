"""Train live tab: train a small AE / VAE / CVAE and watch the loss fall and the digits sharpen.

The training event is a generator (``kit.demos.train_live.run_training``) that yields an update
every ~0.75 s. Stop sets the stop flag of the run its own page started; the run ends at the next
step and still shows the trained model's reconstructions.
"""

from __future__ import annotations

import threading

import gradio as gr

from kit.demos.registry import get_demo
from kit.demos.train_live import (
    BUSY_MESSAGE,
    MAX_BETA,
    MAX_EPOCHS,
    MAX_LATENT,
    MAX_RUN_SECONDS,
    MAX_STEPS_CAP,
    TrainingBusyError,
    add_run,
    run_training,
    runs_table,
)
from kit.ui.errors import user_errors
from kit.ui.links import DemoLink, anchor_id
from kit.ui.widgets import LATEX, output_image

INTRO = r"""
### Train live: watch a model learn
Pick a model and press **Train**: the network starts from random weights (the *before* row shows
what it makes of 8 held-out digits) and Adam lowers its loss batch by batch. For the VAEs the
loss is reconstruction + $\beta \cdot \mathrm{KL}(q(z\mid x)\,\|\,\mathcal{N}(0, I))$: try
$\beta = 0$ (a plain autoencoder with noise), $1$ (the ELBO) and $10$ or more, where KL falls
towards zero and the *after* digits blur into averages.
"""

# The run slot's owner: which page (Gradio session) started the one run in progress, and the
# flag that stops it. At most one entry (one run per server); it is a record of the shared
# run slot, not a store of user state (each user's results live in gr.State).
_stop_flags: dict[str, threading.Event] = {}
_stop_flags_lock = threading.Lock()


def _session(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None) if request is not None else None


def _reraise(err: BaseException):
    raise err


_raise_for_user = user_errors(_reraise)  # kit input errors -> gr.Error; anything else as is


def train_stream(kind, beta, latent_dim, epochs, max_steps=0, request: gr.Request = None):
    """Gradio handler: named updates of one run; a busy slot or bad input becomes a toast."""
    stop = threading.Event()
    session = _session(request)
    stream = user_errors(run_training)(kind, beta, latent_dim, epochs, max_steps, stop=stop)
    if session is not None:
        with _stop_flags_lock:
            _stop_flags[session] = stop
    try:
        while True:
            try:
                update = next(stream)
            except StopIteration:
                return
            except TrainingBusyError:
                raise gr.Error(f"{BUSY_MESSAGE}.", title="Training slot busy") from None
            except gr.Error:
                raise
            except Exception as err:
                _raise_for_user(err)
            yield update
    finally:
        stream.close()  # a cancelled event: stops and joins the training thread, frees the slot
        if session is not None:
            with _stop_flags_lock:
                if _stop_flags.get(session) is stop:
                    del _stop_flags[session]


def request_stop(request: gr.Request = None) -> str:
    """Gradio handler for Stop: flag this page's run (if any) to end at its next step."""
    with _stop_flags_lock:
        stop = _stop_flags.get(_session(request) or "")
    if stop is None:
        return "_No run of yours is in progress._"
    stop.set()
    return "**Stopping** at the next step…"


def stream_handler(components: dict):
    """``train_stream`` for a Gradio event: each yielded dict is mapped onto ``components``.

    Like ``named_outputs``, for a generator; the parameters are spelled out because Gradio
    injects ``gr.Request`` only into a positional parameter annotated with it.
    """

    def train_live(kind, beta, latent_dim, epochs, max_steps, request: gr.Request = None):
        for update in train_stream(kind, beta, latent_dim, epochs, max_steps, request=request):
            yield {components[k]: v for k, v in update.items()}

    return train_live, list(components.values())


def record_run(last_run, runs):
    """After a finished run: append it to this session's list and redraw the table."""
    runs = add_run(runs, last_run)
    return runs, runs_table(runs)


def beta_interactive(kind):
    return gr.update(interactive=kind != "ae")


# ---- layout and wiring ---------------------------------------------------------------------


def build(demo: gr.Blocks) -> list[DemoLink]:
    gr.Markdown(
        INTRO,
        latex_delimiters=LATEX,
    )
    with gr.Row(elem_id=anchor_id("train_live.run")):
        with gr.Column(scale=1, min_width=280):
            kind = gr.Radio(
                [("Autoencoder (MSE)", "ae"), ("VAE", "vae"), ("Conditional VAE", "cvae")],
                value="vae",
                label="Model",
            )
            beta = gr.Slider(
                0, MAX_BETA, value=1.0, step=0.5, label="β (weight on KL; VAE kinds only)"
            )
            latent_dim = gr.Slider(1, MAX_LATENT, value=2, step=1, label="Latent size d")
            epochs = gr.Slider(
                1, MAX_EPOCHS, value=1, step=1, label="Epochs (passes over the data)"
            )
            with gr.Accordion("Shorter runs", open=False) as shorter:
                max_steps = gr.Number(
                    value=0,
                    precision=0,
                    minimum=0,
                    maximum=MAX_STEPS_CAP,
                    label="Stop after this many steps (0 = run all epochs)",
                )
            with gr.Row():
                train_btn = gr.Button("Train", variant="primary")
                stop_btn = gr.Button("Stop", variant="stop")
            gr.Markdown(
                "One run at a time on this server, batch 128, at most "
                f"{MAX_EPOCHS} epochs and {MAX_RUN_SECONDS / 60:.0f} minutes."
            )
        with gr.Column(scale=2):
            status = gr.Markdown("_Press **Train** to start._")
            progress = gr.Slider(
                0,
                1,
                value=0,
                step=0.001,
                label="Progress (fraction of steps done)",
                interactive=False,
            )
            loss_plot = gr.Plot(label="Training loss", show_label=False)
            images = {
                key: output_image(label, height=110)
                for key, label in [
                    ("originals", "8 held-out test digits"),
                    ("before", "Before: reconstructions by the untrained model"),
                    ("after", "After: reconstructions by the trained model"),
                ]
            }
            runs_md = gr.Markdown(runs_table([]))
    last_run = gr.State(None)
    runs = gr.State([])

    outputs = {
        "status": status,
        "progress": progress,
        "loss_plot": loss_plot,
        **images,
        "run": last_run,
    }
    fn, outs = stream_handler(outputs)
    run_event = train_btn.click(
        fn,
        [kind, beta, latent_dim, epochs, max_steps],
        outs,
        api_name="train_live",
        concurrency_limit=1,
        concurrency_id="train_live",
        show_progress="minimal",
        time_limit=int(MAX_RUN_SECONDS) + 120,
    )
    run_event.success(record_run, [last_run, runs], [runs, runs_md], api_visibility="private")
    stop_btn.click(request_stop, None, status, api_visibility="private", queue=False)
    kind.change(beta_interactive, kind, beta, api_visibility="private", queue=False)
    inputs = {"kind": kind, "beta": beta, "latent_dim": latent_dim, "epochs": epochs}
    spec = get_demo("train_live.run")
    return [
        DemoLink(
            spec,
            {**inputs, "max_steps": max_steps},
            {},
            anchor_id(spec.id),
            section=shorter,
            button=train_btn,
            on_open=False,
        )
    ]
