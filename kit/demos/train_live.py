"""Train live: a small AE, VAE or conditional VAE trained in front of the learner, batch by batch.

Each step minimises ``model.loss``, the objective the shipped models were trained on:

    AE:        L(x) = (1/D) sum_i (x_hat_i - x_i)^2                     MSE per pixel
    VAE/CVAE:  L(x) = E_q[-log p(x|z)] + beta * KL(q(z|x) || N(0, I))   in nats per image

with Adam on batches of 128 from the 20,000 bundled MNIST training digits
(``kit.data.bundled_train_subset``, so nothing is ever downloaded), the learning rate decayed
on a cosine from its peak to zero over the run's steps: lr_t = lr_0 * (1 + cos(pi t / T)) / 2.

A run is a ``LiveRun``: the model, its optimiser and its loss history, owned by one visitor (the
UI keeps it in ``gr.State``). ``stream`` trains it in chunks and yields, every ``UPDATE_SECONDS``, a
named update after each (the loss curves, the latent map of a 2-d run and the reconstructions
of ten held-out digits, all drawn into one numpy image in ~40 ms). A watched run is paced to at
most ``STEPS_PER_SECOND`` steps/s, so the default run streams for ~13 s and leaves the rest of
the CPU to the other demos. The stream ends when the run has done its steps, when its ``pause``
flag is set (Pause), or after ``MAX_STREAM_SECONDS``; ``step`` trains exactly one batch of a
paused run. ``TrainingSlot`` is the server's record of the one run streaming now and of who waits
for it (shared CPU state, not user state), so a second visitor is told how long the wait is.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from kit.data import Digits, bundled_test_set, bundled_train_subset
from kit.demos.common import DemoInputError, as_choice, as_float, as_int, grid_display, new_figure
from kit.demos.latent import TAB10
from kit.evaluate import evaluate
from kit.models import build_model
from kit.models.config import ModelConfig

if TYPE_CHECKING:  # matplotlib loads lazily (kit.demos.common.new_figure)
    from matplotlib.figure import Figure

KINDS = ("ae", "vae", "cvae")
VAE_KINDS = ("vae", "cvae")
MAX_LATENT = 32
MAX_BETA = 20.0
DEFAULT_STEPS = 800  # ~5 passes over the 20k digits; ~13 s at the watched pace
MAX_STEPS = 3000  # hard cap on one run's steps (50 s at the watched pace)
BATCH_SIZE = 128
LEARNING_RATE = {"ae": 3e-3, "vae": 1e-3, "cvae": 1e-3}  # peak Adam rates, as in kit.recipes
SEED = 0
STEPS_PER_SECOND = 60.0  # pace of a watched run: slow enough to follow, ~half a core
UPDATE_SECONDS = 0.33  # aimed-for time between two updates (~3/s): training gets what drawing
MIN_CHUNK_SECONDS = 0.05  # and sending the last one left, but never less than this
MAX_STREAM_SECONDS = 60.0  # one stream pauses itself after this long (Continue resumes it)
SHOW_CLASSES = tuple(range(10))  # the display digits: the first test digit of each class
PROBE_SIZE = 1000  # held-out digits encoded at every update: the latent map, the test curve
SMOOTH_STEPS = 25  # window of the moving average drawn over the per-step losses
WAIT_EXPIRY_SECONDS = 300.0  # a waiting visitor who never started is forgotten after this
STALE_STREAM_SECONDS = 5.0  # a stream silent this long was abandoned (its page went away)


class RunStateError(DemoInputError):
    """The run cannot do what was asked in its current state (no run, finished, training)."""


# ---- settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSettings:
    """Validated arguments of one run."""

    kind: str
    """One of "ae", "vae", "cvae"."""
    beta: float
    """Weight on the KL term (1.0, unused, for the autoencoder)."""
    latent_dim: int
    """Size d of the latent code."""
    steps: int
    """Optimiser steps (batches of 128) the run trains for."""

    def label(self) -> str:
        """The run as a learner reads it, e.g. "VAE (latent size 2, β = 1)"."""
        beta = f", β = {self.beta:g}" if self.kind in VAE_KINDS else ""
        return f"{self.kind.upper()} (latent size {self.latent_dim}{beta})"


def validate(kind, beta, latent_dim, steps) -> RunSettings:
    """Check every argument (raises ``DemoInputError`` with a sentence a learner can act on)."""
    kind = as_choice(kind, "the model kind", KINDS)
    beta = as_float(beta, "β", 0.0, MAX_BETA) if kind in VAE_KINDS else 1.0  # unused by an AE
    latent_dim = as_int(latent_dim, "the latent size", 1, MAX_LATENT)
    steps = as_int(steps, "the number of steps", 1, MAX_STEPS)
    return RunSettings(kind, beta, latent_dim, steps)


# ---- one training step -----------------------------------------------------------------------


@dataclass
class Probe:
    """Named output of ``probe``: the model on the fixed held-out digits."""

    codes: np.ndarray
    """Latent codes (AE) or posterior means (VAE kinds), (PROBE_SIZE, d)."""
    losses: dict[str, float]
    """Held-out values of the logged terms ({"mse"} or {"recon", "kl"}), means per image."""


@torch.no_grad()
def probe(model, x: torch.Tensor, y: torch.Tensor, beta: float) -> Probe:
    """Eval mode on the held-out digits: their codes and loss terms (one z sample each)."""
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(SEED)  # the same noise at every probe
    terms = model.loss(x, y, generator=generator, kl_weight=beta)
    # (N, 1, 28, 28) -> (N, d): the posterior mean the loss already computed, or the AE's code
    codes = terms.posterior.mu if terms.posterior is not None else model.embed(x)
    model.train(was_training)
    return Probe(codes=codes.numpy(), losses=terms.means())


@torch.no_grad()
def reconstruct(model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Reconstructions (B, 1, 28, 28) in [0, 1] in eval mode; a VAE decodes its posterior mean."""
    was_training = model.training
    model.eval()
    recon = model.reconstruct(x, y)
    model.train(was_training)
    return recon


