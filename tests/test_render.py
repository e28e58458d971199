"""The Folium map, the colormap and the GeoJSON / GeoTIFF writers."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from kwxmap.contours import band_label, contour_bands, contour_lines
from kwxmap.errors import InputError, OutputError
from kwxmap.grid import make_grid
from kwxmap.io import write_geojson, write_geotiff, write_html
from kwxmap.palette import MIN_DELTA_E, band_colors, delta_e2000, hex_to_lab
from kwxmap.render import (
    CV_COLUMN,
    escape,
    map_scene,
    render_animation,
    render_map,
    temperature_colormap,
)

XSS_IMG = '<img src=x onerror="window.__xss=1">'
XSS_TPL = "`${window.__xss=2}`"
XSS_TITLE = "<script>window.__xss=3</script>Seed"


def hostile(stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The seed readings with script payloads in the free-text columns of one station."""
    out = stations.copy()
    out.loc[out.index[0], "name_ko"] = XSS_IMG
    out.loc[out.index[0], "condition"] = XSS_IMG
    out.loc[out.index[1], "name_en"] = XSS_TPL
    out.loc[out.index[1], "station_name"] = "</script><script>window.__xss=4</script>"
    return out


@pytest.fixture(scope="module")
def seed_layers(seed_grid):
    return contour_bands(seed_grid), contour_lines(seed_grid)


@pytest.fixture(scope="module")
def seed_html(seed_stations, seed_layers):
    bands, lines = seed_layers
    m = render_map(
        hostile(seed_stations),
        bands,
        lines,
        title=XSS_TITLE,
        time="2016-10-27 16:37 KST",
        tiles=None,
    )
    return m.get_root().render()


# ----------------------------------------------------------------------------- colours


def test_fixed_colormap_is_one_mapping():
    full = temperature_colormap()
    assert (full.vmin, full.vmax) == (-30.0, 40.0)
    temps = np.linspace(-30, 40, 141)
    for lo, hi in [(18, 29), (-12.5, 3.0), (0, 40), (-30, -29)]:
        part = temperature_colormap(lo, hi)
        assert (part.vmin, part.vmax) == (lo, hi)
        for t in temps[(temps >= lo) & (temps <= hi)]:
            a = np.array(part.rgba_bytes_tuple(t))
            b = np.array(full.rgba_bytes_tuple(t))
            assert np.abs(a - b).max() <= 1, t  # same colour up to 8-bit rounding
    assert full.rgb_hex_str(-20) != full.rgb_hex_str(20)


@pytest.mark.parametrize(("vmin", "vmax"), [(5, 5), (10, 0), (np.nan, 3)])
def test_colormap_rejects_empty_ranges(vmin, vmax):
    with pytest.raises(InputError, match="vmin < vmax"):
        temperature_colormap(vmin, vmax)


def page_payload(html_text):
    """The JSON payload the page draws from (kwxmap.draw's second argument)."""
    match = re.search(r"kwxmap\.draw\([a-z_0-9]+, (\{.*\})\);\n", html_text)
    assert match, "no kwxmap.draw call in the page"
    return json.loads(match.group(1))


def test_adaptive_bands_spread_and_fixed_bands_agree(seed_layers):
    bands, _ = seed_layers
    narrow = bands[bands["lower"] >= 22]
    fills = []
    for frame in (bands, narrow):
        payload = page_payload(
            render_map(None, frame, tiles=None, palette="adaptive").get_root().render())
        (frame_payload,) = payload["frames"]
        fills.append([b["c"] for b in frame_payload["bands"]])
        # one colour per band, neighbours visibly different, the whole ramp used
        lab = hex_to_lab(fills[-1])
        assert delta_e2000(lab[1:], lab[:-1]).min() >= MIN_DELTA_E
        assert fills[-1] == band_colors(frame["lower"], frame["upper"], "adaptive")
    assert fills[0][0] == fills[1][0]  # coldest band: the ramp's first colour in both
    fixed = []
    for frame in (bands, narrow):  # the default: one colour per °C on every map
        payload = page_payload(render_map(None, frame, tiles=None).get_root().render())
        fixed.append({b["t"]: b["c"] for b in payload["frames"][0]["bands"]})
    common = set(fixed[0]) & set(fixed[1])
    assert len(common) == len(narrow)
    assert all(fixed[0][k] == fixed[1][k] for k in common)


