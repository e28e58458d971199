"""The default's skill is scored out of sample: no station picks the method that predicts it.

A second code path recomputes ``auto``'s report from each candidate's own
cross-validation: station i is predicted by the candidate with the lowest
error over the other stations (ties within ``AUTO_TIE_C`` to the simpler).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kwxmap
from kwxmap.interpolate import cv as cv_module
from kwxmap.interpolate.cv import AUTO_TIE_C, auto_candidates

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def joined():
    text = (ROOT / "examples" / "widget.txt").read_text(encoding="utf-8")
    return kwxmap.join_readings(kwxmap.parse_readings(text))


def test_auto_cv_equals_a_refit_without_each_station(joined):
    """Up to 150 stations: the method is chosen again without each station, as holdout does."""
    report = kwxmap.cross_validate(joined, "auto", elevation="predictors")
    places = pd.DataFrame({"lat": joined.geometry.y, "lon": joined.geometry.x})
    held = kwxmap.interpolate(joined, "auto", elevation="predictors", target=places,
                              holdout=True)
    want = report.table.set_index("station_id")["predicted"].reindex(joined["station_id"])
    np.testing.assert_allclose(held["temperature_c"].to_numpy(), want.to_numpy(), atol=1e-6)
    for i in (0, 7, 19):  # and by hand: interpolate without the station, at the station
        rest = joined.drop(index=joined.index[i])
        alone = kwxmap.interpolate(rest, "auto", elevation="predictors", target=pd.DataFrame(
            {"lat": [joined.geometry.y.iloc[i]], "lon": [joined.geometry.x.iloc[i]],
             "elevation_m": [joined["elevation_m"].iloc[i]]}))
        assert alone["temperature_c"].iloc[0] == pytest.approx(want.iloc[i], abs=1e-6)


def test_auto_on_many_stations_reports_the_choice_made_without_each_station(
    joined, monkeypatch
):
    """Over 150 stations the choice uses the other stations' leave-one-out errors."""
    monkeypatch.setattr(cv_module, "NESTED_MAX_STATIONS", 0)  # the many-station path
    report = kwxmap.cross_validate(joined, "auto", elevation="predictors")
    candidates = auto_candidates("predictors")
    preds = []
    for method, elevation in candidates.values():
        one = kwxmap.cross_validate(joined, method, elevation=elevation).table
        preds.append(one.set_index("station_id")["predicted"].reindex(
            report.table["station_id"]).to_numpy())
    preds = np.array(preds)
    obs = report.table["observed"].to_numpy()
    want = np.empty_like(obs)
    for i in range(len(obs)):  # by hand, one station at a time
        others = np.delete(np.arange(len(obs)), i)
        rmse = np.sqrt(((preds[:, others] - obs[others]) ** 2).mean(axis=1))
        first = int(np.flatnonzero(rmse <= rmse.min() + AUTO_TIE_C)[0])
        want[i] = preds[first, i]
    np.testing.assert_allclose(report.table["predicted"].to_numpy(), want, atol=1e-12)
    assert report.rmse == pytest.approx(np.sqrt(((want - obs) ** 2).mean()), abs=1e-12)
    # and it is never better than the best candidate judged on the same stations
    assert report.rmse >= min(s["rmse"] for s in report.scores.values()) - 1e-12


def test_a_tie_within_noise_keeps_the_simpler_candidate(joined):
    report = kwxmap.cross_validate(joined, "auto", elevation="predictors")
    names = list(report.scores)
    best = min(s["rmse"] for s in report.scores.values())
    first_close = next(n for n in names if report.scores[n]["rmse"] <= best + AUTO_TIE_C)
    assert (report.method, report.elevation) == auto_candidates("predictors")[first_close]


def test_the_default_cv_equals_a_refit_without_each_station():
    """The default (kriging + predictors) on a 30-station field: cross_validate's
    prediction at each station is interpolate() without that station, at its place and
    height, to 1e-6 °C: the variogram is fitted again in every fold (it was fitted once,
    to all 30, before: up to 0.72 °C apart on the widget readings)."""
    daily = pd.read_csv(ROOT / "examples" / "data" / "kma_asos_daily_2020.csv")
    day = daily[daily["time"] == "2020-12-10"].rename(
        columns={"stn_id": "station_id", "temp_c": "temperature_c"})
    registry = kwxmap.load_stations().to_geodataframe()
    field = registry.merge(day[["station_id", "temperature_c"]].dropna(), on="station_id")
    field = field.sort_values("station_id").iloc[::3].head(30).reset_index(drop=True)
    assert len(field) == 30
    report = kwxmap.cross_validate(field)
    assert (report.method, report.elevation) == ("kriging", "predictors")
    want = report.table.set_index("station_id")["predicted"]
    for i in range(30):
        rest = field.drop(index=i)
        at = pd.DataFrame({"lat": [field.geometry.y[i]], "lon": [field.geometry.x[i]],
                           "elevation_m": [field["elevation_m"][i]]})
        alone = kwxmap.interpolate(rest, target=at)["temperature_c"].iloc[0]
        assert alone == pytest.approx(want[field["station_id"][i]], abs=1e-6), i
