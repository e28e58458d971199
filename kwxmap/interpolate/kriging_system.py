"""The kriging system's linear algebra: semivariance matrices, factorisation, stacked solves.

What :class:`~kwxmap.interpolate.kriging.Kriging` and the series engine
share: ``gamma`` with PyKrige's zero on the diagonal and at a target that
coincides with a station, an LU factorisation that says when the system is
singular or ill-conditioned, and the stacked solves of local kriging.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from ..errors import InterpolationError, KwxmapWarning
from .variogram import Variogram

__all__ = [
    "ZERO_DISTANCE",
    "factor_system",
    "kriging_semivariance",
    "singular_error",
    "solve_stack",
    "unique_rows",
]

#: Distances up to this (metres) count as "target at a station" (PyKrige's eps).
ZERO_DISTANCE = 1e-10


def kriging_semivariance(
    variogram: Variogram, d: np.ndarray, *, out: np.ndarray | None = None
) -> np.ndarray:
    """Semivariances for kriging: ``variogram(d)``, but 0 at zero distance (PyKrige's rule).

    Parameters
    ----------
    variogram
        The variogram model.
    d
        Distances in metres (any shape).
    out
        Optional output array (may be *d* itself).

    Returns
    -------
    numpy.ndarray
        ``gamma(d)`` with ``gamma = 0`` where ``d <= 1e-10`` m.

    Examples
    --------
    >>> v = Variogram("exponential", (1.0, 3000.0, 0.5))
    >>> kriging_semivariance(v, np.array([0.0, 1000.0])).round(4).tolist()
    [0.0, 1.1321]
    """
    zero = d <= ZERO_DISTANCE
    out = variogram.evaluate(d, out=np.empty_like(d) if out is None else out)
    if zero.any():
        out[zero] = 0.0
    return out


def unique_rows(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a sorted-per-row int array and the row -> distinct index map.

    Neighbouring grid cells mostly share their neighbour set, so runs of equal
    consecutive rows are collapsed before the (sorting) unique.
    """
    m = idx.shape[0]
    new = np.ones(m, dtype=bool)
    new[1:] = (idx[1:] != idx[:-1]).any(axis=1)
    starts = np.flatnonzero(new)
    heads = np.ascontiguousarray(idx[starts])
    sets, inv_heads = np.unique(heads, axis=0, return_inverse=True)
    run_id = np.cumsum(new) - 1
    return sets, inv_heads.reshape(-1)[run_id]


def singular_error() -> InterpolationError:
    """Return the error for a kriging system that cannot be solved."""
    return InterpolationError(
        "kriging: the kriging system is singular (stations at the same place, or a "
        "variogram with zero sill and nugget); average co-located stations or pass "
        "variogram_parameters with a positive sill"
    )


def factor_system(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LU-factor the kriging system, turning LAPACK failures into kwxmap errors.

    A reciprocal condition number below machine epsilon (the threshold at which
    :func:`scipy.linalg.solve` warns) gives a :class:`~kwxmap.KwxmapWarning`.
    """
    if not np.isfinite(a).all():
        raise InterpolationError(
            "kriging: the variogram gave NaN/inf between stations; check variogram_parameters"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
        try:
            lu, piv = scipy.linalg.lu_factor(a, check_finite=False)
        except (scipy.linalg.LinAlgWarning, np.linalg.LinAlgError) as exc:
            raise singular_error() from exc
    anorm = np.abs(a).sum(axis=0).max()
    rcond, info = scipy.linalg.lapack.dgecon(lu, anorm, norm="1")
    if info != 0 or not rcond > 0:
        raise singular_error()
    if rcond < np.finfo(float).eps:
        warnings.warn(
            "kriging: the kriging system is ill-conditioned (a gaussian variogram without "
            "nugget, or a range much longer than the station spacing); results may be "
            "inaccurate; add a small nugget",
            KwxmapWarning,
            stacklevel=4,
        )
    return lu, piv


def solve_stack(
    a: np.ndarray, rhs: np.ndarray, need_inv: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Solve stacked systems ``a @ x = rhs``; optionally also return the inverses."""
    if not np.isfinite(a).all():
        raise InterpolationError(
            "kriging: the variogram gave NaN/inf between stations; check variogram_parameters"
        )
    try:
        if need_inv:
            a_inv = np.linalg.inv(a)
            alpha = (a_inv @ rhs)[..., 0]
        else:
            a_inv = None
            alpha = np.linalg.solve(a, rhs)[..., 0]
    except np.linalg.LinAlgError:
        # Some neighbourhood is degenerate (e.g. a drift that is constant over
        # those k stations): fall back to the pseudo-inverse, which drops the
        # redundant constraint.
        a_inv = np.linalg.pinv(a)
        alpha = (a_inv @ rhs)[..., 0]
    return alpha, a_inv