def test_station_markers_take_their_band_colour_and_shrink_with_count(seed_stations, seed_layers):
    bands, _ = seed_layers
    scene = map_scene([(None, seed_stations, bands)])
    frame = scene.frames[0]
    for value, fill in zip(seed_stations["temperature_c"], frame.station_fills, strict=True):
        inside = (bands["lower"] < value) & (value <= bands["upper"])
        assert fill in set(np.array(frame.band_fills)[inside.to_numpy()])
    assert scene.radius > map_scene([(None, pd.concat([seed_stations] * 27), None)]).radius


# ----------------------------------------------------------------------------- the map


def test_page_is_self_contained(seed_html):
    h = seed_html
    assert "<script src" not in h and "<link" not in h
    for library in ("jquery", "bootstrap", "font-awesome", "fontawesome", "d3.", "awesome-markers"):
        assert library not in h.lower(), library
    assert "Leaflet 1.9.4" in h
    drawn = h.split("kwxmap.draw(")[1].replace('\\"https://data.kma.go.kr/\\"', "")
    assert "https://" not in drawn  # only the attribution's link


def test_map_has_layers_legend_header_attribution(seed_html, seed_layers, seed_stations):
    bands, lines = seed_layers
    payload = page_payload(seed_html)
    assert payload["names"] == {
        "bands": "기온", "lines": "등온선", "stations": "관측소", "play": "재생"
    }
    assert "기온 (°C)" in payload["legend"]
    assert payload["legend"].count("kwxmap-swatch\"") == len(bands)
    assert "2016년 10월 27일 16:37 KST" in payload["header"]
    assert "KMA" in payload["attribution"] and "KOSTAT" in payload["attribution"]
    assert "tile.openstreetmap.org" not in seed_html  # tiles=None: no base map request
    (frame,) = payload["frames"]
    assert len(frame["bands"]) == len(bands) and len(frame["lines"]) == len(lines)
    assert len(payload["stations"]["pos"]) == len(seed_stations)
    assert frame["labels"] and {t[3] for t in frame["labels"]} <= {
        f"{v:g}" for v in lines["level"]
    }
    assert payload["bounds"] is not None


def test_legend_swatches_and_ticks_are_the_bands_edges_and_colours(seed_html, seed_layers):
    bands, _ = seed_layers
    payload = page_payload(seed_html)
    (frame,) = payload["frames"]
    drawn = {html.unescape(b["t"]): b["c"] for b in frame["bands"]}  # the map's own fills
    swatches = [(c, html.unescape(t)) for c, t in re.findall(
        r'class="kwxmap-swatch" style="background:([^"]+)" title="([^"]+)"', payload["legend"])]
    edges = sorted({*bands["lower"], *bands["upper"]})
    assert [t for _, t in swatches] == [band_label(lo, up) for lo, up in pairwise(edges)]
    for colour, title in swatches:  # each swatch wears its band's colour on the map
        assert colour == drawn[title], title
    ticks = re.findall(r'class="kwxmap-tick[^"]*" style="left:([0-9.]+)%">([^<]+)<',
                       payload["legend"])
    assert len(ticks) >= 2
    n = len(swatches)
    for left, label in ticks:  # a tick sits on its edge and reads its value
        i = float(left) * n / 100
        assert abs(i - round(i)) < 1e-3, left
        assert float(html.unescape(label).replace("\u2212", "-")) == edges[round(i)], label
    assert {float(ticks[0][0]), float(ticks[-1][0])} == {0.0, 100.0}


def test_english_interface():
    st = gpd.GeoDataFrame(
        {"temperature_c": [20.0], CV_COLUMN: [0.25]}, geometry=[shapely.Point(127, 37)], crs=4326
    )
    payload = page_payload(
        render_map(st, tiles=None, lang="en", time="2020-08-14 00:00").get_root().render()
    )
    assert payload["names"]["bands"] == "Temperature"
    assert "Temperature (°C)" in payload["legend"]
    assert payload["header"] == '<div class="kwxmap-time">14 Aug 2020</div>'
    assert "LOO error +0.2 °C" in payload["frames"][0]["stations"][0][1]