def mean_squared_error(recon: torch.Tensor, x: torch.Tensor) -> float:
    """Mean squared error per pixel between ``recon`` and ``x``."""
    return float(((recon - x) ** 2).mean())  # (1/(B D)) sum (x_hat - x)^2


# ---- the run ---------------------------------------------------------------------------------


@dataclass
class LiveRun:
    """One visitor's training run: model, optimiser, position in the data and loss history."""

    settings: RunSettings
    """What was asked for."""
    model: torch.nn.Module | None
    """The model being trained (None once the run is finished and released)."""
    optimizer: torch.optim.Optimizer | None
    """Adam over ``model``'s parameters (None once released)."""
    generator: torch.Generator
    """Seeds the batch order and the VAE's z samples: a run is reproducible."""
    train: Digits
    """The training digits (the shared bundled subset, never copied)."""
    shown: Digits
    """The ten display digits, one per class, from the test set."""
    probe_set: Digits
    """The held-out digits of the latent map and the test curve (first PROBE_SIZE test digits)."""
    before: torch.Tensor
    """The untrained model's reconstructions of ``shown`` (10, 1, 28, 28)."""
    after: torch.Tensor
    """The latest reconstructions of ``shown``."""
    steps_done: int = 0
    """Optimiser steps taken so far."""
    order: torch.Tensor | None = None
    """This epoch's shuffled row order of ``train``."""
    cursor: int = 0
    """Next position in ``order``."""
    steps: list[int] = field(default_factory=list)
    """Step number of each logged training loss (1, 2, ...)."""
    losses: dict[str, list[float]] = field(default_factory=dict)
    """Per-step training terms: "mse", or "recon" and "kl"."""
    held_out: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    """(step, probe losses) at every update."""
    codes: np.ndarray | None = None
    """The latest probe codes (PROBE_SIZE, d)."""
    train_seconds: float = 0.0
    """Wall time the run has streamed or stepped, drawing included (pauses excluded)."""
    metrics: dict | None = None
    """Test-set metrics (``kit.evaluate``, 10,000 digits) once finished."""
    recorded: bool = False
    """True once the session's run table lists it."""
    chart: LiveChart | None = None
    """The run's figure, drawn again at every update (None until first drawn)."""
    pause: threading.Event = field(default_factory=threading.Event)
    """Set by Pause: the stream stops before its next step."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while the run trains or draws (by a stream's chunk or by a Step)."""
    streaming: bool = False
    """True while a stream owns the run (set and cleared under ``lock``)."""
    last_update: float = 0.0
    """``time.monotonic()`` of the stream's latest update."""

    def is_streaming(self) -> bool:
        """A stream owns the run and updated it recently (an abandoned stream does not count)."""
        return self.streaming and time.monotonic() - self.last_update < STALE_STREAM_SECONDS

    @property
    def total(self) -> int:
        """Optimiser steps the run was asked for."""
        return self.settings.steps

    @property
    def finished(self) -> bool:
        """True once every asked-for step is done."""
        return self.steps_done >= self.total

    @property
    def steps_per_epoch(self) -> int:
        """Optimiser steps in one pass over the training digits."""
        return math.ceil(len(self.train) / BATCH_SIZE)

    def learning_rate(self) -> float:
        """This step's learning rate: the kind's peak, cosine-decayed towards 0 over the run."""
        peak = LEARNING_RATE[self.settings.kind]
        return peak * 0.5 * (1.0 + math.cos(math.pi * self.steps_done / self.total))  # cosine

    def train_step(self) -> dict[str, float]:
        """One optimiser step on the next batch; returns the logged terms."""
        if self.order is None or self.cursor >= len(self.order):  # a new epoch: reshuffle
            self.order = torch.randperm(len(self.train), generator=self.generator)
            self.cursor = 0
        idx = self.order[self.cursor : self.cursor + BATCH_SIZE]
        self.cursor += BATCH_SIZE
        x = self.train.as_float(idx)  # (B, 28, 28) uint8 -> (B, 1, 28, 28) in [0, 1]
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate()
        # L = MSE (AE) or E_q[-log p(x|z)] + beta * KL(q(z|x) || N(0, I)) (VAE kinds), batch mean
        terms = self.model.loss(
            x, self.train.labels[idx], generator=self.generator, kl_weight=self.settings.beta
        )
        self.optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        self.optimizer.step()
        self.steps_done += 1
        self.steps.append(self.steps_done)
        parts = terms.means()
        for name, value in parts.items():
            self.losses.setdefault(name, []).append(value)
        return parts

    def observe(self) -> None:
        """Probe the held-out digits and reconstruct the display digits with the current model."""
        x, y = self.probe_set.as_float(), self.probe_set.labels
        seen = probe(self.model, x, y, self.settings.beta)
        self.codes = seen.codes
        if not self.held_out or self.held_out[-1][0] != self.steps_done:
            self.held_out.append((self.steps_done, seen.losses))
        self.after = reconstruct(self.model, self.shown.as_float(), self.shown.labels)

    def finish(self) -> None:
        """Test metrics on the 10,000 test digits; then free the model, optimiser and figure."""
        self.observe()
        self.metrics = dict(evaluate(self.model, bundled_test_set()))
        self.model = self.optimizer = None  # a finished run keeps only its numbers and pictures

    def release_chart(self) -> None:
        """Drop the run's figure (``snapshot`` builds a new one if asked to draw again)."""
        self.chart = None


