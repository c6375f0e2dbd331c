"""The Train live demo and its tab handlers, called without a browser (tiny runs, bundled data)."""

import threading
import time
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest
from gradio.helpers import special_args
from matplotlib.figure import Figure

from kit.data import DataUnavailableError
from kit.demos import train_live as tl
from kit.demos.common import DemoInputError
from kit.demos.registry import all_demos
from kit.ui import train_live_tab
from kit.ui.errors import named_outputs, user_errors

GRID_SHAPE = (86, 681)  # 8 digits in a row, 3x upscaled, 1 px grey borders


@pytest.fixture(scope="module")
def data():
    return tl.bundled_training_data()


@pytest.fixture(autouse=True)
def _fast_and_clean(monkeypatch, data):
    monkeypatch.setattr(tl, "YIELD_SECONDS", 0.05)
    monkeypatch.setattr(tl, "default_training_data", lambda: data)  # never download in tests
    yield
    deadline = time.monotonic() + 10
    while tl.RUN_SLOT.locked() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not tl.RUN_SLOT.locked(), "a test left the run slot taken"


def _worker_alive() -> bool:
    return any(t.name == "train_live" and t.is_alive() for t in threading.enumerate())


def _collect(stream, on_update=None) -> tuple[list[dict], dict]:
    updates, final = [], {}
    for update in stream:
        updates.append(update)
        final.update(update)
        if on_update is not None:
            on_update(update)
    return updates, final


@pytest.mark.parametrize("kind", ["ae", "vae", "cvae"])
def test_tiny_run_learns_and_reports_progress(kind, data):
    updates, out = _collect(tl.run_training(kind, 1.0, 2, 1, max_steps=30, data=data))
    progress = [u["progress"] for u in updates if "progress" in u]
    assert progress == sorted(progress) and progress[0] == 0.0 and progress[-1] == 1.0
    assert len(set(progress)) >= 3  # 0, some values while training, 1
    live = [u for u in updates if u["status"].startswith("**Training**")]
    assert live and "step" in live[-1]["status"]  # reported while the model was training
    for key in ("originals", "before", "after"):
        assert out[key].shape == GRID_SHAPE and out[key].dtype == np.uint8
    assert isinstance(out["loss_plot"], Figure)
    run = out["run"]
    assert run["steps"] == 30 and not run["stopped"] and not run["full_mnist"]
    name = "mse" if kind == "ae" else "recon"
    losses = run["losses"][name]
    assert len(losses) == 30 and losses[-1] < 0.8 * losses[0]  # the loss curve goes down
    assert run["after_mse"] < 0.7 * run["before_mse"]  # trained digits look more like the input
    assert out["status"].startswith("**Done**") and "held out" in out["status"]
    assert not _worker_alive()


def test_stop_flag_ends_the_run_early_with_after_images(data):
    stop = threading.Event()

    def press_stop(update):
        if update.get("progress", 0) > 0:
            stop.set()

    _, out = _collect(tl.run_training("ae", 1, 8, 5, stop=stop, data=data), press_stop)
    run = out["run"]
    assert run["stopped"] and 0 < run["steps"] < run["total_steps"] == 5 * 71
    assert out["after"].shape == GRID_SHAPE
    assert out["status"].startswith("**Stopped early**")
    assert not tl.RUN_SLOT.locked() and not _worker_alive()


def test_stop_before_the_first_step_keeps_the_initial_weights(data):
    stop = threading.Event()
    stop.set()
    _, out = _collect(tl.run_training("vae", 1, 2, 1, stop=stop, data=data))
    assert out["run"]["steps"] == 0 and out["run"]["stopped"]
    # "before" is exactly the model train_model starts from
    assert np.array_equal(out["after"], out["before"])
    assert out["status"].startswith("**Stopped early**")


def test_stop_button_stops_only_its_own_pages_run():
    mine, other = SimpleNamespace(session_hash="page-a"), SimpleNamespace(session_hash="page-b")
    stream = train_live_tab.train_stream("vae", 1, 2, 5, 0, request=mine)
    while "before" not in next(stream):  # wait until the model is built and training
        pass
    assert "No run of yours" in train_live_tab.request_stop(other)
    assert "Stopping" in train_live_tab.request_stop(mine)
    _, out = _collect(stream)
    assert out["run"]["stopped"] and out["run"]["steps"] < 5 * 71
    assert "No run of yours" in train_live_tab.request_stop(mine)  # flag removed after the run


def test_second_run_is_refused_while_one_trains_and_closing_frees_the_slot(data):
    first = tl.run_training("vae", 1, 2, 5, data=data)
    next(first)  # holds the slot; the worker thread trains
    assert tl.RUN_SLOT.locked() and _worker_alive()
    with pytest.raises(tl.TrainingBusyError, match="Another visitor is training right now"):
        next(tl.run_training("ae", 1, 2, 1, max_steps=5, data=data))
    with pytest.raises(gr.Error, match="Another visitor is training right now"):
        next(train_live_tab.train_stream("ae", 1, 2, 1, 5))
    first.close()  # what Gradio does when the event is cancelled or the page goes away
    assert not tl.RUN_SLOT.locked() and not _worker_alive()


