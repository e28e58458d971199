"""The empirical variogram and its automatic fit against answers computed outside kwxmap.

- Matheron and Cressie–Hawkins estimators: a hand-worked example (the numbers
  in the comments are worked on paper from the published formulas).
- The automatic fit on a real snapshot (ASOS daily means of 2020-11-15 from
  ``examples/data/kma_asos_daily_2020.csv``): an independent optimiser
  (:func:`scipy.optimize.minimize`, L-BFGS-B from a grid of 90 starts) minimises
  Cressie's (1985) criterion ``sum n_h (gamma_hat/gamma - 1)**2`` written here
  from the paper, within the bounds ``fit_variogram`` documents, and kwxmap's
  fit must reach the same minimum. PyKrige cannot be that peer: its fit
  minimises a ``soft_l1`` loss of ``gamma - gamma_hat`` with its own lag
  weights, a different criterion, so its parameters differ by design.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from kwxmap import join_readings
from kwxmap.interpolate import METHODS
from kwxmap.interpolate.variogram import (
    EmpiricalVariogram,
    Variogram,
    empirical_variogram,
    fit_variogram,
)

REPO = Path(__file__).resolve().parent.parent
DAILY = REPO / "examples" / "data" / "kma_asos_daily_2020.csv"

# Three stations on a line, 1 km apart, values 0, 1, 4. Pairs: (0,1) d=1000 |dz|=1,
# (1,2) d=1000 |dz|=3, (0,2) d=2000 |dz|=4. Two bins on (0, 2500]: [0,1250), [1250,2500].
LINE_XY = np.array([[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0]])
LINE_Z = np.array([0.0, 1.0, 4.0])


def test_matheron_estimator_by_hand():
    ev = empirical_variogram(LINE_XY, LINE_Z, nlags=2, max_lag=2500.0)
    # bin 0: (1**2/2 + 3**2/2) / 2 = 2.5; bin 1: 4**2/2 = 8
    assert ev.semivariance.tolist() == [2.5, 8.0]
    assert ev.counts.tolist() == [2, 1]
    assert ev.lags.tolist() == [1000.0, 2000.0]


def test_cressie_hawkins_estimator_by_hand():
    ev = empirical_variogram(LINE_XY, LINE_Z, nlags=2, max_lag=2500.0, estimator="cressie")
    # Cressie & Hawkins (1980): 2 gamma(h) = mean(|dz|**0.5)**4 / (0.457 + 0.494/n)
    # bin 0: mean(1, sqrt 3) = 1.3660254; **4 = 3.4820508; / 0.704 = 4.9460949; /2
    # bin 1: 2**4 = 16; / 0.951 = 16.8243954; /2
    np.testing.assert_allclose(ev.semivariance, [2.47304745, 8.41219769], rtol=1e-8)
    assert ev.estimator == "cressie"


def _independent_bins(xy, z, nlags, max_lag):
    """Matheron bins by an explicit loop over pairs (not kwxmap's vectorised code)."""
    sums, counts, lagsum = np.zeros(nlags), np.zeros(nlags), np.zeros(nlags)
    for i in range(len(z)):
        for j in range(i + 1, len(z)):
            d = float(np.hypot(*(xy[i] - xy[j])))
            if d == 0 or d > max_lag:
                continue
            b = min(int(d / max_lag * nlags), nlags - 1)
            sums[b] += 0.5 * (z[i] - z[j]) ** 2
            counts[b] += 1
            lagsum[b] += d
    ok = counts > 0
    return lagsum[ok] / counts[ok], sums[ok] / counts[ok], counts[ok]


def _exponential(p, h):
    psill, rng, nugget = p
    return psill * (1.0 - np.exp(-3.0 * h / rng)) + nugget


def _cressie_objective(p, ev):
    model = _exponential(p, ev.lags)
    if not (model > 0).all():  # a zero model semivariance: the criterion is undefined
        return 1e200  # finite, so the finite-difference gradient stays defined
    return float(np.sum(ev.counts * (ev.semivariance / model - 1.0) ** 2))


def _independent_fit(ev):
    """Minimise Cressie's criterion within fit_variogram's documented bounds."""
    gmax = float(ev.semivariance.max())
    bounds = [(0.0, 10 * gmax), (ev.max_lag / 1000, 4 * ev.max_lag), (0.0, gmax)]
    best = None
    for psill in np.linspace(0.05, 1, 5) * 10 * gmax:
        for rng in np.geomspace(ev.max_lag / 100, 4 * ev.max_lag, 6):
            for nugget in (0.0, 0.3 * gmax, 0.6 * gmax):
                res = minimize(_cressie_objective, [psill, rng, nugget], args=(ev,),
                               method="L-BFGS-B", bounds=bounds,
                               options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 5000})
                if best is None or res.fun < best.fun:
                    best = res
    return best, bounds


