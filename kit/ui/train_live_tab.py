"""Train live tab: train a small AE / VAE / CVAE and watch it learn, with Pause, Continue and Step.

Design (Gradio 6): the visitor's run (``kit.demos.train_live.LiveRun``: model, optimiser,
history) lives in ``gr.State``. Train and Continue are generator events in the concurrency
group of one (``kit.ui.server.TRAIN_CONCURRENCY_ID``): each trains in chunks and yields about
3 updates a second. Pause is a quick event (queued, outside the training group) that sets the run's pause flag (the same
object the stream holds, since gr.State hands events the stored object itself); the stream
stops before its next step and ends, freeing the CPU for the next visitor. Continue streams the
same run again; Step trains one batch of a paused run (a quick event, outside the training
group). Pressing Train or Continue also fires a quick event that reads the server's
``SLOT``: when another visitor's run is streaming, the status says how long this one waits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import gradio as gr

from kit.demos.common import DemoInputError, as_int
from kit.demos.registry import get_demo
from kit.demos.train_live import (
    DEFAULT_STEPS,
    MAX_STEPS,
    MAX_STREAM_SECONDS,
    SLOT,
    STEPS_PER_SECOND,
    LiveRun,
    RunStateError,
    add_run,
    expected_seconds,
    new_run,
    runs_table,
    snapshot,
    step,
    stream,
    validate,
)
from kit.ui.errors import user_errors
from kit.ui.links import QUIET, DemoLink, anchor_id, copy_link_button
from kit.ui.widgets import LATEX, output_image, param_input

log = logging.getLogger("latent_lab")

INTRO = r"""
### Train live: watch a model learn
Pick a model and press **Train**: the network starts from random weights and Adam lowers its loss
batch by batch, on 20,000 MNIST training digits. The curves show the loss of every batch (faint),
its moving average and the loss on held-out test digits (orange); a 2-d run also shows where
1,000 test digits land in the latent plane. **Pause** stops it, **Step** trains one batch at a
time, **Continue** goes on. For the VAEs the loss is reconstruction +
$\beta \cdot \mathrm{KL}(q(z\mid x)\,\|\,\mathcal{N}(0, I))$: try $\beta = 0$ (an autoencoder with
noise), $1$ (the ELBO) and $10$ or more, where KL falls towards zero and the digits blur.
"""

STATE_TTL_SECONDS = 1800  # a run nobody touches for 30 minutes is dropped from the session
RUN_STATE = "run_state"  # the update key of the gr.State that holds the visitor's LiveRun
UNEXPECTED = (
    "Training stopped because of an unexpected problem on the server; press Train to start again."
)


def _who(request: gr.Request | None) -> str:
    """The page's session id (one visitor's tab), or "anonymous" without a request."""
    return getattr(request, "session_hash", None) or "anonymous"


def _checked(fn, *args):
    """``fn(*args)`` with the kit's input errors turned into a toast (``user_errors``)."""
    return user_errors(fn)(*args)


def _streamed(who: str, seconds: float, make_run: Callable[[], LiveRun]):
    """Hold the server's slot for ``who``, get the run, stream it; failures become sentences.

    The slot is taken first thing (before the model is built), so a visitor pressing Train a
    moment later is already told to wait. The first update has no chart (it is drawn next).
    """
    SLOT.begin(who, seconds)
    try:
        run = make_run()
        yield {RUN_STATE: run, **snapshot(run, "training", chart=False)}
        yield from stream(run, on_update=lambda _run, left: SLOT.update(who, left))
    except RunStateError as err:
        _checked(_raise, err)
    except gr.Error:
        raise
    except Exception:  # a bug must not show a trace or leave the status at "Training"
        log.exception("train live stream failed")
        raise gr.Error(UNEXPECTED, title="Training stopped") from None
    finally:
        SLOT.end(who)


def _raise(err: BaseException):
    raise err


def train_stream(kind, beta, latent_dim, steps, request: gr.Request = None):
    """Train pressed (and the public ``train_live`` endpoint): a fresh run, streamed."""
    settings = _checked(validate, kind, beta, latent_dim, steps)
    seconds = expected_seconds(settings.steps)
    yield from _streamed(_who(request), seconds, lambda: new_run(settings))


def continue_stream(run, request: gr.Request = None):
    """Continue pressed: stream this visitor's paused run again."""
    if not isinstance(run, LiveRun):
        raise gr.Error("Nothing to continue yet: press Train to start a run.", title="No run")
    if run.finished:
        raise gr.Error("This run is finished: press Train to start a new one.", title="Run done")
    seconds = expected_seconds(run.total - run.steps_done)
    yield from _streamed(_who(request), seconds, lambda: run)


def step_once(kind, beta, latent_dim, steps, run):
    """Step pressed: one batch of the paused run (a fresh run from the settings if none)."""
    if not isinstance(run, LiveRun) or run.finished:
        run = new_run(_checked(validate, kind, beta, latent_dim, steps))
    return {RUN_STATE: run, **_checked(step, run)}


def request_pause(run) -> None:
    """Pause pressed (unqueued): the stream of this visitor's run stops before its next step."""
    if isinstance(run, LiveRun):
        run.pause.set()


def waiting_status(steps, run, request: gr.Request = None):
    """Train or Continue pressed (unqueued): say how long this visitor waits, if anyone trains.

    When this visitor's own run is streaming, it is paused first (Train starts a new one).
    """
    if isinstance(run, LiveRun) and run.is_streaming():
        run.pause.set()
    try:
        seconds = expected_seconds(as_int(steps, "the number of steps", 1, MAX_STEPS))
    except DemoInputError:  # the training event itself says what is wrong with the input
        seconds = expected_seconds(DEFAULT_STEPS)
    message = SLOT.wait_message(_who(request), seconds)
    return gr.skip() if message is None else f"**Waiting**: {message}"