def test_an_abandoned_run_stops_itself_and_frees_the_slot(monkeypatch, data):
    monkeypatch.setattr(tl, "WATCHDOG_SECONDS", 0.3)
    stream = tl.run_training("ae", 1, 2, 5, data=data)
    next(stream)  # started, then nobody reads the stream
    deadline = time.monotonic() + 10
    while tl.RUN_SLOT.locked() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not tl.RUN_SLOT.locked()
    _, out = _collect(stream)
    assert out["run"]["stopped"]


def test_missing_mnist_falls_back_to_held_out_bundled_digits(monkeypatch, tmp_path):
    def unavailable(*args, **kwargs):
        raise DataUnavailableError("MNIST not found in nowhere (download failed)")

    monkeypatch.setattr(tl, "load_mnist", unavailable)
    monkeypatch.setenv("LATENT_LAB_DATA", str(tmp_path))
    fallback = tl._load_training_data(str(tmp_path))
    tl._load_training_data.cache_clear()
    assert not fallback.full_mnist
    assert "bundled test digits because MNIST could not be downloaded/found" in fallback.warning
    assert "MNIST not found in nowhere" in fallback.warning
    _, out = _collect(tl.run_training("ae", 1, 2, 1, max_steps=3, data=fallback))
    assert "could not be downloaded/found: MNIST not found in nowhere" in out["status"]
    assert len(fallback.train) == 9000 and len(fallback.test) == tl.HELD_OUT
    # the display digits come from the held-out slice: one each of 0..7
    idx = tl.display_indices(fallback.test)
    assert fallback.test.labels[idx].tolist() == list(range(8))


BAD_ARGS = [
    {"kind": None},
    {"kind": "resnet"},
    {"epochs": 0},
    {"epochs": 100},
    {"epochs": None},
    {"latent_dim": 0},
    {"latent_dim": 33},
    {"latent_dim": 2.5},
    {"beta": -1},
    {"beta": 25},
    {"beta": None},
    {"beta": "lots"},
    {"max_steps": -5},
]


@pytest.mark.parametrize(
    "bad", BAD_ARGS, ids=lambda d: f"{next(iter(d))}={next(iter(d.values()))!r}"
)
def test_bad_input_is_a_clear_error(bad):
    args = {"kind": "vae", "beta": 1.0, "latent_dim": 2, "epochs": 1, "max_steps": 5, **bad}
    with pytest.raises(DemoInputError, match="must be"):
        tl.run_training(**args)
    with pytest.raises(gr.Error, match="must be"):
        named_outputs(tl.train_to_end, {})[0](*args.values())
    with pytest.raises(gr.Error, match="must be"):
        next(train_live_tab.train_stream(*args.values()))
    assert not tl.RUN_SLOT.locked()


def test_beta_is_ignored_for_the_autoencoder():
    assert tl.validate("ae", None, 2, 1, None).beta == 1.0
    assert tl.validate("vae", 0, 2, 1, 0).max_steps is None  # 0 = no step cap


def test_demo_is_registered_and_runs_to_the_end():
    spec = all_demos()["train_live.run"]
    assert spec.tab == "train_live" and spec.api_name == "train_live"
    out = spec.run(kind="ae", max_steps=20)
    assert set(out) == {"status", "progress", "loss_plot", "originals", "before", "after", "run"}
    assert out["progress"] == 1.0 and out["run"]["steps"] == 20
    with pytest.raises(gr.Error, match="model kind"):
        user_errors(spec.fn)(kind="resnet")


def test_session_runs_table_keeps_the_last_runs():
    runs = []
    for i in range(10):
        run = {"kind": "vae", "beta": float(i), "latent_dim": 2, "steps": 30, "stopped": i == 9}
        run |= {"test": {"recon": 200.0 - i, "kl": 1.0 + i}, "losses": {"recon": [1.0]}}
        run["after_mse"] = 0.05
        runs = tl.add_run(runs, run)
    assert len(runs) == 8 and runs[-1]["beta"] == 9.0 and "losses" not in runs[0]
    table = tl.runs_table(runs)
    assert table.count("\n| ") == 8 and "191.0" in table and "(stopped)" in table
    _, md = train_live_tab.record_run(None, runs)
    assert md == table


def test_tab_builds_with_its_own_concurrency_slot():
    with gr.Blocks() as demo:
        train_live_tab.build(demo)
    deps = {d.get("api_name"): d for d in demo.config["dependencies"]}
    assert "train_live" in deps
    assert deps["train_live"]["types"]["generator"]
    fn = demo.fns[deps["train_live"]["id"]]
    assert fn.concurrency_limit == 1 and fn.concurrency_id == "train_live"
    # Gradio hands the page's session to the handler (the Stop button needs it)
    inputs, *_ = special_args(fn.fn, ["vae", 1, 2, 1, 0], request="the request")
    assert inputs == ["vae", 1, 2, 1, 0, "the request"]
