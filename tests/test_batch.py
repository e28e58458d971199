"""interpolate_many: per-pattern weights, exact per timestamp, lazy with dask, NetCDF out."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kwxmap
from kwxmap.errors import InterpolationError, KwxmapError, KwxmapWarning
from kwxmap.grid import make_grid
from kwxmap.interpolate import interpolate, interpolate_many

xr = pytest.importorskip("xarray")
da = pytest.importorskip("dask.array")

pytestmark = pytest.mark.filterwarnings("ignore:.*more than 200 km from the region")

REGION = "충북"
RES = 10_000.0


@pytest.fixture(scope="module")
def stations():
    gdf = kwxmap.load_stations("asos").to_geodataframe()
    return gdf[gdf["active"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def series(stations):
    """12 timestamps with a lapse-rate signal, noise and several missing-station patterns."""
    rng = np.random.default_rng(11)
    t, n = 12, len(stations)
    lat = stations.geometry.y.to_numpy()
    elev = stations["elevation_m"].to_numpy()
    base = 25.0 - 1.2 * (lat - 36.0) - 0.006 * elev
    vals = base[None, :] + rng.normal(0.0, 0.5, (t, n)) + np.arange(t)[:, None] * 0.3
    vals[2, :5] = np.nan
    vals[3, :5] = np.nan  # same pattern as row 2
    vals[5, 10:40] = np.nan
    vals[8, rng.choice(n, 20, replace=False)] = np.nan
    times = pd.date_range("2020-08-01", periods=t, freq="h")
    return vals, times


def _alone(stations, row, **kwargs):
    gdf = stations.assign(temperature_c=row)
    return interpolate(gdf, resolution=RES, region=REGION, **kwargs)


CASES = [
    ("idw", None, {}),
    ("spline", None, {}),
    ("barnes", "lapse", {}),
    ("idw", "fit", {}),
    (
        "kriging",
        None,
        {"variogram_parameters": {"psill": 3.0, "range": 150_000.0, "nugget": 0.2}},
    ),
    (
        "kriging",
        "drift",
        {
            "variogram_model": "spherical",
            "variogram_parameters": {"psill": 1.0, "range": 120_000.0, "nugget": 0.1},
        },
    ),
    (
        "kriging",
        None,
        {"neighbors": 8, "variogram_parameters": {"psill": 3.0, "range": 1e5, "nugget": 0.0}},
    ),
]


@pytest.mark.parametrize(("method", "elevation", "params"), CASES)
def test_each_timestamp_equals_interpolating_it_alone(stations, series, method, elevation, params):
    vals, times = series
    ds = interpolate_many(
        stations,
        vals,
        times=times,
        method=method,
        resolution=RES,
        region=REGION,
        elevation=elevation,
        **params,
    )
    cube = ds.values
    assert cube.shape == (len(times), *ds.shape) and ds.ntimes == len(times)
    for i in (0, 2, 3, 5, 8):
        alone = _alone(stations, vals[i], method=method, elevation=elevation, **params)
        np.testing.assert_allclose(cube[i], alone.values, rtol=0, atol=1e-9, equal_nan=True)
        assert ds.attrs["n_stations"][i] == alone.attrs["n_stations"]
        np.testing.assert_array_equal(ds.at(i).values, cube[i])
    if elevation == "fit":
        for i in (0, 5):
            g = interpolate(
                stations.assign(temperature_c=vals[i]),
                method,
                resolution=RES,
                region=REGION,
                elevation="fit",
            )
            assert ds.attrs["lapse_rate_k_per_km"][i] == pytest.approx(
                g.attrs["lapse_rate_k_per_km"], abs=1e-12
            )


def test_dataset_layout_and_netcdf_round_trip(stations, series, tmp_path):
    vals, times = series
    with warnings.catch_warnings():  # every station of Korea serves a regional series
        warnings.simplefilter("error", KwxmapWarning)
        ds = interpolate_many(
            stations, vals, times=times, method="idw", resolution=RES, region=REGION
        ).to_dataset()
    grid = make_grid(REGION, resolution=RES)
    assert ds["temperature_c"].dims == ("time", "y", "x")
    np.testing.assert_array_equal(ds["x"].values, grid.x)
    np.testing.assert_array_equal(ds["y"].values, grid.y[::-1])  # north-up
    assert ds["lon"].dims == ("y", "x") and 127 < float(ds["lon"].mean()) < 129
    assert (ds["time"].values == times.values).all()
    outside = ~grid.mask[::-1]
    assert np.isnan(ds["temperature_c"].values[:, outside]).all()
    assert np.isfinite(ds["temperature_c"].values[:, grid.mask[::-1]]).all()
    assert ds["n_stations"].dims == ("time",) and "lapse_rate_k_per_km" in ds
    assert ds["temperature_c"].attrs["grid_mapping"] == "spatial_ref"
    path = tmp_path / "grids.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    back = xr.open_dataset(path, engine="h5netcdf")
    try:
        np.testing.assert_array_equal(back["temperature_c"].values, ds["temperature_c"].values)
        from pyproj import CRS

        assert CRS.from_wkt(back["spatial_ref"].attrs["crs_wkt"]).to_epsg() == 5179
        assert (back["time"].values == times.values).all()
    finally:
        back.close()


def test_long_and_wide_tables_equal_the_array(stations, series):
    vals, times = series
    ids = stations["station_id"].to_numpy()
    wide = pd.DataFrame(vals, index=times, columns=ids)
    long = wide.stack(future_stack=True).rename("temperature_c").reset_index()
    long.columns = ["time", "station_id", "temperature_c"]
    long = long.dropna().sample(frac=1.0, random_state=0)  # order must not matter
    kw = {"method": "idw", "resolution": RES, "region": REGION}
    ref = interpolate_many(stations, vals, times=times, **kw).values
    for table in (wide, long):
        got = interpolate_many(stations, table, **kw)
        np.testing.assert_allclose(got.values, ref, atol=1e-12, equal_nan=True)
        assert (got.time == times.values).all()


@pytest.mark.parametrize(
    ("method", "elevation", "params"),
    [
        ("idw", None, {}),
        ("idw", "fit", {}),
        ("kriging", "drift", {"variogram_parameters": [2.0, 1e5, 0.1]}),
    ],
)
def test_dask_stays_lazy_and_equals_eager(stations, series, method, elevation, params):
    vals, times = series
    kw = {"method": method, "resolution": RES, "region": REGION, "elevation": elevation, **params}
    eager = interpolate_many(stations, vals, times=times, **kw)
    lazy = interpolate_many(stations, da.from_array(vals, chunks=(5, -1)), times=times, **kw)
    data = lazy.values
    assert isinstance(data, da.Array)
    assert data.chunks[0] == (5, 5, 2)
    np.testing.assert_allclose(data.compute(), eager.values, atol=1e-12, equal_nan=True)
    if elevation == "fit":
        assert isinstance(lazy.attrs["lapse_rate_k_per_km"], da.Array)
        np.testing.assert_allclose(
            lazy.attrs["lapse_rate_k_per_km"].compute(), eager.attrs["lapse_rate_k_per_km"]
        )


def test_kriging_pooled_variogram(stations, series):
    vals, times = series
    ds = interpolate_many(
        stations,
        vals,
        times=times,
        method="kriging",
        resolution=RES,
        region=REGION,
        elevation="lapse",
    )
    import json

    vg = json.loads(ds.attrs["variogram"])
    assert vg["model"] == "exponential" and vg["range"] > 0
    params = {k: vg[k] for k in ("psill", "range", "nugget")}
    alone = _alone(
        stations, vals[5], method="kriging", elevation="lapse", variogram_parameters=params
    )
    np.testing.assert_allclose(ds.values[5], alone.values, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(ds.attrs["lapse_rate_k_per_km"], 6.5)


def test_too_few_stations_follow_on_invalid(stations, series):
    vals, times = series
    bad = vals.copy()
    bad[4, 2:] = np.nan  # only 2 stations report
    bad[6] = np.nan  # nobody reports: always NaN, never an error
    kw = {"times": times, "method": "idw", "resolution": RES, "region": REGION}
    with pytest.raises(InterpolationError, match=r"1 timestamp\(s\).*2020-08-01 04:00"):
        interpolate_many(stations, bad, **kw)
    with pytest.warns(KwxmapWarning, match="fewer than 3 stations"):
        ds = interpolate_many(stations, bad, on_invalid="warn", **kw)
    cube = ds.values
    assert np.isnan(cube[4]).all() and np.isnan(cube[6]).all()
    assert np.isfinite(cube[5][~np.isnan(cube[0])]).all()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*cannot be interpolated")
        interpolate_many(stations, bad, on_invalid="ignore", **kw)


def test_float32_output(stations, series):
    vals, _ = series
    ds = interpolate_many(
        stations, vals, method="nearest", resolution=RES, region=REGION, dtype="float32"
    )
    assert ds.values.dtype == np.float32
    assert (ds.time == np.arange(len(vals))).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "auto", "power": 2}, "parameters 'power' cannot be passed"),
        ({"method": "idw", "smoothing": 1.0}, "unknown parameter"),
        ({"method": "idw", "on_invalid": "skip"}, "on_invalid must be one of"),
        ({"method": "idw", "times": [1, 2]}, "times has 2 labels"),
        ({"method": "idw", "elevation": "drift"}, "external drift"),
        ({"method": "idw", "dtype": "int32"}, "dtype must be a float"),
    ],
)
def test_bad_arguments(stations, series, kwargs, match):
    vals, _ = series
    with pytest.raises(InterpolationError, match=match):
        interpolate_many(stations, vals, resolution=RES, region=REGION, **kwargs)


def test_bad_values(stations, series):
    vals, times = series
    kw = {"method": "idw", "resolution": RES, "region": REGION}
    with pytest.raises(InterpolationError, match="columns but there are"):
        interpolate_many(stations, vals[:, :-1], **kw)
    long = pd.DataFrame(
        {"time": [times[0]] * 2, "station_id": [108, 999_999], "temperature_c": [1.0, 2.0]}
    )
    with pytest.raises(InterpolationError, match="not in the station set: \\[999999\\]"):
        interpolate_many(stations, long, **kw)
    dup = pd.DataFrame(
        {"time": [times[0]] * 2, "station_id": [108, 108], "temperature_c": [1.0, 2.0]}
    )
    with pytest.raises(InterpolationError, match="duplicate \\(time, station_id\\)"):
        interpolate_many(stations, dup, **kw)


def test_interpolate_many_needs_no_xarray(stations, series, monkeypatch):
    monkeypatch.setitem(sys.modules, "xarray", None)  # as if xarray were not installed
    grid = interpolate_many(stations, series[0], method="idw", resolution=RES, region=REGION)
    assert grid.ntimes == len(series[0]) and np.isfinite(grid.values[:, grid.mask]).all()
    with pytest.raises(ImportError, match=r"pip install \"kwxmap\[xarray\]\""):
        grid.to_dataset()


def test_missing_dask_names_the_extra(stations, series, monkeypatch):
    lazy = da.from_array(series[0], chunks=(4, -1))
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(KwxmapError, match=r"pip install \"kwxmap\[dask\]\""):
        interpolate_many(stations, lazy, method="idw", resolution=RES, region=REGION)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("spline", {}),
        ("kriging", {"variogram_parameters": {"psill": 3.0, "range": 150_000.0, "nugget": 0.2}}),
    ],
)
def test_predictor_drift_columns_equal_interpolating_alone(stations, series, method, params):
    """elevation='predictors': the engine's drift columns (elevation, coast, terrain) at
    stations and cells are those interpolate() builds, for every missing-station pattern."""
    vals, times = series
    ds = interpolate_many(stations, vals, times=times, method=method, resolution=RES,
                          region=REGION, elevation="predictors", **params)
    assert ds.attrs["elevation"] == "predictors"
    for i in (0, 2, 5, 8):
        alone = _alone(stations, vals[i], method=method, elevation="predictors", **params)
        np.testing.assert_allclose(ds.values[i], alone.values, rtol=0, atol=1e-9,
                                   equal_nan=True)


def test_auto_maps_each_timestamp_as_interpolate_alone(stations, series):
    """auto in batch: each timestamp's choice and map are interpolate()'s on it
    alone (its own comparison and variogram), whatever the rest of the batch."""
    vals, times = series
    ds = interpolate_many(stations, vals, times=times, resolution=RES, region=REGION,
                          method="auto")
    labels = ds.attrs["method_per_time"]
    assert ds.attrs["method"] == "auto" and len(labels) == len(times)
    for i in (0, 2, 5, 8):
        alone = _alone(stations, vals[i], method="auto")
        assert labels[i] == f"{alone.attrs['method']}+{alone.attrs['elevation']}"
        np.testing.assert_allclose(ds.values[i], alone.values, rtol=0, atol=1e-9,
                                   equal_nan=True)
    part = interpolate_many(stations, vals[4:9], times=times[4:9], resolution=RES,
                            region=REGION, method="auto")  # another batch: same maps
    np.testing.assert_array_equal(part.values, ds.values[4:9])


def test_auto_needs_values_in_memory(stations, series):
    vals, _ = series
    with pytest.raises(InterpolationError, match="auto' chooses per timestamp"):
        interpolate_many(stations, da.from_array(vals, chunks=(4, -1)), resolution=RES,
                         region=REGION, method="auto")


def test_dem_recorded_like_interpolate(stations, series):
    """The series records its DEM as interpolate() does, so a batch map credits a
    downloaded one; auto's per-timestamp choice comes with each timestamp."""
    vals, times = series
    ds = interpolate_many(stations, vals[:2], times=times[:2], resolution=RES, region=REGION,
                          method="auto")
    alone = _alone(stations, vals[0], method="auto")
    assert ds.attrs["dem"] == alone.attrs["dem"] == "shipped"
    one = ds.at(0)
    assert one.attrs["dem"] == "shipped"
    assert one.attrs["method_per_time"] == f"{alone.attrs['method']}+{alone.attrs['elevation']}"
    none = interpolate_many(stations, vals[:1], method="idw", resolution=RES, region=REGION,
                            elevation=None)
    assert "dem" not in none.attrs


