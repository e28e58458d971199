"""snapshot() and render_batch(): the pipeline as one call, on the bundled real data."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

import kwxmap
from kwxmap import OutputError

ROOT = Path(__file__).resolve().parents[1]
WIDGET = ROOT / "examples" / "widget.txt"
DAILY = ROOT / "examples" / "data" / "kma_asos_daily_2020.csv"


@pytest.fixture(scope="module")
def seed_snapshot() -> kwxmap.Snapshot:
    return kwxmap.snapshot(WIDGET, resolution=8000, tiles=None, cv=True, title="<b>기온</b>")


def test_snapshot_holds_every_product(seed_snapshot):
    snap = seed_snapshot
    assert len(snap.stations) == 26
    assert snap.report.summary().startswith("26 of 26 readings placed")
    assert snap.grid.crs.to_epsg() == 5179
    assert np.isfinite(snap.grid.values[snap.grid.mask]).all()
    assert snap.bands.crs.to_epsg() == 4326
    assert len(snap.bands) >= 3
    # the surface stays within the observed range give or take the lapse correction
    lo, hi = snap.stations["temperature_c"].min(), snap.stations["temperature_c"].max()
    assert snap.bands["lower"].min() >= lo - 10
    assert snap.bands["upper"].max() <= hi + 5
    # cross-validation errors reach the stations layer, one per station
    assert snap.cv.n == 26
    assert snap.stations["cv_error_c"].notna().all()
    np.testing.assert_allclose(
        np.sqrt(np.mean(snap.stations["cv_error_c"] ** 2)), snap.cv.rmse, rtol=1e-9
    )


def test_snapshot_title_is_escaped(seed_snapshot):
    html = seed_snapshot.map.get_root().render()
    assert "<b>기온</b>" not in html
    assert "&lt;b&gt;기온&lt;/b&gt;" in html


def test_snapshot_save_writes_all_layers(seed_snapshot, tmp_path):
    written = seed_snapshot.save(tmp_path)
    names = sorted(p.name for p in written)
    assert names == ["bands.geojson", "isolines.geojson", "map.html", "stations.geojson"]
    for path in written:
        assert path.stat().st_size > 0
    assert pyogrio.read_info(tmp_path / "stations.geojson")["features"] == 26
    # the one output-folder rule: created when its parent exists
    assert seed_snapshot.save(tmp_path / "new")[0].parent == tmp_path / "new"
    with pytest.raises(OutputError, match=r"its parent folder '.*no' does not exist"):
        seed_snapshot.save(tmp_path / "no" / "missing")


def test_regional_snapshot_uses_neighbours_but_clips_to_province():
    snap = kwxmap.snapshot(WIDGET, region="충북", resolution=3000, tiles=None, method="idw")
    province = kwxmap.resolve_region("충청북도")
    bands = snap.bands.to_crs(5179)
    assert bands.union_all().difference(province).area < 1e-6 * province.area
    # 청주, 충주, 제천, 보은, 추풍령 are inside; 천안 and 대전 are across the border
    ids = set(snap.stations["station_id"])
    assert {131, 127, 221, 226, 135} <= ids
    assert ids & {232, 133}


def _month(tmp_path: Path, month: str, days: int) -> Path:
    daily = pd.read_csv(DAILY)
    daily = daily[daily["time"].str.startswith(month)]
    keep = sorted(daily["time"].unique())[:days]
    table = daily[daily["time"].isin(keep)].rename(
        columns={"stn_id": "station_id", "temp_c": "temperature_c"}
    )[["time", "station_id", "temperature_c"]]
    path = tmp_path / "table.csv"
    table.to_csv(path, index=False)
    return path


def test_render_batch_writes_maps_index_and_netcdf(tmp_path):
    xr = pytest.importorskip("xarray")
    table = _month(tmp_path, "2020-08", 4)
    out = tmp_path / "maps"
    # IDW weights do not depend on the values, so the batch must equal one-off snapshots
    result = kwxmap.render_batch(
        table, out, method="idw", resolution=20000, tiles=None, netcdf=True
    )
    assert not result.failed
    assert len(result.maps) == 4
    assert [p.name for p in result.maps] == sorted(p.name for p in result.maps)
    index = (out / "index.html").read_text(encoding="utf-8")
    for path in result.maps:
        assert f'href="{path.name}"' in index
    ds = xr.open_dataset(result.netcdf, engine="h5netcdf")
    assert ds.sizes["time"] == 4
    one = kwxmap.snapshot(
        _single_day(table, 0), method="idw", resolution=20000, tiles=None
    ).grid.values
    # the batch grid at t=0 equals a snapshot of that day alone
    np.testing.assert_allclose(
        ds["temperature_c"].isel(time=0).values[::-1][np.isfinite(one)],  # north-up file
        one[np.isfinite(one)],
        atol=1e-5,  # float32
    )
    assert "4 maps, 0 failed" in result.summary()


def _single_day(table: Path, i: int) -> gpd.GeoDataFrame:
    frame = pd.read_csv(table)
    day = sorted(frame["time"].unique())[i]
    text = frame[frame["time"] == day].to_csv(index=False)
    return kwxmap.join_readings(kwxmap.parse_readings(text))


def test_snapshot_of_a_table_of_several_times_points_to_batch(tmp_path, capsys):
    table = _month(tmp_path, "2020-08", 2)
    with pytest.raises(kwxmap.InputError, match=r"hold 2 times .* `kwxmap batch`"):
        kwxmap.snapshot(table, resolution=20000, tiles=None)
    from kwxmap.cli import main

    assert main(["cv", str(table)]) == 1
    assert "hold 2 times" in capsys.readouterr().err
    # stations reported at different times, each once, still make one map
    frame = pd.read_csv(table)
    first = frame["time"] == frame["time"].min()
    one = frame[first == (frame["station_id"] % 2 == 0)]
    assert one["time"].nunique() == 2 and not one["station_id"].duplicated().any()
    assert len(kwxmap.snapshot(one, resolution=20000, tiles=None).stations) == len(one)


def test_render_batch_needs_a_time_column(tmp_path):
    with pytest.raises(kwxmap.InputError, match="time column"):
        kwxmap.render_batch(WIDGET, tmp_path / "out", resolution=20000, tiles=None)
    assert not (tmp_path / "out").exists()  # a failed batch leaves no empty folder


def test_render_batch_with_duplicates_creates_no_folder(tmp_path):
    table = "time,station_id,temperature_c\n2024-01-01,108,1\n2024-01-01,108,2\n"
    with pytest.raises(kwxmap.JoinError, match="read 2 times"):
        kwxmap.render_batch(table, tmp_path / "out", resolution=20000, tiles=None)
    assert list(tmp_path.iterdir()) == []


def test_render_batch_refuses_missing_parent(tmp_path):
    table = _month(tmp_path, "2020-08", 2)
    with pytest.raises(OutputError, match=r"its parent folder .* does not exist"):
        kwxmap.render_batch(table, tmp_path / "a" / "b", resolution=20000)


def test_render_batch_skips_a_failed_timestamp_and_keeps_the_others(tmp_path):
    daily = pd.read_csv(DAILY)
    days = sorted(daily["time"].unique())[:3]
    table = daily[daily["time"].isin(days)].rename(
        columns={"stn_id": "station_id", "temp_c": "temperature_c"}
    )[["time", "station_id", "temperature_c"]]
    # on the middle day only two stations reported
    table = pd.concat([table[table["time"] != days[1]], table[table["time"] == days[1]].head(2)])
    path = tmp_path / "table.csv"
    table.to_csv(path, index=False)
    result = kwxmap.render_batch(path, tmp_path / "out", resolution=20000, tiles=None)
    assert [p.name for p in result.maps] == [f"{days[0]}.html", f"{days[2]}.html"]
    assert len(result.failed) == 1
    when, why = result.failed[0]
    assert when.startswith(days[1]) and "2 station(s) reported" in why
    index = result.index.read_text(encoding="utf-8")
    # one language with the maps (Korean by default), days as dates
    assert '<html lang="ko">' in index and "만들지 못한 지도" in index and days[1] in index
    d0 = pd.Timestamp(days[0])
    assert f">{d0.year}년 {d0.month}월 {d0.day}일</a>" in index
    english = kwxmap.render_batch(path, tmp_path / "en", resolution=20000, tiles=None,
                                  lang="en").index.read_text(encoding="utf-8")
    assert '<html lang="en">' in english and "Skipped" in english and "지점" not in english


def test_cli_batch_subprocess_animate(tmp_path):
    import subprocess
    import sys

    path = _month(tmp_path, "2020-12", 3)
    out = tmp_path / "anim"
    proc = subprocess.run(
        [sys.executable, "-m", "kwxmap", "batch", str(path), "-o", str(out), "--animate",
         "--resolution", "20000", "--tiles", "none", "--no-progress"],
        capture_output=True, timeout=300,
    )
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert "3 frames, 0 failed" in err  # one animated page holding the three days
    page = (out / "animation.html").read_text(encoding="utf-8")
    assert page.count("2020년 12월") >= 3  # frame labels, written for the reader


def test_levels_that_miss_the_data_make_an_empty_map_with_a_warning(tmp_path):
    with pytest.warns(kwxmap.KwxmapWarning, match="miss the data range"):
        snap = kwxmap.snapshot(WIDGET, resolution=20000, tiles=None, levels=[100, 200])
    assert snap.bands.empty and snap.lines.empty
    assert snap.save(tmp_path)[-1].stat().st_size > 0


def test_batch_file_names_keep_seconds_when_timestamps_share_a_minute():
    from kwxmap.series import _time_stem

    stems = {_time_stem(pd.Timestamp(t)) for t in
             ["2020-08-01 09:00:00", "2020-08-01 09:00:30", "2020-08-01"]}
    assert stems == {"2020-08-01T0900", "2020-08-01T090030", "2020-08-01"}


def _same_html(a: str, b: str) -> bool:
    """Equal up to folium's random element ids."""
    import re

    ids = re.compile(r"[0-9a-f]{32}")
    return ids.sub("ID", a) == ids.sub("ID", b)


