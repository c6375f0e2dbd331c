"""Train live without a browser: the bundled subset, streaming, Pause / Step / Continue, the
server's training slot, the chart and the error sentences (short runs, one torch thread)."""

import copy
import time
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gradio.helpers import special_args

from kit.data import BUNDLED_TRAIN, bundled_test_set, bundled_train_subset, load_mnist
from kit.demos import train_live as tl
from kit.demos.common import DemoInputError
from kit.demos.registry import all_demos
from kit.ui import train_live_tab as tab

GRID_SHAPE = (86, 851)  # 10 digits in a row, 3x upscaled, 1 px grey borders
MNIST = Path("/work/shared/mnist")
FAST = {"pace": None, "update_seconds": 0.02}  # as fast as the CPU goes, many small updates

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _run(kind="vae", beta=1.0, latent_dim=2, steps=40) -> tl.LiveRun:
    return tl.new_run(tl.validate(kind, beta, latent_dim, steps))


def _request(session: str):
    return SimpleNamespace(session_hash=session)


# ---- the bundled training subset ----------------------------------------------------------


def test_training_subset_ships_in_the_repo_balanced_and_disjoint_from_the_test_set():
    assert BUNDLED_TRAIN.stat().st_size < 5_000_000
    digits = bundled_train_subset()
    assert digits.images.shape == (20_000, 28, 28) and digits.images.dtype == torch.uint8
    assert digits.labels.dtype == torch.int64
    assert torch.bincount(digits.labels, minlength=10).tolist() == [2000] * 10
    assert int(digits.images.max()) == 255 and int(digits.images.min()) == 0
    test = bundled_test_set().images.flatten(1).numpy()
    train_rows = {row.tobytes() for row in digits.images.flatten(1).numpy()[:2000]}
    assert not train_rows & {row.tobytes() for row in test}  # no test digit among them


@pytest.mark.skipif(not (MNIST / "MNIST" / "raw").exists(), reason="no MNIST IDX files here")
def test_training_subset_is_the_first_2000_of_each_class_of_the_real_training_set():
    real = load_mnist(MNIST, train=True, download=False)
    with np.load(BUNDLED_TRAIN) as npz:
        source = npz["source_index"].astype(np.int64)
    labels = real.labels.numpy()
    expected = np.sort(np.concatenate([np.flatnonzero(labels == c)[:2000] for c in range(10)]))
    assert np.array_equal(source, expected)
    subset = bundled_train_subset()
    assert torch.equal(subset.images, real.images[source])
    assert torch.equal(subset.labels, real.labels[source])


def test_a_run_never_touches_the_network_or_the_disk_for_data(monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("train live must not load MNIST from disk or the network")

    monkeypatch.setattr("kit.data.load_mnist", no_download)
    monkeypatch.setattr("torchvision.datasets.MNIST", no_download, raising=False)
    out = tl.train_to_end("ae", 1.0, 2, 5)
    assert out["run"]["steps"] == 5


# ---- the objective, against formulas written out here -------------------------------------


def _reference_step(run: tl.LiveRun, objective) -> tuple[dict, list[torch.Tensor]]:
    """One Adam step written out here: the batch and noise the run will use, ``objective``."""
    gen = torch.Generator().set_state(run.generator.get_state())
    idx = torch.randperm(len(run.train), generator=gen)[: tl.BATCH_SIZE]
    x, y = run.train.as_float(idx), run.train.labels[idx]
    model = copy.deepcopy(run.model)
    opt = torch.optim.Adam(model.parameters(), lr=tl.LEARNING_RATE[run.settings.kind])
    loss, parts = objective(model, x, y, gen)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return parts, [p.detach() for p in model.parameters()]


def _vae_objective(beta):
    def objective(model, x, y, gen):
        out = model(x, generator=gen)
        bce = F.binary_cross_entropy_with_logits(out.logits, x, reduction="none")
        recon = bce.flatten(1).sum(1).mean()  # nats per image
        mu, logvar = out.posterior.mu, out.posterior.logvar
        kl = (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)).mean()  # closed-form KL
        return recon + beta * kl, {"recon": recon.item(), "kl": kl.item()}

    return objective