def test_region_map_is_framed_on_the_region(seed_stations):
    from kwxmap import contour_bands, interpolate

    grid = interpolate(seed_stations, resolution=4000.0, region="충청북도")
    bands = contour_bands(grid)
    h = render_map(seed_stations, bands, tiles=None).get_root().render()
    (s, w), (n, e) = page_payload(h)["bounds"]
    bw, bs, be, bn = bands.to_crs(4326).total_bounds
    assert (w, s, e, n) == pytest.approx((bw, bs, be, bn))
    sw, ss, se, sn = seed_stations.total_bounds
    assert (e - w) < 0.5 * (se - sw)  # not the whole station spread


def test_tiles_are_a_toggleable_layer():
    st = gpd.GeoDataFrame({"temperature_c": [20.0]}, geometry=[shapely.Point(127, 37)], crs=4326)
    h = render_map(st, tiles="OpenStreetMap").get_root().render()
    assert "tile.openstreetmap.org" in h
    assert page_payload(h)["names"]["tiles"] == "OpenStreetMap"


def test_hostile_strings_are_escaped(seed_html):
    h = seed_html
    for raw in (XSS_IMG, "<script>window.__xss", "${window.__xss", "</script><script>"):
        assert raw not in h
    payload = page_payload(h)
    text = json.dumps(payload, ensure_ascii=False)
    assert json.dumps(escape(XSS_IMG))[1:-1] in text
    assert escape(XSS_TITLE) in payload["header"]
    assert escape(XSS_TPL) in text


def test_station_tooltip_content(seed_stations):
    st = seed_stations.iloc[[2]].copy()  # 서울
    row = st.iloc[0]
    payload = page_payload(render_map(st, tiles=None).get_root().render())
    tip = payload["stations"]["head"][0] + payload["frames"][0]["stations"][0][1]
    for text in (
        row["name_ko"],
        row["name_en"],
        str(row["station_id"]),
        row["condition"],
        f"{row['temperature_c']:.1f} °C",
    ):
        assert escape(text) in tip
    assert "교차검증 오차" not in tip
    st[CV_COLUMN] = [-0.43]
    payload = page_payload(render_map(st, tiles=None).get_root().render())
    assert "교차검증 오차 -0.4 °C" in payload["frames"][0]["stations"][0][1]


def test_missing_reading_gets_a_grey_marker():
    st = gpd.GeoDataFrame(
        {"temperature_c": [np.nan, 20.0]},
        geometry=[shapely.Point(127, 37), shapely.Point(128, 36)],
        crs=4326,
    )
    payload = page_payload(render_map(st, tiles=None).get_root().render())
    first = payload["frames"][0]["stations"][0]
    assert first[0] == "#9e9e9e" and "자료 없음" in first[1]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {
                "stations": gpd.GeoDataFrame(
                    {"temperature_c": [1.0]}, geometry=[shapely.Point(0, 0)]
                )
            },
            InputError,
            "has no CRS",
        ),
        (
            {"stations": gpd.GeoDataFrame({"t": [1.0]}, geometry=[shapely.Point(0, 0)], crs=4326)},
            InputError,
            "no column 'temperature_c'",
        ),
        (
            {
                "stations": None,
                "bands": gpd.GeoDataFrame(
                    {"lo": [1]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326
                ),
            },
            InputError,
            "make them with contour_bands",
        ),
        ({"stations": None, "band_opacity": 2}, InputError, "between 0 and 1"),
        ({"stations": None, "palette": "rainbow"}, InputError, r"\['fixed', 'adaptive'\]"),
        ({"stations": None, "lang": "ja"}, InputError, r"lang='ja'.*\['ko', 'en'\]"),
        ({"stations": None, "labels": "names"}, InputError, r"\['none', 'values'\]"),
    ],
)
def test_render_map_rejects_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        render_map(**kwargs)


