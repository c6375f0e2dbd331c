"""Train live: a small AE, VAE or conditional VAE trained in front of the learner.

The run minimises the same objectives as the shipped models (``kit.train.train_model``):

    AE:        L(x) = (1/D) sum_i (x_hat_i - x_i)^2                     MSE per pixel
    VAE/CVAE:  L(x) = E_q[-log p(x|z)] + beta * KL(q(z|x) || N(0, I))   in nats per image

with Adam (batch 128) and the learning rate decayed to zero on a cosine over the run. The loss
curve is logged at every step; the same 8 held-out digits are reconstructed by the freshly
initialised model ("before") and by the trained one ("after").

Training runs in a worker thread; ``run_training`` is a generator that wakes every
``YIELD_SECONDS`` to report progress, so a UI can redraw while the optimiser works. Only one run
may train per server at a time (``RUN_SLOT``, a non-blocking lock): that is a shared CPU budget,
not per-user state. A run ends early when the caller's ``stop`` flag is set, when the stream is
closed (Stop, a cancelled event, a closed page), when nobody has read the stream for
``WATCHDOG_SECONDS``, or after ``MAX_RUN_SECONDS``; the worker always frees the slot.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import torch

from kit.data import DataUnavailableError, Digits, bundled_test_set, load_mnist
from kit.demos.common import DemoInputError, as_choice, as_float, as_int, grid_display, new_figure

if TYPE_CHECKING:  # matplotlib loads lazily (kit.demos.common.new_figure)
    from matplotlib.figure import Figure
from kit.models.config import ModelConfig
from kit.recipes import TrainConfig
from kit.train import TrainResult, train_model

KINDS = ("ae", "vae", "cvae")
VAE_KINDS = ("vae", "cvae")
MAX_EPOCHS = 5
MAX_LATENT = 32
MAX_BETA = 20.0
MAX_STEPS_CAP = 5 * 469  # five epochs of the 60k training set at batch 128
BATCH_SIZE = 128
LEARNING_RATE = {"ae": 3e-3, "vae": 1e-3, "cvae": 1e-3}  # peak Adam rates, as in kit.recipes
HELD_OUT = 1000  # bundled fallback: train on the first 9000 digits, evaluate on the last 1000
SHOW_CLASSES = tuple(range(8))  # the fixed display digits: the first held-out 0, 1, ..., 7
YIELD_SECONDS = 0.75  # how often the stream reports while training runs
WATCHDOG_SECONDS = 30.0  # a run nobody reads for this long stops itself
MAX_RUN_SECONDS = 300.0  # hard wall-clock cap on one run
BUSY_MESSAGE = "Another visitor is training right now; try again in a minute"

RUN_SLOT = threading.Lock()  # server-wide: at most one training run at a time


class TrainingBusyError(DemoInputError):
    """The run slot is taken by another run."""


@dataclass(frozen=True)
class TrainingData:
    """What a run trains on and what it is evaluated on."""

    train: Digits
    """Training digits, uint8 (N, 28, 28)."""
    test: Digits
    """Held-out digits for the per-epoch test numbers and the before/after pictures."""
    note: str
    """Where the digits come from, as a noun phrase for the status text."""
    full_mnist: bool
    """True when ``train`` is the 60k MNIST training set."""
    warning: str = ""
    """Why the run is not on the MNIST training set (empty when it is)."""


def bundled_training_data(reason: str | None = None) -> TrainingData:
    """The 10k bundled test digits split 9000 / 1000 (training / held out)."""
    digits = bundled_test_set()
    cut = len(digits) - HELD_OUT
    train = Digits(digits.images[:cut], digits.labels[:cut])
    test = Digits(digits.images[cut:], digits.labels[cut:])
    note = (
        f"the bundled test digits ({cut:,} for training; the last {HELD_OUT:,}, held out, "
        f"for the test numbers and the pictures)"
    )
    warning = (
        f"Training on the bundled test digits because MNIST could not be downloaded/found: {reason}"
        if reason
        else ""
    )
    return TrainingData(train, test, note, full_mnist=False, warning=warning)


@lru_cache(maxsize=2)
def _load_training_data(data_dir: str) -> TrainingData:
    try:
        train = load_mnist(data_dir, train=True, download=True)
    except (DataUnavailableError, ImportError, OSError) as err:
        return bundled_training_data(reason=str(err))
    return TrainingData(
        train=train,
        test=bundled_test_set(),  # the MNIST test set, never trained on
        note=f"the MNIST training set ({len(train):,} digits; test numbers on the 10,000 test digits)",
        full_mnist=True,
    )


def default_training_data() -> TrainingData:
    """MNIST from ``$LATENT_LAB_DATA`` (default ``data``), downloaded if missing; else bundled.

    Loaded once per process and data folder (a failed download is not retried).
    """
    return _load_training_data(os.environ.get("LATENT_LAB_DATA", "data"))


def display_indices(test: Digits) -> list[int]:
    """Positions in ``test`` of its first digit of each class in ``SHOW_CLASSES``."""
    labels = test.labels.numpy()
    return [int(np.flatnonzero(labels == c)[0]) for c in SHOW_CLASSES if (labels == c).any()]


# ---- reconstructions of the fixed digits ---------------------------------------------------


@dataclass
class Reconstructions:
    """Named output of ``reconstruct_digits``."""

    images: torch.Tensor
    """Reconstructions (B, 1, 28, 28) in [0, 1] (a VAE decodes its posterior mean)."""
    mse: float
    """Mean squared error per pixel over the batch."""


@torch.no_grad()
def reconstruct_digits(model, x: torch.Tensor, y: torch.Tensor) -> Reconstructions:
    """Reconstruct x (B, 1, 28, 28) with an AE, VAE (posterior mean) or CVAE (given labels y)."""
    model.eval()
    kind = model.config.kind
    if kind == "ae":
        recon = model(x).recon
    elif kind == "cvae":
        recon = model.decode(model.encode(x, y).mu, y)  # (B, d) + label -> (B, 1, 28, 28)
    else:
        recon = model.decode(model.encode(x).mu)  # (B, d) -> (B, 1, 28, 28)
    mse = float(((recon - x) ** 2).mean())  # (1/(B D)) sum (x_hat - x)^2
    return Reconstructions(images=recon, mse=mse)


# ---- live run state, written by the worker thread, read by the stream ------------------------


@dataclass
class _Live:
    total: int = 0
    step: int = 0
    steps: list[int] = field(default_factory=list)  # step number of each logged loss
    losses: dict[str, list[float]] = field(default_factory=dict)  # "mse" or "recon" and "kl"
    epochs: list[dict] = field(default_factory=list)  # train_model's per-epoch records
    data: TrainingData | None = None  # set by the worker once loaded
    shown: tuple[torch.Tensor, torch.Tensor] | None = None  # the display digits x (8, 1, 28, 28), y
    before: Reconstructions | None = None  # the fresh model's reconstructions of ``shown``
    result: TrainResult | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)
    last_read: float = field(default_factory=time.monotonic)

    def on_step(self, step: int, total: int, parts: dict) -> None:
        self.total, self.step = total, step
        for k, v in parts.items():
            self.losses.setdefault(k, []).append(float(v))
        self.steps.append(step)


# ---- the loss plot -------------------------------------------------------------------------


def _smooth(values: list[float], window: int) -> np.ndarray:
    """Trailing moving average (the first points average what exists so far)."""
    v = np.asarray(values, dtype=float)
    c = np.cumsum(np.insert(v, 0, 0.0))
    i = np.arange(1, len(v) + 1)
    lo = np.maximum(i - window, 0)
    return (c[i] - c[lo]) / (i - lo)


def loss_figure(kind: str, beta: float, live: _Live, total: int) -> Figure:
    from matplotlib.ticker import FuncFormatter, LogLocator

    """Per-step training loss (faint), its moving average, and per-epoch test values (dots)."""
    names = ["mse"] if kind == "ae" else ["recon", "kl"]
    titles = {
        "mse": "MSE per pixel (AE loss)",
        "recon": "Reconstruction $E_q[-\\log p(x|z)]$ (nats)",
        "kl": f"KL$(q(z|x)\\,\\|\\,p(z))$ (nats), weight β = {beta:g}",
    }
    fig = new_figure(figsize=(8.0, 3.0), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    steps = list(live.steps)
    n = len(steps)
    window = max(1, min(25, n // 10 or 1))
    for ax, name in zip(axes, names, strict=True):
        values = live.losses.get(name, [])[:n]
        if values:
            ax.plot(steps[: len(values)], values, color="tab:blue", alpha=0.25, lw=0.8)
            ax.plot(
                steps[: len(values)],
                _smooth(values, window),
                color="tab:blue",
                lw=1.8,
                label="train",
            )
        tests = [(r["steps"], r[f"test_{name}"]) for r in live.epochs if f"test_{name}" in r]
        if tests:
            ax.plot(
                *zip(*tests, strict=True), "o", color="tab:orange", ms=6, label="test (per epoch)"
            )
        ax.set_xlim(0, max(total, 1))
        if name != "kl" and values:  # log scale: late progress stays visible after the big drop
            ax.set_yscale("log")
            ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 3.0, 5.0)))
            for axis_format in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
                axis_format(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_title(titles[name], fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if values:
            ax.legend(fontsize=8, loc="upper right")
    return fig


# ---- the run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSettings:
    """Validated arguments of one run."""

    kind: str
    beta: float
    latent_dim: int
    epochs: int
    max_steps: int | None

    def label(self) -> str:
        beta = f", β = {self.beta:g}" if self.kind in VAE_KINDS else ""
        return f"{self.kind.upper()} (latent size {self.latent_dim}{beta})"


def validate(kind, beta, latent_dim, epochs, max_steps) -> RunSettings:
    """Check every argument (raises ``DemoInputError`` with a sentence a learner can act on)."""
    kind = as_choice(kind, "the model kind", KINDS)
    beta = as_float(beta, "β", 0.0, MAX_BETA) if kind in VAE_KINDS else 1.0  # unused by an AE
    latent_dim = as_int(latent_dim, "the latent size", 1, MAX_LATENT)
    epochs = as_int(epochs, "the number of epochs", 1, MAX_EPOCHS)
    if max_steps is None or max_steps == "":
        steps = None
    else:
        steps = as_int(max_steps, "the step cap", 0, MAX_STEPS_CAP) or None  # 0 = no cap
    return RunSettings(kind, beta, latent_dim, epochs, steps)


def _stop_check(stop) -> Callable[[], bool]:
    if stop is None:
        return lambda: False
    if hasattr(stop, "is_set"):
        return stop.is_set
    if callable(stop):
        return stop
    raise DemoInputError("stop must be a threading.Event or a function returning True to stop")


def _progress_text(s: RunSettings, live: _Live, seconds: float) -> str:
    step, total = live.step, max(live.total, 1)
    steps_per_epoch = math.ceil(len(live.data.train) / BATCH_SIZE)
    epoch = min(s.epochs, step // steps_per_epoch + 1)
    bar = "█" * round(20 * step / total) + "░" * (20 - round(20 * step / total))
    parts = []
    for name, unit in (("mse", ""), ("recon", " nats"), ("kl", " nats")):
        values = live.losses.get(name)
        if values:
            recent = np.mean(values[-20:])
            label = {"mse": "MSE", "recon": "recon", "kl": "KL"}[name]
            parts.append(f"{label} {recent:.4g}{unit}")
    losses = " · ".join(parts)
    return (
        f"**Training** {s.label()}: `{bar}` step {step} / {total} (epoch {epoch} of {s.epochs}), "
        f"{seconds:.0f} s. Recent training loss: {losses or '…'}" + _warning(live.data)
    )


def _final_text(
    s: RunSettings,
    data: TrainingData,
    result: TrainResult,
    steps: int,
    before: float,
    after: float,
    why: str,
) -> str:
    m = result.metrics
    if s.kind == "ae":
        test = f"test MSE per pixel **{m['mse']:.4f}**"
    else:
        test = (
            f"test reconstruction **{m['recon']:.1f}** nats + KL **{m['kl']:.2f}** nats "
            f"= negative ELBO **{m['neg_elbo']:.1f}** nats; active latent units "
            f"**{m['active_units']}** of {s.latent_dim}"
        )
    head = "**Stopped early**" if why else "**Done**"
    return (
        f"{head}{why}: {s.label()} trained for {steps} steps in {result.seconds:.0f} s on "
        f"{data.note}.\n\n{test[:1].upper()}{test[1:]}. On the 8 digits below the MSE per pixel "
        f"went from **{before:.4f}** (fresh random weights) to **{after:.4f}**." + _warning(data)
    )


def _warning(data: TrainingData | None) -> str:
    return f"\n\n⚠️ {data.warning}." if data is not None and data.warning else ""


def run_training(
    kind: str = "vae",
    beta: float = 1.0,
    latent_dim: int = 2,
    epochs: int = 1,
    max_steps: int | None = None,
    stop=None,
    data: TrainingData | None = None,
) -> Iterator[dict]:
    """Validate the arguments, then return a stream of named updates for one training run.

    Every update is a dict with some of: ``status`` (markdown), ``progress`` (fraction of steps
    done, 0 to 1), ``loss_plot`` (Figure), ``originals``, ``before``, ``after`` (uint8 grids of
    the 8 display digits) and, last, ``run`` (a summary dict of the finished run). ``stop`` is a
    ``threading.Event`` (or a function) checked before every step; ``data`` defaults to
    ``default_training_data()``. The run takes the server's single run slot when the stream is
    first read (``TrainingBusyError`` if taken) and frees it when training ends.
    """
    settings = validate(kind, beta, latent_dim, epochs, max_steps)
    return _stream(settings, _stop_check(stop), data)


def _prepare(s: RunSettings, data: TrainingData, live: _Live) -> tuple[ModelConfig, TrainConfig]:
    """Configs of the run, the display digits and the untrained model's reconstructions."""
    model_config = ModelConfig(kind=s.kind, latent_dim=s.latent_dim, beta=s.beta)
    train_config = TrainConfig(
        epochs=s.epochs, batch_size=BATCH_SIZE, lr=LEARNING_RATE[s.kind], seed=0
    )
    idx = display_indices(data.test)
    shown = Digits(data.test.images[idx], data.test.labels[idx])
    x, y = shown.as_float(), shown.labels  # (8, 1, 28, 28), (8,)
    # zero steps of train_model = exactly the initial weights the real run starts from
    fresh = train_model(model_config, train_config, data.train, shown, max_steps=0, progress=False)
    total = s.epochs * math.ceil(len(data.train) / BATCH_SIZE)
    live.total = total if s.max_steps is None else min(total, s.max_steps)
    live.data = data
    live.shown, live.before = (x, y), reconstruct_digits(fresh.model, x, y)  # ``before`` last
    return model_config, train_config