def display_digits(test: Digits) -> Digits:
    """The first digit of each class in ``SHOW_CLASSES`` from ``test``."""
    labels = test.labels.numpy()
    idx = [int(np.flatnonzero(labels == c)[0]) for c in SHOW_CLASSES]
    return Digits(test.images[idx], test.labels[idx])


def new_run(settings: RunSettings, train: Digits | None = None) -> LiveRun:
    """A fresh run from seeded random weights, with the untrained model's reconstructions."""
    train = bundled_train_subset() if train is None else train
    test = bundled_test_set()
    model_config = ModelConfig(kind=settings.kind, latent_dim=settings.latent_dim)
    with torch.random.fork_rng(devices=[]):  # seed the initialisation, leave the global RNG alone
        torch.manual_seed(SEED)
        model = build_model(model_config).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE[settings.kind])
    shown = display_digits(test)
    before = reconstruct(model, shown.as_float(), shown.labels)
    run = LiveRun(
        settings=settings,
        model=model,
        optimizer=optimizer,
        generator=torch.Generator().manual_seed(SEED),
        train=train,
        shown=shown,
        probe_set=Digits(test.images[:PROBE_SIZE], test.labels[:PROBE_SIZE]),
        before=before,
        after=before,
    )
    run.observe()  # step 0 on the held-out curve, the untrained latent map
    return run


