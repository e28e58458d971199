"""The target grid: a regular raster in a projected Korean CRS, masked to a region.

A :class:`Grid` is plain data: 1-D cell-centre coordinates ``x`` and ``y`` in
metres (both ascending, so ``values[0]`` is the southernmost row), a 2-D
``values`` array (NaN outside the region), the CRS, the region geometry in
that CRS and the resolution. :func:`make_grid` builds an empty grid for a
region (:mod:`kwxmap.regions` turns the many ways of naming one into a
geometry).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from ._extras import require
from .errors import InputError, RegionError
from .regions import (  # noqa: F401 - resolve_region & co. are also kwxmap.grid's
    _check_crs,
    _transformer,
    is_country,
    load_provinces,
    resolve_region,
)

__all__ = [
    "MAX_CELLS",
    "Grid",
    "as_grid",
    "is_country",
    "load_provinces",
    "make_grid",
    "resolve_region",
]

#: Largest grid :func:`make_grid` builds (cells in the bounding box). At 8 bytes
#: a value and a few working arrays per cell this keeps a grid under ~2 GB.
MAX_CELLS = 60_000_000

@dataclasses.dataclass(eq=False)
class Grid:
    """A regular raster over a region, in metres in a projected Korean CRS.

    The one surface type of kwxmap: one timestamp (``values`` is ``(ny, nx)``)
    or many (``time`` set, ``values`` is ``(nt, ny, nx)``). It is plain numpy
    (a dask array is kept lazy); :meth:`to_xarray` and :meth:`to_dataset`
    give the north-up xarray views GIS and climate tools expect.

    Parameters
    ----------
    x, y
        1-D cell-centre coordinates in metres, ascending (``values[..., 0, :]``
        is the southernmost row).
    values
        ``(ny, nx)`` or ``(nt, ny, nx)`` floats; NaN outside the region.
    crs
        The grid CRS (EPSG:5179 or 5186).
    region
        Region geometry in the grid CRS (used to clip isotherms exactly).
    resolution
        Cell size in metres.
    name
        What the values are, e.g. ``"temperature_c"``.
    attrs
        Free metadata: method, params, lapse rate, CV scores, ``variance``
        (a Grid), station ids ... For a series, entries that are arrays of
        length ``nt`` are per timestamp (``n_stations``, ``lapse_rate_k_per_km``).
    mask
        Boolean ``(ny, nx)``: cell centre inside ``region``. Computed from the
        region when not given.
    time
        The ``nt`` timestamps of a series, or None for one surface.

    Examples
    --------
    >>> g = make_grid("서울", resolution=5000)
    >>> g.shape, g.resolution, g.crs.to_epsg()
    ((7, 8), 5000.0, 5179)
    >>> g.transform[1], g.transform[5]  # dx, dy (dy > 0: rows run south to north)
    (5000.0, 5000.0)
    >>> bool(g.mask.any()), bool(np.isnan(g.values).all())
    (True, True)
    >>> series = g.copy(values=np.zeros((2, 7, 8)), time=["2020-08-01", "2020-08-02"])
    >>> series.ntimes, series.at(1).values.shape, series.at(1).attrs["time"]
    (2, (7, 8), '2020-08-02')
    """

    x: np.ndarray
    y: np.ndarray
    values: Any
    crs: pyproj.CRS
    region: BaseGeometry
    resolution: float
    name: str = "value"
    attrs: dict[str, Any] = dataclasses.field(default_factory=dict)
    mask: np.ndarray | None = dataclasses.field(default=None, repr=False)
    time: Any = None

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x, dtype=float)
        self.y = np.asarray(self.y, dtype=float)
        if not _is_lazy(self.values):
            self.values = np.asarray(self.values)
            if self.values.dtype.kind != "f":
                self.values = self.values.astype(float)
        self.crs = pyproj.CRS.from_user_input(self.crs)
        spatial = (self.y.size, self.x.size)
        if self.time is not None:
            self.time = np.asarray(self.time)
            expected: tuple[int, ...] = (self.time.size, *spatial)
        else:
            expected = spatial
        if tuple(self.values.shape) != expected:
            raise InputError(
                f"values shape {tuple(self.values.shape)} does not match "
                f"{'(len(time), len(y), len(x))' if self.time is not None else '(len(y), len(x))'}"
                f" = {expected}"
            )
        if self.mask is None:
            self.mask = _cell_mask(self.region, self.x, self.y)
        else:
            self.mask = np.asarray(self.mask, dtype=bool)

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``: the spatial shape (also for a series)."""
        return (self.y.size, self.x.size)

    @property
    def ntimes(self) -> int | None:
        """Number of timestamps of a series, None for one surface."""
        return None if self.time is None else int(self.time.size)

    def at(self, i: int) -> Grid:
        """Return timestamp ``i`` of a series as a one-time Grid.

        Per-timestamp attrs (arrays of length ``nt``) become their value at
        ``i``; ``attrs["time"]`` is the timestamp.
        """
        if self.time is None:
            raise InputError("at() needs a series (a Grid with time); this grid has one time")
        n = self.time.size
        attrs: dict[str, Any] = {}
        for k, v in self.attrs.items():
            if isinstance(v, Grid) and v.time is not None:
                v = v.at(i)
            elif _per_time(v, n):
                v = np.asarray(v[i]).item()
            attrs[k] = v
        t = self.time[i]
        attrs["time"] = t.item() if isinstance(t, np.generic) and t.dtype.kind != "M" else t
        # a copy, not a view: a kept map must not hold its whole series in memory
        values = np.array(self.values[i], dtype=float)
        return self.copy(values=values, attrs=attrs, time=None)

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """Affine transform in GDAL order ``(x0, dx, 0, y0, 0, dy)`` for ``values`` as stored.

        ``(x0, y0)`` is the outer corner of cell ``[0, 0]`` (south-west); ``dy``
        is positive because rows run south to north. Flip the rows
        (``values[::-1]``) and use ``(x0, dx, 0, y_top, 0, -dy)`` for a north-up
        GeoTIFF (:meth:`to_xarray` does).
        """
        r = float(self.resolution)
        return (float(self.x[0]) - r / 2, r, 0.0, float(self.y[0]) - r / 2, 0.0, r)

    def cell_xy(self, *, masked: bool = True) -> np.ndarray:
        """Return cell-centre coordinates as an ``(M, 2)`` array (row-major).

        Parameters
        ----------
        masked
            Only the cells inside the region (the order of ``values[mask]``).
        """
        xx, yy = np.meshgrid(self.x, self.y)
        if masked:
            return np.column_stack([xx[self.mask], yy[self.mask]])
        return np.column_stack([xx.ravel(), yy.ravel()])

    def lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        """Return 2-D longitude and latitude arrays (degrees) of the cell centres.

        Examples
        --------
        >>> lon, lat = make_grid("서울", resolution=5000).lonlat()
        >>> bool((126.5 < lon).all() and (lon < 127.3).all() and (37.3 < lat).all())
        True
        """
        tr = _transformer(self.crs.to_wkt(), "EPSG:4326")
        xx, yy = np.meshgrid(self.x, self.y)
        lon, lat = tr.transform(xx, yy)
        return np.asarray(lon), np.asarray(lat)

    def covers(self, lon: Any, lat: Any, *, within_m: float = 2000.0) -> np.ndarray:
        """Return whether each lon/lat point lies in the region or within ``within_m`` of it.

        The margin keeps a coastal station whose site the boundary's
        generalised coast leaves just offshore.

        Examples
        --------
        >>> g = make_grid("충청북도", resolution=5000)
        >>> g.covers([127.49, 126.97, 127.44], [36.64, 37.57, 36.97]).tolist()  # 청주 서울 충주
        [True, False, True]
        """
        tr = _transformer("EPSG:4326", self.crs.to_wkt())
        x, y = tr.transform(np.asarray(lon, float), np.asarray(lat, float))
        region = self.region
        shapely.prepare(region)
        return np.asarray(shapely.dwithin(region, shapely.points(x, y), within_m), bool)

    def copy(self, values: Any = None, **changes: Any) -> Grid:
        """Return a copy, optionally with new ``values`` (same shape) or other fields.

        Examples
        --------
        >>> g = make_grid("서울", resolution=5000)
        >>> h = g.copy(values=np.where(g.mask, 1.0, np.nan))
        >>> float(np.nanmax(h.values)), bool(np.isnan(g.values).all())
        (1.0, True)
        """
        if values is None:
            values = self.values if _is_lazy(self.values) else self.values.copy()
        fields = {
            "x": self.x.copy(),
            "y": self.y.copy(),
            "values": values,
            "crs": self.crs,
            "region": self.region,
            "resolution": self.resolution,
            "name": self.name,
            "attrs": dict(self.attrs),
            "mask": self.mask.copy(),
            "time": self.time,
        }
        fields.update(changes)
        return Grid(**fields)

    def to_xarray(self) -> Any:
        """Return the values as a north-up ``xarray.DataArray``.

        Dims ``("y", "x")`` (``("time", "y", "x")`` for a series) with ``y``
        descending (north first, as GIS rasters are), a CF ``spatial_ref``
        coordinate (:meth:`pyproj.CRS.to_cf` attributes plus ``spatial_ref``
        WKT and a GDAL ``GeoTransform``, so rioxarray and GDAL find the CRS),
        ``grid_mapping`` pointing at it, and the scalar and string entries of
        :attr:`attrs`. Use :meth:`to_dataset` to keep the variance and the
        per-timestamp metadata too.

        Raises
        ------
        ImportError
            When xarray is not installed (``pip install kwxmap[xarray]``).

        Examples
        --------
        >>> g = make_grid("서울", resolution=5000)
        >>> da = g.to_xarray()
        >>> da.dims, da.attrs["crs"], da["spatial_ref"].attrs["grid_mapping_name"]
        (('y', 'x'), 'EPSG:5179', 'transverse_mercator')
        >>> bool(da["y"][0] > da["y"][-1])  # north-up
        True
        """
        xr = _xarray()
        attrs: dict[str, Any] = {
            k: v
            for k, v in self.attrs.items()
            if isinstance(v, str | int | float | bool | np.number)
        }
        epsg = self.crs.to_epsg()
        attrs.update(
            crs=f"EPSG:{epsg}" if epsg else self.crs.to_string(),
            resolution_m=float(self.resolution),
            grid_mapping="spatial_ref",
        )
        if self.name.endswith("_c"):
            attrs.setdefault("units", "degC")
        dims: tuple[str, ...] = ("y", "x")
        coords: dict[str, Any] = {
            "x": ("x", self.x, {"units": "m", "standard_name": "projection_x_coordinate"}),
            "y": ("y", self.y[::-1], {"units": "m", "standard_name": "projection_y_coordinate"}),
            "spatial_ref": ((), np.int32(0), self._grid_mapping()),
        }
        if self.time is not None:
            dims = ("time", "y", "x")
            coords["time"] = ("time", self.time)
        return xr.DataArray(
            self.values[..., ::-1, :], dims=dims, coords=coords, name=self.name, attrs=attrs
        )

    def to_dataset(self) -> Any:
        """Return a north-up ``xarray.Dataset``: the values, the variance, per-time metadata.

        The variable :attr:`name` as in :meth:`to_xarray`; ``<name>_variance``
        when ``attrs["variance"]`` holds one; ``n_stations`` and
        ``lapse_rate_k_per_km`` along ``time`` for a series; 2-D ``lon``/``lat``
        coordinates; the station ids in ``attrs["station_ids"]``.

        Examples
        --------
        >>> ds = make_grid("서울", resolution=5000).to_dataset()
        >>> sorted(ds.data_vars), ds.attrs["Conventions"]
        (['value'], 'CF-1.8')
        """
        xr = _xarray()
        da = self.to_xarray()
        lon, lat = self.lonlat()
        variables = {self.name: da}
        variance = self.attrs.get("variance")
        if isinstance(variance, Grid):
            variables[variance.name] = variance.to_xarray()
        n = self.ntimes
        for key, value in self.attrs.items():
            if n is not None and _per_time(value, n):
                variables[key] = xr.DataArray(value, dims=("time",), coords={"time": self.time})
        ds = xr.Dataset(variables)
        ds = ds.assign_coords(
            lon=(("y", "x"), lon[::-1], {"units": "degrees_east", "standard_name": "longitude"}),
            lat=(("y", "x"), lat[::-1], {"units": "degrees_north", "standard_name": "latitude"}),
        )
        ds.attrs = {k: v for k, v in da.attrs.items() if k not in ("grid_mapping", "units")}
        ds.attrs["Conventions"] = "CF-1.8"
        ids = self.attrs.get("station_ids")
        if ids is not None and all(isinstance(i, int | np.integer) for i in ids):
            ds.attrs["station_ids"] = np.asarray(ids, dtype=np.int64)
        return ds

    @classmethod
    def from_xarray(cls, da: Any) -> Grid:
        """Build a Grid from a DataArray with ``x``/``y`` in metres and a CRS.

        The CRS comes from a ``spatial_ref`` coordinate (``crs_wkt`` or
        ``spatial_ref``, as rioxarray writes it) or from a ``crs``/``crs_wkt``
        attribute. Rows may run either way. The region is
        the grid's extent; the mask is the finite cells (all cells when none
        is finite).

        Examples
        --------
        >>> g = make_grid("서울", resolution=5000)
        >>> g2 = Grid.from_xarray(g.copy(values=np.where(g.mask, 1.0, np.nan)).to_xarray())
        >>> g2.shape == g.shape, bool((g2.mask == g.mask).all()), bool((g2.y == g.y).all())
        (True, True, True)
        """
        crs = _xarray_crs(da)
        if "x" not in da.dims or "y" not in da.dims:
            raise InputError(
                f"a DataArray grid needs dims 'x' and 'y' in metres, got {tuple(da.dims)!r}"
            )
        time_dims = [d for d in da.dims if d not in ("x", "y")]
        if len(time_dims) > 1:
            raise InputError(f"a DataArray grid has dims y, x and at most time, got {da.dims!r}")
        da = da.transpose(*time_dims, "y", "x").sortby("y")
        x = np.asarray(da["x"].values, dtype=float)
        y = np.asarray(da["y"].values, dtype=float)
        if x.size < 2 or y.size < 2:
            raise InputError("a DataArray grid needs at least 2 cells along x and y")
        res = float(np.median(np.diff(x)))
        if not np.allclose(np.diff(x), res) or not np.allclose(np.diff(y), res):
            raise InputError("a DataArray grid must be regular with square cells")
        values = np.asarray(da.values, dtype=float)
        finite = np.isfinite(values).any(axis=0) if values.ndim == 3 else np.isfinite(values)
        mask = finite if finite.any() else np.ones(finite.shape, dtype=bool)
        region = shapely.box(x[0] - res / 2, y[0] - res / 2, x[-1] + res / 2, y[-1] + res / 2)
        attrs = {k: v for k, v in da.attrs.items() if k not in ("crs", "crs_wkt", "grid_mapping")}
        time = np.asarray(da[time_dims[0]].values) if time_dims else None
        return cls(
            x=x,
            y=y,
            values=values,
            crs=crs,
            region=region,
            resolution=res,
            name=str(da.name) if da.name is not None else "value",
            attrs=attrs,
            mask=mask,
            time=time,
        )

    def _grid_mapping(self) -> dict[str, Any]:
        """CF grid-mapping attributes, with the WKT and GeoTransform GDAL reads."""
        attrs = dict(self.crs.to_cf())
        wkt = self.crs.to_wkt()
        r = float(self.resolution)
        top = float(self.y[-1]) + r / 2
        attrs.update(
            crs_wkt=wkt,
            spatial_ref=wkt,
            GeoTransform=f"{float(self.x[0]) - r / 2} {r} 0 {top} 0 {-r}",
        )
        return attrs