@pytest.fixture(scope="module")
def snapshot_2020_11_15():
    daily = pd.read_csv(DAILY, encoding="utf-8")
    day = daily[daily["time"] == "2020-11-15"].rename(
        columns={"stn_id": "station_id", "temp_c": "temperature_c"}
    )[["station_id", "temperature_c"]].dropna()
    gdf = join_readings(day)
    proj = gdf.to_crs(5179)
    xy = np.column_stack([proj.geometry.x, proj.geometry.y])
    return xy, gdf["temperature_c"].to_numpy(dtype=float)


def test_empirical_variogram_of_a_real_day_matches_a_pair_loop(snapshot_2020_11_15):
    xy, z = snapshot_2020_11_15
    ev = empirical_variogram(xy, z)
    assert ev.max_lag == pytest.approx(0.5 * max(
        np.hypot(*(a - b)) for a in xy for b in xy))
    lags, gamma, counts = _independent_bins(xy, z, 15, ev.max_lag)
    np.testing.assert_array_equal(ev.counts, counts)
    np.testing.assert_allclose(ev.lags, lags, rtol=1e-12)
    np.testing.assert_allclose(ev.semivariance, gamma, rtol=1e-12)


def test_automatic_fit_reaches_the_minimum_of_cressies_criterion(snapshot_2020_11_15):
    xy, z = snapshot_2020_11_15
    kriging = METHODS["kriging"]().fit(xy, z)
    ev, fit = kriging.empirical_, kriging.variogram_
    assert fit.model == "exponential"
    best, bounds = _independent_fit(ev)
    ours = _cressie_objective(fit.params, ev)
    # least_squares stops at ftol=1e-8 relative change of the cost: the minimum
    # agrees to ~1e-8; 1e-6 leaves room for the optimiser's path, and any other
    # criterion (e.g. unweighted bins) is at least 1 % worse on this day.
    assert ours <= best.fun * (1 + 1e-6)
    # Parameters: psill and nugget are set by the curvature (well conditioned):
    # ~sqrt(ftol) = 1e-4 relative, tested at 1e-3.
    np.testing.assert_allclose(fit.params, best.x, rtol=1e-3)
    # On this day the range sits on its upper bound, 4 * max_lag: the empirical
    # variogram keeps rising to max_lag (a north-south gradient), so a range
    # beyond every lag is what the criterion wants.
    assert fit.params[1] == pytest.approx(bounds[1][1], rel=1e-9)


def test_the_range_bound_is_what_stops_the_fit_on_a_day_without_a_sill(snapshot_2020_11_15):
    """4 * max_lag binds on 2020-11-15; beyond it the fit tends to the linear variogram."""
    xy, z = snapshot_2020_11_15
    ev = empirical_variogram(xy, z)
    bounded = fit_variogram(ev, "exponential")
    linear = fit_variogram(ev, "linear")
    lin_cost = float(np.sum(ev.counts * (ev.semivariance / linear(ev.lags) - 1.0) ** 2))
    # The unbounded optimum is the linear limit (range -> inf, psill/range -> slope):
    # its criterion is lower than the bounded exponential's.
    assert lin_cost < _cressie_objective(bounded.params, ev)
    # A range of 40 * max_lag with the same initial slope lies between the two.
    slope = linear.params[0]
    far = (slope * 40 * ev.max_lag / 3, 40 * ev.max_lag, linear.params[1])
    assert lin_cost <= _cressie_objective(far, ev) <= _cressie_objective(bounded.params, ev)


def test_fit_weights_bins_by_their_pair_counts():
    """A bin with few pairs must not pull the fit as much as one with many."""
    truth = Variogram("exponential", (4.0, 60_000.0, 0.5))
    lags = np.linspace(10_000.0, 150_000.0, 8)
    gamma = truth(lags)
    gamma[0] *= 3.0  # one outlying bin...
    counts = np.full(8, 400)
    counts[0] = 1  # ...that holds a single pair
    ev = EmpiricalVariogram(lags, gamma, counts, 160_000.0)
    fit = fit_variogram(ev, "exponential")
    best, _ = _independent_fit(ev)
    assert _cressie_objective(fit.params, ev) <= best.fun * (1 + 1e-6)
    # the same bins counted equally give a fit that is clearly worse by the criterion
    equal = fit_variogram(EmpiricalVariogram(lags, gamma, np.ones(8), 160_000.0), "exponential")
    assert _cressie_objective(equal.params, ev) > 1.05 * _cressie_objective(fit.params, ev)


