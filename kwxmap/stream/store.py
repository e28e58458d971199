"""The Zarr store of a stream: its CF-1.8 layout, completion markers, summary, NetCDF copy."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._extras import require
from ..errors import OutputError
from ..io import cf_encoding
from ..kmatime import TIME_ENCODING, cf_time

log = logging.getLogger("kwxmap.stream")


def _require(module: str) -> Any:
    return require(module, extra="scale", what="batch --zarr (stream_batch)")

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
    from ..io.raster import _zarr_format  # Zarr 2 + consolidated: what GDAL and zarr 2/3 read

    layout.to_zarr(str(path), mode="w", compute=False, encoding=encoding, **_zarr_format())
    return np.zeros(layout.sizes["time"], dtype=bool)


def _stored_hours(path: Path, value: str) -> int | None:
    """Return the timestamps per Zarr chunk of an existing store (None: no readable store)."""
    import zarr

    try:
        return int(zarr.open_group(str(path), mode="r")[value].chunks[0])
    except (KeyError, ValueError, OSError, TypeError, IndexError):
        return None  # no store yet, or not one: _open_store says which


def _summary_path(store: Path, table: Any) -> Path:
    """Return ``NAME.summary.csv`` beside ``NAME.zarr``; never the input table."""
    path = store.with_suffix(".summary.csv")
    if not isinstance(table, pd.DataFrame) and path.resolve() == Path(table).resolve():
        raise OutputError(
            f"the summary {str(path)!r} would overwrite the input table; name the store differently"
        )
    return path


def _write_summary(store: Path, path: Path, axis: pd.DatetimeIndex) -> pd.DataFrame:
    import zarr

    from .._atomic import atomic_path

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
    from .._atomic import atomic_path

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
