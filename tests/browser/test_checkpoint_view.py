"""End to end: Under the hood, section 5: upload a checkpoint zip and see it diagnosed; a pickle
in disguise gets a sentence, not a stack trace."""

from __future__ import annotations

import pickle
import zipfile

import pytest

from kit.data import bundled_test_set
from kit.evaluate import evaluate
from kit.models import MODELS_DIR, load_pretrained

pytestmark = pytest.mark.browser


def _open_section(page):
    page.get_by_role("tab", name="Under the hood").click()
    page.get_by_text("5 · Your own checkpoint, diagnosed").click()
    page.locator("#checkpoint-files").scroll_into_view_if_needed()


def _upload(page, path):
    page.locator("#checkpoint-files input[type=file]").set_input_files(str(path))
    page.locator("#checkpoint-go").click()


def test_a_good_zip_is_diagnosed_with_the_reference_numbers(page, tmp_path):
    good = tmp_path / "my-vae.zip"
    with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("config.json", "model.safetensors"):
            zf.write(MODELS_DIR / "vae-2" / name, f"my-vae/{name}")
    reference = evaluate(load_pretrained(MODELS_DIR / "vae-2"), bundled_test_set(), seed=0)
    _open_section(page)
    _upload(page, good)
    summary = page.locator("#checkpoint-summary")
    summary.get_by_text("test −ELBO").wait_for(timeout=90_000)
    text = summary.inner_text()
    assert f"{reference['neg_elbo']:.2f}" in text and "shipped (vae-2)" in text
    assert page.locator(".toast-body").count() == 0


def test_a_pickle_named_safetensors_is_refused_with_a_sentence(page, tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.write(MODELS_DIR / "vae-2" / "config.json", "config.json")
        zf.writestr("model.safetensors", pickle.dumps({"w": [1, 2, 3]}, protocol=2))
    _open_section(page)
    _upload(page, bad)
    toast = page.locator(".toast-body")
    toast.first.wait_for(timeout=60_000)
    message = toast.first.inner_text()
    assert "pickle" in message and "never opened" in message
    assert "Traceback" not in message and "/tmp" not in message
