"""The seed map in headless chromium: it loads cleanly, shows every layer, stays XSS-safe.

All the page's JS/CSS are served from ``tests/browser/node_modules`` (see
``conftest.open_map``); a request with no local copy is aborted and fails the
test, so a new CDN asset in folium is noticed. Set ``KWXMAP_SCREENSHOT=1`` to
refresh ``docs/seed-map.png`` from the clean seed map.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_render import XSS_TITLE, hostile

from kwxmap.contours import contour_bands, contour_lines
from kwxmap.io import write_html
from kwxmap.render import render_map

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
BAND_XSS = '<img src=x onerror="window.__xss=5">'


@pytest.fixture(scope="module")
def seed_layers(seed_grid):
    return contour_bands(seed_grid), contour_lines(seed_grid)


def _load(open_map, path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page, problems = open_map(path)
    try:
        page.wait_for_selector("svg#legend", state="attached", timeout=10_000)
    except PlaywrightTimeout:
        pytest.fail(
            "the map never finished drawing (no legend); JS errors: "
            + " | ".join(problems["errors"])
            + "; unmatched requests: "
            + ", ".join(problems["unmatched"])
        )
    page.wait_for_timeout(300)
    assert not problems["unmatched"], (
        "requests with no local copy (add the package to tests/browser/package.json): "
        + ", ".join(problems["unmatched"])
    )
    assert not problems["errors"], "JS errors: " + " | ".join(problems["errors"])
    return page, problems


COUNT_JS = """() => ({
  bands: document.querySelectorAll('path.leaflet-interactive.kwxmap-band').length,
  isolines: document.querySelectorAll('path.leaflet-interactive.kwxmap-isoline').length,
  stations: document.querySelectorAll('path.leaflet-interactive.kwxmap-station').length,
  interactive: document.querySelectorAll('path.leaflet-interactive').length,
  overlays: Array.from(document.querySelectorAll(
      '.leaflet-control-layers-overlays label')).map(e => e.innerText.trim()),
  header: (document.querySelector('.kwxmap-header') || {}).innerText,
  attribution: document.querySelector('.leaflet-control-attribution').innerText,
  caption: (document.querySelector('svg#legend .caption') || {}).textContent,
})"""

HOVER_ALL_JS = """() => {
  const seen = [];
  for (const el of document.querySelectorAll('path.leaflet-interactive')) {
    for (const type of ['mouseover', 'mousemove']) {
      const box = el.getBoundingClientRect();
      el.dispatchEvent(new MouseEvent(type, {bubbles: true, cancelable: true,
          clientX: box.x + box.width / 2, clientY: box.y + box.height / 2}));
    }
    for (const tip of document.querySelectorAll('.leaflet-tooltip')) seen.push(tip.innerText);
    el.dispatchEvent(new MouseEvent('mouseout', {bubbles: true}));
  }
  return {seen: seen,
          imgs: document.querySelectorAll('.leaflet-tooltip img, .kwxmap-header img').length,
          scripts_in_body: document.querySelectorAll('.kwxmap-header script').length};
}"""


def test_seed_map_loads_and_shows_every_layer(tmp_path, open_map, seed_stations, seed_layers):
    bands, lines = seed_layers
    stations = hostile(seed_stations)
    bands = bands.copy()
    bands.loc[0, "label"] = BAND_XSS  # reaches folium's GeoJsonTooltip (innerHTML)
    m = render_map(stations, bands, lines, title=XSS_TITLE, time="2016-10-27 16:37 KST", tiles=None)
    path = write_html(m, tmp_path / "seed.html")
    page, _ = _load(open_map, path)

    got = page.evaluate(COUNT_JS)
    # One SVG path per band row (MultiPolygon), per isoline row and per station.
    assert got["bands"] == len(bands)
    assert got["isolines"] == len(lines)
    assert got["stations"] == len(stations)
    assert got["interactive"] == len(bands) + len(lines) + len(stations)
    assert got["overlays"] == ["Isotherm bands", "Isolines", "Stations"]
    assert got["caption"] == "Temperature (°C)"
    assert page.locator("svg#legend").is_visible()
    assert page.locator(".kwxmap-header").is_visible()
    assert XSS_TITLE in got["header"]  # shown as text
    assert "2016-10-27 16:37 KST" in got["header"]
    assert "KMA" in got["attribution"] and "KOSTAT" in got["attribution"]

    # Hover every band, isoline and marker: tooltips show, payloads stay text.
    result = page.evaluate(HOVER_ALL_JS)
    page.wait_for_timeout(500)  # an <img onerror> fires after the failed load, not at once
    xss = page.evaluate("() => window.__xss === undefined ? null : window.__xss")
    assert xss is None, f"a payload ran (window.__xss = {xss!r})"
    assert result["imgs"] == 0 and result["scripts_in_body"] == 0
    seen = "\n".join(result["seen"])
    assert '<img src=x onerror="window.__xss=1">' in seen  # the hostile name, as text
    assert "`${window.__xss=2}`" in seen
    for label in bands["label"]:
        assert label in seen
    # A real mouse over the hostile station's marker.
    page.locator("path.kwxmap-station").first.hover(force=True)
    page.wait_for_timeout(100)
    tip = page.locator(".leaflet-tooltip").last.inner_text()
    assert "onerror" in tip
    assert page.evaluate("() => window.__xss === undefined")


def test_layers_toggle_and_screenshot(tmp_path, open_map, seed_stations, seed_grid, seed_layers):
    bands, lines = seed_layers
    method = seed_grid.attrs.get("method", "interpolated")
    title = f"kwxmap: {len(seed_stations)} KMA station readings, {method} on a 1 km grid"
    m = render_map(seed_stations, bands, lines, title=title, tiles=None)
    path = write_html(m, tmp_path / "seed.html")
    page, _ = _load(open_map, path)
    shot = tmp_path / "seed-map.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000  # a drawn map, not a blank page
    if os.environ.get("KWXMAP_SCREENSHOT"):
        (REPO / "docs").mkdir(exist_ok=True)
        (REPO / "docs" / "seed-map.png").write_bytes(shot.read_bytes())
    # Unticking the bands overlay removes their paths; ticking brings them back.
    box = page.locator(".leaflet-control-layers-overlays label", has_text="Isotherm bands")
    box.locator("input").uncheck()
    assert page.locator("path.kwxmap-band").count() == 0
    box.locator("input").check()
    assert page.locator("path.kwxmap-band").count() == len(bands)


def test_animation_slider_switches_frames(tmp_path, open_map, seed_stations, seed_grid):
    from test_render import _shifted

    from kwxmap.render import render_animation

    hostile_time = '06:00 <img src=x onerror="window.__xss=6">'
    frames = [
        (hostile_time, *_shifted(seed_stations, seed_grid, -8.0, "8:24:2")),
        ("15:00", *_shifted(seed_stations, seed_grid, 0.0)),
    ]
    path = write_html(render_animation(frames, title="frames", tiles=None), tmp_path / "a.html")
    page, _ = _load(open_map, path)
    state = """() => ({
      bands: document.querySelectorAll('path.kwxmap-band').length,
      stations: document.querySelectorAll('path.kwxmap-station').length,
      label: document.querySelector('.kwxmap-slider-label').textContent})"""
    slide = """(i) => { const s = document.querySelector('.kwxmap-slider-input');
                        s.value = i; s.dispatchEvent(new Event('input')); }"""
    assert len(frames[0][2]) != len(frames[1][2])
    first = page.evaluate(state)
    assert first == {
        "bands": len(frames[0][2]),
        "stations": len(seed_stations),
        "label": hostile_time,
    }
    page.evaluate(slide, 1)
    assert page.evaluate(state) == {
        "bands": len(frames[1][2]),
        "stations": len(seed_stations),
        "label": "15:00",
    }
    page.evaluate(slide, 0)
    assert page.evaluate(state)["bands"] == len(frames[0][2])
    page.evaluate(HOVER_ALL_JS)
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__xss === undefined")


@pytest.mark.parametrize(("ci", "outcome"), [("true", "fail"), ("", "skip"), ("false", "skip")])
def test_missing_browser_skips_locally_but_fails_in_ci(monkeypatch, ci, outcome):
    import conftest

    monkeypatch.setenv("CI", ci)
    expected = pytest.fail.Exception if outcome == "fail" else pytest.skip.Exception
    with pytest.raises(expected, match="chromium not found"):
        conftest._skip_or_fail("chromium not found at /nowhere")
