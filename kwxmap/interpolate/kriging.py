"""Ordinary kriging and kriging with external drift, global or with k neighbours.

The kriging system is PyKrige's (variogram form, ``gamma(0) = 0`` on the
diagonal and wherever a target coincides with a station, so kriging is exact
at the stations), and with the same variogram the predictions and variances
equal ``pykrige.ok.OrdinaryKriging(..., coordinates_type="euclidean")`` and
``pykrige.uk.UniversalKriging(..., drift_terms=["specified"])`` to rounding.

Speed comes from solving the ``(N + 1 + k)`` system **once** (dual form):
``alpha = A^-1 [values; 0]``, so a prediction costs one row of variogram
values and a dot product, ``z(x0) = gamma(x0, stations) @ alpha[:N] +
f(x0) @ alpha[N:]``; targets are processed in chunks of bounded memory. With
``neighbors=k`` each target uses its k nearest stations; targets sharing the
same neighbour set (most of them, on a grid) share one small system, and all
these systems are solved as one stacked :func:`numpy.linalg.solve`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import scipy.linalg
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from ..errors import InterpolationError
from ._base import Interpolator, check_choice, check_number, register
from .kriging_system import (
    ZERO_DISTANCE,
    factor_system,
    kriging_semivariance,
    singular_error,
    solve_stack,
    unique_rows,
)
from .variogram import (
    MODELS,
    EmpiricalVariogram,
    Variogram,
    empirical_variogram,
    fit_variogram,
    make_variogram,
)

__all__ = ["Kriging", "kriging_semivariance"]

#: Float64 elements per chunk of the (targets x stations) work arrays (2 MB: cache-sized).
_CHUNK_ELEMENTS = 1 << 18


@register
class Kriging(Interpolator):
    """Ordinary kriging (OK), or kriging with external drift (KED) when fitted with ``drift``.

    Parameters
    ----------
    variogram_model
        ``"exponential"`` (default), ``"spherical"``, ``"gaussian"``,
        ``"linear"`` or ``"power"``, with PyKrige's parameterisations (see
        :mod:`kwxmap.interpolate.variogram`).
    variogram_parameters
        Fixed variogram parameters in PyKrige's dict or list form (e.g.
        ``{"psill": 4.0, "range": 150_000, "nugget": 0.3}``, or
        ``[sill, range, nugget]``), or a :class:`~kwxmap.interpolate.variogram.Variogram`
        (which brings its own model and overrides ``variogram_model``).
        Default ``None``: fitted automatically (see Notes).
    neighbors
        Use only the ``neighbors`` nearest stations for each target (local
        kriging, like PyKrige's ``n_closest_points``); ``None`` (default) uses
        all stations.
    nlags, max_lag, estimator
        Empirical variogram for the automatic fit: ``nlags`` equal-width
        distance bins up to ``max_lag`` metres (default half the largest
        station distance), ``"matheron"`` (default) or ``"cressie"`` (robust)
        estimator; see :func:`~kwxmap.interpolate.variogram.empirical_variogram`.
    workers
        Threads for predictions on many targets (default ``None``: one per CPU,
        at most 8; ``1``: no threads). Results do not depend on it.

    Attributes
    ----------
    variogram_ : Variogram
        The variogram used (given or fitted).
    empirical_ : EmpiricalVariogram or None
        The empirical variogram the fit used (None when parameters were given).

    Notes
    -----
    **Automatic variogram fit.** Station pairs are binned by distance into
    ``nlags`` equal bins up to ``max_lag``; each bin's semivariance is the
    Matheron mean of ``(z_i - z_j)**2 / 2`` (or Cressie–Hawkins); the model is
    fitted by Cressie's weighted least squares ``sum n_h (gamma_hat/gamma - 1)**2``
    with bounded :func:`scipy.optimize.least_squares`
    (:func:`~kwxmap.interpolate.variogram.fit_variogram`). With an external
    drift the variogram is fitted to the residuals of the ordinary
    least-squares regression of the values on ``[1, drift]`` (the usual
    regression-kriging approximation). A constant field needs no variogram:
    a unit-sill one is used and the prediction is that constant.

    **Default model.** On 20 days of 2020 ASOS daily means (leave-one-out,
    elevation as drift or fitted lapse rate), the fitted spherical, exponential
    and linear models score within 0.3 % RMSE of each other and the gaussian
    about 6 % worse; the exponential is the default because its kriging
    matrix is the best conditioned of the three.

    **KED.** ``fit(xy, values, drift=D)`` adds the ``D`` columns (e.g. station
    elevation) as drift terms next to the unbiasedness constraint, exactly as
    PyKrige's ``UniversalKriging(drift_terms=["specified"])`` does;
    ``predict(xy, drift=D0)`` needs the drift at the targets (e.g. the DEM).
    Drift columns are centred and scaled internally; the solution does not
    change, only the conditioning of the system.

    Kriging with a fixed variogram is linear (``predict == weights @ values``);
    with an automatic fit :attr:`linear` is False because the variogram
    depends on the values.

    Examples
    --------
    >>> xy = np.array([[0.0, 0.0], [10e3, 0.0], [0.0, 10e3], [10e3, 10e3]])
    >>> k = Kriging(variogram_model="linear", variogram_parameters=[1e-4, 0.0])
    >>> k = k.fit(xy, [1.0, 2.0, 3.0, 4.0])
    >>> k.predict([[5e3, 5e3], [0.0, 0.0]])
    array([2.5, 1. ])
    >>> pred, var = k.predict_with_variance([[5e3, 5e3]])
    >>> round(float(var[0]), 6)
    0.56066

    A kriging-variance map on a :class:`~kwxmap.grid.Grid` (the variance does
    not change when a lapse rate is added back, so it also holds for
    ``interpolate(..., elevation="lapse")`` with the same stations):

    >>> from kwxmap.grid import make_grid
    >>> grid = make_grid("서울", resolution=5000)
    >>> stations = grid.cell_xy()[[0, 5, 11, 17]] + 700.0
    >>> k = Kriging(variogram_parameters=[2.0, 30e3, 0.1]).fit(stations, [12.0, 13.5, 11.0, 12.5])
    >>> values = np.full(grid.shape, np.nan)
    >>> values[grid.mask] = k.variance(grid.cell_xy())
    >>> variance = grid.copy(values=values, name="temperature_c_variance")
    >>> bool(np.nanmin(variance.values) >= 0)
    True
    """

    name = "kriging"
    exact = True
    accepts_drift = True

    def __init__(
        self,
        *,
        variogram_model: str = "exponential",
        variogram_parameters: Mapping[str, float] | Sequence[float] | Variogram | None = None,
        neighbors: int | None = None,
        nlags: int = 15,
        max_lag: float | None = None,
        estimator: str = "matheron",
        workers: int | None = None,
    ) -> None:
        self.variogram_model = variogram_model
        self.variogram_parameters = variogram_parameters
        self.neighbors = neighbors
        self.nlags = nlags
        self.max_lag = max_lag
        self.estimator = estimator
        self.workers = workers

    # -- parameters -------------------------------------------------------------------
    def _validate(self) -> None:
        check_choice("variogram_model", self.variogram_model, tuple(MODELS))
        self._given_variogram()
        check_number("neighbors", self.neighbors, minimum=2, integer=True, allow_none=True)
        check_number("nlags", self.nlags, minimum=1, integer=True)
        check_number("max_lag", self.max_lag, minimum=0, strict=True, allow_none=True)
        check_choice("estimator", self.estimator, ("matheron", "cressie"))
        check_number("workers", self.workers, minimum=1, integer=True, allow_none=True)

    def _given_variogram(self) -> Variogram | None:
        vp = self.variogram_parameters
        if vp is None or isinstance(vp, Variogram):
            return vp
        return make_variogram(self.variogram_model, vp)

    @property
    def linear(self) -> bool:
        """True when the variogram is fixed (then ``predict == weights @ values``)."""
        return self.variogram_parameters is not None

    def frozen(self) -> Kriging:
        """Return an unfitted copy with the fitted variogram as a fixed parameter (linear)."""
        self._check_fitted()
        return type(self)(**{**self.get_params(), "variogram_parameters": self.variogram_})

    # -- fitting ----------------------------------------------------------------------
    def _fit(self) -> None:
        xy, z, drift = self.xy_, self.values_, self.drift_
        n = xy.shape[0]
        # Drift columns: the constant (unbiasedness) and the external drifts,
        # centred and scaled for conditioning (the kriging solution is unchanged).
        if drift is None:
            self._drift_shift = np.zeros(0)
            self._drift_scale = np.ones(0)
        else:
            shift = drift.mean(axis=0)
            scale = drift.std(axis=0)
            flat = ~(scale > 0)
            if flat.any():
                raise InterpolationError(
                    f"kriging: drift column(s) {np.flatnonzero(flat).tolist()} are constant "
                    "over the stations, so they cannot be told apart from the mean; drop them"
                )
            self._drift_shift, self._drift_scale = shift, scale
        f = self._drift_matrix(np.ones(n), drift)
        if f.shape[1] > 1 and np.linalg.matrix_rank(f) < f.shape[1]:
            raise InterpolationError(
                "kriging: the drift columns are linearly dependent over the stations; "
                "drop the redundant ones"
            )
        if n <= f.shape[1]:
            raise InterpolationError(
                f"kriging with {f.shape[1] - 1} drift term(s) needs more than "
                f"{f.shape[1]} stations, got {n}"
            )
        self.constant_ = bool(np.ptp(z) == 0)
        self.empirical_: EmpiricalVariogram | None = None
        given = self._given_variogram()
        if given is not None:
            self.variogram_ = given
        else:
            resid = z
            if drift is not None:
                coef, *_ = np.linalg.lstsq(f, z, rcond=None)
                resid = z - f @ coef
            self.empirical_ = empirical_variogram(
                xy,
                resid,
                nlags=int(self.nlags),
                max_lag=self.max_lag,
                estimator=self.estimator,
            )
            self.variogram_ = fit_variogram(self.empirical_, self.variogram_model)
        self._gamma_ss = self._gamma(cdist(xy, xy))
        if not (self._gamma_ss > 0).any():  # zero sill and nugget: every system is singular
            raise singular_error()
        k = None if self.neighbors is None else int(self.neighbors)
        self._local = k is not None and k < n
        if self._local:
            self.tree_ = cKDTree(xy)
        else:
            a = self._system(self._gamma_ss, f)
            rhs = np.zeros(a.shape[0])
            rhs[:n] = z
            self._lu = factor_system(a)
            self._alpha = scipy.linalg.lu_solve(self._lu, rhs, check_finite=False)
            self._a_inv_cache: np.ndarray | None = None

    def _gamma(self, d: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return kriging_semivariance(self.variogram_, d, out=out)

    def dual_coefficients(self, values: Any) -> tuple[np.ndarray, np.ndarray]:
        """Dual-form coefficients for many value vectors at the fitted stations.

        Kriging predictions are ``z(x) = gamma(x) @ a + [1, drift(x)] @ c`` with
        ``gamma(x)`` the semivariances from ``x`` to the stations
        (:func:`kriging_semivariance`), so a block of cells times a block of
        timestamps is one matrix product. Only for global kriging.

        Parameters
        ----------
        values
            ``(T, N)`` finite values at the ``N`` fitted stations.

        Returns
        -------
        a : numpy.ndarray
            ``(N, T)`` station coefficients.
        c : numpy.ndarray
            ``(1 + k, T)`` coefficients of the constant and of the ``k`` drift
            columns, in the drift's own units.

        Examples
        --------
        >>> xy = np.array([[0.0, 0.0], [10e3, 0.0], [0.0, 10e3], [10e3, 10e3]])
        >>> k = Kriging(variogram_parameters=[2.0, 30e3, 0.0]).fit(xy, [1.0, 2.0, 3.0, 4.0])
        >>> a, c = k.dual_coefficients([[5.0, 5.0, 5.0, 5.0]])
        >>> bool(np.abs(a).max() < 1e-12), c.round(12).tolist()
        (True, [[5.0]])
        """
        self._check_fitted()
        if self._local:
            raise InterpolationError(
                "dual_coefficients needs global kriging (neighbors=None or >= the stations)"
            )
        v = np.asarray(values, dtype=float)
        n = self.xy_.shape[0]
        if v.ndim != 2 or v.shape[1] != n or not np.isfinite(v).all():
            raise InterpolationError(
                f"values must be a finite (T, {n}) array for the {n} fitted stations; "
                f"got shape {v.shape}"
            )
        rhs = np.zeros((self._lu[0].shape[0], v.shape[0]))
        rhs[:n] = v.T
        alpha = scipy.linalg.lu_solve(self._lu, rhs, check_finite=False)
        a, c = alpha[:n], alpha[n:].copy()
        if len(self._drift_shift):  # undo the internal centring/scaling of the drift
            c[1:] /= self._drift_scale[:, None]
            c[0] -= (c[1:] * self._drift_shift[:, None]).sum(axis=0)
        return a, c

    def _loo_weights(self) -> np.ndarray:
        """Leave-one-out weights ``(N, N)``: row i predicts station i from the others.

        Global kriging uses Dubrule's (1983) closed form: the error of station
        ``i`` left out is ``alpha_i / (A^-1)_ii``, so row ``i`` is
        ``e_i - (A^-1)_{i,:N} / (A^-1)_ii``. Local kriging solves the N small
        systems (each station's k nearest other stations) as one stack. Both
        equal refitting without the station (same variogram).
        """
        self._check_fitted()
        n = self.xy_.shape[0]
        if not self._local:
            a_inv = self._a_inv[:n, :n]
            w = -a_inv / np.diag(a_inv)[:, None]
            np.fill_diagonal(w, 0.0)
            return w
        k = min(int(self.neighbors), n - 1)
        idx = self.tree_.query(self.xy_, k=k + 1)[1]
        own = idx == np.arange(n)[:, None]
        keep = ~own
        keep[~own.any(axis=1), -1] = False  # (ties) drop the farthest when self not found
        idx = np.sort(idx[keep].reshape(n, k), axis=1)
        p = 1 + len(self._drift_shift)
        fs = np.ones((n, k, p))
        f0 = np.ones((n, p))
        if self.drift_ is not None:
            fs[:, :, 1:] = (self.drift_[idx] - self._drift_shift) / self._drift_scale
            f0[:, 1:] = (self.drift_ - self._drift_shift) / self._drift_scale
        a = np.zeros((n, k + p, k + p))
        a[:, :k, :k] = self._gamma_ss[idx[:, :, None], idx[:, None, :]]
        a[:, :k, k:] = fs
        a[:, k:, :k] = np.swapaxes(fs, 1, 2)
        rhs = np.concatenate([self._gamma_ss[np.arange(n)[:, None], idx], f0], axis=1)
        lam, _ = solve_stack(a, rhs[:, :, None], False)
        w = np.zeros((n, n))
        w[np.arange(n)[:, None], idx] = lam[:, :k]
        return w

    @property
    def _a_inv(self) -> np.ndarray:
        """Inverse of the global kriging matrix (for weights and variances), on first use."""
        if self._a_inv_cache is None:
            eye = np.eye(self._lu[0].shape[0])
            self._a_inv_cache = scipy.linalg.lu_solve(self._lu, eye, check_finite=False)
        return self._a_inv_cache

    def _drift_matrix(self, ones: np.ndarray, drift: np.ndarray | None) -> np.ndarray:
        if drift is None:
            return ones[:, None]
        return np.column_stack([ones, (drift - self._drift_shift) / self._drift_scale])

    @staticmethod
    def _system(gamma: np.ndarray, f: np.ndarray) -> np.ndarray:
        n, p = f.shape
        a = np.zeros((n + p, n + p))
        a[:n, :n] = gamma
        a[:n, n:] = f
        a[n:, :n] = f.T
        return a

    # -- prediction -------------------------------------------------------------------
    def _predict(self, xy: np.ndarray, drift: np.ndarray | None) -> np.ndarray:
        if self.constant_:
            return np.full(xy.shape[0], self.values_[0])
        return self._run(xy, drift, want=("pred",))["pred"]

    def _weights(self, xy: np.ndarray, drift: np.ndarray | None) -> np.ndarray:
        return self._run(xy, drift, want=("weights",))["weights"]

    def variance(self, xy: Any, *, drift: Any = None) -> np.ndarray:
        """Kriging variance (the estimation variance, value units squared) at ``xy``.

        Parameters
        ----------
        xy
            ``(M, 2)`` target coordinates in metres.
        drift
            ``(M, k)`` drift at the targets when fitted with a drift.

        Returns
        -------
        numpy.ndarray
            ``(M,)``; 0 at the stations, growing with the distance to them
            (PyKrige's ``sigmasq``).
        """
        xy, drift = self._check_predict(xy, drift)
        return self._run(xy, drift, want=("var",))["var"]

    def predict_with_variance(self, xy: Any, *, drift: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(prediction, variance)`` at ``xy`` in one pass.

        Parameters
        ----------
        xy
            ``(M, 2)`` target coordinates in metres.
        drift
            ``(M, k)`` drift at the targets when fitted with a drift.

        Returns
        -------
        tuple of numpy.ndarray
            Predictions and kriging variances, both ``(M,)``.
        """
        xy, drift = self._check_predict(xy, drift)
        out = self._run(xy, drift, want=("pred", "var"))
        pred = np.full(xy.shape[0], self.values_[0]) if self.constant_ else out["pred"]
        return pred, out["var"]

    def predict_many(self, xy: Any, values: Any, *, drift: Any = None) -> np.ndarray:
        """Predict at ``xy`` for many value vectors at the fitted stations at once.

        Kriging with the fitted variogram is linear in the values, so this is
        ``weights(xy) @ values.T``, computed in the dual form
        (``alpha = A^-1 [values; 0]`` once, then one product per cell chunk),
        which costs ``O(M N T)`` instead of ``O(M N (N + T))``.

        Parameters
        ----------
        xy
            ``(M, 2)`` target coordinates in metres.
        values
            ``(T, N)`` values at the fitted stations (finite).
        drift
            ``(M, k)`` drift at the targets when fitted with a drift.

        Returns
        -------
        numpy.ndarray
            ``(M, T)`` predictions.

        Examples
        --------
        >>> xy = np.array([[0.0, 0.0], [10e3, 0.0], [0.0, 10e3], [10e3, 10e3]])
        >>> k = Kriging(variogram_parameters=[2.0, 30e3, 0.0]).fit(xy, [1.0, 2.0, 3.0, 4.0])
        >>> k.predict_many([[5e3, 5e3]], [[1.0, 2.0, 3.0, 4.0], [4.0, 4.0, 4.0, 4.0]])
        array([[2.5, 4. ]])
        """
        xy, drift = self._check_predict(xy, drift)
        v = np.asarray(values, dtype=float)
        n = self.xy_.shape[0]
        if v.ndim != 2 or v.shape[1] != n or not np.isfinite(v).all():
            raise InterpolationError(
                f"values must be a finite (T, {n}) array for the {n} fitted stations; "
                f"got shape {v.shape}"
            )
        m, t = xy.shape[0], v.shape[0]
        out = np.empty((m, t))
        if self._local:
            step = max(256, _CHUNK_ELEMENTS // max(n, t))
            for s0 in range(0, m, step):
                sl = slice(s0, min(s0 + step, m))
                w = self._weights(xy[sl], None if drift is None else drift[sl])
                out[sl] = w @ v.T
            return out
        rhs = np.zeros((self._lu[0].shape[0], t))
        rhs[:n] = v.T
        alpha = scipy.linalg.lu_solve(self._lu, rhs, check_finite=False)  # (n + p, T)
        step = max(256, _CHUNK_ELEMENTS // max(n, t))
        for s0 in range(0, m, step):
            sl = slice(s0, min(s0 + step, m))
            d = cdist(xy[sl], self.xy_)
            g = self._gamma(d, out=d)
            f = self._drift_matrix(np.ones(d.shape[0]), None if drift is None else drift[sl])
            out[sl] = g @ alpha[:n] + f @ alpha[n:]
        return out

    def _run(
        self, xy: np.ndarray, drift: np.ndarray | None, want: tuple[str, ...]
    ) -> dict[str, np.ndarray]:
        m, n = xy.shape[0], self.xy_.shape[0]
        out: dict[str, np.ndarray] = {}
        if "pred" in want:
            out["pred"] = np.empty(m)
        if "var" in want:
            out["var"] = np.empty(m)
        if "weights" in want:
            out["weights"] = np.zeros((m, n))
        if m == 0:
            return out
        runner = self._run_local if self._local else self._run_global
        # Local: large chunks so that a neighbour set is solved once for many targets.
        # Global: cache-sized chunks for the elementwise work, 8x larger when a
        # (chunk x N) @ (N x N) product (weights, variance) dominates.
        blas_heavy = not self._local and ("var" in want or "weights" in want)
        budget = _CHUNK_ELEMENTS * (8 if blas_heavy else 1)
        step = 1 << 15 if self._local else max(256, budget // n)
        chunks = [slice(s0, min(s0 + step, m)) for s0 in range(0, m, step)]

        def work(sl: slice) -> None:
            runner(xy[sl], None if drift is None else drift[sl], sl, out)

        # Chunks write disjoint slices; numpy, cdist and the KD-tree release the GIL.
        # The (chunk x N) @ (N x N) products already run on BLAS's own threads.
        threads = 1 if blas_heavy else min(self._threads(), len(chunks))
        if threads > 1:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(work, chunks))
        else:
            for sl in chunks:
                work(sl)
        return out

    def _threads(self) -> int:
        if self.workers is None:
            return min(os.cpu_count() or 1, 8)
        return int(self.workers)

    def _run_global(
        self, xy: np.ndarray, drift: np.ndarray | None, sl: slice, out: dict[str, np.ndarray]
    ) -> None:
        n = self.xy_.shape[0]
        d = cdist(xy, self.xy_)
        zero = d <= ZERO_DISTANCE
        g = self.variogram_.evaluate(d, out=d)
        if zero.any():
            g[zero] = 0.0
        f = self._drift_matrix(np.ones(xy.shape[0]), drift)
        alpha = self._alpha
        if "pred" in out:
            out["pred"][sl] = g @ alpha[:n] + f @ alpha[n:]
        if "var" in out or "weights" in out:
            a_inv = self._a_inv
            lam = g @ a_inv[:n] + f @ a_inv[n:]  # (m, n + p): weights and multipliers
            if "weights" in out:
                out["weights"][sl] = lam[:, :n]
            if "var" in out:
                out["var"][sl] = np.einsum("ij,ij->i", lam[:, :n], g) + np.einsum(
                    "ij,ij->i", lam[:, n:], f
                )

    def _run_local(
        self, xy: np.ndarray, drift: np.ndarray | None, sl: slice, out: dict[str, np.ndarray]
    ) -> None:
        k = int(self.neighbors)
        idx = self.tree_.query(xy, k=k)[1]
        idx.sort(axis=1)  # a neighbour set's key; the distances follow the sorted order
        dist = np.subtract(xy[:, :1], self.xy_[idx, 0])
        dist *= dist
        dy = np.subtract(xy[:, 1:], self.xy_[idx, 1])
        dy *= dy
        dist += dy
        np.sqrt(dist, out=dist)
        sets, inverse = unique_rows(idx)
        # One (k + p) system per distinct neighbour set, solved as a stack.
        u, p = sets.shape[0], 1 + len(self._drift_shift)
        fs = np.ones((u, k, p))
        if self.drift_ is not None:
            fs[:, :, 1:] = (self.drift_[sets] - self._drift_shift) / self._drift_scale
        a = np.zeros((u, k + p, k + p))
        a[:, :k, :k] = self._gamma_ss[sets[:, :, None], sets[:, None, :]]
        a[:, :k, k:] = fs
        a[:, k:, :k] = np.swapaxes(fs, 1, 2)
        need_inv = "var" in out or "weights" in out
        rhs = np.zeros((u, k + p, 1))
        rhs[:, :k, 0] = self.values_[sets]
        alpha, a_inv = solve_stack(a, rhs, need_inv)
        g = self._gamma(dist)
        f = self._drift_matrix(np.ones(xy.shape[0]), drift)
        if "pred" in out:
            al = alpha[inverse]
            out["pred"][sl] = np.einsum("ij,ij->i", g, al[:, :k]) + np.einsum(
                "ij,ij->i", f, al[:, k:]
            )
        if need_inv:
            b = np.concatenate([g, f], axis=1)  # (m, k + p)
            rows = np.arange(xy.shape[0])
            sub = max(256, _CHUNK_ELEMENTS // (k + p) ** 2)
            for s0 in range(0, xy.shape[0], sub):
                r = rows[s0 : s0 + sub]
                lam = np.einsum("ij,ijl->il", b[r], a_inv[inverse[r]])
                if "weights" in out:
                    w = out["weights"][sl]
                    w[r[:, None], idx[r]] = lam[:, :k]
                if "var" in out:
                    out["var"][sl][r] = np.einsum("ij,ij->i", lam, b[r])