def _ae_objective(model, x, y, gen):
    mse = ((model(x).recon - x) ** 2).mean()  # per pixel
    return mse, {"mse": mse.item()}


@pytest.mark.parametrize(
    ("kind", "beta", "objective"),
    [
        ("vae", 3.0, _vae_objective(3.0)),
        ("vae", 0.0, _vae_objective(0.0)),
        ("ae", 1.0, _ae_objective),
    ],
)
def test_a_step_minimises_bce_plus_beta_kl_or_the_autoencoders_mse(kind, beta, objective):
    run = _run(kind, beta=beta)
    parts, weights = _reference_step(run, objective)
    logged = run.train_step()
    assert logged.keys() == parts.keys()
    for name, value in parts.items():
        assert logged[name] == pytest.approx(value, rel=1e-5)
    for mine, ref in zip(run.model.parameters(), weights, strict=True):
        torch.testing.assert_close(mine.detach(), ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["ae", "vae", "cvae"])
def test_a_short_run_learns(kind):
    out = tl.train_to_end(kind, 1.0, 2, 120)
    run = out["run"]
    name = "mse" if kind == "ae" else "recon"
    losses = run["losses"][name]
    assert len(losses) == 120 and np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])
    assert run["after_mse"] < 0.7 * run["before_mse"]  # the digits look more like the inputs
    assert name in run["test"]  # measured on the 10,000 test digits at the end
    for key in ("originals", "before", "after"):
        assert out[key].shape == GRID_SHAPE and out[key].dtype == np.uint8
    assert out["chart"].ndim == 3 and out["chart"].shape[2] == 3
    assert out["status"].startswith("**Done**") and "never trained on" in out["status"]


# ---- streaming --------------------------------------------------------------------------


def test_a_stream_yields_many_updates_with_growing_curves():
    run = _run(steps=60)
    updates, curve_lengths, charts = [], [], []
    for update in tl.stream(run, **FAST):
        updates.append(update)
        curve_lengths.append(len(run.losses["recon"]))
        charts.append(update["chart"])
    assert len(updates) >= 4
    assert curve_lengths == sorted(curve_lengths) and curve_lengths[-1] == 60
    assert len(set(curve_lengths)) >= 4  # the curve grew between updates
    progress = [u["progress"] for u in updates]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert any(not np.array_equal(a, b) for a, b in pairwise(charts))
    assert all(u["status"].startswith("**Training**") for u in updates[:-1])
    assert "run" in updates[-1] and "run" not in updates[0]
    assert "before" not in updates[1]  # the constant rows are not sent again
    assert run.model is None and run.optimizer is None and run.chart is None  # released


def test_pause_stops_progress_and_continue_goes_on():
    run = _run(steps=400)
    stream = tl.stream(run, **FAST)
    next(stream)
    run.pause.set()  # what the Pause button does
    rest = list(stream)
    assert rest and rest[-1]["status"].startswith("**Paused**")
    at = run.steps_done
    assert 0 < at < 400 and not run.is_streaming()
    assert run.steps_done == at  # nothing trains while paused
    resumed = tl.stream(run, **FAST)
    next(resumed)
    assert run.steps_done > at  # Continue clears the flag and trains on
    resumed.close()


def test_step_trains_exactly_one_batch_and_pausing_changes_nothing_in_the_math():
    """A run that was paused, stepped and continued ends exactly where an uninterrupted one does."""
    straight = _run(steps=30)
    for _ in range(30):
        straight.train_step()

    run = _run(steps=30)
    stream = tl.stream(run, **FAST)
    next(stream)
    run.pause.set()
    list(stream)
    at, cursor = run.steps_done, run.cursor
    params = [p.detach().clone() for p in run.model.parameters()]
    out = tl.step(run)
    assert run.steps_done == at + 1 and len(run.losses["recon"]) == at + 1
    assert run.cursor == cursor + tl.BATCH_SIZE
    assert any(not torch.equal(a, b) for a, b in zip(params, run.model.parameters(), strict=True))
    assert f"step {at + 1} / 30" in out["status"] and out["status"].startswith("**Paused**")
    tl.step(run)
    list(tl.stream(run, **FAST))
    assert run.finished
    assert run.losses == straight.losses  # the same batches, weights and z samples


