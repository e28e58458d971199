"""Text from the data is shown, never run: template syntax in every field of every output.

A station name, a condition, a title or a band label may hold Jinja syntax
(``{{ 6*7 }}``), a template that does not compile (``{% raw %}``) or one that
reaches Python (``{{ lipsum.__globals__ }}``). Each test renders the same
output twice, once with the payload and once with a plain marker in the same
fields, and requires the two to differ only where the payload stands, as its
escaped literal text: nothing in the output was evaluated, and nothing else
changed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from kwxmap.cli import main
from kwxmap.render import escape, render_animation, render_map

PAYLOADS = ["{{ 6*7 }}", "{% raw %}", "{{ lipsum.__globals__ }}", "{{ config }}{#", "$\\foo$"]
MARK = "MARKERTEXT"
_IDS = re.compile(r"_[0-9a-f]{32}")


def _stations(text: str) -> gpd.GeoDataFrame:
    points = [(126.97, 37.57, 24.5), (129.03, 35.10, 21.0), (127.37, 36.37, 25.8),
              (126.53, 33.51, 18.9)]
    return gpd.GeoDataFrame(
        {"station_id": [108, 159, 133, 184], "name_ko": [text] * 4, "name_en": [text] * 4,
         "station_name": [text] * 4, "condition": [text] * 4,
         "temperature_c": [t for _, _, t in points]},
        geometry=[shapely.Point(x, y) for x, y, _ in points], crs=4326)


def _bands(text: str, seed_grid) -> gpd.GeoDataFrame:
    from kwxmap.contours import contour_bands

    bands = contour_bands(seed_grid).head(3).copy()
    bands["label"] = [f"{text} {i}" for i in range(len(bands))]
    return bands


def _page(text: str, seed_grid, animate: bool = False) -> str:
    stations, bands = _stations(text), _bands(text, seed_grid)
    if animate:
        m = render_animation([(text, stations, bands), ("b", stations, bands)], title=text,
                             tiles=None, credit=text)
    else:
        m = render_map(stations, bands, title=text, time="2020-08-14 15:00", tiles="OpenStreetMap",
                       credit=text, labels="values")
    return _IDS.sub("_ID", m.get_root().render())


@pytest.mark.parametrize("animate", [False, True], ids=["map", "animation"])
@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_text_field_reaches_the_page_as_its_literal_text(payload, animate, seed_grid):
    page = _page(payload, seed_grid, animate)
    marked = _page(MARK, seed_grid, animate)
    assert marked.count(MARK) >= 8  # names, conditions, title, credit and band labels
    # the page with the payload is the marked page with the escaped payload in its places;
    # a frame's label is set as textContent, so it is data in the JSON, not HTML
    label = json.dumps(payload, ensure_ascii=False)
    expected = marked.replace(f'"label":"{MARK}"', f'"label":{label}')
    assert page == expected.replace(MARK, escape(payload))
    assert "__builtins__" not in page and "<Config" not in page


def test_nothing_in_the_page_is_compiled_as_a_template(seed_grid, monkeypatch):
    """Only kwxmap's own constant templates are compiled while a page renders."""
    import jinja2

    compiled: list[str] = []
    original = jinja2.Environment.from_string

    def spy(self, source, *args, **kw):
        compiled.append(str(source))
        return original(self, source, *args, **kw)

    monkeypatch.setattr(jinja2.Environment, "from_string", spy)
    _page(MARK, seed_grid)
    assert compiled, "the spy saw no template at all"
    assert not [s for s in compiled if MARK in s]


def _table(tmp_path, text: str):
    rows = [(108, 20.0), (105, 18.0), (133, 22.0), (159, 24.0), (156, 23.0), (143, 25.0)]
    path = tmp_path / f"readings_{len(list(tmp_path.iterdir()))}.csv"
    frame = pd.DataFrame({"station_id": [r[0] for r in rows], "name_ko": text,
                          "condition": text, "temperature_c": [r[1] for r in rows]})
    frame.to_csv(path, index=False, encoding="utf-8")
    return path


def _map_outputs(folder: Path, text: str) -> tuple[str, dict]:
    """``kwxmap map`` with *text* as every name, condition and the title: page, stations."""
    folder.mkdir()
    assert main(["map", str(_table(folder, text)), "--title", text, "--tiles", "none",
                 "-o", str(folder / "map.html"), "--geojson-dir", str(folder / "layers"),
                 "--resolution", "20000"]) == 0
    page = _IDS.sub("_ID", (folder / "map.html").read_text(encoding="utf-8"))
    stations = json.loads((folder / "layers" / "stations.geojson").read_text("utf-8"))
    return page, stations


