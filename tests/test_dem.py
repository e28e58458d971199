"""Tests for kwxmap.dem: the shipped DEM (no rasterio) and user DEMs (rasterio)."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest

from kwxmap import DataError, load_stations, make_grid
from kwxmap.dem import DEM, grid_elevation, read_dem, sample_dem


def test_shipped_dem_layout():
    dem = read_dem()
    assert dem.values.shape == (360, 480)
    assert dem.bounds == pytest.approx((124.0, 33.0, 132.0, 39.0))
    assert dem.dlon == pytest.approx(1 / 60) and dem.dlat == pytest.approx(1 / 60)
    assert np.nanmin(dem.values) >= 0  # sea clipped to 0 m
    assert 1200 < np.nanmax(dem.values) < 2000  # 한라산 1950 m, smoothed by ~2 km pixels
    assert read_dem() is dem  # cached


def test_bilinear_sampling_reproduces_cell_centres_and_midpoints():
    dem = read_dem()
    lon0, lat0 = 124.0 + 1 / 120, 39.0 - 1 / 120
    j, i = 150, 250
    lon, lat = lon0 + i / 60, lat0 - j / 60
    v = dem.values
    assert dem.sample([lon], [lat])[0] == pytest.approx(v[j, i])
    mid = dem.sample([lon + 1 / 120], [lat - 1 / 120])[0]
    assert mid == pytest.approx(v[j : j + 2, i : i + 2].mean())


def test_outside_is_nan():
    out = read_dem().sample([123.0, 127.0, 133.0], [36.0, 40.0, 36.0])
    assert np.isnan(out).all()


def test_close_to_the_surveyed_heights_of_the_asos_stations():
    """The shipped 60″ grid against the 97 open ASOS sites: 25.9 m mean error (its README)."""
    reg = load_stations("asos").select(active=True)
    tr = pyproj.Transformer.from_crs(4326, 5179, always_xy=True)
    z = sample_dem(np.array([tr.transform(s.lon, s.lat) for s in reg]))
    err = np.abs(z - np.array([s.elevation_m for s in reg]))
    assert len(err) == 97 and np.mean(err) == pytest.approx(25.86, abs=0.05)
    assert np.max(err) < 200  # 인제 211: 398 m vs 202 m, the worst


def test_coarse_but_plausible_at_mountain_stations():
    reg = load_stations()
    tr = pyproj.Transformer.from_crs(4326, 5179, always_xy=True)
    names = ["대관령", "태백", "서울", "부산"]
    st = [reg.lookup(n) for n in names]
    xy = np.array([tr.transform(s.lon, s.lat) for s in st])
    z = sample_dem(xy)
    true = np.array([s.elevation_m for s in st])
    # the DEM ranks mountains above the coast, within 100 m at these four
    assert np.all(np.abs(z - true) < 100)
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


# --- Copernicus GLO-90 from a local server ------------------------------------------------


def _slope(lon, lat):
    """The synthetic terrain of the test tiles: a plane, so bilinear sampling is exact."""
    return 200.0 + 300.0 * (lat - 37.0) + 100.0 * (lon - 126.0)


@pytest.fixture
def copernicus_server(tmp_path, monkeypatch):
    """Serve small synthetic GLO-90 tiles in the bucket's layout on 127.0.0.1."""
    import http.server
    import threading

    rasterio = pytest.importorskip("rasterio")
    root = tmp_path / "bucket"
    n = 60  # the real tiles are 1200 x 1200; the layout and georeferencing are what count
    for lon0 in (126, 127):  # E128 is left out: a sea tile, absent as in the real bucket
        name = f"Copernicus_DSM_COG_30_N37_00_E{lon0:03d}_00_DEM"
        (root / name).mkdir(parents=True)
        centres = (np.arange(n) + 0.5) / n
        lon, lat = np.meshgrid(lon0 + centres, 38.0 - centres)
        with rasterio.open(
            root / name / f"{name}.tif", "w", driver="GTiff", width=n, height=n, count=1,
            dtype="float32", crs="EPSG:4326",
            transform=rasterio.Affine(1 / n, 0, lon0, 0, -1 / n, 38.0),
        ) as dst:
            dst.write(_slope(lon, lat).astype("float32"), 1)
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("KWXMAP_DEM_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("KWXMAP_CACHE_DIR", str(tmp_path / "cache"))
    try:
        yield requests
    finally:
        server.shutdown()
        server.server_close()


def test_copernicus_tiles_are_downloaded_once_cached_and_used(copernicus_server, tmp_path):
    from kwxmap.dem import COPERNICUS_90, copernicus_tiles

    grid = make_grid((126.6, 37.3, 127.4, 37.7), resolution=5000)
    z = grid_elevation(grid, dem=COPERNICUS_90)
    lon, lat = grid.lonlat()
    inside = grid.mask
    # within 1 m of the plane (GDAL's bilinear kernel is cut at the seams between tiles)
    np.testing.assert_allclose(z[inside], _slope(lon, lat)[inside], atol=1.0)
    names = copernicus_tiles((126.6, 37.3, 127.4, 37.7))
    assert sorted(p.rsplit("/", 1)[-1] for p in copernicus_server) == sorted(
        f"{n}.tif" for n in names)
    cached = sorted(p.name for p in (tmp_path / "cache" / COPERNICUS_90).iterdir())
    assert cached == sorted(f"{n}.tif" for n in names)
    copernicus_server.clear()
    np.testing.assert_array_equal(grid_elevation(grid, dem=COPERNICUS_90), z)
    assert copernicus_server == []  # read from the cache


def test_copernicus_sea_tiles_are_zero_and_remembered(copernicus_server, tmp_path):
    grid = make_grid((127.8, 37.3, 128.4, 37.7), resolution=5000)  # E127 land, E128 sea
    z = grid_elevation(grid, dem="copernicus-90")
    lon, _ = grid.lonlat()
    sea = grid.mask & (lon > 128.01)
    assert sea.any() and np.all(z[sea] == 0.0)
    assert (tmp_path / "cache" / "copernicus-90" /
            "Copernicus_DSM_COG_30_N37_00_E128_00_DEM.sea").exists()


def test_copernicus_unreachable_is_a_data_error(tmp_path, monkeypatch):
    pytest.importorskip("rasterio")
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("KWXMAP_DEM_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("KWXMAP_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(DataError, match=r"cannot download the Copernicus DEM tile .* dem="):
        grid_elevation(make_grid((126.6, 37.3, 127.4, 37.7), resolution=5000),
                       dem="copernicus-90")


def test_maps_made_with_copernicus_credit_it(copernicus_server):
    import kwxmap
    from kwxmap.dem import COPERNICUS_ATTRIBUTION

    text = "\n".join(["서울 맑음 3.0℃", "인천 맑음 2.5℃", "수원 맑음 3.5℃", "양평 맑음 1.0℃",
                      "이천 맑음 2.0℃"])
    snap = kwxmap.snapshot(text, region=(126.6, 37.1, 127.6, 37.7), resolution=5000,
                           method="idw", dem="copernicus-90", tiles=None)
    assert snap.grid.attrs["dem"] == "copernicus-90"
    html = snap.map.get_root().render()
    assert COPERNICUS_ATTRIBUTION.split(" ©")[0] in html
    plain = kwxmap.snapshot(text, region=(126.6, 37.1, 127.6, 37.7), resolution=5000,
                            method="idw", tiles=None)
    assert "Copernicus" not in plain.map.get_root().render()


# --- values by hand: a plane sampled, a GeoTIFF's georeference read, names and places ------


def _plane_dem(**kwargs) -> DEM:
    """A 30 x 40 DEM whose cell centres hold 100 lon - 40 lat (a plane: bilinear is exact)."""
    west, north, d = 126.0, 37.0, 0.05
    lon = west + d * (np.arange(40) + 0.5)
    lat = north - d * (np.arange(30) + 0.5)
    values = 100.0 * lon[None, :] - 40.0 * lat[:, None]
    return DEM(values=values, west=west, north=north, dlon=d, dlat=d, **kwargs)


def test_sampling_a_plane_is_exact_inside_level_at_the_rim_and_nan_beyond_the_edge():
    dem = _plane_dem()
    w, s, e, n = dem.bounds
    assert (w, s, e, n) == pytest.approx((126.0, 35.5, 128.0, 37.0))
    rng = np.random.default_rng(1)
    lon = rng.uniform(w + 0.025, e - 0.025, 200)  # between the outer cell centres
    lat = rng.uniform(s + 0.025, n - 0.025, 200)
    np.testing.assert_allclose(dem.sample(lon, lat), 100 * lon - 40 * lat, atol=1e-9)
    # in the outer half cell the edge centres' values hold; on the outer edge too
    rim = dem.sample([w, e, 127.0, 127.0, w], [36.0, 36.0, n, s, n])
    np.testing.assert_allclose(rim, [100 * (w + 0.025) - 40 * 36, 100 * (e - 0.025) - 40 * 36,
                                     100 * 127 - 40 * (n - 0.025), 100 * 127 - 40 * (s + 0.025),
                                     100 * (w + 0.025) - 40 * (n - 0.025)], atol=1e-9)
    beyond = dem.sample([w - 1e-9, e + 1e-9, 127.0, 127.0], [36.0, 36.0, n + 1e-9, s - 1e-9])
    assert np.isnan(beyond).all()


def test_a_geotiff_tied_at_another_pixel_and_its_nodata_are_read(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    values = np.arange(12, dtype="float32").reshape(3, 4)
    values[1, 2] = -9999.0
    # pixel (col 2, row 1) is tied to 127.0 E, 37.0 N: the raster starts 2 columns west
    # and 1 row north of it, 0.25 x 0.5 degree pixels
    tags = [(33550, "d", 3, (0.25, 0.5, 0.0)), (33922, "d", 6, (2, 1, 0, 127.0, 37.0, 0)),
            (42113, "s", 0, "-9999")]
    path = tmp_path / "tied.tif"
    tifffile.imwrite(path, values, extratags=tags)
    dem = read_dem(path)
    assert dem.bounds == pytest.approx((126.5, 36.0, 127.5, 37.5))
    assert np.isnan(dem.values[1, 2]) and np.nansum(dem.values) == 66 - 6
    assert dem.sample([126.5 + 0.125], [37.5 - 0.25])[0] == 0.0  # the first cell's centre
    assert dem.sample([126.5 + 0.125], [37.5 - 1.25])[0] == 8.0  # row 2, col 0


def test_coverage_refuses_more_than_one_percent_of_the_cells_missing():
    from kwxmap.dem import _check_coverage

    z = np.zeros(200)
    z[:2] = np.nan
    _check_coverage(z, "d")  # 1 %: kept, set to 0 m with a warning by the caller
    z[2] = np.nan
    with pytest.raises(DataError, match=r"DEM 'd' does not cover 2% of the region's cells"):
        _check_coverage(z, "d")


def test_a_dem_without_a_source_is_named_dem_in_the_message():
    dem = DEM(values=np.full((2, 2), 5.0), west=140.0, north=40.0, dlon=0.1, dlat=0.1)
    with pytest.raises(DataError, match=r"DEM 'DEM' does not cover the region at all"):
        grid_elevation(make_grid("서울", resolution=5000), dem=dem)


def test_a_user_dem_on_a_tilted_plane_is_reprojected_exactly(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import Affine

    g = make_grid("대전", resolution=2000, crs=5179)
    west, north, res, nx, ny = g.x[0] - 20_000, g.y[-1] + 20_000, 1000.0, 80, 80
    x = west + res * (np.arange(nx) + 0.5)
    y = north - res * (np.arange(ny) + 0.5)
    plane = (x[None, :] - west) / 100.0 + (north - y[:, None]) / 50.0
    path = tmp_path / "tilted.tif"
    with rasterio.open(path, "w", driver="GTiff", width=nx, height=ny, count=1,
                       dtype="float64", crs="EPSG:5179",
                       transform=Affine(res, 0.0, west, 0.0, -res, north)) as dst:
        dst.write(plane, 1)
    z = grid_elevation(g, dem=path)
    xx, yy = np.meshgrid(g.x, g.y)
    want = (xx - west) / 100.0 + (north - yy) / 50.0
    np.testing.assert_allclose(z[g.mask], want[g.mask], atol=1e-6)


def test_copernicus_tile_names_south_and_west_of_zero():
    from kwxmap.dem import copernicus_tiles

    assert copernicus_tiles((-1.5, -0.5, 0.5, 0.5)) == [
        f"Copernicus_DSM_COG_30_{ns}_{ew}_DEM"
        for ns in ("S01_00", "N00_00") for ew in ("W002_00", "W001_00", "E000_00")]


def test_the_tile_cache_lives_in_the_users_cache_folder(monkeypatch, tmp_path):
    from kwxmap.dem import _cache_dir

    monkeypatch.delenv("KWXMAP_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _cache_dir() == tmp_path / ".cache" / "kwxmap"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cache_dir() == tmp_path / "xdg" / "kwxmap"
    monkeypatch.setenv("KWXMAP_CACHE_DIR", str(tmp_path / "mine"))
    assert _cache_dir() == tmp_path / "mine"