def test_a_watched_run_is_paced():
    run = _run(steps=20)
    start = time.monotonic()
    list(tl.stream(run, pace=50.0, update_seconds=0.1))
    assert time.monotonic() - start >= 20 / 50.0 - 0.02  # at most 50 steps a second


def test_a_stream_pauses_itself_at_its_time_limit():
    run = _run(steps=tl.MAX_STEPS)
    updates = list(tl.stream(run, pace=None, update_seconds=0.02, max_seconds=0.2))
    assert 0 < run.steps_done < tl.MAX_STEPS
    assert "one stream lasts at most" in updates[-1]["status"]
    assert not run.is_streaming()


def test_an_abandoned_stream_does_not_lock_the_run(monkeypatch):
    monkeypatch.setattr(tl, "STALE_STREAM_SECONDS", 0.3)
    run = _run(steps=100)
    stream = tl.stream(run, **FAST)
    next(stream)  # then the page goes away: nobody reads or closes the stream
    with pytest.raises(tl.RunStateError, match="press Pause first"):
        tl.step(run)  # while it is fresh, it owns the run
    time.sleep(0.4)
    before = run.steps_done
    tl.step(run)
    assert run.steps_done == before + 1
    stream.close()


def test_step_refuses_a_streaming_run_and_both_refuse_a_finished_one():
    run = _run(steps=200)
    stream = tl.stream(run, **FAST)
    next(stream)
    with pytest.raises(tl.RunStateError, match="press Pause first"):
        tl.step(run)
    stream.close()
    done = _run(steps=2)
    list(tl.stream(done, **FAST))
    with pytest.raises(tl.RunStateError, match="finished"):
        tl.step(done)
    with pytest.raises(tl.RunStateError, match="finished"):
        next(tl.stream(done, **FAST))


# ---- the chart --------------------------------------------------------------------------


def test_blitted_chart_equals_a_full_redraw_and_redraws_the_frame_only_when_needed():
    run = _run("vae", steps=300)
    chart = tl.LiveChart(run.settings)
    for _ in range(4):
        for _ in range(20):
            run.train_step()
        run.observe()
        image = chart.draw(run)
    fresh = tl.LiveChart(run.settings)
    fresh.y_range, fresh.radius = dict(chart.y_range), chart.radius
    for name, (lo, hi) in chart.y_range.items():
        fresh.axes[name].set_ylim(lo, hi)
    fresh.map_axes.set_xlim(-chart.radius, chart.radius)
    fresh.map_axes.set_ylim(-chart.radius, chart.radius)
    assert np.array_equal(image, fresh.draw(run))  # pasting the frame loses nothing
    assert chart.frames_drawn < 4  # most updates only drew the data
    assert image.shape == (int(3.3 * tl.CHART_DPI), int(3 * 3.9 * tl.CHART_DPI), 3)


def test_the_chart_widens_its_range_when_a_curve_leaves_it():
    run = _run("vae", steps=50)
    chart = tl.LiveChart(run.settings)
    run.steps, run.losses = [1, 2], {"recon": [500.0, 400.0], "kl": [3.0, 50.0]}
    chart.draw(run)
    assert chart.y_range["kl"][1] >= 50.0 and chart.frames_drawn == 1
    run.steps, run.losses = [1, 2, 3], {"recon": [500.0, 400.0, 2000.0], "kl": [3.0, 50.0, 9.0]}
    chart.draw(run)
    assert chart.y_range["recon"][1] >= 2000.0 and chart.frames_drawn == 2


def test_only_a_two_dimensional_run_has_a_latent_map():
    assert tl.LiveChart(tl.validate("vae", 1, 2, 10)).has_map
    assert not tl.LiveChart(tl.validate("vae", 1, 8, 10)).has_map
    ae = tl.LiveChart(tl.validate("ae", 1, 3, 10))
    assert list(ae.axes) == ["mse"] and not ae.has_map