# ---- the picture: loss curves and the latent map, one reused figure per run -----------------


def _smooth(values: list[float], window: int) -> np.ndarray:
    """Trailing moving average (the first points average what exists so far)."""
    v = np.asarray(values, dtype=float)
    c = np.cumsum(np.insert(v, 0, 0.0))
    i = np.arange(1, len(v) + 1)
    lo = np.maximum(i - window, 0)
    return (c[i] - c[lo]) / (i - lo)


LOSS_TITLES = {
    "mse": "MSE per pixel (the AE's loss)",
    "recon": "Reconstruction E_q[-log p(x|z)] (nats)",
    "kl": "KL(q(z|x) || p(z)) (nats), weight β = {beta:g}",
}
# Starting y ranges; a curve that leaves its range widens it (and the frame is drawn again).
Y_RANGE = {"mse": (0.005, 0.4), "recon": (60.0, 700.0), "kl": (0.0, 8.0)}
MAP_RADII = (3.0, 4.5, 6.0, 9.0, 12.0, 18.0, 24.0, 36.0, 48.0, 72.0, 96.0)  # latent map half-widths
CHART_DPI = 96
PANEL_INCHES = (3.9, 3.3)  # width, height of one panel


class LiveChart:
    """The run's loss curves (and latent map for d = 2) in one matplotlib figure, redrawn in place.

    Built once per run. The frame (axes, ticks, titles, legends) is rendered once and kept as a
    background; each ``draw`` moves the data artists, pastes the background and draws only them
    (blitting, ~10 ms on one core), so an update never costs what building a figure for
    ``gr.Plot`` does (0.2-0.8 s). The frame is drawn again only when a curve leaves its y range
    or the latent codes outgrow the map.
    """

    def __init__(self, settings: RunSettings):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.ticker import FuncFormatter, LogLocator

        self.names = ["mse"] if settings.kind == "ae" else ["recon", "kl"]
        self.has_map = settings.latent_dim == 2
        panels = len(self.names) + self.has_map
        w, h = PANEL_INCHES
        self.figure: Figure = new_figure(figsize=(w * panels, h), dpi=CHART_DPI)
        # room on top for the image's buttons, which Gradio lays over the picture's corner
        self.figure.subplots_adjust(left=0.3 / panels, right=0.985, bottom=0.15, top=0.84)
        self.figure.subplots_adjust(wspace=0.3)
        axes = self.figure.subplots(1, panels, squeeze=False)[0]
        self.axes = dict(zip(self.names, axes, strict=False))
        self.lines: dict[str, tuple] = {}
        self.artists: list = []  # drawn at every update, over the background
        self.y_range = {name: Y_RANGE[name] for name in self.names}
        for name, ax in self.axes.items():
            raw = ax.plot([], [], color="tab:blue", alpha=0.25, lw=0.8)[0]
            smooth = ax.plot([], [], color="tab:blue", lw=1.8, label="train")[0]
            test = ax.plot([], [], "o-", color="tab:orange", ms=3, lw=1, label="held-out test")[0]
            self.lines[name] = (raw, smooth, test)
            self.artists += [raw, smooth, test]
            ax.set_xlim(0, settings.steps)
            ax.set_ylim(*self.y_range[name])
            ax.set_title(LOSS_TITLES[name].format(beta=settings.beta), fontsize=10)
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc="upper right")
            if name != "kl":  # log scale: late progress stays visible after the big early drop
                ax.set_yscale("log")
                ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 3.0, 5.0)))
                for axis_format in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
                    axis_format(FuncFormatter(lambda v, _: f"{v:g}"))
        self.radius = MAP_RADII[0]
        if self.has_map:
            ax = self.map_axes = axes[-1]
            colours = TAB10[np.asarray(bundled_test_set().labels[:PROBE_SIZE])]
            self.points = ax.scatter(
                np.zeros(PROBE_SIZE), np.zeros(PROBE_SIZE), c=colours, s=5, linewidths=0
            )
            self.digit_labels = [
                ax.text(
                    0, 0, str(d), ha="center", va="center", fontsize=9, weight="bold",
                    color="white",
                    bbox={"boxstyle": "circle,pad=0.1", "fc": TAB10[d], "ec": "white"},
                )
                for d in range(10)
            ]  # fmt: skip
            self.artists += [self.points, *self.digit_labels]
            ax.set_xlim(-self.radius, self.radius)
            ax.set_ylim(-self.radius, self.radius)
            ax.set_title(f"Latent codes of {PROBE_SIZE:,} test digits", fontsize=10)
            ax.set_xlabel("$z_1$")
            ax.set_ylabel("$z_2$", labelpad=0)
            ax.set_aspect("equal", adjustable="box")
            ax.grid(alpha=0.3)
        for artist in self.artists:
            artist.set_animated(True)  # left out of the background
        self.canvas = FigureCanvasAgg(self.figure)
        self.background = None
        self.frames_drawn = 0  # full renders of the frame (for tests and benchmarks)

    def _fit(self, run: LiveRun) -> bool:
        """Widen y ranges and the map to fit the data; True when the frame must be redrawn."""
        changed = False
        for name in self.names:
            values = run.losses.get(name, []) + [v[name] for _, v in run.held_out]
            if not values:
                continue
            lo, hi = self.y_range[name]
            lo2 = lo if name == "kl" else min(lo, min(values) / 1.5)
            hi2 = max(hi, max(values) * 1.5) if max(values) > hi else hi
            if (lo2, hi2) != (lo, hi):
                self.y_range[name] = (lo2, hi2)
                self.axes[name].set_ylim(lo2, hi2)
                changed = True
        if self.has_map and run.codes is not None:
            spread = float(np.percentile(np.abs(run.codes), 99.5))
            fits = [r for r in MAP_RADII if r >= 1.1 * spread] or [MAP_RADII[-1]]
            radius = fits[0]
            if radius > self.radius or radius < self.radius / 2:  # grow at once, shrink lazily
                self.radius = radius
                self.map_axes.set_xlim(-radius, radius)
                self.map_axes.set_ylim(-radius, radius)
                changed = True
        return changed

    def draw(self, run: LiveRun) -> np.ndarray:
        """The figure with ``run``'s data so far, as a uint8 RGB image (H, W, 3)."""
        n = len(run.steps)
        for name, (raw, smooth, test) in self.lines.items():
            values = run.losses.get(name, [])
            raw.set_data(run.steps, values)
            smooth.set_data(run.steps, _smooth(values, SMOOTH_STEPS) if n else [])
            test.set_data([s for s, _ in run.held_out], [v[name] for _, v in run.held_out])
        if self.has_map and run.codes is not None:
            z = run.codes  # (PROBE_SIZE, 2)
            self.points.set_offsets(z)
            labels = np.asarray(run.probe_set.labels)
            for d, text in enumerate(self.digit_labels):
                text.set_position(np.median(z[labels == d], axis=0))
        if self._fit(run) or self.background is None:
            self.canvas.draw()  # the frame, without the animated artists
            self.background = self.canvas.copy_from_bbox(self.figure.bbox)
            self.frames_drawn += 1
        else:
            self.canvas.restore_region(self.background)
        for artist in self.artists:
            artist.axes.draw_artist(artist)
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()