def test_an_animation_that_outgrows_the_memory_limit_stops_and_pages_per_map_do_not(
        tmp_path, monkeypatch):
    """One page per map holds nothing between maps; an animation's frames count against
    --max-memory, so a limit just above what the pages need stops it, writing nothing.
    (What the process holds is fixed here so the budget is exact; the real resident
    memory is checked by the test below.)"""
    from kwxmap import render_batch
    from kwxmap.errors import OutputError
    from kwxmap.interpolate.memory import (
        BYTES_PER_CELL_TIME,
        DRAW_BYTES_PER_BOX_CELL,
        estimate_memory,
    )

    ids = [108, 105, 133, 159, 156, 143, 184, 112, 131, 146]
    times = pd.date_range("2020-01-01", periods=12, freq="h")
    long = pd.DataFrame([(sid, t, 10 + k + i / 3) for k, t in enumerate(times)
                         for i, sid in enumerate(ids)],
                        columns=["station_id", "time", "temperature_c"])
    import importlib

    memory = importlib.import_module("kwxmap.interpolate.memory")
    series = importlib.import_module("kwxmap.series")

    held = 200 * 2**20
    monkeypatch.setattr(memory, "held_memory", lambda: held)
    monkeypatch.setattr(series, "held_memory", lambda: held)
    grid = make_grid("south-korea", resolution=20000)
    box = grid.mask.size
    need = (held + estimate_memory(grid, "idw")
            + (DRAW_BYTES_PER_BOX_CELL + 12 * BYTES_PER_CELL_TIME) * box)
    tight = dict(resolution=20000, tiles=None, method="idw", max_memory=need)
    pages = render_batch(long, tmp_path / "pages", **tight)
    assert len(pages.maps) == 12 and not pages.failed
    with pytest.raises(OutputError, match=r"an animation of 12 maps does not fit in the memory "
                                          r"limit \(--max-memory; its frames reached it at "
                                          r"frame \d+\)"):
        render_batch(long, tmp_path / "anim", animate=True, **tight)
    assert not (tmp_path / "anim").exists()
    roomy = render_batch(long, tmp_path / "anim", animate=True,
                         **{**tight, "max_memory": need + 50 * 2**20})
    assert roomy.frames == 12


