"""``method="auto"`` against leave-one-out scores recomputed outside its comparison.

Each candidate is cross-validated on its own with :func:`kwxmap.cross_validate`
in closed form (``REFITTED`` emptied: the variogram fitted once, as ``auto``
compares its candidates on the stations it is given);
the test then keeps the stations every candidate could predict and computes
the RMSE, MAE and bias by hand. ``auto`` must report those numbers, on that
common station set, and choose the method with the lowest RMSE.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kwxmap
from kwxmap import cross_validate
from kwxmap.interpolate import cv as cv_module


def _closed_form(method, gdf, **kw):
    """cross_validate in closed form: auto's comparison (the variogram fitted once)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cv_module, "REFITTED", ())
        return cross_validate(gdf, method=method, **kw)


@pytest.fixture(scope="module")
def auto_and_singles(seed_stations):
    # every method with one elevation handling (some methods leave stations out)
    auto = cross_validate(seed_stations, method="auto", elevation="lapse")
    singles = {m: _closed_form(m, seed_stations, elevation="lapse") for m in auto.scores}
    return auto, singles


def test_auto_scores_every_method_on_the_same_stations(auto_and_singles):
    auto, singles = auto_and_singles
    errors = {m: r.table.set_index("station_id")["error"] for m, r in singles.items()}
    ids = set.intersection(*(set(e.index[np.isfinite(e.to_numpy(float))])
                             for e in errors.values()))
    sizes = {m: int(np.isfinite(e.to_numpy(float)).sum()) for m, e in errors.items()}
    assert min(sizes.values()) < max(sizes.values()), "all methods cover the same stations"
    common = sorted(ids)
    for m, e in errors.items():
        err = e.loc[common].to_numpy(float)
        got = auto.scores[m]
        assert got["n"] == len(common)
        assert got["rmse"] == pytest.approx(float(np.sqrt(np.mean(err**2))), rel=1e-9)
        assert got["mae"] == pytest.approx(float(np.mean(np.abs(err))), rel=1e-9)
        assert got["bias"] == pytest.approx(float(np.mean(err)), rel=1e-9, abs=1e-12)


def test_auto_chooses_the_lowest_common_rmse(auto_and_singles):
    auto, _ = auto_and_singles
    best = min(auto.scores, key=lambda m: auto.scores[m]["rmse"])
    assert auto.method == best


def test_auto_compares_the_predictor_candidates_on_their_own_scores(seed_stations):
    """auto with elevation 'auto' (= 'predictors'): each candidate pair scored alone by
    cross_validate; auto reports those scores, maps the lowest pair (ties within 0.02 °C
    to the first), and its own score is out of sample: each station predicted by the
    method chosen again without it, as interpolate(holdout=True) does."""
    from kwxmap.interpolate.cv import auto_candidates

    auto = cross_validate(seed_stations, "auto")
    pairs = auto_candidates("predictors")
    assert set(auto.scores) == set(pairs)
    for label, (method, elevation) in pairs.items():
        alone = _closed_form(method, seed_stations, elevation=elevation)
        assert alone.n == auto.scores[label]["n"] == len(seed_stations)
        assert auto.scores[label]["rmse"] == pytest.approx(alone.rmse, rel=1e-9)
    low = min(s["rmse"] for s in auto.scores.values())
    best = next(m for m in auto.scores if auto.scores[m]["rmse"] <= low + 0.02)
    assert (auto.method, auto.elevation) == pairs[best]
    places = pd.DataFrame({"lat": seed_stations.geometry.y, "lon": seed_stations.geometry.x})
    held = kwxmap.interpolate(seed_stations, "auto", target=places,
                              holdout=True)["temperature_c"]
    err = held.to_numpy() - seed_stations["temperature_c"].to_numpy()
    assert auto.rmse == pytest.approx(float(np.sqrt(np.mean(err**2))), rel=1e-9)
