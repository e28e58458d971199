"""stream_batch: chunked, resumable, distributed batches equal interpolate() per timestamp."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import kwxmap
from kwxmap.errors import InputError, KwxmapWarning, OutputError
from kwxmap.interpolate import interpolate
from kwxmap.interpolate._api import station_area
from kwxmap.pipeline import point_values
from kwxmap.stream import stream_batch

xr = pytest.importorskip("xarray")
zarr = pytest.importorskip("zarr")
pytest.importorskip("dask")

REPO = Path(__file__).resolve().parents[1]
REGION = "충북"
RES = 10_000.0

pytestmark = pytest.mark.filterwarnings("ignore:.*more than 200 km from the region")


@pytest.fixture(scope="module")
def stations():
    gdf = kwxmap.load_stations("asos").to_geodataframe()
    return gdf[gdf["active"]].reset_index(drop=True)


def _table(stations, hours: int, seed: int = 3) -> pd.DataFrame:
    """Hourly long table: diurnal cycle, lapse signal, outages, one hour with 2 stations."""
    rng = np.random.default_rng(seed)
    n = len(stations)
    times = pd.date_range("2021-07-01", periods=hours, freq="h")
    lat = stations.geometry.y.to_numpy()
    elev = stations["elevation_m"].to_numpy()
    diurnal = 6.0 * np.sin(2 * np.pi * (np.arange(hours) - 9) / 24)
    vals = 26.0 - 1.1 * (lat - 36.0)[None] - 0.006 * elev[None] + diurnal[:, None]
    vals = vals + rng.normal(0.0, 0.4, (hours, n))
    vals[5:40, :3] = np.nan  # a multi-day outage of three stations
    vals[rng.random((hours, n)) < 0.02] = np.nan  # sporadic missing hours
    vals[11 % hours, 5:] = np.nan  # only two stations (3 and 4) report
    table = pd.DataFrame(
        {
            "time": np.repeat(times, n),
            "station_id": np.tile(stations["station_id"].to_numpy(), hours),
            "temperature_c": vals.ravel().round(1),
        }
    )
    return table.dropna(subset=["temperature_c"])


def _cube(store: Path) -> np.ndarray:
    return np.asarray(xr.open_zarr(store, consolidated=False)["temperature_c"].values)


@pytest.mark.parametrize("method, elevation",
                         [("spline", "lapse"), ("spline", None), ("idw", "lapse")])
def test_each_timestamp_equals_interpolate_alone(tmp_path, stations, method, elevation):
    table = _table(stations, 30)
    csv = tmp_path / "july.csv"
    table.to_csv(csv, index=False)
    res = stream_batch(
        csv,
        tmp_path / "july.zarr",
        stations=stations,
        method=method,
        elevation=elevation,
        resolution=RES,
        region=REGION,
        chunk_hours=7,
        dtype="float64",
        netcdf=tmp_path / "july.nc",
    )
    assert (res.n_times, res.computed, res.skipped) == (30, 30, 0)
    assert [t for t, _ in res.failed] == ["2021-07-01 11:00:00"]
    assert "2 station(s) reported" in res.failed[0][1]
    ds = xr.open_zarr(tmp_path / "july.zarr", consolidated=False)
    assert ds.attrs["Conventions"] == "CF-1.8"
    assert ds["temperature_c"].attrs["grid_mapping"] == "spatial_ref"
    assert "crs_wkt" in ds["spatial_ref"].attrs
    assert ds["y"].values[0] > ds["y"].values[-1]  # north up
    cube = np.asarray(ds["temperature_c"].values)
    assert np.isnan(cube[11]).all()
    # the table's KST times are stored in UTC: 9 hours earlier
    kst = pd.DatetimeIndex(ds["time"].values) + pd.Timedelta(hours=9)
    assert (kst == pd.DatetimeIndex(sorted(pd.to_datetime(table["time"]).unique()))).all()
    for i in (0, 4, 6, 7, 20, 29):  # chunk edges, the outage, sporadic gaps
        at = table[pd.to_datetime(table["time"]) == kst[i]]
        # every station of the table, NaN where it did not report (as a KMA file gives it)
        gdf = stations.merge(at[["station_id", "temperature_c"]], on="station_id", how="left")
        alone = interpolate(gdf, method, resolution=RES, region=REGION,
                            elevation=elevation).values[::-1]
        np.testing.assert_allclose(cube[i], alone, atol=1e-9, rtol=0)
    summary = pd.read_csv(res.summary, parse_dates=["time"])
    assert len(summary) == 30
    np.testing.assert_allclose(summary["mean_c"][:5], np.nanmean(cube[:5], axis=(1, 2)), atol=1e-5)
    # the stations within 200 km of South Korea or of the region: every one here
    region = station_area(kwxmap.make_grid(REGION, resolution=RES).region, 5179)
    near = stations[stations.to_crs(5179).distance(region) <= 200_000]["station_id"]
    counts = table[table["station_id"].isin(near)].groupby("time").size()
    counts = counts.reindex(kst)
    assert summary["n_stations"].tolist() == counts.tolist()
    assert summary["time"].tolist() == kst.tolist()  # the summary table speaks KST
    nc = xr.open_dataset(res.netcdf, engine="h5netcdf")
    np.testing.assert_array_equal(nc["temperature_c"].values, cube)


@pytest.mark.parametrize("method", ["spline", "idw"])  # IDW's weights are sparse
def test_cv_gives_leave_one_out_rmse(tmp_path, stations, method):
    table = _table(stations, 12)
    res = stream_batch(table, tmp_path / "cv.zarr", stations=stations, resolution=50_000, cv=True,
                       method=method, elevation="lapse")
    assert not [why for _, why in res.failed if "chunk" in why]
    rmse = pd.read_csv(res.summary)["loo_rmse_c"].to_numpy()
    t0 = table[table["time"] == table["time"].min()]
    gdf = stations.merge(t0, on="station_id")
    report = kwxmap.cross_validate(gdf, method, elevation="lapse")
    assert rmse[0] == pytest.approx(report.rmse, abs=1e-4)
    assert (rmse[:-1] > 0).all() and np.isnan(rmse[-1])  # the last hour has 2 stations


def test_the_default_streams_kriging_with_its_pooled_variogram_and_scores_it(tmp_path,
                                                                            stations):
    """The default (kriging + predictors) streams: each timestamp is interpolate() with the
    variogram the store records, and cv=True is cross_validate() with that variogram."""
    import json

    table = _table(stations, 10)
    res = stream_batch(table, tmp_path / "k.zarr", stations=stations, resolution=RES,
                       region=REGION, chunk_hours=4, dtype="float64", cv=True)
    ds = xr.open_zarr(tmp_path / "k.zarr", consolidated=False)
    assert (ds.attrs["method"], ds.attrs["elevation"]) == ("kriging", "predictors")
    vg = json.loads(ds.attrs["variogram"])
    model = vg.pop("model")
    cube = np.asarray(ds["temperature_c"].values)
    rmse = pd.read_csv(res.summary)["loo_rmse_c"].to_numpy()
    times = sorted(pd.to_datetime(table["time"]).unique())
    for i in (0, 6, 9):
        at = table[pd.to_datetime(table["time"]) == times[i]]
        gdf = stations.merge(at[["station_id", "temperature_c"]], on="station_id", how="left")
        alone = interpolate(gdf, "kriging", resolution=RES, region=REGION,
                            variogram_model=model, variogram_parameters=vg)
        np.testing.assert_allclose(cube[i], alone.values[::-1], atol=1e-9, rtol=0)
        report = kwxmap.cross_validate(gdf.dropna(subset=["temperature_c"]), "kriging",
                                       variogram_model=model, variogram_parameters=vg)
        assert rmse[i] == pytest.approx(report.rmse, abs=1e-6)


def test_map_batch_zarr_and_point_give_one_surface(tmp_path, capsys):
    """One field, the defaults: ``snapshot`` (map), ``stream_batch`` (batch --zarr) and
    ``point_values`` (point) at cell centres agree to 1e-6 °C; the commands agree to
    what they write (float32 GeoTIFF and Zarr, two decimals from ``point``)."""
    import rasterio
    from pyproj import Transformer

    from kwxmap.cli import main

    daily = pd.read_csv(REPO / "examples" / "data" / "kma_asos_daily_2020.csv")
    one = daily[daily["time"] == "2020-08-14"].rename(
        columns={"stn_id": "station_id", "temp_c": "temperature_c"})
    one = one[["time", "station_id", "temperature_c"]].dropna()
    table = tmp_path / "day.csv"
    one.to_csv(table, index=False)
    # the API, in float64
    snap = kwxmap.snapshot(table, resolution=20_000, region=REGION, tiles=None)
    grid = snap.grid.values
    stream_batch(table, tmp_path / "api.zarr", resolution=20_000, region=REGION,
                 dtype="float64", progress=False)
    cube = np.asarray(xr.open_zarr(tmp_path / "api.zarr", consolidated=False)["temperature_c"]
                      .values)[0][::-1]
    ok = np.isfinite(grid)
    assert ok.sum() > 10 and snap.options["method"] == "kriging"
    np.testing.assert_allclose(cube[ok], grid[ok], atol=1e-6, rtol=0)
    xx, yy = np.meshgrid(snap.grid.x, snap.grid.y)
    lon, lat = Transformer.from_crs(5179, 4326, always_xy=True).transform(xx[ok], yy[ok])
    places = pd.DataFrame({"lat": lat, "lon": lon})
    points = point_values(table, places)
    np.testing.assert_allclose(points["temperature_c"].to_numpy(), grid[ok], atol=1e-6, rtol=0)
    # the commands
    common = ["--resolution", "20000", "--region", REGION]
    assert main(["map", str(table), "-o", str(tmp_path / "m.html"), "--tiles", "none",
                 "--geotiff", str(tmp_path / "m.tif"), *common]) == 0
    assert main(["batch", str(table), "-o", str(tmp_path / "b"), "--zarr",
                 str(tmp_path / "b.zarr"), "--no-progress", *common]) == 0
    with rasterio.open(tmp_path / "m.tif") as src:
        tif = src.read(1)[::-1].astype(float)  # north up in the file
    stored = np.asarray(xr.open_zarr(tmp_path / "b.zarr", consolidated=False)["temperature_c"]
                        .values, dtype=float)[0][::-1]
    np.testing.assert_allclose(tif[ok], grid[ok], atol=1e-5, rtol=0)
    np.testing.assert_allclose(stored[ok], grid[ok], atol=1e-5, rtol=0)
    at = tmp_path / "at.csv"
    places.iloc[:12].to_csv(at, index=False)
    capsys.readouterr()
    assert main(["point", str(table), "--at-file", str(at), "--format", "csv"]) == 0
    out = pd.read_csv(io.StringIO(capsys.readouterr().out))
    np.testing.assert_allclose(out["temperature_c"].to_numpy(), grid[ok][:12], atol=0.005)


def test_bad_inputs_say_the_fix(tmp_path, stations):
    table = _table(stations, 4)
    csv = tmp_path / "t.csv"
    table.iloc[::-1].to_csv(csv, index=False)
    with pytest.raises(InputError, match="sort the table by time"):
        stream_batch(csv, tmp_path / "a.zarr", stations=stations)
    with pytest.raises(InputError, match="not in the station set: \\[99999\\]"):
        stream_batch(table.assign(station_id=99999), tmp_path / "a.zarr", stations=stations)
    with pytest.raises(InputError, match="scheduler='mpi' is not valid"):
        stream_batch(table, tmp_path / "a.zarr", stations=stations, region=REGION, scheduler="mpi")
    (tmp_path / "b.zarr").mkdir()
    with pytest.raises(OutputError, match="pass --resume to continue"):
        stream_batch(table, tmp_path / "b.zarr", stations=stations, region=REGION)
    with pytest.raises(InputError, match="does not exist"):
        stream_batch(tmp_path / "none.csv", tmp_path / "c.zarr")
    twice = pd.concat([table, table.iloc[:1]]).sort_values("time", kind="stable")
    with pytest.raises(InputError, match=r"^1 duplicate \(time, station_id\) rows, e\.g\. "):
        stream_batch(twice, tmp_path / "d.zarr", stations=stations, region=REGION)


def _complete(store: Path) -> np.ndarray:
    try:
        return np.asarray(zarr.open_group(str(store), mode="r")["complete"][:]) == 1
    except Exception:  # not laid out yet
        return np.zeros(0, dtype=bool)


@pytest.mark.slow
def test_killed_cluster_batch_resumes_to_the_uninterrupted_output(tmp_path, stations):
    hours, chunk = 240, 4
    csv = tmp_path / "year.csv"
    _table(stations, hours, seed=8).to_csv(csv, index=False)
    opts = dict(resolution=4000.0, region="south-korea", chunk_hours=chunk, dtype="float64")
    store = tmp_path / "killed.zarr"
    script = textwrap.dedent(
        f"""
        from kwxmap.stream import stream_batch
        stream_batch({str(csv)!r}, {str(store)!r}, scheduler="local:2", progress=False,
                     **{opts!r})
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while _complete(store).sum() < 3 * chunk:
            assert proc.poll() is None, "the batch ended before it could be killed"
            assert time.monotonic() < deadline, "the batch made no progress"
            time.sleep(0.05)
    finally:  # driver, nannies and workers: the whole process group, as a power cut would
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = _complete(store)
    assert 0 < done.sum() < hours, "the kill did not land midway"

    resumed = stream_batch(csv, store, scheduler="local:2", resume=True, progress=False, **opts)
    assert resumed.skipped == done.sum()
    assert resumed.computed == hours - done.sum()
    assert _complete(store).all()
    fresh = stream_batch(csv, tmp_path / "fresh.zarr", progress=False, **opts)
    assert fresh.computed == hours
    np.testing.assert_allclose(_cube(store), _cube(tmp_path / "fresh.zarr"), atol=1e-6, rtol=0)
    a = pd.read_csv(resumed.summary)
    b = pd.read_csv(fresh.summary)
    pd.testing.assert_frame_equal(a, b)


