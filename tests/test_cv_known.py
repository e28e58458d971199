"""``method="auto"`` against leave-one-out scores recomputed outside its comparison.

Each candidate is cross-validated on its own with :func:`kwxmap.cross_validate`;
the test then keeps the stations every candidate could predict and computes
the RMSE, MAE and bias by hand. ``auto`` must report those numbers, on that
common station set, and choose the method with the lowest RMSE.
"""

from __future__ import annotations

import numpy as np
import pytest

from kwxmap import cross_validate


@pytest.fixture(scope="module")
def auto_and_singles(seed_stations):
    auto = cross_validate(seed_stations, method="auto")
    singles = {m: cross_validate(seed_stations, method=m) for m in auto.scores}
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
