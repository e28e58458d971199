"""Every kwxmap output opened with the clients users open it in.

GDAL's ``ogrinfo``/``gdalinfo`` (Debian ``gdal-bin``), QGIS headless (Debian
``python3-qgis``, run with the system Python it binds to), ``cfchecks``
(pip ``cfchecker``; Debian ``libudunits2-0``), IOOS ``compliance-checker``,
CDO (Debian ``cdo``) and xarray/rioxarray. Each test skips with the missing
tool named, except under CI (``CI=true``), where a missing tool fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kwxmap
from kwxmap import io

SYSTEM_PYTHON = "/usr/bin/python3"
WHEN = pd.Timestamp("2020-08-01 15:00")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _need(ok: bool, what: str) -> None:
    if not ok:
        if _in_ci():
            pytest.fail(f"{what} is required under CI=true")
        pytest.skip(f"{what} is not installed")


def _tool(name: str) -> str:
    path = shutil.which(name)
    _need(path is not None, f"`{name}`")
    return str(path)


def _run(*args: str, **kwargs) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def grid(seed_stations):
    """Kriging over the country at 2 km (big enough for COG overviews), with its variance."""
    return kwxmap.interpolate(
        seed_stations, method="kriging", resolution=2000, return_variance=True
    )


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, grid, seed_stations):
    """Every vector and raster output, written by the real writers."""
    folder = tmp_path_factory.mktemp("outputs")
    files: dict[str, tuple[Path, int | None, int]] = {}  # name -> (path, features, epsg)
    registry = kwxmap.load_stations().select(active=True)
    for fmt in ("gpkg", "fgb", "shp", "csv"):
        for epsg in (5179, 5186):
            path = folder / f"stations_{epsg}.{fmt}"
            kwxmap.write_stations(registry, path, crs=epsg)
            files[path.name] = (path, len(registry), epsg)
    path = folder / "stations.geojson"
    kwxmap.write_stations(registry, path)
    files[path.name] = (path, len(registry), 4326)
    bands = kwxmap.contour_bands(grid)
    for fmt in ("geojson", "gpkg", "shp"):
        path = io.write_vector(bands.to_crs(5179), folder / f"bands.{fmt}")
        files[path.name] = (path, len(bands), 4326 if fmt == "geojson" else 5179)
    io.write_geotiff(grid, folder / "t.tif")
    io.write_netcdf(grid, folder / "t.nc", time=WHEN)
    io.write_zarr(grid, folder / "t.zarr", time=WHEN)
    return folder, files


# --- GDAL ----------------------------------------------------------------------------


def test_ogrinfo_finds_the_epsg_code_types_and_features_of_every_vector(outputs):
    ogrinfo = _tool("ogrinfo")
    _folder, files = outputs
    for name, (path, features, epsg) in files.items():
        text = _run(ogrinfo, "-so", "-al", str(path))
        assert f"Feature Count: {features}" in text, name
        assert "Warning" not in text, (name, text[:500])  # e.g. GeoPackage 1.4 on GDAL 3.6
        assert re.search(rf'ID\["EPSG",{epsg}\]\]\s*$', text.split("Data axis")[0].rstrip()), (
            name, text[-800:])
        if name.startswith("stations") and epsg != 4326:
            fields = dict(re.findall(r"^(\w+): (\w+(?:\(\w+\))?)", text, flags=re.M))
            date_type = "DateTime" if name.endswith(".fgb") else "Date"
            assert fields["start_date"] == date_type, (name, fields)
            active = "Integer" if name.endswith(".shp") else "Integer(Boolean)"
            assert fields["active"] == active, (name, fields)


def test_csv_geometry_is_seen_by_gdal(outputs):
    ogrinfo = _tool("ogrinfo")
    folder, _ = outputs
    text = _run(ogrinfo, "-al", str(folder / "stations_5186.csv"))
    assert "Geometry: Point" in text or "Geometry: Unknown" in text
    assert text.count("  POINT (") == len(kwxmap.load_stations().select(active=True)) == 743
    assert re.search(r"start_date \(Date\) = \d{4}/\d{2}/\d{2}", text)
    assert re.search(r"active \(Integer\(Boolean\)\) = 1", text)
    assert "서울" in text


def test_gdalinfo_sees_a_north_up_cog_with_overviews_units_and_epsg(outputs, grid):
    gdalinfo = _tool("gdalinfo")
    folder, _ = outputs
    info = json.loads(_run(gdalinfo, "-json", "-mdd", "all", str(folder / "t.tif")))
    gt = info["geoTransform"]
    assert gt[1] == 2000 and gt[5] == -2000 and gt[2] == gt[4] == 0  # north up
    assert info["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"] == "COG"
    assert info["metadata"]["IMAGE_STRUCTURE"]["COMPRESSION"] == "DEFLATE"
    assert info["stac"]["proj:epsg"] == 5179
    band, variance = info["bands"]
    assert band["type"] == "Float32" and band["block"] == [256, 256]
    assert band["overviews"], "no overviews"
    assert band["unit"] == "degC" and band["description"] == "temperature_c"
    assert np.isnan(band["noDataValue"]) if isinstance(band["noDataValue"], float) else (
        band["noDataValue"] == "NaN")
    assert variance["description"] == "kriging variance"


# --- xarray / rioxarray ------------------------------------------------------------


def test_rioxarray_round_trip_gives_the_grid_values(outputs, grid):
    rioxarray = pytest.importorskip("rioxarray")
    xr = pytest.importorskip("xarray")
    folder, _ = outputs
    j, i = np.argwhere(np.isfinite(grid.values))[len(grid.values[np.isfinite(grid.values)]) // 3]
    x, y, expected = grid.x[i], grid.y[j], grid.values[j, i]
    tif = rioxarray.open_rasterio(folder / "t.tif")
    assert tif.rio.crs.to_epsg() == 5179
    assert float(tif.sel(band=1, x=x, y=y)) == pytest.approx(expected, abs=1e-4)
    assert float(tif.sel(band=2, x=x, y=y)) == pytest.approx(
        grid.attrs["variance"].values[j, i], abs=1e-4)
    for store in (xr.open_dataset(folder / "t.nc"), xr.open_zarr(folder / "t.zarr")):
        da = store["temperature_c"].isel(time=0)
        assert da.rio.crs.to_epsg() == 5179  # found through the spatial_ref coordinate
        assert float(da.sel(x=x, y=y)) == pytest.approx(expected, abs=1e-4)
        assert bool(store.y[0] > store.y[-1])  # north up
        assert pd.Timestamp(store.time.values[0]) == WHEN - pd.Timedelta(hours=9)  # UTC
        assert str(da.dtype) == "float32"
        assert "temperature_c_variance" in store


def test_netcdf_is_cf_encoded_float32_compressed_without_coordinate_fill(outputs):
    h5py = pytest.importorskip("h5py")
    folder, _ = outputs
    with h5py.File(folder / "t.nc") as f:
        assert f["temperature_c"].dtype == np.float32
        assert f["temperature_c"].compression == "gzip"
        for coord in ("x", "y", "time", "lon", "lat"):
            assert "_FillValue" not in f[coord].attrs, coord
        assert _text(f["time"].attrs["units"]).startswith("minutes since 1970-01-01")
        for attr in ("title", "history", "source", "references"):
            assert f.attrs[attr], attr
        assert _text(f.attrs["Conventions"]) == "CF-1.8"


# --- CF checkers and CDO -----------------------------------------------------------


def _standard_name_table() -> Path:
    try:
        from importlib.resources import files

        table = Path(str(files("compliance_checker") / "data" / "cf-standard-name-table.xml"))
    except ImportError:
        table = Path("missing")
    _need(table.exists(), "compliance-checker's CF standard name table")
    return table


def test_cfchecks_reports_no_errors(outputs, tmp_path):
    cfchecks = _tool("cfchecks")
    folder, _ = outputs
    # no network: the standard names from compliance-checker's copy; area types and
    # regions are not used by the file, so minimal tables of our own do
    area = tmp_path / "area-types.xml"
    area.write_text('<?xml version="1.0"?><area_type_table><version_number>1</version_number>'
                    '<date>2024-01-01</date>'
                    '<entry id="land"><description>land</description></entry>'
                    "</area_type_table>", encoding="utf-8")
    region = tmp_path / "regions.xml"
    region.write_text('<?xml version="1.0"?><standardized_region_list><version_number>1'
                      '</version_number><date>2024-01-01</date>'
                      '<region id="global"><description/></region>'
                      "</standardized_region_list>", encoding="utf-8")
    text = _run(cfchecks, "-s", str(_standard_name_table()), "-a", str(area), "-r", str(region),
                str(folder / "t.nc"))
    assert "Checking against CF Version CF-1.8" in text
    assert "ERRORS detected: 0" in text, text[-3000:]
    assert "WARNINGS given: 0" in text, text[-3000:]


def test_compliance_checker_cf_suite_passes(outputs):
    checker = _tool("compliance-checker")
    folder, _ = outputs
    text = _run(checker, "--test=cf:1.8", str(folder / "t.nc"))
    assert "All tests passed!" in text, text[-3000:]


def test_cdo_recognises_the_projection(outputs):
    cdo = _tool("cdo")
    folder, _ = outputs
    text = _run(cdo, "sinfon", str(folder / "t.nc"))
    assert re.search(r"mapping\s*:\s*transverse_mercator", text), text
    assert "x : " in text and "by 2000 m" in text
    assert "F32" in text


# --- QGIS ----------------------------------------------------------------------------

QGIS_SCRIPT = r"""
import json, os, sys
from qgis.core import QgsApplication, QgsRasterLayer, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
out = {}
for path, kind in json.loads(sys.argv[1]):
    if kind == "raster":
        layer = QgsRasterLayer(path, "r", "gdal")
        out[path] = [layer.isValid(), layer.crs().authid(), layer.bandCount(),
                     layer.dataProvider().dataType(1) if layer.isValid() else None]
    else:
        layer = QgsVectorLayer(path, "v", "ogr")
        out[path] = [layer.isValid(), layer.crs().authid(), layer.featureCount()]
    del layer