def _same_store(a: Path, b: Path) -> None:
    np.testing.assert_array_equal(_cube(a), _cube(b))
    pd.testing.assert_frame_equal(pd.read_csv(a.with_suffix(".summary.csv")),
                                  pd.read_csv(b.with_suffix(".summary.csv")))
    np.testing.assert_array_equal(_complete(a), _complete(b))


@pytest.fixture(scope="module")
def resumable(tmp_path_factory, stations):
    """16 hours in chunks of 4, written once without interruption."""
    folder = tmp_path_factory.mktemp("resume")
    csv = folder / "t.csv"
    _table(stations, 16, seed=5).to_csv(csv, index=False)
    opts = dict(stations=stations, resolution=20_000.0, region=REGION, chunk_hours=4,
                dtype="float64", progress=False)
    fresh = stream_batch(csv, folder / "fresh.zarr", **opts)
    assert (fresh.computed, fresh.failed[0][0]) == (16, "2021-07-01 11:00:00")
    return csv, folder / "fresh.zarr", opts


def test_a_crash_between_a_chunks_data_and_its_marker_is_redone_on_resume(
        tmp_path, resumable, monkeypatch):
    csv, fresh, opts = resumable
    real, writes = zarr.open_group, []

    class _PowerCut:  # the data of the third chunk is written, then the process dies
        def __init__(self, group):
            self.group = group

        def __getitem__(self, name):
            if name == "complete" and len(writes) == 3:
                raise OSError("power cut")
            return self.group[name]

    def open_group(store, *args, mode="r", **kwargs):
        group = real(store, *args, mode=mode, **kwargs)
        if mode == "r+":
            writes.append(store)
            return _PowerCut(group)
        return group

    store = tmp_path / "t.zarr"
    monkeypatch.setattr(zarr, "open_group", open_group)
    cut = stream_batch(csv, store, **opts)
    monkeypatch.undo()
    assert {t for t, why in cut.failed if "power cut" in why} == {
        f"2021-07-01 {h:02d}:00:00" for h in range(8, 12)}
    assert _complete(store).tolist() == [True] * 8 + [False] * 4 + [True] * 4
    assert not np.isnan(_cube(store)[8]).all()  # its data had landed, unmarked
    resumed = stream_batch(csv, store, resume=True, **opts)
    assert (resumed.computed, resumed.skipped) == (4, 12)
    _same_store(store, fresh)