PEAK = """
import resource, sys
from kwxmap.cli import main
code = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, code)
"""


@pytest.mark.parametrize("how", [
    [],
    ["--zarr", "{out}/g.zarr"],
    # a province at 400 m: a box of 562 x 904 cells, most of them outside the region (the
    # interpolation's work blocks were 64 MB here, uncounted: it peaked at 409 MiB)
    ["--zarr", "{out}/g.zarr", "--region", "경북", "--resolution", "400"],
], ids=["pages", "zarr", "zarr-province"])
def test_max_memory_bounds_the_whole_run_within_10_percent(tmp_path, how):
    """``--max-memory 360MB`` on 30 days at 1 km: the run's peak resident memory (what
    ``time -v`` reports) is at most 10 % over it, the maps are all there, and a limit
    below what one map needs is one error line before any work. (Unchunked, the grids
    alone take 30 x 6.4 MB over the ~190 MB the run holds before them: over the limit.)"""
    import subprocess

    daily = pd.read_csv(Path(__file__).parents[1] / "examples" / "data" /
                        "kma_asos_daily_2020.csv")
    days = sorted(daily["time"].unique())[:30]
    table = tmp_path / "days.csv"
    daily[daily["time"].isin(days)].to_csv(table, index=False)
    args = ["batch", str(table), "-o", str(tmp_path / "out"), "--resolution", "1000",
            "--tiles", "none", *(a.format(out=tmp_path / "out") for a in how)]
    run = subprocess.run([sys.executable, "-c", PEAK, *args, "--max-memory", "360MB"],
                         capture_output=True, text=True, timeout=300, check=False)
    peak, code = run.stdout.split()
    assert code == "0", run.stderr
    assert int(peak) <= 1.10 * 360 * 2**20, f"peak {int(peak) / 2**20:.0f} MiB"
    if how:
        assert xr.open_zarr(tmp_path / "out" / "g.zarr")["temperature_c"].shape[0] == 30
    else:
        assert len(list((tmp_path / "out").glob("2020-*.html"))) == 30
    small = subprocess.run([sys.executable, "-c", PEAK, *args, "--max-memory", "150MB"],
                           capture_output=True, text=True, timeout=300, check=False)
    assert small.stdout.split()[1] == "1"
    assert small.stderr.count("\n") == 1 and "150 MiB" in small.stderr, small.stderr