def continue_waiting_status(run, request: gr.Request = None):
    """Continue pressed (unqueued): ``waiting_status`` for the run's remaining steps."""
    left = run.total - run.steps_done if isinstance(run, LiveRun) else DEFAULT_STEPS
    return waiting_status(max(left, 1), None, request)


def record_run(run, runs):
    """After an event: a run that just finished joins this session's table (once)."""
    if isinstance(run, LiveRun) and run.finished and not run.recorded:
        run.recorded = True
        runs = add_run(runs, snapshot(run, chart=False)["run"])
    return runs, runs_table(runs)


def on_components(components: dict):
    """A function mapping one named update onto ``components`` (names not shown are dropped).

    Like ``named_outputs``, for generators too; each handler in ``build`` spells out its
    parameters because Gradio injects ``gr.Request`` only into a parameter annotated with it.
    """

    def to_components(update: dict) -> dict:
        return {components[k]: v for k, v in update.items() if k in components}

    return to_components


def beta_interactive(kind):
    """The β input's update: editable unless the kind is the autoencoder."""
    return gr.update(interactive=kind != "ae")


# ---- layout and wiring ---------------------------------------------------------------------


KIND_LABELS = {"ae": "Autoencoder (MSE)", "vae": "VAE", "cvae": "Conditional VAE"}


def build(demo: gr.Blocks) -> list[DemoLink]:
    """The Train live tab; returns its demo links."""
    spec = get_demo("train_live.run")
    gr.Markdown(INTRO, latex_delimiters=LATEX)
    with gr.Row(elem_id=anchor_id(spec.id)):
        with gr.Column(scale=1, min_width=280):
            inputs = {p.name: param_input(p) for p in spec.params}
            # the radio shows words for the kinds; its values (and the API's) stay ae/vae/cvae
            inputs["kind"].choices = [(KIND_LABELS[k], k) for k in spec.param("kind").choices]
            train_btn = gr.Button("Train", variant="primary")
            with gr.Row():
                pause_btn = gr.Button("Pause", size="sm")
                continue_btn = gr.Button("Continue", size="sm")
                step_btn = gr.Button("Step", size="sm")
            gr.Markdown(
                f"One run trains at a time on this server, at most {STEPS_PER_SECOND:.0f} steps a "
                f"second and {MAX_STREAM_SECONDS:.0f} s per press (then it pauses: press "
                "Continue). **Step** trains one batch of a paused run."
            )
            copy_link_button(spec, inputs)
        with gr.Column(scale=2):
            status = gr.Markdown("_Press **Train** to start._", elem_id="train-live-status")
            progress = gr.Slider(
                0,
                1,
                value=0,
                step=0.001,
                label="Progress (fraction of steps done)",
                interactive=False,
            )
            # PNG, not Gradio's default WebP: 1 ms instead of 20 for a row of digits, 35
            # instead of 65 for the chart, at every update
            chart = output_image(
                "Training curves and latent map",
                image_mode="RGB",
                format="png",
                elem_id="train-live-chart",
                show_label=False,
            )
            images = {
                key: output_image(label, height=110, format="png")
                for key, label in [
                    ("originals", "10 held-out test digits"),
                    ("before", "Before: reconstructions by the untrained model"),
                    ("after", "Now: reconstructions by the model as it trains"),
                ]
            }
            runs_md = gr.Markdown(runs_table([]))
    run_state = gr.State(None, time_to_live=STATE_TTL_SECONDS)
    runs = gr.State([])

    components = {
        "status": status,
        "progress": progress,
        "chart": chart,
        **images,
        RUN_STATE: run_state,
    }
    to_components = on_components(components)
    outputs = list(components.values())
    stream_options = {
        "concurrency_limit": 1,
        "concurrency_id": "train_live",
        **QUIET,
        "time_limit": int(MAX_STREAM_SECONDS) + 60,
    }

    def train_live(kind, beta, latent_dim, steps, request: gr.Request = None):
        for update in train_stream(kind, beta, latent_dim, steps, request=request):
            yield to_components(update)

    train_live.__doc__ = spec.api_description()  # Gradio's API page reads it

    def continue_live(run, request: gr.Request = None):
        for update in continue_stream(run, request=request):
            yield to_components(update)

    def step_live(kind, beta, latent_dim, steps, run):
        return to_components(step_once(kind, beta, latent_dim, steps, run))

    kind, beta, steps = inputs["kind"], inputs["beta"], inputs["steps"]
    settings = [inputs[p.name] for p in spec.params]  # kind, beta, latent_dim, steps
    private = {"api_visibility": "private"}
    # quick events: queued like every event (an unqueued call could create sessions without
    # limit, see SECURITY.md), in the shared model group, so they never wait for a training run
    quick = {**QUIET, **private}
    train_btn.click(waiting_status, [steps, run_state], status, **quick)
    train_event = train_btn.click(
        train_live, settings, outputs, api_name="train_live", **stream_options
    )
    continue_btn.click(continue_waiting_status, run_state, status, **quick)
    continue_event = continue_btn.click(
        continue_live, run_state, outputs, **stream_options, **private
    )
    step_event = step_btn.click(step_live, [*settings, run_state], outputs, **QUIET, **private)
    pause_btn.click(request_pause, run_state, None, **quick)
    for event in (train_event, continue_event, step_event):
        event.success(record_run, [run_state, runs], [runs, runs_md], **quick)
    kind.change(beta_interactive, kind, beta, **quick)
    return [DemoLink(spec, inputs, {}, anchor_id(spec.id), button=train_btn, on_open=False)]