def test_resume_rewrites_a_partly_written_chunk_and_keeps_the_store_chunks(tmp_path, resumable):
    csv, fresh, opts = resumable
    store = tmp_path / "t.zarr"
    shutil.copytree(fresh, store)
    shutil.copy(fresh.with_suffix(".summary.csv"), store.with_suffix(".summary.csv"))
    group = zarr.open_group(str(store), mode="r+")
    group["temperature_c"][4:6] = 99.0  # half of the second chunk written, none marked
    group["mean_c"][4:6] = 99.0
    group["complete"][4:8] = 0
    group["temperature_c"][12:16] = -99.0  # the last chunk: nothing marked
    group["complete"][12:16] = 0
    with pytest.warns(KwxmapWarning, match="in its own chunks of 4 hours, not 6"):
        resumed = stream_batch(csv, store, resume=True, **{**opts, "chunk_hours": 6})
    assert (resumed.computed, resumed.skipped) == (8, 8)
    assert zarr.open_group(str(store), mode="r")["temperature_c"].chunks[0] == 4
    _same_store(store, fresh)


def test_cli_batch_zarr_writes_grids_summary_and_netcdf(tmp_path, stations, capsys):
    from kwxmap.cli import main

    csv = tmp_path / "t.csv"
    _table(stations, 14).to_csv(csv, index=False)
    store = tmp_path / "t.zarr"
    argv = ["batch", str(csv), "-o", str(tmp_path / "out"), "--zarr", str(store)]
    argv += ["--region", REGION, "--resolution", "20000", "--chunk-hours", "5", "--netcdf", "--cv"]
    assert main(argv) == 1  # hour 11 has two stations: reported, non-zero exit
    err = capsys.readouterr().err
    assert "14 timestamps: 14 computed" in err and "2021-07-01 11:00:00" in err
    summary = pd.read_csv(tmp_path / "t.summary.csv")
    assert summary["loo_rmse_c"].notna().sum() == 13
    assert not list((tmp_path / "out").glob("*.html"))  # grids first: no maps without --html
    nc = xr.open_dataset(tmp_path / "out" / "grids.nc", engine="h5netcdf")
    np.testing.assert_array_equal(nc["temperature_c"].values, _cube(store))
    assert main(argv) == 1 and "pass --resume" in capsys.readouterr().err
    assert main([*argv, "--resume"]) == 1
    assert "0 computed, 14 already complete" in capsys.readouterr().err


