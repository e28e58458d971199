"""Years of hourly maps: a streaming, resumable batch engine for one laptop or a dask cluster.

:func:`stream_batch` reads a long table (``time, station_id, temperature_c``)
in chunks of ``chunk_hours`` timestamps, interpolates each chunk and writes
it into one Zarr store as it goes, so memory is bounded by the chunk, not
by the archive:

1. a first pass reads only the time and station columns, fixing the time
   axis and the station set; the store is laid out (CF-1.8, time chunked
   by ``chunk_hours``) before any surface is computed;
2. the driver reads one chunk of rows at a time, groups its timestamps by
   missing-station pattern and solves each pattern's spline system once
   (an LRU cache keeps the factorisations, so a pattern that persists over
   many chunks, such as a station out for a week, is solved once). What a
   task receives is a small coefficient matrix (stations x timestamps);
3. a task (in this process, on a ``dask.distributed`` LocalCluster, or on a
   cluster at ``tcp://HOST:PORT``: one code path) evaluates the
   pattern-independent cell-station kernel block by block, multiplies it
   with the coefficients, and writes exactly its own Zarr chunk, then a
   completion marker for it. Two tasks never write the same block;
4. ``resume=True`` skips the chunks already marked complete; timestamps
   that cannot be interpolated (fewer than 3 stations) are NaN maps and are
   reported in :attr:`StreamResult.failed`.

The thin-plate spline kernel on a pattern's scaled coordinates is a fixed
combination of two pattern-independent matrices (``phi(d^2)`` and ``d^2``
on raw metres), so every pattern in a chunk is one matrix product; other
methods run :func:`~kwxmap.interpolate_many`'s engine per chunk (weights
per pattern and chunk).
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import json
import logging
import math
import os
import sys
import time as _time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg
from scipy.spatial.distance import cdist

from ._extras import require
from .errors import InputError, KwxmapWarning, OutputError
from .grid import make_grid
from .interpolate._core import (
    Stations,
    _dem_at,
    check_elevation,
    check_method,
    gaussian_weights,
    make_estimator,
    station_heights_in_dem,
)
from .interpolate.batch import _Engine, _pooled_variogram, _station_table
from .interpolate.cv import _predictions, loo_weights
from .interpolate.elevation import ElevationModel, resolve_elevation
from .interpolate.variogram import Variogram
from .io import cf_encoding
from .kmatime import TIME_ENCODING, cf_time
from .options import DEFAULT_ELEVATION, DEFAULT_METHOD
from .stations import StationRegistry, load_stations

__all__ = ["StreamResult", "chunk_hours_for", "stream_batch", "write_netcdf_copy"]

log = logging.getLogger(__name__)

#: Memory for one chunk's surfaces and work arrays when ``chunk_hours`` is not given.
DEFAULT_MEMORY_BUDGET = 512 * 2**20
#: Float64 elements per (cells x stations) kernel block on a worker (~32 MB).
_BLOCK_ELEMENTS = 1 << 22
#: Memory for cached pattern factorisations on the driver.
_PATTERN_CACHE_BYTES = 256 * 2**20
#: Rows read from the CSV per pandas chunk.
_CSV_ROWS = 200_000


def _require(module: str) -> Any:
    return require(module, extra="scale", what="batch --zarr (stream_batch)")


@dataclasses.dataclass
class StreamResult:
    """What :func:`stream_batch` wrote.

    Attributes
    ----------
    store
        The Zarr store of the surface series.
    summary
        The per-time summary CSV beside the store, ``NAME.summary.csv`` (mean, min,
        max, stations, LOO RMSE).
    netcdf
        The NetCDF copy, when asked for.
    n_times
        Timestamps in the time axis.
    computed, skipped
        Timestamps computed by this run, and skipped as already complete.
    failed
        ``(time, message)`` for every timestamp without a surface.
    seconds
        Wall time.
    setup_seconds
        Of which before the first chunk: scanning the table, the grid, the store.
    driver_seconds
        Of which the driver spent preparing chunks (reading rows, solving each new
        missing-station pattern): the part that does not spread over workers.
    patterns
        Missing-station patterns solved.
    """

    store: Path
    summary: Path
    netcdf: Path | None = None
    n_times: int = 0
    computed: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    setup_seconds: float = 0.0
    driver_seconds: float = 0.0
    patterns: int = 0

    def summary_line(self) -> str:
        """One line for a terminal: counts, failures, rate.

        Examples
        --------
        >>> StreamResult(Path("a.zarr"), Path("a.csv"), n_times=4, computed=4,
        ...              seconds=2.0).summary_line()
        '4 timestamps: 4 computed, 0 already complete, 0 failed (2.0 timestamps/s); a.zarr'
        """
        rate = self.computed / self.seconds if self.seconds > 0 else float("nan")
        line = (
            f"{self.n_times} timestamps: {self.computed} computed, {self.skipped} already "
            f"complete, {len(self.failed)} failed ({rate:.1f} timestamps/s); {self.store}"
        )
        shown = "; ".join(f"{t}: {msg}" for t, msg in self.failed[:5])
        more = f" (+{len(self.failed) - 5} more)" if len(self.failed) > 5 else ""
        return line + (f"; failed {shown}{more}" if shown else "")


def chunk_hours_for(n_cells: int, *, budget: int = DEFAULT_MEMORY_BUDGET) -> int:
    """Return the timestamps per chunk that keep one chunk under ``budget`` bytes.

    A chunk holds its float64 surfaces (``n_cells`` each) three times over
    (result, work block, output copy); the answer is clamped to 1..744 (a month).

    Examples
    --------
    >>> chunk_hours_for(400_000)
    55
    >>> chunk_hours_for(1_000)
    744
    """
    return int(min(744, max(1, budget // (3 * 8 * max(1, int(n_cells))))))


# -- reading -----------------------------------------------------------------------------------


def _read_csv(path: Path, columns: list[str], chunksize: int) -> Iterator[pd.DataFrame]:
    try:
        yield from pd.read_csv(path, usecols=columns, chunksize=chunksize, encoding="utf-8")
    except ValueError as exc:  # usecols missing
        raise InputError(
            f"{str(path)!r} needs the columns {columns!r} (a long table "
            f"time,station_id,value): {exc}"
        ) from exc
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read {str(path)!r}: {exc}") from exc


def _times(frame: pd.DataFrame, where: str) -> pd.Series:
    try:
        return pd.to_datetime(frame["time"], format="mixed")
    except (ValueError, TypeError) as exc:
        raise InputError(f"unreadable time in {where}: {exc}; use YYYY-MM-DD HH:MM") from exc


def _is_long_csv(path: Path, value: str) -> bool:
    """Whether ``path`` is a UTF-8 CSV whose header names ``time``, ``station_id``, ``value``."""
    try:
        with path.open(encoding="utf-8-sig") as f:
            header = f.readline(1 << 16)
    except (OSError, UnicodeDecodeError):
        return False
    names = {name.strip().strip('"') for name in header.split(",")}
    return {"time", "station_id", value} <= names


def _read_kma_file(path: Path, input_format: str | None, variable: str) -> pd.DataFrame:
    """Any other input the readers know (a KMA file of many times): one long table, in memory."""
    from .readers import parse_readings

    readings = parse_readings(path.read_bytes(), input_format=input_format, variable=variable)
    if "time" not in readings.columns or readings["time"].isna().all():
        raise InputError(
            f"{str(path)!r} holds readings of one time, not a series; use 'kwxmap map'"
        )
    readings = readings.dropna(subset=["station_id", "time"])
    return readings.sort_values("time", kind="stable").reset_index(drop=True)


def _source(
    table: Any,
    value: str,
    chunksize: int,
    *,
    input_format: str | None = None,
    variable: str = "tavg",
) -> Any:
    """Return a function yielding row chunks of ``table`` (a CSV path or a DataFrame).

    A long CSV (``time,station_id,VALUE``) streams from disk; any other file the
    readers know (an API Hub or portal file of many times) is read whole first.
    """
    if not isinstance(table, pd.DataFrame):
        path = Path(table)
        if not path.is_file():
            raise InputError(f"input table {str(path)!r} does not exist or is not a file")
        if input_format in (None, "table") and _is_long_csv(path, value):
            return (lambda columns: _read_csv(path, columns, chunksize)), repr(str(path))
        table = _read_kma_file(path, input_format, variable)
    missing = {"time", "station_id", value} - set(table.columns)
    if missing:
        raise InputError(f"the table has no {sorted(missing)!r} column(s)")

    def frames(columns: list[str]) -> Iterator[pd.DataFrame]:
        for start in range(0, len(table), chunksize):
            yield table.iloc[start : start + chunksize][columns]

    return frames, "the table"


def _scan(frames: Any, where: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """First pass: the sorted time axis and the station ids; times must not go back."""
    times: list[np.ndarray] = []
    ids: set[int] = set()
    last = None
    row = 0
    for frame in frames(["time", "station_id"]):
        t = _times(frame, where)
        if t.isna().any():
            bad = int(np.flatnonzero(t.isna().to_numpy())[0]) + row
            raise InputError(f"row {bad + 1} of {where} has no time; drop it or fill it in")
        stamp = t.to_numpy()
        back = np.flatnonzero(np.diff(stamp) < np.timedelta64(0))
        if back.size or (last is not None and stamp.size and stamp[0] < last):
            at = row + (int(back[0]) + 1 if back.size else 0)
            raise InputError(
                f"times in {where} go back at row {at + 1} ({pd.Timestamp(stamp[at - row])}); "
                f"sort the table by time (e.g. `sort -t, -k1,1`) before a streaming batch"
            )
        if stamp.size:
            last = stamp[-1]
            times.append(np.unique(stamp))
        try:
            ids.update(pd.to_numeric(frame["station_id"], downcast=None).astype(int).tolist())
        except (ValueError, TypeError) as exc:
            raise InputError(f"station_id in {where} must be KMA numbers: {exc}") from exc
        row += len(frame)
    if not times:
        raise InputError(f"{where} has no rows")
    axis = pd.DatetimeIndex(np.unique(np.concatenate(times)), name="time")
    return axis, np.array(sorted(ids), dtype=np.int64)


def _chunks(
    frames: Any, where: str, axis: pd.DatetimeIndex, hours: int, value: str
) -> Iterator[tuple[int, pd.DataFrame]]:
    """Second pass: yield ``(k, rows)`` for chunk ``k`` = ``axis[k*hours:(k+1)*hours]``."""
    carry: pd.DataFrame | None = None
    k = 0
    n_chunks = math.ceil(len(axis) / hours)
    for frame in frames(["time", "station_id", value]):
        frame = frame.assign(time=_times(frame, where))
        carry = frame if carry is None else pd.concat([carry, frame], ignore_index=True)
        while k < n_chunks - 1:
            boundary = axis[(k + 1) * hours]
            cut = int(np.searchsorted(carry["time"].to_numpy(), boundary.to_datetime64()))
            if cut == len(carry):
                break
            yield k, carry.iloc[:cut]
            carry = carry.iloc[cut:].reset_index(drop=True)
            k += 1
    if carry is not None:
        yield k, carry


# -- the store -----------------------------------------------------------------------------------


def _cf_layout(
    grid: Any, axis: pd.DatetimeIndex, *, value: str, hours: int, dtype: str, attrs: dict
) -> Any:
    """Return the lazy CF-1.8 Dataset of the store: north up, time chunked by ``hours``.

    Times are KST and stored in UTC, days with their bounds (:func:`kmatime.cf_time`).
    """
    import dask.array as da
    import pyproj
    import xarray as xr

    ny, nx = grid.shape
    n = len(axis)
    y = np.asarray(grid.y)[::-1]
    x = np.asarray(grid.x)
    lon, lat = pyproj.Transformer.from_crs(grid.crs, 4326, always_xy=True).transform(
        *np.meshgrid(x, y)
    )
    cf = grid.crs.to_cf()
    cf["crs_wkt"] = cf["spatial_ref"] = grid.crs.to_wkt()
    cf["long_name"] = "coordinate reference system"
    # _CRS: where GDAL's Zarr driver (3.4+) and so QGIS look for the CRS
    field_attrs = {"grid_mapping": "spatial_ref", "coordinates": "lat lon", "long_name": value,
                   "_CRS": {"wkt": cf["crs_wkt"]}}
    if value.endswith("_c"):
        field_attrs.update(standard_name="air_temperature", units="degC")

    def per_time(dt: str, fill: Any = np.nan) -> Any:
        return da.full((n,), fill, dtype=dt, chunks=hours)

    def summary(long_name: str) -> tuple:
        return ("time",), per_time("float64"), {"long_name": long_name, "units": "degC"}

    data = {
        value: (
            ("time", "y", "x"),
            da.full((n, ny, nx), np.nan, dtype=dtype, chunks=(hours, ny, nx)),
            field_attrs,
        ),
        "n_stations": (("time",), per_time("int32", 0), {"long_name": "stations reporting"}),
        "mean_c": summary("grid mean"),
        "min_c": summary("grid minimum"),
        "max_c": summary("grid maximum"),
        "loo_rmse_c": summary("leave-one-out RMSE at the stations"),
        "complete": (
            ("time",),
            per_time("int8", 0),
            {"long_name": "1 once the chunk holding this time is written"},
        ),
    }
    time_coords, bounds = cf_time(axis)
    data.update(bounds)
    coords = {
        **time_coords,
        "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m", "axis": "Y"}),
        "x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m", "axis": "X"}),
        "lon": (("y", "x"), lon, {"standard_name": "longitude", "units": "degrees_east"}),
        "lat": (("y", "x"), lat, {"standard_name": "latitude", "units": "degrees_north"}),
        "spatial_ref": ((), np.int32(0), cf),
    }
    return xr.Dataset(data, coords=coords, attrs={"Conventions": "CF-1.8", **attrs})


def _open_store(path: Path, layout: Any, *, resume: bool) -> np.ndarray:
    """Create the store (or check a resumed one); return the per-time completion flags."""
    import zarr

    if path.exists() and not resume:
        raise OutputError(
            f"{str(path)!r} exists; pass --resume to continue it, or remove it to start again"
        )
    if path.exists():
        try:
            group = zarr.open_group(str(path), mode="r")
            times = np.asarray(group["time"][:])
            shape = group[next(iter(layout.data_vars))].shape
            flags = np.asarray(group["complete"][:]) == 1
        except (KeyError, ValueError, OSError) as exc:
            raise OutputError(
                f"{str(path)!r} is not a kwxmap stream store ({exc}); remove it or choose "
                f"another path"
            ) from exc
        want = layout[next(iter(layout.data_vars))].shape
        if tuple(shape) != tuple(want) or len(times) != layout.sizes["time"]:
            raise OutputError(
                f"{str(path)!r} holds a {tuple(shape)} series but this batch makes {want}; "
                f"resume with the same table and grid options, or write a new store"
            )
        return flags
    if not path.parent.is_dir():  # a store inside a new output folder: create that folder
        if not path.parent.parent.is_dir():
            raise OutputError(f"cannot create {str(path)!r}: its parent folder does not exist")
        path.parent.mkdir()
    encoding = {name: {"_FillValue": None} for name in layout.coords if name != "spatial_ref"}
    encoding["time"].update(TIME_ENCODING)
    if "time_bnds" in layout:
        encoding["time_bnds"] = {"_FillValue": None, **TIME_ENCODING}
    encoding["complete"] = {"_FillValue": None}
    encoding["n_stations"] = {"_FillValue": None}
    from .io.raster import _zarr_format  # Zarr 2 + consolidated: what GDAL and zarr 2/3 read

    layout.to_zarr(str(path), mode="w", compute=False, encoding=encoding, **_zarr_format())
    return np.zeros(layout.sizes["time"], dtype=bool)


# -- shared state and tasks -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Shared:
    """What every task needs, sent to each worker once (scatter)."""

    store: str
    value: str
    dtype: str
    shape: tuple[int, int]
    flat_cells: np.ndarray  # cells inside the region, in the north-up raster
    cells: np.ndarray  # (M, 2) metres
    z_cells: np.ndarray | None  # (M,) metres, with elevation
    xy: np.ndarray  # (N, 2) station metres
    engine: Any  # interpolate_many's engine for methods without the kernel path
    elev: np.ndarray | None = None  # (N,) station heights, with elevation
    beside: Any = None  # the engine 1 m beside the stations (engine path)
    spread: Any = None  # (M, N) Gaussian weights of the station anomalies


@dataclasses.dataclass(frozen=True)
class _Work:
    """One chunk: its place in the time axis and its pattern coefficients."""

    k: int
    start: int
    phi: np.ndarray | None  # (N, T) coefficients of phi(d2) (spline), else None
    d2: np.ndarray | None  # (N, T) coefficients of d2
    poly: np.ndarray | None  # (3, T): constant, x, y
    rates: np.ndarray | None  # (T,) lapse rates (K/km) to restore, or None
    values: np.ndarray | None  # (T, N) readings, for the engine path
    valid: np.ndarray  # (T,) bool: a surface exists
    n_stations: np.ndarray  # (T,)
    loo_rmse: np.ndarray  # (T,)


def _surfaces(shared: _Shared, work: _Work) -> np.ndarray:
    """Return the chunk's surfaces on the region's cells, (T, M) float64.

    As :func:`kwxmap.interpolate` draws them: with each station's local anomaly
    (its reading minus the field 1 m beside it) spread over about 2 km.
    """
    if work.phi is None:
        out = _engine_at(shared.engine, work, shared.cells.shape[0])
    else:
        out = _kernel_at(shared, work, shared.cells, shared.z_cells)
    if shared.spread is None:
        return out
    beside = shared.xy + np.array([1.0, 0.0])
    base = (_engine_at(shared.beside, work, len(beside)) if work.phi is None
            else _kernel_at(shared, work, beside, shared.elev))
    v = np.asarray(work.values, dtype=np.float64)
    present = np.isfinite(v)
    anomaly = np.where(present, np.nan_to_num(v - base), 0.0)
    den = np.maximum(shared.spread @ present.T.astype(np.float64), 1.0)
    return out + (shared.spread @ anomaly.T / den).T


def _engine_at(engine: Any, work: _Work, m: int) -> np.ndarray:
    cube, _ = engine.run(work.values, np.arange(m), (1, m), np.dtype("float64"),
                         first=work.start)
    return cube.reshape(cube.shape[0], -1)


def _kernel_at(shared: _Shared, work: _Work, points: np.ndarray, z: Any) -> np.ndarray:
    """Return the chunk's spline surfaces at ``points`` (ground heights ``z``), (T, M)."""
    t = work.phi.shape[1]
    m, n = points.shape[0], shared.xy.shape[0]
    out = np.empty((t, m))
    step = max(256, _BLOCK_ELEMENTS // max(n, t))
    from .interpolate.spline import _tps

    for start in range(0, m, step):
        sl = slice(start, min(start + step, m))
        d2 = cdist(points[sl], shared.xy, "sqeuclidean")
        block = d2 @ work.d2
        block += _tps(d2) @ work.phi
        block += work.poly[0]
        block += points[sl] @ work.poly[1:]
        if work.rates is not None:
            block -= z[sl, None] * work.rates / 1000.0
        out[:, sl] = block.T
    return out


def _run_chunk(shared: _Shared, work: _Work) -> int:
    """Compute one chunk and write it (data, then its completion flags); return its size."""
    import zarr

    flat = _surfaces(shared, work)
    flat[~work.valid] = np.nan
    t = flat.shape[0]
    ny, nx = shared.shape
    cube = np.full((t, ny * nx), np.nan, dtype=shared.dtype)
    cube[:, shared.flat_cells] = flat
    with np.errstate(all="ignore"):
        valid = work.valid
        mean = np.where(valid, flat.mean(axis=1) if flat.size else np.nan, np.nan)
        lo = np.where(valid, flat.min(axis=1, initial=np.inf), np.nan)
        hi = np.where(valid, flat.max(axis=1, initial=-np.inf), np.nan)
    group = zarr.open_group(shared.store, mode="r+")
    region = slice(work.start, work.start + t)
    group[shared.value][region] = cube.reshape(t, ny, nx)
    group["n_stations"][region] = work.n_stations
    group["mean_c"][region] = mean
    group["min_c"][region] = lo
    group["max_c"][region] = hi
    group["loo_rmse_c"][region] = work.loo_rmse
    group["complete"][region] = np.ones(t, dtype=np.int8)  # after the data: the marker
    return t


# -- the driver's per-pattern solves ------------------------------------------------------------


class _Patterns:
    """Spline factorisations per missing-station pattern, each solved once (LRU-bounded)."""

    def __init__(self, xy: np.ndarray, params: dict[str, Any]) -> None:
        self.xy, self.params = xy, params
        n = xy.shape[0] + 3
        self.capacity = max(4, _PATTERN_CACHE_BYTES // (2 * 8 * n * n))
        self.cache: collections.OrderedDict[bytes, Any] = collections.OrderedDict()
        self.solved = 0
        self.inverse: np.ndarray | None = None
        self.scale, self.shift = 1.0, np.zeros(2)

    def _downdate(self, used: np.ndarray, vals: np.ndarray) -> np.ndarray | None:
        """Solve a pattern from the inverse of the all-station system (None: fit it instead).

        A thin-plate spline with smoothing does not depend on the coordinate scaling
        (the kernel's ``d2 log s`` part is annihilated by the polynomial constraints), so
        every pattern is the all-station system less the rows and columns of its missing
        stations: with ``G`` its inverse and ``m`` the missing stations, the solution is
        ``y - G[:, m] G[m, m]^-1 y[m]`` for ``y = G b``: a k x k solve for k missing stations.
        """
        n = self.xy.shape[0]
        miss = np.flatnonzero(~used)
        if miss.size > n // 4:
            return None
        if self.inverse is None:
            full = make_estimator("spline", self.params).fit(self.xy, np.zeros(n))
            self.inverse = scipy.linalg.lu_solve(full.lu_, np.eye(n + 3), check_finite=False)
            self.scale, self.shift = float(full.scale_), np.asarray(full.shift_, dtype=float)
        g = self.inverse
        idx = np.flatnonzero(used)
        y = g[:, idx] @ vals.T
        if miss.size:
            try:
                z = scipy.linalg.solve(g[np.ix_(miss, miss)], y[miss], check_finite=False)
            except (np.linalg.LinAlgError, ValueError):
                return None
            y -= g[:, miss] @ z
        self.solved += 1
        return np.concatenate([y[idx], y[n:]])

    def get(self, used: np.ndarray, sample: np.ndarray) -> Any:
        key = np.packbits(used).tobytes()
        est = self.cache.get(key)
        if est is not None:
            self.cache.move_to_end(key)
            return est
        from .interpolate._api import make_estimator

        est = make_estimator("spline", self.params)
        est.fit(self.xy[used], sample)
        self.solved += 1
        self.cache[key] = est
        if len(self.cache) > self.capacity:
            self.cache.popitem(last=False)
        return est

    def coefficients(
        self, reduced: np.ndarray, cv: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return ``phi``, ``d2``, ``poly`` coefficients, validity and LOO RMSE of a chunk."""
        t, n = reduced.shape
        phi, d2 = np.zeros((n, t)), np.zeros((n, t))
        poly = np.zeros((3, t))
        valid = np.zeros(t, dtype=bool)
        rmse = np.full(t, np.nan)
        finite = np.isfinite(reduced)
        if t == 0:
            return phi, d2, poly, valid, rmse
        patterns, inverse = np.unique(np.packbits(finite, axis=1), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for p in range(patterns.shape[0]):
            rows = np.flatnonzero(inverse == p)
            used = finite[rows[0]]
            m = int(used.sum())
            if m < 3:
                continue
            vals = reduced[np.ix_(rows, used)]  # (Tg, m)
            level = vals[:, 0]
            idx = np.flatnonzero(used)
            coef = None if cv else self._downdate(used, vals - level[:, None])
            if coef is None:
                est = self.get(used, vals[0])
                rhs = np.zeros((m + 3, len(rows)))
                rhs[:m] = (vals - level[:, None]).T
                coef = scipy.linalg.lu_solve(est.lu_, rhs, check_finite=False)
                s, shift = float(est.scale_), np.asarray(est.shift_, dtype=float)
            else:
                s, shift = self.scale, self.shift
            coef[m] += level
            # phi(d2 / s^2) = (phi(d2) - log(s) * d2) / s^2 for phi(d2) = d2 log(d2) / 2
            phi[np.ix_(idx, rows)] = coef[:m] / s**2
            d2[np.ix_(idx, rows)] = -math.log(s) * coef[:m] / s**2
            poly[0, rows] = coef[m] - shift @ coef[m + 1 :] / s
            poly[1:, rows] = coef[m + 1 :] / s
            valid[rows] = True
            if cv:
                loo = est._loo_weights()
                err = loo @ vals.T - vals.T
                rmse[rows] = np.sqrt(np.mean(err**2, axis=0))
        return phi, d2, poly, valid, rmse


# -- executors: one code path for this process, local workers and a cluster ---------------------


class _Inline:
    """The executor for ``scheduler=None``: runs each task at once, in this process."""

    workers = 1

    def scatter(self, obj: Any) -> Any:
        return obj

    def submit(self, fn: Any, *args: Any) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        try:
            fut.set_result(fn(*args))
        except Exception as exc:  # reported per chunk by the caller
            fut.set_exception(exc)
        return fut

    def close(self) -> None:
        pass


class _Dask:
    """``local[:N]`` (a LocalCluster of N single-threaded workers) or ``tcp://HOST:PORT``."""

    def __init__(self, scheduler: str) -> None:
        _require("distributed")
        from distributed import Client, LocalCluster

        self.cluster = None
        if scheduler.startswith("local"):
            n = scheduler.partition(":")[2] or str(os.cpu_count() or 1)
            if not n.isdigit() or int(n) < 1:
                raise InputError(
                    f"scheduler={scheduler!r}: the worker count must be a positive number, "
                    f"e.g. 'local:4'"
                )
            self.cluster = LocalCluster(
                n_workers=int(n),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise InputError(
                    f"cannot reach the dask scheduler {scheduler!r}: {exc}; start it with "
                    f"`dask scheduler` or use scheduler='local:N'"
                ) from exc
        self.workers = max(1, len(self.client.scheduler_info()["workers"]))

    def scatter(self, obj: Any) -> Any:
        return self.client.scatter(obj, broadcast=True)

    def submit(self, fn: Any, *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _executor(scheduler: str | None) -> Any:
    if scheduler is None or scheduler in ("", "none", "sync"):
        return _Inline()
    if scheduler.startswith("local") or scheduler.startswith("tcp://"):
        return _Dask(scheduler)
    raise InputError(
        f"scheduler={scheduler!r} is not valid; use 'local', 'local:N' or 'tcp://HOST:PORT'"
    )


# -- the batch ------------------------------------------------------------------------------------


def _summary_path(store: Path, table: Any) -> Path:
    """Return ``NAME.summary.csv`` beside ``NAME.zarr``; never the input table."""
    path = store.with_suffix(".summary.csv")
    if not isinstance(table, pd.DataFrame) and path.resolve() == Path(table).resolve():
        raise OutputError(
            f"the summary {str(path)!r} would overwrite the input table; name the store differently"
        )
    return path


def _station_set(stations: Any, ids: np.ndarray, axis: pd.DatetimeIndex) -> Any:
    """Return the stations of ``ids`` as a GeoDataFrame (the bundled registry when None).

    The registry's stations stand where they stood on the series' first day
    (one site per station for the whole store); stations that moved during
    the series are named in a warning.
    """
    if stations is None:
        first, last = axis[0].date().isoformat(), axis[-1].date().isoformat()
        registry = load_stations("all")
        known = [registry.get(int(i)) for i in ids if int(i) in registry]
        then = [s.nearest(first) for s in known]
        moved = [a.station_id for a, s in zip(then, known, strict=True)
                 if (a.lon, a.lat) != ((b := s.nearest(last)).lon, b.lat)]
        if moved:
            warnings.warn(
                f"{len(moved)} station(s) moved during the series ({moved[:10]}); the store "
                f"places them at their sites of {first} (`kwxmap batch` without --zarr "
                "places each map at its day's sites)", KwxmapWarning, stacklevel=3)
        stations = StationRegistry(then).to_geodataframe()
    if hasattr(stations, "to_geodataframe") and not hasattr(stations, "geometry"):
        stations = stations.to_geodataframe()
    known = pd.Index(stations["station_id"].astype(int))
    unknown = pd.Index(ids).difference(known)
    if len(unknown):
        raise InputError(
            f"{len(unknown)} station id(s) of the table are not in the station set: "
            f"{unknown[:10].tolist()!r}; add them to stations= or drop their rows"
        )
    at = stations.set_index(stations["station_id"].astype(int)).loc[ids]
    return at.reset_index(drop=True).assign(station_id=ids)


def _progress(total: int, enabled: bool | None) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="h", desc="kwxmap batch", file=sys.stderr)


def stream_batch(
    table: Any,
    store: str | os.PathLike[str],
    *,
    stations: Any = None,
    method: str = DEFAULT_METHOD,
    elevation: str | None = DEFAULT_ELEVATION,
    lapse_rate: float | None = None,
    resolution: float = 1000.0,
    region: Any = "south-korea",
    crs: Any = 5179,
    dem: Any = None,
    value: str = "temperature_c",
    input_format: str | None = None,
    variable: str = "tavg",
    chunk_hours: int | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    scheduler: str | None = None,
    resume: bool = False,
    cv: bool = False,
    netcdf: str | os.PathLike[str] | None = None,
    dtype: str = "float32",
    progress: bool | None = None,
    **params: Any,
) -> StreamResult:
    """Interpolate every timestamp of a long table into a Zarr store, chunk by chunk.

    Parameters
    ----------
    table
        A CSV path (columns ``time``, ``station_id`` and ``value``, sorted by
        time; streamed from disk) or such a DataFrame, or any multi-timestamp
        file the readers know (API Hub ``sfcdd``/``sfctm2``, portal
        ``OBS_*_TIM``/``OBS_*_DD``, ...; read whole, then streamed to the store).
    store
        The Zarr store to write (a folder ending ``.zarr``); must not exist
        unless ``resume``.
    stations
        The station set (GeoDataFrame or registry) with every ``station_id``
        of the table; default the bundled registry (ASOS and AWS).
    method, elevation, lapse_rate, resolution, region, crs, dem, **params
        As for :func:`~kwxmap.interpolate` (the same default, kriging with the
        elevation predictors), but ``method="auto"`` (chosen per timestamp) is
        not available here. Kriging's variogram, unless given, is fitted once
        to up to 200 timestamps spread over the table (standardised, pooled:
        as :func:`~kwxmap.interpolate_many` does), so every timestamp of a
        pattern shares its weights; ``"spline"`` without drift uses the
        shared-kernel path; the others run interpolate_many's engine per chunk.
    value
        The value column and the store's variable name.
    input_format, variable
        For a KMA file: force its format, and pick ``tavg``/``tmin``/``tmax``
        of a daily file (as for :func:`kwxmap.parse_readings`).
    chunk_hours
        Timestamps per chunk (and per Zarr chunk along time); default from
        ``memory_budget`` with :func:`chunk_hours_for`.
    scheduler
        None: this process. ``"local"``/``"local:N"``: a LocalCluster of N
        workers; ``"tcp://HOST:PORT"``: an existing dask cluster whose workers
        see ``store`` at the same path.
    resume
        Continue ``store``: the chunks already marked complete are skipped.
    cv
        Store the leave-one-out RMSE at the stations per time.
    netcdf
        Also copy the series to this CF NetCDF file at the end.
    dtype
        Stored dtype of the surfaces.
    progress
        A tqdm bar on stderr (default: when stderr is a terminal); a log line
        per chunk otherwise.

    Returns
    -------
    StreamResult
        With the per-time summary CSV written beside the store.

    Raises
    ------
    InputError
        An unreadable or unsorted table, unknown stations, bad options.
    OutputError
        The store exists (without ``resume``) or does not match the batch.

    Examples
    --------
    >>> import tempfile, geopandas as gpd
    >>> from shapely.geometry import Point
    >>> st = gpd.GeoDataFrame(
    ...     {"station_id": [1, 2, 3, 4], "elevation_m": [10.0, 50.0, 5.0, 300.0]},
    ...     geometry=[Point(126.97, 37.57), Point(127.37, 36.37), Point(129.03, 35.10),
    ...               Point(128.89, 37.75)], crs=4326)
    >>> rows = pd.DataFrame({"time": np.repeat(pd.date_range("2024-08-01", periods=3,
    ...                                                      freq="h"), 4),
    ...                      "station_id": [1, 2, 3, 4] * 3,
    ...                      "temperature_c": [25, 27, 29, 22, 24, 26, np.nan, 21, 23, 25, 27, 20]})
    >>> out = Path(tempfile.mkdtemp()) / "aug.zarr"
    >>> res = stream_batch(rows, out, stations=st, resolution=20_000, chunk_hours=2)
    >>> res.computed, res.failed
    (3, [])
    >>> pd.read_csv(res.summary)["n_stations"].tolist()
    [4, 3, 4]
    """
    _require("xarray")
    _require("dask")
    _require("zarr")
    if netcdf is not None:
        require("h5netcdf", extra="xarray", what="the NetCDF copy (--netcdf)")
    started = _time.perf_counter()
    if method == "auto":
        raise InputError(
            "stream_batch (batch --zarr) has no method='auto', which chooses per timestamp; "
            f"use the default ({DEFAULT_METHOD}) or another method"
        )
    check_method(method, allow_auto=False)
    make_estimator(method, params)
    if elevation == "none":
        elevation = None
    elevation = resolve_elevation(method, elevation)
    model = ElevationModel(elevation, lapse_rate)
    kernel = method == "spline" and not model.has_drift  # the shared-kernel path
    store = Path(store)
    summary = _summary_path(store, table)
    frames, where = _source(
        table, value, _CSV_ROWS, input_format=input_format, variable=variable
    )
    axis, ids = _scan(frames, where)
    gdf = _station_set(stations, ids, axis)
    grid = make_grid(region, resolution=resolution, crs=crs)
    xy, elev, _, keep = _station_table(gdf, grid, need_elevation=elevation is not None)
    hours = (
        int(chunk_hours) if chunk_hours else chunk_hours_for(grid.mask.size, budget=memory_budget)
    )
    if hours < 1:
        raise InputError(f"chunk_hours={chunk_hours!r} must be at least 1")

    north = grid.mask[::-1]  # the store is north up
    flat_cells = np.flatnonzero(north.ravel())
    cells_all = np.column_stack([a.ravel() for a in np.meshgrid(grid.x, grid.y[::-1])])
    cells = cells_all[flat_cells]
    z_cells = None
    if elevation is not None:
        from .dem import grid_elevation

        z_cells = grid_elevation(grid, dem=dem)[::-1].ravel()[flat_cells]
        if elev is not None:  # the DEM near each station at its surveyed height
            sites = Stations(xy[keep], np.zeros(int(keep.sum())), elev[keep], ids[keep], None,
                             0, grid.crs)
            z_cells = station_heights_in_dem(
                cells, z_cells, sites, _dem_at(xy[keep], grid.crs, dem, cells, z_cells))
    params = dict(params)
    if method == "kriging" and params.get("variogram_parameters") is None:
        with warnings.catch_warnings():  # a sampled hour of one station adds nothing
            warnings.simplefilter("ignore", RuntimeWarning)
            params["variogram_parameters"] = _pooled_variogram(
                _sample(frames, axis, ids[keep], value), xy[keep],
                None if elev is None else elev[keep],
                model=model.for_stations(int(keep.sum()), grid.crs), params=params)
    engine = None
    if not kernel:
        engine = _Engine(
            method=method,
            params=dict(params),
            xy=xy[keep],
            elev=None if elev is None else elev[keep],
            cells=cells,
            z_cells=z_cells,
            model=model.for_stations(int(keep.sum()), grid.crs),  # predictors in the grid's CRS
            on_invalid="ignore",
            time_index=axis,
        )
    layout = _cf_layout(
        grid,
        axis,
        value=value,
        hours=hours,
        dtype=dtype,
        attrs={
            "title": f"{value} by {method} from KMA station observations",
            "history": f"{pd.Timestamp.now(tz='UTC'):%Y-%m-%dT%H:%M:%SZ} written by "
                       "kwxmap.stream_batch",
            "references": "Korea Meteorological Administration (KMA) observations, "
                          "https://data.kma.go.kr",
            "method": method,
            "elevation": str(elevation),
            **({"variogram": json.dumps({"model": params["variogram_parameters"].model,
                                         **params["variogram_parameters"].as_dict()})}
               if isinstance(params.get("variogram_parameters"), Variogram) else {}),
            "source": "kwxmap.stream_batch",
            "chunk_hours": hours,
        },
    )
    done = _open_store(store, layout, resume=resume)
    shared = _Shared(
        store=str(store),
        value=value,
        dtype=dtype,
        shape=grid.shape,
        flat_cells=flat_cells,
        cells=cells,
        z_cells=z_cells,
        xy=xy[keep],
        engine=engine,
        elev=None if elev is None else elev[keep],
        beside=None if engine is None else _Engine(
            method=method, params=dict(params), xy=xy[keep],
            elev=None if elev is None else elev[keep],
            cells=xy[keep] + np.array([1.0, 0.0]),
            z_cells=None if elev is None else elev[keep],
            model=model.for_stations(int(keep.sum()), grid.crs), on_invalid="ignore",
            time_index=axis),
        spread=gaussian_weights(xy[keep], cells),
    )
    patterns = _Patterns(xy[keep], params) if kernel else None
    loo = _Loo(method, params, xy[keep], None if elev is None else elev[keep], elevation,
               model.lapse_rate, grid.crs) if cv and not kernel else None
    result = StreamResult(store=store, summary=summary, n_times=len(axis))
    executor = _executor(scheduler)
    bar = _progress(len(axis), progress)
    try:
        handle = executor.scatter(shared)
        pending: collections.deque = collections.deque()
        result.setup_seconds = _time.perf_counter() - started
        window = 2 * executor.workers
        for k, rows in _chunks(frames, where, axis, hours, value):
            start, stop = k * hours, min((k + 1) * hours, len(axis))
            if done[start:stop].all():
                result.skipped += stop - start
                if bar is not None:
                    bar.update(stop - start)
                continue
            tick = _time.perf_counter()
            work = _prepare(
                rows,
                axis[start:stop],
                k,
                start,
                ids[keep],
                value,
                model,
                elev if elev is None else elev[keep],
                xy[keep],
                patterns,
                cv,
                loo,
            )
            result.driver_seconds += _time.perf_counter() - tick
            pending.append((k, start, stop, executor.submit(_run_chunk, handle, work)))
            while len(pending) >= window:
                _collect(pending.popleft(), result, axis, bar)
        while pending:
            _collect(pending.popleft(), result, axis, bar)
    finally:
        if bar is not None:
            bar.close()
        executor.close()
    if patterns is not None:
        result.patterns = patterns.solved
        log.info("%d missing-station pattern(s) solved", patterns.solved)
    frame = _write_summary(store, result.summary, axis)
    no_map = (frame["complete"] == 1) & frame["mean_c"].isna()
    result.failed += [
        (str(t), f"{n} station(s) reported; a map needs at least 3")
        for t, n in zip(frame.index[no_map], frame["n_stations"][no_map], strict=True)
    ]
    result.failed.sort()
    if netcdf is not None:
        result.netcdf = write_netcdf_copy(store, netcdf)
    result.seconds = _time.perf_counter() - started
    return result


def _sample(frames: Any, axis: pd.DatetimeIndex, ids: np.ndarray, value: str) -> np.ndarray:
    """Read the readings of up to 200 timestamps spread over the table: (T, N) by ``ids``.

    The timestamps :func:`~kwxmap.interpolate.batch._pooled_variogram` fits
    kriging's shared variogram to (a pass over the table that keeps only them).
    """
    picks = axis[np.unique(np.linspace(0, len(axis) - 1, min(len(axis), 200)).round()
                           .astype(int))]
    kept = []
    for frame in frames(["time", "station_id", value]):
        frame = frame.assign(time=pd.to_datetime(frame["time"], errors="coerce"))
        kept.append(frame[frame["time"].isin(picks)])
    rows = pd.concat(kept, ignore_index=True)
    try:
        wide = rows.assign(station_id=rows["station_id"].astype(int)).pivot_table(
            index="time", columns="station_id", values=value, aggfunc="first")
        return wide.reindex(index=picks, columns=ids).to_numpy(dtype=float)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{value} values must be numbers: {exc}") from exc


class _Loo:
    """Leave-one-out RMSE per timestamp on the engine path (``cv=True``).

    Exactly :func:`~kwxmap.cross_validate`'s closed form with the batch's
    shared parameters (kriging: the pooled variogram): the weights depend on
    which stations reported, not on their values, so they are kept per
    missing-station pattern (LRU-bounded).
    """

    def __init__(self, method: str, params: dict[str, Any], xy: np.ndarray,
                 elev: np.ndarray | None, elevation: str | None, lapse_rate: float | None,
                 crs: Any) -> None:
        self.method, self.params, self.xy, self.elev, self.crs = method, params, xy, elev, crs
        self.elevation = elevation
        self.rate = check_elevation(elevation, lapse_rate)
        self.cache: collections.OrderedDict[bytes, np.ndarray] = collections.OrderedDict()

    def _weights(self, used: np.ndarray) -> np.ndarray:
        key = np.packbits(used).tobytes()
        if key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        xy, n = self.xy[used], int(used.sum())
        drift = None
        if self.elevation in ("drift", "predictors"):
            drift = ElevationModel(self.elevation).for_stations(n, self.crs).drift(
                self.elev[used], xy)
        w = np.asarray(loo_weights(make_estimator(self.method, self.params), xy,
                                   np.zeros(n), drift=drift))
        self.cache[key] = w
        if len(self.cache) > max(4, _PATTERN_CACHE_BYTES // max(w.nbytes, 1)):
            self.cache.popitem(last=False)
        return w

    def rmse(self, v: np.ndarray) -> np.ndarray:
        """Return the leave-one-out RMSE of each row of ``v`` (T, N); NaN under 4 stations."""
        out = np.full(len(v), np.nan)
        for t, row in enumerate(v):
            used = np.isfinite(row)
            if used.sum() < 4:
                continue
            obs = row[used]
            if self.elevation == "fit":  # rates refitted per fold: no shared weights
                st = Stations(self.xy[used], obs, self.elev[used], np.arange(used.sum()),
                              None, 0, self.crs)
                pred = _predictions(self.method, self.params, st, None, elevation="fit",
                                    lapse_rate=None)
            else:
                w = self._weights(used)
                pred = w @ obs
                if self.elevation == "lapse":
                    z = self.elev[used]
                    pred = pred + self.rate / 1000.0 * (w @ z - z)
            out[t] = float(np.sqrt(np.nanmean((pred - obs) ** 2)))
        return out


def _prepare(
    rows: pd.DataFrame,
    times: pd.DatetimeIndex,
    k: int,
    start: int,
    ids: np.ndarray,
    value: str,
    model: Any,
    elev: np.ndarray | None,
    xy: np.ndarray,
    patterns: _Patterns | None,
    cv: bool,
    loo: _Loo | None = None,
) -> _Work:
    """Do the driver's share of a chunk: the value matrix and its pattern coefficients."""
    from .interpolate.batch import check_one_reading_per_time

    check_one_reading_per_time(rows, InputError)
    try:
        wide = rows.assign(station_id=rows["station_id"].astype(int)).pivot(
            index="time", columns="station_id", values=value
        )
        v = wide.reindex(index=times, columns=ids).to_numpy(dtype=float)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{value} values must be numbers: {exc}") from exc
    n_stations = np.isfinite(v).sum(axis=1)
    rates = model.rates(v, elev, xy)
    if patterns is None:
        return _Work(
            k,
            start,
            None,
            None,
            None,
            None,
            v,
            n_stations >= 3,
            n_stations,
            np.full(len(times), np.nan) if loo is None else loo.rmse(v),
        )
    reduced = v if rates is None else model.reduce(v, elev, rates[:, None])
    phi, d2, poly, valid, rmse = patterns.coefficients(reduced, cv)
    if rates is not None:
        valid &= np.isfinite(rates)
    return _Work(k, start, phi, d2, poly, rates, v, valid, n_stations, rmse)


def _collect(item: tuple, result: StreamResult, axis: pd.DatetimeIndex, bar: Any) -> None:
    k, start, stop, fut = item
    try:
        fut.result()
        result.computed += stop - start
    except Exception as exc:  # a chunk that failed is reported and stays incomplete
        result.failed += [(str(t), f"chunk {k} failed: {exc}") for t in axis[start:stop]]
    if bar is not None:
        bar.update(stop - start)
    else:
        log.info("chunk %d (%s .. %s) done", k, axis[start], axis[stop - 1])


def _write_summary(store: Path, path: Path, axis: pd.DatetimeIndex) -> pd.DataFrame:
    import zarr

    from ._atomic import atomic_path

    group = zarr.open_group(str(store), mode="r")
    cols = ["n_stations", "mean_c", "min_c", "max_c", "loo_rmse_c", "complete"]
    frame = pd.DataFrame({c: np.asarray(group[c][:]) for c in cols}, index=axis)
    frame.index.name = "time"
    with atomic_path(path) as tmp:
        frame.round(6).to_csv(tmp, encoding="utf-8")
    return frame


def write_netcdf_copy(store: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """Copy a stream store to one CF NetCDF-4 file, chunk by chunk (atomic).

    Parameters
    ----------
    store
        A store written by :func:`stream_batch`.
    path
        The ``.nc`` file to write.

    Returns
    -------
    Path
        ``path``.
    """
    xr = _require("xarray")
    from ._atomic import atomic_path

    require("h5netcdf", extra="xarray", what="the NetCDF copy (--netcdf)")
    path = Path(path)
    ds = xr.open_zarr(str(store), consolidated=False)
    for var in ds.variables.values():
        var.encoding = {}  # the store's chunks and compressor mean nothing to HDF5
        var.attrs.pop("_CRS", None)  # GDAL reads the NetCDF grid mapping
    encoding = cf_encoding(ds)
    for name, enc in encoding.items():  # the store's precision, zlib-compressed
        if "dtype" in enc and name in ds.data_vars and ds[name].dtype.kind == "f":
            enc["dtype"] = ds[name].dtype
    with atomic_path(path) as tmp:
        try:
            ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
        except (OSError, RuntimeError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
            raise OutputError(f"cannot write NetCDF {str(path)!r}: {reason}") from exc
    return path
