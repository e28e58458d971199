"""Thin-plate spline with optional smoothing and drift columns (scipy's RBFInterpolator numbers).

The spline is ``s(x) = sum_j c_j phi(|x - x_j|) + a0 + a1 x + a2 y`` with
``phi(r) = r**2 log r``, fitted by solving the ``(N + 3)`` saddle-point system
``[[K + smoothing I, P], [P.T, 0]] [c; a] = [v; 0]`` once. It equals
``scipy.interpolate.RBFInterpolator(xy, v, kernel="thin_plate_spline",
smoothing=smoothing)`` with coordinates in metres. Internally coordinates are
centred and scaled to O(1) for conditioning; since ``phi(s r) = s**2 phi(r) +
s**2 log(s) r**2`` and the ``r**2`` part is absorbed by the polynomial, the
smoothing is rescaled by ``s**2`` so the result does not change.
Evaluation is a chunked matrix product (no per-point Python loop).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.linalg

from ..errors import InterpolationError
from ._base import Interpolator, check_number, register

__all__ = ["Spline"]

_CHUNK = 1 << 17  # point x station pairs per evaluation chunk (cache-sized)


def _tps(d2: np.ndarray) -> np.ndarray:
    """``r**2 log r`` from squared distances ``d2`` (>= 0), in place; 0 at r = 0."""
    out = np.maximum(d2, 1e-300)  # log(1e-300) * 0 == 0 at a station
    np.log(out, out=out)
    out *= d2
    out *= 0.5
    return out


@register
class Spline(Interpolator):
    """Thin-plate spline (``r**2 log r`` kernel, linear polynomial), optional smoothing.

    Parameters
    ----------
    smoothing
        scipy's ``RBFInterpolator`` smoothing with distances in metres
        (``0`` = the exact interpolating spline, scipy's default). The kernel
        is in m² units (entries ~1e11 over Korea), so useful values are large.
        The default ``2e10`` was chosen by leave-one-out on 36 days of KMA
        ASOS daily means (``benchmarks/bench_skill.py``): with
        ``elevation="lapse"`` the mean RMSE was 0.96 °C against 1.27 °C for
        the exact spline, which overshoots between stations. It is tuned to
        the ASOS network's spacing (~30 km); for much denser networks check
        it with :func:`kwxmap.cross_validate`.

    Notes
    -----
    ``fit(xy, values, drift=D)`` adds the ``D`` columns (e.g. elevation and
    the other :mod:`kwxmap.predictors`) to the polynomial part: ``s(x) = sum_j
    c_j phi(|x - x_j|) + a0 + a1 x + a2 y + b @ D(x)`` (a partial thin-plate
    spline; the ``b`` are fitted jointly with the spline, like the drift
    coefficients of kriging with external drift). ``predict(xy, drift=D0)``
    then needs the columns at the targets. Drift columns are centred and
    scaled internally; the spline does not change.

    Examples
    --------
    >>> xy = np.array([[0.0, 0.0], [10e3, 0.0], [0.0, 10e3], [10e3, 10e3], [4e3, 6e3]])
    >>> m = Spline(smoothing=0).fit(xy, [1.0, 2.0, 3.0, 4.0, 9.0])
    >>> m.predict(xy).round(6)  # exact without smoothing
    array([1., 2., 3., 4., 9.])
    >>> Spline().fit(xy, [5.0] * 5).predict([[3e3, 1e3], [-5e4, 7e4]]).round(9)
    array([5., 5.])
    """

    name = "spline"
    exact = False  # exact only with smoothing=0
    accepts_drift = True

    def __init__(self, *, smoothing: float = 2e10):
        self.smoothing = smoothing

    def _validate(self) -> None:
        check_number("smoothing", self.smoothing, minimum=0)

    def _scaled(self, xy: np.ndarray) -> np.ndarray:
        return (xy - self.shift_) / self.scale_

    def _kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
        np.maximum(d2, 0.0, out=d2)
        return _tps(d2)

    def _fit(self) -> None:
        self.__dict__.pop("cardinal_", None)  # weights of a previous fit
        xy = self.xy_
        n = xy.shape[0]
        self.shift_ = xy.mean(axis=0)
        span = float(np.ptp(xy, axis=0).max()) / 2.0
        self.scale_ = span if span > 0 else 1.0
        s = self._scaled(xy)
        if np.linalg.matrix_rank(np.column_stack([np.ones(n), s]), tol=1e-9) < 3:
            raise InterpolationError(
                "spline: all stations lie on one straight line, so the plane of the thin-plate "
                "spline is undetermined; add stations off the line or use idw/nearest"
            )
        if self.drift_ is not None:
            self.drift_shift_ = self.drift_.mean(axis=0)
            scale = self.drift_.std(axis=0)
            if not (scale > 0).all():
                raise InterpolationError(
                    f"spline: drift column(s) {np.flatnonzero(~(scale > 0)).tolist()} are "
                    f"constant over the stations; drop them"
                )
            self.drift_scale_ = scale
        poly = self._poly(s, self.drift_)
        m = poly.shape[1]
        if np.linalg.matrix_rank(poly, tol=1e-9) < m:
            raise InterpolationError(
                f"spline: the {m} polynomial/drift columns are linearly dependent over the "
                f"{n} stations; drop redundant drift columns"
            )
        lhs = np.zeros((n + m, n + m))
        lhs[:n, :n] = self._kernel(s, s)
        lhs[:n, :n][np.diag_indices(n)] += float(self.smoothing) / self.scale_**2
        lhs[:n, n:] = poly
        lhs[n:, :n] = poly.T
        with warnings.catch_warnings():
            warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
            try:
                self.lu_ = scipy.linalg.lu_factor(lhs, check_finite=False)
            except (np.linalg.LinAlgError, scipy.linalg.LinAlgWarning, ValueError) as exc:
                raise InterpolationError(
                    f"spline system cannot be solved ({exc}); use idw or barnes"
                ) from exc
        # Solve for the values less one of them and put it back in the constant term
        # (the same spline): a uniform reading then gives exactly that value everywhere
        # rather than 2.9999999999999973..3.000000000000001 and a second isotherm band.
        level = float(self.values_[0])
        rhs = np.zeros(n + m)
        rhs[:n] = self.values_ - level
        coef = scipy.linalg.lu_solve(self.lu_, rhs, check_finite=False)
        coef[n] += level
        if not np.isfinite(coef).all():
            raise InterpolationError(
                "spline system is singular (stations on one straight line?); use idw or barnes"
            )
        self.coef_ = coef

    def _poly(self, s: np.ndarray, drift: np.ndarray | None) -> np.ndarray:
        """Polynomial part ``[1, x, y, drift...]`` at scaled points (drift centred/scaled)."""
        cols = [np.ones((len(s), 1)), s]
        if drift is not None:
            cols.append((drift - self.drift_shift_) / self.drift_scale_)
        return np.hstack(cols)

    def _design(self, s: np.ndarray, drift: np.ndarray | None) -> np.ndarray:
        ss = self._scaled(self.xy_)
        return np.hstack([self._kernel(s, ss), self._poly(s, drift)])

    def _predict(self, xy: np.ndarray, drift: np.ndarray | None) -> np.ndarray:
        s = self._scaled(xy)
        ss = self._scaled(self.xy_)
        n = ss.shape[0]
        c, a = self.coef_[:n], self.coef_[n:]
        sn = (ss * ss).sum(1)
        ss2 = -2.0 * ss.T
        out = np.empty(len(s))
        step = max(1, _CHUNK // n)
        for start in range(0, len(s), step):
            p = s[start : start + step]
            d2 = p @ ss2
            d2 += (p * p).sum(1)[:, None]
            d2 += sn
            np.maximum(d2, 0.0, out=d2)
            dr = None if drift is None else drift[start : start + step]
            out[start : start + len(p)] = _tps(d2) @ c + self._poly(p, dr) @ a
        return out

    def _weights(self, xy: np.ndarray, drift: np.ndarray | None) -> np.ndarray:
        n = self.xy_.shape[0]
        if not hasattr(self, "cardinal_"):
            eye = np.zeros((self.lu_[0].shape[0], n))
            eye[:n] = np.eye(n)
            self.cardinal_ = scipy.linalg.lu_solve(self.lu_, eye, check_finite=False)
        return self._design(self._scaled(xy), drift) @ self.cardinal_

    def dual_coefficients(self, values: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Dual-form coefficients for many value vectors, on raw coordinates.

        The spline on this fit's scaled coordinates is a fixed combination of
        two kernels on raw ones — ``phi(d²/s²) = (phi(d²) - log(s) d²) / s²``
        for ``phi(d²) = d² log(d²) / 2`` — so predictions are
        ``phi(d²(x)) @ p + d²(x) @ q + [1, x, y] @ c`` with ``d²`` the
        squared distances (m²) from ``x`` to the stations: the kernels of a
        block of cells serve every fit of the same stations' subsets. Only
        without drift.

        Parameters
        ----------
        values
            ``(T, N)`` finite values at the ``N`` fitted stations.

        Returns
        -------
        p, q : numpy.ndarray
            ``(N, T)`` coefficients of ``phi(d²)`` and ``d²``.
        c : numpy.ndarray
            ``(3, T)`` coefficients of the constant, ``x`` and ``y`` (metres).

        Examples
        --------
        >>> xy = np.array([[0.0, 0.0], [10e3, 0.0], [0.0, 10e3], [10e3, 10e3], [4e3, 6e3]])
        >>> m = Spline().fit(xy, [1.0, 2.0, 3.0, 4.0, 9.0])
        >>> p, q, c = m.dual_coefficients([[1.0, 2.0, 3.0, 4.0, 9.0]])
        >>> x = np.array([[3e3, 1e3]])
        >>> d2 = ((x[:, None, :] - xy[None]) ** 2).sum(-1)
        >>> dual = _tps(d2.copy()) @ p + d2 @ q + np.hstack([[[1.0]], x]) @ c
        >>> bool(abs(dual[0, 0] - m.predict(x)[0]) < 1e-9)
        True
        """
        self._check_fitted()
        if self.drift_ is not None:
            raise InterpolationError("the spline's dual form is for fits without drift")
        v = np.atleast_2d(np.asarray(values, dtype=float))
        n = self.xy_.shape[0]
        level = v[:, 0]  # as in the fit: solved less one value, put back in the constant
        rhs = np.zeros((n + 3, v.shape[0]))
        rhs[:n] = (v - level[:, None]).T
        coef = scipy.linalg.lu_solve(self.lu_, rhs, check_finite=False)
        coef[n] += level
        s = float(self.scale_)
        p = coef[:n] / s**2
        c = np.vstack([coef[n] - np.asarray(self.shift_) @ coef[n + 1 :] / s,
                       coef[n + 1 :] / s])
        return p, -np.log(s) * p, c

    def _loo_weights(self) -> np.ndarray:
        """Leave-one-out weights in closed form (Rippa 1999): ``I - diag(B)^-1 B``."""
        n = self.xy_.shape[0]
        self._weights(self.xy_[:1], None if self.drift_ is None else self.drift_[:1])
        b = self.cardinal_[:n]  # (A^-1)[:n, :n]
        diag = np.diag(b).copy()
        if np.any(diag == 0):  # pragma: no cover - cannot happen for distinct stations
            raise InterpolationError("spline leave-one-out is undefined for this station set")
        return np.eye(n) - b / diag[:, None]
