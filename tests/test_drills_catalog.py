"""The drill catalogue: every reference solution is right (checked against independent ground
truth), passes its own hidden tests, and every named wrong variant is told apart.

Learner-style submissions (tests/drills_submissions.py) are graded here in this process
through the worker's own code path (allowlist, restricted namespace, harness), so the
diagnosis is tested on its own; tests/test_drills_sandbox.py sends them through real workers.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from kit import losses
from kit.demos.registry import all_demos
from kit.drills import drive as drives
from kit.drills import solutions as S
from kit.drills.allowlist import check_source
from kit.drills.catalog import all_drills
from kit.drills.grader import (
    MALFORMED,
    Grader,
    expected_results,
    first_difference,
    grade_results,
    make_job,
    variant_results,
)
from kit.drills.harness import MAX_DEPTH, encode, well_formed, well_formed_case
from kit.drills.pool import Outcome
from kit.drills.worker import run_job
from tests.drills_submissions import CORRECT, SAME_MISTAKE, WRONG

DRILLS = all_drills()


def grade_here(drill_id: str, code: str) -> dict:
    """Grade through the worker's code path, in this process (no sandbox: trusted test code)."""
    drill = DRILLS[drill_id]
    with torch.random.fork_rng():
        reply = run_job(make_job(drill, code))
    assert "results" in reply, reply
    return grade_results(drill, reply["results"], 0.0)


def test_at_least_twelve_drills_named_by_their_function():
    assert len(DRILLS) >= 12
    for drill_id, drill in DRILLS.items():
        assert drill.id == drill_id == drill.reference.__name__
        check_source(drill.starter, drill.signature)  # the starter itself passes the allowlist
        assert drill.cases and drill.statement.strip()


@pytest.mark.parametrize("drill_id", list(DRILLS))
def test_reference_passes_its_hidden_tests(drill_id):
    drill = DRILLS[drill_id]
    result = grade_results(drill, expected_results(drill_id), 0.0)
    assert result["passed"], result


@pytest.mark.parametrize("drill_id", list(DRILLS))
def test_every_variant_fails_and_is_told_apart_from_every_other(drill_id):
    drill = DRILLS[drill_id]
    ref = expected_results(drill_id)
    results = {m.id: variant_results(drill_id, m.id) for m in drill.mistakes}
    for mid, res in results.items():
        assert any(
            first_difference(g, e, drill.rtol, drill.atol) for g, e in zip(res, ref, strict=False)
        ), mid
    ids = list(results)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            assert any(
                first_difference(x, y, drill.rtol, drill.atol)
                for x, y in zip(results[a], results[b], strict=False)
            ), (a, b)
    messages = [m.message for m in drill.mistakes]
    assert len(set(messages)) == len(messages)


def test_mistake_demos_are_registered_demos():
    demos = all_demos()
    for drill in DRILLS.values():
        for m in drill.mistakes:
            assert m.demo is None or m.demo in demos, (drill.id, m.id, m.demo)


def test_every_drill_has_a_submission_for_each_mistake():
    assert set(CORRECT) == set(DRILLS)
    named = {(d.id, m.id) for d in DRILLS.values() for m in d.mistakes}
    assert set(WRONG) == named


@pytest.mark.parametrize("drill_id", list(DRILLS))
def test_a_learners_correct_answer_passes(drill_id):
    result = grade_here(drill_id, CORRECT[drill_id])
    assert result["passed"], result
    assert result["mistake"] is None
    assert all(t["passed"] for t in result["tests"])


@pytest.mark.parametrize("key", list(WRONG), ids=lambda k: "-".join(k))
def test_each_wrong_answer_gets_its_own_message(key):
    drill_id, mistake_id = key
    result = grade_here(drill_id, WRONG[key])
    mistake = next(m for m in DRILLS[drill_id].mistakes if m.id == mistake_id)
    assert not result["passed"]
    assert result["mistake"] == mistake_id, result
    assert result["message"] == mistake.message
    assert any(not t["passed"] for t in result["tests"])


@pytest.mark.parametrize("key", list(SAME_MISTAKE), ids=lambda k: "-".join(k))
def test_second_spelling_of_a_mistake(key):
    assert SAME_MISTAKE[key] != WRONG[key]
    result = grade_here(key[0], SAME_MISTAKE[key])
    assert result["mistake"] == key[1]


def test_unrecognised_wrong_answer_shows_first_failing_input_expected_and_got():
    code = "def gaussian_kl(mu, logvar):\n    return 3.0 * mu.sum(dim=1)\n"
    result = grade_here("gaussian_kl", code)
    assert result["mistake"] is None and not result["passed"]
    first = next(t for t in result["tests"] if not t["passed"])
    assert first["name"] == "mu = 1, sigma = 1"
    assert (
        "expected shape (1,) [0.5]" in first["message"] and "got shape (1,) [3]" in first["message"]
    )
    assert first["message"] in result["message"]


def test_starter_code_is_not_a_pass():
    for drill in DRILLS.values():
        result = grade_here(drill.id, drill.starter)
        assert not result["passed"], drill.id


# ---- the references against independent ground truth ---------------------------------------