def _stream(s: RunSettings, user_stop: Callable[[], bool], data: TrainingData | None):
    if not RUN_SLOT.acquire(blocking=False):
        raise TrainingBusyError(BUSY_MESSAGE)
    live = _Live()
    abort = threading.Event()
    start = time.monotonic()

    def should_stop() -> bool:  # polled by train_model before every step
        now = time.monotonic()
        return (
            abort.is_set()
            or user_stop()
            or now - live.last_read > WATCHDOG_SECONDS  # nobody reads the stream any more
            or now - start > MAX_RUN_SECONDS
        )

    def work() -> None:  # owns the run slot until it returns
        try:
            model_config, train_config = _prepare(s, data or default_training_data(), live)
            live.result = train_model(
                model_config,
                train_config,
                live.data.train,
                live.data.test,
                max_steps=s.max_steps,
                progress=False,
                on_epoch=live.epochs.append,
                on_step=live.on_step,
                should_stop=should_stop,
            )
        except BaseException as err:  # re-raised by the stream
            live.error = err
        finally:
            live.done.set()
            RUN_SLOT.release()

    worker = threading.Thread(target=work, name="train_live", daemon=True)
    try:
        worker.start()
    except BaseException:
        RUN_SLOT.release()
        raise
    try:
        # from here on the worker frees the slot, even if this stream is abandoned unread
        yield {"status": f"**Starting** {s.label()}…", "progress": 0.0, "after": None}
        sent_before = False
        while True:
            live.last_read = time.monotonic()
            if live.done.wait(YIELD_SECONDS):
                break
            if live.before is None:
                yield {"status": "Preparing the model and the training digits…", "progress": 0.0}
                continue
            update = {
                "status": _progress_text(s, live, time.monotonic() - start),
                "progress": round(live.step / max(live.total, 1), 4),
                "loss_plot": loss_figure(s.kind, s.beta, live, live.total),
            }
            if not sent_before:
                update |= _before_images(live)
                sent_before = True
            yield update
        if live.error is not None:
            raise live.error
        yield _final_update(s, live, time.monotonic() - start > MAX_RUN_SECONDS)
    finally:
        abort.set()
        worker.join(timeout=60)


