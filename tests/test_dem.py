"""Tests for kwxmap.dem: the shipped DEM (no rasterio) and user DEMs (rasterio)."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest

from kwxmap import DataError, load_stations, make_grid
from kwxmap.dem import DEM, grid_elevation, read_dem, sample_dem


def test_shipped_dem_layout():
    dem = read_dem()
    assert dem.values.shape == (72, 96)
    assert dem.bounds == pytest.approx((124.0, 33.0, 132.0, 39.0))
    assert dem.dlon == pytest.approx(1 / 12) and dem.dlat == pytest.approx(1 / 12)
    assert np.nanmin(dem.values) >= 0  # below-sea-level codes treated as sea
    assert 1000 < np.nanmax(dem.values) < 2000  # 한라산 1950 m, smoothed by 9 km cells
    assert read_dem() is dem  # cached


def test_bilinear_sampling_reproduces_cell_centres_and_midpoints():
    dem = read_dem()
    lon0, lat0 = 124.0 + 1 / 24, 39.0 - 1 / 24
    j, i = 30, 50
    lon, lat = lon0 + i / 12, lat0 - j / 12
    v = dem.values
    assert dem.sample([lon], [lat])[0] == pytest.approx(v[j, i])
    mid = dem.sample([lon + 1 / 24], [lat - 1 / 24])[0]
    assert mid == pytest.approx(v[j : j + 2, i : i + 2].mean())


def test_outside_is_nan():
    out = read_dem().sample([123.0, 127.0, 133.0], [36.0, 40.0, 36.0])
    assert np.isnan(out).all()


def test_coarse_but_plausible_at_mountain_stations():
    reg = load_stations()
    tr = pyproj.Transformer.from_crs(4326, 5179, always_xy=True)
    names = ["대관령", "태백", "서울", "부산"]
    st = [reg.lookup(n) for n in names]
    xy = np.array([tr.transform(s.lon, s.lat) for s in st])
    z = sample_dem(xy)
    true = np.array([s.elevation_m for s in st])
    # documented errors are up to ~190 m; the DEM still ranks mountains above the coast
    assert np.all(np.abs(z - true) < 250)
    assert z[0] > 400 and z[1] > 400 and z[2] < 200 and z[3] < 200


def test_grid_elevation_masked_and_finite():
    g = make_grid("강원", resolution=20_000)
    z = grid_elevation(g)
    assert np.isnan(z[~g.mask]).all() and np.isfinite(z[g.mask]).all()
    assert np.nanmax(z) > 800


def test_dem_not_covering_region():
    g = make_grid((132.5, 34.0, 133.0, 34.5), resolution=10_000)  # east of the DEM
    with pytest.raises(DataError, match="does not cover the region"):
        grid_elevation(g)
    partial = make_grid((131.0, 36.0, 133.0, 37.0), resolution=10_000)
    with pytest.raises(DataError, match=r"does not cover \d+% of the region"):
        grid_elevation(partial)


def test_custom_dem_object():
    dem = DEM(values=np.full((10, 10), 100.0), west=126.0, north=38.0, dlon=0.2, dlat=0.2)
    z = grid_elevation(make_grid("서울", resolution=5000), dem=dem)
    assert np.allclose(z[np.isfinite(z)], 100.0)


def _write_ramp_tif(path, west, north, nx, ny, res, crs):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import Affine

    x = west + res * (np.arange(nx) + 0.5)
    data = np.tile((x - west) / 100.0, (ny, 1)).astype("float32")  # 1 m per 100 m east
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=nx,
        height=ny,
        count=1,
        dtype="float32",
        crs=crs,
        transform=Affine(res, 0.0, west, 0.0, -res, north),
        nodata=-9999,
    ) as dst:
        dst.write(data, 1)
    return data


def test_user_dem_reprojected_with_rasterio(tmp_path):
    g = make_grid("대전", resolution=2000, crs=5179)
    west, north = g.x[0] - 20_000, g.y[-1] + 20_000
    path = tmp_path / "ramp.tif"
    _write_ramp_tif(path, west, north, 80, 80, 1000.0, "EPSG:5179")
    z = grid_elevation(g, dem=path)
    xx, _ = np.meshgrid(g.x, g.y)
    expected = (xx - west) / 100.0
    assert np.allclose(z[g.mask], expected[g.mask], atol=1.0)


def test_user_dem_not_covering(tmp_path):
    g = make_grid("서울", resolution=2000)
    path = tmp_path / "far.tif"
    _write_ramp_tif(path, 200_000.0, 1_500_000.0, 20, 20, 1000.0, "EPSG:5179")
    with pytest.raises(DataError, match="does not cover"):
        grid_elevation(g, dem=path)


def test_missing_dem_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        grid_elevation(make_grid("서울", resolution=5000), dem=tmp_path / "nope.tif")
    with pytest.raises(DataError, match="does not exist"):
        read_dem(tmp_path / "nope.tif")