def test_cli_batch_zarr_unsorted_table_is_one_line_and_writes_nothing(tmp_path, stations):
    csv = tmp_path / "t.csv"
    _table(stations, 3).iloc[::-1].to_csv(csv, index=False)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kwxmap",
            "batch",
            str(csv),
            "-o",
            str(tmp_path / "o"),
            "--zarr",
            str(tmp_path / "t.zarr"),
            "--scheduler",
            "local:2",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "sort the table by time" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_a_kma_daily_file_streams_like_its_long_table(tmp_path):
    """An API Hub kma_sfcdd file of several days goes straight in (tmin picked), as its table."""
    tail = " ".join(["-9.0"] * 41)  # the rest of the 56 documented columns
    ids = [108, 112, 133, 143, 156, 159]
    rows = []
    for d, day in enumerate(["20260114", "20260115", "20260116"]):
        for k, stn in enumerate(ids):
            tmin = -8.0 + 1.5 * k + 0.7 * d
            rows.append(
                f"{day} {stn} 2.1 180 27 4.0 1432 27 7.1 1410 {tmin + 5:.1f} {tmin + 9:.1f} 1445 "
                f"{tmin:.1f} 0630 {tail}"
            )
    header = (
        "#START7777\n# TM STN WS_AVG WR_DAY WD_MAX WS_MAX WS_MAX_TM WD_INS WS_INS WS_INS_TM "
        "TA_AVG TA_MAX TA_MAX_TM TA_MIN TA_MIN_TM ...\n"
    )
    path = tmp_path / "sfcdd_3days.txt"
    path.write_text(header + "\n".join(rows) + "\n#7777END\n", encoding="utf-8")
    table = pd.DataFrame(
        {
            "time": pd.to_datetime([r.split()[0] for r in rows]),
            "station_id": [int(r.split()[1]) for r in rows],
            "temperature_c": [float(r.split()[13]) for r in rows],
        }
    )
    opts = dict(resolution=40_000.0, method="idw", elevation=None, scheduler=None, progress=False)
    a = stream_batch(path, tmp_path / "file.zarr", variable="tmin", **opts)
    b = stream_batch(table, tmp_path / "table.zarr", **opts)
    assert not a.failed and not b.failed
    got, want = _cube(tmp_path / "file.zarr"), _cube(tmp_path / "table.zarr")
    assert got.shape[0] == 3
    np.testing.assert_allclose(got, want, atol=1e-6, equal_nan=True)