def _before_images(live: _Live) -> dict:
    x, _ = live.shown
    return {
        "originals": grid_display(x, nrow=x.shape[0]),
        "before": grid_display(live.before.images, nrow=x.shape[0]),
    }


def _final_update(s: RunSettings, live: _Live, timed_out: bool) -> dict:
    result, data, (x, y) = live.result, live.data, live.shown
    after = reconstruct_digits(result.model, x, y)
    steps = result.history[-1]["steps"] if result.history else 0
    stopped = steps < live.total  # also when stopped before the first step (no history)
    why = ""
    if stopped:
        why = " at the time limit" if timed_out else " (Stop pressed)"
    run = {
        "kind": s.kind,
        "beta": s.beta if s.kind in VAE_KINDS else None,
        "latent_dim": s.latent_dim,
        "epochs": s.epochs,
        "steps": steps,
        "total_steps": live.total,
        "stopped": stopped,
        "seconds": round(result.seconds, 2),
        "data": data.note,
        "full_mnist": data.full_mnist,
        "losses": {k: list(v) for k, v in live.losses.items()},
        "test": {k: v for k, v in result.metrics.items() if k != "kl_per_dim"},
        "before_mse": live.before.mse,
        "after_mse": after.mse,
    }
    return {
        "status": _final_text(s, data, result, steps, live.before.mse, after.mse, why),
        "progress": round(steps / max(live.total, 1), 4),
        "loss_plot": loss_figure(s.kind, s.beta, live, live.total),
        **_before_images(live),
        "after": grid_display(after.images, nrow=x.shape[0]),
        "run": run,
    }