def test_edge_patterns_equal_interpolating_alone_and_too_few_stay_empty(stations, series):
    """The default (kriging with predictors) and IDW on rows at the edges of the rules: the
    first row with two stations, a row of exactly three, a row under the predictors'
    minimum; each row is interpolate() of that row alone, or NaN with its time said."""
    from kwxmap.interpolate.elevation import MIN_STATIONS_PREDICTORS

    vals, times = series
    edge = vals[:5].copy()
    edge[0, 2:] = np.nan  # two stations: no map, and said, although it is the first row
    edge[1, 3:] = np.nan  # exactly three
    edge[2, MIN_STATIONS_PREDICTORS - 1:] = np.nan  # one under the predictors' minimum
    for method in ("idw", "kriging"):
        kw = {"times": times[:5], "method": method, "resolution": RES, "region": REGION}
        if method == "kriging":
            kw["variogram_parameters"] = {"psill": 3.0, "range": 150_000.0, "nugget": 0.2}
        with pytest.warns(KwxmapWarning, match=r"^1 timestamp\(s\) cannot be interpolated "
                                                r"\(fewer than 3 stations reporting\): "
                                                r"2020-08-01 00:00:00; their maps are NaN$"):
            cube = interpolate_many(stations, edge, on_invalid="warn", **kw).values
        assert np.isnan(cube[0]).all(), method
        for i in (1, 2, 3):
            alone = _alone(stations, edge[i], **{k: v for k, v in kw.items()
                                                 if k not in ("times", "resolution", "region")})
            np.testing.assert_allclose(cube[i], alone.values, atol=1e-9, rtol=0,
                                       err_msg=f"{method} row {i}")