# ---- the server's training slot -----------------------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_slot_tells_the_next_visitors_how_long_they_wait():
    clock = FakeClock()
    slot = tl.TrainingSlot(clock)
    assert slot.wait_message("b", 10) is None  # nobody trains
    slot.begin("a", 12.0)
    assert slot.wait_message("a", 10) is None  # your own run
    clock.now += 2
    assert slot.wait_message("b", 20.0) == "Another run is in progress; you are next (about 10 s)."
    assert slot.wait_message("c", 5.0) == (
        "Another run is in progress; 1 more wait before you (about 30 s)."
    )
    assert slot.wait_message("b", 20.0).endswith("you are next (about 10 s).")  # still first
    slot.end("a")
    assert slot.owner() is None and slot.wait_message("b", 20.0) is None
    slot.begin("b", 20.0)  # b's turn: no longer waiting
    assert slot.wait_message("c", 5.0).endswith("you are next (about 20 s).")
    clock.now += tl.WAIT_EXPIRY_SECONDS + 1
    slot.update("b", 8.0)
    assert slot.wait_message("d", 5.0).endswith("you are next (about 8 s).")  # c expired


def test_visitors_who_left_the_queue_are_not_counted_ahead():
    """Runs start in the order visitors were told: one who never began (a closed tab) is
    forgotten when someone told after them begins, or when a run begins with a free slot."""
    clock = FakeClock()
    slot = tl.TrainingSlot(clock)
    slot.begin("a", 10.0)
    slot.wait_message("gone", 10.0)  # told to wait, then closed the tab
    slot.wait_message("b", 10.0)
    slot.wait_message("c", 10.0)
    slot.end("a")
    slot.begin("b", 10.0)  # b was told after "gone": "gone" has left
    assert slot.wait_message("c", 10.0).endswith("you are next (about 10 s).")
    slot.end("b")
    slot.begin("d", 10.0)  # the slot was free when d pressed Train: c left too
    assert slot.wait_message("e", 5.0).endswith("you are next (about 10 s).")


def test_a_stream_holds_the_slot_and_frees_it(monkeypatch):
    slot = tl.TrainingSlot()
    monkeypatch.setattr(tab, "SLOT", slot)
    monkeypatch.setattr(tl, "STEPS_PER_SECOND", 2000.0)
    stream = tab.train_stream("ae", 1, 2, 30, request=_request("page-a"))
    first = next(stream)
    assert isinstance(first["run_state"], tl.LiveRun) and "before" in first
    assert slot.owner() == "page-a"
    told = tab.waiting_status(800, None, request=_request("page-b"))
    assert told.startswith("**Waiting**: Another run is in progress; you are next (about ")
    assert isinstance(tab.waiting_status(800, None, request=_request("page-a")), type(gr.skip()))
    list(stream)
    assert slot.owner() is None


def test_pressing_train_again_pauses_your_own_streaming_run():
    run = _run(steps=500)
    stream = tl.stream(run, **FAST)
    next(stream)
    tab.waiting_status(500, run, request=_request("me"))
    rest = list(stream)
    assert rest[-1]["status"].startswith("**Paused**") and not run.finished


# ---- the tab's handlers: errors are sentences ------------------------------------------------

BAD_ARGS = [
    {"kind": None},
    {"kind": "resnet"},
    {"steps": 0},
    {"steps": tl.MAX_STEPS + 1},
    {"steps": None},
    {"steps": 2.5},
    {"latent_dim": 0},
    {"latent_dim": 33},
    {"beta": -1},
    {"beta": 25},
    {"beta": None},
    {"beta": "lots"},
]


@pytest.mark.parametrize(
    "bad", BAD_ARGS, ids=lambda d: f"{next(iter(d))}={next(iter(d.values()))!r}"
)
def test_bad_input_is_a_clear_sentence(bad):
    args = {"kind": "vae", "beta": 1.0, "latent_dim": 2, "steps": 5, **bad}
    with pytest.raises(DemoInputError, match="must be"):
        tl.validate(*args.values())
    with pytest.raises(gr.Error) as err:
        next(tab.train_stream(*args.values()))
    assert err.value.message[0].isupper() and err.value.message.endswith(".")
    with pytest.raises(gr.Error, match="must be"):
        tab.step_once(*args.values(), None)


