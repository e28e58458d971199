"""Tests for kwxmap.grid: regions, masks, transforms, conversions."""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from shapely.geometry import box

import kwxmap
from kwxmap import Grid, RegionError, load_provinces, make_grid, resolve_region
from kwxmap.grid import MAX_CELLS

TO_5179 = pyproj.Transformer.from_crs(4326, 5179, always_xy=True)


def _inside(grid: Grid, lon: float, lat: float) -> bool:
    x, y = TO_5179.transform(lon, lat)
    i = int(np.argmin(abs(grid.x - x)))
    j = int(np.argmin(abs(grid.y - y)))
    return bool(grid.mask[j, i])


def test_load_provinces_columns_and_names():
    prov = load_provinces()
    assert len(prov) == 17
    assert list(prov.columns) == ["name_ko", "name_en", "short", "code", "geometry"]
    assert prov.crs.to_epsg() == 4326
    assert prov["short"].is_unique and prov["name_en"].is_unique
    assert {"충북", "서울", "전남", "제주"} <= set(prov["short"])
    # a fresh copy each call: mutating one does not leak into the next
    prov.loc[0, "name_en"] = "changed"
    assert load_provinces().loc[0, "name_en"] != "changed"


@pytest.mark.parametrize(
    "name",
    [
        "충청북도",
        "충북",
        "Chungbuk",
        "chungbuk-do",
        "chungcheongbuk-do",
        "CHUNGBUK",
        " 충북 ",
        "33",
    ],
)
def test_province_names_resolve_to_same_geometry(name):
    assert resolve_region(name).equals(resolve_region("충북"))


def test_province_area_matches_projected_polygon():
    prov = load_provinces().set_index("short")
    expected = prov.loc[["전남"]].to_crs(5179).area.iloc[0]
    assert resolve_region("전남").area == pytest.approx(expected, rel=1e-3)


def test_south_korea_is_union_with_islands():
    g = make_grid(resolution=5000)
    for lon, lat in [(126.53, 33.38), (130.86, 37.50), (126.98, 37.57)]:  # 제주, 울릉도, 서울
        assert _inside(g, lon, lat)
    assert not _inside(g, 125.0, 36.0)  # Yellow Sea
    assert not _inside(g, 126.55, 37.97)  # 개성 (Kaesong), inside the bounding box


@pytest.mark.parametrize(
    ("region", "match"),
    [
        ("충묵", "unknown region '충묵'; did you mean 충북"),
        ("Chungbok", "did you mean 충북 \\(Chungbuk\\)"),
        ("Atlantis", "unknown region 'Atlantis'"),
        ((130.0, 36.0, 128.0, 37.0), "west < east"),
        ((126.0, 36.0, 127.0), "cannot use"),
        ((1e6, 2e6, 1.1e6, 2.1e6), "not longitude/latitude"),
        (shapely.Point(127, 37), "no area"),
        (42, "cannot use 42"),
    ],
)
def test_bad_regions(region, match):
    with pytest.raises(RegionError, match=match):
        resolve_region(region)


@pytest.mark.parametrize("i", range(4))
@pytest.mark.parametrize("side", [-1, 1])
def test_lon_lat_bounds_are_inclusive_at_180_and_90(i, side):
    """Each of west, south, east, north may reach ±180/±90 exactly, and not a step
    beyond (the rule that tells lon/lat from projected metres)."""
    from kwxmap.regions import _check_lonlat_bounds

    limit = [180.0, 90.0, 180.0, 90.0][i]
    bounds = [0.0, 0.0, 0.0, 0.0]
    bounds[i] = side * limit
    _check_lonlat_bounds(bounds, "bbox")  # at the limit: degrees
    bounds[i] = side * (limit + 1e-9)
    with pytest.raises(RegionError, match="not longitude/latitude"):
        _check_lonlat_bounds(bounds, "bbox")


@pytest.mark.parametrize("bbox", [(127.0, 36.0, 127.0, 37.0), (126.0, 36.5, 127.0, 36.5)])
def test_a_bbox_of_no_width_or_height_is_refused(bbox):
    with pytest.raises(RegionError, match="west < east and south < north"):
        resolve_region(bbox)