def _mixed_networks():
    """ASOS sites and 30 AWS sites over 5 km from any, with a lapse-and-latitude field."""
    reg = kwxmap.load_stations().to_geodataframe()
    reg = reg[reg["active"]]
    asos = reg[reg["network"] == "ASOS"]
    aws = reg[reg["network"] == "AWS"]
    aws = aws[aws.to_crs(5179).distance(asos.to_crs(5179).union_all()) > 5000].iloc[:30]
    both = pd.concat([asos, aws]).reset_index(drop=True)
    rng = np.random.default_rng(9)
    lat, elev = both.geometry.y.to_numpy(), both["elevation_m"].to_numpy()
    row = 24.0 - 1.1 * (lat - 36.0) - 0.0065 * elev + rng.normal(0, 0.4, len(both))
    rows = np.vstack([row, row - 0.8 + rng.normal(0, 0.2, len(both))])
    rows[1, ::7] = np.nan
    return both, rows, pd.date_range("2024-01-01", periods=2, freq="h")


def test_the_network_column_follows_each_rows_count_of_aws_sites():
    """ASOS and AWS sites together: a row with fewer than MIN_PER_NETWORK AWS sites drops the
    network predictor, a row with more keeps it; each equals interpolate() of the row."""
    from kwxmap.interpolate.elevation import MIN_PER_NETWORK

    both, rows, times = _mixed_networks()
    is_aws = (both["network"] == "AWS").to_numpy()
    rows[0, np.flatnonzero(is_aws)[MIN_PER_NETWORK - 1:]] = np.nan  # 9 AWS sites left
    kw = {"method": "kriging", "resolution": RES, "region": REGION,
          "variogram_parameters": {"psill": 3.0, "range": 150_000.0, "nugget": 0.2}}
    cube = interpolate_many(both, rows, times=times, **kw).values
    for i in (0, 1):
        alone = interpolate(both.assign(temperature_c=rows[i]), **kw)
        np.testing.assert_allclose(cube[i], alone.values, atol=1e-9, rtol=0, err_msg=str(i))