def test_continue_and_step_without_a_run_say_what_to_do():
    with pytest.raises(gr.Error, match="Nothing to continue yet: press Train"):
        next(tab.continue_stream(None))
    done = _run(steps=1)
    tl.step(done)
    with pytest.raises(gr.Error, match="This run is finished: press Train"):
        next(tab.continue_stream(done))
    fresh = tab.step_once("vae", 1, 2, 50, None)  # Step with no run: a new run, one batch
    assert fresh["run_state"].steps_done == 1 and "step 1 / 50" in fresh["status"]
    tab.request_pause(None)  # Pause with no run: nothing happens, nothing breaks


def test_an_unexpected_failure_is_a_sentence_and_frees_the_slot(monkeypatch):
    slot = tl.TrainingSlot()
    monkeypatch.setattr(tab, "SLOT", slot)

    def broken(self):
        raise RuntimeError("secret /srv/internal/path exploded")

    monkeypatch.setattr(tl.LiveRun, "train_step", broken)
    stream = tab.train_stream("vae", 1, 2, 30, request=_request("page-a"))
    next(stream)
    with pytest.raises(gr.Error) as err:
        next(stream)
    assert err.value.message == tab.UNEXPECTED and "secret" not in err.value.message
    assert slot.owner() is None


def test_finished_runs_are_listed_once():
    run = _run(steps=3)
    list(tl.stream(run, **FAST))
    runs, table = tab.record_run(run, [])
    assert len(runs) == 1 and table.count("\n| ") == 1 and "| VAE | 1 | 2 | 3 |" in table
    runs, _ = tab.record_run(run, runs)
    assert len(runs) == 1  # recorded once, however many events follow
    unfinished = _run(steps=10)
    assert tab.record_run(unfinished, runs)[0] == runs


def test_session_runs_table_keeps_the_last_runs():
    runs = []
    for i in range(10):
        run = {"kind": "vae", "beta": float(i), "latent_dim": 2, "steps": 30, "after_mse": 0.05}
        run |= {"test": {"recon": 200.0 - i, "kl": 1.0 + i}, "losses": {"recon": [1.0]}}
        runs = tl.add_run(runs, run)
    assert len(runs) == 8 and runs[-1]["beta"] == 9.0 and "losses" not in runs[0]
    assert tl.runs_table(runs).count("\n| ") == 8 and "191.0" in tl.runs_table(runs)


# ---- registration and wiring --------------------------------------------------------------


def test_demo_is_registered_and_runs_to_the_end():
    spec = all_demos()["train_live.run"]
    assert spec.tab == "train_live" and spec.api_name == "train_live" and spec.trains
    out = spec.run(kind="ae", steps=20)
    assert {"status", "progress", "chart", "originals", "before", "after", "run"} <= set(out)
    assert out["progress"] == 1.0 and out["run"]["steps"] == 20


def test_tab_wiring_streams_in_its_own_slot_and_keeps_the_run_per_visitor():
    with gr.Blocks() as demo:
        tab.build(demo)
    deps = demo.config["dependencies"]
    public = [d for d in deps if d.get("api_visibility") == "public"]
    assert [d["api_name"] for d in public] == ["train_live"]
    train = public[0]
    assert train["types"]["generator"]
    fn = demo.fns[train["id"]]
    assert fn.concurrency_limit == 1 and fn.concurrency_id == "train_live"
    assert len(fn.inputs) == 4  # kind, beta, latent size, steps: the run itself is gr.State
    inputs, *_ = special_args(fn.fn, ["vae", 1, 2, 5], request="the request")
    assert inputs == ["vae", 1, 2, 5, "the request"]  # Gradio hands over the page's session
    states = [b for b in demo.blocks.values() if isinstance(b, gr.State)]
    assert any(s.time_to_live == tab.STATE_TTL_SECONDS for s in states)
    quick = {d["api_name"]: demo.fns[d["id"]] for d in deps}
    for name in ("waiting_status", "request_pause"):  # queued, but never behind a training run
        assert quick[name].queue is not False
        assert quick[name].concurrency_id != "train_live"
