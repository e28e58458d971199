"""Targets other than a new grid: points (``kwxmap point``), an existing grid, a GeoTIFF."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kwxmap
from kwxmap import InputError, InterpolationError
from kwxmap.cli import main

ROOT = Path(__file__).resolve().parents[1]
WIDGET = ROOT / "examples" / "widget.txt"


@pytest.fixture(scope="module")
def joined():
    return kwxmap.join_readings(kwxmap.parse_readings(WIDGET.read_text(encoding="utf-8")))


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_point_with_holdout_at_the_stations_reproduces_cv(tmp_path, capsys, joined):
    """`kwxmap point --holdout` at every station gives `kwxmap cv`'s LOO predictions."""
    places = pd.DataFrame(
        {
            "station_id": joined["station_id"],
            "lat": joined.geometry.y,
            "lon": joined.geometry.x,
            "elevation_m": joined["elevation_m"],
        }
    )
    path = tmp_path / "places.csv"
    places.to_csv(path, index=False)
    code, out, err = run(["cv", str(WIDGET), "--format", "json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    cv = {s["station_id"]: s["predicted"] for s in report["stations"]}
    code, out, err = run(
        ["point", str(WIDGET), "--at-file", str(path), "--holdout", "--format", "json"], capsys
    )
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == len(cv) == 26
    for row in rows:
        assert row["temperature_c"] == pytest.approx(cv[row["station_id"]], abs=1e-6)
    assert all(r["uncertainty_c"] == pytest.approx(report["rmse"]) for r in rows)


def test_point_without_holdout_is_the_map_value(capsys, joined):
    """A place's value is the surface's value there: equal to a one-cell grid target."""
    code, out, err = run(
        ["point", str(WIDGET), "--at", "36.64,127.44", "--at", "35.10,129.03", "--format", "json"],
        capsys,
    )
    assert code == 0, err
    rows = json.loads(out)
    pts = kwxmap.interpolate(
        joined, target=pd.DataFrame({"lat": [36.64, 35.10], "lon": [127.44, 129.03]})
    )
    np.testing.assert_allclose([r["temperature_c"] for r in rows], pts["temperature_c"])
    assert 15 < rows[0]["temperature_c"] < 35 and rows[0]["uncertainty_c"] > 0
    code, out, _ = run(["point", str(WIDGET), "--at", "36.64,127.44"], capsys)
    assert out.splitlines()[0] == "lat,lon,temperature_c,elevation_m,uncertainty_c"


def test_points_equal_the_grid_at_cell_centres(joined):
    grid = kwxmap.interpolate(joined, "idw", resolution=20_000, region="충북")
    j, i = np.argwhere(grid.mask)[[0, 5, 10]].T
    import pyproj

    lon, lat = pyproj.Transformer.from_crs(5179, 4326, always_xy=True).transform(
        grid.x[i], grid.y[j]
    )
    pts = kwxmap.interpolate(joined, "idw", target=pd.DataFrame({"lon": lon, "lat": lat}))
    np.testing.assert_allclose(pts["temperature_c"], grid.values[j, i], atol=1e-9)
    assert pts.attrs["method"] == "idw"
    assert pts.attrs["station_ids"] == grid.attrs["station_ids"]  # far ones dropped alike


def test_fill_an_existing_grid_dataarray_and_geotiff(tmp_path, joined):
    made = kwxmap.interpolate(joined, resolution=20_000, region="충북")
    template = kwxmap.make_grid("충북", resolution=20_000)
    np.testing.assert_allclose(
        kwxmap.interpolate(joined, target=template).values, made.values, equal_nan=True
    )
    from_da = kwxmap.interpolate(joined, target=made.to_xarray())
    np.testing.assert_allclose(from_da.values, made.values, atol=1e-9, equal_nan=True)
    rasterio = pytest.importorskip("rasterio")
    path = tmp_path / "cells.tif"
    ny, nx = 4, 5
    data = np.ones((ny, nx), dtype="float32")
    data[0, 0] = -9999.0  # nodata: left empty
    transform = rasterio.transform.from_origin(950_000, 1_850_000, 10_000, 10_000)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=nx,
        height=ny,
        count=1,
        dtype="float32",
        crs="EPSG:5179",
        transform=transform,
        nodata=-9999.0,
    ) as dst:
        dst.write(data, 1)
    filled = kwxmap.interpolate(joined, "idw", target=str(path))
    assert filled.shape == (ny, nx) and filled.resolution == 10_000
    assert np.isnan(filled.values[-1, 0])  # the north-west nodata cell (rows run south-north)
    assert np.isfinite(filled.values).sum() == ny * nx - 1
    # the north-west cell centre of the file is (955000, 1845000)
    assert filled.x[0] == 955_000 and filled.y[-1] == 1_845_000


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--at", "127.44,36.64"], "latitude 127.44 is not a latitude; give LAT,LON"),
        (["--at", "36.6"], "--at must be LAT,LON"),
        (["--at", "-91,127"], "latitude -91 is not a latitude"),
        (["--at-file", "nowhere.csv"], "places file 'nowhere.csv' does not exist"),
    ],
)
def test_point_bad_places_are_one_line(args, match, capsys):
    code, out, err = run(["point", str(WIDGET), *args], capsys)
    assert code == 1 and out == ""
    assert err.startswith("kwxmap: error: ") and match in err and err.count("\n") == 1


