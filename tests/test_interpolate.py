"""Tests for kwxmap.interpolate: methods vs peers, known answers, interpolate(), bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from shapely.geometry import Point

from kwxmap import (
    DataError,
    InterpolationError,
    KwxmapWarning,
    RegionError,
    contour_bands,
    interpolate,
    load_stations,
)
from kwxmap.interpolate import (
    IDW,
    METHODS,
    Barnes,
    Cressman,
    Interpolator,
    Nearest,
    Spline,
)
from kwxmap.interpolate.elevation import fit_lapse_rate

REPO = Path(__file__).resolve().parents[1]
RNG_SEED = 20201

LINEAR = ["idw", "nearest", "barnes", "cressman", "spline"]


@pytest.fixture(scope="module")
def day_gdf():
    """The 95 ASOS stations' real daily mean temperature on 2020-08-01."""
    obs = pd.read_csv(REPO / "examples" / "data" / "kma_asos_daily_2020.csv")
    d = obs[obs["time"] == "2020-08-01"].rename(
        columns={"stn_id": "station_id", "temp_c": "temperature_c"}
    )
    stations = load_stations().to_geodataframe()
    return stations.merge(d[["station_id", "temperature_c"]], on="station_id")


@pytest.fixture(scope="module")
def synthetic():
    """60 stations scattered over ~400 km (metres, EPSG:5179-like) and grid points."""
    rng = np.random.default_rng(RNG_SEED)
    xy = rng.uniform(0, 400_000, (60, 2)) + [900_000, 1_600_000]
    values = 15 + 4 * np.sin(xy[:, 0] / 80_000) + rng.normal(0, 0.5, 60)
    pts = rng.uniform(-20_000, 420_000, (500, 2)) + [900_000, 1_600_000]
    return xy, values, pts


def _gdf(lonlat, values, **cols):
    return gpd.GeoDataFrame(
        {"temperature_c": values, **cols},
        geometry=[Point(lon, lat) for lon, lat in lonlat],
        crs=4326,
    )


# -- peers ------------------------------------------------------------------------