def as_grid(obj: Any) -> Any:
    """Return an ``xarray.DataArray`` as a :class:`Grid` (:meth:`Grid.from_xarray`).

    Anything else is returned as it is, for the caller to check; so
    :func:`~kwxmap.contour_bands` and the writers take a Grid or a DataArray.

    Examples
    --------
    >>> g = make_grid("서울", resolution=5000)
    >>> as_grid(g) is g, as_grid(g.to_xarray()).shape
    (True, (7, 8))
    """
    if type(obj).__name__ == "DataArray" and hasattr(obj, "dims"):
        return Grid.from_xarray(obj)
    return obj


def _per_time(value: Any, n: int) -> bool:
    """Tell whether ``value`` is a numpy or dask array of one value per timestamp."""
    return not isinstance(value, Grid) and getattr(value, "shape", None) == (n,)


def _is_lazy(values: Any) -> bool:
    return type(values).__module__.startswith("dask.")


def _xarray() -> Any:
    return require("xarray", extra="xarray", what="Grid.to_xarray()")


def _xarray_crs(da: Any) -> pyproj.CRS:
    candidates = []
    if "spatial_ref" in da.coords:
        ref = da["spatial_ref"].attrs
        candidates += [ref.get("crs_wkt"), ref.get("spatial_ref")]
    candidates += [da.attrs.get("crs_wkt"), da.attrs.get("crs")]
    for c in candidates:
        if c:
            try:
                crs = pyproj.CRS.from_user_input(c)
            except pyproj.exceptions.CRSError:
                continue
            if crs.is_projected:
                return crs
            raise InputError(
                f"a DataArray grid must be in projected metres (e.g. EPSG:5179), got "
                f"{crs.to_string()!r}"
            )
    raise InputError(
        "the DataArray has no CRS; give it a 'spatial_ref' coordinate (rioxarray: "
        "da.rio.write_crs(5179)) or attrs['crs'] = 'EPSG:5179'"
    )


