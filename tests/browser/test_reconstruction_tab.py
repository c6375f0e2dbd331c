"""End to end: the Reconstruction tab in a real browser."""

import pytest

from kit.data import bundled_test_set

pytestmark = pytest.mark.browser


SHOWN = (
    "n => [...document.querySelectorAll(\"img[src*='gradio_api/file=']\")]"
    ".filter(i => i.offsetParent && i.complete).length >= n"
)


def _output_images(page) -> list[str]:
    imgs = page.locator("img[src*='gradio_api/file=']")
    return [
        imgs.nth(i).get_attribute("src") for i in range(imgs.count()) if imgs.nth(i).is_visible()
    ]


def test_reconstruct_a_chosen_test_digit(page):
    page.get_by_text("test digit labelled").wait_for(timeout=30_000)  # the initial digit 0
    page.wait_for_function(SHOWN, arg=4, timeout=30_000)  # the images may arrive a moment later
    before = _output_images(page)
    assert len(before) == 4
    label = int(bundled_test_set().labels[42])
    page.get_by_label("Test digit index", exact=True).locator("visible=true").first.fill("42")
    page.get_by_role("button", name="Reconstruct", exact=True).click()
    page.get_by_text(f"test digit labelled {label}").wait_for(timeout=30_000)
    page.wait_for_function(
        "prev => [...document.querySelectorAll(\"img[src*='gradio_api/file=']\")]"
        ".filter(i => i.offsetParent).every((img, k) => img.src !== prev[k])",
        arg=before,
        timeout=30_000,
    )
    page.wait_for_function(SHOWN, arg=4, timeout=30_000)
    after = _output_images(page)
    assert len(after) == 4 and not set(after) & set(before)
    assert page.get_by_text("VAE-2 loss for this digit").is_visible()
    assert page.locator(".toast-body").count() == 0
    assert page.dialogs == []


def test_blank_drawing_shows_a_closable_toast_and_keeps_outputs(page):
    page.get_by_text("test digit labelled").wait_for(timeout=30_000)
    page.wait_for_function(SHOWN, arg=4, timeout=30_000)
    before = _output_images(page)
    page.get_by_role("tab", name="Draw").first.click()
    page.get_by_role("button", name="Reconstruct my drawing").click()
    toast = page.get_by_text("draw a digit first")
    toast.wait_for(timeout=30_000)
    assert _output_images(page) == before  # earlier results stay
    page.get_by_role("button", name="Close").first.click()
    toast.wait_for(state="hidden", timeout=10_000)
    assert page.dialogs == []


def test_drawing_a_digit_reconstructs_it(page):
    page.get_by_text("test digit labelled").wait_for(timeout=30_000)
    page.get_by_role("tab", name="Draw").first.click()
    page.get_by_role("button", name="Brush").click()
    box = page.locator("canvas").first.bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 0.35 * w, y + 0.25 * h)
    page.mouse.down()
    page.mouse.move(x + 0.65 * w, y + 0.25 * h, steps=10)
    page.mouse.move(x + 0.45 * w, y + 0.8 * h, steps=15)
    page.mouse.up()
    page.get_by_role("button", name="Reconstruct my drawing").click()
    page.get_by_text("test digit labelled").wait_for(state="detached", timeout=30_000)
    assert page.get_by_text("VAE-2 loss for this digit").is_visible()
    assert page.locator(".toast-body").count() == 0