@pytest.fixture(scope="module")
def marked(tmp_path_factory) -> tuple[str, dict]:
    """The same map with a plain marker where the hostile text goes."""
    return _map_outputs(tmp_path_factory.mktemp("marked") / "m", MARK)


@pytest.mark.parametrize("payload", PAYLOADS[:3])
def test_map_from_a_file_writes_the_literal_text_in_every_output(tmp_path, payload, marked):
    """``kwxmap map`` with names, conditions and title from the user: page, layers, CSV."""
    page, stations = _map_outputs(tmp_path / "p", payload)
    marked_page, marked_stations = marked
    assert marked_page.count(MARK) >= 6
    assert page == marked_page.replace(MARK, escape(payload))
    props = [f["properties"] for f in stations["features"]]
    marked = [f["properties"] for f in marked_stations["features"]]
    assert [p["condition"] for p in props] == [payload] * 6
    assert [p["condition"] for p in marked] == [MARK] * 6
    assert [p["temperature_c"] for p in props] == [m["temperature_c"] for m in marked]


def test_static_picture_shows_dollar_and_template_text_as_written(tmp_path, seed_grid):
    """matplotlib would parse ``$\\foo$`` as mathtext (and fail); it is drawn as text."""
    pytest.importorskip("matplotlib")
    from kwxmap.static import render_static, save_figure

    title = "$\\foo$ {{ 6*7 }}"
    fig = render_static(_stations("$x_1$"), _bands("$y$", seed_grid), title=title)
    texts = [t.get_text() for t in fig.texts]
    assert title in texts
    svg = save_figure(fig, tmp_path / "map.svg").read_text(encoding="utf-8")
    assert ">$\\foo$ {{ 6*7 }}<" in svg  # the title as SVG text, unparsed


def test_batch_index_and_netcdf_attributes_hold_the_literal_title(tmp_path):
    pytest.importorskip("xarray")
    import xarray as xr

    from kwxmap import render_batch

    title = "{{ 6*7 }} <b>{% raw %}"
    times = pd.to_datetime(["2020-08-01", "2020-08-02"])
    ids = [108, 105, 133, 159, 156, 143]
    long = pd.DataFrame([(sid, t, 20.0 + i + k) for k, t in enumerate(times)
                         for i, sid in enumerate(ids)],
                        columns=["station_id", "time", "temperature_c"])
    result = render_batch(long, tmp_path / "out", title=title, resolution=20000,
                          netcdf=True, tiles=None)
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "{{ 6*7 }} &lt;b&gt;{% raw %}" in index and "<b>" not in index
    pages = sorted((tmp_path / "out").glob("2020*.html"))
    assert len(pages) == 2
    for page in pages:
        assert "{{ 6*7 }} &lt;b&gt;{% raw %}" in page.read_text(encoding="utf-8")
    with xr.open_dataset(result.netcdf) as ds:  # the title is not a NetCDF attribute
        assert title not in json.dumps(ds.attrs, default=str)
        assert np.isfinite(ds["temperature_c"].values).sum() > 100  # land cells


FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1"]


def test_csv_outputs_write_formula_cells_as_text(tmp_path):
    """Text cells that a spreadsheet would evaluate get a leading apostrophe; numbers do not."""
    from kwxmap import join_readings
    from kwxmap.io import write_vector
    from kwxmap.io.readings import format_readings

    temps = [-3.5, 18.0, -0.5, 22.0, 24.0]
    readings = pd.DataFrame({"station_id": [108, 105, 133, 159, 156], "condition": FORMULAS,
                             "temperature_c": temps})
    joined = join_readings(readings)
    expected = ["'" + f for f in FORMULAS]
    layer = pd.read_csv(write_vector(joined, tmp_path / "stations.csv"), encoding="utf-8-sig",
                        keep_default_na=False)
    printed = pd.read_csv(pd.io.common.StringIO(format_readings(joined, "csv")),
                          keep_default_na=False)
    for table in (layer, printed):
        assert table["condition"].tolist() == expected
        assert table["temperature_c"].tolist() == temps  # negative numbers stay numbers
        assert table["station_id"].tolist() == [108, 105, 133, 159, 156]
    # GeoJSON is not a spreadsheet format: the text is kept as it was
    geojson = json.loads(write_vector(joined, tmp_path / "s.geojson").read_text("utf-8"))
    assert [f["properties"]["condition"] for f in geojson["features"]] == FORMULAS
