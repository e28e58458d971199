"""The seed map in headless chromium: it loads cleanly, shows every layer, stays XSS-safe.

The pages embed everything they draw with, so every test here blocks every
network request (``conftest.open_map`` aborts and records every request, and
the tests fail on any); :func:`test_layout_and_offline_drawing` checks
at desktop (1280×900) and phone (390×844) sizes that nothing is requested at
all and that the legend, title, layer control and attribution stay on screen
without covering the zoom control or each other.
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


def _load(open_map, path, **size):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page, problems = open_map(path, **size)
    try:
        page.wait_for_selector(".kwxmap-legend", state="attached", timeout=10_000)
    except PlaywrightTimeout:
        pytest.fail(
            "the map never finished drawing (no legend); JS errors: "
            + " | ".join(problems["errors"])
            + "; requests: "
            + ", ".join(problems["requested"])
        )
    page.wait_for_timeout(300)
    assert not problems["requested"], "the page asked the network for: " + ", ".join(
        problems["requested"]
    )
    assert not problems["errors"], "JS errors: " + " | ".join(problems["errors"])
    return page, problems


COUNT_JS = """() => ({
  bands: document.querySelectorAll('path.leaflet-interactive.kwxmap-band').length,
  isolines: document.querySelectorAll('path.leaflet-interactive.kwxmap-isoline').length,
  stations: document.querySelectorAll('path.leaflet-interactive.kwxmap-station').length,
  interactive: document.querySelectorAll('path.leaflet-interactive').length,
  overlays: Array.from(document.querySelectorAll(
      '.leaflet-control-layers-overlays label')).map(e => e.textContent.trim()),
  header: (document.querySelector('.kwxmap-header') || {}).innerText,
  attribution: document.querySelector('.leaflet-control-attribution').innerText,
  caption: (document.querySelector('.kwxmap-legend .kwxmap-caption') || {}).textContent,
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
    assert got["overlays"] == ["기온", "등온선", "관측소"]
    assert got["caption"] == "기온 (°C)"
    assert page.locator(".kwxmap-legend").is_visible()
    assert page.locator(".kwxmap-header").is_visible()
    assert XSS_TITLE in got["header"]  # shown as text
    assert "2016년 10월 27일 16:37 KST" in got["header"]
    assert "KMA" in got["attribution"] and "KOSTAT" in got["attribution"]
    # offline context from kwxmap's own data: province lines and city names, no tiles
    from kwxmap.render import CONTEXT_CITIES, _context

    cities = page.evaluate("() => Array.from(document.querySelectorAll('.kwxmap-city'))"
                           ".map(e => e.textContent)")
    assert cities == list(CONTEXT_CITIES)
    assert page.locator("path.kwxmap-province").count() == len(_context("ko")["lines"]) > 50

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
    # Unticking the bands overlay removes their paths; ticking brings them back.
    box = page.locator(".leaflet-control-layers-overlays label", has_text="기온")
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


LAYOUT_JS = """() => {
  const box = (sel) => { const e = document.querySelector(sel);
    if (!e) return null; const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
  const labels = Array.from(document.querySelectorAll(
      '.leaflet-map-pane .kwxmap-isolabel, .leaflet-map-pane .kwxmap-valuelabel'))
    .filter(e => e.style.visibility !== 'hidden')
    .map(e => { const r = e.firstChild.getBoundingClientRect();
                return {text: e.textContent, cls: e.className, left: r.left, top: r.top,
                        right: r.right, bottom: r.bottom}; });
  const markers = Array.from(document.querySelectorAll('path.kwxmap-station')).map(e => {
    const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; });
  return {
    zoom: box('.leaflet-control-zoom'), legend: box('.kwxmap-legend'),
    title: box('.kwxmap-header'), layers: box('.leaflet-control-layers'),
    attribution: box('.leaflet-control-attribution'), scale: box('.leaflet-control-scale'),
    collapsed: !document.querySelector('.leaflet-control-layers-expanded'),
    swatches: document.querySelectorAll('.kwxmap-legend .kwxmap-swatch').length,
    bands: document.querySelectorAll('path.kwxmap-band').length,
    lines: document.querySelectorAll('path.kwxmap-isoline').length,
    stations: document.querySelectorAll('path.kwxmap-station').length,
    labels: labels, markers: markers,
    viewport: {width: window.innerWidth, height: window.innerHeight},
  };
}"""


def _intersects(a, b):
    return a["left"] < b["right"] and b["left"] < a["right"] and (
        a["top"] < b["bottom"] and b["top"] < a["bottom"]
    )


def _inside(a, viewport):
    return (
        a["left"] >= 0 and a["top"] >= 0
        and a["right"] <= viewport["width"] and a["bottom"] <= viewport["height"]
    )


@pytest.fixture(scope="module")
def region_layers(seed_stations):
    from kwxmap import interpolate

    grid = interpolate(seed_stations, resolution=2000.0, region="충청북도")
    bands = contour_bands(grid)
    return bands, contour_lines(grid, bands.attrs["levels"])


@pytest.mark.parametrize("size", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
@pytest.mark.parametrize("which", ["national", "region"])
def test_layout_and_offline_drawing(
    tmp_path, open_map, seed_stations, seed_layers, region_layers, size, which
):
    bands, lines = seed_layers if which == "national" else region_layers
    m = render_map(
        seed_stations, bands, lines, title="관측소 26곳의 기온, 2016년 10월 27일 오후",
        time="2016-10-27 16:37 KST", tiles=None, labels="values",
    )
    path = write_html(m, tmp_path / "map.html")
    width, height = size
    page, problems = _load(open_map, path, width=width, height=height)  # no request allowed
    got = page.evaluate(LAYOUT_JS)
    # drawn with the network blocked
    assert got["bands"] == len(bands) and got["lines"] == len(lines)
    assert got["stations"] == len(seed_stations)
    assert got["swatches"] == len(bands)  # one swatch per band
    # controls on screen, clear of the zoom buttons and of each other
    for name in ("legend", "title"):
        assert _inside(got[name], got["viewport"]), (name, got[name])
        assert not _intersects(got[name], got["zoom"]), name
    placed = ["zoom", "legend", "title", "layers", "attribution", "scale"]
    for i, a in enumerate(placed):
        assert _inside(got[a], got["viewport"]), (a, got[a])
        for b in placed[i + 1 :]:
            assert not _intersects(got[a], got[b]), (a, b, got[a], got[b])
    assert got["collapsed"] == (width < 600)
    # isotherm values written on the lines, not on each other or on the markers
    iso = [lab for lab in got["labels"] if "isolabel" in lab["cls"]]
    assert len(iso) >= 2
    assert {lab["text"] for lab in iso} <= {f"{v:g}" for v in lines["level"]}
    for i, a in enumerate(got["labels"]):
        for b in got["labels"][i + 1 :]:
            assert not _intersects(a, b), (a, b)
        for marker in got["markers"]:
            assert not _intersects(a, marker), (a, marker)
    if os.environ.get("KWXMAP_DEBUG_SHOTS"):
        page.screenshot(path=f"/tmp/{which}-{width}.png")


FRAME_JS = """() => {
  const map = Object.values(window).find(v => v && v._container && v.latLngToContainerPoint);
  const y = lat => map.latLngToContainerPoint([lat, 127.5]).y;
  const legend = document.querySelector('.kwxmap-legend').getBoundingClientRect();
  const top = map.getContainer().getBoundingClientRect().top;
  return {height: map.getSize().y, north: y(38.62), south: y(34.28), jeju: y(33.25),
          legendTop: legend.top - top};
}"""


def test_a_phone_opens_on_the_mainland_and_jeju_above_the_legend(tmp_path, open_map,
                                                                 seed_stations, seed_layers):
    """The national view frames the mainland and Jeju, not 백령도 to 독도 (37 % before)."""
    bands, lines = seed_layers
    m = render_map(seed_stations, bands, lines, tiles=None)
    page, _ = _load(open_map, write_html(m, tmp_path / "map.html"), width=390, height=844)
    got = page.evaluate(FRAME_JS)
    share = (got["south"] - got["north"]) / got["height"]  # 38.62 N to the south coast
    assert share >= 0.6, got
    assert 0 <= got["north"] and got["jeju"] < got["legendTop"], got


def test_animation_has_isolines_labels_and_layer_control(tmp_path, open_map, seed_stations):
    from kwxmap import interpolate
    from kwxmap.render import render_animation

    frames = []
    for delta, when in [(-6.0, "2020-08-14 06:00"), (0.0, "2020-08-14 15:00")]:
        st = seed_stations.copy()
        st["temperature_c"] = st["temperature_c"] + delta
        grid = interpolate(st, resolution=8000.0)
        bands = contour_bands(grid, "10:30:1")
        frames.append((when, st, bands, contour_lines(grid, bands.attrs["levels"])))
    m = render_animation(frames, title="하루의 기온", tiles=None)
    page, _ = _load(open_map, write_html(m, tmp_path / "a.html"), width=390, height=844)
    state = """() => ({
      lines: document.querySelectorAll('path.kwxmap-isoline').length,
      labels: Array.from(document.querySelectorAll('.leaflet-map-pane .kwxmap-isolabel'))
        .filter(e => e.style.visibility !== 'hidden').map(e => e.textContent),
      overlays: Array.from(document.querySelectorAll(
        '.leaflet-control-layers-overlays label')).map(e => e.textContent.trim()),
      label: document.querySelector('.kwxmap-slider-label').textContent})"""
    first = page.evaluate(state)
    assert first["lines"] == len(frames[0][3]) and first["labels"]
    assert first["overlays"] == ["기온", "등온선", "관측소"]
    assert first["label"] == "2020년 8월 14일 06:00"
    page.evaluate("""() => { const s = document.querySelector('.kwxmap-slider-input');
                             s.value = 1; s.dispatchEvent(new Event('input')); }""")
    second = page.evaluate(state)
    assert second["lines"] == len(frames[1][3]) and second["label"] == "2020년 8월 14일 15:00"
    # unticking 등온선 hides the lines of every frame
    page.evaluate("""() => { for (const l of document.querySelectorAll(
        '.leaflet-control-layers-overlays label')) if (l.textContent.trim() === '등온선')
        l.querySelector('input').click(); }""")
    assert page.evaluate(state)["lines"] == 0
    box = page.locator(".kwxmap-slider").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # the slider fits the phone


@pytest.fixture(scope="module")
def network_snap():
    """A whole-network instant: every active station (one per site) on the shipped
    registry, with a field that falls with latitude and height (−6.5 °C/km) and
    waves east–west, so the isotherms wind across the whole country."""
    import numpy as np
    import pandas as pd

    import kwxmap

    reg = kwxmap.load_stations().to_geodataframe()
    reg = reg[reg["active"] & ~reg.geometry.to_wkb().duplicated()]
    lat, lon = reg.geometry.y.to_numpy(), reg.geometry.x.to_numpy()
    temp = (28 - 1.1 * (lat - 33.5) - 0.0065 * reg["elevation_m"].fillna(0).to_numpy()
            + 1.2 * np.sin(3 * lon))
    table = pd.DataFrame({"station_id": reg["station_id"], "temperature_c": temp.round(1)})
    snap = kwxmap.snapshot(table, tiles=None, resolution=2000)
    assert len(snap.stations) > 700
    return snap


@pytest.fixture(scope="module")
def seed_snap():
    import kwxmap

    return kwxmap.snapshot(REPO / "examples" / "widget.txt", tiles=None, resolution=2000)


LABELS_JS = """() => {
  const map = Object.values(window).find(v => v && v._container && v.latLngToContainerPoint);
  const size = map.getSize(), out = [];
  map.eachLayer(l => {
    const icon = l.options && l.options.icon;
    if (!icon || icon.options.className !== 'kwxmap-isolabel') return;
    const el = l.getElement();
    if (!el || el.style.visibility === 'hidden') return;
    const c = map.latLngToContainerPoint(l.getLatLng());
    if (c.x < 0 || c.y < 0 || c.x > size.x || c.y > size.y) return;
    const r = el.firstChild.getBoundingClientRect();
    out.push({lat: l.getLatLng().lat, lon: l.getLatLng().lng, text: el.textContent,
              left: r.left, top: r.top, right: r.right, bottom: r.bottom});
  });
  const markers = Array.from(document.querySelectorAll('path.kwxmap-halo')).map(e => {
    const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; });
  const dots = Array.from(document.querySelectorAll('path.kwxmap-station'))
    .map(e => e.getBoundingClientRect().width);
  return {zoom: map.getZoom(), labels: out, markers: markers, area: size.x * size.y,
          radius: Math.max(0, ...dots)};
}"""

ZOOM_JS = """([lat, lon, zoom]) => {
  const map = Object.values(window).find(v => v && v._container && v.latLngToContainerPoint);
  map.setView([lat, lon], zoom, {animate: false});
}"""


def _grid_at(grid, lon, lat):
    """The drawn field at lon/lat (bilinear on the map's grid)."""
    import numpy as np
    from pyproj import Transformer
    from scipy.interpolate import RegularGridInterpolator

    x, y = Transformer.from_crs(4326, grid.crs, always_xy=True).transform(lon, lat)
    values = np.asarray(grid.values, float)
    gx, gy = np.asarray(grid.x), np.asarray(grid.y)
    if gy[0] > gy[-1]:
        gy, values = gy[::-1], values[::-1]
    return RegularGridInterpolator((gy, gx), values, bounds_error=False)(
        np.column_stack([y, x]))


def _check_labels(got, snap, dense):
    """Labels on screen: apart, on their isotherm (the field there has their value)."""
    import numpy as np

    labels = got["labels"]
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            assert not _intersects(a, b), (a, b)
        if not dense:  # a sparse map's labels give way to every marker
            for marker in got["markers"]:
                assert not _intersects(a, marker), (a, marker)
    if labels:
        field = _grid_at(snap.grid, [lab["lon"] for lab in labels],
                         [lab["lat"] for lab in labels])
        written = np.array([float(lab["text"]) for lab in labels])
        ok = np.isfinite(field)  # a label on the coast can sit just outside the land cells
        assert ok.mean() > 0.8
        assert np.abs(field[ok] - written[ok]).max() < 0.35, list(zip(written, field, strict=True))


@pytest.mark.parametrize("which", ["seed", "network"])
def test_a_phone_reads_isotherm_values_at_the_opening_view_and_at_zoom_10(
    tmp_path, open_map, seed_snap, network_snap, which
):
    """≥ 5 values on the phone's opening view (1 of 48 on the network map before),
    still some at zoom 10 (none before); each sits on its isotherm."""
    snap = seed_snap if which == "seed" else network_snap
    dense = which == "network"
    page, _ = _load(open_map, write_html(snap.map, tmp_path / "m.html"), width=390, height=844)
    got = page.evaluate(LABELS_JS)
    assert len(got["labels"]) >= 5, (got["zoom"], len(got["labels"]))
    _check_labels(got, snap, dense)
    for lat, lon in [(37.5, 127.0), (36.35, 127.4), (35.15, 129.05)]:  # 서울, 대전, 부산
        page.evaluate(ZOOM_JS, [lat, lon, 10])
        page.wait_for_timeout(100)
        got = page.evaluate(LABELS_JS)
        assert got["zoom"] == 10
        _check_labels(got, snap, dense)
        if (lat, lon) == (36.35, 127.4) or dense:
            assert got["labels"], (which, lat, lon)


def test_dense_markers_are_dots_that_leave_the_bands_visible(tmp_path, open_map, network_snap):
    """700 stations at the phone's opening view: dots (one 2-4 px each), under 8 % of the
    map (a quarter before); at zoom 10 they grow back to readable markers."""
    page, _ = _load(open_map, write_html(network_snap.map, tmp_path / "m.html"),
                    width=390, height=844)
    got = page.evaluate(LABELS_JS)
    covered = sum((m["right"] - m["left"]) * (m["bottom"] - m["top"]) for m in got["markers"])
    assert len(got["markers"]) == len(network_snap.stations)
    assert got["radius"] <= 4.5 and covered / got["area"] < 0.08, (got["radius"], covered)
    page.evaluate(ZOOM_JS, [36.35, 127.4, 10])
    page.wait_for_timeout(100)
    assert page.evaluate(LABELS_JS)["radius"] >= 8


OPEN_TIP_JS = """(i) => {
  const dot = document.querySelectorAll('path.kwxmap-station')[i];
  const b = dot.getBoundingClientRect();
  dot.dispatchEvent(new MouseEvent('mouseover', {bubbles: true,
      clientX: b.x + b.width / 2, clientY: b.y + b.height / 2}));
  const tips = document.querySelectorAll('.leaflet-tooltip');
  const tip = tips[tips.length - 1].getBoundingClientRect();
  const under = Array.from(document.querySelectorAll(
      '.kwxmap-isolabel span, .kwxmap-valuelabel span'))
    .filter(e => e.parentElement.style.visibility !== 'hidden')
    .map(e => e.getBoundingClientRect())
    .filter(r => r.left < tip.right && tip.left < r.right && r.top < tip.bottom
                 && tip.top < r.bottom).length;
  return {x: tip.x, y: tip.y, width: tip.width, height: tip.height, under: under};
}"""

LABELS_SHOWN_JS = """(shown) => { for (const e of document.querySelectorAll(
    '.kwxmap-isolabel, .kwxmap-valuelabel')) e.style.opacity = shown ? '' : '0'; }"""


def test_labels_never_cover_an_open_tooltip(tmp_path, open_map, seed_stations, seed_layers):
    """An open station tooltip is drawn over every label: its pixels are the same with
    the labels shown and hidden, for six stations whose tooltip has labels under it."""
    import numpy as np
    from PIL import Image

    bands, lines = seed_layers
    m = render_map(seed_stations, bands, lines, tiles=None, labels="values")
    page, _ = _load(open_map, write_html(m, tmp_path / "m.html"), width=1280, height=900)
    checked = 0
    for i in range(len(seed_stations)):
        if checked == 6:
            break
        tip = page.evaluate(OPEN_TIP_JS, i)
        page.wait_for_timeout(250)  # the tooltip fades in
        if tip["under"]:
            clip = {"x": tip["x"] + 4, "y": tip["y"] + 4,  # inside the rounded corners
                    "width": tip["width"] - 8, "height": tip["height"] - 8}
            shots = []
            for shown in (True, False):
                page.evaluate(LABELS_SHOWN_JS, shown)
                shots.append(np.asarray(Image.open(_shot(page, clip, tmp_path)), int))
            assert np.abs(shots[0] - shots[1]).max() <= 8, (i, tip)
            checked += 1
        page.evaluate(LABELS_SHOWN_JS, True)
        page.evaluate("() => document.querySelectorAll('path.kwxmap-station').forEach(d =>"
                      " d.dispatchEvent(new MouseEvent('mouseout', {bubbles: true})))")
        page.wait_for_timeout(250)  # and fades out
        assert page.evaluate("() => document.querySelectorAll('.leaflet-tooltip').length") == 0
    assert checked == 6, checked


def _shot(page, clip, tmp_path):
    path = tmp_path / "tip.png"
    page.screenshot(path=str(path), clip=clip)
    return path


OUTSIDE_JS = """() => ({
  shown: document.querySelectorAll('path.kwxmap-station').length,
  faint: Array.from(document.querySelectorAll('path.kwxmap-station.kwxmap-outside'))
    .map(e => parseFloat(getComputedStyle(e).fillOpacity)),
  bold: Array.from(document.querySelectorAll('path.kwxmap-station:not(.kwxmap-outside)'))
    .map(e => parseFloat(getComputedStyle(e).fillOpacity)),
  values: Array.from(document.querySelectorAll('.kwxmap-valuelabel')).map(e => e.textContent),
})"""


@pytest.mark.parametrize("outside", ["dim", "hide", "show"])
def test_a_regional_map_shows_what_belongs_to_the_region(tmp_path, open_map, outside):
    """충북 from the bundled ASOS daily means: the stations inside the province (by a
    separate point-in-polygon on the shipped boundary) are drawn as usual; the others
    are faint with no value written, left out, or shown, as asked (all 95 drawn alike
    before, 90 of them outside)."""
    import geopandas as gpd

    import kwxmap
    from kwxmap.grid import load_provinces

    snap = kwxmap.snapshot(REPO / "examples" / "data" / "kma_asos_daily_2020.csv",
                           time="2020-08-14", region="충북", resolution=4000, tiles=None,
                           outside=outside, labels="values")
    provinces = load_provinces()
    chungbuk = provinces[provinces["name_ko"] == "충청북도"].to_crs(5179)
    used = kwxmap.snapshot(REPO / "examples" / "data" / "kma_asos_daily_2020.csv",
                           time="2020-08-14", region="충북", resolution=4000, tiles=None,
                           outside="show").stations
    near = gpd.GeoSeries(used.geometry, crs=used.crs).to_crs(5179).distance(
        chungbuk.geometry.union_all()) <= 2000
    inside = set(used.loc[near.to_numpy(), "station_id"])
    assert 3 <= len(inside) <= 10 and len(used) > 80
    page, _ = _load(open_map, write_html(snap.map, tmp_path / "m.html"), width=1280, height=900)
    got = page.evaluate(OUTSIDE_JS)
    assert got["bold"] and all(v == 1 for v in got["bold"])
    if outside == "dim":
        assert set(snap.stations.loc[~snap.stations["outside_region"], "station_id"]) == inside
        assert len(got["faint"]) == len(used) - len(inside)
        assert all(v < 0.5 for v in got["faint"])
        assert len(got["values"]) <= len(inside)  # values only for the province's stations
    elif outside == "hide":
        assert set(snap.stations["station_id"]) == inside
        assert got["shown"] == len(inside) and not got["faint"]
    else:
        assert got["shown"] == len(used) and not got["faint"]


EDGE_JS = """() => {
  const map = Object.values(window).find(v => v && v._container && v.latLngToContainerPoint);
  const box = r => ({left: r.left, top: r.top, right: r.right, bottom: r.bottom});
  return {
    tags: Array.from(document.querySelectorAll('.kwxmap-edge'))
      .filter(e => e.style.display !== 'none')
      .map(e => ({text: e.textContent, ...box(e.getBoundingClientRect())})),
    controls: Array.from(document.querySelectorAll('.leaflet-control'))
      .map(e => box(e.getBoundingClientRect())),
    bounds: map.getBounds().toBBoxString(),
    viewport: {width: innerWidth, height: innerHeight},
  };
}"""


def test_far_islands_are_arrows_at_the_edge_that_pan_there(tmp_path, open_map, seed_snap):
    """The phone's opening view leaves out 백령도, 울릉도, 독도, 흑산도 and 가거도: each is a
    tag at the edge on its own side, clear of the controls; tapping 울릉도's brings it in."""
    import kwxmap

    page, _ = _load(open_map, write_html(seed_snap.map, tmp_path / "m.html"),
                    width=390, height=844)
    got = page.evaluate(EDGE_JS)
    tags = {t["text"].strip("◀▶▲▼ "): t for t in got["tags"]}
    assert set(tags) == {"백령도", "울릉도", "독도", "흑산도", "가거도"}, tags
    width = got["viewport"]["width"]
    for name, tag in tags.items():
        assert _inside(tag, got["viewport"]), name
        for control in got["controls"]:
            assert not _intersects(tag, control), (name, control)
        lon = kwxmap.load_stations().lookup(name).lon
        # east of the view on the right edge, west of it on the left
        assert (tag["right"] > width - 20) if lon > 128 else (tag["left"] < 20), (name, tag)
    page.locator(".kwxmap-edge", has_text="울릉도").click()
    page.wait_for_timeout(200)
    w, s, e, n = map(float, page.evaluate(EDGE_JS)["bounds"].split(","))
    assert w < 130.8986 < e and s < 37.4813 < n
    assert "울릉도" not in {t["text"].strip("◀▶▲▼ ") for t in page.evaluate(EDGE_JS)["tags"]}