def train_to_end(
    kind: str = "vae",
    beta: float = 1.0,
    latent_dim: int = 2,
    epochs: int = 1,
    max_steps: int | None = 60,
) -> dict:
    """A whole run without streaming: every named output of its final state."""
    out: dict = {}
    for update in run_training(kind, beta, latent_dim, epochs, max_steps):
        out.update(update)
    return out


# ---- the runs of this session (the UI keeps the list in gr.State) ---------------------------


def add_run(runs: list | None, run: dict | None, keep: int = 8) -> list:
    """A new list: the last ``keep`` run summaries, newest last."""
    runs = list(runs or [])
    if run:
        runs.append({k: v for k, v in run.items() if k != "losses"})
    return runs[-keep:]


def runs_table(runs: list | None) -> str:
    """Markdown table comparing this session's runs."""
    if not runs:
        return "_Your finished runs will be listed here, so you can compare settings._"
    lines = [
        "| # | model | β | latent | steps | test recon (nats) | test KL (nats) "
        "| MSE on the 8 digits |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(runs, 1):
        t = r.get("test", {})
        recon = f"{t['recon']:.1f}" if "recon" in t else "–"
        kl = f"{t['kl']:.2f}" if "kl" in t else "–"
        beta = "–" if r.get("beta") is None else f"{r['beta']:g}"
        stopped = " (stopped)" if r.get("stopped") else ""
        lines.append(
            f"| {i} | {r['kind'].upper()} | {beta} | {r['latent_dim']} | {r['steps']}{stopped} "
            f"| {recon} | {kl} | {r['after_mse']:.4f} |"
        )
    return "\n".join(lines)