def test_barnes_matches_metpy_grid(synthetic):
    from metpy.interpolate import inverse_distance_to_grid

    xy, v, _ = synthetic
    gx, gy = np.meshgrid(np.arange(880e3, 1320e3, 10e3), np.arange(1580e3, 2020e3, 10e3))
    for gamma, radius in [(0.25, None), (1.0, 60_000.0)]:
        m = Barnes(gamma=gamma, search_radius=radius).fit(xy, v)
        ours = m.predict(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
        ref = inverse_distance_to_grid(
            xy[:, 0],
            xy[:, 1],
            v,
            gx,
            gy,
            m.search_radius_,
            gamma=gamma,
            kappa=m.kappa_,
            min_neighbors=3,
            kind="barnes",
        )
        assert np.array_equal(np.isnan(ours), np.isnan(ref))
        np.testing.assert_allclose(ours, ref, atol=1e-9, equal_nan=True)


def test_barnes_cressman_defaults_match_metpy_interpolate_to_points(synthetic):
    from metpy.interpolate import interpolate_to_points

    xy, v, pts = synthetic
    b = Barnes().fit(xy, v).predict(pts)
    ref_b = interpolate_to_points(xy, v, pts, interp_type="barnes", gamma=0.25)
    np.testing.assert_allclose(b, ref_b, atol=1e-9, equal_nan=True)
    c = Cressman(min_neighbors=2).fit(xy, v).predict(pts)
    ref_c = interpolate_to_points(xy, v, pts, interp_type="cressman", minimum_neighbors=2)
    np.testing.assert_allclose(c, ref_c, atol=1e-9, equal_nan=True)


def test_cressman_matches_metpy_grid(synthetic):
    from metpy.interpolate import inverse_distance_to_grid

    xy, v, _ = synthetic
    gx, gy = np.meshgrid(np.arange(880e3, 1320e3, 10e3), np.arange(1580e3, 2020e3, 10e3))
    ours = Cressman(search_radius=50_000, min_neighbors=2).fit(xy, v)
    got = ours.predict(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    ref = inverse_distance_to_grid(
        xy[:, 0], xy[:, 1], v, gx, gy, 50_000, min_neighbors=2, kind="cressman"
    )
    assert np.isnan(got).any()  # some cells have < 2 stations within 50 km
    np.testing.assert_allclose(got, ref, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("smoothing", [0.0, 1e9, 2e10])
def test_spline_matches_scipy_rbf(synthetic, smoothing):
    from scipy.interpolate import RBFInterpolator

    xy, v, pts = synthetic
    ours = Spline(smoothing=smoothing).fit(xy, v).predict(pts)
    ref = RBFInterpolator(xy, v, kernel="thin_plate_spline", smoothing=smoothing)(pts)
    assert np.max(np.abs(ours - ref)) <= 1e-6


# -- known answers ----------------------------------------------------------------


def test_idw_known_answers():
    xy = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 2000.0]])
    v = np.array([10.0, 20.0, 40.0])
    p = np.array([[500.0, 0.0], [0.0, 0.0], [1000.0, 2000.0]])
    got = IDW(power=2, k=None).fit(xy, v).predict(p)
    # (500,0): d = 500, 500, sqrt(500²+2000²)
    w = np.array([1 / 500**2, 1 / 500**2, 1 / (500**2 + 2000**2)])
    assert got[0] == pytest.approx((w @ v) / w.sum())
    assert got[1] == 10.0
    w = np.array([1 / (1000**2 + 2000**2), 1 / 2000**2, 1 / 1000**2])
    assert got[2] == pytest.approx((w @ v) / w.sum())
    # power 1, k=2 nearest
    got = IDW(power=1, k=2).fit(xy, v).predict([[0.0, 500.0]])
    w = np.array([1 / 500, 1 / np.hypot(1000, 500)])
    assert got[0] == pytest.approx((w @ v[:2]) / w.sum())
    # radius: only stations within 600 m of (500, 0)
    got = IDW(radius=600.0).fit(xy, v).predict([[500.0, 0.0], [5000.0, 5000.0]])
    assert got[0] == pytest.approx(15.0) and np.isnan(got[1])
    # a large power: d**-power underflowed to 0 for every station and gave NaN
    far = IDW(power=200, k=None).fit(xy * 100, v)
    got = far.predict([[70_000.0, 10_000.0], [200.0, 0.0]])
    assert got[1] == 10.0 and got[0] == pytest.approx(20.0)
    assert np.isfinite(far.weights([[70_000.0, 10_000.0]]).toarray()).all()


def test_nearest_known_answer():
    xy = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 1000.0]])
    got = Nearest().fit(xy, [1.0, 2.0, 3.0]).predict([[900.0, 50.0], [10.0, 990.0]])
    assert got.tolist() == [2.0, 3.0]


@pytest.mark.parametrize(
    "est", [IDW(), IDW(k=None, power=3), Nearest(), Spline(smoothing=0)], ids=repr
)
def test_exact_at_stations(synthetic, est):
    xy, v, _ = synthetic
    np.testing.assert_allclose(est.fit(xy, v).predict(xy), v, atol=1e-8)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_constant_field_stays_constant(synthetic, name):
    xy, _, pts = synthetic
    params = {"search_radius": 1e6} if name in ("barnes", "cressman") else {}
    est = METHODS[name](**params).fit(xy, np.full(len(xy), 7.25))
    got = est.predict(pts)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, 7.25, atol=1e-9)


@pytest.mark.parametrize("name", LINEAR)
def test_weights_reproduce_predict(synthetic, name):
    xy, v, pts = synthetic
    est = METHODS[name]().fit(xy, v)
    w = est.weights(pts)
    assert w.shape == (len(pts), len(xy))
    via_w = np.asarray(w @ v).ravel()
    np.testing.assert_allclose(via_w, est.predict(pts), atol=1e-9, equal_nan=True)
    if sp.issparse(w):
        assert name != "spline"


