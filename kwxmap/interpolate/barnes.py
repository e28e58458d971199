"""Barnes and Cressman successive-correction analysis (single pass), as defined by MetPy.

Both weight the stations within a search radius ``r`` of each point and
normalise the weights; a point with fewer than ``min_neighbors`` stations in
range is NaN. The definitions follow :func:`metpy.interpolate.inverse_distance_to_points`
and :func:`metpy.interpolate.interpolate_to_points` exactly:

- Barnes: ``w = exp(-d**2 / (kappa * gamma))`` with
  ``kappa = kappa_star * (2 * spacing / pi)**2`` and ``spacing`` the mean
  distance from each station to its nearest neighbour;
- Cressman: ``w = (r**2 - d**2) / (r**2 + d**2)``;
- default search radius ``r = 5 * spacing``.

The in-range (point, station) pairs come from one KD-tree search per chunk of
points and the weighted means from ``numpy.bincount`` (no Python loop over
points), which is what makes these much faster than MetPy on a national grid,
also for dense networks where each point sees a small share of the stations.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from ._base import Interpolator, check_number, register

__all__ = ["Barnes", "Cressman", "average_spacing"]

_POINTS = 1 << 16  # points per KD-tree search (bounds the memory of the pair lists)
_CHUNK = 1 << 17  # point x station pairs per dense chunk (~1 MB of float64)
#: Above this share of the network in range, compute all pairs densely.
_DENSE_SHARE = 0.25


def average_spacing(xy: np.ndarray) -> float:
    """Mean distance from each station to its nearest other station (metres).

    Same as ``metpy.interpolate.tools.average_spacing`` but with a KD-tree.

    Examples
    --------
    >>> average_spacing(np.array([[0.0, 0.0], [3.0, 4.0], [100.0, 0.0]]))
    35.694...
    """
    dist, _ = cKDTree(xy).query(xy, k=2)
    return float(dist[:, 1].mean())


class _RadiusWeights(Interpolator):
    """Shared machinery: normalised weights of the stations within ``search_radius_``."""

    exact = False

    def _fit(self) -> None:
        self.spacing_ = average_spacing(self.xy_)
        r = self.search_radius
        self.search_radius_ = 5.0 * self.spacing_ if r is None else float(r)
        # Share of the network within the radius of a station: when a point
        # sees a large share, all point x station distances from one matrix
        # product are cheaper than a KD-tree search for the pairs in range.
        seen = cKDTree(self.xy_).query_ball_point(
            self.xy_, self.search_radius_, return_length=True
        )
        self.dense_ = bool(np.mean(seen) > _DENSE_SHARE * len(self.xy_))

    def _raw(self, d2: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Unnormalised weights from squared distances (may work in place)."""
        raise NotImplementedError

    def _dense(self, xy: np.ndarray, exclude_self: bool = False):
        """Yield ``(start, w, total, ok)`` per chunk of points, all pairs at once.

        ``w`` holds unnormalised weights (0 out of range), ``total`` their row
        sums and ``ok`` whether a row has ``min_neighbors`` stations in range.
        Squared distances come from one matrix product on centred coordinates.
        """
        n = self.xy_.shape[0]
        r2 = self.search_radius_**2
        centre = self.xy_.mean(axis=0)
        st = self.xy_ - centre
        st_m2 = -2.0 * st.T
        st_n = (st * st).sum(axis=1)
        step = max(1, _CHUNK // max(n, 1))
        for start in range(0, len(xy), step):
            p = xy[start : start + step] - centre
            d2 = p @ st_m2
            d2 += (p * p).sum(axis=1)[:, None]
            d2 += st_n
            np.maximum(d2, 0.0, out=d2)
            inside = d2 <= r2
            if exclude_self:
                rows = np.arange(len(p))
                inside[rows, rows + start] = False
            w = self._raw(d2)
            w *= inside
            total = w.sum(axis=1)
            ok = inside.sum(axis=1) >= self.min_neighbors
            yield start, w, total, ok

    def _pairs(self, xy: np.ndarray, exclude_self: bool = False):
        """Yield ``(start, n, i, j, w, total, ok)`` per chunk of points.

        Only the (point ``i``, station ``j``) pairs within the search radius
        are formed, by a KD-tree search, so the cost grows with the number of
        stations in range rather than with the size of the network. ``w`` are
        the unnormalised weights of those pairs, ``total`` their sum per point
        and ``ok`` whether a point has ``min_neighbors`` stations in range.
        """
        tree = cKDTree(self.xy_)
        for start in range(0, len(xy), _POINTS):
            p = xy[start : start + _POINTS]
            pairs = cKDTree(p).sparse_distance_matrix(
                tree, self.search_radius_, output_type="ndarray"
            )
            i, j, d = pairs["i"], pairs["j"], pairs["v"]
            if exclude_self:
                keep = i + start != j
                i, j, d = i[keep], j[keep], d[keep]
            w = self._raw(d * d)
            total = np.bincount(i, w, minlength=len(p))
            ok = np.bincount(i, minlength=len(p)) >= self.min_neighbors
            yield start, len(p), i, j, w, total, ok

    def _predict(self, xy: np.ndarray, drift: np.ndarray | None) -> np.ndarray:
        out = np.empty(len(xy))
        # The normalised weights sum to 1 only up to rounding: keep the field within
        # the station range, so a uniform reading maps to exactly that value.
        lo, hi = self.values_.min(), self.values_.max()
        if self.dense_:
            for start, w, total, ok in self._dense(xy):
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[start : start + len(w)] = np.where(ok, (w @ self.values_) / total, np.nan)
            return np.clip(out, lo, hi, out=out)
        for start, n, i, j, w, total, ok in self._pairs(xy):
            num = np.bincount(i, w * self.values_[j], minlength=n)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[start : start + n] = np.where(ok, num / total, np.nan)
        return np.clip(out, lo, hi, out=out)

    def _sparse(self, xy: np.ndarray, exclude_self: bool = False) -> sp.csr_matrix:
        n_st = self.xy_.shape[0]
        blocks = []
        if self.dense_:
            for _, w, total, ok in self._dense(xy, exclude_self):
                with np.errstate(invalid="ignore", divide="ignore"):
                    w /= total[:, None]
                w[~ok] = np.nan
                blocks.append(sp.csr_matrix(w))
            return sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, n_st))
        for _, n, i, j, w, total, ok in self._pairs(xy, exclude_self):
            with np.errstate(invalid="ignore", divide="ignore"):
                w = w / total[i]
            block = sp.csr_matrix((w, (i, j)), shape=(n, n_st))
            if not ok.all():  # too few stations in range: the whole row is NaN
                block = block.tolil()
                block[np.flatnonzero(~ok)] = np.nan
                block = block.tocsr()
            blocks.append(block)
        return sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, n_st))

    def _weights(self, xy: np.ndarray, drift: np.ndarray | None) -> sp.csr_matrix:
        return self._sparse(xy)

    def _loo_weights(self) -> sp.csr_matrix:
        """Leave-one-out weights (spacing and radius kept from the full station set)."""
        return self._sparse(self.xy_, exclude_self=True)