@pytest.mark.parametrize(("resolution", "region"), [(20_000, "south-korea"), (1000, "충북")])
def test_render_batch_in_5186_equals_snapshot_per_timestamp(tmp_path, resolution, region):
    """One pipeline: each batch map is the snapshot of its day (was shifted 5-7 km or
    failed), given the variogram the batch shares between its days."""
    import json

    table = _month(tmp_path, "2020-08", 2)
    kw = {"crs": 5186, "resolution": resolution, "region": region, "tiles": None,
          "levels": "10:36:2"}
    result = kwxmap.render_batch(table, tmp_path / "maps", **kw)
    assert not result.failed and len(result.maps) == 2
    vg = json.loads(result.grid.attrs["variogram"])
    kw |= {"variogram_model": vg.pop("model"), "variogram_parameters": vg}
    days = sorted(pd.read_csv(table)["time"].unique())
    for i, path in enumerate(result.maps):
        snap = kwxmap.snapshot(table, time=days[i], **kw)  # the same file, one day chosen
        assert snap.heading[0] == "일평균기온"
        assert snap.heading[1].startswith(f"2020년 8월 {i + 1}일 · ")
        grid = result.grid.at(i)
        assert grid.crs.to_epsg() == snap.grid.crs.to_epsg() == 5186
        np.testing.assert_array_equal(grid.x, snap.grid.x)
        np.testing.assert_array_equal(grid.y, snap.grid.y)
        np.testing.assert_allclose(grid.values, snap.grid.values, atol=1e-9, equal_nan=True)
        (mine,) = snap.write(html=tmp_path / f"snap{i}.html")
        assert _same_html(path.read_text(encoding="utf-8"), mine.read_text(encoding="utf-8"))


