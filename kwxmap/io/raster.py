"""Rasters: Cloud-Optimized GeoTIFF and CF-1.8 NetCDF/Zarr."""

from __future__ import annotations

import datetime as _dt
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._atomic import (
    atomic_path,
    check_writable,
    exchange,
    output_folder,
    temp_sibling,
)
from .._extras import require
from ..errors import InputError, OutputError
from ..kmatime import TIME_ENCODING, cf_time, to_kst

if TYPE_CHECKING:  # pragma: no cover - typing only

    from ..grid import Grid

_REFERENCES = "Korea Meteorological Administration (KMA) observations, https://data.kma.go.kr"


# --- raster ------------------------------------------------------------------------


def _rasterio() -> Any:
    # rasterio.shutil: CreateCopy to COG
    return require("rasterio", "rasterio.shutil", extra="raster", what="GeoTIFF output")


def _north_up(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(values, y)`` with rows north to south (the one place rows are flipped).

    A grid stores rows south to north (``y`` ascending); GeoTIFF, NetCDF for
    GIS and rioxarray expect the first row to be the northernmost.
    """
    y = np.asarray(grid.y, dtype=float)
    values = np.asarray(grid.values, dtype=float)  # (ny, nx) or (nt, ny, nx)
    if y.size > 1 and y[0] < y[-1]:
        return values[..., ::-1, :], y[::-1]
    return values, y


def _as_grid(surface: Any, what: str) -> Grid:
    from ..grid import Grid, as_grid

    grid = as_grid(surface)
    if not isinstance(grid, Grid):
        raise InputError(
            f"{what} takes a kwxmap Grid or an xarray DataArray, not {type(surface).__name__}"
        )
    return grid


def _variance(grid: Grid) -> Grid | None:
    var = grid.attrs.get("variance")
    return var if var is not None and hasattr(var, "values") else None


def write_geotiff(grid: Grid, path: str | os.PathLike[str]) -> Path:
    """Write a grid as a Cloud-Optimized GeoTIFF, atomically.

    Float32, north up, tiled 256 x 256 with DEFLATE compression and
    overviews (averaged), NaN as the nodata value, the grid's EPSG code
    (5179 by default), band description and units (``degC``). A kriging
    variance (``grid.attrs["variance"]``) is written as a second band.
    Needs rasterio (``pip install kwxmap[raster]``).

    Parameters
    ----------
    grid
        The grid to write.
    path
        Output ``.tif`` file; its folder must exist.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    ImportError
        When rasterio is not installed.
    OutputError
        When the file cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, rasterio
    >>> from kwxmap.grid import make_grid
    >>> g = make_grid("서울", resolution=5000)
    >>> g = g.copy(values=np.where(g.mask, 20.0, np.nan), name="temperature_c")
    >>> out = write_geotiff(g, pathlib.Path(tempfile.mkdtemp()) / "t.tif")
    >>> with rasterio.open(out) as src:
    ...     src.crs.to_epsg(), src.res, src.shape == g.shape, src.units
    (5179, (5000.0, 5000.0), True, ('degC',))
    """
    rasterio = _rasterio()
    grid = _as_grid(grid, "write_geotiff")
    if getattr(grid, "time", None) is not None:
        raise InputError(
            f"a GeoTIFF holds one time and this grid has {grid.time.size}; write one with "
            "grid.at(i), or the series with write_netcdf / write_zarr"
        )
    values, y = _north_up(grid)
    bands = [(values, str(grid.name), "degC" if str(grid.name).endswith("_c") else "")]
    var = _variance(grid)
    if var is not None:
        bands.append((_north_up(var)[0], "kriging variance", "degC2"))
    res = float(grid.resolution)
    x0 = float(np.asarray(grid.x)[0]) - res / 2
    transform = rasterio.Affine(res, 0.0, x0, 0.0, -res, float(y[0]) + res / 2)
    epsg = grid.crs.to_epsg()
    crs = rasterio.crs.CRS.from_epsg(epsg) if epsg else rasterio.crs.CRS.from_wkt(
        grid.crs.to_wkt()
    )
    check_writable(path)
    with atomic_path(path) as tmp:
        plain = tmp.with_name(tmp.stem + ".plain.tif")
        try:
            with rasterio.open(
                plain, "w", driver="GTiff", width=values.shape[1], height=values.shape[0],
                count=len(bands), dtype="float32", crs=crs, transform=transform,
                nodata=float("nan"),
            ) as dst:
                for i, (data, description, units) in enumerate(bands, start=1):
                    dst.write(np.asarray(data, dtype="float32"), i)
                    dst.set_band_description(i, description)
                    if units:
                        dst.set_band_unit(i, units)
                dst.update_tags(
                    AREA_OR_POINT="Area",
                    TIFFTAG_IMAGEDESCRIPTION=_title(grid),
                    TIFFTAG_SOFTWARE=f"kwxmap {_version()}",
                )
                if str(grid.name).endswith("_c"):
                    dst.update_tags(1, standard_name="air_temperature", units="degC")
            rasterio.shutil.copy(
                plain, tmp, driver="COG", COMPRESS="DEFLATE", PREDICTOR="YES",
                BLOCKSIZE=256, OVERVIEWS="AUTO", OVERVIEW_RESAMPLING="AVERAGE",
                RESAMPLING="AVERAGE",
            )
        except rasterio.errors.RasterioError as exc:
            raise OutputError(f"cannot write GeoTIFF {str(path)!r}: {exc}") from exc
        finally:
            plain.unlink(missing_ok=True)
    return Path(path)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kwxmap")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def _title(grid: Any) -> str:
    method = grid.attrs.get("method") if hasattr(grid, "attrs") else None
    what = "Air temperature" if str(getattr(grid, "name", "")).endswith("_c") else "Surface"
    return f"{what} interpolated from KMA stations" + (f" ({method})" if method else "")


def _xarray() -> Any:
    return require("xarray", extra="xarray", what="NetCDF or Zarr output")


def cf_dataset(surface: Any, *, time: Any = None, title: str | None = None) -> Any:
    """Return a CF-1.8 ``xarray.Dataset`` of a grid (one time or a series).

    North up (``y`` descending) with a ``spatial_ref`` grid-mapping
    coordinate from :meth:`pyproj.CRS.to_cf` (rioxarray finds it), 2-D
    ``lon``/``lat`` auxiliary coordinates, ``air_temperature`` in ``degC``
    as float32, the kriging variance when the grid carries one, per-time
    station counts and lapse rates of a series, and
    title/history/source/references attributes. Times (naive, Korea
    Standard Time as KMA reports them) are stored in UTC.

    Parameters
    ----------
    surface
        A :class:`~kwxmap.grid.Grid` (one time or a series) or an xarray
        DataArray grid.
    time
        The observation time of a one-time grid (adds a length-1 ``time``);
        default ``grid.attrs["time"]`` when set.
    title
        The title attribute (default: says what and how).

    Examples
    --------
    >>> import numpy as np
    >>> from kwxmap.grid import make_grid
    >>> g = make_grid("서울", resolution=5000)
    >>> ds = cf_dataset(g.copy(values=np.where(g.mask, 20.0, np.nan), name="temperature_c"))
    >>> ds["temperature_c"].attrs["standard_name"], ds.spatial_ref.attrs["grid_mapping_name"]
    ('air_temperature', 'transverse_mercator')
    >>> bool(ds.y[0] > ds.y[-1])
    True
    """
    import pyproj

    xr = _xarray()
    grid = _as_grid(surface, "cf_dataset")
    series = getattr(grid, "time", None) is not None
    cube, y = _north_up(grid)
    x = np.asarray(grid.x, dtype=float)
    name = str(grid.name)
    var = _variance(grid)
    variance = None if var is None else _north_up(var)[0]
    if series:
        times = np.asarray(grid.time)
    else:
        when = time if time is not None else grid.attrs.get("time")
        times = None if when is None else np.asarray([to_kst(when).to_datetime64()])
        if times is not None:
            cube = cube[None]
            variance = None if variance is None else variance[None]
    dims: tuple[str, ...] = ("y", "x") if times is None else ("time", "y", "x")
    if variance is not None and variance.shape != cube.shape:  # one variance for every time
        variance = np.broadcast_to(variance, cube.shape)
    temperature = name.endswith("_c")
    long_name = "air temperature" if temperature else name
    data_attrs: dict[str, Any] = {"long_name": long_name, "grid_mapping": "spatial_ref"}
    if temperature:
        data_attrs.update(standard_name="air_temperature", units="degC")
    data_vars: dict[str, Any] = {name: (dims, cube.astype("float32"), data_attrs)}
    if variance is not None:
        data_vars[name + "_variance"] = (dims, variance.astype("float32"), {
            "long_name": "kriging variance of " + long_name,
            "units": "K2" if temperature else "1", "grid_mapping": "spatial_ref"})
    n = None if times is None else times.size
    per_time = {"n_stations": ("stations used", "1"),
                "lapse_rate_k_per_km": ("lapse rate used (positive: colder aloft)", "K km-1")}
    for key, (label, units) in per_time.items():
        value = grid.attrs.get(key)
        if n is None or value is None or np.ndim(value) > 1:
            continue
        try:
            vals = np.broadcast_to(np.asarray(value, dtype=float), (n,))
        except (TypeError, ValueError):
            continue
        kind = "int32" if key == "n_stations" else "float32"
        data_vars[key] = (("time",), vals.astype(kind), {"long_name": label, "units": units})
    crs = pyproj.CRS.from_user_input(grid.crs)
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(
        *np.meshgrid(x, y)
    )
    coords: dict[str, Any] = {
        "x": ("x", x, {"standard_name": "projection_x_coordinate", "long_name": "easting",
                       "units": "m", "axis": "X"}),
        "y": ("y", y, {"standard_name": "projection_y_coordinate", "long_name": "northing",
                       "units": "m", "axis": "Y"}),
        "lon": (("y", "x"), lon, {"standard_name": "longitude", "long_name": "longitude",
                                  "units": "degrees_east"}),
        "lat": (("y", "x"), lat, {"standard_name": "latitude", "long_name": "latitude",
                                  "units": "degrees_north"}),
        "spatial_ref": ((), np.int32(0), _grid_mapping(crs)),
    }
    if times is not None:
        time_coords, bounds = cf_time(times)
        coords.update(time_coords)
        data_vars.update(bounds)
    method = grid.attrs.get("method")
    kept = {k: v for k, v in grid.attrs.items()
            if isinstance(v, str | int | float) and not isinstance(v, bool)
            and k not in ("time", "Conventions", "crs", "crs_wkt", "source", "title") + tuple(
                per_time)}
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    attrs = {
        **kept,
        "Conventions": "CF-1.8",
        "title": title or _title(grid),
        "institution": "made with kwxmap from KMA station observations",
        "source": f"kwxmap {_version()}: {method or 'interpolation'} of surface station "
                  "air temperatures",
        "history": f"{now} written by kwxmap {_version()}",
        "references": _REFERENCES,
    }
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    # spatial_ref is the grid mapping (named by grid_mapping), not an auxiliary
    # coordinate: list only lat/lon (CF checkers then ask it for no units)
    for key in ds.data_vars:
        ds[key].encoding["coordinates"] = "lat lon" if "x" in ds[key].dims else None
    return ds


def _grid_mapping(crs: Any) -> dict[str, Any]:
    cf = crs.to_cf()
    cf["crs_wkt"] = crs.to_wkt()
    cf["spatial_ref"] = cf["crs_wkt"]  # GDAL's name for the WKT
    epsg = crs.to_epsg()
    if epsg:
        cf["epsg_code"] = f"EPSG:{epsg}"
    return cf


def cf_encoding(ds: Any, *, zarr: bool = False) -> dict[str, dict[str, Any]]:
    """Return how kwxmap stores a CF dataset: float32 fields, zlib (NetCDF), CF times.

    Coordinates carry no ``_FillValue``; ``time`` and ``time_bnds`` are
    :data:`kwxmap.kmatime.TIME_ENCODING`.
    """
    enc: dict[str, dict[str, Any]] = {}
    for name, var in ds.variables.items():
        if name in ds.coords and name != "spatial_ref":
            enc[name] = {"_FillValue": None}
            if var.ndim == 2 and not zarr:
                enc[name].update(zlib=True, complevel=4)
            if name == "time":
                enc[name].update(TIME_ENCODING)
        elif name == "time_bnds":
            enc[name] = {"_FillValue": None, **TIME_ENCODING}
        elif var.dtype.kind == "f" and name in ds.data_vars:
            enc[name] = {"_FillValue": np.float32(np.nan), "dtype": "float32"}
            if not zarr:
                enc[name].update(zlib=True, complevel=4)
    return enc


def write_netcdf(
    surface: Any, path: str | os.PathLike[str], *, time: Any = None
) -> Path:
    """Write a grid or a series of grids as CF-1.8 NetCDF-4, atomically.

    See :func:`cf_dataset` for the layout; values are float32 with zlib
    compression, coordinates carry no ``_FillValue``, time is encoded as
    ``minutes since 1970-01-01 00:00:00`` (UTC). Needs ``kwxmap[xarray]``.

    Parameters
    ----------
    surface
        A :class:`~kwxmap.grid.Grid` (one time or a series, e.g. from
        :func:`~kwxmap.interpolate_many`) or an xarray DataArray grid.
    path
        Output ``.nc`` file.
    time
        Observation time of a single grid.

    Returns
    -------
    pathlib.Path
        The written path.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, xarray as xr
    >>> from kwxmap.grid import make_grid
    >>> g = make_grid("서울", resolution=5000)
    >>> g = g.copy(values=np.where(g.mask, 20.0, np.nan), name="temperature_c")
    >>> out = write_netcdf(g, pathlib.Path(tempfile.mkdtemp()) / "t.nc")
    >>> with xr.open_dataset(out) as ds:
    ...     str(ds["temperature_c"].dtype), ds["temperature_c"].attrs["units"]
    ('float32', 'degC')
    """
    require("h5netcdf", extra="xarray", what="NetCDF output")
    ds = cf_dataset(surface, time=time)
    check_writable(path)
    with atomic_path(path) as tmp:
        try:
            ds.to_netcdf(tmp, engine="h5netcdf", encoding=cf_encoding(ds))
        except (OSError, RuntimeError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
            raise OutputError(f"cannot write NetCDF {str(path)!r}: {reason}") from exc
    return Path(path)


def write_zarr(surface: Any, path: str | os.PathLike[str], *, time: Any = None) -> Path:
    """Write a grid or a series of grids as a CF-1.8 Zarr store (a folder), atomically.

    The same dataset as :func:`write_netcdf` (zarr's default compression).
    The store is written beside ``path`` and swapped in with one rename.
    Needs ``kwxmap[zarr]``.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, xarray as xr
    >>> from kwxmap.grid import make_grid
    >>> g = make_grid("서울", resolution=5000)
    >>> g = g.copy(values=np.where(g.mask, 20.0, np.nan), name="temperature_c")
    >>> out = write_zarr(g, pathlib.Path(tempfile.mkdtemp()) / "t.zarr")
    >>> float(xr.open_zarr(out)["temperature_c"].max())
    20.0
    """
    require("zarr", extra="zarr", what="Zarr output")
    ds = cf_dataset(surface, time=time)
    for name in ds.data_vars:  # where GDAL's Zarr driver (and so QGIS) looks for the CRS
        if "x" in ds[name].dims:
            ds[name].attrs["_CRS"] = {"wkt": ds["spatial_ref"].attrs["crs_wkt"]}
    dest = _through_links_folder(path)
    if dest.exists() and not dest.is_dir():
        raise OutputError(f"Zarr store {str(path)!r} is a file; give a folder name (.zarr)")
    output_folder(dest, create=False)
    tmp = temp_sibling(dest)
    try:
        store = tmp / "store.zarr"
        ds.to_zarr(store, mode="w", encoding=cf_encoding(ds, zarr=True), **_zarr_format())
        if dest.exists():
            exchange(store, dest)
        else:
            os.rename(store, dest)
    except ImportError:
        raise
    except (OSError, RuntimeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        raise OutputError(f"cannot write Zarr {str(path)!r}: {reason}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Path(path)


def _zarr_format() -> dict[str, Any]:
    """Zarr format 2 with consolidated metadata: what GDAL, xarray and zarr 2 and 3 all read."""
    import zarr

    major = int(zarr.__version__.split(".")[0])
    return {"zarr_format": 2, "consolidated": True} if major >= 3 else {"consolidated": True}


def _through_links_folder(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return Path(os.path.realpath(p)) if p.is_symlink() else p
