"""End to end: every tab opens, its main action runs, the result appears, and no error shows.

Each case changes an input first, so the text it waits for can only come from the new run.
"""

import re

import pytest

from kit.data import bundled_test_set

pytestmark = pytest.mark.browser


def _visible(locator):
    return locator.locator("visible=true").first


def _set_number(page, label: str, value) -> None:
    box = _visible(page.get_by_label(label, exact=True))
    box.fill(str(value))
    box.press("Enter")


def _label_of(index: int) -> int:
    return int(bundled_test_set().labels[index])


def _opened(page, tab: str, first_output) -> None:
    """Open ``tab`` and wait for what its opening computes (``first_output``, text or regex):
    a press made while that runs would be overwritten by it when it lands."""
    page.get_by_role("tab", name=tab).first.click()
    _visible(page.get_by_text(first_output)).wait_for(timeout=30_000)


def _assert_clean(page):
    assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").all_inner_texts()
    assert page.dialogs == []


def test_latent_space_grid_and_interpolation(page):
    _opened(page, "Latent space", re.compile(r"\d+ × \d+ decoded points"))
    _set_number(page, "number input for Grid size n", 7)
    page.get_by_role("button", name="Decode the grid").click()
    page.get_by_text(re.compile(r"7 × 7 decoded points")).wait_for(timeout=30_000)
    _set_number(page, "number input for Frames", 6)
    page.get_by_role("button", name="Interpolate").click()
    page.get_by_text(re.compile(r"in 6 frames")).wait_for(timeout=30_000)
    _assert_clean(page)


def test_generate_a_digit(page):
    _opened(page, "Generate a digit", re.compile(r"samples of the digit"))
    _set_number(page, "number input for Number of samples", 4)
    page.get_by_role("button", name="Generate", exact=True).click()
    page.get_by_text(re.compile(r"4 samples of the digit 7")).wait_for(timeout=30_000)
    _assert_clean(page)


def test_beta_comparison(page):
    _opened(page, "β comparison", f"test digit labelled {_label_of(0)}")
    _set_number(page, "Test digit index", 1)
    page.get_by_role("button", name="Compare").click()
    _visible(page.get_by_text(f"test digit labelled {_label_of(1)}")).wait_for(timeout=30_000)
    page.get_by_role("button", name="Traverse").click()
    _visible(page.get_by_text(re.compile(r"each row sets one dimension"))).wait_for(timeout=30_000)
    _assert_clean(page)


def test_under_the_hood_elbo_section(page):
    page.get_by_role("tab", name="Under the hood").first.click()
    page.get_by_text("2 · ELBO vs log-likelihood").click()
    _set_number(page, "Test digit index", 1)
    page.get_by_role("button", name="Compute the bounds").click()
    _visible(
        page.get_by_text(re.compile(rf"Test digit 1, labelled {_label_of(1)}, through"))
    ).wait_for(timeout=30_000)
    _assert_clean(page)


def test_train_live_short_run(page):
    page.get_by_role("tab", name="Train live").first.click()
    images = page.locator("img[src*='gradio_api/file=']").locator("visible=true")
    assert images.count() == 0  # nothing trained yet
    _set_number(
        page,
        "number input for Steps (batches of 128; 157 make one pass over the 20,000 digits)",
        20,
    )
    page.get_by_role("button", name="Train", exact=True).click()
    _visible(page.get_by_text(re.compile(r"^Done"))).wait_for(timeout=120_000)
    page.wait_for_function(  # the curves, the held-out digits, before and after (4 images)
        """() => [...document.querySelectorAll("img[src*='gradio_api/file=']")]
                     .filter(i => i.offsetParent !== null).length === 4""",
        timeout=30_000,
    )
    _assert_clean(page)