def test_reparameterize_samples_have_the_posterior_moments():
    mu, logvar = torch.tensor([[1.5, -2.0]]), torch.tensor([[math.log(0.25), math.log(9.0)]])
    eps = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    z = S.reparameterize(mu.double(), logvar.double(), eps)
    assert torch.allclose(z.mean(0), mu.double()[0], atol=0.03)
    assert torch.allclose(z.var(0), torch.tensor([0.25, 9.0], dtype=torch.float64), rtol=0.02)


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(1)
    mu, logvar = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    truth = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)
    assert torch.allclose(S.gaussian_kl(mu, logvar), truth, atol=1e-5)


def test_bernoulli_nll_matches_torch_distributions():
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(4, 10, generator=g, dtype=torch.float64) * 3
    x = (torch.rand(4, 10, generator=g, dtype=torch.float64) < 0.5).double()
    truth = -Bernoulli(logits=logits).log_prob(x).sum(-1)
    assert torch.allclose(S.bernoulli_nll(logits, x), truth)
    big = S.bernoulli_nll(torch.tensor([[30.0, -30.0]]), torch.tensor([[0.0, 1.0]]))
    assert torch.allclose(big, torch.tensor([60.0]), atol=1e-4)  # log(1 + e^30) twice, finite


def test_negative_elbo_is_mean_of_recon_plus_beta_kl():
    g = torch.Generator().manual_seed(3)
    logits, mu, lv = (torch.randn(6, k, generator=g, dtype=torch.float64) for k in (8, 2, 2))
    x = (torch.rand(6, 8, generator=g, dtype=torch.float64) < 0.5).double()
    truth = torch.stack([
        -Bernoulli(logits=logits[i]).log_prob(x[i]).sum()
        + 2.0 * kl_divergence(Normal(mu[i], (0.5 * lv[i]).exp()), Normal(0.0, 1.0)).sum()
        for i in range(6)
    ]).mean()  # fmt: skip
    assert torch.allclose(S.negative_elbo(logits, x, mu, lv, 2.0), truth)


def test_iwae_bound_matches_log_mean_exp_in_float64():
    g = torch.Generator().manual_seed(4)
    a, b, c = (torch.randn(7, 3, generator=g, dtype=torch.float64) for _ in range(3))
    truth = torch.log(torch.exp(a + b - c).mean(0))
    assert torch.allclose(S.iwae_bound(a, b, c), truth)
    far = S.iwae_bound(a - 800, b, c)  # stable where exp underflows: shifts by exactly -800
    assert torch.allclose(far, truth - 800)


def test_warmup_and_free_bits_match_kit_losses():
    for step, warm in [(0, 100), (30, 100), (100, 100), (500, 100), (5, 0)]:
        assert S.kl_warmup(step, warm) == losses.kl_warmup(step, warm)
    kl = torch.rand(6, 4, generator=torch.Generator().manual_seed(5))
    for lam in (0.0, 0.3, 0.6):
        by_hand = sum(max(lam, float(kl[:, j].mean())) for j in range(4))
        assert math.isclose(float(S.free_bits_kl(kl, lam)), by_hand, rel_tol=1e-6)
        assert torch.allclose(S.free_bits_kl(kl, lam), losses.free_bits_kl(kl, lam))


def test_slerp_moves_at_constant_angular_speed_on_the_circle():
    a, b = (
        torch.tensor([3.0, 0.0], dtype=torch.float64),
        torch.tensor([0.0, 3.0], dtype=torch.float64),
    )
    for t in (0.0, 0.2, 0.5, 0.9, 1.0):
        z = S.slerp(a, b, t)
        assert math.isclose(float(z.norm()), 3.0, rel_tol=1e-9)
        assert math.isclose(math.atan2(float(z[1]), float(z[0])), t * math.pi / 2, abs_tol=1e-9)
    same = torch.tensor([1.0, 2.0])
    assert torch.allclose(S.slerp(same, same, 0.3), same)


def test_sampling_temperature_scales_the_standard_deviation():
    class Identity:
        latent_dim = 3

        def __call__(self, z):
            return z

    z = S.sample_with_temperature(Identity(), 100_000, 0.5, torch.Generator().manual_seed(6))
    assert torch.allclose(z.std(0), torch.full((3,), 0.5), rtol=0.02)


def test_active_units_and_bits_per_dim_by_hand():
    import numpy as np

    g = torch.Generator().manual_seed(7)
    mu = torch.randn(100, 4, generator=g) * torch.tensor([1.0, 0.01, 0.3, 0.0])
    by_numpy = int((np.var(mu.numpy(), axis=0) > 0.01).sum())
    assert S.active_units(mu, 0.01) == by_numpy == 2
    assert math.isclose(S.nats_to_bits_per_dim(784 * math.log(2), 784), 1.0)
    assert math.isclose(S.nats_to_bits_per_dim(100.0, 784), 100.0 * math.log2(math.e) / 784)


