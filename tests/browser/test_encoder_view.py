"""End to end: the encoder view of the Latent space tab, drawn on with no tool click first, and
the two ends of a path clicked on the map of each 2-D model."""

from __future__ import annotations

import re
import time

import pytest

pytestmark = pytest.mark.browser

IDS = ("encoder-map", "encoder-mean", "encoder-sample", "encoder-input")


def _srcs(page) -> dict:
    return page.evaluate(
        """ids => Object.fromEntries(ids.map(id => {
            const img = document.querySelector(`#${id} img`);
            return [id, img ? img.src : null];
        }))""",
        list(IDS),
    )


def test_a_stroke_with_no_extra_click_updates_the_ellipse_and_both_images(page):
    page.get_by_role("tab", name="Latent space").click()
    sketch = page.locator("#encoder-sketch")
    sketch.scroll_into_view_if_needed()
    # the tab's first opening encodes test digit 0: wait for its map
    page.wait_for_function(
        "() => { const i = document.querySelector('#encoder-map img'); return i && i.src; }",
        timeout=60_000,
    )
    canvas = sketch.locator('canvas[data-ready="1"]')  # its script has run: the pen is ready
    canvas.wait_for(timeout=10_000)
    before = _srcs(page)
    page.evaluate("() => performance.clearResourceTimings()")
    box = canvas.bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 0.5 * w, y + 0.2 * h)
    page.mouse.down()
    page.mouse.move(x + 0.5 * w, y + 0.8 * h, steps=12)
    page.mouse.up()
    released = time.perf_counter()
    page.wait_for_function(
        """prev => Object.keys(prev).every(id => {
            const i = document.querySelector(`#${id} img`);
            return i && i.src && i.src !== prev[id];
        })""",
        arg=before,
        timeout=30_000,
    )
    elapsed = time.perf_counter() - released
    after = _srcs(page)
    for name in IDS:  # the map with the ellipses, both decodes and the 28 x 28 input
        assert after[name] != before[name], name
    summary = page.locator("#encoder-summary").inner_text()
    assert "Your drawing" in summary and "Seed" in summary
    assert page.locator(".toast-body").count() == 0
    sent = page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)")
    assert any("/queue/join" in u for u in sent)  # the strokes went to the server...
    assert not [u for u in sent if "/upload" in u]  # ...as numbers, with no image upload
    print(f"stroke released -> map and both decodes updated: {elapsed * 1000:.0f} ms")


def test_the_view_follows_the_pen_before_it_lifts(page):
    page.get_by_role("tab", name="Latent space").click()
    canvas = page.locator('#encoder-sketch canvas[data-ready="1"]')
    canvas.wait_for(timeout=60_000)
    canvas.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('#encoder-map img'); return i && i.src; }",
        timeout=60_000,
    )
    before = _srcs(page)["encoder-map"]
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 140, box["y"] + 50)
    page.mouse.down()
    page.mouse.move(box["x"] + 140, box["y"] + 200, steps=6)
    page.wait_for_function(  # the pen is still down: the map shows this stroke so far
        "prev => document.querySelector('#encoder-map img').src !== prev",
        arg=before,
        timeout=30_000,
    )
    assert "Your drawing" in page.locator("#encoder-summary").inner_text()
    page.mouse.up()
    assert page.locator(".toast-body").count() == 0


def test_clear_empties_the_canvas_without_a_request_or_a_message(page):
    page.get_by_role("tab", name="Latent space").click()
    canvas = page.locator('#encoder-sketch canvas[data-ready="1"]')
    canvas.wait_for(timeout=60_000)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 60)
    page.mouse.down()
    page.mouse.move(box["x"] + 120, box["y"] + 220, steps=6)
    page.mouse.up()
    page.get_by_text("Your drawing").first.wait_for(timeout=30_000)
    ink = "el => el.getContext('2d').getImageData(0, 0, el.width, el.height).data.some(v => v)"
    assert canvas.evaluate(ink)
    page.wait_for_timeout(500)
    page.evaluate("() => performance.clearResourceTimings()")
    page.locator("#encoder-sketch .enc-clear").click()
    page.wait_for_timeout(1000)
    assert not canvas.evaluate(ink)
    sent = page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)")
    assert not [u for u in sent if "/queue/join" in u]
    assert page.locator(".toast-body").count() == 0


