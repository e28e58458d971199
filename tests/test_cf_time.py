"""One instant, one day: every CF output selects to the same map in xarray.

An hour of KST readings written by ``map --netcdf``, ``batch --netcdf``,
``batch --zarr`` and the store's NetCDF copy is found by its KST time
converted to UTC (09:00 KST is 00:00 UTC), and holds the same surface in
each; a daily series is found by its KST date, whose bounds run from KST
midnight to midnight. The NetCDF files pass compliance-checker's CF 1.8
suite and GDAL places the Zarr store in its CRS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "data" / "kma_asos_daily_2020.csv"
FAST = ["--resolution", "25000", "--method", "idw", "--elevation", "lapse"]
DAYS = ["2020-08-01", "2020-08-02", "2020-08-03"]


def _tables(tmp_path: Path) -> tuple[Path, Path]:
    """Three days of the bundled ASOS example, and the same values as three KST hours."""
    d = pd.read_csv(EXAMPLE)
    d = d[d["time"].isin(DAYS)].rename(columns={"stn_id": "station_id",
                                                 "temp_c": "temperature_c"})
    daily = tmp_path / "daily.csv"
    d[["time", "station_id", "temperature_c"]].to_csv(daily, index=False)
    hours = dict(zip(DAYS, ["2026-12-01 09:00", "2026-12-01 10:00", "2026-12-01 11:00"],
                     strict=True))
    hourly = tmp_path / "hourly.csv"
    d.assign(time=d["time"].map(hours))[["time", "station_id", "temperature_c"]].to_csv(
        hourly, index=False)
    return daily, hourly


def kwxmap_cli(*args: str) -> None:
    """The command line in this process (the console script calls the same ``main``)."""
    from kwxmap.cli import main

    assert main(list(args)) == 0, args


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    """Every CF output once: batch and Zarr batch of the days and the hours, single maps."""
    tmp = tmp_path_factory.mktemp("cf")
    daily, hourly = _tables(tmp)
    out = {}
    for name, table in (("d", daily), ("h", hourly)):
        kwxmap_cli("batch", str(table), "-o", str(tmp / name), "--netcdf", *FAST)
        kwxmap_cli("batch", str(table), "-o", str(tmp / f"{name}z"), "--netcdf", "--zarr",
                   str(tmp / f"{name}z" / "s.zarr"), *FAST)
        out[name] = tmp / name / "grids.nc"
        out[f"{name}z"] = tmp / f"{name}z" / "grids.nc"
        out[f"{name}zarr"] = tmp / f"{name}z" / "s.zarr"
    kwxmap_cli("map", str(hourly), "--time", "2026-12-01T10:00", "-o", str(tmp / "m.html"),
               "--netcdf", str(tmp / "m.nc"), *FAST)
    out["m"] = tmp / "m.nc"
    for day in DAYS:  # each day's map on its own, from the same readings
        kwxmap_cli("map", str(daily), "--time", day, "-o", str(tmp / f"{day}.html"),
                   "--netcdf", str(tmp / f"{day}.nc"), *FAST)
        out[day] = tmp / f"{day}.nc"
    return out


def _open(path: Path):
    return xr.open_zarr(path) if path.suffix == ".zarr" else xr.open_dataset(path)


def test_an_instant_selects_by_its_utc_time_to_the_same_map_in_every_output(made):
    utc = np.datetime64("2026-12-01T01:00")  # 10:00 KST
    with _open(made["m"]) as ds:
        one = ds["temperature_c"].sel(time=utc).values
        assert (ds["time"].values == utc).all()
    assert np.isfinite(one).sum() > 50
    for path in (made["h"], made["hzarr"], made["hz"]):
        with _open(path) as ds:
            assert (ds["time"].values == pd.to_datetime(
                ["2026-12-01 00:00", "2026-12-01 01:00", "2026-12-01 02:00"])).all(), path
            np.testing.assert_allclose(ds["temperature_c"].sel(time=utc).values, one,
                                       atol=1e-4, err_msg=str(path))
            assert ds["time"].encoding["units"] == "minutes since 1970-01-01"


def test_a_daily_series_selects_by_its_kst_date_with_bounds(made):
    alone = {}
    for day in DAYS:
        with xr.open_dataset(made[day]) as ds:
            alone[day] = ds["temperature_c"].values[0]
    for path in (made["d"], made["dzarr"], made["dz"]):
        with _open(path) as ds:
            for day in DAYS:
                got = ds.sel(time=day)
                assert got.sizes["time"] == 1, (path, day)
                start, end = got["time_bnds"].values[0]
                assert pd.Timestamp(start) + pd.Timedelta(hours=9) == pd.Timestamp(day)
                assert end - start == np.timedelta64(1, "D")
                np.testing.assert_allclose(got["temperature_c"].values[0], alone[day],
                                           atol=1e-4, err_msg=f"{path} {day}")


@pytest.mark.skipif(shutil.which("compliance-checker") is None and not os.environ.get("CI"),
                    reason="compliance-checker not installed")
@pytest.mark.parametrize("name", ["d", "dz", "h", "hz", "m"])
def test_every_cf_file_passes_the_cf_1_8_suite(made, name):
    nc = made[name]
    out = subprocess.run(
        ["compliance-checker", "--test", "cf:1.8", "-f", "json", "-o", "-", str(nc)],
        capture_output=True, text=True, check=False).stdout
    result = json.loads(out)["cf:1.8"]
    assert (result["high_count"], result["medium_count"]) == (0, 0), (nc, out[:2000])
    with xr.open_dataset(nc) as ds:
        assert ds["temperature_c"].encoding["zlib"]  # compressed like the store


@pytest.mark.skipif(shutil.which("gdalinfo") is None and not os.environ.get("CI"),
                    reason="gdalinfo not installed")
def test_gdal_places_the_zarr_store_in_its_crs(made):
    store = made["hzarr"]
    info = json.loads(subprocess.run(
        ["gdalinfo", "-json", f'ZARR:"{store}":/temperature_c:0'], capture_output=True,
        text=True, check=True).stdout)
    assert info["coordinateSystem"]["wkt"].rstrip().endswith('ID["EPSG",5179]]')
    with xr.open_zarr(store) as ds:
        x, y = ds["x"].values, ds["y"].values
    origin_x, step_x, _, origin_y, _, step_y = info["geoTransform"]
    assert (origin_x + step_x / 2, origin_y + step_y / 2) == pytest.approx((x[0], y[0]))
    assert (step_x, step_y) == pytest.approx((25000.0, -25000.0))