def test_a_pair_exactly_at_max_lag_falls_in_the_last_bin():
    ev = empirical_variogram(LINE_XY, LINE_Z, nlags=2, max_lag=2000.0)
    # bins [0, 1000) and [1000, 2000]: d=1000 -> bin 1; d=2000 (= max_lag) -> bin 1 too
    assert ev.counts.tolist() == [3]
    assert ev.semivariance.tolist() == [pytest.approx(13.0 / 3.0)]  # (0.5 + 4.5 + 8) / 3


def test_co_located_stations_make_no_pair():
    """Two stations on the same spot (d = 0) are not a lag-0 pair of the variogram."""
    xy = np.array([[0.0, 0.0], [0.0, 0.0], [1000.0, 0.0]])
    ev = empirical_variogram(xy, np.array([1.0, 3.0, 2.0]), nlags=1, max_lag=2000.0)
    # pairs (0,2) and (1,2): d = 1000, |dz| = 1 each -> 0.5; the d = 0 pair is left out
    assert ev.counts.tolist() == [2]
    assert ev.semivariance.tolist() == [0.5]
    assert ev.lags.tolist() == [1000.0]


def test_a_missing_value_drops_only_its_pairs():
    xy = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 1000.0]])
    ev = empirical_variogram(xy, np.array([1.0, 3.0, np.nan]), nlags=1, max_lag=5000.0)
    assert ev.counts.tolist() == [1]
    assert ev.semivariance.tolist() == [2.0]  # 0.5 * (3 - 1)**2


def test_a_fit_does_not_depend_on_the_units_of_the_values():
    """Semivariances below 1 (°C² of a calm day, or K² * 1e-2) still get a real fit."""
    truth = Variogram("exponential", (4.0, 60_000.0, 0.5))
    lags = np.linspace(10_000.0, 150_000.0, 8)
    counts = np.full(8, 100)
    big = fit_variogram(EmpiricalVariogram(lags, truth(lags), counts, 160_000.0))
    small = fit_variogram(EmpiricalVariogram(lags, truth(lags) / 100, counts, 160_000.0))
    np.testing.assert_allclose(big.params, truth.params, rtol=1e-4)
    np.testing.assert_allclose(small.params, [0.04, 60_000.0, 0.005], rtol=1e-4)


@pytest.mark.parametrize(
    ("model", "params"),
    [("linear", (2e-5, 0.5)), ("power", (3e-3, 0.7, 0.25)), ("power", (1e-7, 1.6, 0.0)),
     ("spherical", (3.0, 90_000.0, 0.4)), ("gaussian", (2.0, 70_000.0, 0.1))],
)
def test_a_fit_of_an_exact_model_recovers_its_parameters(model, params):
    """Bins that lie on a model: the fit gives that model back (its criterion is 0 there)."""
    truth = Variogram(model, params)
    lags = np.linspace(10_000.0, 150_000.0, 8)
    fit = fit_variogram(EmpiricalVariogram(lags, truth(lags), np.full(8, 50), 160_000.0), model)
    np.testing.assert_allclose(fit.params, params, rtol=1e-4, atol=1e-6)


def test_the_range_stops_at_its_documented_lower_bound_max_lag_over_1000():
    """A sill reached within 100 m: the fit keeps range >= max_lag / 1000 (160 m here)."""
    truth = Variogram("exponential", (4.0, 100.0, 0.5))
    lags = np.array([20.0, 60.0, 10_000.0, 50_000.0, 100_000.0, 150_000.0])
    counts = np.full(6, 50)
    fit = fit_variogram(EmpiricalVariogram(lags, truth(lags), counts, 160_000.0))
    assert fit.params[1] == pytest.approx(160.0)
    # with max_lag 80 km the bound is 80 m and the true range is found
    fit = fit_variogram(EmpiricalVariogram(lags, truth(lags), counts, 80_000.0))
    np.testing.assert_allclose(fit.params, truth.params, rtol=1e-6)