def test_resample_shows_a_new_seed_and_moves_z(page):
    page.get_by_role("tab", name="Latent space").click()
    page.locator("#encoder-resample").scroll_into_view_if_needed()
    page.get_by_text("Test digit 0").first.wait_for(timeout=60_000)
    summary = page.locator("#encoder-summary")
    assert "Seed 0 gives" in summary.inner_text()
    before = _srcs(page)["encoder-sample"]
    page.locator("#encoder-resample").click()
    page.wait_for_function(
        r"""() => { const t = document.getElementById('encoder-summary').innerText;
                   return /Seed \d+ gives/.test(t) && !t.includes('Seed 0 gives'); }""",
        timeout=30_000,
    )
    seed = int(page.locator("#encoder-summary").inner_text().split("Seed ")[1].split()[0])
    shown = page.locator("#encoder-view input[type=number]").last.input_value()
    assert seed != 0 and shown == str(seed)  # the seed box shows the seed that was used
    assert "Test digit 0" in summary.inner_text()
    page.wait_for_function(
        "prev => document.querySelector('#encoder-sample img').src !== prev", arg=before
    )


def _ends(page) -> tuple[tuple[float, float], tuple[float, float]]:
    text = page.locator("#demo-latent-point-path").inner_text()
    found = re.search(
        r"from a = \((-?[\d.]+), (-?[\d.]+)\) to b = \((-?[\d.]+), (-?[\d.]+)\)", text
    )
    assert found, text[:300]
    v = [float(g) for g in found.groups()]
    return (v[0], v[1]), (v[2], v[3])


def _loaded(target) -> dict:
    """Wait until the map image ``target`` has loaded (an answer replaces it; a click on one
    still loading has no size to be read against) and its box is still; return the box."""
    target.wait_for(timeout=30_000)
    target.evaluate(
        """(el) => new Promise((done) => {
            let last = "";
            const give_up = performance.now() + 30000;  // then the click's check says what failed
            const check = () => {
                const r = el.getBoundingClientRect(), now = [r.x, r.y, r.width, r.height].join();
                const ready = el.complete && el.naturalWidth > 0 && now === last;
                if (ready || performance.now() > give_up) return done();
                last = now; setTimeout(check, 150);
            };
            check();
        })"""
    )
    return target.bounding_box()


def _click_ends(page, target) -> None:
    """Click (-2, 0) for a, then (0, 2) for b, and check each end follows its click."""
    a0, b0 = _ends(page)
    box = _loaded(target)
    target.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.5})  # z = (-2, 0)
    page.wait_for_function(
        "prev => !document.getElementById('demo-latent-point-path').innerText.includes(prev)",
        arg=f"a = ({a0[0]:.2f}",
        timeout=30_000,
    )
    a1, b1 = _ends(page)
    assert a1 == pytest.approx((-2.0, 0.0), abs=0.1) and b1 == b0
    box = _loaded(target)  # the walk redrew the map with its ends
    target.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.25})  # z = (0, 2)
    page.wait_for_function(
        "prev => !document.getElementById('demo-latent-point-path').innerText.includes(prev)",
        arg=f"b = ({b0[0]:.2f}",
        timeout=30_000,
    )
    a2, b2 = _ends(page)
    assert a2 == a1 and b2 == pytest.approx((0.0, 2.0), abs=0.1)
    assert page.locator(".toast-body").count() == 0


def test_two_clicks_on_the_map_set_the_ends_and_walk(page):
    page.get_by_role("tab", name="Latent space").click()
    target = page.locator("#encoder-click-map img")
    target.scroll_into_view_if_needed()
    page.locator("#demo-latent-point-path").get_by_text("VAE-2 from a").wait_for(timeout=60_000)
    a0, _ = _ends(page)
    assert a0 == (-1.5, -1.0)  # the default ends before any click
    _click_ends(page, target)


def test_the_cvae_map_takes_clicks_too_and_decodes_with_its_label(page):
    page.get_by_role("tab", name="Latent space").click()
    section = page.locator("#demo-latent-point-path")
    section.scroll_into_view_if_needed()
    section.get_by_text("VAE-2 from a").wait_for(timeout=60_000)
    before = page.locator("#encoder-click-map img").get_attribute("src")
    section.get_by_label("cvae-2").check()  # the model radio: the map and paths follow
    section.get_by_text("CVAE-2 with the label 3 from a").wait_for(timeout=30_000)
    page.wait_for_function(
        "prev => document.querySelector('#encoder-click-map img').src !== prev", arg=before
    )
    _click_ends(page, page.locator("#encoder-click-map img"))
    assert "CVAE-2 with the label 3" in section.inner_text()
