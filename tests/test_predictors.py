"""Tests for kwxmap.predictors: coast proximity, terrain position, inversion hinge, drift use."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest

from kwxmap import InterpolationError
from kwxmap.interpolate import Kriging, Spline
from kwxmap.predictors import (
    Predictors,
    coast_proximity,
    fit_inversion_height,
    terrain_position,
)

TO_M = pyproj.Transformer.from_crs(4326, 5179, always_xy=True)


def xy_of(*lonlat):
    return np.array([TO_M.transform(lon, lat) for lon, lat in lonlat])


def test_coast_proximity_orders_island_coast_and_inland():
    # 울릉도 (island), 부산 harbour front, 대전 (~60 km from the Yellow Sea), 충주 (inland)
    p = coast_proximity(xy_of((130.90, 37.48), (129.03, 35.10), (127.37, 36.37), (127.9, 36.9)))
    assert p[0] > 0.8 and p[1] > 0.8
    assert p[2] < 0.05 and p[3] < 0.01
    assert np.all((p >= 0) & (p <= 1))


def test_coast_proximity_is_exp_of_the_raster_distance():
    from kwxmap.predictors import _coast_raster

    lon, lat = 127.9, 36.9
    d = float(_coast_raster().sample([lon], [lat])[0])
    assert 60 < d < 100  # km to the nearest sea cell
    np.testing.assert_allclose(coast_proximity(xy_of((lon, lat))), np.exp(-d / 10.0))


def test_terrain_position_valley_below_ridge():
    # the same point: 300 m lower ground sits 0.3 km lower relative to its surroundings
    pt = xy_of((128.6, 37.5), (128.6, 37.5))
    t = terrain_position(pt, [900.0, 600.0])
    assert t[0] - t[1] == pytest.approx(0.3)


def test_outside_the_rasters_is_an_error_naming_the_point():
    with pytest.raises(InterpolationError, match=r"\(140\.000, 37\.000\).*drop those stations"):
        coast_proximity(xy_of((140.0, 37.0)))


@pytest.mark.parametrize(
    ("names", "match"),
    [
        (("coast", "urban"), "unknown predictor.*'urban'"),
        (("inversion",), "inversion hinge comes from inversion_m"),
        (("coast", "coast"), "repeat"),
    ],
)
def test_bad_predictor_names(names, match):
    with pytest.raises(InterpolationError, match=match):
        Predictors(names)


def test_matrix_columns_and_inversion_hinge():
    pts = xy_of((128.0, 36.5), (128.1, 36.6))
    p = Predictors(("elevation",), inversion_m=400.0)
    assert p.columns == ("elevation", "inversion")
    np.testing.assert_allclose(p.matrix(pts, [100.0, 1000.0]), [[0.1, 0.0], [1.0, 0.6]])
    with pytest.raises(InterpolationError, match="finite elevation"):
        p.matrix(pts, [100.0, np.nan])


def test_inversion_height_found_on_a_bent_profile_only():
    rng = np.random.default_rng(7)
    z = rng.uniform(0, 1400, 300)
    xy = rng.uniform(0, 4e5, (300, 2))
    bent = 5.0 + 0.008 * np.minimum(z, 700) - 0.005 * np.maximum(z - 700, 0)
    assert fit_inversion_height(xy, z, bent + rng.normal(0, 0.4, 300)) == 700.0
    straight = 25.0 - 0.0065 * z + rng.normal(0, 0.4, 300)
    assert fit_inversion_height(xy, z, straight) is None
    assert fit_inversion_height(xy[:10], z[:10], straight[:10]) is None  # too few per side


def test_bent_profile_as_drift_recovers_the_valley_and_summit():
    # a night with a cold valley pool: KED on [z, hinge] maps a held-out summit and a
    # held-out valley better than a straight lapse line through all stations
    rng = np.random.default_rng(3)
    n = 250
    xy = rng.uniform(0, 3e5, (n, 2))
    z = rng.uniform(0, 1200, n)
    truth = 2.0 + 0.01 * np.minimum(z, 500) - 0.006 * np.maximum(z - 500, 0)
    vals = truth + rng.normal(0, 0.2, n)
    h = fit_inversion_height(xy, z, vals)
    bent = Predictors(("elevation",), inversion_m=h).matrix(xy, z)
    targets = np.array([[1.5e5, 1.5e5], [1.6e5, 1.4e5]])
    tz = np.array([1100.0, 50.0])
    want = 2.0 + 0.01 * np.minimum(tz, 500) - 0.006 * np.maximum(tz - 500, 0)
    tb = Predictors(("elevation",), inversion_m=h).matrix(targets, tz)
    for model in (Kriging(variogram_parameters=[0.5, 50e3, 0.04]), Spline()):
        good = model.fit(xy, vals, drift=bent).predict(targets, drift=tb)
        line = type(model)(**model.get_params()).fit(xy, vals, drift=z[:, None] / 1000)
        straight = line.predict(targets, drift=tz[:, None] / 1000)
        assert np.abs(good - want).max() < 0.3
        assert np.abs(good - want).max() < 0.5 * np.abs(straight - want).max()


def test_spline_with_drift_reproduces_a_drift_only_field():
    # values exactly linear in a drift column: the partial spline returns them everywhere
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 2e5, (40, 2))
    d = rng.uniform(0, 1, (40, 1))
    s = Spline().fit(xy, 3.0 + 5.0 * d[:, 0], drift=d)
    t = rng.uniform(0, 2e5, (5, 2))
    td = rng.uniform(0, 1, (5, 1))
    np.testing.assert_allclose(s.predict(t, drift=td), 3.0 + 5.0 * td[:, 0], atol=1e-9)
    np.testing.assert_allclose(s.weights(t, drift=td) @ s.values_, s.predict(t, drift=td))
    with pytest.raises(InterpolationError, match="constant over the stations"):
        Spline().fit(xy, d[:, 0], drift=np.ones((40, 1)))


def test_elevation_model_predictor_columns_in_the_crs_it_is_given():
    """ElevationModel('predictors') computes its columns in EPSG:5179 unless for_stations
    names the grid's CRS (stream_batch's engine at crs=5186 used 5179 coordinates)."""
    from kwxmap.interpolate.elevation import ElevationModel

    lonlat = [(126.97, 37.57), (129.0, 35.2), (127.38, 36.35)]
    z = [86.0, 70.0, 68.0]
    xy = {c: np.array([pyproj.Transformer.from_crs(4326, c, always_xy=True).transform(*p)
                       for p in lonlat]) for c in (5179, 5186)}
    want = Predictors(("elevation", "coast", "terrain")).matrix(xy[5179], z)
    np.testing.assert_allclose(ElevationModel("predictors").drift(z, xy[5179]), want)
    at_5186 = ElevationModel("predictors").for_stations(100, 5186).drift(z, xy[5186])
    np.testing.assert_allclose(at_5186, want, atol=1e-9)


def test_predictors_mode_keeps_elevation_alone_under_60_stations():
    """Three drift coefficients and a variogram are too many for a sparse network."""
    from kwxmap.interpolate.elevation import MIN_STATIONS_PREDICTORS, ElevationModel

    assert MIN_STATIONS_PREDICTORS == 60
    model = ElevationModel("predictors")
    assert model.for_stations(59).columns == ("elevation",)
    assert model.for_stations(60).columns == ("elevation", "coast", "terrain")
    assert ElevationModel("drift").for_stations(10).drift([100.0], [[9.5e5, 1.95e6]]).shape == (
        1, 1)
