"""The series engine: one method's weights per missing-station pattern, applied to blocks.

Every way kwxmap makes many maps runs this: :func:`~kwxmap.interpolate_many`
(in memory or per dask block), :func:`~kwxmap.render_batch` through it, and
:func:`~kwxmap.stream_batch` per chunk. Timestamps are grouped by which
stations reported; each pattern is fitted once, with the same method,
parameters and elevation handling as :func:`~kwxmap.interpolate`, and its
weights applied to every timestamp of the pattern. Global kriging and the
thin-plate spline without drift go through their dual form: the
cell-to-station kernel of a block of cells is computed once for every
pattern, and a block of timestamps is one matrix product.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from ..errors import InterpolationError, KwxmapWarning
from ._core import make_estimator
from .elevation import MIN_PER_NETWORK, MIN_STATIONS_PREDICTORS, ElevationModel
from .kriging_system import kriging_semivariance
from .spline import _tps

__all__ = ["Engine", "report_invalid"]

#: Float64 elements per work block (cells x stations or cells x timestamps), 8 MB: a
#: block's few arrays stay within the fixed part of the memory estimate (BASE_BYTES).
_BLOCK_ELEMENTS = 1 << 20


def report_invalid(rows: np.ndarray, time_index: pd.Index, on_invalid: str, why: str) -> None:
    """Raise, warn or stay silent (``on_invalid``) about timestamps without a map."""
    labels = [str(time_index[r]) for r in rows[:5]]
    msg = f"{len(rows)} timestamp(s) cannot be interpolated ({why}): {', '.join(labels)}"
    if on_invalid == "raise":
        raise InterpolationError(
            msg + "; drop them or pass on_invalid='warn' to leave their maps NaN"
        )
    if on_invalid == "warn":
        warnings.warn(msg + "; their maps are NaN", KwxmapWarning, stacklevel=4)



class Engine:
    """Apply per-pattern weights to blocks of timestamps (used eagerly and per dask block)."""

    def __init__(
        self,
        *,
        method: str,
        params: dict[str, Any],
        xy: np.ndarray,
        elev: np.ndarray | None,
        cells: np.ndarray,
        z_cells: np.ndarray | None,
        model: ElevationModel,
        on_invalid: str,
        time_index: pd.Index,
        asos: np.ndarray | None = None,
    ) -> None:
        self.method, self.params = method, params
        self.asos = asos
        self.xy, self.elev = xy, elev
        self.cells, self.z_cells = cells, z_cells
        self.model = model
        self.elevation = model.mode
        self.on_invalid = on_invalid
        self.time_index = time_index
        # drift columns at the stations and at the cells ("drift", "predictors"), else None
        self.drift_st = model.drift(elev, xy, asos)
        self.drift_cells = model.drift(z_cells, cells)  # places asked: AWS sites

    def _drift(self, used: np.ndarray) -> np.ndarray | None:
        """Drift columns at the stations of a pattern (as interpolate() would choose them)."""
        if self.drift_st is None:
            return None
        return self.drift_st[used][:, : self._n_columns(used)]

    def _n_columns(self, used: np.ndarray) -> int:
        few = self.model.mode == "predictors" and used.sum() < MIN_STATIONS_PREDICTORS
        if few:
            return 1
        if self.model.network:  # the ASOS column (last) as interpolate() would choose it
            k = int(np.count_nonzero(self.asos[used]))
            if min(k, int(used.sum()) - k) < MIN_PER_NETWORK:
                return self.drift_st.shape[1] - 1
        return self.drift_st.shape[1]

    def _invalid(self, rows: np.ndarray, first: int, why: str) -> None:
        report_invalid(first + rows, self.time_index, self.on_invalid, why)

    def rates(self, v: np.ndarray, *, first: int = 0) -> np.ndarray:
        """Per-row lapse rates (K/km) (NaN where one cannot be fitted)."""
        return self.model.rates(v, self.elev, self.xy)

    def run(
        self,
        v: np.ndarray,
        flat_cells: np.ndarray,
        shape: tuple[int, int],
        dtype: np.dtype,
        *,
        first: int = 0,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Interpolate the rows of ``v`` (T, N); return the (T, ny, nx) cube and rates."""
        v = np.asarray(v, dtype=np.float64)
        t = v.shape[0]
        out = np.full((t, shape[0] * shape[1]), np.nan, dtype=dtype)
        rates = self.rates(v, first=first)
        flagged = np.zeros(0, dtype=int)
        if self.elevation == "fit":
            flagged = np.flatnonzero(~np.isfinite(rates) & np.isfinite(v).any(axis=1))
            if flagged.size:
                self._invalid(flagged, first, "no lapse rate can be fitted")
        reduced = v if rates is None else self.model.reduce(v, self.elev, rates[:, None])
        finite = np.isfinite(reduced)
        if t == 0:
            return out.reshape(t, *shape), rates
        packed = np.packbits(finite, axis=1)
        patterns, inverse = np.unique(packed, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        too_few = []
        groups = []
        for p in range(patterns.shape[0]):
            rows = np.flatnonzero(inverse == p)
            used = finite[rows[0]]
            if used.sum() < 3:
                too_few.append(rows)
            else:
                groups.append((rows, used))
        if self._dual_ok():
            self._apply_dual(reduced, groups, out, flat_cells, rates)
        else:
            for rows, used in groups:
                self._apply(reduced[np.ix_(rows, used)], rows, used, out, flat_cells, rates)
        if too_few:
            rows = np.setdiff1d(np.concatenate(too_few), flagged)
            rows = rows[np.isfinite(v[rows]).any(axis=1)]
            if rows.size:
                self._invalid(rows, first, "fewer than 3 stations reporting")
        return out.reshape(t, *shape), rates

    def _dual_ok(self) -> bool:
        """Global kriging, or the spline without drift: every pattern shares the kernels."""
        if self.method == "spline":
            return self.drift_st is None
        if self.method != "kriging":
            return False
        k = self.params.get("neighbors")
        return k is None or int(k) >= self.xy.shape[0]

    def _fit(self, vals0: np.ndarray, used: np.ndarray) -> Any:
        est = make_estimator(self.method, self.params)
        est.fit(self.xy[used], vals0, drift=self._drift(used))
        if not est.linear:
            raise InterpolationError(
                f"method {self.method!r} with these parameters depends on the values, so "
                f"interpolate_many cannot share its weights; fix its parameters"
            )
        return est

    def _apply_dual(
        self,
        reduced: np.ndarray,
        groups: list[tuple[np.ndarray, np.ndarray]],
        out: np.ndarray,
        flat_cells: np.ndarray,
        rates: np.ndarray | None,
    ) -> None:
        """All patterns at once: ``sum_j K_j(cells, stations) @ A_j + P(cells) @ C``.

        Kriging: one kernel, the semivariances, and ``P = [1, drift]``; the
        spline: ``phi(d²)`` and ``d²`` on raw metres, and ``P = [1, x, y]``
        (:meth:`~kwxmap.interpolate.spline.Spline.dual_coefficients`). Each
        pattern's coefficients fill its timestamps' columns of ``A_j`` (zero
        for its missing stations, which therefore contribute nothing), so
        the kernels of a block of cells are computed once for every pattern
        and the whole block of timestamps is one matrix product.
        """
        if not groups:
            return
        spline = self.method == "spline"
        n, t = self.xy.shape[0], reduced.shape[0]
        kernels = 2 if spline else 1
        q = 3 if spline else 1 if self.drift_st is None else 1 + self.drift_st.shape[1]
        a_all = np.zeros((kernels, n, t))
        c_all = np.zeros((q, t))
        done = np.zeros(t, dtype=bool)
        variogram = None
        for rows, used in groups:
            vals = reduced[np.ix_(rows, used)]
            est = self._fit(vals[0], used)
            *parts, c = est.dual_coefficients(vals)
            if not spline:
                variogram = est.variogram_
            for j, a in enumerate(parts):
                a_all[j][np.ix_(np.flatnonzero(used), rows)] = a
            c_all[: c.shape[0], rows] = c  # a pattern with fewer drift columns: zeros
            done[rows] = True
        rows = np.flatnonzero(done)
        m = self.cells.shape[0]
        step = max(256, _BLOCK_ELEMENTS // max(n, t))
        for start in range(0, m, step):
            sl = slice(start, min(start + step, m))
            cells = self.cells[sl]
            if spline:
                d2 = cdist(cells, self.xy, "sqeuclidean")
                block = d2 @ a_all[1]
                block += _tps(d2) @ a_all[0]  # in place: d2 is spent
                block += cells @ c_all[1:]
            else:
                d = cdist(cells, self.xy)
                g = kriging_semivariance(variogram, d, out=d)
                block = g @ a_all[0]
                if self.drift_cells is not None:
                    block += self.drift_cells[sl] @ c_all[1:]
            block += c_all[0]  # (cells, T)
            if self.drift_cells is None and rates is not None:
                block = self.model.restore(block, self.z_cells[sl, None], np.nan_to_num(rates))
            if rows.size == t:
                out[:, flat_cells[sl]] = block.T
            else:
                out[np.ix_(rows, flat_cells[sl])] = block.T[rows]

    def _apply(
        self,
        vals: np.ndarray,
        rows: np.ndarray,
        used: np.ndarray,
        out: np.ndarray,
        flat_cells: np.ndarray,
        rates: np.ndarray | None,
    ) -> None:
        est = self._fit(vals[0], used)
        k = None if self.drift_st is None else self._n_columns(used)
        m = self.cells.shape[0]
        width = max(int(used.sum()), len(rows))
        step = max(256, _BLOCK_ELEMENTS // width)
        for start in range(0, m, step):
            sl = slice(start, min(start + step, m))
            cell_drift = None if k is None else self.drift_cells[sl, :k]
            w = est.weights(self.cells[sl], drift=cell_drift)
            block = np.asarray(w @ vals.T)  # (cells, rows); sparse weights give ndarray
            if rates is not None:
                block = self.model.restore(block, self.z_cells[sl, None], rates[rows])
            out[np.ix_(rows, flat_cells[sl])] = block.T