def test_bad_targets(joined):
    with pytest.raises(InputError, match="'lon' and 'lat' columns"):
        kwxmap.interpolate(joined, target=pd.DataFrame({"a": [1]}))
    with pytest.raises(InputError, match="must be a GeoTIFF"):
        kwxmap.interpolate(joined, target="places.csv")
    with pytest.raises(InputError, match="cannot use a list as target"):
        kwxmap.interpolate(joined, target=[1, 2])
    with pytest.raises(InterpolationError, match="holdout=True is for point targets"):
        kwxmap.interpolate(joined, holdout=True)


@pytest.mark.parametrize("method, elevation", [("idw", "lapse"), ("spline", "predictors")])
def test_holdout_at_stations_without_heights_equals_cv(joined, method, elevation):
    """A place that is a station takes that station's height, not the DEM's: cv exactly."""
    places = pd.DataFrame({"lat": joined.geometry.y, "lon": joined.geometry.x})
    held = kwxmap.interpolate(joined, method, elevation=elevation, target=places, holdout=True)
    cv = kwxmap.cross_validate(joined, method, elevation=elevation).table
    want = cv.set_index("station_id")["predicted"].reindex(joined["station_id"]).to_numpy()
    np.testing.assert_allclose(held["temperature_c"].to_numpy(), want, atol=1e-9, rtol=0)


@pytest.mark.parametrize("method", ["idw", "kriging", "spline"])
def test_a_place_does_not_depend_on_the_other_places_asked(joined, method):
    seoul = pd.DataFrame({"lat": [37.5714], "lon": [126.9658]})
    rng = np.random.default_rng(0)
    others = pd.DataFrame({"lat": rng.uniform(34.5, 38.0, 100),
                           "lon": rng.uniform(126.3, 129.3, 100)})
    jeju = pd.DataFrame({"lat": [33.5141], "lon": [126.5297]})
    alone = kwxmap.interpolate(joined, method, target=seoul)["temperature_c"].iloc[0]
    for company in (others, jeju):
        both = kwxmap.interpolate(joined, method, target=pd.concat([seoul, company]))
        assert both["temperature_c"].iloc[0] == pytest.approx(alone, abs=1e-9)


def test_hallasan_answers(joined):
    got = kwxmap.interpolate(joined, target=pd.DataFrame({"lat": [33.36], "lon": [126.53]}))
    assert np.isfinite(got["temperature_c"]).all() and got["elevation_m"].iloc[0] > 300


def test_point_values_keep_every_station_unless_asked_to_hold_out(joined):
    """The API's default is the map's value (no holdout), as the command's is."""
    from kwxmap.pipeline import point_values

    first = joined.iloc[0]
    place = pd.DataFrame({"lat": [first.geometry.y], "lon": [first.geometry.x]})
    kept = point_values(WIDGET.read_text(encoding="utf-8"), place, method="idw")
    held = point_values(WIDGET.read_text(encoding="utf-8"), place, method="idw", holdout=True)
    alone = kwxmap.interpolate(joined, "idw", target=place)["temperature_c"].iloc[0]
    assert kept["temperature_c"].iloc[0] == pytest.approx(alone, abs=1e-9)
    assert abs(held["temperature_c"].iloc[0] - alone) > 1e-3