def test_write_html_is_atomic(tmp_path, seed_stations):
    out = tmp_path / "map.html"
    m = render_map(seed_stations, tiles=None, title="첫 지도")
    write_html(m, out)
    first = out.read_text(encoding="utf-8")
    assert first.startswith("<!DOCTYPE html>") and "첫 지도" in first

    class Broken:
        def get_root(self):
            raise RuntimeError("render failed")

    with pytest.raises(RuntimeError):
        write_html(Broken(), out)
    assert out.read_text(encoding="utf-8") == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.html"]
    with pytest.raises(OutputError, match="does not exist"):
        write_html(m, tmp_path / "missing" / "map.html")


# ----------------------------------------------------------------------------- GeoJSON


def _ring_coords(geometry):
    if geometry["type"] == "Polygon":
        yield geometry["coordinates"]
    elif geometry["type"] == "MultiPolygon":
        yield from geometry["coordinates"]


def test_bands_geojson_is_rfc7946(tmp_path, seed_layers):
    bands, _ = seed_layers
    out = write_geojson(bands, tmp_path / "bands.geojson")
    raw = out.read_bytes()
    text = raw.decode("utf-8")
    doc = json.loads(text)
    assert "crs" not in doc and doc["type"] == "FeatureCollection"
    assert "°C" in text and "\\u" not in text  # UTF-8 characters, not escapes
    assert len(doc["features"]) == len(bands)
    for feature in doc["features"]:
        for rings in _ring_coords(feature["geometry"]):
            assert shapely.is_ccw(shapely.LinearRing(rings[0]))  # exterior counter-clockwise
            for hole in rings[1:]:
                assert not shapely.is_ccw(shapely.LinearRing(hole))
    decimals = max(
        len(n.split(".")[1]) for n in re.findall(r"-?\d+\.\d+", text.split('"geometry"', 1)[1])
    )
    assert decimals <= 5
    back = pyogrio.read_dataframe(out)
    assert back.crs.to_epsg() == 4326
    assert back["label"].tolist() == bands["label"].tolist()
    assert shapely.is_valid(back.geometry.values).all()
    # Rounding to 1e-5 degrees (about a metre) keeps the bands where they were.
    moved = shapely.hausdorff_distance(back.geometry.values, bands.geometry.values)
    assert moved.max() < 2e-5


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo not installed")
def test_ogrinfo_opens_the_bands(tmp_path, seed_layers):
    bands, _ = seed_layers
    out = write_geojson(bands, tmp_path / "bands.geojson")
    res = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", str(out)], capture_output=True, text=True, check=True
    )
    assert f"Feature Count: {len(bands)}" in res.stdout
    assert "MultiPolygon" in res.stdout.replace(" ", "")


def test_stations_geojson_keeps_korean_and_readings(tmp_path, seed_stations):
    st = seed_stations.copy()
    st.loc[st.index[0], "temperature_c"] = np.nan
    out = write_geojson(st.to_crs(5179), tmp_path / "stations.geojson", precision=4)
    doc = json.loads(out.read_text(encoding="utf-8"))
    props = doc["features"][1]["properties"]
    assert props["name_ko"] == st["name_ko"].iloc[1]
    assert props["station_id"] == int(st["station_id"].iloc[1])
    assert doc["features"][0]["properties"]["temperature_c"] is None
    lon, lat = doc["features"][1]["geometry"]["coordinates"]
    assert lon == pytest.approx(st.geometry.iloc[1].x, abs=6e-5)
    assert lat == pytest.approx(st.geometry.iloc[1].y, abs=6e-5)


@pytest.mark.parametrize(
    ("precision", "match"), [(-1, "0..15"), (2.5, "integer"), (True, "integer")]
)
def test_geojson_rejects_bad_precision(tmp_path, seed_stations, precision, match):
    with pytest.raises(InputError, match=match):
        write_geojson(seed_stations, tmp_path / "x.geojson", precision=precision)


def test_geojson_needs_a_crs(tmp_path):
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)])
    with pytest.raises(InputError, match="no CRS"):
        write_geojson(gdf, tmp_path / "x.geojson")