# ---- named updates ---------------------------------------------------------------------------


def _recent(run: LiveRun) -> str:
    parts = []
    for name, label, unit in (
        ("mse", "MSE", ""),
        ("recon", "recon", " nats"),
        ("kl", "KL", " nats"),
    ):
        values = run.losses.get(name)
        if values:
            parts.append(f"{label} {np.mean(values[-20:]):.4g}{unit}")
    return " · ".join(parts) or "…"


def _position(run: LiveRun) -> str:
    epochs = run.steps_done / run.steps_per_epoch
    return f"step {run.steps_done} / {run.total} ({epochs:.1f} passes over the 20,000 digits)"


def status_text(run: LiveRun, state: str) -> str:
    """The markdown status line of ``run``; ``state`` is "training", "paused" or "limit"."""
    label = run.settings.label()
    if run.finished:
        return final_text(run)
    if state == "training":
        return f"**Training** {label}: {_position(run)}. Recent training loss: {_recent(run)}."
    why = (
        f"one stream lasts at most {MAX_STREAM_SECONDS:.0f} s, so other visitors get a turn"
        if state == "limit"
        else "Pause pressed"
    )
    head = "**Paused**" if run.steps_done else "**Ready**"
    return (
        f"{head} ({why}): {label} at {_position(run)}. Recent training loss: {_recent(run)}. "
        "Press **Continue** to train on, or **Step** for one batch at a time."
    )


