"""Kriging and variograms: equal to PyKrige on the same inputs, exact, robust to bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from kwxmap.errors import InterpolationError, KwxmapWarning
from kwxmap.interpolate._base import METHODS
from kwxmap.interpolate.kriging import Kriging
from kwxmap.interpolate.variogram import (
    EmpiricalVariogram,
    Variogram,
    empirical_variogram,
    fit_variogram,
    make_variogram,
)

pykrige_ok = pytest.importorskip("pykrige.ok")
pykrige_uk = pytest.importorskip("pykrige.uk")
pykrige_core = pytest.importorskip("pykrige.core")

ROOT = Path(__file__).resolve().parents[1]
TOL = 1e-6  # °C (and °C² for the variance)

PARAMS = {
    "exponential": {"psill": 4.0, "range": 150_000.0, "nugget": 0.2},
    "spherical": {"psill": 3.0, "range": 120_000.0, "nugget": 0.1},
    "gaussian": {"psill": 2.5, "range": 90_000.0, "nugget": 0.3},
    "linear": {"slope": 2e-5, "nugget": 0.1},
    "power": {"scale": 1e-3, "exponent": 0.8, "nugget": 0.05},
}


@pytest.fixture(scope="module")
def stations() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Real ASOS station locations (EPSG:5179 metres), elevations and a synthetic field."""
    table = pd.read_csv(ROOT / "scripts" / "sources" / "kma_asos_stations.csv")
    table = table[table["active"] == 1]
    to_5179 = Transformer.from_crs(4326, 5179, always_xy=True)
    x, y = to_5179.transform(table["lon"].to_numpy(), table["lat"].to_numpy())
    xy = np.column_stack([x, y])
    elev = table["elevation_m"].to_numpy(dtype=float)
    rng = np.random.default_rng(42)
    values = (
        14.0
        - 0.0065 * elev
        - 8e-6 * (y - y.mean())
        + 1.5 * np.sin(x / 80_000.0)
        + rng.normal(0.0, 0.4, len(x))
    )
    return xy, elev, values


@pytest.fixture(scope="module")
def targets(stations) -> np.ndarray:
    xy = stations[0]
    rng = np.random.default_rng(7)
    lo, hi = xy.min(axis=0) - 20_000, xy.max(axis=0) + 20_000
    pts = rng.uniform(lo, hi, size=(1500, 2))
    return np.vstack([pts, xy[:10]])  # include targets exactly at stations


def test_registered():
    assert METHODS["kriging"] is Kriging
    assert Kriging.exact and Kriging.accepts_drift