# --- the stream's own rules by value ------------------------------------------------------


def test_the_summary_line_names_five_failures_then_counts_the_rest():
    from kwxmap.stream import StreamResult

    five = [(f"2021-07-01 0{i}:00:00", "why") for i in range(5)]
    res = StreamResult(Path("s.zarr"), Path("s.csv"), n_times=9, computed=8, skipped=1,
                       failed=five, seconds=4.0)
    shown = "; ".join(f"{t}: why" for t, _ in five)
    assert res.summary_line() == (f"9 timestamps: 8 computed, 1 already complete, 5 failed "
                                  f"(2.0 timestamps/s); s.zarr; failed {shown}")
    res.failed = [*five, ("2021-07-01 05:00:00", "why")]
    assert res.summary_line().endswith(f"failed {shown} (+1 more)")


def test_a_station_that_moved_during_the_series_is_named_and_placed_at_its_first_site(
        tmp_path):
    # 대관령 (100) moved on 2006-11-07: a series over that day stands it at its old site
    rows = [(t, sid, 10.0 + k) for t in ("2006-11-06", "2006-11-08")
            for k, sid in enumerate((100, 105, 101, 114, 211))]
    csv = tmp_path / "t.csv"
    pd.DataFrame(rows, columns=["time", "station_id", "temperature_c"]).to_csv(csv, index=False)
    with pytest.warns(KwxmapWarning, match=r"^1 station\(s\) moved during the series \(\[100\]\); "
                                            r"the store places them at their sites of "
                                            r"2006-11-06") as caught:
        stream_batch(csv, tmp_path / "t.zarr", region="강원", resolution=20_000.0,
                     method="idw", progress=False)
    assert [w.filename for w in caught if "moved" in str(w.message)] == [__file__]