def final_text(run: LiveRun) -> str:
    """A finished run's status: its test metrics and the shown digits' MSE before and after."""
    m, s = run.metrics or {}, run.settings
    if s.kind == "ae":
        test = f"test MSE per pixel **{m.get('mse', float('nan')):.4f}**"
    else:
        test = (
            f"test reconstruction **{m['recon']:.1f}** nats + KL **{m['kl']:.2f}** nats "
            f"= negative ELBO **{m['neg_elbo']:.1f}** nats; active latent units "
            f"**{m['active_units']}** of {s.latent_dim}"
        )
    before = mean_squared_error(run.before, run.shown.as_float())
    after = mean_squared_error(run.after, run.shown.as_float())
    return (
        f"**Done**: {s.label()} trained for {run.steps_done} steps "
        f"({run.steps_done / run.steps_per_epoch:.1f} passes over the 20,000 bundled training "
        f"digits) in {run.train_seconds:.0f} s.\n\n{test[:1].upper()}{test[1:]} (on the 10,000 "
        f"test digits, never trained on). On the 10 digits below the MSE per pixel went from "
        f"**{before:.4f}** (random weights) to **{after:.4f}**."
    )


def summary(run: LiveRun) -> dict:
    """A finished run's numbers (what the session's run table lists)."""
    s = run.settings
    return {
        "kind": s.kind,
        "beta": s.beta if s.kind in VAE_KINDS else None,
        "latent_dim": s.latent_dim,
        "steps": run.steps_done,
        "seconds": round(run.train_seconds, 2),
        "test": {k: v for k, v in (run.metrics or {}).items() if k != "kl_per_dim"},
        "before_mse": mean_squared_error(run.before, run.shown.as_float()),
        "after_mse": mean_squared_error(run.after, run.shown.as_float()),
        "losses": {k: list(v) for k, v in run.losses.items()},
    }


def snapshot(run: LiveRun, state: str = "training", chart: bool = True, full: bool = True) -> dict:
    """The named outputs of ``run`` now: status, progress, after, and
    ``chart`` (the figure, unless ``chart=False``), ``originals`` and ``before`` (they never
    change during a run: ``full=False`` leaves them out of a stream's later updates), and
    ``run`` (the summary) once the run is finished.
    """
    n = len(SHOW_CLASSES)
    out = {
        "status": status_text(run, state),
        "progress": round(run.steps_done / run.total, 4),
        "after": grid_display(run.after, nrow=n),
    }
    if full:
        out["originals"] = grid_display(run.shown.as_float(), nrow=n)
        out["before"] = grid_display(run.before, nrow=n)
    if chart:
        if run.chart is None:
            run.chart = LiveChart(run.settings)
        out["chart"] = run.chart.draw(run)
    if run.finished:
        out["run"] = summary(run)
        run.release_chart()
    return out


# ---- streaming, stepping, pacing -------------------------------------------------------------