def test_interface_contract():
    for name, cls in METHODS.items():
        assert issubclass(cls, Interpolator) and cls.name == name
        assert isinstance(cls.exact, bool)
    assert repr(IDW(power=3)) == "IDW(power=3, k=12, radius=None)"
    with pytest.raises(TypeError):
        IDW(3)  # parameters are keyword-only


@pytest.mark.parametrize(
    ("est", "match"),
    [
        (IDW(power=0), "power must be > 0"),
        (IDW(k=0), "k must be >= 1"),
        (IDW(k=2.5), "k must be a whole number"),
        (IDW(radius=-5), "radius must be > 0"),
        (Barnes(gamma="big"), "gamma must be a number"),
        (Barnes(min_neighbors=0), "min_neighbors must be >= 1"),
        (Barnes(min_neighbors=2.5), "min_neighbors must be a whole number"),
        (Barnes(kappa_star=0), "kappa_star must be > 0"),
        (Barnes(gamma=0), "gamma must be > 0"),
        (Barnes(kappa=0), "kappa must be > 0"),
        (Barnes(search_radius=0), "search_radius must be > 0"),
        (Cressman(search_radius=float("nan")), "search_radius must be finite"),
        (Spline(smoothing=-1), "smoothing must be >= 0"),
    ],
)
def test_bad_params_raise_in_fit(synthetic, est, match):
    xy, v, _ = synthetic
    with pytest.raises(InterpolationError, match=match):
        est.fit(xy, v)


def test_barnes_accepts_a_kappa_below_one_square_metre(synthetic):
    xy, v, _ = synthetic
    assert Barnes(kappa=0.5).fit(xy, v).kappa == 0.5



@pytest.mark.parametrize(
    ("xy", "values", "kw", "match"),
    [
        ([[0, 0], [1, 1e3]], [1, 2], {}, "at least 3 stations"),
        ([[0, 0], [1e3, 0], [0, 1e3]], [np.nan] * 3, {}, "all 3 station values are NaN"),
        ([[0, 0], [1e3, 0], [0, 1e3]], [1, np.nan, 2], {}, r"1 station value\(s\) are NaN"),
        ([[0, 0], [0.5, 0], [0, 1e3]], [1, 2, 3], {}, "share a location"),
        ([[0, 0], [1e3, 0], [0, np.inf]], [1, 2, 3], {}, "coordinates contain NaN/inf"),
        ([[0, 0, 0]], [1], {}, r"shape \(N, 2\)"),
        ([[0, 0], [1e3, 0], [0, 1e3]], [1, 2], {}, r"values must have shape \(3,\)"),
        ([[0, 0], [1e3, 0], [0, 1e3]], [1, 2, 3], {"drift": [1, 2, 3]}, "drift is only for"),
    ],
)
def test_bad_station_input(xy, values, kw, match):
    with pytest.raises(InterpolationError, match=match):
        IDW().fit(xy, values, **kw)


def test_predict_before_fit_and_drift_at_predict():
    with pytest.raises(InterpolationError, match="not fitted"):
        IDW().predict([[0, 0]])
    m = IDW().fit([[0, 0], [1e3, 0], [0, 1e3]], [1, 2, 3])
    with pytest.raises(InterpolationError, match="fitted without a drift"):
        m.predict([[0, 0]], drift=[[1.0]])


# -- interpolate() -------------------------------------------------------------------


def test_interpolate_end_to_end(day_gdf):
    g = interpolate(day_gdf, "idw", resolution=20_000, elevation=None)
    assert g.name == "temperature_c" and g.crs.to_epsg() == 5179
    assert np.isfinite(g.values[g.mask]).all() and np.isnan(g.values[~g.mask]).all()
    lo, hi = day_gdf["temperature_c"].min(), day_gdf["temperature_c"].max()
    assert lo <= np.nanmin(g.values) and np.nanmax(g.values) <= hi  # IDW is bounded
    assert g.attrs["method"] == "idw" and g.attrs["params"]["power"] == 2.0
    assert g.attrs["n_stations"] == len(day_gdf) and g.attrs["n_missing"] == 0