def test_a_registry_as_the_station_set_equals_its_table_and_unknown_ids_are_listed(
        tmp_path, stations):
    csv = tmp_path / "t.csv"
    _table(stations, 3).to_csv(csv, index=False)
    kw = dict(resolution=20_000.0, region=REGION, method="idw", dtype="float64",
              progress=False)
    asos = kwxmap.load_stations("asos").select(active=True)
    stream_batch(csv, tmp_path / "a.zarr", stations=asos, **kw)
    stream_batch(csv, tmp_path / "b.zarr", stations=stations, **kw)
    np.testing.assert_array_equal(_cube(tmp_path / "a.zarr"), _cube(tmp_path / "b.zarr"))
    few = stations[~stations["station_id"].isin(stations["station_id"].iloc[:12])]
    with pytest.raises(InputError, match=r"^12 station id\(s\) of the table are not in the "
                                          r"station set: \[(\d+, ){9}\d+\]; add them"):
        stream_batch(csv, tmp_path / "c.zarr", stations=few, **kw)


def test_the_chunk_size_comes_from_the_budget_or_the_memory_limit(tmp_path, stations,
                                                                  monkeypatch):
    from kwxmap.interpolate import memory
    from kwxmap.stream.batch import chunk_hours_for

    csv = tmp_path / "t.csv"
    _table(stations, 3).to_csv(csv, index=False)
    kw = dict(resolution=20_000.0, region=REGION, method="idw", progress=False)
    # the national 1 km grid: the default budget gives fewer hours than a month
    stream_batch(csv, tmp_path / "a.zarr", resolution=1000.0, method="idw", progress=False)
    cells = kwxmap.make_grid(resolution=1000.0).mask.size
    assert zarr.open_group(str(tmp_path / "a.zarr"), mode="r").attrs["chunk_hours"] == (
        chunk_hours_for(cells)) < 744
    monkeypatch.setattr(memory, "held_memory", lambda: 500 * 2**20)
    with pytest.raises(InputError, match=r"^the memory limit of 400 MiB \(--max-memory\) is "
                                          r"below what one hour of a 20000 m store needs "
                                          r"besides the 500 MiB the run holds"):
        stream_batch(csv, tmp_path / "b.zarr", max_memory="400MB", **kw)
    assert not (tmp_path / "b.zarr").exists()