def test_national_bands_fit_in_a_megabyte(tmp_path, seed_grid, seed_layers):
    bands, _ = seed_layers
    size = write_geojson(bands, tmp_path / "b.geojson").stat().st_size
    assert len(seed_grid.x) > 600 and seed_grid.resolution == 1000.0  # the national 1 km grid
    assert size <= 1_000_000, size


# ----------------------------------------------------------------------------- GeoTIFF


def test_geotiff_round_trip(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    g = make_grid("서울", resolution=2000.0)
    xx, yy = np.meshgrid(g.x, g.y)
    g = g.copy(
        values=np.where(g.mask, (xx - xx.min()) / 1000 + 100 * (yy - yy.min()) / 1000, np.nan)
    )
    out = write_geotiff(g, tmp_path / "t.tif")
    with rasterio.open(out) as src:
        assert src.crs.to_epsg() == 5179
        assert src.shape == g.shape
        data = src.read(1)
        # Row 0 of the file is the north edge; each cell centre maps to the grid's x/y.
        for row, col in [(0, 0), (src.height - 1, src.width - 1), (3, 5)]:
            x, y = src.xy(row, col)
            assert x == pytest.approx(g.x[col]) and y == pytest.approx(g.y[g.shape[0] - 1 - row])
        np.testing.assert_allclose(data, g.values[::-1].astype("float32"), equal_nan=True)
        assert np.isnan(src.nodata)


def test_geotiff_without_rasterio_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "rasterio", None)
    g = make_grid("서울", resolution=5000.0)
    with pytest.raises(ImportError, match=r"pip install \"kwxmap\[raster\]\""):
        write_geotiff(g, tmp_path / "t.tif")


# ----------------------------------------------------------------------------- animation


def _shifted(stations, grid, delta, levels=None):
    """The readings shifted by ``delta`` °C and their bands (4 km grid, for speed)."""
    from kwxmap import interpolate

    st = stations.copy()
    st["temperature_c"] = st["temperature_c"] + delta
    return st, contour_bands(interpolate(st, resolution=grid.resolution * 4), levels)


@pytest.fixture(scope="module")
def frames(seed_stations, seed_grid):
    cold, cold_bands = _shifted(seed_stations, seed_grid, -8.0, "8:24:2")
    warm, warm_bands = _shifted(seed_stations, seed_grid, 0.0)
    return [
        ("2016-10-27 06:00 " + XSS_IMG, cold, cold_bands),
        ("2016-10-27 15:00", warm, warm_bands),
    ]


def test_animation_shares_stations_and_one_legend(frames, seed_stations, seed_grid):
    from kwxmap.render import render_animation

    h = render_animation(frames, title=XSS_TITLE, tiles=None).get_root().render()
    assert XSS_IMG not in h and escape(XSS_TITLE) in h
    payload = page_payload(h)
    assert [len(f["bands"]) for f in payload["frames"]] == [len(f[2]) for f in frames]
    assert len(payload["stations"]["pos"]) == len(seed_stations)  # positions stored once
    assert all(len(f["stations"]) == len(seed_stations) for f in payload["frames"])
    # one colour per band across frames: the same band has the same colour in both
    colour = {}
    for frame, (_, _, bands) in zip(payload["frames"], frames, strict=True):
        for b, lo, up in zip(frame["bands"], bands["lower"], bands["upper"], strict=True):
            assert colour.setdefault((lo, up), b["c"]) == b["c"]
    swatches = payload["legend"].count("kwxmap-swatch\"")
    edges = {e for pair in colour for e in pair}
    assert swatches == len(edges) - 1  # one swatch per step between all frames' edges
    # isolines and their labels come with a 4-tuple frame
    from kwxmap.contours import contour_lines

    t, st, bands = frames[1]
    lines = contour_lines(seed_grid, bands.attrs["levels"])
    with_lines = page_payload(
        render_animation([frames[0], (t, st, bands, lines)], tiles=None).get_root().render()
    )
    assert "lines" not in with_lines["frames"][0]
    assert len(with_lines["frames"][1]["lines"]) == len(lines) and with_lines["frames"][1]["labels"]