def test_interpolate_any_input_crs_same_result(day_gdf):
    a = interpolate(day_gdf, "spline", resolution=20_000)
    b = interpolate(day_gdf.to_crs(5186), "spline", resolution=20_000)
    np.testing.assert_allclose(a.values, b.values, atol=1e-6, equal_nan=True)


def test_interpolate_region_uses_outside_stations(day_gdf):
    g = interpolate(day_gdf, "idw", resolution=10_000, region="서울")
    # 서울 has one or two ASOS stations; neighbours within 200 km are used too
    assert g.attrs["n_stations"] > 20
    assert np.isfinite(g.values[g.mask]).all()


def test_elevation_lapse_makes_mountains_colder(day_gdf):
    plain = interpolate(day_gdf, "idw", resolution=20_000, region="강원", elevation=None)
    lapse = interpolate(day_gdf, "idw", resolution=20_000, region="강원", elevation="lapse")
    assert lapse.attrs["lapse_rate_k_per_km"] == 6.5
    from kwxmap.dem import grid_elevation

    z = grid_elevation(lapse)[lapse.mask]
    diff = (lapse.values - plain.values)[lapse.mask]
    high, low = z > 800, z < 100
    assert diff[high].mean() < diff[low].mean() - 2.0


def test_elevation_fit_stores_rate(day_gdf):
    g = interpolate(day_gdf, "spline", resolution=20_000, elevation="fit")
    assert 2.0 < g.attrs["lapse_rate_k_per_km"] < 10.0  # summer day: normal lapse
    fixed = interpolate(day_gdf, "spline", resolution=20_000, elevation="lapse", lapse_rate=3.0)
    assert fixed.attrs["lapse_rate_k_per_km"] == 3.0


def test_fit_lapse_rate_separates_the_north_south_gradient_from_height():
    """T = 20 - 6.5 K/km z - 3 K/100 km y, northern stations higher: the rate is 6.5."""
    rng = np.random.default_rng(7)
    xy = rng.uniform(0.0, 300_000.0, (12, 2))
    z = 100.0 + 0.004 * xy[:, 1] + rng.uniform(0.0, 400.0, 12)  # higher in the north
    t = 20.0 - 6.5 * z / 1000.0 - 3e-5 * xy[:, 1]
    assert fit_lapse_rate(z, t, xy) == pytest.approx(6.5, abs=1e-9)
    # without the coordinates the cold north is read as a steeper lapse rate
    assert fit_lapse_rate(z, t) > 8.0