@pytest.mark.parametrize("model", sorted(PARAMS))
def test_global_equals_pykrige_points(stations, targets, model):
    xy, _, values = stations
    ok = pykrige_ok.OrdinaryKriging(
        xy[:, 0],
        xy[:, 1],
        values,
        variogram_model=model,
        variogram_parameters=PARAMS[model],
        coordinates_type="euclidean",
    )
    z_ref, var_ref = ok.execute("points", targets[:, 0], targets[:, 1])
    k = Kriging(variogram_model=model, variogram_parameters=PARAMS[model]).fit(xy, values)
    pred, var = k.predict_with_variance(targets)
    np.testing.assert_allclose(pred, z_ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(var, var_ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(k.predict(targets), pred, rtol=0, atol=1e-12)
    np.testing.assert_allclose(k.variance(targets), var, rtol=0, atol=1e-12)


def test_global_equals_pykrige_grid(stations):
    xy, _, values = stations
    gx = np.arange(750_000.0, 1_350_000.0, 20_000.0)
    gy = np.arange(1_450_000.0, 2_100_000.0, 20_000.0)
    ok = pykrige_ok.OrdinaryKriging(
        xy[:, 0],
        xy[:, 1],
        values,
        variogram_model="spherical",
        variogram_parameters=PARAMS["spherical"],
    )
    z_ref, var_ref = ok.execute("grid", gx, gy)
    gxx, gyy = np.meshgrid(gx, gy)
    k = Kriging(variogram_model="spherical", variogram_parameters=PARAMS["spherical"])
    pred, var = k.fit(xy, values).predict_with_variance(np.column_stack([gxx.ravel(), gyy.ravel()]))
    np.testing.assert_allclose(pred.reshape(gxx.shape), z_ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(var.reshape(gxx.shape), var_ref, rtol=0, atol=TOL)


@pytest.mark.parametrize("model", ["exponential", "spherical", "linear"])
@pytest.mark.parametrize("n_closest", [3, 10])
def test_local_equals_pykrige_moving_window(stations, targets, model, n_closest):
    xy, _, values = stations
    ok = pykrige_ok.OrdinaryKriging(
        xy[:, 0], xy[:, 1], values, variogram_model=model, variogram_parameters=PARAMS[model]
    )
    z_ref, var_ref = ok.execute(
        "points", targets[:, 0], targets[:, 1], backend="C", n_closest_points=n_closest
    )
    k = Kriging(variogram_model=model, variogram_parameters=PARAMS[model], neighbors=n_closest)
    pred, var = k.fit(xy, values).predict_with_variance(targets)
    np.testing.assert_allclose(pred, z_ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(var, var_ref, rtol=0, atol=TOL)


def test_ked_equals_pykrige_specified_drift(stations, targets):
    xy, elev, values = stations
    params = {"psill": 1.5, "range": 100_000.0, "nugget": 0.1}
    rng = np.random.default_rng(3)
    target_elev = rng.uniform(0.0, 1500.0, len(targets))
    target_elev[-10:] = elev[:10]  # the stations' own elevation at the stations
    uk = pykrige_uk.UniversalKriging(
        xy[:, 0],
        xy[:, 1],
        values,
        variogram_model="exponential",
        variogram_parameters=params,
        drift_terms=["specified"],
        specified_drift=[elev],
    )
    z_ref, var_ref = uk.execute(
        "points", targets[:, 0], targets[:, 1], specified_drift_arrays=[target_elev]
    )
    k = Kriging(variogram_parameters=params).fit(xy, values, drift=elev)
    pred, var = k.predict_with_variance(targets, drift=target_elev)
    np.testing.assert_allclose(pred, z_ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(var, var_ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(pred[-10:], values[:10], rtol=0, atol=1e-9)


def test_ked_hand_solved_tiny_example():
    """KED on 5 stations against the textbook system solved here by hand."""
    xy = np.array([[0.0, 0.0], [4000.0, 0.0], [0.0, 3000.0], [5000.0, 5000.0], [2000.0, 7000.0]])
    z = np.array([10.0, 9.0, 8.5, 6.0, 5.0])
    h = np.array([50.0, 120.0, 300.0, 700.0, 900.0])
    x0, h0 = np.array([2500.0, 2500.0]), 400.0
    sill, rng_m = 2.0, 6000.0

    def gamma(d: float) -> float:
        return sill * (1.0 - np.exp(-3.0 * d / rng_m)) if d > 0 else 0.0

    n = len(z)
    a = np.zeros((n + 2, n + 2))
    b = np.zeros(n + 2)
    for i in range(n):
        for j in range(n):
            a[i, j] = gamma(float(np.hypot(*(xy[i] - xy[j]))))
        a[i, n], a[n, i] = 1.0, 1.0
        a[i, n + 1], a[n + 1, i] = h[i], h[i]
        b[i] = gamma(float(np.hypot(*(xy[i] - x0))))
    b[n], b[n + 1] = 1.0, h0
    lam = np.linalg.solve(a, b)
    expected, expected_var = lam[:n] @ z, lam @ b

    k = Kriging(variogram_parameters={"psill": sill, "range": rng_m, "nugget": 0.0})
    k.fit(xy, z, drift=h)
    pred, var = k.predict_with_variance(x0[None, :], drift=[[h0]])
    assert pred[0] == pytest.approx(expected, abs=1e-10)
    assert var[0] == pytest.approx(expected_var, abs=1e-10)
    # the weights reproduce the drift exactly (unbiasedness for a linear elevation trend)
    w = k.weights(x0[None, :], drift=[[h0]])[0]
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert w @ h == pytest.approx(h0, abs=1e-9)


@pytest.mark.parametrize("neighbors", [None, 8])
@pytest.mark.parametrize("with_drift", [False, True])
def test_weights_reproduce_predict(stations, targets, neighbors, with_drift):
    xy, elev, values = stations
    k = Kriging(variogram_parameters=PARAMS["exponential"], neighbors=neighbors)
    drift = elev if with_drift else None
    target_drift = np.linspace(0, 1000, len(targets)) if with_drift else None
    k.fit(xy, values, drift=drift)
    w = k.weights(targets, drift=target_drift)
    assert w.shape == (len(targets), len(values))
    np.testing.assert_allclose(w @ values, k.predict(targets, drift=target_drift), atol=1e-9)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-9)
    if neighbors:
        assert ((w != 0).sum(axis=1) <= neighbors).all()


def test_local_ked_equals_global_on_the_neighbours(stations):
    xy, elev, values = stations
    target = np.array([[1_000_000.0, 1_800_000.0]])
    k = 12
    nearest = np.argsort(np.hypot(*(xy - target).T))[:k]
    params = PARAMS["spherical"]
    local = Kriging(variogram_model="spherical", variogram_parameters=params, neighbors=k)
    local.fit(xy, values, drift=elev)
    glob = Kriging(variogram_model="spherical", variogram_parameters=params)
    glob.fit(xy[nearest], values[nearest], drift=elev[nearest])
    a = local.predict_with_variance(target, drift=[[350.0]])
    b = glob.predict_with_variance(target, drift=[[350.0]])
    np.testing.assert_allclose(a, b, atol=1e-9)


def test_neighbors_at_least_n_is_global(stations, targets):
    xy, _, values = stations
    params = PARAMS["gaussian"]
    a = Kriging(variogram_model="gaussian", variogram_parameters=params, neighbors=500)
    b = Kriging(variogram_model="gaussian", variogram_parameters=params)
    np.testing.assert_allclose(
        a.fit(xy, values).predict(targets), b.fit(xy, values).predict(targets), atol=1e-9
    )


def test_leave_one_out_with_all_other_stations_as_neighbours_is_global(stations):
    """neighbors = n - 1: each station left out is predicted from all the others."""
    from kwxmap.interpolate.cv import loo_weights

    xy, _, values = stations
    xy, values = xy[:15], values[:15]
    params = PARAMS["exponential"]
    local = loo_weights(Kriging(variogram_parameters=params, neighbors=14), xy, values)
    glob = loo_weights(Kriging(variogram_parameters=params), xy, values)
    np.testing.assert_allclose(np.asarray(local), np.asarray(glob), atol=1e-9)
    assert (np.asarray(local)[~np.eye(15, dtype=bool)] != 0).all()


@pytest.mark.parametrize("neighbors", [None, 5])
def test_exact_at_stations_even_with_nugget(stations, neighbors):
    xy, _, values = stations
    k = Kriging(
        variogram_parameters={"psill": 1.0, "range": 50_000.0, "nugget": 0.8}, neighbors=neighbors
    ).fit(xy, values)
    pred, var = k.predict_with_variance(xy)
    np.testing.assert_allclose(pred, values, atol=1e-9)
    np.testing.assert_allclose(var, 0.0, atol=1e-9)


@pytest.mark.parametrize("model", sorted(PARAMS))
@pytest.mark.parametrize("neighbors", [None, 6])
def test_constant_field_stays_constant(stations, targets, model, neighbors):
    xy, elev, _ = stations
    for given in (None, PARAMS[model]):
        k = Kriging(variogram_model=model, variogram_parameters=given, neighbors=neighbors)
        pred, var = k.fit(xy, np.full(len(xy), 7.25)).predict_with_variance(targets)
        assert np.isfinite(var).all()
        np.testing.assert_array_equal(pred, 7.25)
    k = Kriging(neighbors=neighbors).fit(xy, np.full(len(xy), -3.0), drift=elev)
    np.testing.assert_array_equal(k.predict(targets, drift=np.zeros(len(targets))), -3.0)


def test_variance_positive_and_grows_away_from_stations(stations):
    xy, _, values = stations
    k = Kriging(variogram_parameters=PARAMS["exponential"]).fit(xy, values)
    near = xy[0] + [500.0, 0.0]
    far = xy[0] + [0.0, -400_000.0]  # far out at sea
    var = k.variance(np.array([near, far]))
    assert 0 < var[0] < var[1]


def test_auto_fit_recovers_a_known_variogram():
    """Pooled over many simulated fields the fit finds the true sill and range."""
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 400_000.0, size=(250, 2))
    truth = Variogram("exponential", (3.0, 120_000.0, 0.2))
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    cov = truth.sill - truth(d)
    np.fill_diagonal(cov, truth.sill)
    fields = rng.standard_normal((200, len(xy))) @ np.linalg.cholesky(cov).T
    ev = empirical_variogram(xy, fields, nlags=15, max_lag=250_000.0, standardize=False)
    fit = fit_variogram(ev, "exponential")
    assert fit.sill == pytest.approx(truth.sill, rel=0.15)
    assert fit.params[1] == pytest.approx(truth.params[1], rel=0.25)
    assert fit.nugget == pytest.approx(truth.nugget, abs=0.15)


def test_auto_fit_sets_attributes_and_is_not_linear(stations):
    xy, elev, values = stations
    k = Kriging(variogram_model="spherical").fit(xy, values)
    assert k.variogram_.model == "spherical"
    assert isinstance(k.empirical_, EmpiricalVariogram)
    assert not k.linear
    psill, rng_m, nugget = k.variogram_.params
    assert psill > 0 and 0 < rng_m <= 4 * k.empirical_.max_lag and nugget >= 0
    fixed = Kriging(variogram_parameters=k.variogram_).fit(xy, values)
    assert fixed.linear and fixed.empirical_ is None
    # KED fits the variogram to the drift-regression residuals: a smaller sill here
    ked = Kriging(variogram_model="spherical").fit(xy, values, drift=elev)
    assert ked.variogram_.sill < k.variogram_.sill


def test_empirical_variogram_matches_a_direct_computation():
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 100_000.0, size=(40, 2))
    z = rng.normal(size=40)
    ev = empirical_variogram(xy, z, nlags=5, max_lag=60_000.0)
    i, j = np.triu_indices(40, k=1)
    d = np.hypot(*(xy[i] - xy[j]).T)
    g = 0.5 * (z[i] - z[j]) ** 2
    bins = np.minimum((d / 12_000.0).astype(int), 4)
    keep = d <= 60_000.0
    for b in range(5):
        sel = keep & (bins == b)
        assert ev.counts[b] == sel.sum()
        assert ev.semivariance[b] == pytest.approx(g[sel].mean())
        assert ev.lags[b] == pytest.approx(d[sel].mean())
    robust = empirical_variogram(xy, z, nlags=5, max_lag=60_000.0, estimator="cressie")
    assert robust.estimator == "cressie" and robust.semivariance.shape == (5,)


def test_pooled_empirical_variogram_is_scale_free():
    rng = np.random.default_rng(6)
    xy = rng.uniform(0, 100_000.0, size=(30, 2))
    fields = rng.normal(size=(4, 30))
    scaled = fields * np.array([[1.0], [10.0], [0.1], [3.0]]) + 5.0
    a = empirical_variogram(xy, fields, nlags=4)
    b = empirical_variogram(xy, scaled, nlags=4)
    np.testing.assert_allclose(a.semivariance, b.semivariance)
    full = empirical_variogram(xy, fields, nlags=4, max_lag=1e6)
    assert full.counts.sum() == 4 * 435
    fields[1, :3] = np.nan  # missing stations drop their pairs only
    c = empirical_variogram(xy, fields, nlags=4, max_lag=1e6)
    assert c.counts.sum() == 4 * 435 - (3 * 29 - 3)


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("spherical", {"psill": 2.0, "range": 5e4, "nugget": 0.5}),
        ("gaussian", {"sill": 2.5, "range": 5e4, "nugget": 0.5}),
        ("exponential", [2.5, 5e4, 0.5]),
        ("linear", {"slope": 1e-4, "nugget": 0.2}),
        ("linear", [1e-4, 0.2]),
        ("power", {"scale": 0.01, "exponent": 1.2, "nugget": 0.0}),
        ("power", [0.01, 1.2, 0.0]),
    ],
)
def test_parameter_conventions_are_pykrige_s(model, params):
    ours = make_variogram(model, params)
    theirs = pykrige_core._make_variogram_parameter_list(model, params)
    np.testing.assert_allclose(ours.params, theirs)
    d = np.array([0.0, 1e3, 2e4, 5e4, 1e5, 3e5])
    from pykrige.variogram_models import (
        exponential_variogram_model,
        gaussian_variogram_model,
        linear_variogram_model,
        power_variogram_model,
        spherical_variogram_model,
    )

    ref = {
        "exponential": exponential_variogram_model,
        "gaussian": gaussian_variogram_model,
        "linear": linear_variogram_model,
        "power": power_variogram_model,
        "spherical": spherical_variogram_model,
    }[model]
    np.testing.assert_allclose(ours(d), ref(list(theirs), d), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"variogram_model": "cubic"}, "variogram_model must be one of"),
        ({"variogram_parameters": {"psill": 1.0, "nugget": 0.0}}, "needs keys 'range'"),
        ({"variogram_parameters": [1.0, 2.0]}, "takes 3 parameters"),
        ({"variogram_parameters": {"psill": -1.0, "range": 1e4, "nugget": 0}}, ">= 0"),
        ({"variogram_parameters": {"psill": 1.0, "range": 0.0, "nugget": 0}}, "range must be > 0"),
        ({"variogram_model": "power", "variogram_parameters": [1.0, 2.5, 0.0]}, r"\(0, 2\)"),
        ({"variogram_parameters": "fast"}, "must be a dict, a list"),
        ({"neighbors": 1}, "neighbors must be >= 2"),
        ({"neighbors": 2.5}, "neighbors must be a whole number"),
        ({"nlags": 0}, "nlags must be >= 1"),
        ({"nlags": 2.5}, "nlags must be a whole number"),
        ({"max_lag": 0.0}, "max_lag must be > 0"),
        ({"workers": 1.5}, "workers must be a whole number"),
        ({"estimator": "median"}, "estimator must be one of"),
        ({"workers": 0}, "workers must be >= 1"),
    ],
)
def test_bad_parameters(stations, kwargs, match):
    xy, _, values = stations
    with pytest.raises(InterpolationError, match=match):
        Kriging(**kwargs).fit(xy, values)