def test_auto_over_two_networks_and_without_honouring_equals_each_row_alone():
    both, rows, times = _mixed_networks()
    kw = {"resolution": RES, "region": REGION}
    for extra in ({"method": "auto"}, {"method": "idw", "elevation": "lapse",
                                        "honour_readings": False}):
        ds = interpolate_many(both, rows, times=times, **kw, **extra)
        for i in (0, 1):
            alone = interpolate(both.assign(temperature_c=rows[i]), **kw, **extra)
            np.testing.assert_allclose(ds.values[i], alone.values, atol=1e-9, rtol=0,
                                       equal_nan=True, err_msg=f"{extra} row {i}")
            if extra["method"] == "auto":
                assert ds.attrs["method_per_time"][i] == (
                    f"{alone.attrs['method']}+{alone.attrs['elevation']}")
                rate = alone.attrs.get("lapse_rate_k_per_km")
                got = ds.attrs["lapse_rate_k_per_km"][i]
                assert (np.isnan(got) if rate is None else np.isclose(got, rate)), (got, rate)


def test_a_lazy_series_reports_a_row_of_its_second_chunk_by_its_own_time(stations, series):
    vals, times = series
    bad = vals.copy()
    bad[7, 2:] = np.nan  # two stations, in the second chunk of five
    lazy = da.from_array(bad, chunks=(5, -1))
    kw = {"times": times, "method": "idw", "resolution": RES, "region": REGION}
    with pytest.warns(KwxmapWarning, match=r"\): 2020-08-01 07:00:00; their maps are NaN$"):
        cube = interpolate_many(stations, lazy, on_invalid="warn", **kw).values
        cube = np.asarray(cube)
    eager = interpolate_many(stations, bad, on_invalid="ignore", **kw).values
    np.testing.assert_array_equal(cube, eager)