@pytest.mark.parametrize(
    ("frames_arg", "kwargs", "match"),
    [
        ([], {}, "at least one"),
        ([("t", None)], {}, "tuples"),
        ([("t", None, None)], {"interval_ms": 0}, "positive"),
    ],
)
def test_animation_rejects_bad_input(frames_arg, kwargs, match):
    from kwxmap.render import render_animation

    with pytest.raises(InputError, match=match):
        render_animation(frames_arg, **kwargs)


def test_national_seed_page_fits_in_a_megabyte(seed_grid, seed_layers, seed_stations):
    bands, lines = seed_layers
    assert seed_grid.resolution == 1000.0  # the national 1 km grid
    h = render_map(seed_stations, bands, lines, tiles=None).get_root().render()
    assert len(h.encode("utf-8")) <= 1_000_000


def test_vendored_leaflet_is_the_npm_release():
    """The Leaflet the pages embed is byte for byte the pinned npm release (tests/browser)."""
    npm = Path(__file__).resolve().parent / "browser" / "node_modules" / "leaflet" / "dist"
    if not (npm / "leaflet.js").is_file():
        pytest.skip(f"npm's leaflet is missing in {npm}; run `npm ci --prefix tests/browser`")
    vendored = Path(render_map.__globals__["__file__"]).parent / "_assets" / "leaflet"
    for name, source in [
        ("leaflet.js", "leaflet.js"),
        ("leaflet.css", "leaflet.css"),
        ("layers.png", "images/layers.png"),
        ("layers-2x.png", "images/layers-2x.png"),
    ]:
        assert (vendored / name).read_bytes() == (npm / source).read_bytes(), name


def _decode(ring, q):
    """Decode a ring as kwxmap.js does: first pair absolute, then deltas, in 1/q degree."""
    return np.cumsum(np.asarray(ring, dtype=float).reshape(-1, 2), axis=0) / q


def test_the_page_draws_the_bands_and_isolines_where_they_are(seed_stations, seed_layers):
    """Every band and isoline decoded from the page as its script decodes it is the layer
    simplified for the page (each vertex to 1/q degree); a band's area is off by at most a
    quarter tolerance times its outline, an isoline stays within three tolerances."""
    import shapely

    from kwxmap.page_geometry import SIMPLIFY_DEG, simplified

    bands, lines = seed_layers
    # rendered here, not taken from a shared fixture: the mutation run's coverage then
    # knows this test reaches the encoding
    payload = page_payload(render_map(seed_stations, bands, lines, tiles=None)
                           .get_root().render())
    q = payload["q"]
    frame = payload["frames"][0]
    assert len(frame["bands"]) == len(bands) and len(frame["lines"]) == len(lines)
    for drawn, geom, simple in zip(frame["bands"], bands.geometry,
                                   simplified(bands.geometry.values, polygons=True), strict=True):
        polys = [shapely.Polygon(_decode(rings[0], q), [_decode(r, q) for r in rings[1:]])
                 for rings in drawn["g"]]
        page = shapely.MultiPolygon(polys)
        assert shapely.hausdorff_distance(page, simple) <= 1.01 / q
        assert abs(page.area - geom.area) <= SIMPLIFY_DEG * geom.length / 4
    for drawn, geom, simple in zip(frame["lines"], lines.geometry,
                                   simplified(lines.geometry.values, polygons=False), strict=True):
        page = shapely.MultiLineString([_decode(r, q) for r in drawn["g"]])
        assert shapely.hausdorff_distance(page, simple) <= 1.01 / q
        assert shapely.hausdorff_distance(page, geom) <= 3 * SIMPLIFY_DEG


# ------------------------------------------------------------- what each station's text says


def _one_frame(st, **kwargs):
    return page_payload(render_map(st, tiles=None, **kwargs).get_root().render())


