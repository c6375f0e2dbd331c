"""Test-set metrics of the shipped checkpoints, recomputed from their weights (cached per
session), so claim tests check numbers against the models themselves, not against the
``metrics.json`` files written at training time (tests/test_shipped.py checks the two agree)."""

from __future__ import annotations

from functools import cache

import torch

from kit.data import bundled_test_set
from kit.evaluate import evaluate
from kit.models import load_pretrained


@cache
def measured_metrics(name: str) -> dict:
    """``kit.evaluate.evaluate`` of checkpoint ``name`` on the 10k bundled test digits (seed 0)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return evaluate(load_pretrained(name), bundled_test_set())
    finally:
        torch.set_num_threads(before)
