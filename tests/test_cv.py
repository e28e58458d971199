"""Tests for kwxmap.interpolate.cv: fast LOO equals refitting, folds, reports, auto."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kwxmap import CVReport, InterpolationError, cross_validate, load_stations
from kwxmap.interpolate import METHODS, Kriging
from kwxmap.interpolate import cv as cv_module
from kwxmap.interpolate._api import prepare_stations
from kwxmap.interpolate.cv import _predictions, loo_weights

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def day_gdf():
    obs = pd.read_csv(REPO / "examples" / "data" / "kma_asos_daily_2020.csv")
    d = obs[obs["time"] == "2020-11-15"].rename(
        columns={"stn_id": "station_id", "temp_c": "temperature_c"}
    )
    stations = load_stations().to_geodataframe()
    return stations.merge(d[["station_id", "temperature_c"]], on="station_id")


def _brute_loo(name, params, st, elevation, rate):
    singletons = [np.array([i]) for i in range(len(st.values))]
    return _predictions(name, params, st, singletons, elevation=elevation, lapse_rate=rate)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("idw", {}),
        ("idw", {"k": None, "power": 1.5}),
        ("nearest", {}),
        ("cressman", {"search_radius": 150_000.0}),
        ("barnes", {"kappa": 4e8, "search_radius": 150_000.0}),
        ("spline", {}),
        ("spline", {"smoothing": 0.0}),
        ("kriging", {"variogram_parameters": [6.0, 150_000.0, 0.3]}),
        ("kriging", {"variogram_parameters": [6.0, 150_000.0, 0.3], "neighbors": 12}),
    ],
)
@pytest.mark.parametrize("elevation", [None, "lapse", "fit"])
def test_fast_loo_equals_refitting(day_gdf, name, params, elevation):
    st = prepare_stations(day_gdf, value="temperature_c", crs=5179, need_elevation=True)
    rate = 6.5 if elevation == "lapse" else None
    fast = _predictions(name, params, st, None, elevation=elevation, lapse_rate=rate)
    slow = _brute_loo(name, params, st, elevation, rate)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-8, equal_nan=True)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("kriging", {"variogram_parameters": [6.0, 150_000.0, 0.3]}),
        ("kriging", {"variogram_parameters": [6.0, 150_000.0, 0.3], "neighbors": 15}),
        ("spline", {}),
    ],
)
def test_closed_form_loo_with_predictors_equals_refitting(day_gdf, name, params):
    # drift columns (elevation, coast, terrain): closed form vs refit without each station
    from kwxmap.predictors import Predictors

    st = prepare_stations(day_gdf, value="temperature_c", crs=5179, need_elevation=True)
    drift = Predictors().matrix(st.xy, st.elevation)
    w = loo_weights(METHODS[name](**params), st.xy, st.values, drift=drift)
    fast = np.asarray(w @ st.values).reshape(-1)
    n = len(st.values)
    slow = np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        est = METHODS[name](**params).fit(st.xy[keep], st.values[keep], drift=drift[keep])
        slow[i] = est.predict(st.xy[i : i + 1], drift=drift[i : i + 1])[0]
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-8)


def test_auto_fitted_variogram_is_estimated_once(day_gdf):
    # LOO of kriging with an automatic variogram: the variogram of the full snapshot is
    # held fixed in every fold (not nested), so it equals refitting with that variogram
    st = prepare_stations(day_gdf, value="temperature_c", crs=5179, need_elevation=True)
    full = Kriging().fit(st.xy, st.values, drift=st.elevation[:, None])
    fast = _predictions("kriging", {}, st, None, elevation="drift", lapse_rate=None)
    fixed = {"variogram_parameters": full.variogram_}
    slow = _brute_loo("kriging", fixed, st, "drift", None)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-8)
    refit = _brute_loo("kriging", {}, st, "drift", None)  # nested: close, not equal
    assert 0 < np.abs(fast - refit).max() < 0.5


def test_report_fields_and_scores(day_gdf):
    rep = cross_validate(day_gdf, "idw", elevation="lapse")
    assert isinstance(rep, CVReport)
    assert rep.method == "idw" and rep.folds == "loo" and rep.elevation == "lapse"
    t = rep.table
    assert list(t.columns) == ["station_id", "name_ko", "observed", "predicted", "error", "scored"]
    assert len(t) == len(day_gdf) == rep.n
    np.testing.assert_allclose(t["error"], t["predicted"] - t["observed"])
    assert rep.rmse == pytest.approx(np.sqrt((t["error"] ** 2).mean()))
    assert rep.mae == pytest.approx(t["error"].abs().mean())
    assert rep.bias == pytest.approx(t["error"].mean())
    assert 0 < rep.mae <= rep.rmse < 3.0
    assert "대관령" in set(t["name_ko"])


def test_elevation_improves_loo(day_gdf):
    plain = cross_validate(day_gdf, "idw", elevation=None)
    lapse = cross_validate(day_gdf, "idw", elevation="lapse")
    assert lapse.rmse < plain.rmse
    row = lapse.table.set_index("name_ko").loc["대관령"]
    assert abs(row["error"]) < abs(plain.table.set_index("name_ko").loc["대관령", "error"])


def test_to_dict_is_json_ready(day_gdf):
    gdf = day_gdf.copy()
    rep = cross_validate(gdf, "barnes", search_radius=60_000.0)  # islands get NaN
    d = rep.to_dict()
    text = json.dumps(d, ensure_ascii=False)
    assert {"method", "n", "rmse", "mae", "bias", "stations"} <= set(d)
    assert len(d["stations"]) == len(gdf)
    assert d["n"] < len(gdf)  # scores only over predicted stations
    assert any(s["predicted"] is None for s in d["stations"])
    assert "NaN" not in text
    assert set(d["stations"][0]) == {
        "station_id",
        "name_ko",
        "observed",
        "predicted",
        "error",
        "scored",
    }


def test_to_text(day_gdf):
    text = cross_validate(day_gdf, "idw", elevation=None).to_text()
    assert text.startswith("method idw (elevation none, folds loo)") and "worst:" in text


@pytest.mark.parametrize("folds", [5, "block"])
def test_kfold_and_block(day_gdf, folds):
    rep = cross_validate(day_gdf, "idw", folds=folds, elevation="lapse")
    assert rep.n == len(day_gdf) and np.isfinite(rep.rmse)
    loo = cross_validate(day_gdf, "idw", elevation="lapse")
    assert rep.rmse >= loo.rmse * 0.9  # fewer training stations: not better than LOO


def test_kfold_reproducible(day_gdf):
    a = cross_validate(day_gdf, "spline", folds=4, seed=3)
    b = cross_validate(day_gdf, "spline", folds=4, seed=3)
    assert a.rmse == b.rmse


@pytest.mark.parametrize("name", sorted(METHODS))
def test_constant_field_zero_error(day_gdf, name):
    params = {"search_radius": 1e6} if name in ("barnes", "cressman") else {}
    rep = cross_validate(day_gdf.assign(temperature_c=4.0), name, elevation=None, **params)
    assert rep.n == len(day_gdf) and rep.rmse < 1e-9


def test_auto_reports_best(day_gdf):
    rep = cross_validate(day_gdf, "auto", elevation="lapse")
    assert rep.method in rep.scores
    best = min(s["rmse"] for s in rep.scores.values())  # ties within 0.02 °C: the first listed
    assert rep.method == next(m for m in rep.scores if rep.scores[m]["rmse"] <= best + 0.02)
    assert {"idw", "barnes", "cressman", "spline"} <= set(rep.scores)
    assert rep.to_dict()["scores"][rep.method]["rmse"] == rep.scores[rep.method]["rmse"]


def test_auto_scores_every_method_on_the_same_stations(day_gdf):
    # barnes with its default radius leaves far islands unpredicted; every method's
    # score must then be recomputed from its own cross_validate table on the same
    # stations, and the headline must be the chosen method's row of that comparison
    rep = cross_validate(day_gdf, "auto", elevation="lapse")
    assert set(rep.scores) == {"nearest", "idw", "barnes", "cressman", "spline", "kriging"}
    with pytest.MonkeyPatch.context() as mp:  # auto compares in closed form (variogram once)
        mp.setattr(cv_module, "REFITTED", ())
        tables = {name: cross_validate(day_gdf, name, elevation="lapse").table
                  for name in rep.scores}
    common = np.logical_and.reduce([np.isfinite(t["predicted"].to_numpy())
                                    for t in tables.values()])
    assert {s["n"] for s in rep.scores.values()} == {int(common.sum())}
    for name, s in rep.scores.items():
        err = tables[name]["error"].to_numpy()[common]
        assert s["rmse"] == pytest.approx(float(np.sqrt(np.mean(err**2))), rel=1e-9), name
    # the headline is out of sample (the method chosen again without each station), so it
    # is not the chosen method's own row; it covers every station some choice predicts
    scored = rep.table["scored"].to_numpy()
    assert rep.n == int(scored.sum()) >= int(common.sum())
    err = rep.table["error"].to_numpy()[scored]
    assert rep.rmse == pytest.approx(float(np.sqrt(np.mean(err**2))), rel=1e-12)
    assert f"n={rep.n} RMSE {rep.rmse:.2f}" in rep.to_text()
    assert f"{rep.method:<10} RMSE {rep.scores[rep.method]['rmse']:.2f}" in rep.to_text()


def test_auto_leaves_out_a_method_that_cannot_fit(day_gdf):
    # Jeju's three ASOS stations: kriging cannot fit a variogram to them, and 'auto'
    # failed with "a fold leaves only 2 training stations; use fewer folds"
    jeju = day_gdf[day_gdf["name_ko"].isin(["제주", "서귀포", "고산"])]
    assert len(jeju) == 3
    rep = cross_validate(jeju, "auto", elevation="lapse")
    assert "kriging" not in rep.scores and rep.method in rep.scores
    assert {"idw", "spline"} <= set(rep.scores)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"folds": 1}, "between 2 and"),
        ({"folds": "kfold"}, "folds must be 'loo', 'block' or"),
        ({"folds": True}, "folds must be"),
        ({"folds": "block", "block_size": 1e8}, "one block"),
        ({"folds": "block", "block_size": -1}, "block_size must be > 0"),
        ({"method": "kriggin"}, "unknown method 'kriggin'"),
        ({"method": "auto", "k": 3}, "method='auto'"),
        ({"bogus": 1}, "unknown parameter.*'bogus'"),
        ({"elevation": "drift"}, "external drift"),
    ],
)
def test_bad_cv_options(day_gdf, kw, match):
    kw = dict(kw)
    method = kw.pop("method", "idw")
    with pytest.raises(InterpolationError, match=match):
        cross_validate(day_gdf, method, **kw)


def test_too_few_stations(day_gdf):
    with pytest.raises(InterpolationError, match="at least 3"):
        cross_validate(day_gdf.head(2), "idw")


def test_to_text_of_one_method_lists_the_five_worst_stations(day_gdf):
    rep = cross_validate(day_gdf, "idw", elevation=None)
    lines = rep.to_text().splitlines()
    worst = rep.table.reindex(rep.table["error"].abs().sort_values(ascending=False).index)
    assert len(lines) == 6 and "not scored" not in lines[1]
    assert [ln.split()[1] for ln in lines[1:]] == [str(s) for s in worst["station_id"][:5]]


def test_two_folds_is_the_fewest(day_gdf):
    rep = cross_validate(day_gdf, "idw", folds=2)
    assert rep.n == len(day_gdf) and rep.folds == 2


def test_a_method_without_a_closed_form_is_refitted_without_each_station(day_gdf):
    """The fallback of loo_weights (refit per station) equals the spline's closed form."""
    from kwxmap.interpolate import Spline

    class RefitSpline(Spline):
        def _loo_weights(self):
            return None  # no closed form: loo_weights refits without each station

    st = prepare_stations(day_gdf, value="temperature_c", crs=5179, need_elevation=True)
    drift = st.elevation[:, None]
    refit = loo_weights(RefitSpline(), st.xy, st.values, drift=drift)
    closed = loo_weights(Spline(), st.xy, st.values, drift=drift)
    np.testing.assert_allclose(refit, np.asarray(closed), atol=1e-8)
    assert np.all(np.diag(refit) == 0)