def test_bbox_and_geometry_regions():
    bbox = (126.5, 36.0, 127.5, 37.0)
    geom = resolve_region(bbox)
    assert geom.equals(resolve_region(box(*bbox)))
    # ~ 1 deg lon x 1 deg lat at 36.5 N
    assert geom.area / 1e6 == pytest.approx(89.5 * 111.1, rel=0.02)


def test_geodataframe_region_with_crs():
    prov = load_provinces()
    sub = prov[prov["short"].isin(["대전", "세종"])].to_crs(5186)
    geom = resolve_region(sub)
    expected = resolve_region("대전").union(resolve_region("세종"))
    assert geom.symmetric_difference(expected).area / expected.area < 1e-3
    with pytest.raises(RegionError, match="no CRS"):
        resolve_region(gpd.GeoDataFrame(geometry=[box(127, 36, 128, 37)]))


def test_geodataframe_region_invalid_or_mislabelled():
    # two overlapping bow-ties: the union raised a raw GEOS TopologyException
    bows = [
        shapely.Polygon([(x, 36), (x + 1, 37), (x + 1, 36), (x, 37), (x, 36)])
        for x in (127.0, 127.5)
    ]
    geom = resolve_region(gpd.GeoSeries(bows, crs=4326))
    assert geom.is_valid and geom.area > 0
    # metres labelled as degrees: say so, not "has no area"
    metres = gpd.GeoSeries([box(900_000, 1_800_000, 1_000_000, 1_900_000)], crs=4326)
    with pytest.raises(RegionError, match="not longitude/latitude degrees"):
        resolve_region(metres)


def test_make_grid_alignment_transform_and_mask_area():
    res = 5000.0
    g = make_grid("충북", resolution=res)
    assert g.crs.to_epsg() == 5179
    assert np.all(np.diff(g.x) == res) and np.all(np.diff(g.y) == res)
    assert np.allclose((g.x - res / 2) % res, 0) and np.allclose((g.y - res / 2) % res, 0)
    x0, dx, r1, y0, r2, dy = g.transform
    assert (dx, dy, r1, r2) == (res, res, 0.0, 0.0)
    assert x0 + dx / 2 == g.x[0] and y0 + dy / 2 == g.y[0]
    assert g.values.shape == g.mask.shape == g.shape == (g.y.size, g.x.size)
    assert np.isnan(g.values).all()
    assert g.mask.sum() * res**2 == pytest.approx(g.region.area, rel=0.05)
    minx, miny, maxx, maxy = g.region.bounds
    assert g.x[0] - res / 2 <= minx and g.x[-1] + res / 2 >= maxx
    assert g.y[0] - res / 2 <= miny and g.y[-1] + res / 2 >= maxy


def test_make_grid_epsg5186_and_bad_crs():
    g = make_grid("서울", resolution=2000, crs=5186)
    assert g.crs.to_epsg() == 5186 and g.mask.any()
    with pytest.raises(RegionError, match="not supported"):
        make_grid("서울", crs=4326)
    with pytest.raises(RegionError, match="unknown grid crs"):
        make_grid("서울", crs="no such crs")


@pytest.mark.parametrize("resolution", [0, -1000, float("nan"), float("inf"), "1km", None])
def test_bad_resolution(resolution):
    with pytest.raises(RegionError, match="resolution must be a positive number"):
        make_grid("서울", resolution=resolution)


def test_too_many_cells_refused_with_estimate():
    """The refusal names the grid it would be (worked from the region's bounds) and its
    working arrays (four float64 arrays a cell)."""
    import math
    import re

    minx, miny, maxx, maxy = resolve_region("south-korea", crs=5179).bounds
    nx = math.ceil((maxx - math.floor(minx / 50) * 50) / 50)
    ny = math.ceil((maxy - math.floor(miny / 50) * 50) / 50)
    want = (f"resolution 50 m gives a {ny} x {nx} grid ({nx * ny:,} cells, "
            f"~{nx * ny * 32 / 1e9:.1f} GB of working arrays), more than the limit of "
            f"{MAX_CELLS:,} cells")
    with pytest.raises(RegionError, match=re.escape(want)):
        make_grid(resolution=50)
    assert MAX_CELLS >= 3_000 * 3_000  # a 250 m national grid fits


