"""Error paths in a real browser: a refused upload shows a toast that closes, earlier outputs stay,
and no browser dialog (alert/confirm) ever appears."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def _close_toasts(page):
    page.locator(".toast-close").first.click()
    page.wait_for_function("() => document.querySelectorAll('.toast-body').length === 0")


def _input_image_src(page) -> str:
    """The src of the image in the block labelled "Input (28×28)" (the digit on screen)."""
    img = page.locator(".block", has_text="Input (28×28)").locator("img[src*='file=']").first
    img.wait_for(timeout=30_000)
    return img.get_attribute("src")


def test_oversized_upload_is_refused_with_a_closable_toast(page, tmp_path):
    page.get_by_role("tab", name="Reconstruction", exact=True).first.click()
    page.get_by_text(re.compile(r"test digit labelled")).first.wait_for(timeout=30_000)
    before = _input_image_src(page)
    page.get_by_role("tab", name="Upload").first.click()
    big = tmp_path / "huge.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (6 * 2**20))  # 6 MB, over the 5 MB cap
    page.locator("input[type=file]").first.set_input_files(str(big))
    toast = page.locator(".toast-body").first
    toast.wait_for(timeout=30_000)
    assert re.search(r"max|size|large|exceed", toast.inner_text(), re.I), toast.inner_text()
    _close_toasts(page)
    assert _input_image_src(page) == before  # the earlier result is still shown
    assert page.dialogs == []


def test_unreadable_upload_explains_itself(page, tmp_path):
    page.get_by_role("tab", name="Reconstruction", exact=True).first.click()
    page.get_by_text(re.compile(r"test digit labelled")).first.wait_for(timeout=30_000)
    before = _input_image_src(page)
    page.get_by_role("tab", name="Upload").first.click()
    fake = tmp_path / "digit.png"
    fake.write_text("this is a text file, not a picture\n" * 20)
    page.locator("input[type=file]").first.set_input_files(str(fake))
    page.get_by_text("digit.png").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Reconstruct my image").click()
    toast = page.locator(".toast-body").first
    toast.wait_for(timeout=30_000)
    assert "not an image this app can read" in toast.inner_text()
    _close_toasts(page)
    assert _input_image_src(page) == before
    assert page.dialogs == []