def test_a_fold_may_train_on_three_stations(day_gdf):
    rep = cross_validate(day_gdf.head(4), "idw", folds=4, elevation=None)
    assert rep.n == 4


def test_scores_of_no_prediction_count_zero_stations():
    from kwxmap.interpolate.cv import _scores

    s = _scores(np.array([1.0, 2.0]), np.array([np.nan, np.nan]))
    assert s["n"] == 0 and np.isnan(s["rmse"])
    assert _scores(np.array([1.0, 2.0, 4.0]), np.array([2.0, np.nan, 2.0])) == {
        "rmse": pytest.approx(np.sqrt(2.5)), "mae": 1.5, "bias": -0.5, "n": 2}


def test_auto_with_elevation_drift_compares_only_the_drift_methods(day_gdf):
    rep = cross_validate(day_gdf, "auto", elevation="drift")
    assert set(rep.scores) == {"spline", "kriging"}  # of the six candidates


def test_k_fold_default_seed_is_zero(day_gdf):
    a = cross_validate(day_gdf, "idw", folds=5, elevation=None)
    b = cross_validate(day_gdf, "idw", folds=5, elevation=None, seed=0)
    c = cross_validate(day_gdf, "idw", folds=5, elevation=None, seed=1)
    assert a.table["predicted"].tolist() == b.table["predicted"].tolist()
    assert a.table["predicted"].tolist() != c.table["predicted"].tolist()