def test_fit_lapse_rate_is_the_huber_estimate_with_a_mad_scale():
    """The documented estimator (Huber, c = 1.345, scale 1.4826 MAD), found another way:
    the Huber loss minimised by BFGS, alternating with the MAD scale of its residuals."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(11)
    z = rng.uniform(0.0, 900.0, 40)
    t = 15.0 - 6.5 * z / 1000.0 + rng.normal(0.0, 0.3, 40)
    t[:5] -= rng.uniform(1.0, 3.0, 5)  # cold-pool stations
    x = np.column_stack([np.ones(40), z / 1000.0])
    c = 1.345
    beta = np.linalg.lstsq(x, t, rcond=None)[0]
    for _ in range(200):
        r = t - x @ beta
        scale = 1.4826 * np.median(np.abs(r - np.median(r)))

        def loss(b, scale=scale):
            u = np.abs((t - x @ b) / scale)
            return np.sum(np.where(u <= c, 0.5 * u * u, c * u - 0.5 * c * c))

        new = minimize(loss, beta, method="BFGS", options={"gtol": 1e-12}).x
        if np.allclose(new, beta, atol=1e-12, rtol=0):
            break
        beta = new
    assert fit_lapse_rate(z, t) == pytest.approx(-beta[1], abs=1e-6)
    assert abs(-np.linalg.lstsq(x, t, rcond=None)[0][1] - -beta[1]) > 0.3  # not least squares


def test_fit_lapse_rate_inversion_is_negative():
    rng = np.random.default_rng(1)
    z = rng.uniform(0, 900, 40)
    xy = rng.uniform(0, 3e5, (40, 2))
    t = -5.0 + 0.004 * z + 2e-6 * xy[:, 1] + rng.normal(0, 0.2, 40)  # warmer aloft
    assert fit_lapse_rate(z, t, xy) == pytest.approx(-4.0, abs=0.4)
    t[:3] -= 10  # three cold-pool outliers
    assert fit_lapse_rate(z, t, xy) == pytest.approx(-4.0, abs=0.6)


def test_auto_picks_lowest_loo_rmse(day_gdf):
    g = interpolate(day_gdf, "auto", resolution=20_000, elevation="lapse")
    scores = g.attrs["cv_scores"]
    assert g.attrs["method"] == min(scores, key=lambda m: scores[m]["rmse"])
    assert g.attrs["method_requested"] == "auto"


def test_constant_field_via_interpolate(day_gdf):
    gdf = day_gdf.assign(temperature_c=12.5)
    for name in ["idw", "spline", "nearest"]:
        g = interpolate(gdf, name, resolution=25_000, elevation=None)
        np.testing.assert_allclose(g.values[g.mask], 12.5, atol=1e-9)


@pytest.mark.parametrize("name", ["idw", "nearest", "barnes", "cressman"])
def test_uniform_reading_maps_to_one_band(name):
    # weighted means of 5.0 came out as 4.999999999999999 / 5.000000000000001,
    # and the map got a second, sliver "5–6 °C" band
    lonlat = [(127.0, 37.5), (127.5, 36.5), (126.9, 35.2), (128.7, 37.7), (128.0, 36.0)]
    g = interpolate(_gdf(lonlat, [5.0] * 5), name, resolution=20_000, region="충북", elevation=None)
    assert (g.values[g.mask] == 5.0).all()
    assert contour_bands(g)["label"].tolist() == ["4–5 °C"]


def test_uniform_reading_through_the_spline_is_exact(day_gdf):
    # was 2.9999999999999973..3.000000000000001: two bands, '2–3 °C' and '3–4 °C'
    g = interpolate(day_gdf.assign(temperature_c=3.0), "spline", resolution=25_000,
                    elevation=None)
    assert g.attrs["method"] == "spline"
    assert (g.values[g.mask] == 3.0).all()
    assert contour_bands(g)["label"].tolist() == ["2–3 °C"]


def test_nan_readings_dropped_and_counted(day_gdf):
    gdf = day_gdf.copy()
    gdf.loc[gdf.index[:5], "temperature_c"] = np.nan
    g = interpolate(gdf, "idw", resolution=25_000)
    assert g.attrs["n_missing"] == 5 and g.attrs["n_stations"] == len(gdf) - 5


def test_far_stations_warned_and_ignored(day_gdf):
    far = _gdf([(140.0, 40.0)], [99.0], station_id=[1], elevation_m=[0.0])
    gdf = pd.concat([day_gdf, far], ignore_index=True)
    with pytest.warns(KwxmapWarning, match="1 station.*more than 200 km.*ignored.*: 1$"):
        g = interpolate(gdf, "idw", resolution=25_000)
    assert np.nanmax(g.values) < 40 and g.attrs["dropped_far"] == ["1"]


def test_a_province_uses_every_korean_station_and_equals_the_national_surface(day_gdf):
    """A regional map is the national map on its cells: the same stations serve both."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", KwxmapWarning)
        seoul = interpolate(day_gdf, "idw", resolution=10_000, region="서울")
    assert seoul.attrs["dropped_far"] == [] and seoul.attrs["n_stations"] == len(day_gdf)
    import pyproj

    j, i = np.nonzero(seoul.mask)
    lon, lat = pyproj.Transformer.from_crs(5179, 4326, always_xy=True).transform(
        seoul.x[i], seoul.y[j])
    national = interpolate(day_gdf, "idw", target=pd.DataFrame({"lon": lon, "lat": lat}),
                           region="south-korea")
    np.testing.assert_allclose(national["temperature_c"], seoul.values[j, i], atol=1e-9)


