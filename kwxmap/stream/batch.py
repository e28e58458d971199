"""Years of hourly maps: a streaming, resumable batch engine for one laptop or a dask cluster.

:func:`stream_batch` reads a long table (``time, station_id, temperature_c``)
in chunks of ``chunk_hours`` timestamps, interpolates each chunk and writes
it into one Zarr store as it goes, so memory is bounded by the chunk, not
by the archive:

1. a first pass reads only the time and station columns, fixing the time
   axis and the station set; the store is laid out (CF-1.8, time chunked
   by ``chunk_hours``) before any surface is computed;
2. the driver reads one chunk of rows at a time into a (timestamps x
   stations) matrix — what a task receives;
3. a task (in this process, on a ``dask.distributed`` LocalCluster, or on a
   cluster at ``tcp://HOST:PORT``: one code path) runs the engine of
   :func:`~kwxmap.interpolate_many` on it (timestamps grouped by
   missing-station pattern, each pattern's weights solved once), and writes
   exactly its own Zarr chunk, then a completion marker for it. Two tasks
   never write the same block;
4. ``resume=True`` skips the chunks already marked complete; timestamps
   that cannot be interpolated (fewer than 3 stations) are NaN maps and are
   reported in :attr:`StreamResult.failed`.

Every method, option and result is :func:`~kwxmap.interpolate`'s for each
timestamp (kriging with one variogram pooled over the series, recorded in
the store).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import sys
import time as _time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._extras import require
from ..errors import InputError, KwxmapWarning
from ..grid import make_grid
from ..interpolate._core import (
    Stations,
    _dem_at,
    check_method,
    gaussian_weights,
    make_estimator,
    station_heights_in_dem,
)
from ..interpolate.batch import _station_table
from ..interpolate.elevation import ElevationModel, resolve_elevation
from ..interpolate.engine import Engine
from ..interpolate.memory import memory_left
from ..interpolate.variogram import Variogram, pooled_variogram
from ..options import DEFAULT_ELEVATION, DEFAULT_METHOD
from ..stations import StationRegistry, load_stations
from .store import (
    _cf_layout,
    _open_store,
    _require,
    _stored_hours,
    _summary_path,
    _write_summary,
    write_netcdf_copy,
)
from .tables import _chunks, _sample, _scan, _source
from .tasks import _executor, _Loo, _prepare, _run_chunk, _Shared

__all__ = ["StreamResult", "chunk_hours_for", "stream_batch"]

log = logging.getLogger("kwxmap.stream")

#: Memory for one chunk's surfaces and work arrays when ``chunk_hours`` is not given.
DEFAULT_MEMORY_BUDGET = 512 * 2**20
#: Rows read from the CSV per pandas chunk.
_CSV_ROWS = 200_000


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
        Of which the driver spent preparing chunks (reading rows, leave-one-out
        scores): the part that does not spread over workers.
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
    max_memory: Any = None,
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
        pattern shares its weights (interpolate_many's engine, per chunk).
    value
        The value column and the store's variable name.
    input_format, variable
        For a KMA file: force its format, and pick ``tavg``/``tmin``/``tmax``
        of a daily file (as for :func:`kwxmap.parse_readings`).
    chunk_hours
        Timestamps per chunk (and per Zarr chunk along time); default from
        ``memory_budget`` with :func:`chunk_hours_for`.
    max_memory
        A bound on this process's memory (bytes or ``"2GB"``; CLI
        ``--max-memory``): when given, the chunk's budget is what remains of
        it after what the run holds and one map's work, in place of
        ``memory_budget``.
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
    store = Path(store)
    summary = _summary_path(store, table)
    frames, where = _source(
        table, value, _CSV_ROWS, input_format=input_format, variable=variable
    )
    axis, ids = _scan(frames, where)
    gdf = _station_set(stations, ids, axis)
    grid = make_grid(region, resolution=resolution, crs=crs)
    xy, elev, _, keep, asos = _station_table(gdf, grid, need_elevation=elevation is not None)
    asos = None if asos is None else asos[keep]
    model = model.for_stations(int(keep.sum()), grid.crs, asos=asos)  # the grid's CRS
    if max_memory is not None and not chunk_hours:  # the limit bounds the process
        limit, held, memory_budget = memory_left(grid, method, max_memory=max_memory,
                                                 params=params)
        if memory_budget < 3 * 8 * grid.mask.size:
            raise InputError(
                f"the memory limit of {limit / 2**20:.0f} MiB (--max-memory) is below what one "
                f"hour of a {grid.resolution:g} m store needs besides the {held / 2**20:.0f} MiB "
                "the run holds; raise it or use a coarser resolution")
    hours = (
        int(chunk_hours) if chunk_hours else chunk_hours_for(grid.mask.size, budget=memory_budget)
    )
    if hours < 1:
        raise InputError(f"chunk_hours={chunk_hours!r} must be at least 1")
    kept = _stored_hours(store, value) if resume else None
    if kept is not None and kept != hours:  # one task writes each of the store's chunks
        if max_memory is not None and not chunk_hours and kept > hours:
            raise InputError(
                f"{str(store)!r} was written in chunks of {kept} hours, more than the "
                f"{hours} that fit --max-memory; resume it with a higher limit or start "
                "a new store")
        if chunk_hours:
            warnings.warn(
                f"resuming {str(store)!r} in its own chunks of {kept} hours, not "
                f"{chunk_hours}: the store's chunks are fixed when it is made",
                KwxmapWarning, stacklevel=2)
        hours = kept

    north = grid.mask[::-1]  # the store is north up
    flat_cells = np.flatnonzero(north.ravel())
    cells_all = np.column_stack([a.ravel() for a in np.meshgrid(grid.x, grid.y[::-1])])
    cells = cells_all[flat_cells]
    z_cells = None
    if elevation is not None:
        from ..dem import grid_elevation

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
            params["variogram_parameters"] = pooled_variogram(
                _sample(frames, axis, ids[keep], value), xy[keep],
                None if elev is None else elev[keep],
                model=model, params=params, asos=asos)
    # one engine for the region's cells and the points 1 m beside the stations (the
    # field there gives each station's local anomaly): each pattern is fitted once
    site_z = None if elev is None else elev[keep]
    engine = Engine(
        method=method,
        params=dict(params),
        xy=xy[keep],
        elev=site_z,
        cells=np.vstack([cells, xy[keep] + np.array([1.0, 0.0])]),
        z_cells=None if z_cells is None else np.concatenate([z_cells, site_z]),
        model=model,
        on_invalid="ignore",
        time_index=axis,
        asos=asos,
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
        elev=site_z,
        spread=gaussian_weights(xy[keep], cells),
    )
    loo = _Loo(method, params, xy[keep], None if elev is None else elev[keep], elevation,
               model.lapse_rate, grid.crs, asos) if cv else None
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
            work = _prepare(rows, axis[start:stop], k, start, ids[keep], value, loo)
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