def test_to_text_of_a_report_built_by_hand_without_a_scored_column():
    table = pd.DataFrame({"station_id": [108, 159], "name_ko": ["서울", "부산"],
                          "observed": [1.0, 2.0], "predicted": [1.5, 1.0], "error": [0.5, -1.0]})
    rep = CVReport("idw", 2, rmse=0.79, mae=0.75, bias=-0.25, table=table)
    assert rep.to_text().splitlines() == [
        "method idw (elevation none, folds loo): n=2 RMSE 0.79  MAE 0.75  bias -0.25",
        "  worst: 159 부산 observed 2.0 predicted 1.0 error -1.0",
        "  worst: 108 서울 observed 1.0 predicted 1.5 error +0.5",
    ]


def test_block_folds_default_to_100_km_blocks():
    """The documented default block edge is 100 km (block_size=100_000 m)."""
    import geopandas as gpd
    from shapely.geometry import Point

    lon = [126.6 + 0.45 * i for i in range(8)]  # ~40 km apart along 36.5 N
    gdf = gpd.GeoDataFrame({"station_id": range(8), "temperature_c": [float(i % 3) for i in
                                                                      range(8)]},
                           geometry=[Point(x, 36.5) for x in lon], crs=4326)
    default = cross_validate(gdf, "idw", folds="block", elevation=None).table["predicted"]
    km100 = cross_validate(gdf, "idw", folds="block", elevation=None,
                           block_size=100_000).table["predicted"]
    km200 = cross_validate(gdf, "idw", folds="block", elevation=None,
                           block_size=200_000).table["predicted"]
    assert default.tolist() == km100.tolist()
    assert default.tolist() != km200.tolist()