def test_barnes_holes_warned(day_gdf):
    with pytest.warns(KwxmapWarning, match="cells inside the region got no value"):
        interpolate(day_gdf, "barnes", resolution=20_000, search_radius=30_000)


def _far_only():
    return _gdf([(140, 40), (140.5, 40), (140, 40.5)], [1.0, 2.0, 3.0])


def _dup():
    return _gdf([(127, 37), (127, 37), (128, 36)], [1.0, 2.0, 3.0], station_id=[5, 6, 7])


@pytest.mark.parametrize(
    ("make", "kw", "exc", "match"),
    [
        (lambda g: g.head(2), {}, InterpolationError, "at least 3 stations"),
        (
            lambda g: g.assign(temperature_c=np.nan),
            {},
            InterpolationError,
            r"all \d+ station values",
        ),
        (lambda g: _dup(), {}, InterpolationError, "share a location.*5 & 6"),
        (lambda g: _far_only(), {}, InterpolationError, "within 200 km of the region"),
        (lambda g: g, {"method": "linear"}, InterpolationError, "use one of barnes, cressman"),
        (lambda g: g, {"method": "idw", "powr": 2}, InterpolationError, "'powr'.*valid: power"),
        (lambda g: g, {"method": "auto", "power": 2}, InterpolationError, "method='auto'"),
        (lambda g: g, {"resolution": 0}, RegionError, "resolution must be a positive"),
        (lambda g: g, {"resolution": 40}, RegionError, "more than the limit"),
        (lambda g: g, {"region": "충묵"}, RegionError, "did you mean 충북"),
        (lambda g: g, {"elevation": "yes"}, InterpolationError, "elevation must be one of"),
        (lambda g: g, {"lapse_rate": 5.0}, InterpolationError, "only used with elevation"),
        (lambda g: g, {"elevation": "drift", "method": "idw"}, InterpolationError, "kriging"),
        (lambda g: g, {"dem": "x.tif"}, InterpolationError, "dem= is only used"),
        (lambda g: g, {"value": "temp"}, InterpolationError, "'temp' not in"),
        # True/False would map as 1/0 and times as nanoseconds
        (lambda g: g.assign(temperature_c=True), {}, InterpolationError, "dtype 'bool'"),
        (
            lambda g: g.assign(temperature_c=pd.Timestamp("2020-08-01")),
            {},
            InterpolationError,
            "dtype 'datetime64",
        ),
        (lambda g: g.set_crs(None, allow_override=True), {}, InterpolationError, "no CRS"),
        (
            lambda g: g.drop(columns="elevation_m"),
            {"elevation": "lapse"},
            InterpolationError,
            "elevation_m",
        ),
        (
            lambda g: g,
            {"region": (131.5, 36.5, 132.5, 37.5), "elevation": "lapse"},
            DataError,
            "does not cover",
        ),
        (pd.DataFrame, {}, InterpolationError, "expected a GeoDataFrame"),
    ],
)
def test_bad_input_table(day_gdf, make, kw, exc, match):
    kw = {"resolution": 20_000, "elevation": None, **kw}
    method = kw.pop("method", "idw")
    gdf = make(day_gdf.copy()) if make is not pd.DataFrame else pd.DataFrame({"a": [1]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KwxmapWarning)
        with pytest.raises(exc, match=match):
            interpolate(gdf, method, **kw)


def test_spline_collinear_stations_clear_error():
    with pytest.raises(InterpolationError, match="one straight line"):
        Spline().fit([[0, 0], [1000, 0], [2000, 0], [3000, 0]], [1, 2, 3, 4])


def test_spline_smoothing_is_in_metres_for_a_layout_under_two_metres():
    """Stations in a 1.5 m square (half-span < 1 m): the smoothing still matches scipy's."""
    from scipy.interpolate import RBFInterpolator

    xy = np.array([[0.0, 0.0], [1.5, 0.0], [0.0, 1.5], [1.5, 1.5], [0.75, 0.75]])
    v = np.array([10.0, 12.0, 9.0, 14.0, 8.0])
    pts = np.random.default_rng(3).uniform(0.0, 1.5, (20, 2))
    ours = Spline(smoothing=0.05).fit(xy, v).predict(pts)
    ref = RBFInterpolator(xy, v, kernel="thin_plate_spline", smoothing=0.05)(pts)
    np.testing.assert_allclose(ours, ref, atol=1e-9)


def test_spline_constant_drift_column_is_a_clear_error():
    xy = [[0, 0], [1000, 0], [0, 1000], [1000, 1000], [500, 300]]
    drift = [[5.0, 0.1], [5.0, 0.2], [5.0, 0.3], [5.0, 0.4], [5.0, 0.05]]  # std 0.13
    with pytest.raises(InterpolationError, match=r"drift column\(s\) \[0\] are constant"):
        Spline().fit(xy, [1, 2, 3, 4, 5], drift=drift)
    Spline().fit(xy, [1, 2, 3, 4, 5], drift=[row[1:] for row in drift])  # the other is fine


@pytest.mark.parametrize("name", LINEAR)
def test_refit_replaces_state(synthetic, name):
    xy, v, pts = synthetic
    est = METHODS[name]()
    est.fit(xy, v).weights(pts[:5])
    est.fit(xy[:40], v[:40])
    fresh = METHODS[name]().fit(xy[:40], v[:40])
    assert est.weights(pts[:5]).shape == (5, 40)
    np.testing.assert_allclose(est.predict(pts), fresh.predict(pts), equal_nan=True)


@pytest.mark.parametrize("cls", ["barnes", "cressman"])
def test_radius_methods_dense_and_kdtree_paths_agree(cls):
    """The all-pairs path (small networks) and the KD-tree path (dense networks) agree."""
    from kwxmap.interpolate import METHODS

    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 300e3, size=(60, 2))
    values = rng.normal(10, 3, size=60)
    targets = np.vstack([rng.uniform(-50e3, 350e3, size=(3000, 2)), xy[:5]])
    est = METHODS[cls](search_radius=60e3).fit(xy, values)
    results = {}
    for dense in (True, False):
        est.dense_ = dense
        results[dense] = (est.predict(targets), est.weights(targets).toarray(),
                          est._loo_weights().toarray())
    for a, b in zip(results[True], results[False], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert np.isnan(results[True][0]).any() and np.isfinite(results[True][0]).any()


def test_barnes_leave_one_out_leaves_out_itself_in_every_chunk():
    """LOO rows never weigh their own station, past the first chunk of either path."""
    # dense path (all stations in range), 400 stations: chunks of 131072 // 400 = 327 rows
    rng = np.random.default_rng(0)
    xy = rng.uniform(0.0, 1e5, (400, 2))
    est = Barnes(search_radius=1e6).fit(xy, rng.normal(size=400))
    assert est.dense_
    w = est._loo_weights()
    assert abs(w.diagonal()).max() == 0.0
    np.testing.assert_allclose(np.asarray(w.sum(axis=1)).ravel(), 1.0)
    # KD-tree path, 265 x 265 stations 1 km apart: chunks of 65536 points
    g = np.arange(265) * 1000.0
    xx, yy = np.meshgrid(g, g)
    xy = np.column_stack([xx.ravel(), yy.ravel()])
    est = Barnes(search_radius=1500.0).fit(xy, np.sin(xy[:, 0] / 7000.0))
    assert not est.dense_
    w = est._loo_weights()
    assert abs(w.diagonal()).max() == 0.0
    assert w[66_000].nnz == 8  # row 249, column 15: 8 neighbours within 1.5 km, not itself


def test_barnes_weights_for_no_points_are_an_empty_matrix():
    g = np.arange(10) * 1000.0
    xx, yy = np.meshgrid(g, g)
    xy = np.column_stack([xx.ravel(), yy.ravel()])
    for radius in (1500.0, 1e6):  # KD-tree and dense paths
        est = Barnes(search_radius=radius).fit(xy, xy[:, 0])
        assert est.weights(np.empty((0, 2))).shape == (0, 100)


def test_lapse_rates_up_to_30_k_per_km_are_plausible():
    from kwxmap.interpolate.elevation import ElevationModel

    assert ElevationModel("lapse", 30.0).lapse_rate == 30.0
    assert ElevationModel("lapse", -30.0).lapse_rate == -30.0
    with pytest.raises(InterpolationError, match="lapse_rate=30.5 K/km is implausible"):
        ElevationModel("lapse", 30.5)


def test_elevation_model_rates_one_per_row():
    from kwxmap.interpolate.elevation import ElevationModel

    rng = np.random.default_rng(5)
    xy = rng.uniform(0.0, 3e5, (9, 2))
    z = 100.0 + 0.004 * xy[:, 1] + rng.uniform(0.0, 400.0, 9)  # higher in the north
    flat = np.array([15.0 - r * z / 1000.0 for r in (6.5, 4.0, -2.0)])
    rows = flat - 3e-5 * xy[:, 1]  # and a colder north
    rows[1, 0] = flat[1, 0] = np.nan  # a missing value: that row is fitted on the other 8
    assert ElevationModel("lapse", 5.0).rates(rows, z).tolist() == [5.0, 5.0, 5.0]
    assert ElevationModel(None).rates(rows, z) is None
    np.testing.assert_allclose(ElevationModel("fit").rates(flat, z), [6.5, 4.0, -2.0],
                               atol=1e-9)
    np.testing.assert_allclose(ElevationModel("fit").rates(rows, z, xy), [6.5, 4.0, -2.0],
                               atol=1e-9)


@pytest.mark.parametrize(
    ("method", "want"),
    [("auto", "predictors"), ("kriging", "predictors"), ("spline", "predictors"),
     ("idw", "lapse"), ("barnes", "lapse"), ("cressman", "lapse"), ("nearest", "lapse")],
)
def test_elevation_auto_is_the_best_handling_the_method_takes(method, want):
    from kwxmap.interpolate.elevation import resolve_elevation

    assert resolve_elevation(method, "auto") == want
    assert resolve_elevation(method, "fit") == "fit" and resolve_elevation(method, None) is None


def test_fit_lapse_rate_needs_five_stations_and_50_m_of_height():
    from kwxmap.interpolate.elevation import fit_lapse_rate

    z = np.array([0.0, 10.0, 20.0, 30.0, 50.0])  # five stations spanning exactly 50 m
    assert fit_lapse_rate(z, 20.0 - 0.0065 * z) == pytest.approx(6.5)
    with pytest.raises(InterpolationError, match="at least 5 stations to fit a lapse rate, got 4"):
        fit_lapse_rate(z[:4], 20.0 - 0.0065 * z[:4])
    with pytest.raises(InterpolationError, match="station elevations span only 49 m"):
        fit_lapse_rate(z * 0.98, 20.0 - 0.0065 * z)


@pytest.mark.parametrize("rate", [True, "6.5", None])
def test_lapse_rate_must_be_a_number(rate):
    from kwxmap.interpolate.elevation import ElevationModel

    if rate is None:  # the standard rate
        assert ElevationModel("lapse", rate).lapse_rate == 6.5
        return
    with pytest.raises(InterpolationError, match="lapse_rate must be a number in K/km"):
        ElevationModel("lapse", rate)


def test_elevation_model_defaults_to_epsg_5179():
    from kwxmap.interpolate.elevation import ElevationModel

    assert ElevationModel("predictors").crs == 5179
    assert ElevationModel("predictors").for_stations(80).crs == 5179
    assert ElevationModel("predictors").for_stations(80, 5186).crs == 5186