def test_bad_inputs_raise_interpolation_errors(stations):
    xy, elev, values = stations
    dup = np.vstack([xy[:5], xy[:1]])
    with pytest.raises(InterpolationError, match="share a location"):
        Kriging().fit(dup, np.arange(6.0))
    with pytest.raises(InterpolationError, match="at least 3"):
        Kriging().fit(xy[:2], values[:2])
    with pytest.raises(InterpolationError, match="constant over the stations"):
        Kriging().fit(xy, values, drift=np.ones(len(xy)))
    huge = values.copy()
    huge[:2] = [1e300, -1e300]  # was scipy's "Initial guess is outside of provided bounds"
    with np.errstate(over="ignore"), pytest.raises(InterpolationError, match="overflows"):
        Kriging().fit(xy, huge)
    with pytest.raises(InterpolationError, match="linearly dependent"):
        Kriging().fit(xy, values, drift=np.column_stack([elev, 2 * elev + 1]))
    k = Kriging(variogram_model="linear", variogram_parameters=PARAMS["linear"])
    k.fit(xy, values, drift=elev)
    with pytest.raises(InterpolationError, match="pass drift="):
        k.predict(xy[:3])
    with pytest.raises(InterpolationError, match="not fitted"):
        Kriging().predict(xy[:3])