def test_batch_runs_without_xarray_unless_netcdf_is_asked(tmp_path):
    """A plain `pip install .` (no xarray) runs `kwxmap batch`; --netcdf says what to install."""
    import subprocess
    import sys

    table = _month(tmp_path, "2020-08", 2)
    block = tmp_path / "block"
    block.mkdir()
    # a sitecustomize that makes `import xarray` fail, as when it is not installed
    (block / "sitecustomize.py").write_text(
        "import sys\nsys.modules['xarray'] = None\n", encoding="utf-8"
    )
    env = {**__import__("os").environ, "PYTHONPATH": f"{block}:{ROOT}"}
    args = [sys.executable, "-m", "kwxmap", "batch", str(table), "--resolution", "20000",
            "--tiles", "none", "--no-progress"]
    proc = subprocess.run([*args, "-o", str(tmp_path / "a")], capture_output=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(list((tmp_path / "a").glob("2020-08-0*.html"))) == 2
    check = subprocess.run([sys.executable, "-c", "import xarray"], capture_output=True, env=env)
    assert check.returncode != 0  # the block works
    proc = subprocess.run([*args, "-o", str(tmp_path / "b"), "--netcdf"], capture_output=True,
                          env=env, timeout=300)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and 'pip install "kwxmap[xarray]"' in err, err
    assert "Traceback" not in err


def test_batch_runs_in_chunks_inside_the_memory_budget(tmp_path):
    """A budget for two grids at a time (besides what the run holds and drawing one
    map): same maps, in two chunks; one grid must fit."""
    from kwxmap.interpolate.memory import (
        BYTES_PER_CELL_TIME,
        DRAW_BYTES_PER_BOX_CELL,
        chunk_times,
        estimate_memory,
        held_memory,
    )

    table = _month(tmp_path, "2020-08", 4)
    kw = {"resolution": 2_000, "tiles": None}
    whole = kwxmap.render_batch(table, tmp_path / "whole", **kw)
    template = kwxmap.make_grid(resolution=2_000)
    box = template.mask.size
    budget = (held_memory() + estimate_memory(template, "kriging")
              + (DRAW_BYTES_PER_BOX_CELL + 2.5 * BYTES_PER_CELL_TIME) * box)
    assert chunk_times(template, "kriging", n_times=4, max_memory=budget) in (1, 2, 3)
    chunked = kwxmap.render_batch(table, tmp_path / "chunked", max_memory=budget, **kw)
    assert chunked.grid is None and whole.grid is not None  # the series was never whole
    assert [p.name for p in chunked.maps] == [p.name for p in whole.maps]
    for a, b in zip(chunked.maps, whole.maps, strict=True):
        assert _same_html(a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8"))
    with pytest.raises(kwxmap.InterpolationError, match="more than the memory limit"):
        kwxmap.render_batch(table, tmp_path / "none", max_memory=held_memory() // 2, **kw)
    assert not (tmp_path / "none").exists()


def test_draw_shows_the_stations_the_surface_used_and_marks_those_beyond_a_region():
    from kwxmap.pipeline import draw

    table = ("station_id,temperature_c\n131,20.0\n133,21.0\n127,19.5\n135,18.0\n"
             "108,22.0\n143,23.0\n")  # 청주 대전 충주 추풍령 in 충북 or beside it; 서울 대구 beyond
    joined = kwxmap.join_readings(kwxmap.parse_readings(table))
    grid = kwxmap.interpolate(joined, "idw", region="충북", resolution=5000.0)
    joined.loc[joined["station_id"] == 135, "temperature_c"] = np.nan  # used, but no value now
    shown, *_ = draw(grid, joined, levels=None, title=None, time=None, tiles=None,
                     render=False, region="충북")
    assert sorted(shown["station_id"]) == [108, 127, 131, 133, 143]  # not 135: no value
    beyond = dict(zip(shown["station_id"], shown["outside_region"], strict=True))
    assert beyond == {108: True, 127: False, 131: False, 133: True, 143: True}  # 대전 is not 충북
    hidden, *_ = draw(grid, joined, levels=None, title=None, time=None, tiles=None,
                      render=False, region="충북", outside="hide")
    assert sorted(hidden["station_id"]) == [127, 131]
    national = kwxmap.interpolate(joined[joined["temperature_c"].notna()], "idw",
                                  resolution=20000.0)
    everywhere, *_ = draw(national, joined, levels=None, title=None, time=None, tiles=None,
                          render=False, region="south-korea")
    assert "outside_region" not in everywhere.columns and len(everywhere) == 5


@pytest.mark.parametrize(("table", "title"), [
    ("time,station_id,temperature_c\n2020-08-01 15:00,108,25.0\n2020-08-01 15:00,133,26.0\n"
     "2020-08-01 15:00,159,27.0\n", "기온 · 2020년 8월 1일 15:00 KST · 3개 중 3개 지점 · 기상청"),
    ("time,station_id,temperature_c\n2020-08-01,108,25.0\n2020-08-01,133,26.0\n"
     "2020-08-01,159,27.0\n", "일평균기온 · 2020년 8월 1일 · 3개 중 3개 지점 · 기상청"),
])
def test_a_snapshot_says_whether_its_readings_are_an_instant_or_a_day(table, title):
    snap = kwxmap.snapshot(table, method="idw", resolution=40000, tiles=None)
    page = snap.map.get_root().render()
    assert f"<title>{title}</title>" in page


def test_blanked_implausible_readings_leave_a_map_while_three_remain():
    rows = "station_id,temperature_c\n108,20\n133,21\n159,22\n143,99\n131,98\n"
    with pytest.warns(kwxmap.KwxmapWarning, match="implausible"):
        snap = kwxmap.snapshot(rows, method="idw", resolution=40000, tiles=None,
                               on_implausible="nan")
    assert snap.stations["temperature_c"].notna().sum() == 3
    worse = "station_id,temperature_c\n108,20\n133,21\n159,99\n143,99\n131,98\n"
    with pytest.raises(kwxmap.InputError, match=r"^3 of 5 temperatures are outside .* "
                                                r"leaving 2; a map needs at least 3"):
        kwxmap.snapshot(worse, method="idw", resolution=40000, tiles=None, on_implausible="nan")