def _cell_mask(region: BaseGeometry, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cells whose centre lies inside (or on the boundary of) ``region``.

    Each polygon part is tested only against the cells in its bounding box, with
    a prepared geometry and the vectorised :func:`shapely.intersects_xy`;
    a national 1 km grid (~560k cells in the box) takes well under a second.
    """
    mask = np.zeros((y.size, x.size), dtype=bool)
    if x.size == 0 or y.size == 0:
        return mask
    parts = shapely.get_parts(region)
    for part in parts:
        minx, miny, maxx, maxy = part.bounds
        i0, i1 = np.searchsorted(x, minx, side="left"), np.searchsorted(x, maxx, side="right")
        j0, j1 = np.searchsorted(y, miny, side="left"), np.searchsorted(y, maxy, side="right")
        if i1 <= i0 or j1 <= j0:
            continue
        shapely.prepare(part)
        xx, yy = np.meshgrid(x[i0:i1], y[j0:j1])
        mask[j0:j1, i0:i1] |= shapely.intersects_xy(part, xx, yy)
    return mask


def make_grid(
    region: Any = "south-korea",
    *,
    resolution: float = 1000.0,
    crs: Any = 5179,
    buffer: float = 0.0,
) -> Grid:
    """Build an empty (all-NaN) grid over a region.

    The grid covers the region's bounding box with cells aligned to multiples
    of ``resolution`` (so grids of the same resolution share cell edges);
    a cell is inside the region when its centre is.

    Parameters
    ----------
    region
        Anything :func:`resolve_region` accepts; default all of South Korea.
    resolution
        Cell size in metres (> 0).
    crs
        EPSG 5179 (default) or 5186.
    buffer
        Grow the region by this many metres before masking (e.g. to colour the
        coast); ``Grid.region`` is the buffered geometry.

    Returns
    -------
    Grid
        ``values`` all NaN, ``mask`` set, ``name="value"``.

    Raises
    ------
    RegionError
        Bad region, ``resolution`` not a positive number, or a grid larger
        than :data:`MAX_CELLS` (the message gives the memory estimate).

    Examples
    --------
    >>> g = make_grid("제주", resolution=10_000)
    >>> g.shape
    (6, 8)
    >>> int(g.mask.sum()) > 10
    True
    >>> make_grid(resolution=0)
    Traceback (most recent call last):
    ...
    kwxmap.errors.RegionError: resolution must be a positive number of metres, got 0
    """
    try:
        res = float(resolution)
    except (TypeError, ValueError) as exc:
        raise RegionError(
            f"resolution must be a positive number of metres, got {resolution!r}"
        ) from exc
    if not math.isfinite(res) or res <= 0:
        raise RegionError(f"resolution must be a positive number of metres, got {resolution!r}")
    try:
        buf = float(buffer)
    except (TypeError, ValueError) as exc:
        raise RegionError(f"buffer must be a number of metres, got {buffer!r}") from exc
    if not math.isfinite(buf) or buf < 0:
        raise RegionError(f"buffer must be a number of metres >= 0, got {buffer!r}")
    grid_crs = _check_crs(crs)
    geom = resolve_region(region, crs=grid_crs)
    if buf > 0:
        geom = shapely.buffer(geom, buf)
        shapely.prepare(geom)
    minx, miny, maxx, maxy = geom.bounds
    x0, y0 = math.floor(minx / res) * res, math.floor(miny / res) * res
    nx = max(1, math.ceil((maxx - x0) / res))
    ny = max(1, math.ceil((maxy - y0) / res))
    if nx * ny > MAX_CELLS:
        gb = nx * ny * 8 * 4 / 1e9
        raise RegionError(
            f"resolution {resolution!r} m gives a {ny} x {nx} grid ({nx * ny:,} cells, "
            f"~{gb:.1f} GB of working arrays), more than the limit of {MAX_CELLS:,} cells; "
            f"use a coarser resolution or a smaller region"
        )
    x = x0 + res / 2 + res * np.arange(nx)
    y = y0 + res / 2 + res * np.arange(ny)
    return Grid(
        x=x,
        y=y,
        values=np.full((ny, nx), np.nan),
        crs=grid_crs,
        region=geom,
        resolution=res,
        name="value",
    )