def test_resuming_under_a_limit_too_small_for_the_stores_chunks_is_refused(
        tmp_path, stations, monkeypatch):
    from kwxmap.interpolate import memory

    csv = tmp_path / "t.csv"
    _table(stations, 6).to_csv(csv, index=False)
    kw = dict(resolution=20_000.0, region=REGION, method="idw", progress=False)
    res = stream_batch(csv, tmp_path / "s.zarr", chunk_hours=6, **kw)
    assert 0 <= res.driver_seconds <= res.seconds and 0 <= res.setup_seconds <= res.seconds
    group = zarr.open_group(str(tmp_path / "s.zarr"), mode="r+")
    group["complete"][3:] = 0
    with pytest.warns(KwxmapWarning, match="in its own chunks of 6 hours, not 4"):
        smaller = stream_batch(csv, tmp_path / "s.zarr", resume=True, chunk_hours=4, **kw)
    assert (smaller.computed, smaller.skipped) == (6, 0)  # the store's one chunk of 6, redone
    group["complete"][3:] = 0
    cells = kwxmap.make_grid(REGION, resolution=20_000.0).mask.size
    grid = kwxmap.make_grid(REGION, resolution=20_000.0)
    monkeypatch.setattr(memory, "held_memory", lambda: 100 * 2**20)
    one_map = memory.estimate_memory(grid, "idw")
    # room for exactly 5 hours (3 x 8 bytes per cell each), or exactly 6
    for hours, refused in ((5, True), (6, False)):
        limit = 100 * 2**20 + one_map + hours * 3 * 8 * cells
        if refused:
            with pytest.raises(InputError, match=r"written in chunks of 6 hours, more than the "
                                                  r"5 that fit --max-memory"):
                stream_batch(csv, tmp_path / "s.zarr", resume=True, max_memory=limit, **kw)
        else:
            again = stream_batch(csv, tmp_path / "s.zarr", resume=True, max_memory=limit, **kw)
            assert (again.computed, again.skipped) == (6, 0)


def test_scores_need_four_stations_and_maps_three(stations):
    from kwxmap.stream.tasks import _Loo, _prepare

    xy = np.column_stack([np.arange(6) * 30_000.0, np.arange(6) * 17_000.0]) + 1e6
    loo = _Loo("idw", {}, xy, None, None, None, 5179)
    v = np.array([[1.0, 2.0, 4.0, 3.0, np.nan, np.nan],  # four stations: a score
                  [1.0, 2.0, 4.0, np.nan, np.nan, np.nan]])  # three: none
    rmse = loo.rmse(v)
    assert np.isnan(rmse[1]) and np.isfinite(rmse[0])
    gdf = gpd.GeoDataFrame({"temperature_c": v[0, :4]},
                           geometry=gpd.points_from_xy(xy[:4, 0], xy[:4, 1]), crs=5179)
    assert rmse[0] == pytest.approx(kwxmap.cross_validate(gdf, "idw", elevation=None).rmse,
                                    rel=1e-12)
    rows = pd.DataFrame({"time": pd.to_datetime(["2024-01-01"] * 3 + ["2024-01-02"] * 2),
                         "station_id": [1, 2, 3, 1, 2], "temperature_c": [1.0, 2, 3, 4, 5]})
    work = _prepare(rows, pd.DatetimeIndex(["2024-01-01", "2024-01-02"]), 0, 0,
                    np.array([1, 2, 3]), "temperature_c")
    assert work.valid.tolist() == [True, False] and work.n_stations.tolist() == [3, 2]


def test_a_local_cluster_of_one_worker_is_made_and_closed_and_bad_counts_refused():
    from kwxmap.stream.tasks import _executor

    for bad in ("local:0", "local:two", "local:-1"):
        with pytest.raises(InputError, match="the worker count must be a positive number"):
            _executor(bad)
    with pytest.raises(InputError, match="is not valid; use 'local'"):
        _executor("threads")
    one = _executor("local:1")
    try:
        assert one.workers == 1
        assert one.submit(pow, 3, 4).result() == 81
    finally:
        one.close()
    assert one.cluster.status.name == "closed"
