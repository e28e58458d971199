"""Cross-validation: how wrong is the map at the stations it did not see.

:func:`cross_validate` predicts every station from the others (leave-one-out,
k-fold or spatial blocks) and reports RMSE, MAE and bias with a per-station
table. Leave-one-out has a closed form for every linear method (renormalised
weights; Rippa's formula for the spline, Dubrule's for kriging), so it costs
about one fit; up to :data:`NESTED_MAX_STATIONS` stations kriging's variogram
and ``auto``'s choice are made again without each station (exactly
``interpolate(..., holdout=True)``), and ``elevation="fit"`` refits its rate
without the held-out station, so no value informs its own prediction.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..errors import InterpolationError
from ..options import DEFAULT_ELEVATION, DEFAULT_METHOD
from ._base import METHODS, Interpolator, check_number
from ._core import (
    Stations,
    check_drift,
    check_elevation,
    check_method,
    check_setup,
    fit_predict,
    make_estimator,
    prepare_stations,
)
from .cv_report import CVReport
from .elevation import ElevationModel, fit_lapse_rate, reduce_to_sea_level, resolve_elevation

__all__ = [
    "AUTO_CANDIDATES",
    "AUTO_PREDICTORS",
    "CVReport",
    "auto_candidates",
    "cross_validate",
    "loo_weights",
]

#: Methods ``method="auto"`` compares (those registered), all on the same stations.
AUTO_CANDIDATES = ("nearest", "idw", "barnes", "cressman", "spline", "kriging")
#: ``(method, elevation)`` pairs ``method="auto"`` compares with ``elevation="predictors"``:
#: the cheap (closed-form leave-one-out) configurations of ``benchmarks/bench_skill.py``
#: whose per-snapshot choice beat every peer on every kind of KMA field.
AUTO_PREDICTORS = (
    ("kriging", "lapse"),
    ("kriging", "drift"),
    ("kriging", "predictors"),
    ("spline", "predictors"),
)


#: Up to this many stations, ``cross_validate(method="auto")`` with leave-one-out
#: folds chooses the method again without each station (exactly what
#: ``interpolate(..., holdout=True)`` does at that station); above it, each
#: station takes the candidate whose leave-one-out errors on the *other* stations
#: are lowest (:func:`honest_choice`: the same idea without refitting n times).
NESTED_MAX_STATIONS = 150

#: Methods that fit parameters to the stations (kriging's variogram). Up to
#: :data:`NESTED_MAX_STATIONS` their leave-one-out refits them without each station,
#: exactly as ``interpolate(..., holdout=True)`` does; above, one station barely moves
#: a variogram fitted to hundreds, and the closed form with the full fit is used
#: (``benchmarks/bench_skill.py`` prints the difference on whole-network fields).
REFITTED = ("kriging",)

#: RMSE differences (°C) below this are noise: "auto" then keeps the candidate that
#: comes first (the simpler one), so nearby fields do not flip between methods.
AUTO_TIE_C = 0.02


def _first_within_tie(rmse: np.ndarray) -> np.ndarray:
    """Index of the first candidate (rows) within :data:`AUTO_TIE_C` of the best, per column.

    Examples
    --------
    >>> _first_within_tie(np.array([[1.00, 1.10], [0.99, 1.00]])).tolist()
    [0, 1]
    """
    ok = rmse <= np.nanmin(rmse, axis=0, keepdims=True) + AUTO_TIE_C
    return np.argmax(ok, axis=0)


def honest_choice(values: np.ndarray, preds: np.ndarray) -> np.ndarray:
    """Predict each station by the candidate ``auto`` would choose without it.

    ``preds`` holds each candidate's leave-one-out predictions (candidates x
    stations, simplest first). For station ``i`` the choice is made on the
    other stations' errors only (with the :data:`AUTO_TIE_C` rule), so the
    score of ``auto`` is out of sample: its own error never picks its method.

    Examples
    --------
    >>> v = np.array([0.0, 0.0, 0.0])
    >>> p = np.array([[0.1, 0.1, 3.0], [1.0, 1.0, 0.0]])
    >>> honest_choice(v, p).tolist()  # station 2 alone favours candidate 1; the others 0
    [1.0, 1.0, 3.0]
    """
    err = preds - values
    sse = np.nansum(err**2, axis=1, keepdims=True) - err**2
    rmse = np.sqrt(sse / max(values.size - 1, 1))
    choice = _first_within_tie(rmse)
    return preds[choice, np.arange(values.size)]


def auto_candidates(elevation: str | None) -> dict[str, tuple[str, str | None]]:
    """Label -> ``(method, elevation)`` of what ``method="auto"`` compares.

    Examples
    --------
    >>> list(auto_candidates("predictors"))
    ['kriging+lapse', 'kriging+drift', 'kriging+predictors', 'spline+predictors']
    >>> auto_candidates("drift")
    {'spline': ('spline', 'drift'), 'kriging': ('kriging', 'drift')}
    """
    if elevation == "predictors":
        return {f"{m}+{e}": (m, e) for m, e in AUTO_PREDICTORS if m in METHODS}
    return {
        m: (m, elevation)
        for m in AUTO_CANDIDATES
        if m in METHODS and not (elevation == "drift" and not METHODS[m].accepts_drift)
    }


def _folds(st: Stations, folds: Any, *, seed: int, block_size: float) -> list[np.ndarray] | None:
    """Test-index arrays per fold; ``None`` means leave-one-out."""
    n = len(st.values)
    if folds == "loo":
        return None
    if folds == "block":
        size = check_number("block_size", block_size, minimum=0, strict=True)
        keys = np.floor(st.xy / size).astype(np.int64)
        _, label = np.unique(keys, axis=0, return_inverse=True)
        label = label.reshape(-1)
        groups = [np.flatnonzero(label == g) for g in range(label.max() + 1)]
        if len(groups) < 2:
            raise InterpolationError(
                f"block_size={block_size!r} m puts all stations in one block; use a smaller "
                f"block_size"
            )
        return groups
    if isinstance(folds, int | np.integer) and not isinstance(folds, bool):
        if not 2 <= folds <= n:
            raise InterpolationError(f"folds={folds!r} must be between 2 and {n} (stations)")
        order = np.random.default_rng(seed).permutation(n)
        return [np.sort(part) for part in np.array_split(order, int(folds))]
    raise InterpolationError(
        f"folds must be 'loo', 'block' or a number of folds (int >= 2); got {folds!r}"
    )


def _loo_rates(st: Stations) -> np.ndarray:
    """Lapse rate fitted without each station in turn (K/km)."""
    n = len(st.values)
    keep = np.ones(n, dtype=bool)
    out = np.empty(n)
    fit = ElevationModel("fit")
    for i in range(n):
        keep[i] = False
        out[i] = fit.rate(st.elevation[keep], st.values[keep], st.xy[keep])
        keep[i] = True
    return out


def loo_weights(est: Interpolator, xy: Any, values: Any, *, drift: Any = None) -> Any:
    """Leave-one-out weights ``(N, N)`` of a method in closed form, from one fit.

    Row ``i`` predicts station ``i`` from the other stations; the predictions
    are ``W @ values``. Data-dependent parameters are estimated **once** from
    all stations and then held fixed for every fold (not nested): the kriging
    variogram (:meth:`Interpolator.frozen`), the Barnes/Cressman spacing.
    Everything else is refitted per fold exactly: kriging's drift coefficients
    and unbiasedness (Dubrule 1983: ``e_i = alpha_i / (A^-1)_ii``), the
    spline's polynomial and drift part (Rippa 1999), IDW's and nearest's
    neighbours. With those parameters held fixed this equals refitting
    without each station (``tests/test_cv.py``).

    Parameters
    ----------
    est
        An unfitted or fitted :class:`Interpolator` (it is (re)fitted here).
    xy, values, drift
        As for :meth:`Interpolator.fit`.

    Returns
    -------
    numpy.ndarray or scipy.sparse matrix
        ``(N, N)``, zero diagonal.

    Examples
    --------
    >>> from kwxmap.interpolate import Kriging
    >>> xy = np.array([[0.0, 0.0], [10e3, 0.0], [0.0, 10e3], [10e3, 10e3], [5e3, 4e3]])
    >>> w = loo_weights(Kriging(variogram_parameters=[2.0, 30e3, 0.1]), xy, [1, 2, 3, 4, 2.5])
    >>> np.diag(w).tolist(), np.allclose(w.sum(axis=1), 1.0)
    ([0.0, 0.0, 0.0, 0.0, 0.0], True)
    """
    est.fit(xy, values, drift=drift)
    # the weights of this fit are those of its fitted parameters (est.frozen()'s)
    w = est._loo_weights()
    if w is None:  # no closed form: refit without each station
        xy, v = est.xy_, est.values_
        n = len(v)
        w = np.zeros((n, n))
        for i in range(n):
            keep = np.arange(n) != i
            sub = est.frozen().fit(
                xy[keep], v[keep], drift=None if drift is None else est.drift_[keep]
            )
            w[i, keep] = sub.weights(
                xy[i : i + 1], drift=None if drift is None else est.drift_[i : i + 1]
            )[0]
    return w


def _predictions(
    method: str,
    params: dict[str, Any],
    st: Stations,
    test_sets: list[np.ndarray] | None,
    *,
    elevation: str | None,
    lapse_rate: float | None,
    rates: np.ndarray | None = None,
) -> np.ndarray:
    """Cross-validated predictions at every station (leave-one-out in closed form)."""
    n = len(st.values)
    if test_sets is None:
        est = make_estimator(method, params)
        z = st.elevation
        if elevation in ("drift", "predictors"):
            snap = ElevationModel(elevation).for_stations(n, st.crs, asos=st.asos)
            w = loo_weights(est, st.xy, st.values, drift=snap.drift(z, st.xy, st.asos))
            return np.asarray(w @ st.values).reshape(-1)
        if elevation is None:
            w = loo_weights(est, st.xy, st.values)
            return np.asarray(w @ st.values).reshape(-1)
        if elevation == "fit" and rates is None:
            rates = _loo_rates(st)
        full = lapse_rate if elevation == "lapse" else fit_lapse_rate(z, st.values, st.xy)
        w = loo_weights(est, st.xy, reduce_to_sea_level(st.values, z, full))
        rate = rates if elevation == "fit" else lapse_rate
        pred = np.asarray(w @ st.values).reshape(-1)
        return pred + np.asarray(rate) / 1000.0 * (np.asarray(w @ z).reshape(-1) - z)
    model = ElevationModel(elevation, lapse_rate)
    pred = np.full(n, np.nan)
    for test in test_sets:
        train = np.ones(n, dtype=bool)
        train[test] = False
        if train.sum() < 3:
            raise InterpolationError(
                f"a fold leaves only {int(train.sum())} training stations; use fewer folds "
                f"or a smaller block_size"
            )
        sub = st.subset(train)
        z = None if st.elevation is None else st.elevation[test]
        est = make_estimator(method, params)
        pred[test], _ = fit_predict(est, sub, st.xy[test], z, model=model)
    return pred


def _scores(obs: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    ok = np.isfinite(pred)
    err = pred[ok] - obs[ok]
    if not ok.any():
        return {"rmse": math.nan, "mae": math.nan, "bias": math.nan, "n": 0}
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "bias": float(np.mean(err)),
        "n": int(ok.sum()),
    }


def _compare(
    st: Stations,
    *,
    elevation: str | None,
    lapse_rate: float | None,
    test_sets: list[np.ndarray] | None = None,
) -> tuple[str, dict[str, dict[str, float]], dict[str, np.ndarray], np.ndarray]:
    """Cross-validate every candidate; rank them on the stations all of them predict.

    Returns the best candidate's label (:func:`auto_candidates`), the scores
    of every candidate, their predictions and the boolean mask of the scored
    stations (one set for every candidate).
    """
    rates = _loo_rates(st) if elevation == "fit" and test_sets is None else None
    preds: dict[str, np.ndarray] = {}
    failed: InterpolationError | None = None
    for name, (method, elev) in auto_candidates(elevation).items():
        rate = lapse_rate if elev == elevation else check_elevation(elev, None)
        try:
            preds[name] = _predictions(
                method, {}, st, test_sets, elevation=elev, lapse_rate=rate, rates=rates
            )
        except InterpolationError as exc:
            # a method that cannot be fitted to this station set (e.g. kriging on three
            # stations) is left out of the comparison rather than failing 'auto'
            failed = exc
    if not preds:
        if failed is not None:
            raise failed
        raise InterpolationError(f"no method supports elevation={elevation!r}")
    common = np.logical_and.reduce([np.isfinite(p) for p in preds.values()])
    scores = {name: _scores(st.values[common], p[common]) for name, p in preds.items()}
    names = list(scores)  # simplest first: a tie within AUTO_TIE_C keeps the simpler
    best = names[int(_first_within_tie(np.array([[scores[m]["rmse"]] for m in names]))[0])]
    return best, scores, preds, common


def choose_method(
    st: Stations, *, elevation: str | None, lapse_rate: float | None
) -> tuple[str, str | None, dict[str, dict[str, float]]]:
    """Pick the candidate with the lowest LOO RMSE (used by ``method="auto"``).

    Returns its method, its elevation handling and every candidate's scores.
    """
    best, scores, _, _ = _compare(st, elevation=elevation, lapse_rate=lapse_rate)
    method, elev = auto_candidates(elevation)[best]
    return method, elev, scores


def cross_validate(
    gdf: Any,
    method: str = DEFAULT_METHOD,
    *,
    value: str = "temperature_c",
    folds: str | int = "loo",
    elevation: str | None = DEFAULT_ELEVATION,
    lapse_rate: float | None = None,
    crs: Any = 5179,
    block_size: float = 100_000.0,
    seed: int = 0,
    **params: Any,
) -> CVReport:
    """Cross-validate an interpolation method on a station snapshot.

    Parameters
    ----------
    gdf
        Station GeoDataFrame (any CRS), as for :func:`kwxmap.interpolate`.
        All usable stations are used (no region filter).
    method
        A method name or ``"auto"`` (every candidate with its defaults,
        leave-one-out; the map's choice is the best by RMSE, ties within
        :data:`AUTO_TIE_C` going to the simpler; all scores in
        ``report.scores``). The reported score of ``auto`` is out of sample:
        each station is predicted by the candidate chosen on the *other*
        stations (:func:`honest_choice`), never by the one its own error
        favours.
    value
        Column to validate.
    folds
        ``"loo"`` (leave-one-out, default), an int ``k`` (random k-fold,
        ``seed``), or ``"block"`` (leave out square blocks of ``block_size``
        metres: honest about spatial autocorrelation).
    elevation, lapse_rate
        As in :func:`kwxmap.interpolate`; the held-out stations' own
        elevations (registry) restore the lapse-rate term.
    crs
        Projected CRS for the distances (5179 or 5186).
    block_size
        Block edge in metres for ``folds="block"``.
    seed
        Random seed for k-fold.
    **params
        Method parameters.

    Returns
    -------
    CVReport

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> lon = [126.9, 127.4, 128.6, 126.7, 129.0, 127.7, 126.5, 128.1]
    >>> lat = [37.6, 36.4, 35.9, 35.1, 35.2, 37.9, 33.5, 36.6]
    >>> gdf = gpd.GeoDataFrame({"station_id": range(8), "temperature_c": [5.0] * 8},
    ...                        geometry=[Point(a, b) for a, b in zip(lon, lat)], crs=4326)
    >>> rep = cross_validate(gdf, "idw", elevation=None)
    >>> rep.n, round(rep.rmse, 9)  # a constant field is predicted exactly
    (8, 0.0)
    >>> sorted(rep.to_dict())[:5]
    ['bias', 'elevation', 'folds', 'mae', 'method']
    """
    check_method(method)
    elevation = resolve_elevation(method, elevation)
    rate_fixed = check_elevation(elevation, lapse_rate)
    if method == "auto" and params:
        raise InterpolationError(
            f"method='auto' compares methods with their defaults; parameters "
            f"{', '.join(map(repr, sorted(params)))} cannot be passed with it"
        )
    if method != "auto":
        make_estimator(method, params)
        check_drift(method, elevation)
    st = prepare_stations(gdf, value=value, crs=crs, need_elevation=elevation is not None)
    test_sets = _folds(st, folds, seed=seed, block_size=block_size)
    scores = None
    scored = None
    if method == "auto":
        best, scores, preds, scored = _compare(
            st, elevation=elevation, lapse_rate=rate_fixed, test_sets=test_sets
        )
        # out of sample: each station is predicted by the candidate chosen without it
        pred = np.full(len(st.values), np.nan)
        nested = folds == "loo" and len(st.values) <= NESTED_MAX_STATIONS
        if nested:
            model = check_setup("auto", {}, elevation, lapse_rate, None)
            try:
                pred, _ = _holdout_predict("auto", {}, st, st.xy, st.elevation, model=model,
                                           rechoose=elevation)
                scored = np.isfinite(pred)
            except InterpolationError:  # too few stations to choose without one
                nested = False
        if not nested:
            pred[scored] = honest_choice(
                st.values[scored], np.array([p[scored] for p in preds.values()]))
        method, elevation = auto_candidates(elevation)[best]
    elif method in REFITTED and folds == "loo" and len(st.values) <= NESTED_MAX_STATIONS:
        # out of sample: the variogram is fitted again without each station
        model = check_setup(method, params, elevation, lapse_rate, None)
        pred, _ = _holdout_predict(method, params, st, st.xy, st.elevation, model=model)
    else:
        pred = _predictions(
            method, params, st, test_sets, elevation=elevation, lapse_rate=rate_fixed
        )
    table = pd.DataFrame({"station_id": st.ids})
    if st.names is not None:
        table["name_ko"] = st.names
    table["observed"] = st.values
    table["predicted"] = pred
    table["error"] = pred - st.values
    if scored is None:
        scored = np.isfinite(pred)
    table["scored"] = scored
    s = _scores(st.values[scored], pred[scored])
    return CVReport(
        method=method,
        n=s["n"],
        rmse=s["rmse"],
        mae=s["mae"],
        bias=s["bias"],
        table=table,
        folds=folds,
        elevation=elevation,
        params=make_estimator(method, params).get_params(),
        scores=scores,
    )


#: ``holdout=True`` leaves out the stations this close (metres) to a target point.
HOLDOUT_RADIUS_M = 100.0


def _holdout_predict(
    method: str,
    params: dict[str, Any],
    st: Stations,
    xy: np.ndarray,
    z: np.ndarray | None,
    *,
    model: ElevationModel,
    rechoose: str | None = None,
) -> tuple[np.ndarray, float | None]:
    """Predict each point without the stations at that point (a leave-one-out check).

    With ``rechoose`` (the elevation handling ``method="auto"`` was asked
    with), the method is chosen again on the kept stations of each point.

    A point that is one station's place takes that station's measured height
    (not the DEM's at the point), so at the stations this is exactly
    :func:`~kwxmap.cross_validate`'s prediction.
    """
    tree = cKDTree(st.xy)
    pred = np.full(len(xy), np.nan)
    rate = None
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, near in enumerate(tree.query_ball_point(xy, HOLDOUT_RADIUS_M)):
        groups.setdefault(tuple(sorted(near)), []).append(i)
    for near, rows in groups.items():
        keep = np.ones(len(st.values), dtype=bool)
        keep[list(near)] = False
        if keep.sum() < 3:
            raise InterpolationError("holding out the stations at a point leaves fewer than 3")
        idx = np.asarray(rows)
        kept, how, used = st.subset(keep), method, model
        if rechoose is not None:
            how, chosen, _ = choose_method(kept, elevation=rechoose, lapse_rate=model.lapse_rate)
            used = model if chosen == model.mode else ElevationModel(chosen)
        est = make_estimator(how, params)
        zz = None if z is None else z[idx]
        if zz is not None and len(near) == 1 and st.elevation is not None:
            zz = np.full(len(idx), st.elevation[near[0]])
        one = len(near) == 1 and st.asos is not None  # a station's place: its network
        site = np.full(len(idx), bool(st.asos[near[0]])) if one else None
        pred[idx], rate = fit_predict(est, kept, xy[idx], zz, model=used, asos=site)
    return pred, rate
