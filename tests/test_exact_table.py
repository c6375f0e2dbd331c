"""The shipped table of vae-2's exact log p(x) per test digit, checked against the quadrature."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kit.data import bundled_test_set
from kit.demos.common import get_model
from kit.demos.registry import get_demo
from kit.evaluate import exact_log_px
from kit.exact_table import exact_table


@pytest.fixture(scope="module")
def table():
    t = exact_table()
    assert t is not None, (
        "models/vae-2/exact_log_px.safetensors is missing: python -m kit.exact_table"
    )
    return t


def test_the_table_covers_every_test_digit_and_is_finite(table):
    assert table.shape == (len(bundled_test_set()),)
    assert table.dtype == torch.float64
    assert torch.isfinite(table).all()
    assert bool((table < 0).all())  # log of a probability mass over 784 binary-ish pixels


def test_random_entries_match_the_quadrature(table, one_torch_thread):
    rng = np.random.default_rng(20261202)
    picks = sorted(int(i) for i in rng.choice(len(table), size=6, replace=False))
    digits = bundled_test_set()
    x = torch.cat([digits.as_float(slice(i, i + 1)) for i in picks])
    fresh = exact_log_px(get_model("vae-2"), x)
    assert torch.allclose(fresh, table[picks], atol=0.02), (picks, fresh, table[picks])


def test_the_elbo_demo_reports_the_tables_value(table):
    out = get_demo("under_the_hood.elbo_vs_iwae").run(index=33, seed=0)
    numbers = out["numbers"]
    assert numbers["exact_log_px"] == pytest.approx(float(table[33]))
    assert numbers["elbo"] <= numbers["log_px_estimate"] <= numbers["exact_log_px"]
    assert out["figure"].ndim == 3 and out["figure"].dtype == np.uint8