print(json.dumps(out), flush=True)
os._exit(0)  # QGIS 3.22 can crash while tearing down the interpreter
"""


def test_qgis_loads_every_output_with_the_right_crs_and_count(outputs):
    _need(Path(SYSTEM_PYTHON).exists(), SYSTEM_PYTHON)
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True)
    _need(probe.returncode == 0, "QGIS for the system Python (Debian python3-qgis)")
    folder, files = outputs
    layers = [(str(path), "vector") for path, _, _ in files.values()]
    layers += [(str(folder / "t.tif"), "raster"), (f'NETCDF:"{folder / "t.nc"}":temperature_c',
                                                   "raster")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    text = subprocess.run([SYSTEM_PYTHON, "-c", QGIS_SCRIPT, json.dumps(layers)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert text.returncode == 0, text.stderr[-2000:]
    result = json.loads(text.stdout.strip().splitlines()[-1])
    for path, features, epsg in files.values():
        valid, authid, count = result[str(path)]
        assert valid and authid == f"EPSG:{epsg}" and count == features, (path, result[str(path)])
    valid, authid, bands, _ = result[str(folder / "t.tif")]
    assert valid and authid == "EPSG:5179" and bands == 2
    valid, authid, bands, _ = result[f'NETCDF:"{folder / "t.nc"}":temperature_c']
    assert valid and authid == "EPSG:5179" and bands == 1



def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