def stream(
    run: LiveRun,
    pace: float | None = STEPS_PER_SECOND,
    update_seconds: float = UPDATE_SECONDS,
    max_seconds: float = MAX_STREAM_SECONDS,
    on_update: Callable[[LiveRun, float], None] | None = None,
) -> Iterator[dict]:
    """Train ``run`` and yield a named update (``snapshot``) every ``update_seconds``.

    Each chunk of training lasts ``update_seconds`` less what the previous update took to draw
    and send (at least ``MIN_CHUNK_SECONDS``), so a busy CPU slows training, not updates. At most ``pace`` steps per second (None: as fast as the CPU goes). Ends when the run is
    finished, when ``run.pause`` is set (cleared here at the start), or after ``max_seconds``,
    with a last update saying which. ``on_update(run, seconds_left)`` is told the expected
    remaining time after each update (the server's ``TrainingSlot`` uses it).
    """
    with run.lock:
        if run.finished:
            raise RunStateError("this run is finished: press Train to start a new one")
        if run.is_streaming():
            raise RunStateError("this run is already training")
        run.streaming, run.last_update = True, time.monotonic()
        run.pause.clear()
    start = time.monotonic()
    first_step, seconds_before = run.steps_done, run.train_seconds
    first_update = None
    overhead = 0.0  # seconds from the end of a chunk to the start of the next one
    try:
        state = "training"
        while state == "training" and not run.finished:
            with run.lock:  # a Step arriving now waits, then refuses (the run is streaming)
                chunk = max(MIN_CHUNK_SECONDS, update_seconds - overhead)
                state = _train_chunk(run, start, first_step, pace, chunk, max_seconds)
                chunk_end = time.monotonic()
                run.train_seconds = seconds_before + chunk_end - start  # what the visitor watched
                run.finish() if run.finished else run.observe()
                update = snapshot(run, state, full=False)
                run.last_update = time.monotonic()
            if first_update is None:  # the wall-clock rate is measured from here (warm)
                first_update = (time.monotonic(), run.steps_done)
            if on_update is not None:
                on_update(run, _seconds_left(run, first_update, pace, start + max_seconds))
            yield update
            overhead = time.monotonic() - chunk_end  # probing, drawing, and the caller's sending
    finally:
        with run.lock:
            run.streaming = False


def _train_chunk(run: LiveRun, start: float, first: int, pace, seconds: float, limit: float) -> str:
    """Train for ``seconds`` at most ``pace`` steps/s; "training", "paused" or "limit"."""
    chunk_end = time.monotonic() + seconds
    while time.monotonic() < chunk_end and not run.finished:
        if run.pause.is_set():
            return "paused"
        if time.monotonic() - start > limit:
            return "limit"
        run.train_step()
        if pace:  # step k of this stream is due at start + k / pace
            due = start + (run.steps_done - first) / pace
            time.sleep(max(0.0, min(due, chunk_end) - time.monotonic()))
    return "paused" if run.pause.is_set() else "training"


def _seconds_left(run: LiveRun, since: tuple[float, int], pace, stream_end: float) -> float:
    """Expected wall time left in this stream: the steps left at the rate seen since ``since``
    (time, steps done) or at ``pace`` before any rate is known, but not past ``stream_end``."""
    now = time.monotonic()
    elapsed, done = now - since[0], run.steps_done - since[1]
    rate = done / elapsed if done > 0 and elapsed > 0 else (pace or STEPS_PER_SECOND)
    left = (run.total - run.steps_done) / rate
    return max(0.0, min(left, stream_end - now))


def step(run: LiveRun) -> dict:
    """Train exactly one batch of a paused (or not yet started) run; its named update."""
    with run.lock:
        if run.finished:
            raise RunStateError("this run is finished: press Train to start a new one")
        if run.is_streaming():
            raise RunStateError(
                "the run is training: press Pause first, then Step trains one batch"
            )
        tick = time.monotonic()
        run.train_step()
        run.train_seconds += time.monotonic() - tick
        run.finish() if run.finished else run.observe()
        return snapshot(run, "paused")


def run_training(
    kind: str = "vae",
    beta: float = 1.0,
    latent_dim: int = 2,
    steps: int = DEFAULT_STEPS,
    pace: float | None = STEPS_PER_SECOND,
    train: Digits | None = None,
) -> Iterator[dict]:
    """Validate, then stream one fresh run to its end (one stream; stops at its time limit).

    The first update is the untrained model (``before`` equals ``after``); every update is a
    ``snapshot``; the last one of a finished run carries ``run``, its summary.
    """
    run = new_run(validate(kind, beta, latent_dim, steps), train)
    return _start_then_stream(run, pace)


