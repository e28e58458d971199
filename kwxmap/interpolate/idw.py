"""Inverse-distance weighting (Shepard) with k nearest stations or a search radius."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from ._base import Interpolator, check_number, register

__all__ = ["IDW"]


def _idw_rows(dist: np.ndarray, power: float) -> np.ndarray:
    """Normalised inverse-distance weights for rows of neighbour distances (inf = absent)."""
    with np.errstate(divide="ignore", over="ignore"):
        w = np.where(np.isfinite(dist), 1.0 / np.maximum(dist, 1e-300) ** power, 0.0)
    hit = dist <= 1e-6  # a station (within a micrometre) at the point: take its value
    rows_hit = hit.any(axis=1)
    w[rows_hit] = hit[rows_hit].astype(float)
    total = w.sum(axis=1, keepdims=True)
    zero = np.flatnonzero(total[:, 0] == 0)
    if zero.size:  # d**-power underflowed for every station (a large power): use d / d_min
        sub = dist[zero]
        near = sub.min(axis=1, keepdims=True)
        with np.errstate(invalid="ignore"):
            w[zero] = np.where(np.isfinite(sub), (near / sub) ** power, 0.0)
        total[zero] = w[zero].sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return w / total


@register
class IDW(Interpolator):
    """Inverse-distance weighting: ``sum(w_i v_i) / sum(w_i)`` with ``w_i = d_i**-power``.

    Parameters
    ----------
    power
        Distance exponent (> 0). Default 2.
    k
        Use the ``k`` nearest stations (default 12; ``None`` = all stations).
    radius
        Only stations within ``radius`` metres (optionally capped at ``k``);
        points with no station in range come out NaN.

    Notes
    -----
    Exact at the stations; the field is bounded by the station values, so
    IDW cannot extrapolate a lapse rate or a gradient (use ``elevation=``).

    Examples
    --------
    >>> xy = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 1000.0]])
    >>> m = IDW(power=2, k=None).fit(xy, [0.0, 1.0, 2.0])
    >>> m.predict([[0.0, 0.0], [500.0, 0.0]]).round(3)
    array([0.   , 0.636])
    """

    name = "idw"
    exact = True

    def __init__(self, *, power: float = 2.0, k: int | None = 12, radius: float | None = None):
        self.power = power
        self.k = k
        self.radius = radius

    def _validate(self) -> None:
        check_number("power", self.power, minimum=0, strict=True)
        check_number("k", self.k, minimum=1, integer=True, allow_none=True)
        check_number("radius", self.radius, minimum=0, strict=True, allow_none=True)

    def _fit(self) -> None:
        self.tree_ = cKDTree(self.xy_)

    def _neighbours(self, xy: np.ndarray, exclude_self: bool = False) -> tuple:
        n = self.xy_.shape[0]
        extra = 1 if exclude_self else 0
        k = n if self.k is None else min(int(self.k) + extra, n)
        bound = np.inf if self.radius is None else float(self.radius)
        dist, idx = self.tree_.query(xy, k=k, distance_upper_bound=bound)
        dist, idx = dist.reshape(len(xy), k), idx.reshape(len(xy), k)
        if exclude_self:  # drop the query station itself (its own row index)
            own = idx == np.arange(len(xy))[:, None]
            dist = np.where(own, np.inf, dist)
            idx = np.where(own, n, idx)
        return dist, idx

    def _sparse(self, dist: np.ndarray, idx: np.ndarray) -> sp.csr_matrix:
        n = self.xy_.shape[0]
        w = _idw_rows(dist, float(self.power))
        keep = idx < n
        rows = np.broadcast_to(np.arange(len(idx))[:, None], idx.shape)[keep]
        out = sp.csr_matrix((w[keep], (rows, idx[keep])), shape=(len(idx), n))
        empty = ~keep.any(axis=1)
        if empty.any():  # no station within radius: NaN row (not a silent 0)
            out = out.tolil()
            out[np.flatnonzero(empty), 0] = np.nan
            out = out.tocsr()
        return out

    def _weights(self, xy: np.ndarray, drift: np.ndarray | None) -> sp.csr_matrix:
        return self._sparse(*self._neighbours(xy))

    def _predict(self, xy: np.ndarray, drift: np.ndarray | None) -> np.ndarray:
        # The weights sum to 1 only up to rounding: keep the field within the station
        # range, so a uniform reading maps to exactly that value (one isotherm band).
        out = super()._predict(xy, drift)
        return np.clip(out, self.values_.min(), self.values_.max(), out=out)

    def _loo_weights(self) -> sp.csr_matrix:
        """Leave-one-out weights: row i uses the stations other than i."""
        return self._sparse(*self._neighbours(self.xy_, exclude_self=True))
