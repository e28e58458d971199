"""Elevation handling for temperature: lapse-rate reduction to sea level and back.

Temperature falls with height (about 6.5 K per km in the standard
atmosphere), so mountain stations such as 대관령 (772 m) and 태백 (712 m)
are colder than their neighbours. ``elevation="lapse"`` adds ``rate * z`` to
each station value (reduction to sea level), interpolates the reduced field,
and subtracts ``rate * z`` again with the grid's ground elevation.
``elevation="fit"`` estimates the rate from the snapshot itself.

Sign convention: ``lapse_rate`` in K/km, positive when it is colder aloft;
a night inversion gives a negative fitted rate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InterpolationError

__all__ = [
    "STANDARD_LAPSE_RATE",
    "fit_lapse_rate",
    "reduce_to_sea_level",
    "restore_from_sea_level",
]

#: Standard-atmosphere lapse rate, K/km (positive: colder aloft).
STANDARD_LAPSE_RATE = 6.5

_MIN_ELEVATION_SPREAD_M = 50.0


def reduce_to_sea_level(values: Any, elevation_m: Any, lapse_rate: float) -> np.ndarray:
    """Return ``values + lapse_rate * elevation_m / 1000`` (the sea-level equivalent).

    Examples
    --------
    >>> reduce_to_sea_level([10.0, 0.0], [0.0, 1000.0], 6.5)
    array([10. ,  6.5])
    """
    return np.asarray(values, dtype=float) + lapse_rate * np.asarray(elevation_m, float) / 1000.0


def restore_from_sea_level(values: Any, elevation_m: Any, lapse_rate: float) -> np.ndarray:
    """Inverse of :func:`reduce_to_sea_level`.

    Examples
    --------
    >>> restore_from_sea_level([10.0, 6.5], [0.0, 1000.0], 6.5)
    array([10.,  0.])
    """
    return np.asarray(values, dtype=float) - lapse_rate * np.asarray(elevation_m, float) / 1000.0


def fit_lapse_rate(
    elevation_m: Any, values: Any, xy: Any | None = None, *, max_iter: int = 50
) -> float:
    """Fit the lapse rate (K/km, positive = colder aloft) robustly from one snapshot.

    The model is ``T = a + b z (+ c x + d y)``: with ``xy`` (metres) the
    large-scale horizontal gradient (warm south, cold north) is fitted at the
    same time, so that the mountain stations of the north-east do not
    exaggerate the rate. The fit is a Huber M-estimate (iteratively
    reweighted least squares, tuning constant 1.345 on a MAD scale), so a few
    stations in a cold pool or with a bad reading do not pull it. The rate is
    ``-b``; a night inversion gives a negative rate. No clamping is applied.

    Parameters
    ----------
    elevation_m
        Station elevations (m), from the registry.
    values
        Station temperatures.
    xy
        Optional ``(N, 2)`` projected coordinates (metres).
    max_iter
        IRLS iterations.

    Returns
    -------
    float
        Lapse rate in K/km.

    Raises
    ------
    InterpolationError
        Fewer than 5 stations or station elevations spanning less than 50 m.

    Examples
    --------
    >>> z = np.array([0.0, 100.0, 300.0, 600.0, 800.0, 50.0])
    >>> round(fit_lapse_rate(z, 20.0 - 0.0065 * z), 6)
    6.5
    >>> t = 20.0 - 0.0065 * z
    >>> t[3] += 8.0  # one bad reading barely moves the robust fit
    >>> abs(fit_lapse_rate(z, t) - 6.5) < 0.5
    True
    """
    z = np.asarray(elevation_m, dtype=float)
    t = np.asarray(values, dtype=float)
    n = t.size
    if n < 5:
        raise InterpolationError(
            f"elevation='fit' needs at least 5 stations to fit a lapse rate, got {n}; "
            f"use elevation='lapse' (fixed {STANDARD_LAPSE_RATE} K/km)"
        )
    spread = float(np.ptp(z))
    if spread < _MIN_ELEVATION_SPREAD_M:
        raise InterpolationError(
            f"station elevations span only {spread:.0f} m; a lapse rate cannot be fitted. "
            f"Use elevation='lapse' (fixed rate) or elevation=None"
        )
    cols = [np.ones(n), z / 1000.0]
    if xy is not None:
        p = np.asarray(xy, dtype=float)
        p = (p - p.mean(axis=0)) / 1e5
        if n >= 8:  # enough stations to afford the horizontal trend
            cols += [p[:, 0], p[:, 1]]
    design = np.column_stack(cols)
    w = np.ones(n)
    coef = np.zeros(design.shape[1])
    for _ in range(max_iter):
        sw = np.sqrt(w)
        new, *_ = np.linalg.lstsq(design * sw[:, None], t * sw, rcond=None)
        resid = t - design @ new
        scale = 1.4826 * np.median(np.abs(resid - np.median(resid)))
        if scale <= 1e-12:
            coef = new
            break
        u = np.abs(resid) / (1.345 * scale)
        w = np.where(u <= 1.0, 1.0, 1.0 / np.maximum(u, 1e-12))
        if np.allclose(new, coef, rtol=0, atol=1e-10):
            coef = new
            break
        coef = new
    return float(-coef[1])