@pytest.mark.parametrize("neighbors", [None, 5])
def test_zero_sill_variogram_is_an_error_not_a_linalg_traceback(stations, neighbors):
    xy, _, values = stations
    zero = {"psill": 0.0, "range": 1e4, "nugget": 0.0}
    k = Kriging(variogram_parameters=zero, neighbors=neighbors)
    with pytest.raises(InterpolationError, match="singular"):
        k.fit(xy, values)


def test_ill_conditioned_system_warns(stations):
    xy, _, values = stations
    k = Kriging(
        variogram_model="gaussian",
        variogram_parameters={"psill": 1.0, "range": 5_000_000.0, "nugget": 0.0},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", KwxmapWarning)
        with pytest.raises(KwxmapWarning, match="ill-conditioned"):
            k.fit(xy, values)


@pytest.mark.parametrize("neighbors", [None, 7])
@pytest.mark.parametrize("with_drift", [False, True])
def test_predict_many_and_dual_coefficients_equal_weights(stations, targets, neighbors, with_drift):
    xy, elev, values = stations
    rng = np.random.default_rng(8)
    many = values[None, :] + rng.normal(0.0, 1.0, (6, len(values)))
    drift = elev if with_drift else None
    target_drift = np.linspace(0.0, 900.0, len(targets)) if with_drift else None
    k = Kriging(
        variogram_model="spherical", variogram_parameters=PARAMS["spherical"], neighbors=neighbors
    )
    k.fit(xy, values, drift=drift)
    expected = k.weights(targets, drift=target_drift) @ many.T
    np.testing.assert_allclose(
        k.predict_many(targets, many, drift=target_drift), expected, atol=1e-9
    )
    if neighbors is None:
        from kwxmap.interpolate.kriging import kriging_semivariance

        a, c = k.dual_coefficients(many)
        d = np.hypot(*(targets[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
        f = np.ones((len(targets), 1))
        if with_drift:
            f = np.column_stack([f, target_drift])
        got = kriging_semivariance(k.variogram_, d) @ a + f @ c
        np.testing.assert_allclose(got, expected, atol=1e-9)
    else:
        with pytest.raises(InterpolationError, match="global kriging"):
            k.dual_coefficients(many)
    with pytest.raises(InterpolationError, match=r"finite \(T, 97\)"):
        k.predict_many(targets, many[:, :-1], drift=target_drift)


@pytest.mark.parametrize("neighbors", [None, 6])
@pytest.mark.parametrize("with_drift", [False, True])
def test_leave_one_out_weights_equal_refitting(stations, neighbors, with_drift):
    xy, elev, values = stations
    params = {"variogram_model": "exponential", "variogram_parameters": PARAMS["exponential"]}
    drift = elev if with_drift else None
    k = Kriging(neighbors=neighbors, **params).fit(xy, values, drift=drift)
    loo = k._loo_weights() @ values
    for i in (0, 17, 50, len(values) - 1):
        keep = np.arange(len(values)) != i
        alone = Kriging(neighbors=neighbors, **params).fit(
            xy[keep], values[keep], drift=None if drift is None else drift[keep]
        )
        expected = alone.predict(xy[i : i + 1], drift=None if drift is None else [[elev[i]]])
        assert loo[i] == pytest.approx(expected[0], abs=1e-9)


def test_local_ked_with_a_flat_neighbourhood_does_not_crash():
    """k nearest stations all at the same elevation: the drift is redundant there."""
    rng = np.random.default_rng(2)
    flat = rng.uniform(0, 20_000.0, size=(8, 2))  # a plain at 50 m
    hills = rng.uniform(100_000.0, 150_000.0, size=(8, 2))
    xy = np.vstack([flat, hills])
    elev = np.r_[np.full(8, 50.0), rng.uniform(200.0, 900.0, 8)]
    values = 15.0 - 0.006 * elev + rng.normal(0.0, 0.2, 16)
    k = Kriging(variogram_parameters=PARAMS["exponential"], neighbors=5)
    k.fit(xy, values, drift=elev)
    target = np.array([[10_000.0, 10_000.0]])
    pred, var = k.predict_with_variance(target, drift=[[50.0]])
    assert np.isfinite(pred).all() and np.isfinite(var).all()
    assert values[:8].min() - 1 < pred[0] < values[:8].max() + 1


@pytest.mark.parametrize("neighbors", [None, 9])
def test_threads_do_not_change_results(stations, neighbors):
    xy, _, values = stations
    rng = np.random.default_rng(4)
    many = rng.uniform(xy.min(axis=0), xy.max(axis=0), size=(120_000, 2))  # several chunks
    params = {"variogram_parameters": PARAMS["exponential"], "neighbors": neighbors}
    one = Kriging(workers=1, **params).fit(xy, values)
    two = Kriging(workers=2, **params).fit(xy, values)
    np.testing.assert_array_equal(one.predict(many), two.predict(many))


def test_interpolate_returns_the_kriging_variance_as_a_second_grid():
    import geopandas as gpd

    import kwxmap

    lon = [126.98, 129.03, 127.37, 128.65, 126.89, 127.44, 128.72]
    lat = [37.57, 35.10, 36.37, 35.88, 35.17, 36.64, 37.68]
    temp = [24.5, 21.0, 25.8, 26.1, 25.0, 25.4, 19.0]
    gdf = gpd.GeoDataFrame(
        {"temperature_c": temp}, geometry=gpd.points_from_xy(lon, lat), crs=4326
    )
    params = {"variogram_model": "exponential",
              "variogram_parameters": {"psill": 4.0, "range": 150_000.0, "nugget": 0.1}}
    grid = kwxmap.interpolate(
        gdf, "kriging", resolution=20_000, elevation=None, return_variance=True, **params
    )
    var = grid.attrs["variance"]
    assert var.shape == grid.shape and var.name == "temperature_c_variance"
    inside = grid.mask
    assert np.isfinite(var.values[inside]).all() and np.isnan(var.values[~inside]).all()
    # the same numbers as the estimator's own variance at the cell centres
    st = gdf.to_crs(5179)
    est = Kriging(**params).fit(
        np.column_stack([st.geometry.x, st.geometry.y]), np.asarray(temp)
    )
    np.testing.assert_allclose(var.values[inside], est.variance(grid.cell_xy()), rtol=1e-10)
    assert (var.values[inside] >= 0).all()
    with pytest.raises(InterpolationError, match="needs method='kriging'"):
        kwxmap.interpolate(gdf, "idw", resolution=20_000, return_variance=True)
