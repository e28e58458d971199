"""Where to interpolate: a region at a resolution, an existing grid, or a set of points.

:func:`resolve_target` turns the ``target=`` of :func:`~kwxmap.interpolate`
into either a :class:`~kwxmap.grid.Grid` whose masked cells are filled, or
:class:`Points`: projected coordinates of the rows of a table (a
GeoDataFrame with a CRS, or a DataFrame with ``lon``/``lat`` columns in
degrees) whose values are wanted.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely

from .._extras import require
from ..errors import InputError
from ..grid import Grid, as_grid, make_grid

__all__ = ["Points", "load_grid_target", "resolve_target"]

_LON_NAMES = ("lon", "longitude", "lng", "x")
_LAT_NAMES = ("lat", "latitude", "y")


@dataclasses.dataclass
class Points:
    """Target points projected to the interpolation CRS.

    Attributes
    ----------
    frame
        The table the points came from (returned with the values added).
    xy
        ``(M, 2)`` coordinates in metres in ``crs``.
    crs
        The projected CRS of ``xy``.
    elevation_m
        Ground elevation of each point when the table gives one
        (``elevation_m`` column), else None (taken from the DEM).
    """

    frame: pd.DataFrame
    xy: np.ndarray
    crs: pyproj.CRS
    elevation_m: np.ndarray | None

    @property
    def area(self) -> shapely.Geometry:
        """The points as one geometry (to measure station distances against)."""
        return shapely.multipoints(self.xy)


def _column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lower = {str(c).lower(): c for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def _points(frame: pd.DataFrame, crs: pyproj.CRS) -> Points:
    if len(frame) == 0:
        raise InputError("the target table has no rows; give at least one point")
    if hasattr(frame, "geometry") and hasattr(frame, "crs"):
        if frame.crs is None:
            raise InputError("the target GeoDataFrame has no CRS; set it (e.g. .set_crs(4326))")
        geoms = frame.geometry.to_crs(crs).to_numpy()
        if not (shapely.get_type_id(geoms) == 0).all():
            raise InputError("target geometries must be points")
        xy = np.column_stack([shapely.get_x(geoms), shapely.get_y(geoms)])
    else:
        lon_col, lat_col = _column(frame, _LON_NAMES), _column(frame, _LAT_NAMES)
        if lon_col is None or lat_col is None:
            raise InputError(
                f"a target table needs 'lon' and 'lat' columns (degrees), got columns "
                f"{list(frame.columns)!r}"
            )
        lon = pd.to_numeric(frame[lon_col], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(frame[lat_col], errors="coerce").to_numpy(dtype=float)
        bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"target row {i} has lon {frame[lon_col].iloc[i]!r}, lat "
                f"{frame[lat_col].iloc[i]!r}: not degrees of longitude/latitude"
            )
        tr = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
        xy = np.column_stack(tr.transform(lon, lat))
    elev = None
    if "elevation_m" in frame.columns:
        elev = pd.to_numeric(frame["elevation_m"], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(elev).all():
            elev = None  # incomplete: the DEM gives all of them
    return Points(frame=frame, xy=xy, crs=crs, elevation_m=elev)


def load_grid_target(path: str | os.PathLike[str]) -> Grid:
    """Read a GeoTIFF whose cells are to be filled (its nodata cells stay empty).

    Needs rasterio (``pip install kwxmap[raster]``). The raster must be in
    EPSG:5179 or 5186 with square cells.
    """
    rasterio = require("rasterio", extra="raster", what=f"reading the target grid {str(path)!r}")
    try:
        with rasterio.open(path) as src:
            band = src.read(1, masked=True)
            transform, crs = src.transform, src.crs
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"cannot read the target grid {str(path)!r}: {exc}") from None
    if crs is None or crs.to_epsg() not in (5179, 5186):
        raise InputError(
            f"the target grid {str(path)!r} is in {crs!s}; reproject it to EPSG:5179 or "
            f"5186 first (gdalwarp -t_srs EPSG:5179)"
        )
    if transform.b or transform.d or abs(transform.a) != abs(transform.e):
        raise InputError(f"the target grid {str(path)!r} must be north-up with square cells")
    res = abs(transform.a)
    ny, nx = band.shape
    x = transform.c + res * (np.arange(nx) + 0.5)
    y = transform.f + transform.e * (np.arange(ny) + 0.5)
    mask = ~np.ma.getmaskarray(band)
    if transform.e < 0:  # north-up file: rows to south-first
        y, mask = y[::-1], mask[::-1]
    region = shapely.box(x[0] - res / 2, y[0] - res / 2, x[-1] + res / 2, y[-1] + res / 2)
    return Grid(
        x=x,
        y=y,
        values=np.full((ny, nx), np.nan),
        crs=pyproj.CRS.from_user_input(crs.to_wkt()),
        region=region,
        resolution=res,
        mask=mask,
    )


def resolve_target(target: Any, *, region: Any, resolution: float, crs: Any) -> Grid | Points:
    """Return the grid to fill or the points to predict for ``target=``.

    Parameters
    ----------
    target
        None (a new grid over ``region`` at ``resolution``), a
        :class:`~kwxmap.grid.Grid`, an ``xarray.DataArray``, a GeoTIFF path,
        a GeoDataFrame of points or a DataFrame with ``lon``/``lat``.
    region, resolution, crs
        For a new grid; ``crs`` is also the CRS points are projected to.

    Examples
    --------
    >>> pts = resolve_target(pd.DataFrame({"lon": [127.44], "lat": [36.64]}),
    ...                      region=None, resolution=1000, crs=5179)
    >>> pts.xy.shape, pts.crs.to_epsg()
    ((1, 2), 5179)
    """
    if target is None:
        return make_grid(region, resolution=resolution, crs=crs)
    if isinstance(target, str | os.PathLike):
        path = Path(target)
        if path.suffix.lower() not in (".tif", ".tiff"):
            raise InputError(f"a target file must be a GeoTIFF (.tif), got {str(target)!r}")
        return load_grid_target(path)
    if isinstance(target, pd.DataFrame):
        return _points(target, pyproj.CRS.from_user_input(crs))
    grid = as_grid(target)
    if isinstance(grid, Grid):
        if grid.time is not None:
            raise InputError("a target grid has one time; pass grid.at(0)")
        return grid
    raise InputError(
        f"cannot use a {type(target).__name__} as target; give a Grid, an xarray "
        f"DataArray, a GeoTIFF path, a GeoDataFrame of points or a DataFrame with lon/lat"
    )
