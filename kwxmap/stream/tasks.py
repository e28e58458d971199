"""The work of a stream: chunk surfaces, pattern solves, scores, and where they run.

A chunk's surfaces come from the engine :func:`~kwxmap.interpolate_many` runs;
the leave-one-out scores from shared weights; the executors are this process or dask.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import logging
import os
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..interpolate._core import (
    Stations,
    check_elevation,
    make_estimator,
)
from ..interpolate.cv import _predictions, loo_weights
from ..interpolate.elevation import ElevationModel
from .store import _require

log = logging.getLogger("kwxmap.stream")

#: Memory for cached leave-one-out weights on the driver.
_PATTERN_CACHE_BYTES = 256 * 2**20

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
    engine: Any  # the series engine on the region's cells, then 1 m beside each station
    elev: np.ndarray | None = None  # (N,) station heights, with elevation
    spread: Any = None  # (M, N) Gaussian weights of the station anomalies


@dataclasses.dataclass(frozen=True)
class _Work:
    """One chunk: its place in the time axis and its readings."""

    k: int
    start: int
    values: np.ndarray  # (T, N) readings
    valid: np.ndarray  # (T,) bool: a surface exists
    n_stations: np.ndarray  # (T,)
    loo_rmse: np.ndarray  # (T,)


def _surfaces(shared: _Shared, work: _Work) -> np.ndarray:
    """Return the chunk's surfaces on the region's cells, (T, M) float64.

    As :func:`kwxmap.interpolate` draws them: with each station's local anomaly
    (its reading minus the field 1 m beside it) spread over about 2 km.
    """
    m = shared.cells.shape[0]
    both = _engine_at(shared.engine, work, m + shared.xy.shape[0])
    out, base = both[:, :m], both[:, m:]
    if shared.spread is None:
        return out
    v = np.asarray(work.values, dtype=np.float64)
    present = np.isfinite(v)
    anomaly = np.where(present, np.nan_to_num(v - base), 0.0)
    den = np.maximum(shared.spread @ present.T.astype(np.float64), 1.0)
    return out + (shared.spread @ anomaly.T / den).T


def _engine_at(engine: Any, work: _Work, m: int) -> np.ndarray:
    cube, _ = engine.run(work.values, np.arange(m), (1, m), np.dtype("float64"),
                         first=work.start)
    return cube.reshape(cube.shape[0], -1)


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


class _Loo:
    """Leave-one-out RMSE per timestamp on the engine path (``cv=True``).

    Exactly :func:`~kwxmap.cross_validate`'s closed form with the batch's
    shared parameters (kriging: the pooled variogram): the weights depend on
    which stations reported, not on their values, so they are kept per
    missing-station pattern (LRU-bounded).
    """

    def __init__(self, method: str, params: dict[str, Any], xy: np.ndarray,
                 elev: np.ndarray | None, elevation: str | None, lapse_rate: float | None,
                 crs: Any, asos: np.ndarray | None = None) -> None:
        self.method, self.params, self.xy, self.elev, self.crs = method, params, xy, elev, crs
        self.asos = asos
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
            asos = None if self.asos is None else self.asos[used]
            drift = ElevationModel(self.elevation).for_stations(n, self.crs, asos=asos).drift(
                self.elev[used], xy, asos)
        w = loo_weights(make_estimator(self.method, self.params), xy, np.zeros(n), drift=drift)
        w = w.toarray() if hasattr(w, "toarray") else np.asarray(w)  # IDW's are sparse
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
    loo: _Loo | None = None,
) -> _Work:
    """Do the driver's share of a chunk: the value matrix and its scores."""
    from ..interpolate.batch import check_one_reading_per_time

    check_one_reading_per_time(rows, InputError)
    try:
        wide = rows.assign(station_id=rows["station_id"].astype(int)).pivot(
            index="time", columns="station_id", values=value
        )
        v = wide.reindex(index=times, columns=ids).to_numpy(dtype=float)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{value} values must be numbers: {exc}") from exc
    n_stations = np.isfinite(v).sum(axis=1)
    return _Work(k, start, v, n_stations >= 3, n_stations,
                 np.full(len(times), np.nan) if loo is None else loo.rmse(v))
