"""kwxmap.io: atomic writes, non-regular targets, all-or-nothing sets, full disks."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from conftest import seed_text

import kwxmap
from kwxmap import io
from kwxmap.cli import main
from kwxmap.errors import OutputError

REPO = Path(__file__).resolve().parents[1]
SET = ["bands.geojson", "isolines.geojson", "map.html", "stations.geojson"]


@pytest.fixture(scope="module")
def snap() -> kwxmap.Snapshot:
    return kwxmap.snapshot(seed_text(), method="idw", resolution=20000, tiles=None)


@pytest.fixture(scope="module")
def readings(tmp_path_factory) -> Path:
    """Three days of 12 stations (our own numbers), time,station_id,temperature_c."""
    ids = [90, 100, 101, 105, 108, 112, 119, 131, 133, 143, 146, 159]
    rng = np.random.default_rng(7)
    rows = [
        (f"2021-01-0{d}", sid, round(float(-5 + 0.5 * k + rng.normal()), 1))
        for d in (1, 2, 3)
        for k, sid in enumerate(ids)
    ]
    path = tmp_path_factory.mktemp("table") / "days.csv"
    pd.DataFrame(rows, columns=["time", "station_id", "temperature_c"]).to_csv(path, index=False)
    return path


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".kwxmap-" in p.name]


# --- non-regular targets -------------------------------------------------------------


@pytest.mark.parametrize("device", ["/dev/null", "/dev/full"])
def test_devices_are_refused_and_left_alone(snap, device):
    if not Path(device).exists():
        pytest.skip(f"{device} does not exist here")
    with pytest.raises(OutputError, match=f"'{device}' is a device, not a regular file"):
        io.write_html(snap.map, device)
    with pytest.raises(OutputError, match="is a device"):
        io.write_geojson(snap.bands, device)
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_cli_map_to_dev_full_exits_1_and_keeps_the_device(capsys):
    if not Path("/dev/full").exists():
        pytest.skip("/dev/full does not exist here")
    code = main(["map", "-", "-o", "/dev/full", "--tiles", "none"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "'/dev/full' is a device" in err and "\n" not in err
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_fifo_is_refused_and_stays_a_fifo(snap, tmp_path):
    fifo, csv = tmp_path / "map.html", tmp_path / "s.csv"
    os.mkfifo(fifo)
    os.mkfifo(csv)
    for write in (lambda: io.write_html(snap.map, fifo), lambda: io.write_text("x", fifo),
                  lambda: io.write_vector(snap.stations, csv), lambda: snap.write(html=fifo)):
        with pytest.raises(OutputError, match=r"is a FIFO \(named pipe\), not a regular file"):
            write()
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and stat.S_ISFIFO(os.stat(csv).st_mode)
    assert _leftovers(tmp_path) == []


def test_symlink_is_written_through(snap, tmp_path):
    real = tmp_path / "real" / "map.html"
    real.parent.mkdir()
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "map.html"
    link.symlink_to(real)
    io.write_html(snap.map, link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_folder_target_is_refused(snap, tmp_path):
    with pytest.raises(OutputError, match="is a folder; give a file name"):
        io.write_html(snap.map, tmp_path)


# --- the output-folder rule ----------------------------------------------------------


def test_output_folder_is_created_when_its_parent_exists(tmp_path):
    assert io.output_folder(tmp_path / "a").is_dir()
    with pytest.raises(OutputError, match=r"its parent folder '.*/x' does not exist"):
        io.output_folder(tmp_path / "x" / "y")
    (tmp_path / "f").write_text("", encoding="utf-8")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        io.output_folder(tmp_path / "f")


def test_every_output_folder_follows_the_rule(snap, readings, tmp_path, capsys):
    assert snap.save(tmp_path / "saved")[0].parent == tmp_path / "saved"
    assert snap.write(layers=tmp_path / "layers")[0].parent == tmp_path / "layers"
    widget = tmp_path / "widget.txt"
    widget.write_text(seed_text(), encoding="utf-8")
    cli = ["map", str(widget), "-o", str(tmp_path / "m.html"), "--tiles", "none",
           "--resolution", "20000", "--method", "idw", "--geojson-dir"]
    assert main([*cli, str(tmp_path / "cli-layers")]) == 0
    assert (tmp_path / "cli-layers" / "bands.geojson").exists()
    assert main([*cli, str(tmp_path / "no" / "cli-layers")]) == 1
    assert "its parent folder" in capsys.readouterr().err
    result = kwxmap.render_batch(readings, tmp_path / "batch", method="idw", resolution=20000,
                                 tiles=None)
    assert result.directory == tmp_path / "batch" and result.index.exists()
    for make in (lambda: snap.save(tmp_path / "no" / "saved"),
                 lambda: snap.write(layers=tmp_path / "no" / "layers"),
                 lambda: kwxmap.render_batch(readings, tmp_path / "no" / "b", method="idw",
                                             resolution=20000, tiles=None)):
        with pytest.raises(OutputError, match=r"its parent folder '.*/no' does not exist"):
            make()
    assert not (tmp_path / "no").exists()


# --- sets ----------------------------------------------------------------------------


def _writer(text: str):
    return lambda p: p.write_text(text, encoding="utf-8")


def test_write_set_replaces_the_old_set_and_keeps_other_files(tmp_path):
    dest = tmp_path / "out"
    io.write_set(dest, {"a.txt": _writer("a1"), "b.txt": _writer("b1")})
    (dest / "notes.md").write_text("mine", encoding="utf-8")
    (dest / "sub").mkdir()
    (dest / "sub" / "x.txt").write_text("mine too", encoding="utf-8")
    io.write_set(dest, {"a.txt": _writer("a2"), "c.txt": _writer("c2")})
    assert _listing(dest) == {io.MANIFEST: b'["a.txt", "c.txt"]', "a.txt": b"a2",
                              "c.txt": b"c2", "notes.md": b"mine"}
    assert (dest / "sub" / "x.txt").read_text(encoding="utf-8") == "mine too"
    assert _leftovers(tmp_path) == []


def test_a_failing_writer_changes_nothing(tmp_path):
    dest = tmp_path / "out"
    io.write_set(dest, {"a.txt": _writer("a1"), "b.txt": _writer("b1")})
    before = _listing(dest)

    def broken(path: Path) -> None:
        path.write_text("partial", encoding="utf-8")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match=r"cannot write '.*out/b.txt': No space left on device"):
        io.write_set(dest, {"a.txt": _writer("a2"), "b.txt": broken})
    assert _listing(dest) == before and _leftovers(tmp_path) == []


def test_a_writer_error_names_the_file_asked_for_with_its_first_line(tmp_path):
    def many_lines(path: Path) -> None:
        raise RuntimeError("GDAL said no\nand a second line")

    with pytest.raises(OutputError) as err:
        io.write_set(tmp_path / "out", {"a.txt": many_lines})
    assert str(err.value) == f"cannot write {str(tmp_path / 'out' / 'a.txt')!r}: GDAL said no"
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def test_discarding_twice_or_after_a_partly_made_stage_is_quiet(tmp_path):
    staging = io.Staging()
    layers = staging.folder(tmp_path / "layers")
    layers.write("a.txt", _writer("a"))
    staging.file(tmp_path / "map.txt", _writer("m"))
    staging.discard()
    staging.discard()  # every temporary is gone already: nothing to do, nothing raised
    assert list(tmp_path.iterdir()) == []


def test_a_commit_that_fails_to_rename_is_one_output_error(tmp_path, monkeypatch):
    from kwxmap.io import sets

    def no_room(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sets, "commit", no_room)
    with pytest.raises(OutputError, match=r"^cannot move the outputs into place: No space left "
                                          r"on device \(the next run that writes them completes "
                                          r"or removes what was staged\)$"):
        io.write_set(tmp_path / "out", {"a.txt": _writer("a")})


def test_staging_puts_an_html_file_and_its_layer_folder_in_place_together(snap, tmp_path):
    html, layers = tmp_path / "map.html", tmp_path / "layers"
    written = snap.write(html=html, layers=layers)
    assert sorted(p.name for p in written) == SET
    old_html = html.read_bytes()

    class Boom(Exception):
        pass

    def fail(path: Path) -> None:
        raise Boom

    with pytest.raises(Boom), io.Staging() as st:
        st.file(html, _writer("new"))
        st.folder(layers).write("bands.geojson", _writer("{}"))
        st.file(tmp_path / "grid.tif", fail)
    assert html.read_bytes() == old_html and not (tmp_path / "grid.tif").exists()
    assert json.loads((layers / "bands.geojson").read_bytes())["type"] == "FeatureCollection"
    assert _leftovers(tmp_path) == [] and _leftovers(layers) == []


def test_snapshot_save_writes_grids_in_the_set(snap, tmp_path):
    pytest.importorskip("rasterio")
    pytest.importorskip("xarray")
    written = snap.save(tmp_path / "out", geotiff="t.tif", netcdf="t.nc")
    assert sorted(p.name for p in written) == sorted([*SET, "t.nc", "t.tif"])
    again = snap.save(tmp_path / "out")  # the next set has no grids: they go
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([io.MANIFEST, *SET])
    assert len(again) == 4


def test_temporaries_of_killed_runs_are_removed_by_the_next_run(snap, tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout.strip()
        stale = tmp_path / f".map.html.kwxmap-{dead}-abc"
        stale.mkdir()
        (stale / "map.html").write_text("partial", encoding="utf-8")
        stale_set = tmp_path / f".layers.kwxmap-{dead}-xyz"
        stale_set.mkdir()
        busy = tmp_path / f".map.html.kwxmap-{sleeper.pid}-def"  # a run still going
        busy.mkdir()
        snap.write(html=tmp_path / "map.html", layers=tmp_path / "layers")
        assert not stale.exists() and not stale_set.exists() and busy.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


# --- vector formats --------------------------------------------------------------------


def test_vector_types_and_prj(tmp_path):
    import datetime as dt

    import geopandas as gpd

    gdf = gpd.GeoDataFrame(
        {"name": ["가", "나"], "active": [True, False],
         "opened": [dt.date(2001, 2, 3), None],
         "seen": pd.to_datetime(["2020-08-01 15:00", None]),
         "n": pd.array([1, None], dtype="Int64")},
        geometry=gpd.points_from_xy([127.0, 128.0], [37.0, 36.0]), crs=4326,
    ).to_crs(5186)
    expect = {"gpkg": "bool", "fgb": "bool", "shp": "int32"}  # GDAL 3.6 reads DBF logicals as text
    for fmt, bool_dtype in expect.items():
        path = io.write_vector(gdf, tmp_path / f"v.{fmt}")
        info = pyogrio.read_info(path)
        types = dict(zip(info["fields"], info["dtypes"], strict=True))
        assert types["active"] == bool_dtype, fmt
        back = pyogrio.read_dataframe(path)
        assert back.crs.to_epsg() == 5186, fmt
        assert back["name"].tolist() == ["가", "나"]
        assert pd.isna(back["n"].iloc[1]) and back["n"].iloc[0] == 1
        assert str(pd.Timestamp(back["opened"].iloc[0]).date()) == "2001-02-03", fmt
        assert pd.isna(back["opened"].iloc[1]), fmt
    # the WKT GDAL 3.6 matches to EPSG (not the ESRI dialect without authority)
    assert (tmp_path / "v.prj").read_text(encoding="ascii").endswith('AUTHORITY["EPSG","5186"]]')
    io.write_vector(gdf, tmp_path / "v.csv")
    assert (tmp_path / "v.csvt").read_text(encoding="ascii").strip() == (
        "String,Integer(Boolean),Date,DateTime,Integer64,Real,Real,WKT")
    back = pyogrio.read_dataframe(tmp_path / "v.csv")
    assert back.crs.to_epsg() == 5186 and back.geometry.geom_type.tolist() == ["Point"] * 2
    # the values as a spreadsheet user reads them: pandas, no GDAL
    table = pd.read_csv(tmp_path / "v.csv", encoding="utf-8-sig", keep_default_na=False,
                        na_values=[""])
    assert table.columns.tolist() == ["name", "active", "opened", "seen", "n", "x", "y", "WKT"]
    assert table["name"].tolist() == ["가", "나"]
    assert table["active"].tolist() == [1, 0]
    assert table["opened"].iloc[0] == "2001-02-03" and pd.isna(table["opened"].iloc[1])
    assert pd.Timestamp(table["seen"].iloc[0]) == pd.Timestamp("2020-08-01 15:00")
    assert pd.isna(table["seen"].iloc[1])
    assert table["n"].iloc[0] == 1 and pd.isna(table["n"].iloc[1])
    np.testing.assert_array_equal(table["x"], gdf.geometry.x)  # full precision, both ways
    np.testing.assert_array_equal(table["y"], gdf.geometry.y)
    wkt = shapely.from_wkt(table["WKT"].to_numpy())
    np.testing.assert_array_equal(shapely.get_coordinates(wkt), shapely.get_coordinates(
        gdf.geometry.values))
    with open(tmp_path / "v.gpkg", "rb") as f:  # GeoPackage 1.2: user_version 10200
        f.seek(60)
        assert int.from_bytes(f.read(4), "big") == 10200


def test_every_vector_format_reads_back_every_value_and_coordinate(tmp_path):
    """Every column kind, with missing values, and mixed single/multi points, in each format,
    read back by GDAL (and the CSV by pandas) and compared value by value."""
    import datetime as dt

    import geopandas as gpd

    gdf = gpd.GeoDataFrame({
        "name": ["가", None, "c d", "é"],
        "active": pd.array([True, False, None, True], dtype="boolean"),
        "n": pd.array([1, None, -3, 2**40], dtype="Int64"),
        "t": [1.5, np.nan, -0.25, 1e-7],
        "seen": pd.to_datetime(["2020-08-01 15:00:00", None, "1999-12-31 23:59:59",
                                "2024-02-29 00:00:00"]),
        "opened": [dt.date(2001, 2, 3), None, dt.date(1970, 1, 1), dt.date(2024, 2, 29)],
        "utc": pd.to_datetime(["2020-08-01 06:00", None, "2020-12-31 15:30", "2024-02-29 00:00"],
                              utc=True),
    }, geometry=[shapely.Point(127.1, 37.2), shapely.MultiPoint([(126, 35), (126.5, 35.5)]),
                 shapely.Point(128.123456789, 36.987654321), None], crs=4326).to_crs(5186)
    where = gdf.geometry.notna().to_numpy()
    for fmt in ("gpkg", "fgb", "shp", "csv", "geojson"):
        back = pyogrio.read_dataframe(io.write_vector(gdf, tmp_path / f"v.{fmt}"))
        names = back["name"].tolist()
        assert names[0] == "가" and names[2:] == ["c d", "é"], fmt
        assert (names[1] == "") if fmt == "csv" else pd.isna(names[1]), fmt  # CSV: no null
        np.testing.assert_array_equal(back["active"], [1, 0, np.nan, 1], err_msg=fmt)
        np.testing.assert_array_equal(back["n"], [1, np.nan, -3, 2**40], err_msg=fmt)
        np.testing.assert_array_equal(back["t"], gdf["t"], err_msg=fmt)
        seen = back["seen"] if fmt != "shp" else pd.to_datetime(back["seen"])  # DBF: ISO text
        assert [None if pd.isna(v) else pd.Timestamp(v) for v in seen] == [
            None if pd.isna(v) else v for v in gdf["seen"]], fmt
        assert [None if pd.isna(v) else v.date() for v in back["opened"]] == gdf["opened"].tolist()
        utc = back["utc"] if fmt != "shp" else pd.to_datetime(back["utc"])
        if fmt == "geojson":  # GeoJSON keeps the zone: the same instant
            utc = utc.dt.tz_convert("Asia/Seoul").dt.tz_localize(None)
        assert [None if pd.isna(v) else pd.Timestamp(v) for v in utc] == [  # KST wall time
            pd.Timestamp("2020-08-01 15:00"), None, pd.Timestamp("2021-01-01 00:30"),
            pd.Timestamp("2024-02-29 09:00")], fmt
        assert back.geometry.isna().tolist() == [False, False, False, True], fmt
        if fmt == "geojson":  # lon/lat, 7 decimals (~1 cm)
            got = shapely.get_coordinates(back.geometry.values[where])
            want = shapely.get_coordinates(gdf.to_crs(4326).geometry.values[where])
            np.testing.assert_allclose(got, want, rtol=0, atol=5e-8)
            continue
        assert back.crs.to_epsg() == 5186, fmt
        got = shapely.get_coordinates(back.geometry.values[where])
        want = shapely.get_coordinates(gdf.geometry.values[where])
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 if fmt != "csv" else 1e-5)
        kinds = set(back.geometry.values[where].geom_type)
        # one geometry type per layer: points promoted to multipoints beside a multipoint
        assert kinds == ({"Point", "MultiPoint"} if fmt == "csv" else {"MultiPoint"}), fmt


# --- full disks -------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs (needs root and mount); skipped with the reason elsewhere."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or 'not root'})")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path, leave: int) -> None:
    """Fill the disk, then free ``leave`` bytes."""
    filler = disk / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave))


def test_full_disk_keeps_the_old_set(snap, small_disk):
    dest = small_disk / "out"
    snap.save(dest)
    before = _listing(dest)
    _fill(small_disk, 40_000)
    with pytest.raises(OutputError, match="No space left on device"):
        snap.save(dest)
    assert _listing(dest) == before and _leftovers(small_disk) == []


def test_full_disk_batch_exits_1_says_which_and_keeps_the_old_maps(readings, small_disk, capsys):
    pytest.importorskip("xarray")
    dest = small_disk / "maps"
    args = ["batch", str(readings), "-o", str(dest), "--method", "idw", "--resolution", "20000",
            "--tiles", "none"]
    assert main(args) == 0
    before = _listing(dest)
    assert sum(name.endswith(".html") for name in before) == 4  # 3 maps and the index
    capsys.readouterr()
    _fill(small_disk, 200_000)
    code = main([*args, "--netcdf"])
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    assert len(err.splitlines()) == 1 and "No space left on device" in err, err
    assert "nothing was changed" in err
    assert re.search(rf"cannot write '{dest}/2021-01-0\d\.html'", err), err  # says which
    assert _listing(dest) == before and _leftovers(small_disk) == []


# --- the CLI ---------------------------------------------------------------------------


def test_cli_map_writes_geotiff_and_netcdf_with_the_set(tmp_path, capsys):
    rasterio = pytest.importorskip("rasterio")
    xr = pytest.importorskip("xarray")
    widget = tmp_path / "widget.txt"
    widget.write_text(seed_text(), encoding="utf-8")
    out = tmp_path / "out"
    args = ["map", str(widget), "-o", str(out / "map.html"), "--geojson-dir", str(out),
            "--geotiff", str(out / "t.tif"), "--netcdf", str(tmp_path / "t.nc"),
            "--method", "idw", "--resolution", "20000", "--tiles", "none"]
    out.mkdir()
    assert main(args) == 0, capsys.readouterr().err
    with rasterio.open(out / "t.tif") as src:
        assert src.crs.to_epsg() == 5179 and src.transform.e < 0 and src.units == ("degC",)
    with xr.open_dataset(tmp_path / "t.nc") as ds:
        assert ds["temperature_c"].attrs["standard_name"] == "air_temperature"
    assert sorted(p.name for p in out.iterdir()) == sorted([io.MANIFEST, *SET, "t.tif"])
    bad = [*args[:-6], "--geotiff", str(tmp_path / "none" / "t.tif"), *args[-6:]]
    assert main(bad) == 1
    assert "output folder" in capsys.readouterr().err


def test_cli_batch_writes_netcdf_and_zarr_where_asked(readings, tmp_path):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("zarr")
    dest = tmp_path / "maps"
    done = subprocess.run(
        [sys.executable, "-m", "kwxmap", "batch", str(readings), "-o", str(dest), "--netcdf",
         str(tmp_path / "days.nc"), "--zarr", str(dest / "days.zarr"), "--method", "idw",
         "--resolution", "20000", "--tiles", "none"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    with xr.open_dataset(tmp_path / "days.nc") as nc, xr.open_zarr(dest / "days.zarr") as zr:
        assert nc.sizes["time"] == zr.sizes["time"] == 3
        np.testing.assert_array_equal(nc["temperature_c"].values, zr["temperature_c"].values)
        assert nc["n_stations"].values.tolist() == [12, 12, 12]


@pytest.mark.parametrize("inside", ["", "sub"])
def test_a_staged_folder_that_holds_the_working_directory_keeps_it(tmp_path, monkeypatch, inside):
    """Swapping the folder would leave the process in a deleted directory."""
    dest = tmp_path / "layers"
    (dest / "sub").mkdir(parents=True)
    (dest / "a.txt").write_text("old", encoding="utf-8")
    monkeypatch.chdir(dest / inside)
    with io.Staging() as st:
        layers = st.folder(dest)
        layers.write("a.txt", lambda p: p.write_text("new", encoding="utf-8"))
    assert Path(os.getcwd()) == (dest / inside).resolve()  # still there, not deleted
    assert (dest / "a.txt").read_text(encoding="utf-8") == "new"
    assert (dest / "sub").is_dir()


def test_geojson_properties_are_the_columns_besides_the_geometry(tmp_path):
    import geopandas as gpd

    gdf = gpd.GeoDataFrame({"name": ["서울"], "t": [1.5]},
                           geometry=gpd.points_from_xy([127.0], [37.5]), crs=4326)
    io.write_geojson(gdf, tmp_path / "a.geojson")
    doc = json.loads((tmp_path / "a.geojson").read_text(encoding="utf-8"))
    assert doc["features"][0]["properties"] == {"name": "서울", "t": 1.5}
    assert doc["features"][0]["geometry"] == {"type": "Point", "coordinates": [127.0, 37.5]}


@pytest.mark.parametrize("fmt", [123, "dat", "GeoJSON "])
def test_an_unknown_vector_format_is_an_output_error(fmt):
    with pytest.raises(OutputError, match=r"format .* is not one of csv, fgb, geojson, gpkg, shp"):
        io.vector_format("a.gpkg", fmt)


def test_polygons_and_mixed_geometries_keep_their_layer_type(tmp_path):
    import geopandas as gpd
    import shapely

    square = shapely.box(127.0, 37.0, 127.1, 37.1)
    polys = gpd.GeoDataFrame({"v": [1]}, geometry=[square], crs=4326)
    io.write_vector(polys, tmp_path / "p.gpkg")
    assert pyogrio.read_info(tmp_path / "p.gpkg")["geometry_type"] == "Polygon"
    mixed = gpd.GeoDataFrame({"v": [1, 2]}, geometry=[shapely.Point(127.0, 37.0), square],
                             crs=4326)
    io.write_vector(mixed, tmp_path / "m.gpkg")
    assert pyogrio.read_info(tmp_path / "m.gpkg")["geometry_type"] == "Unknown"
    back = pyogrio.read_dataframe(tmp_path / "m.gpkg")
    assert back.geometry.geom_type.tolist() == ["Point", "Polygon"]  # not promoted to multi
    line = shapely.LineString([(127.0, 37.0), (127.1, 37.1)])
    for parts, layer_type in (
        ([line, shapely.MultiLineString([line.coords, [(128, 36), (128.1, 36)]])],
         "MultiLineString"),
        ([square, shapely.MultiPolygon([square, shapely.box(128, 36, 128.1, 36.1)])],
         "MultiPolygon"),
        ([shapely.GeometryCollection([line, square])] * 2, "GeometryCollection"),
        ([line, line], "LineString"),
    ):
        gdf = gpd.GeoDataFrame({"v": range(len(parts))}, geometry=parts, crs=4326)
        path = io.write_vector(gdf, tmp_path / f"{layer_type}.gpkg")
        assert pyogrio.read_info(path)["geometry_type"] == layer_type
        back = pyogrio.read_dataframe(path)
        assert all(a.equals(b) for a, b in zip(back.geometry, gdf.geometry, strict=True))


def test_shapefile_field_names_are_at_most_10_characters(tmp_path):
    import geopandas as gpd

    def frame(name):
        return gpd.GeoDataFrame({name: [1]}, geometry=gpd.points_from_xy([127.0], [37.5]),
                                crs=4326)

    io.write_vector(frame("abcdefghij"), tmp_path / "ten.shp")
    with pytest.raises(OutputError, match=r"at most 10 characters: rename \['abcdefghijk'\]"):
        io.write_vector(frame("abcdefghijk"), tmp_path / "eleven.shp")


@pytest.mark.parametrize("rows", [2, 3])
def test_rasters_are_written_north_up_even_with_two_rows(rows):
    from kwxmap.grid import make_grid

    g = make_grid("서울", resolution=5000.0)
    values = np.arange(rows * 3, dtype=float).reshape(rows, 3)  # row 0 is the south
    small = g.copy(x=g.x[:3], y=g.y[:rows], values=values, mask=np.ones((rows, 3), dtype=bool))
    out, y = io.raster._north_up(small)
    assert out.tolist() == values[::-1].tolist() and y.tolist() == g.y[:rows][::-1].tolist()


def test_a_cf_dataset_holds_the_kriging_variance_north_up_like_the_values():
    from kwxmap.grid import make_grid

    g = make_grid("서울", resolution=5000.0)
    values = np.arange(g.mask.size, dtype=float).reshape(g.mask.shape)  # row 0: south
    grid = g.copy(values=values, name="temperature_c")
    grid.attrs["variance"] = g.copy(values=values / 100.0, name="variance")
    ds = io.cf_dataset(grid)
    assert ds["temperature_c"].values.tolist() == values[::-1].tolist()
    np.testing.assert_allclose(ds["temperature_c_variance"].values, values[::-1] / 100.0,
                               rtol=1e-6)  # stored as float32
    assert ds["y"].values.tolist() == g.y[::-1].tolist()
    # coordinates are written without a fill value; spatial_ref is left to xarray
    enc = io.cf_encoding(ds)
    assert enc["x"]["_FillValue"] is None and enc["y"]["_FillValue"] is None
    assert "spatial_ref" not in enc


def test_a_zarr_store_that_cannot_be_written_is_one_output_error(tmp_path):
    from kwxmap.grid import make_grid

    g = make_grid("서울", resolution=5000.0)
    grid = g.copy(values=np.where(g.mask, 20.0, np.nan), name="temperature_c")
    with pytest.raises(OutputError, match="no such folder|does not exist"):
        io.write_zarr(grid, tmp_path / "missing" / "t.zarr")
    assert not (tmp_path / "missing").exists()  # create=False: nothing made


def test_a_zarr_write_that_fails_is_one_output_error_and_leaves_nothing(tmp_path):
    from kwxmap.grid import make_grid

    g = make_grid("서울", resolution=5000.0)
    grid = g.copy(values=np.where(g.mask, 20.0, np.nan), name="..")  # not a zarr array name
    with pytest.raises(OutputError, match=r"^cannot write Zarr '.*t\.zarr': The path '\.\.' is "
                       r"invalid"):
        io.write_zarr(grid, tmp_path / "t.zarr")
    assert list(tmp_path.iterdir()) == []  # no store, no empty folder, no temporaries


# --- rasters read back value by value --------------------------------------------------------


def _known_grid(*, series: bool, method: str | None = "kriging"):
    """Values 0.001 x + 0.002 y - 2000 inside 서울 (row 0 south), variance a hundredth."""
    from kwxmap.grid import make_grid

    g = make_grid("서울", resolution=5000.0)
    xx, yy = np.meshgrid(g.x, g.y)
    one = np.where(g.mask, 0.001 * xx + 0.002 * yy - 4000.0, np.nan)
    if series:
        values = np.stack([one, one + 1.5])
        grid = g.copy(values=values, name="temperature_c",
                      time=pd.to_datetime(["2021-01-02 09:00", "2021-01-02 10:00"]).values)
        grid.attrs.update(n_stations=np.array([17, 16]), lapse_rate_k_per_km=np.array([6.5, 5.0]))
    else:
        grid = g.copy(values=one, name="temperature_c")
        grid.attrs.update(n_stations=17, lapse_rate_k_per_km=6.5, time="2021-01-02 09:00")
    grid.attrs["variance"] = g.copy(values=np.abs(one) / 100.0, name="variance")
    if method:
        grid.attrs["method"] = method
    return grid, one


def test_a_geotiff_holds_every_value_at_its_cell_centre(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    grid, one = _known_grid(series=False)
    with rasterio.open(io.write_geotiff(grid, tmp_path / "t.tif")) as src:
        assert src.crs.to_epsg() == 5179 and src.count == 2
        rows, cols = np.meshgrid(np.arange(src.height), np.arange(src.width), indexing="ij")
        x, y = src.transform @ (cols + 0.5, rows + 0.5)  # each pixel's centre
        np.testing.assert_array_equal(x[0], grid.x)
        np.testing.assert_array_equal(y[:, 0], grid.y[::-1])
        np.testing.assert_array_equal(src.read(1), one[::-1].astype("float32"))
        np.testing.assert_allclose(src.read(2), np.abs(one[::-1]) / 100.0, rtol=1e-6)
        assert src.descriptions == ("temperature_c", "kriging variance")
        assert np.isnan(src.nodata)


@pytest.mark.parametrize("kind", ["netcdf", "zarr"])
@pytest.mark.parametrize("series", [False, True])
def test_cf_files_hold_every_value_place_time_and_count(tmp_path, kind, series):
    import pyproj
    import xarray as xr

    grid, one = _known_grid(series=series)
    if kind == "netcdf":
        ds = xr.open_dataset(io.write_netcdf(grid, tmp_path / "t.nc"))
    else:
        ds = xr.open_zarr(io.write_zarr(grid, tmp_path / "t.zarr"))
    with ds:
        want = np.stack([one, one + 1.5]) if series else one[None]
        np.testing.assert_array_equal(ds["temperature_c"].values, want[:, ::-1].astype("f4"))
        np.testing.assert_allclose(ds["temperature_c_variance"].values,
                                   np.broadcast_to(np.abs(one[::-1]) / 100, want.shape),
                                   rtol=1e-6)
        # KST 09:00 and 10:00 are 00:00 and 01:00 UTC
        utc = ["2021-01-02T00:00", "2021-01-02T01:00"][: len(want)]
        assert pd.DatetimeIndex(ds["time"].values).tolist() == pd.to_datetime(utc).tolist()
        assert ds["n_stations"].values.tolist() == [17, 16][: len(want)]
        np.testing.assert_allclose(ds["lapse_rate_k_per_km"], [6.5, 5.0][: len(want)])
        lon, lat = pyproj.Transformer.from_crs(5179, 4326, always_xy=True).transform(
            *np.meshgrid(grid.x, grid.y[::-1]))
        np.testing.assert_allclose(ds["lon"].values, lon, rtol=0, atol=1e-9)
        np.testing.assert_allclose(ds["lat"].values, lat, rtol=0, atol=1e-9)
        assert ds.attrs["source"].startswith("kwxmap ") and ": kriging of surface" in ds.attrs[
            "source"]
        if kind == "zarr":  # GDAL's Zarr driver reads the CRS from each field's _CRS
            assert ds["temperature_c"].attrs["_CRS"]["wkt"] == ds["spatial_ref"].attrs["crs_wkt"]
            assert "_CRS" not in ds["n_stations"].attrs
        else:  # NetCDF fields and 2-D coordinates are compressed
            assert ds["temperature_c"].encoding["zlib"] and ds["lon"].encoding["zlib"]


def test_a_cf_file_without_a_method_says_interpolation(tmp_path):
    import xarray as xr

    grid, _ = _known_grid(series=False, method=None)
    with xr.open_dataset(io.write_netcdf(grid, tmp_path / "t.nc")) as ds:
        assert ": interpolation of surface station air temperatures" in ds.attrs["source"]


# --- vector writers: precision, layer names, refusals, formulas in every text dtype ----------


def test_geojson_precision_is_the_decimals_written_from_0_to_15(tmp_path):
    import geopandas as gpd

    gdf = gpd.GeoDataFrame({"v": [1]}, geometry=[shapely.Point(126.123456789012345,
                                                               37.987654321098765)], crs=4326)
    for precision in (0, 3, 15, np.int64(7)):
        doc = json.loads(io.write_geojson(gdf, tmp_path / "p.geojson", precision=precision)
                         .read_text(encoding="utf-8"))
        x, y = doc["features"][0]["geometry"]["coordinates"]
        assert (x, y) == (round(126.123456789012345, int(precision)),
                          round(37.987654321098765, int(precision))), precision
    with pytest.raises(kwxmap.InputError, match="0..15"):
        io.write_geojson(gdf, tmp_path / "p.geojson", precision=16)
    # write_vector's GeoJSON keeps 7 decimals (about 1 cm)
    doc = json.loads(io.write_vector(gdf, tmp_path / "v.geojson").read_text(encoding="utf-8"))
    assert doc["features"][0]["geometry"]["coordinates"] == [126.1234568, 37.9876543]


def test_a_layer_is_named_after_its_file_unless_named(tmp_path):
    import geopandas as gpd

    gdf = gpd.GeoDataFrame({"v": [1]}, geometry=[shapely.Point(127, 37)], crs=4326)
    assert pyogrio.list_layers(io.write_vector(gdf, tmp_path / "stations.gpkg"))[:, 0].tolist() \
        == ["stations"]
    named = io.write_vector(gdf, tmp_path / "two.gpkg", layer="관측소")
    assert pyogrio.list_layers(named)[:, 0].tolist() == ["관측소"]


def test_a_column_of_objects_no_format_stores_is_one_output_error(tmp_path):
    import geopandas as gpd

    gdf = gpd.GeoDataFrame({"bad": [{"a": 1}, [2]]}, geometry=[shapely.Point(127, 37)] * 2,
                           crs=4326)
    with pytest.raises(OutputError, match=r"column 'bad' holds dict, list values, which gpkg "
                                          r"cannot store"):
        io.write_vector(gdf, tmp_path / "bad.gpkg")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dtype", [object, "string[python]"])
def test_formula_cells_are_made_text_in_every_text_dtype(dtype):
    frame = pd.DataFrame({"name": pd.Series(["=1+1", "서울", "@x", None], dtype=dtype),
                          "t": [-1.5, 2.0, 3.0, 4.0]})
    safe = io.formula_safe(frame)
    assert safe["name"].tolist()[:3] == ["'=1+1", "서울", "'@x"] and pd.isna(safe["name"][3])
    assert safe["t"].tolist() == [-1.5, 2.0, 3.0, 4.0]  # numbers stay numbers


def test_a_zarr_store_is_format_2_with_consolidated_metadata(tmp_path):
    """What GDAL (and so QGIS) and zarr 2 and 3 all read, whatever zarr writes by default."""
    grid, _ = _known_grid(series=False)
    store = io.write_zarr(grid, tmp_path / "t.zarr")
    assert json.loads((store / ".zgroup").read_text())["zarr_format"] == 2
    meta = json.loads((store / ".zmetadata").read_text())["metadata"]
    assert meta["temperature_c/.zarray"]["zarr_format"] == 2
    assert not (store / "zarr.json").exists()


def test_a_variance_that_is_not_a_grid_is_not_written(tmp_path):
    import xarray as xr

    grid, _ = _known_grid(series=False)
    grid.attrs["variance"] = 0.5  # a number: not a surface of variances
    with xr.open_dataset(io.write_netcdf(grid, tmp_path / "t.nc")) as ds:
        assert "temperature_c_variance" not in ds
