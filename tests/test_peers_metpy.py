"""Barnes and Cressman against MetPy run with MetPy's own defaults.

``metpy.interpolate.interpolate_to_points`` derives everything itself — search
radius ``5 * average spacing``, ``kappa_star=5.052``, ``gamma=0.25``,
``minimum_neighbors=3`` — so nothing of kwxmap's fitted state (its ``kappa_``,
``search_radius_``) is fed to it: a wrong kappa or radius in kwxmap shows up
as a difference here.
"""

from __future__ import annotations

import numpy as np
import pytest

from kwxmap.interpolate import METHODS

metpy_interpolate = pytest.importorskip("metpy.interpolate")


@pytest.fixture(scope="module")
def stations(seed_stations):
    proj = seed_stations.to_crs(5179)
    xy = np.column_stack([proj.geometry.x, proj.geometry.y])
    return xy, seed_stations["temperature_c"].to_numpy(dtype=float)


@pytest.fixture(scope="module")
def targets(stations):
    xy, _ = stations
    rng = np.random.default_rng(7)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    return np.vstack([rng.uniform(lo, hi, (3000, 2)), xy])


@pytest.mark.parametrize("kind", ["barnes", "cressman"])
def test_defaults_match_metpy_defaults(stations, targets, kind):
    xy, z = stations
    ours = METHODS[kind]().fit(xy, z).predict(targets)
    theirs = metpy_interpolate.interpolate_to_points(xy, z, targets, interp_type=kind)
    theirs = np.asarray(theirs, dtype=float)
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    assert np.isfinite(ours).sum() > 2000  # most targets have 3 stations in range
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9, equal_nan=True)


def test_barnes_kappa_is_metpys(stations):
    from metpy.interpolate.geometry import dist_2
    from metpy.interpolate.tools import average_spacing, calc_kappa

    xy, z = stations
    model = METHODS["barnes"]().fit(xy, z)
    spacing = average_spacing(xy)
    assert model.kappa_ == pytest.approx(calc_kappa(spacing), rel=1e-12)
    assert model.search_radius_ == pytest.approx(5 * spacing, rel=1e-12)
    assert dist_2(0, 0, 3, 4) == 25  # the squared distance MetPy's weights use