def _start_then_stream(run: LiveRun, pace) -> Iterator[dict]:
    yield snapshot(run, "training")
    yield from stream(run, pace=pace)


def train_to_end(
    kind: str = "vae", beta: float = 1.0, latent_dim: int = 2, steps: int = DEFAULT_STEPS
) -> dict:
    """A whole run, unpaced and drawn once at the end: every named output of its final state."""
    run = new_run(validate(kind, beta, latent_dim, steps))
    start = time.monotonic()
    while not run.finished:
        run.train_step()
    run.train_seconds = time.monotonic() - start
    run.finish()
    return snapshot(run)


# ---- the server's one training slot -----------------------------------------------------------


@dataclass
class _Waiting:
    """A visitor told to wait for the slot."""

    since: float
    """When they were told (``clock()``)."""
    seconds: float
    """How long their own run is expected to stream."""


class TrainingSlot:
    """Which visitor's run is streaming now, when it should end, and who waits (thread-safe).

    Shared server state about the CPU (runs stream one at a time, in a concurrency group of 1),
    not user state: it holds session ids and times, never a run.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._owner: str | None = None
        self._ends = 0.0
        self._waiting: dict[str, _Waiting] = {}

    def begin(self, who: str, seconds: float) -> None:
        """``who``'s run starts streaming, expected to take ``seconds``.

        Runs start first come, first served, so anyone told to wait before ``who`` (everyone
        told, when ``who`` was never told) who has not begun has left: a closed tab, a run
        refused at the door. They are forgotten, not counted ahead of the next visitor.
        """
        with self._lock:
            self._owner, self._ends = who, self._clock() + seconds
            order = list(self._waiting)
            gone = order[: order.index(who) + 1] if who in self._waiting else order
            for key in gone:
                del self._waiting[key]

    def update(self, who: str, seconds_left: float) -> None:
        """``who``'s run, if it holds the slot, now ends ``seconds_left`` from now."""
        with self._lock:
            if self._owner == who:
                self._ends = self._clock() + seconds_left

    def end(self, who: str) -> None:
        """``who`` gives the slot up (a no-op unless it holds it)."""
        with self._lock:
            if self._owner == who:
                self._owner = None

    def owner(self) -> str | None:
        """The visitor whose run is streaming now, or None."""
        with self._lock:
            return self._owner

    def wait_message(self, who: str, seconds: float) -> str | None:
        """None when nobody else's run streams; else the sentence telling ``who`` how long they
        wait (and ``who`` is counted as waiting, for a run expected to take ``seconds``)."""
        with self._lock:
            now = self._clock()
            if self._owner is None or self._owner == who:
                return None
            for key in [k for k, w in self._waiting.items() if now - w.since > WAIT_EXPIRY_SECONDS]:
                del self._waiting[key]
            self._waiting.setdefault(who, _Waiting(since=now, seconds=seconds))
            order = list(self._waiting)  # insertion order: first told, first served
            ahead = [self._waiting[k] for k in order[: order.index(who)]]
            wait = max(0.0, self._ends - now) + sum(w.seconds for w in ahead)
        about = f"about {math.ceil(wait)} s"
        if not ahead:
            return f"Another run is in progress; you are next ({about})."
        return f"Another run is in progress; {len(ahead)} more wait before you ({about})."


SLOT = TrainingSlot()  # process-wide: the one run streaming on this server's CPU


def expected_seconds(steps: int, pace: float | None = STEPS_PER_SECOND) -> float:
    """How long a stream of ``steps`` steps is expected to take at ``pace`` (capped)."""
    return min(steps / (pace or STEPS_PER_SECOND), MAX_STREAM_SECONDS)


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
        "| MSE on the 10 digits |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(runs, 1):
        t = r.get("test", {})
        recon = f"{t['recon']:.1f}" if "recon" in t else "–"
        kl = f"{t['kl']:.2f}" if "kl" in t else "–"
        beta = "–" if r.get("beta") is None else f"{r['beta']:g}"
        lines.append(
            f"| {i} | {r['kind'].upper()} | {beta} | {r['latent_dim']} | {r['steps']} "
            f"| {recon} | {kl} | {r['after_mse']:.4f} |"
        )
    return "\n".join(lines)