def test_buffer_grows_mask():
    a = make_grid("서울", resolution=2000)
    b = make_grid("서울", resolution=2000, buffer=5000)
    assert b.mask.sum() > a.mask.sum()
    with pytest.raises(RegionError, match="buffer"):
        make_grid("서울", buffer=-1)


def test_national_mask_is_fast():
    make_grid(resolution=5000)  # warm the province cache
    t0 = time.perf_counter()
    g = make_grid(resolution=1000)
    elapsed = time.perf_counter() - t0
    assert g.shape[0] * g.shape[1] > 350_000
    assert 95_000 < g.mask.sum() < 105_000  # South Korea is ~100,000 km²
    assert elapsed < 2.0


def test_lonlat_roundtrip():
    g = make_grid("제주", resolution=10_000)
    lon, lat = g.lonlat()
    x, y = TO_5179.transform(lon, lat)
    xx, yy = np.meshgrid(g.x, g.y)
    assert np.allclose(x, xx, atol=1e-3) and np.allclose(y, yy, atol=1e-3)
    assert 126 < lon.mean() < 127 and 33 < lat.mean() < 34


def test_cell_xy_order_matches_mask():
    g = make_grid("대전", resolution=2000)
    xy = g.cell_xy()
    assert xy.shape == (g.mask.sum(), 2)
    xx, yy = np.meshgrid(g.x, g.y)
    assert np.array_equal(xy[:, 0], xx[g.mask]) and np.array_equal(xy[:, 1], yy[g.mask])
    assert g.cell_xy(masked=False).shape == (g.x.size * g.y.size, 2)


def test_copy_and_to_xarray():
    g = make_grid("서울", resolution=5000)
    h = g.copy(values=np.where(g.mask, 3.0, np.nan), name="temperature_c", attrs={"m": "x"})
    assert np.isnan(g.values).all() and np.nanmax(h.values) == 3.0
    assert h.region is g.region and h.mask is not g.mask
    da = h.to_xarray()
    assert da.name == "temperature_c" and da.dims == ("y", "x")
    assert np.array_equal(da["x"].values, g.x) and da.attrs["crs"] == "EPSG:5179"
    assert da.attrs["m"] == "x" and da.attrs["units"] == "degC"
    # north-up: the first row is the northernmost
    np.testing.assert_array_equal(da["y"].values, g.y[::-1])
    np.testing.assert_array_equal(da.values, h.values[::-1])
    ref = da["spatial_ref"].attrs
    assert (
        ref["grid_mapping_name"] == "transverse_mercator"
        and da.attrs["grid_mapping"] == "spatial_ref"
    )
    assert pyproj.CRS.from_wkt(ref["crs_wkt"]).to_epsg() == 5179


def test_grid_rejects_mismatched_values():
    g = make_grid("서울", resolution=5000)
    with pytest.raises(ValueError, match="does not match"):
        Grid(x=g.x, y=g.y, values=np.zeros((2, 2)), crs=g.crs, region=g.region, resolution=5000)


def test_to_xarray_without_xarray(monkeypatch):
    import sys

    g = make_grid("서울", resolution=5000)
    monkeypatch.setitem(sys.modules, "xarray", None)  # as if xarray were not installed
    with pytest.raises(ImportError, match=r"pip install \"kwxmap\[xarray\]\""):
        g.to_xarray()


def _ramp(resolution=5000):
    g = make_grid("서울", resolution=resolution)
    xx, yy = np.meshgrid(g.x, g.y)
    return g.copy(
        values=np.where(g.mask, (xx - xx.min()) / 1e3 + 2 * (yy - yy.min()) / 1e3, np.nan),
        name="temperature_c",
    )


def test_rioxarray_writes_a_north_up_geotiff_with_the_grid_values(tmp_path):
    pytest.importorskip("rioxarray")
    rasterio = pytest.importorskip("rasterio")
    g = _ramp()
    da = g.to_xarray()
    assert da.rio.crs.to_epsg() == 5179
    path = tmp_path / "ramp.tif"
    da.rio.to_raster(path)
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 5179
        assert src.transform.e < 0  # north-up
        j, i = np.argwhere(g.mask)[3]  # a cell inside the region
        (value,) = next(src.sample([(g.x[i], g.y[j])]))
    assert value == pytest.approx(g.values[j, i])


