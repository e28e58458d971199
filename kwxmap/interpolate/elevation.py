"""Elevation handling for temperature: lapse-rate reduction to sea level and back.

Temperature falls with height (about 6.5 K per km in the standard
atmosphere), so mountain stations such as 대관령 (772 m) and 태백 (712 m)
are colder than their neighbours. ``elevation="lapse"`` adds ``rate * z`` to
each station value (reduction to sea level), interpolates the reduced field,
and subtracts ``rate * z`` again with the grid's ground elevation.
``elevation="fit"`` estimates the rate from the snapshot itself;
``elevation="drift"`` hands the elevation to the method as an external drift
(kriging, spline); ``elevation="predictors"`` hands it elevation, coast
proximity and terrain position (:mod:`kwxmap.predictors`) as drift columns,
each coefficient fitted to the snapshot. :class:`ElevationModel` is the one place that does this for
:func:`~kwxmap.interpolate`, :func:`~kwxmap.cross_validate` and
:func:`~kwxmap.interpolate_many`: ``rate`` (fixed or fitted), ``reduce``
before fitting, ``restore`` after predicting, ``drift`` for the method.

Sign convention: ``lapse_rate`` in K/km, positive when it is colder aloft;
a night inversion gives a negative fitted rate.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ..errors import InterpolationError

__all__ = [
    "ELEVATION_MODES",
    "STANDARD_LAPSE_RATE",
    "ElevationModel",
    "fit_lapse_rate",
    "resolve_elevation",
    "reduce_to_sea_level",
    "restore_from_sea_level",
]

#: Standard-atmosphere lapse rate, K/km (positive: colder aloft).
STANDARD_LAPSE_RATE = 6.5

_MIN_ELEVATION_SPREAD_M = 50.0
#: Values of ``elevation=`` (None: no correction); ``"auto"`` is resolved per method by
#: :func:`resolve_elevation` before an :class:`ElevationModel` is made.
ELEVATION_MODES = (None, "lapse", "fit", "drift", "predictors")
#: Drift columns of ``elevation="predictors"`` (names of :data:`kwxmap.predictors.PREDICTOR_NAMES`).
PREDICTOR_COLUMNS = ("elevation", "coast", "terrain")
#: Fewer stations than this fit elevation alone in ``"predictors"`` mode: three drift
#: coefficients and a variogram are too many for a sparse network (the widget's 26-95
#: stations).
MIN_STATIONS_PREDICTORS = 60


def resolve_elevation(method: str, elevation: str | None) -> str | None:
    """Return the elevation mode ``elevation="auto"`` stands for with ``method``.

    The best handling the method can use: ``"predictors"`` (elevation, coast
    and terrain as drift columns) for the methods that take drift columns
    (kriging, spline) and for ``"auto"``; a fixed lapse rate (``"lapse"``)
    for the others. Any other value is returned unchanged.

    Examples
    --------
    >>> resolve_elevation("auto", "auto"), resolve_elevation("idw", "auto")
    ('predictors', 'lapse')
    >>> resolve_elevation("idw", None) is None
    True
    """
    if elevation != "auto":
        return elevation
    from ._base import METHODS

    cls = METHODS.get(method)
    return "predictors" if method == "auto" or getattr(cls, "accepts_drift", False) else "lapse"


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


#: The ASOS offset joins the predictors only with at least this many stations of
#: each network (ASOS and AWS) in the field, so its coefficient is estimated.
MIN_PER_NETWORK = 10


@dataclasses.dataclass(frozen=True)
class ElevationModel:
    """How station and cell elevations enter an interpolation.

    Parameters
    ----------
    mode
        None (no correction), ``"lapse"`` (fixed rate), ``"fit"`` (rate
        fitted from the stations with :func:`fit_lapse_rate`), ``"drift"``
        (elevation as an external drift) or ``"predictors"`` (the
        :data:`PREDICTOR_COLUMNS` as drift columns, elevation alone with fewer
        than :data:`MIN_STATIONS_PREDICTORS` stations; see :meth:`for_stations`).
    lapse_rate
        K/km for ``"lapse"`` (default :data:`STANDARD_LAPSE_RATE`); only
        allowed with ``"lapse"``.
    columns
        Drift columns of ``"predictors"`` mode, set by :meth:`for_stations`.
    crs
        CRS of the coordinates given to :meth:`drift` (``"predictors"`` mode).
    network
        Whether the ASOS offset is a drift column too (``"predictors"`` mode
        with at least :data:`MIN_PER_NETWORK` stations of each network; set by
        :meth:`for_stations`): 1 at ASOS stations, 0 at AWS stations and at
        every place asked, so the surface is what an AWS site would read and
        the ASOS readings are honoured at their own sites.

    Notes
    -----
    ``reduce`` and ``restore`` are linear, so a linear method's weights
    ``W`` commute with them: ``W @ reduce(v, z, r) == reduce(W @ v, W @ z, r)``.
    Cross-validation uses this to apply a rate fitted without the held-out
    station to closed-form leave-one-out weights.

    Examples
    --------
    >>> m = ElevationModel("lapse")
    >>> m.lapse_rate, m.needs_elevation
    (6.5, True)
    >>> z = np.array([0.0, 1000.0])
    >>> rate = m.rate(z, np.array([10.0, 3.5]))
    >>> m.reduce(np.array([10.0, 3.5]), z, rate)  # both 10 °C at sea level
    array([10., 10.])
    >>> m.restore(np.array([10.0]), np.array([500.0]), rate)
    array([6.75])
    >>> ElevationModel(None).reduce(np.array([1.0]), None, None)
    array([1.])
    >>> ElevationModel("fit", lapse_rate=5)
    Traceback (most recent call last):
    ...
    kwxmap.errors.InterpolationError: lapse_rate=5 is only used with elevation='lapse'; ...
    """

    mode: str | None = None
    lapse_rate: float | None = None
    columns: tuple[str, ...] = PREDICTOR_COLUMNS
    crs: Any = 5179
    network: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ELEVATION_MODES:
            listed = ", ".join(repr(c) for c in ELEVATION_MODES)
            raise InterpolationError(f"elevation must be one of {listed}; got {self.mode!r}")
        rate = self.lapse_rate
        if rate is not None and self.mode != "lapse":
            raise InterpolationError(
                f"lapse_rate={rate!r} is only used with elevation='lapse'; got "
                f"elevation={self.mode!r}"
            )
        if self.mode != "lapse":
            return
        if rate is None:
            rate = STANDARD_LAPSE_RATE
        if isinstance(rate, bool) or not isinstance(rate, int | float | np.number):
            raise InterpolationError(f"lapse_rate must be a number in K/km, got {rate!r}")
        if not math.isfinite(float(rate)) or abs(float(rate)) > 30:
            raise InterpolationError(
                f"lapse_rate={rate!r} K/km is implausible; use a value like 6.5 (K/km, "
                f"positive = colder aloft)"
            )
        object.__setattr__(self, "lapse_rate", float(rate))

    @property
    def needs_elevation(self) -> bool:
        """True when station (and cell) elevations are needed."""
        return self.mode is not None

    @property
    def has_drift(self) -> bool:
        """True for the modes that hand the method drift columns."""
        return self.mode in ("drift", "predictors")

    def for_stations(self, n: int, crs: Any = 5179, asos: Any = None) -> ElevationModel:
        """Return the model for a network of ``n`` stations in ``crs``.

        In ``"predictors"`` mode, fewer than :data:`MIN_STATIONS_PREDICTORS`
        stations keep elevation alone, and the ASOS offset joins the drift
        when ``asos`` (True at ASOS stations) holds at least
        :data:`MIN_PER_NETWORK` stations of each network; other modes are
        returned unchanged but for the CRS.

        Examples
        --------
        >>> ElevationModel("predictors").for_stations(700).columns
        ('elevation', 'coast', 'terrain')
        >>> ElevationModel("predictors").for_stations(26).columns
        ('elevation',)
        >>> ElevationModel("predictors").for_stations(700, asos=np.arange(700) < 99).network
        True
        """
        columns = self.columns
        if self.mode == "predictors" and n < MIN_STATIONS_PREDICTORS:
            columns = ("elevation",)
        network = False
        if self.mode == "predictors" and asos is not None and n >= MIN_STATIONS_PREDICTORS:
            k = int(np.count_nonzero(asos))
            network = min(k, len(asos) - k) >= MIN_PER_NETWORK
        return dataclasses.replace(self, columns=columns, crs=crs, network=network)

    @property
    def shifts(self) -> bool:
        """True for the lapse-rate modes, which reduce and restore values."""
        return self.mode in ("lapse", "fit")

    def rate(self, z: Any, values: Any, xy: Any | None = None) -> float | None:
        """Return the lapse rate (K/km) for these stations: fixed, fitted, or None."""
        if self.mode == "lapse":
            return self.lapse_rate
        if self.mode == "fit":
            return fit_lapse_rate(z, values, xy)
        return None

    def rates(self, values: Any, z: Any, xy: Any | None = None) -> np.ndarray | None:
        """Return one rate per row of a ``(T, N)`` matrix (NaN where none can be fitted).

        Each row is fitted on its finite values; None for the modes without a rate.
        """
        v = np.asarray(values, dtype=float)
        if self.mode == "lapse":
            return np.full(v.shape[0], self.lapse_rate)
        if self.mode != "fit":
            return None
        out = np.full(v.shape[0], np.nan)
        z = np.asarray(z, dtype=float)
        for i, row in enumerate(v):
            ok = np.isfinite(row)
            try:
                out[i] = fit_lapse_rate(z[ok], row[ok], None if xy is None else xy[ok])
            except InterpolationError:
                pass
        return out

    def reduce(self, values: Any, z: Any, rate: Any) -> np.ndarray:
        """Return the values at sea level (unchanged without a lapse rate).

        ``rate`` broadcasts against ``values`` (a scalar, or a column of one
        rate per row).
        """
        if not self.shifts:
            return np.asarray(values, dtype=float)
        return reduce_to_sea_level(values, z, np.asarray(rate, dtype=float))

    def restore(self, values: Any, z: Any, rate: Any) -> np.ndarray:
        """Inverse of :meth:`reduce` at elevations ``z``."""
        if not self.shifts:
            return np.asarray(values, dtype=float)
        return restore_from_sea_level(values, z, np.asarray(rate, dtype=float))

    def drift(self, z: Any, xy: Any = None, asos: Any = None) -> np.ndarray | None:
        """Return the drift columns at points of elevation ``z`` (and ``xy``), else None.

        ``"drift"``: the elevation (m); ``"predictors"``: :attr:`columns` of
        :class:`kwxmap.predictors.Predictors` at ``xy`` (metres in :attr:`crs`),
        and with :attr:`network` the ASOS flag (``asos``; 0 where not given:
        the places asked are read as AWS sites).
        """
        if not self.has_drift or z is None:
            return None
        if self.mode == "drift":
            return np.asarray(z, dtype=float).reshape(-1, 1)
        from ..predictors import Predictors

        if xy is None:
            raise InterpolationError("elevation='predictors' needs the points' coordinates")
        matrix = Predictors(self.columns).matrix(xy, z, crs=self.crs)
        if not self.network:
            return matrix
        flag = np.zeros(len(matrix)) if asos is None else np.asarray(asos, dtype=float)
        return np.column_stack([matrix, flag])