@register
class Barnes(_RadiusWeights):
    """Single-pass Barnes analysis with MetPy's definitions.

    Parameters
    ----------
    kappa_star
        Non-dimensional response parameter (MetPy default 5.052); gives
        ``kappa = kappa_star * (2 * spacing / pi)**2`` in m².
    gamma
        Smoothing parameter multiplying kappa (default 0.25, as
        ``metpy.interpolate.interpolate_to_grid``).
    kappa
        Give kappa (m²) directly instead of deriving it from ``kappa_star``.
    search_radius
        Metres; default ``5 * spacing``.
    min_neighbors
        Points with fewer stations in range are NaN (default 3).

    Examples
    --------
    >>> xy = np.array([[0.0, 0.0], [10e3, 0.0], [0.0, 10e3], [10e3, 10e3]])
    >>> m = Barnes().fit(xy, [1.0, 2.0, 3.0, 4.0])
    >>> round(m.spacing_), round(m.kappa_)
    (10000, 204749848)
    >>> m.predict([[5e3, 5e3]])
    array([2.5])
    """

    name = "barnes"

    def __init__(
        self,
        *,
        kappa_star: float = 5.052,
        gamma: float = 0.25,
        kappa: float | None = None,
        search_radius: float | None = None,
        min_neighbors: int = 3,
    ):
        self.kappa_star = kappa_star
        self.gamma = gamma
        self.kappa = kappa
        self.search_radius = search_radius
        self.min_neighbors = min_neighbors

    def _validate(self) -> None:
        check_number("kappa_star", self.kappa_star, minimum=0, strict=True)
        check_number("gamma", self.gamma, minimum=0, strict=True)
        check_number("kappa", self.kappa, minimum=0, strict=True, allow_none=True)
        check_number("search_radius", self.search_radius, minimum=0, strict=True, allow_none=True)
        check_number("min_neighbors", self.min_neighbors, minimum=1, integer=True)

    def _fit(self) -> None:
        super()._fit()
        if self.kappa is None:
            self.kappa_ = float(self.kappa_star) * (2.0 * self.spacing_ / np.pi) ** 2
        else:
            self.kappa_ = float(self.kappa)

    def _raw(self, d2: np.ndarray) -> np.ndarray:
        d2 *= -1.0 / (self.kappa_ * float(self.gamma))
        return np.exp(d2, out=d2)


@register
class Cressman(_RadiusWeights):
    """Single-pass Cressman analysis with MetPy's definition.

    Parameters
    ----------
    search_radius
        Metres; default ``5 * spacing`` (mean nearest-station distance).
    min_neighbors
        Points with fewer stations in range are NaN (default 3).

    Examples
    --------
    >>> xy = np.array([[0.0, 0.0], [10e3, 0.0], [0.0, 10e3], [10e3, 10e3]])
    >>> Cressman(search_radius=20e3).fit(xy, [1.0, 2.0, 3.0, 4.0]).predict([[5e3, 5e3]])
    array([2.5])
    """

    name = "cressman"

    def __init__(self, *, search_radius: float | None = None, min_neighbors: int = 3):
        self.search_radius = search_radius
        self.min_neighbors = min_neighbors

    def _validate(self) -> None:
        check_number("search_radius", self.search_radius, minimum=0, strict=True, allow_none=True)
        check_number("min_neighbors", self.min_neighbors, minimum=1, integer=True)

    def _raw(self, d2: np.ndarray) -> np.ndarray:
        r2 = self.search_radius_**2
        return (r2 - d2) / (r2 + d2)