def test_from_xarray_round_trip_and_as_grid():
    from kwxmap.grid import as_grid

    g = _ramp()
    back = as_grid(g.to_xarray())
    assert back.crs.to_epsg() == 5179 and back.resolution == g.resolution
    np.testing.assert_array_equal(back.y, g.y)
    np.testing.assert_array_equal(back.values, g.values)
    np.testing.assert_array_equal(back.mask, g.mask)
    assert as_grid(g) is g
    with pytest.raises(kwxmap.InputError, match="no CRS"):
        as_grid(g.to_xarray().drop_vars("spatial_ref").assign_attrs(crs=None))


def test_series_grid_slices_and_dataset():
    g = _ramp()
    cube = np.stack([g.values, g.values + 1.0])
    series = g.copy(
        values=cube,
        time=np.array(["2020-08-01", "2020-08-02"], dtype="datetime64[ns]"),
        attrs={"n_stations": np.array([5, 4]), "method": "idw"},
    )
    one = series.at(1)
    assert one.time is None and one.attrs["n_stations"] == 4 and one.attrs["method"] == "idw"
    np.testing.assert_array_equal(one.values, g.values + 1.0)
    ds = series.to_dataset()
    assert ds["temperature_c"].dims == ("time", "y", "x")
    assert ds["n_stations"].values.tolist() == [5, 4]
    np.testing.assert_array_equal(ds["temperature_c"].values[1], (g.values + 1.0)[::-1])
    with pytest.raises(kwxmap.InputError, match="does not match"):
        g.copy(values=cube)  # a cube needs its times


def test_contour_bands_take_a_dataarray_like_the_grid():
    from scipy import ndimage

    g = _ramp(2000)
    levels = [0, 20, 40, 60, 80]
    from_grid = kwxmap.contour_bands(g, levels).to_crs(5179)
    from_da = kwxmap.contour_bands(g.to_xarray(), levels).to_crs(5179)
    assert from_da["label"].tolist() == from_grid["label"].tolist()
    # a DataArray carries no region polygon, so the edge follows the cells; inside, every
    # cell centre falls in the same band
    inner = ndimage.binary_erosion(g.mask, iterations=2)
    xx, yy = np.meshgrid(g.x, g.y)
    points = shapely.points(xx[inner], yy[inner])

    def band_of(bands):
        return [bands["label"].iloc[i] for i in bands.sindex.query(points, "within")[1]]

    assert band_of(from_da) == band_of(from_grid) and len(band_of(from_grid)) == inner.sum()


def test_a_grid_through_xarray_keeps_its_cells_extent_and_north_up_geotransform():
    """to_xarray then from_xarray: the same cells and values; the region is the outer edge
    of the cells; the CF GeoTransform is the north-up corner and cell size, worked by hand
    from the cell centres."""
    grid = make_grid("충북", resolution=20_000)
    grid = grid.copy(values=np.where(grid.mask, grid.y[:, None] / 1e5 + grid.x[None, :] / 1e6,
                                     np.nan))
    da = grid.to_xarray()
    r = 20_000.0
    gt = [float(v) for v in da["spatial_ref"].attrs["GeoTransform"].split()]
    assert gt == [grid.x[0] - r / 2, r, 0.0, grid.y[-1] + r / 2, 0.0, -r]
    back = Grid.from_xarray(da)
    np.testing.assert_array_equal(back.x, grid.x)
    np.testing.assert_array_equal(back.y, grid.y)
    np.testing.assert_array_equal(back.values, grid.values)
    assert back.resolution == r
    assert back.region.bounds == (grid.x[0] - r / 2, grid.y[0] - r / 2,
                                  grid.x[-1] + r / 2, grid.y[-1] + r / 2)
    np.testing.assert_array_equal(back.mask, np.isfinite(grid.values))


# --- by value: series attributes, xarray both ways, cells of a part, the size limit ----------


def _series(n=3):
    g = make_grid("서울", resolution=5000.0)
    values = np.stack([np.where(g.mask, 10.0 + k, np.nan) for k in range(n)])
    time = pd.date_range("2024-01-01", periods=n, freq="h").values
    grid = g.copy(values=values, name="temperature_c", time=time)
    grid.attrs["variance"] = g.copy(values=values / 10.0, name="variance", time=time)
    grid.attrs["n_stations"] = np.array([5, 6, 7])
    grid.attrs["method"] = "kriging"
    return grid


