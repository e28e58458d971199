"""Isotherms: a :class:`~kwxmap.grid.Grid` to filled bands and contour lines.

Both functions trace the grid with :mod:`contourpy` (no plotting library),
clip the result exactly to the grid's region geometry (so the coast and the
islands come from the boundary, not from the grid's cell staircase) and
return GeoDataFrames in lon/lat (EPSG:4326).

Band ``(lower, upper]`` holds the part of the region where
``lower < value <= upper`` (contourpy's convention); its label reads
``"24–25 °C"``.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import contourpy
import geopandas as gpd
import numpy as np
import shapely
from scipy import ndimage

from .errors import InputError, KwxmapWarning
from .grid import as_grid

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .grid import Grid

__all__ = ["band_agreement", "contour_bands", "contour_lines", "resolve_levels"]

#: Candidate steps (°C) for the default "nice" levels, smallest first.
NICE_STEPS = (1.0, 2.0, 5.0, 10.0, 20.0)
#: Largest number of bands the default levels produce.
MAX_BANDS = 25
#: Most edges a ``"start:stop:step"`` string may give (each band is traced separately).
MAX_EDGES = 10_000

_RANGE_RE = re.compile(
    r"^\s*(?P<start>[-+]?\d+(?:\.\d+)?)\s*:\s*(?P<stop>[-+]?\d+(?:\.\d+)?)"
    r"\s*:\s*(?P<step>[-+]?\d+(?:\.\d+)?)\s*$"
)


def resolve_levels(
    levels: str | Sequence[float] | np.ndarray | None, vmin: float, vmax: float
) -> np.ndarray:
    """Turn a levels specification into a strictly increasing array of edges.

    Parameters
    ----------
    levels
        ``None`` or ``"nice"``: steps of 1 °C (2, 5, 10 or 20 °C when the data
        range would need more than 25 bands) covering ``vmin``..``vmax``;
        the first edge lies strictly below ``vmin`` so the minimum is inside
        the first ``(lower, upper]`` band.
        A sequence of numbers: used as given (must be finite, strictly
        increasing, at least two).
        A string ``"start:stop:step"`` such as ``"-20:40:2"``: ``start`` to
        ``stop`` inclusive in steps of ``step``.
    vmin, vmax
        The data range (used by the "nice" rule only).

    Returns
    -------
    numpy.ndarray
        Float edges, strictly increasing.

    Raises
    ------
    InputError
        When the specification cannot be read or gives fewer than two edges
        (a :class:`ValueError`, so ``except ValueError`` keeps working).

    Examples
    --------
    >>> resolve_levels(None, 18.1, 28.3).tolist()[:3]
    [18.0, 19.0, 20.0]
    >>> resolve_levels(None, 18.1, 28.3)[-1]
    np.float64(29.0)
    >>> resolve_levels("-4:4:2", 0, 1).tolist()
    [-4.0, -2.0, 0.0, 2.0, 4.0]
    >>> resolve_levels([0, 5, 10], 0, 1).tolist()
    [0.0, 5.0, 10.0]
    """
    return _resolve_levels(levels, vmin, vmax, least=2)


def _resolve_levels(
    levels: str | Sequence[float] | np.ndarray | None, vmin: float, vmax: float, *, least: int
) -> np.ndarray:
    """:func:`resolve_levels` needing ``least`` edges (2 for bands, 1 for isolines)."""
    if levels is None or (isinstance(levels, str) and levels.strip().lower() == "nice"):
        return _nice_levels(vmin, vmax)
    if isinstance(levels, str):
        match = _RANGE_RE.match(levels)
        if not match:
            raise InputError(
                f"levels {levels!r} not understood; use 'nice', a list of numbers, "
                "or 'start:stop:step' such as '-20:40:2'"
            )
        start, stop, step = (float(match[k]) for k in ("start", "stop", "step"))
        if step <= 0 or stop <= start:
            raise InputError(
                f"levels {levels!r} need start < stop and a positive step, e.g. '-20:40:2'"
            )
        count = math.floor((stop - start) / step + 1e-9)
        if count + 1 > MAX_EDGES:
            raise InputError(
                f"levels {levels!r} give {count + 1:,} edges, more than {MAX_EDGES:,}; "
                "use a larger step"
            )
        out = start + step * np.arange(count + 1)
    else:
        try:
            out = np.asarray(levels, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"levels {levels!r} must be numbers; use e.g. [20, 22, 24] or '20:30:2'"
            ) from exc
        out = out.ravel()
    if out.size < least:
        if least == 1:
            raise InputError(f"levels {levels!r} give no level; need at least one")
        raise InputError(f"levels {levels!r} give fewer than two edges; need at least two")
    if not np.all(np.isfinite(out)):
        raise InputError(f"levels {levels!r} contain NaN or infinity; give finite numbers")
    if np.any(np.diff(out) <= 0):
        raise InputError(f"levels {levels!r} must be strictly increasing; sort them")
    return out


def _nice_levels(vmin: float, vmax: float) -> np.ndarray:
    if not (np.isfinite(vmin) and np.isfinite(vmax)):
        raise InputError(
            f"cannot choose levels for the data range {vmin!r}..{vmax!r}; "
            "the grid has no finite values"
        )
    if vmax < vmin:
        vmin, vmax = vmax, vmin
    for step in NICE_STEPS:
        lo = (math.ceil(vmin / step) - 1) * step
        hi = max(math.ceil(vmax / step) * step, lo + step)
        if (hi - lo) / step <= MAX_BANDS:
            break
    n = round((hi - lo) / step)
    return lo + step * np.arange(n + 1, dtype=float)


def _format_level(value: float) -> str:
    """Short text for a level: ``24``, ``24.5``, ``-2``."""
    return f"{value:.6g}"


def band_label(lower: float, upper: float) -> str:
    """Return the label of a band, e.g. ``'24–25 °C'``.

    Negative values take a true minus sign and the dash is spaced, so the
    range reads as one: ``'−20 – −19 °C'``, not ``'-20--19 °C'``.

    Examples
    --------
    >>> band_label(24.0, 25.0)
    '24–25 °C'
    >>> band_label(-2.0, 0.5)
    '−2 – 0.5 °C'
    >>> band_label(-20.0, -19.0)
    '−20 – −19 °C'
    """
    lo, up = (_format_level(v).replace("-", "\u2212") for v in (lower, upper))
    dash = " – " if min(lower, upper) < 0 else "–"
    return f"{lo}{dash}{up} °C"


def _check_grid(grid: Any) -> Grid:
    grid = as_grid(grid)  # a Grid, or an xarray DataArray (x/y in metres, a CRS)
    for attr in ("x", "y", "values", "crs", "region", "resolution"):
        if not hasattr(grid, attr):
            raise TypeError(
                f"expected a kwxmap Grid (from make_grid or interpolate), got "
                f"{type(grid).__name__!r} without {attr!r}"
            )
    values = np.asarray(grid.values)
    if values.shape != (len(grid.y), len(grid.x)):
        raise InputError(
            f"grid values have shape {values.shape!r} but x, y give "
            f"{(len(grid.y), len(grid.x))!r}; build the grid with Grid.copy(values=...)"
        )
    if len(grid.x) < 2 or len(grid.y) < 2:
        raise InputError(
            f"grid of shape {values.shape!r} is too small to contour; use a finer resolution"
        )
    return grid


def _filled_field(grid: Grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Extend the field so contours reach beyond the region edge.

    Every NaN cell outside the region (``grid.mask`` False) takes the value of
    the nearest finite cell, and the grid gains one cell on each side, so that
    after clipping with the exact region the bands run to the coast and cover
    islands smaller than a cell. NaN cells inside the region (no estimate
    there) stay missing: no band covers them.
    """
    values = np.asarray(grid.values, dtype=float)
    finite = np.isfinite(values)
    if not finite.any():
        raise InputError(
            "the grid has no finite values to contour; interpolate readings onto it first"
        )
    mask = getattr(grid, "mask", None)
    fill = ~finite if mask is None else ~finite & ~np.asarray(mask, dtype=bool)
    if fill.any():
        _, (iy, ix) = ndimage.distance_transform_edt(~finite, return_indices=True)
        values = np.where(fill, values[iy, ix], values)
    x = np.asarray(grid.x, dtype=float)
    y = np.asarray(grid.y, dtype=float)
    x = np.concatenate([[2 * x[0] - x[1]], x, [2 * x[-1] - x[-2]]])
    y = np.concatenate([[2 * y[0] - y[1]], y, [2 * y[-1] - y[-2]]])
    values = np.pad(values, 1, mode="edge")
    if np.isnan(values).any():
        values = np.ma.masked_invalid(values)
    return x, y, values


