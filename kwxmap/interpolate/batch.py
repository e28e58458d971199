"""``interpolate_many()``: many timestamps at a fixed station set, as one series Grid.

The weights of every kwxmap method (IDW, Barnes, Cressman, spline, nearest,
kriging with a fixed variogram) depend on where the stations are, not on what
they measured. So the stations reporting at a timestamp (its *missing-station
pattern*) decide the weight matrix ``W`` (cells x stations), and all the
timestamps sharing that pattern are interpolated by one matrix product
``W @ values.T``, cell chunk by cell chunk (bounded memory). A month of
hourly maps costs little more than one map, and each timestamp gets exactly
what :func:`~kwxmap.interpolate` would give it alone.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely

from .._extras import require
from ..errors import InterpolationError, KwxmapError, KwxmapWarning
from ..grid import Grid, make_grid
from ..options import DEFAULT_ELEVATION, DEFAULT_METHOD
from ._base import check_choice
from ._core import (
    STATION_BUFFER_M,
    Stations,
    _dem_at,
    check_setup,
    fit_predict,
    gaussian_weights,
    make_estimator,
    prepare_stations,
    station_area,
    station_heights_in_dem,
)
from .cv import auto_candidates, choose_method
from .elevation import ElevationModel, resolve_elevation
from .engine import Engine, report_invalid
from .memory import check_memory
from .variogram import Variogram, make_variogram, pooled_variogram

__all__ = ["interpolate_many", "shared_variogram"]

def _require(module: str, extra: str) -> Any:
    return require(module, extra=extra, what="interpolate_many")


def _is_dask(values: Any) -> bool:
    return type(values).__module__.startswith("dask.")


def interpolate_many(
    stations: Any,
    values: Any,
    *,
    times: Sequence[Any] | None = None,
    method: str = DEFAULT_METHOD,
    value: str = "temperature_c",
    resolution: float = 1000.0,
    region: Any = "south-korea",
    crs: Any = 5179,
    elevation: str | None = DEFAULT_ELEVATION,
    dem: Any = None,
    lapse_rate: float | None = None,
    on_invalid: str = "raise",
    dtype: Any = "float64",
    max_memory: Any = None,
    honour_readings: bool = True,
    **params: Any,
) -> Any:
    """Interpolate many timestamps at a fixed station set onto one grid.

    Parameters
    ----------
    stations
        GeoDataFrame of the station set (any CRS), one row per station, with
        ``station_id`` (needed for a long-table ``values``) and, for
        ``elevation``, ``elevation_m``.
    values
        The readings, one of:

        - a ``(T, N)`` array (numpy or **dask**; NaN = missing), columns in the
          order of ``stations``' rows;
        - a long table (DataFrame) with columns ``time``, ``station_id`` and
          ``value``;
        - a wide DataFrame: index = times, columns = station ids.
    times
        ``T`` labels for an array ``values`` (default ``0 .. T-1``); taken
        from the table otherwise.
    method
        Default: the same as :func:`~kwxmap.interpolate`. Any method of
        :data:`~kwxmap.interpolate.METHODS` whose weights do not
        depend on the values (all of them; kriging gets a pooled variogram,
        see Notes). ``"auto"`` maps each timestamp exactly as
        :func:`~kwxmap.interpolate` maps it alone (its own leave-one-out
        comparison and, for kriging, its own variogram), so nothing is shared
        and it costs about one ``interpolate`` per timestamp;
        ``attrs["method_per_time"]``
        names each choice. It needs the values in memory (not dask).
    value
        Name of the output variable (and the value column of a long table).
    resolution, region, crs, elevation, dem, lapse_rate
        As for :func:`~kwxmap.interpolate`: ``elevation="lapse"`` (fixed rate),
        ``"fit"`` (rate fitted per timestamp with
        :func:`~kwxmap.interpolate.elevation.fit_lapse_rate`, stored in the
        ``lapse_rate_k_per_km`` variable), ``"drift"`` (kriging with external
        drift), or None.
    on_invalid
        A timestamp with fewer than 3 reporting stations (or a lapse rate that
        cannot be fitted): ``"raise"`` (default) an InterpolationError naming
        it, ``"warn"``: NaN map and a KwxmapWarning, ``"ignore"``: NaN map.
    dtype
        Output dtype (``"float32"`` halves memory; computation is float64).
    max_memory
        The most memory the process may use (bytes or ``"4GB"``, default half
        the RAM): the estimate for all the timestamps plus what the process
        holds is checked against it before the work; split long series (as
        :func:`~kwxmap.render_batch` does) to stay inside it.
    **params
        Method parameters, as for :func:`~kwxmap.interpolate`.

    Returns
    -------
    Grid
        A series (:attr:`~kwxmap.grid.Grid.time` set): ``values`` ``(time, y,
        x)`` (NaN outside the region), rows south to north as every Grid;
        ``attrs["n_stations"]`` (stations reporting near the region, per
        time), ``attrs["lapse_rate_k_per_km"]`` (per time) with a lapse-rate
        elevation mode, ``attrs["station_ids"]``. ``grid.at(i)`` is timestamp
        ``i`` as a one-time Grid; ``grid.to_dataset()`` the north-up CF
        Dataset (needs xarray). With dask ``values`` the values stay a lazy
        dask array chunked like ``values`` over time.

    Raises
    ------
    InterpolationError
        Bad method or parameters, values not matching the stations, unknown
        station ids, a timestamp that cannot be interpolated (``on_invalid``).
    KwxmapError
        For dask input, dask (``pip install kwxmap[dask]``) is not installed.

    Notes
    -----
    Every pattern of missing stations is handled exactly: the method is
    fitted to the stations reporting at that pattern, so a timestamp equals
    :func:`~kwxmap.interpolate` of that timestamp alone (with the same
    parameters), to rounding.

    **Kriging** needs a variogram that does not depend on the values: give
    ``variogram_parameters=`` (then each timestamp equals ``interpolate``
    exactly), or it is fitted once to the pooled empirical variogram of
    (at most 200 evenly spaced) timestamps, each standardised to zero mean
    and unit variance so that calm and stormy hours weigh alike (with
    ``elevation`` the reduced values, with ``"drift"`` the residuals of
    the per-timestamp elevation regression). Kriging weights do not change
    when a variogram is scaled, so the standardised sill is harmless. The
    fitted variogram is in ``grid.attrs["variogram"]``. With dask values the
    fit reads those timestamps eagerly; pass ``variogram_parameters`` to stay
    fully lazy.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> st = gpd.GeoDataFrame(
    ...     {"station_id": [108, 133, 159, 105]},
    ...     geometry=[Point(126.97, 37.57), Point(127.37, 36.37), Point(129.03, 35.10),
    ...               Point(128.89, 37.75)], crs=4326)
    >>> vals = np.array([[10.0, 12.0, 15.0, 9.0], [11.0, np.nan, 16.0, 8.0]])
    >>> g = interpolate_many(st, vals, method="idw", resolution=50_000, elevation=None)
    >>> g.values.shape[0], g.ntimes, g.attrs["n_stations"].tolist()
    (2, 2, [4, 3])
    """
    lazy = _is_dask(values)
    if lazy:
        _require("dask", "dask")
    check_choice("on_invalid", on_invalid, ("raise", "warn", "ignore"))
    elevation = resolve_elevation(method, elevation)
    model = check_setup(method, params, elevation, lapse_rate, dem)
    if method == "auto" and lazy:
        raise InterpolationError(
            "method='auto' chooses per timestamp from the values, so it needs them in memory; "
            "compute the dask array first or pick a method"
        )
    out_dtype = np.dtype(dtype)
    if out_dtype.kind != "f":
        raise InterpolationError(f"dtype must be a float type, got {dtype!r}")

    grid = make_grid(region, resolution=resolution, crs=crs)
    if not grid.mask.any():
        raise InterpolationError(
            f"no cell centre falls inside the region at resolution {resolution!r} m; use a "
            f"finer resolution"
        )
    xy, elev, ids, keep, asos = _station_table(stations, grid,
                                               need_elevation=elevation is not None)
    matrix, time_index = _values_matrix(values, ids, times, value, lazy=lazy)
    if not lazy:  # a dask series is computed chunk by chunk
        check_memory(grid, method, max_memory=max_memory, n_times=len(time_index), params=params)
    matrix = matrix[:, keep]
    xy = xy[keep]
    elev = None if elev is None else elev[keep]
    asos = None if asos is None else asos[keep]

    cells = grid.cell_xy()
    z_cells = None
    if elevation is not None:
        from ..dem import grid_elevation

        z_cells = grid_elevation(grid, dem=dem)[grid.mask]
        if honour_readings and elev is not None:  # as interpolate() does
            sites = Stations(xy, np.zeros(len(xy)), elev, ids[keep], None, 0, grid.crs)
            z_cells = station_heights_in_dem(
                cells, z_cells, sites, _dem_at(xy, grid.crs, dem, cells, z_cells))

    ny, nx = grid.shape
    flat_cells = np.flatnonzero(grid.mask.ravel())
    n_times = matrix.shape[0]
    setup = dict(xy=xy, elev=elev, cells=cells, z_cells=z_cells, on_invalid=on_invalid,
                 time_index=time_index, honour_readings=honour_readings)
    if method == "auto":
        out = _auto_many(matrix, grid, flat_cells, out_dtype, setup, elevation=elevation,
                         lapse_rate=model.lapse_rate, value=value, ids=ids[keep], asos=asos)
        if elevation is not None:
            out.attrs["dem"] = "shipped" if dem is None else str(dem)
        return out
    params = dict(params)
    model = model.for_stations(xy.shape[0], grid.crs, asos=asos)
    attrs: dict[str, Any] = {}
    if method == "kriging":
        given = params.get("variogram_parameters")
        if given is None:
            variogram = pooled_variogram(matrix, xy, elev, model=model, params=params,
                                          asos=asos)
            params["variogram_parameters"] = variogram
            attrs["variogram_fit"] = "pooled over standardised timestamps"
        elif isinstance(given, Variogram):
            variogram = given
        else:
            variogram = make_variogram(params.get("variogram_model", "exponential"), given)
        attrs["variogram"] = json.dumps({"model": variogram.model, **variogram.as_dict()})
    engine = Engine(method=method, params=params, model=model, asos=asos,
                     **{k: v for k, v in setup.items() if k != "honour_readings"})
    # each station's local anomaly, as interpolate() adds it: the same engine 1 m beside
    # the stations gives the fitted field there, for every timestamp at once
    beside = None
    if honour_readings:
        beside = Engine(method=method, params=params, model=model, xy=xy, elev=elev,
                         cells=xy + np.array([1.0, 0.0]), z_cells=elev, on_invalid="ignore",
                         time_index=time_index, asos=asos)
        spread = gaussian_weights(xy, cells)

    def with_anomalies(v: np.ndarray, out: np.ndarray, first: int) -> np.ndarray:
        if beside is None:
            return out
        base = beside.run(v, np.arange(len(xy)), (1, len(xy)), np.float64, first=first)[0]
        v = np.asarray(v, dtype=np.float64)
        present = np.isfinite(v)  # a reporting station whose field is NaN: anomaly 0
        anomaly = np.nan_to_num(v - base.reshape(len(v), len(xy)))
        num = spread @ np.where(present, anomaly, 0.0).T
        den = np.maximum(spread @ present.T.astype(np.float64), 1.0)
        flat = out.reshape(len(v), -1)
        flat[:, flat_cells] += (num / den).T
        return out

    if lazy:
        import dask.array as da

        arr = matrix.astype(np.float64).rechunk({1: -1})
        offsets = np.cumsum((0,) + arr.chunks[0][:-1])

        def block(v: np.ndarray, block_info: Any = None) -> np.ndarray:
            start = int(offsets[block_info[0]["chunk-location"][0]]) if block_info else 0
            return with_anomalies(
                v, engine.run(v, flat_cells, (ny, nx), out_dtype, first=start)[0], start)

        cube = da.map_blocks(
            block,
            arr,
            dtype=out_dtype,
            chunks=(arr.chunks[0], (ny,), (nx,)),
            drop_axis=1,
            new_axis=[1, 2],
            meta=np.empty((0, 0, 0), dtype=out_dtype),
        )
        finite = da.isfinite(arr)
        n_used = finite.sum(axis=1)
        rates = None
        if elevation == "fit":
            rates = da.map_blocks(
                lambda v, block_info=None: engine.rates(
                    v,
                    first=int(offsets[block_info[0]["chunk-location"][0]]) if block_info else 0,
                ),
                arr,
                dtype=np.float64,
                drop_axis=1,
                meta=np.empty((0,), dtype=np.float64),
            )
    else:
        cube, rates = engine.run(matrix, flat_cells, (ny, nx), out_dtype)
        cube = with_anomalies(matrix, cube, 0)
        n_used = np.isfinite(matrix).sum(axis=1)
    if elevation == "lapse":
        rates = np.full(n_times, model.lapse_rate)

    grid_attrs: dict[str, Any] = {
        "method": method,
        "params": {k: v for k, v in params.items() if k != "variogram_parameters"},
        "elevation": elevation,
        "value": value,
        "n_stations": n_used,
        "station_ids": [i.item() if isinstance(i, np.generic) else i for i in ids[keep]],
        **attrs,
    }
    if rates is not None:
        grid_attrs["lapse_rate_k_per_km"] = rates
    if elevation is not None:  # as interpolate() records it (the map credits a downloaded DEM)
        grid_attrs["dem"] = "shipped" if dem is None else str(dem)
    return grid.copy(values=cube, name=value, attrs=grid_attrs, time=np.asarray(time_index))


def _auto_many(
    matrix: np.ndarray,
    grid: Grid,
    flat_cells: np.ndarray,
    dtype: np.dtype,
    setup: dict[str, Any],
    *,
    elevation: str | None,
    lapse_rate: float | None,
    value: str,
    ids: np.ndarray,
    asos: np.ndarray | None = None,
) -> Grid:
    """``method="auto"`` in batch: each timestamp mapped exactly as ``interpolate`` maps it.

    The comparison (and a kriging candidate's variogram) depends on the
    values, so nothing is shared between timestamps: each one is the
    snapshot ``interpolate`` would make of it alone, whatever else is in the
    batch or how it is chunked.
    """
    candidates = {pair: label for label, pair in auto_candidates(elevation).items()}
    v = np.asarray(matrix, dtype=np.float64)
    t = v.shape[0]
    xy, elev = setup["xy"], setup["elev"]
    cube = np.full((t, grid.shape[0] * grid.shape[1]), np.nan, dtype=dtype)
    rates = np.full(t, np.nan)
    labels = [""] * t
    finite = np.isfinite(v)
    for i in range(t):
        used = finite[i]
        if used.sum() < 3:
            continue
        st = Stations(xy[used], v[i, used], None if elev is None else elev[used], ids[used],
                      None, 0, grid.crs, None if asos is None else asos[used])
        method, chosen, _ = choose_method(st, elevation=elevation, lapse_rate=lapse_rate)
        labels[i] = candidates[(method, chosen)]
        model = ElevationModel(chosen, lapse_rate if chosen == elevation else None)
        pred, rate = fit_predict(make_estimator(method, {}), st, setup["cells"],
                                 setup["z_cells"], model=model,
                                 anomalies=setup["honour_readings"])
        cube[i, flat_cells] = pred
        if rate is not None:
            rates[i] = rate
    few = np.flatnonzero((finite.sum(axis=1) < 3) & finite.any(axis=1))
    if few.size:
        report_invalid(few, setup["time_index"], setup["on_invalid"],
                       "fewer than 3 stations reporting")
    grid_attrs: dict[str, Any] = {
        "method": "auto",
        "method_per_time": np.array(labels, dtype=str),
        "params": {},
        "elevation": elevation,
        "value": value,
        "n_stations": finite.sum(axis=1),
        "station_ids": [i.item() if isinstance(i, np.generic) else i for i in ids],
        "lapse_rate_k_per_km": rates,
    }
    return grid.copy(values=cube.reshape(t, *grid.shape), name=value, attrs=grid_attrs,
                     time=np.asarray(setup["time_index"]))


# -- inputs ----------------------------------------------------------------------------


def _station_table(
    stations: Any, grid: Grid, *, need_elevation: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray, np.ndarray | None]:
    """Project the station set; return xy, elevation, ids, the near-region mask, ASOS flags."""
    if hasattr(stations, "to_geodataframe") and not hasattr(stations, "geometry"):
        stations = stations.to_geodataframe()
    if not hasattr(stations, "geometry") or not hasattr(stations, "columns"):
        raise InterpolationError(
            f"stations must be a GeoDataFrame of the station set, got {type(stations).__name__}"
        )
    geoms = stations.geometry.to_numpy()
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if bad.any():
        raise InterpolationError(
            f"{int(bad.sum())} station(s) have no location (rows "
            f"{np.flatnonzero(bad)[:10].tolist()}); drop them from the station set"
        )
    if len(stations) < 3:
        raise InterpolationError(
            f"the station set has {len(stations)} station(s); need at least 3 to interpolate"
        )
    probe = stations.assign(_kwxmap_probe=0.0)
    st = prepare_stations(probe, value="_kwxmap_probe", crs=grid.crs, need_elevation=need_elevation)
    ids = (
        stations["station_id"].to_numpy()
        if "station_id" in stations.columns
        else stations.index.to_numpy()
    )
    dist = shapely.distance(station_area(grid.region, grid.crs), shapely.points(st.xy))
    keep = ~(dist > STATION_BUFFER_M)
    if not keep.all():
        far = ", ".join(str(i) for i in ids[~keep][:8]) + (" ..." if (~keep).sum() > 8 else "")
        warnings.warn(
            f"{int((~keep).sum())} station(s) more than {STATION_BUFFER_M / 1000:.0f} km from "
            f"the region are ignored: {far}",
            KwxmapWarning,
            stacklevel=3,
        )
    return st.xy, st.elevation, ids, keep, st.asos


def _values_matrix(
    values: Any, ids: np.ndarray, times: Sequence[Any] | None, value: str, *, lazy: bool
) -> tuple[Any, pd.Index]:
    """Return the ``(T, N)`` value matrix (numpy or dask) and the time index."""
    n = len(ids)
    if isinstance(values, pd.DataFrame):
        if times is not None:
            raise InterpolationError("times= is taken from the table; do not pass it too")
        if {"time", "station_id"} <= set(values.columns):
            if value not in values.columns:
                raise InterpolationError(
                    f"the long table has no {value!r} column; pass value= naming the "
                    f"value column (columns: {list(values.columns)!r})"
                )
            check_one_reading_per_time(values)
            wide = values.pivot(index="time", columns="station_id", values=value)
        else:
            wide = values
        known = pd.Index(ids)
        unknown = wide.columns.difference(known)
        if len(unknown):
            raise InterpolationError(
                f"{len(unknown)} station id(s) in values are not in the station set: "
                f"{unknown[:10].tolist()!r}; add them to stations or drop them"
            )
        wide = wide.sort_index().reindex(columns=known)
        try:
            matrix = wide.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise InterpolationError(f"values must be numbers: {exc}") from exc
        return matrix, pd.Index(wide.index, name="time")
    if lazy:
        matrix = values
        if matrix.ndim != 2:
            raise InterpolationError(f"values must be a (T, N) array, got shape {matrix.shape}")
        matrix = matrix.astype(np.float64)
    else:
        try:
            matrix = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InterpolationError(f"values must be numbers: {exc}") from exc
        if matrix.ndim == 1 and matrix.size == n:
            matrix = matrix[None, :]
        if matrix.ndim != 2:
            raise InterpolationError(f"values must be a (T, N) array, got shape {matrix.shape}")
    if matrix.shape[1] != n:
        raise InterpolationError(
            f"values have {matrix.shape[1]} columns but there are {n} stations; the columns "
            f"must follow the rows of stations"
        )
    t = matrix.shape[0]
    if times is None:
        index = pd.RangeIndex(t, name="time")
    else:
        index = pd.Index(times, name="time")
        if len(index) != t:
            raise InterpolationError(f"times has {len(index)} labels but values has {t} rows")
    return matrix, index


def check_one_reading_per_time(
    rows: pd.DataFrame, error: type[KwxmapError] = InterpolationError
) -> None:
    """Raise ``error`` naming the first (time, station_id) pair read twice."""
    dup = rows.duplicated(["time", "station_id"])
    if dup.any():
        first = rows.loc[dup, ["time", "station_id"]].iloc[0].tolist()
        raise error(
            f"{int(dup.sum())} duplicate (time, station_id) rows, e.g. {first!r}; keep one "
            f"reading per station and time"
        )


# -- pooled variogram ----------------------------------------------------------------------


def shared_variogram(
    stations: Any,
    values: Any,
    *,
    times: Sequence[Any] | None = None,
    value: str = "temperature_c",
    region: Any = "south-korea",
    resolution: float = 1000.0,
    crs: Any = 5179,
    elevation: str | None = DEFAULT_ELEVATION,
    lapse_rate: float | None = None,
    **params: Any,
) -> Variogram:
    """Return the variogram :func:`interpolate_many` fits kriging to for this series.

    Fitted once to up to 200 timestamps spread over ``values`` (standardised
    and pooled). A batch split in time chunks passes it to every chunk
    (``variogram_parameters=``), so the maps do not depend on the chunking.
    Other keywords (``method``, ``dem``, ``max_memory`` ...) are ignored.
    """
    params = {k: v for k, v in params.items() if k not in ("method", "dem", "max_memory")}
    elevation = resolve_elevation("kriging", elevation)
    model = check_setup("kriging", params, elevation, lapse_rate, None)
    grid = make_grid(region, resolution=resolution, crs=crs)
    xy, elev, ids, keep, asos = _station_table(stations, grid,
                                               need_elevation=elevation is not None)
    matrix, _ = _values_matrix(values, ids, times, value, lazy=_is_dask(values))
    asos = None if asos is None else asos[keep]
    return pooled_variogram(matrix[:, keep], xy[keep], None if elev is None else elev[keep],
                             model=model.for_stations(int(keep.sum()), grid.crs, asos=asos),
                             params=params, asos=asos)