def test_one_time_of_a_series_takes_its_own_variance_and_counts():
    grid = _series()
    one = grid.at(1)
    np.testing.assert_array_equal(one.values, grid.values[1])
    np.testing.assert_array_equal(one.attrs["variance"].values, grid.values[1] / 10.0)
    assert one.attrs["n_stations"] == 6 and one.attrs["method"] == "kriging"
    assert one.attrs["time"] == grid.time[1] and one.time is None


def test_per_time_attributes_become_variables_of_a_series_only():
    ds = _series().to_dataset()
    assert ds["n_stations"].dims == ("time",) and ds["n_stations"].values.tolist() == [5, 6, 7]
    np.testing.assert_array_equal(ds["variance"].values[:, ::-1], _series().values / 10.0)
    one = _series().at(0)
    one.attrs["n_stations"] = np.array([5, 6, 7])  # three numbers, but not a series
    assert "n_stations" not in one.to_dataset().data_vars


def test_a_series_dataarray_keeps_a_cell_any_time_has_and_drops_crs_attributes():
    xr = pytest.importorskip("xarray")
    values = np.full((2, 3, 4), np.nan)
    values[0, 0, 0] = 1.0  # only time 0 has this cell
    values[1, 2, 3] = 2.0  # only time 1 has this one
    da = xr.DataArray(values, dims=("time", "y", "x"),
                      coords={"time": pd.date_range("2024-01-01", periods=2).values,
                              "y": [0.0, 1000.0, 2000.0], "x": [0.0, 1000.0, 2000.0, 3000.0]},
                      attrs={"crs": "EPSG:5179", "crs_wkt": "x", "grid_mapping": "g",
                             "source": "mine"}, name="t")
    grid = Grid.from_xarray(da)
    assert grid.mask.sum() == 2 and grid.mask[0, 0] and grid.mask[2, 3]
    assert grid.attrs == {"source": "mine"}


def test_cells_of_a_one_column_grid_and_of_parts_beside_it():
    from kwxmap.grid import _cell_mask

    x, y = np.array([0.5]), np.array([0.5, 1.5, 2.5])
    region = shapely.MultiPolygon([shapely.box(0, 0, 1, 2), shapely.box(5, 0, 6, 3)])
    assert _cell_mask(region, x, y).tolist() == [[True], [True], [False]]
    assert _cell_mask(region, np.array([]), y).shape == (3, 0)


def test_a_region_narrower_than_a_cell_is_one_column_and_the_size_limit_is_inclusive(
        monkeypatch):
    from kwxmap import grid as grid_module

    sliver = gpd.GeoSeries([shapely.box(1_000_000, 1_900_000, 1_000_000.5, 1_910_000)],
                           crs=5179)
    assert make_grid(sliver, resolution=1000, crs=5179).shape == (10, 1)
    square = gpd.GeoSeries([shapely.box(1_000_000, 1_900_000, 1_010_000, 1_910_000)], crs=5179)
    monkeypatch.setattr(grid_module, "MAX_CELLS", 100)
    assert make_grid(square, resolution=1000, crs=5179).shape == (10, 10)  # 100: allowed
    monkeypatch.setattr(grid_module, "MAX_CELLS", 99)
    with pytest.raises(RegionError, match=r"10 x 10 grid \(100 cells"):
        make_grid(square, resolution=1000, crs=5179)


def test_the_province_table_names_each_province_in_both_languages_with_its_code():
    provinces = load_provinces()
    seoul = provinces[provinces["code"] == "11"].iloc[0]
    assert (seoul["name_ko"], seoul["name_en"], seoul["short"]) == ("서울특별시", "Seoul", "서울")
    jeju = provinces[provinces["short"] == "제주"].iloc[0]
    assert jeju["name_ko"].startswith("제주") and jeju["name_en"].startswith("Jeju")
    assert provinces["name_ko"].str.contains("[가-힣]").all()
    assert provinces["code"].str.fullmatch(r"\d\d").all() and provinces["code"].is_unique