def _data_range(grid: Grid) -> tuple[float, float]:
    values = np.asarray(grid.values, dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise InputError(
            "the grid has no finite values to contour; interpolate readings onto it first"
        )
    return float(finite.min()), float(finite.max())


def _polygons_from_filled(points: np.ndarray, offsets: np.ndarray, outer: np.ndarray):
    """Build one MultiPolygon from contourpy's ChunkCombinedOffsetOffset arrays."""
    ring_sizes = np.diff(offsets)
    keep_ring = ring_sizes >= 4
    ring_index = np.repeat(np.arange(ring_sizes.size), ring_sizes)
    point_keep = keep_ring[ring_index]
    poly_of_ring = np.repeat(np.arange(outer.size - 1), np.diff(outer))
    # Renumber the kept rings consecutively for shapely.linearrings.
    new_ring_id = np.cumsum(keep_ring) - 1
    rings = shapely.linearrings(
        points[point_keep], indices=new_ring_id[ring_index[point_keep]]
    )
    ring_poly = poly_of_ring[keep_ring]
    # A polygon whose exterior ring is degenerate is dropped whole.
    exterior_kept = keep_ring[outer[:-1]]
    select = exterior_kept[ring_poly]
    if not select.any():
        return shapely.MultiPolygon()
    polys = shapely.polygons(rings[select], indices=ring_poly[select])
    polys = polys[~shapely.is_empty(polys)]
    polys = polys[shapely.area(polys) > 0]
    if polys.size == 0:
        return shapely.MultiPolygon()
    multi = shapely.multipolygons(polys)
    if not shapely.is_valid(multi):
        multi = shapely.make_valid(multi)
    return multi


def _flat_parts(geom, kind):
    """Return the non-empty single parts of ``kind`` in ``geom``, collections flattened."""
    parts = shapely.get_parts(geom)
    while True:
        nested = shapely.get_type_id(parts) >= 4  # multi-part geometry or collection
        if not nested.any():
            break
        parts = np.concatenate([parts[~nested], shapely.get_parts(parts[nested])])
    return [p for p in parts if isinstance(p, kind) and not p.is_empty]


def _polygonal(geom):
    """Keep only the polygon parts of ``geom`` as a MultiPolygon."""
    return shapely.MultiPolygon([p for p in _flat_parts(geom, shapely.Polygon) if p.area > 0])


def _lines(geom):
    """Keep only the line parts of ``geom`` as a MultiLineString."""
    lines = _flat_parts(geom, shapely.LineString)
    return shapely.MultiLineString([ln for ln in lines if ln.length > 0])


def contour_bands(
    grid: Grid,
    levels: str | Sequence[float] | np.ndarray | None = None,
    *,
    simplify: float | bool | None = None,
) -> gpd.GeoDataFrame:
    """Trace filled isotherm bands of a grid, clipped to its region.

    Parameters
    ----------
    grid
        A :class:`kwxmap.grid.Grid` with values (NaN outside the region).
    levels
        Band edges: ``None``/``"nice"`` (1 °C or 2 °C steps covering the data
        range, at most 25 bands), a list of numbers, or ``"start:stop:step"``
        such as ``"-20:40:2"``; see :func:`resolve_levels`.
    simplify
        Optional simplification tolerance in grid units (metres), applied to
        all bands together as a coverage (shared edges stay shared, so no gaps
        or overlaps appear; the region boundary is kept exactly as it is).
        ``True`` means half the grid resolution;
        ``None``/``False``/``0`` keeps every vertex.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, one row per non-empty band in increasing order, columns
        ``lower``, ``upper`` (°C, the band holds ``lower < value <= upper``),
        ``label`` (e.g. ``"24–25 °C"``) and ``geometry`` (MultiPolygon with
        holes). ``attrs["levels"]`` holds all requested edges.

    Raises
    ------
    InputError
        For bad levels or a grid without finite values (a :class:`ValueError`).

    Warns
    -----
    KwxmapWarning
        When no band meets the data (levels outside the data range).

    Examples
    --------
    >>> import numpy as np, shapely
    >>> from kwxmap.grid import make_grid
    >>> g = make_grid("제주", resolution=2000.0)
    >>> xx, yy = np.meshgrid(g.x, g.y)
    >>> g = g.copy(values=np.where(g.mask, 10 + (xx - xx.min()) / 10000, np.nan))
    >>> bands = contour_bands(g, [9, 11, 13, 15, 17])
    >>> bands["label"].tolist()
    ['9–11 °C', '11–13 °C', '13–15 °C', '15–17 °C']
    >>> bool(shapely.is_valid(bands.geometry).all()), bands.crs.to_epsg()
    (True, 4326)
    """
    grid = _check_grid(grid)
    vmin, vmax = _data_range(grid)
    edges = resolve_levels(levels, vmin, vmax)
    x, y, z = _filled_field(grid)
    gen = contourpy.contour_generator(
        x, y, z, fill_type=contourpy.FillType.ChunkCombinedOffsetOffset, chunk_count=1
    )
    region = grid.region
    shapely.prepare(region)
    lowers, uppers, geoms = [], [], []
    for lower, upper in zip(edges[:-1], edges[1:], strict=True):
        points, offsets, outer = gen.filled(float(lower), float(upper))
        if points[0] is None:
            continue
        multi = _polygons_from_filled(points[0], offsets[0], outer[0])
        if multi.is_empty:
            continue
        clipped = _polygonal(shapely.intersection(multi, region))
        if clipped.is_empty:
            continue
        lowers.append(float(lower))
        uppers.append(float(upper))
        geoms.append(clipped)
    geoms_arr = np.array(geoms, dtype=object)
    if simplify and len(geoms):
        tol = 0.5 * float(grid.resolution) if simplify is True else float(simplify)
        if tol < 0:
            raise InputError(f"simplify={simplify!r} must be a tolerance >= 0 in metres")
        # Only the isotherm edges are simplified; the coast stays exact.
        geoms_arr = shapely.coverage_simplify(geoms_arr, tol, simplify_boundary=False)
        geoms_arr = np.array([_polygonal(g) for g in geoms_arr], dtype=object)
    bands = gpd.GeoDataFrame(
        {
            "lower": np.array(lowers, dtype=float),
            "upper": np.array(uppers, dtype=float),
            "label": [band_label(lo, up) for lo, up in zip(lowers, uppers, strict=True)],
        },
        geometry=gpd.GeoSeries(geoms_arr, crs=grid.crs),
    )
    bands = bands.to_crs(4326)
    invalid = ~bands.geometry.is_valid
    if invalid.any():
        bands.loc[invalid, "geometry"] = bands.geometry[invalid].apply(
            lambda g: _polygonal(shapely.make_valid(g))
        )
    bands = bands[~bands.geometry.is_empty].reset_index(drop=True)
    if bands.empty:
        warnings.warn(
            f"no isotherm band: the levels {_format_level(edges[0])}..{_format_level(edges[-1])} "
            f"°C miss the data range {_format_level(vmin)}..{_format_level(vmax)} °C; use "
            f"levels that cover it, or the default levels",
            KwxmapWarning,
            stacklevel=2,
        )
    bands.attrs["levels"] = edges.tolist()
    return bands


def contour_lines(
    grid: Grid, levels: str | Sequence[float] | np.ndarray | None = None
) -> gpd.GeoDataFrame:
    """Trace isotherm lines of a grid, clipped to its region.

    Parameters
    ----------
    grid
        A :class:`kwxmap.grid.Grid` with values (NaN outside the region).
    levels
        As for :func:`contour_bands`, but one level is enough (``[0]`` for the
        freezing line); with the same ``levels`` the lines run exactly along
        the bands' shared edges.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, one row per level that crosses the region, columns
        ``level`` (°C), ``label`` (e.g. ``"25 °C"``) and ``geometry``
        (MultiLineString).

    Examples
    --------
    >>> import numpy as np
    >>> from kwxmap.grid import make_grid
    >>> g = make_grid("제주", resolution=2000.0)
    >>> xx, yy = np.meshgrid(g.x, g.y)
    >>> g = g.copy(values=np.where(g.mask, 10 + (xx - xx.min()) / 10000, np.nan))
    >>> contour_lines(g, [9, 11, 13, 15, 17])["level"].tolist()
    [11.0, 13.0, 15.0, 17.0]
    """
    grid = _check_grid(grid)
    vmin, vmax = _data_range(grid)
    edges = _resolve_levels(levels, vmin, vmax, least=1)
    x, y, z = _filled_field(grid)
    gen = contourpy.contour_generator(
        x, y, z, line_type=contourpy.LineType.ChunkCombinedOffset, chunk_count=1
    )
    region = grid.region
    shapely.prepare(region)
    out_levels, geoms = [], []
    for level in edges:
        points, offsets = gen.lines(float(level))
        if points[0] is None:
            continue
        pts, offs = points[0], offsets[0]
        sizes = np.diff(offs)
        keep = sizes >= 2
        idx = np.repeat(np.arange(sizes.size), sizes)
        new_id = np.cumsum(keep) - 1
        sel = keep[idx]
        if not sel.any():
            continue
        lines = shapely.linestrings(pts[sel], indices=new_id[idx[sel]])
        clipped = _lines(shapely.intersection(shapely.multilinestrings(lines), region))
        if clipped.is_empty:
            continue
        out_levels.append(float(level))
        geoms.append(clipped)
    lines_gdf = gpd.GeoDataFrame(
        {
            "level": np.array(out_levels, dtype=float),
            "label": [f"{_format_level(v)} °C" for v in out_levels],
        },
        geometry=gpd.GeoSeries(np.array(geoms, dtype=object), crs=grid.crs),
    )
    lines_gdf = lines_gdf.to_crs(4326)
    lines_gdf.attrs["levels"] = edges.tolist()
    return lines_gdf


def band_agreement(
    stations: gpd.GeoDataFrame, bands: gpd.GeoDataFrame, value: str = "temperature_c"
) -> gpd.GeoDataFrame:
    """Return, for each station, the band drawn under it and how far its reading is outside.

    A map people trust shows each station's reading inside the band under
    it. ``off_c`` is 0 when ``lower < reading <= upper``, else the distance
    (°C) to the nearer edge; ``off_steps`` divides it by the band's width.
    Stations on no band (outside the region) get NaN.

    Examples
    --------
    >>> from shapely.geometry import Point, box
    >>> bands = gpd.GeoDataFrame({"lower": [0.0, 1.0], "upper": [1.0, 2.0]},
    ...                          geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326)
    >>> st = gpd.GeoDataFrame({"temperature_c": [0.5, 0.2, 9.0]},
    ...                       geometry=[Point(0.5, 0.5), Point(1.5, 0.5), Point(5, 5)], crs=4326)
    >>> band_agreement(st, bands)[["off_c", "off_steps"]].round(2).values.tolist()
    [[0.0, 0.0], [0.8, 0.8], [nan, nan]]
    """
    st = stations.to_crs(4326)
    bd = bands.to_crs(4326)
    tree = shapely.STRtree(bd.geometry.to_numpy())
    pts, hits = tree.query(st.geometry.to_numpy(), predicate="intersects")
    lower = np.full(len(st), np.nan)
    upper = np.full(len(st), np.nan)
    lower[pts] = bd["lower"].to_numpy(dtype=float)[hits]
    upper[pts] = bd["upper"].to_numpy(dtype=float)[hits]
    reading = st[value].to_numpy(dtype=float)
    off = np.where(reading > upper, reading - upper, np.where(reading <= lower,
                                                              lower - reading, 0.0))
    off[np.isnan(lower)] = np.nan
    out = st.assign(band_lower=lower, band_upper=upper, off_c=off)
    return out.assign(off_steps=off / (upper - lower))