def test_training_step_reference_lowers_the_true_loss():
    from kit.drills.harness import PlainSGD, TinyVAE

    model = TinyVAE(16, 8, 2, seed=0)
    opt = PlainSGD(model.parameters(), lr=0.05)
    pattern = torch.tensor([1.0] * 8 + [0.0] * 8)
    x = torch.stack([pattern, 1 - pattern] * 16)  # (32, 16): two images a code can tell apart
    torch.manual_seed(0)
    first = S.training_step(model, x, opt, 1.0)
    for _ in range(200):
        last = S.training_step(model, x, opt, 1.0)
    assert last < first - 1.0


# ---- a worker's reply is checked before the server reads it ---------------------------------


def test_every_honest_result_is_well_formed():
    for drill_id, drill in DRILLS.items():
        records = [*expected_results(drill_id)]
        records += [r for m in drill.mistakes for r in variant_results(drill_id, m.id)]
        records += run_job(make_job(drill, CORRECT[drill_id]))["results"]
        assert all(well_formed_case(r) for r in records), drill_id
        if drill.drive is not None and drill.drive != "train":  # (train: in the sandbox tests)
            cases = drives.job_cases(drill.drive, drill_id)
            with torch.random.fork_rng():
                reply = run_job({**make_job(drill, CORRECT[drill_id]), "cases": cases})
            assert drives.well_formed(drill.drive, reply["results"], len(cases)), drill_id
            assert not drives.well_formed(drill.drive, reply["results"][1:], len(cases))


def test_encode_refuses_tuples_nested_past_the_depth_the_server_reads():
    t = torch.ones(2)
    assert encode(((t, t), t)) == {"items": [{"items": [encode(t), encode(t)]}, encode(t)]}
    deep = t
    for _ in range(MAX_DEPTH + 1):
        deep = (deep,)
    assert encode(deep)["items"][0]["items"][0]["items"][0]["items"][0]["error"] == "WrongType"
    assert well_formed(encode(deep))
    for value in (None, 3, 2.5, True, torch.zeros(0), torch.zeros(3, 0), [t] * 9, "text"):
        assert well_formed(encode(value)), value


class _Replying:
    """Stands in for the worker pool: every job gets ``reply`` back, as a worker that got past
    every layer could send it (already parsed from JSON)."""

    def __init__(self, reply):
        self.reply = reply

    def run(self, job, wall_seconds):
        return Outcome("ok", self.reply, 0.01)


def _cases(n, value):
    return {"results": [{"out": value}] * n}


MALFORMED_VALUES = [
    5,
    "text",
    [1, 2],
    {"data": {"x": 1}},
    {"shape": [], "data": "abc"},
    {"shape": [2], "data": [1.0]},  # shape and data disagree
    {"shape": [1], "data": [True]},
    {"shape": "2", "data": [1.0, 2.0]},
    {"shape": [-1], "data": []},
    {"items": None},
    {"items": [5]},
    {"items": [{"items": [{"items": [{"items": [{"items": []}]}]}]}]},  # deeper than encode goes
    {"error": ["TypeError"], "message": "x"},
    {"error": "TypeError", "message": {"a": 1}},
]


@pytest.mark.parametrize("value", MALFORMED_VALUES, ids=range(len(MALFORMED_VALUES)))
def test_a_malformed_grading_reply_is_refused_not_raised(value):
    drill = DRILLS["lerp"]
    grader = Grader(pool=_Replying(_cases(len(drill.cases), value)))
    result = grader.grade("lerp", CORRECT["lerp"])
    assert result["refused"] is True and MALFORMED in result["message"], result
    assert not well_formed(value)


@pytest.mark.parametrize(
    "reply",
    [
        {"results": "all passed"},
        {"results": [{}]},
        {"results": [{"out": {"none": True}}]},  # fewer results than cases
        {"results": [7] * 20},
    ],
)
def test_a_reply_of_the_wrong_shape_is_refused(reply):
    result = Grader(pool=_Replying(reply)).grade("lerp", CORRECT["lerp"])
    assert result["refused"] is True and MALFORMED in result["message"], result


def test_a_malformed_drive_reply_is_refused_not_raised():
    drill = DRILLS["gaussian_kl"]
    assert drill.drive == "train"
    n = len(drill.cases)
    with torch.random.fork_rng():
        honest = run_job(make_job(drill, CORRECT["gaussian_kl"]))["results"]
    assert len(honest) == n
    bad_runs = [
        [],  # no drive record at all
        [{"evals": [{"step": "1", "neg_elbo": 1.0, "kl": 1.0}]}],
        [{"evals": [{"step": 1, "neg_elbo": "1", "kl": 1.0}]}],
        [{"evals": 5}],
        [{"error": "boom"}],
        [{"error": {"step": 1, "type": "E"}}],
        [{"after": {"data": 1}}],
        [{"evals": []}, {"evals": []}],
        ["run"],
    ]
    for extra in bad_runs:
        grader = Grader(pool=_Replying({"results": honest + extra}))
        result, view = grader.drive("gaussian_kl", CORRECT["gaussian_kl"])
        assert view is None and MALFORMED in result["message"], (extra, result)
    ok = [{"evals": [{"step": 20, "neg_elbo": 200.0, "kl": 5.0}], "their_loss": [1.0]}]
    assert drives.well_formed("train", ok, 1)