def test_tooltips_carry_each_condition_the_reading_and_its_cv_error():
    st = gpd.GeoDataFrame(
        {"station_id": [1, 2, 3, 4], "temperature_c": [20.04, -3.25, 0.0, 12.5],
         "condition": ["맑음", None, "흐림", None],
         "condition_en": [None, "Rain", "Cloudy", None],
         CV_COLUMN: [0.26, -1.04, np.nan, 0.0]},
        geometry=[shapely.Point(127, 37), shapely.Point(128, 36), shapely.Point(127.5, 36.5),
                  shapely.Point(126.5, 35.5)], crs=4326)
    slots = _one_frame(st)["frames"][0]["stations"]
    lines = [slot[1].split("<br>") for slot in slots]
    assert [ln[0] for ln in lines[:3]] == ["맑음", "Rain", "흐림 / Cloudy"]  # either or both
    assert lines[3][0] == "<b>12.5 °C</b>"  # no condition: the reading first
    assert [ln[1] for ln in lines[:3]] == ["<b>20.0 °C</b>", "<b>-3.2 °C</b>", "<b>0.0 °C</b>"]
    cv = [[part for part in ln if part.startswith("교차검증")] for ln in lines]
    assert cv == [["교차검증 오차 +0.3 °C"], ["교차검증 오차 -1.0 °C"], [],
                  ["교차검증 오차 +0.0 °C"]]


def test_the_page_title_is_the_heading_escaped_and_absent_without_one():
    st = gpd.GeoDataFrame({"temperature_c": [20.0]}, geometry=[shapely.Point(127, 37)], crs=4326)
    page = render_map(st, tiles=None, title="기온 <b>", time="2020-08-14 15:00").get_root().render()
    assert re.findall(r"<title>(.*?)</title>", page) == [
        "기온 &lt;b&gt; · 2020년 8월 14일 15:00"]
    assert "<title>" not in render_map(st, tiles=None).get_root().render()


def test_a_station_without_a_place_is_left_off_the_page():
    st = gpd.GeoDataFrame({"station_id": [1, 2, 3], "temperature_c": [20.0, 21.0, 22.0]},
                          geometry=[shapely.Point(127, 37), None, shapely.Point()], crs=4326)
    payload = _one_frame(st)
    assert payload["stations"]["pos"] == [[37.0, 127.0]]
    assert [s is not None for s in payload["frames"][0]["stations"]] == [True]


def test_value_labels_are_asked_of_the_page_only_when_chosen(seed_stations):
    assert _one_frame(seed_stations, labels="values")["values"] is True
    assert _one_frame(seed_stations)["values"] is False


def test_isotherm_labels_on_the_page_sit_on_their_isolines(seed_stations, seed_layers):
    bands, lines = seed_layers
    payload = page_payload(render_map(seed_stations, bands, lines, tiles=None)
                           .get_root().render())
    labels = payload["frames"][0]["labels"]
    assert len(labels) >= 5
    metric = lines.to_crs(5179)
    by_text = {f"{v:g}": g for v, g in zip(metric["level"], metric.geometry, strict=True)}
    at = gpd.GeoSeries(gpd.points_from_xy([lb[1] for lb in labels], [lb[0] for lb in labels]),
                       crs=4326).to_crs(5179)
    for (lat, lon, angle, text), point in zip(labels, at, strict=True):
        assert (round(lat, 4), round(lon, 4)) == (lat, lon)  # 4 decimals: ~10 m
        assert isinstance(angle, int) and -90 < angle <= 90
        assert by_text[text].distance(point) < 15.0, text  # on its own isoline


def test_a_station_without_an_id_is_one_station_in_every_frame():
    # the same place to the metre in both frames (lon/lat differing below 1e-5 degrees)
    frames = [
        ("1일", gpd.GeoDataFrame({"temperature_c": [20.0, 5.0]},
                                geometry=[shapely.Point(127.000001, 37.000001),
                                          shapely.Point(128.0, 36.0)], crs=4326), None),
        ("2일", gpd.GeoDataFrame({"temperature_c": [21.0]},
                                geometry=[shapely.Point(127.000003, 37.000003)], crs=4326),
         None),
    ]
    payload = page_payload(render_animation(frames, tiles=None).get_root().render())
    assert payload["stations"]["pos"] == [[37.0, 127.0], [36.0, 128.0]]
    assert [s is not None for s in payload["frames"][1]["stations"]] == [True, False]


