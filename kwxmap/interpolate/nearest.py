"""Nearest-station assignment (Voronoi / Thiessen polygons)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from ._base import Interpolator, register

__all__ = ["Nearest"]


@register
class Nearest(Interpolator):
    """Each point takes the value of its nearest station (ties: lowest row).

    Examples
    --------
    >>> xy = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 1000.0]])
    >>> Nearest().fit(xy, [0.0, 1.0, 2.0]).predict([[900.0, 100.0], [10.0, 20.0]])
    array([1., 0.])
    """

    name = "nearest"
    exact = True

    def __init__(self) -> None:
        pass

    def _fit(self) -> None:
        self.tree_ = cKDTree(self.xy_)

    def _onehot(self, idx: np.ndarray) -> sp.csr_matrix:
        m, n = idx.size, self.xy_.shape[0]
        return sp.csr_matrix((np.ones(m), (np.arange(m), idx)), shape=(m, n))

    def _weights(self, xy: np.ndarray, drift: np.ndarray | None) -> sp.csr_matrix:
        _, idx = self.tree_.query(xy, k=1)
        return self._onehot(np.asarray(idx).reshape(-1))

    def _predict(self, xy: np.ndarray, drift: np.ndarray | None) -> np.ndarray:
        _, idx = self.tree_.query(xy, k=1)
        return self.values_[np.asarray(idx).reshape(-1)]

    def _loo_weights(self) -> sp.csr_matrix:
        _, idx = self.tree_.query(self.xy_, k=2)
        return self._onehot(idx[:, 1])