def test_a_series_records_its_parameters_and_dem(stations, series, tmp_path):
    vals, times = series
    kw = {"times": times[:2], "resolution": RES, "region": REGION}
    ds = interpolate_many(stations, vals[:2], method="idw", k=5, **kw)
    assert ds.attrs["params"] == {"k": 5} and ds.attrs["elevation"] == "lapse"
    assert ds.attrs["dem"] == "shipped"
    assert ds.attrs["n_stations"].tolist() == np.isfinite(vals[:2]).sum(axis=1).tolist()
    vg = {"psill": 3.0, "range": 150_000.0, "nugget": 0.2}
    ds = interpolate_many(stations, vals[:2], method="kriging", nlags=10,
                          variogram_parameters=vg, elevation=None, **kw)
    assert ds.attrs["params"] == {"nlags": 10} and "dem" not in ds.attrs


def test_the_station_set_needs_three_and_far_stations_are_named(stations, series):
    vals, times = series
    three = stations.iloc[:3]
    ds = interpolate_many(three, vals[:1, :3], times=times[:1], method="idw", resolution=RES,
                          region=REGION)
    assert np.isfinite(ds.values[0][make_grid(REGION, resolution=RES).mask]).all()
    with pytest.raises(InterpolationError, match="has 2 station"):
        interpolate_many(stations.iloc[:2], vals[:1, :2], times=times[:1], method="idw",
                         resolution=RES, region=REGION)
    import shapely

    far = stations.iloc[:10].copy()
    far["station_id"] = np.arange(900, 910)
    far["geometry"] = [shapely.Point(140.0 + i / 10, 40.0) for i in range(10)]  # off Japan
    with_far = pd.concat([stations, far]).reset_index(drop=True)
    row = np.concatenate([vals[0], np.full(10, 20.0)])
    with pytest.warns(KwxmapWarning, match=r"^10 station\(s\) more than 200 km from the region "
                                            r"are ignored: 900, 901, 902, 903, 904, 905, 906, "
                                            r"907 \.\.\.$"):
        ds = interpolate_many(with_far, row[None], times=times[:1], method="idw",
                              resolution=RES, region=REGION)
    alone = interpolate_many(stations, vals[:1], times=times[:1], method="idw",
                             resolution=RES, region=REGION)
    np.testing.assert_array_equal(ds.values, alone.values)


@pytest.mark.parametrize("elevation", [None, "lapse"])
def test_the_shared_variogram_is_the_one_the_series_is_kriged_with(stations, series, elevation):
    import json

    from kwxmap.interpolate.batch import shared_variogram

    vals, times = series
    ds = interpolate_many(stations, vals, times=times, method="kriging", resolution=RES,
                          region=REGION, elevation=elevation)
    vg = json.loads(ds.attrs["variogram"])
    shared = shared_variogram(stations, vals, times=times, resolution=RES, region=REGION,
                              elevation=elevation)
    for key in ("psill", "range", "nugget"):
        assert shared.as_dict()[key] == pytest.approx(vg[key], rel=1e-12), key


def test_auto_with_fitted_lapse_rates_records_each_rows_rate(stations, series):
    vals, times = series
    ds = interpolate_many(stations, vals[:3], times=times[:3], resolution=RES, region=REGION,
                          method="auto", elevation="fit")
    for i in range(3):
        alone = _alone(stations, vals[i], method="auto", elevation="fit")
        rate = alone.attrs.get("lapse_rate_k_per_km")
        assert rate is not None and np.isfinite(rate)
        assert ds.attrs["lapse_rate_k_per_km"][i] == pytest.approx(rate, rel=1e-12)


def test_exactly_eight_far_stations_are_all_named(stations, series):
    import shapely

    vals, times = series
    far = stations.iloc[:8].copy()
    far["station_id"] = np.arange(900, 908)
    far["geometry"] = [shapely.Point(140.0 + i / 10, 40.0) for i in range(8)]
    with pytest.warns(KwxmapWarning, match=r"ignored: 900, 901, 902, 903, 904, 905, 906, 907$"):
        interpolate_many(pd.concat([stations, far]).reset_index(drop=True),
                         np.concatenate([vals[0], np.full(8, 20.0)])[None], times=times[:1],
                         method="idw", resolution=RES, region=REGION)