def test_the_far_islands_with_a_station_have_their_coast_on_the_page():
    from kwxmap.render import _context

    _context.cache_clear()  # drawn here from kwxmap's data, not taken from an earlier test
    ctx = _context("ko")
    q = page_payload(render_map(gpd.GeoDataFrame(
        {"temperature_c": [20.0]}, geometry=[shapely.Point(127, 37)], crs=4326),
        tiles=None).get_root().render())["q"]
    outlines = shapely.MultiLineString([_decode(ring, q) for ring in ctx["lines"]])
    far = {name: shapely.Point(lon, lat) for lat, lon, name in ctx["far"]}
    # 흑산도 (about 20 km², the smallest) to 울릉도: the coast within 1 km of the station.
    # (독도 and 가거도 are under the outlines' least area: their arrow and marker remain.)
    for name in ("백령도", "울릉도", "흑산도"):
        assert outlines.distance(far[name]) < 0.01, name
    for lat, lon, name in ctx["cities"]:  # the coastal cities' coasts too
        if name in ("인천", "목포", "여수", "포항", "부산", "창원", "제주"):
            assert outlines.distance(shapely.Point(lon, lat)) < 0.02, name


def test_frames_are_checked_by_their_number_and_items(seed_stations):
    frame = ("1일", seed_stations, None, None, None)  # five items
    with pytest.raises(InputError, match=r"^frame 0 has 5 items; give \(time, stations, "
                                          r"bands\[, lines\]\)$"):
        render_animation([frame], tiles=None)
    bare = seed_stations.drop(columns="temperature_c")
    with pytest.raises(InputError, match=r"^stations of frame 1 have no column 'temperature_c'"):
        render_animation([("1일", seed_stations, None), ("2일", bare, None)], tiles=None)
    with pytest.raises(InputError, match=r"^stations have no column 'temperature_c'"):
        render_map(bare, tiles=None)


def test_the_opening_view_is_clipped_to_the_mainland_and_jeju():
    from kwxmap.scene import MAINLAND_VIEW, _opening_view

    assert MAINLAND_VIEW == (126.1, 33.1, 129.6, 38.65)
    assert _opening_view((124.0, 32.0, 132.0, 39.5)) == MAINLAND_VIEW  # beyond on every side
    assert _opening_view((126.5, 35.0, 127.0, 39.0)) == (126.5, 35.0, 127.0, 38.65)


def test_a_station_with_a_missing_id_is_matched_by_place_across_frames():
    def frame(label, lon, lat, value):
        return (label, gpd.GeoDataFrame(
            {"station_id": pd.array([pd.NA, 108], dtype="Int64"), "temperature_c": [value, 5.0]},
            geometry=[shapely.Point(lon, lat), shapely.Point(128.0, 36.0)], crs=4326), None)

    payload = page_payload(render_animation(
        [frame("1일", 127.000001, 37.000001, 20.0), frame("2일", 127.000003, 37.000003, 21.0)],
        tiles=None).get_root().render())
    assert payload["stations"]["pos"] == [[37.0, 127.0], [36.0, 128.0]]


def test_a_frame_without_stations_or_bands_takes_the_legend_of_the_others():
    st = gpd.GeoDataFrame({"temperature_c": [20.2, 24.8]},
                          geometry=[shapely.Point(127, 37), shapely.Point(128, 36)], crs=4326)
    alone = page_payload(render_map(st, tiles=None).get_root().render())["legend"]
    both = page_payload(render_animation([("1일", None, None), ("2일", st, None)],
                                         tiles=None).get_root().render())["legend"]
    assert both == alone


def test_a_view_that_only_touches_the_mainland_keeps_its_own_bounds():
    from kwxmap.scene import _opening_view

    assert _opening_view((129.6, 35.0, 130.0, 36.0)) == (129.6, 35.0, 130.0, 36.0)
    assert _opening_view((127.0, 38.65, 128.0, 39.0)) == (127.0, 38.65, 128.0, 39.0)
