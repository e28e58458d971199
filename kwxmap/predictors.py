"""Predictors of air temperature beyond the station network: drift columns for KED and splines.

Each predictor is computed **the same way** at the stations and at grid cells
from the point's location and ground elevation (the registry's station height
on the station side, the DEM on the grid side) and from data kwxmap ships:

``elevation``
    Ground elevation, km (the lapse-rate term).
``inversion``
    ``max(0, z - h)`` in km, with the hinge height ``h`` of a night
    inversion chosen per snapshot by :func:`fit_inversion_height`: together
    with ``elevation`` the vertical profile is piecewise linear and may bend
    (warmer slopes above a cold valley pool, colder summits above ``h``).
``coast``
    Proximity to the sea, ``exp(-d / 10 km)`` with ``d`` the distance to the
    nearest sea cell of the shipped 30″ GLOBE land mask
    (``coast_distance_korea_30s.tif``): 1 on the coast and on islands, ~0
    inland. The sea damps the daily cycle: warmer nights, cooler afternoons.
``terrain``
    Terrain position, km: the point's elevation minus the land-mean elevation
    of the shipped DEM smoothed over ~20 km (Gaussian, sigma 2 cells of
    1/12°). Negative in valleys (cold-air pools on calm nights), positive on
    ridges.
``elevation_x``, ``elevation_y``
    Elevation (km) times the east / north coordinate (1000 km units): a lapse
    rate that varies linearly across the country, for dense networks.

No urban predictor ships: no openly licensed urban-extent or impervious-surface
data set is available offline from the package registries kwxmap can depend
on; the registry's addresses are a poor proxy, so none is offered.

Examples
--------
>>> import pyproj
>>> tr = pyproj.Transformer.from_crs(4326, 5179, always_xy=True)
>>> xy = np.array([tr.transform(126.97, 37.57), tr.transform(130.90, 37.48)])
>>> p = Predictors(("elevation", "coast"))
>>> p.matrix(xy, [86.0, 221.0]).round(2)  # 서울 inland, 울릉도 an island
array([[0.09, 0.14],
       [0.22, 0.86]])
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

import numpy as np
import pyproj
from scipy import ndimage

from ._data import data_path
from .errors import InterpolationError

__all__ = [
    "PREDICTOR_NAMES",
    "Predictors",
    "coast_distance_km",
    "coast_proximity",
    "fit_inversion_height",
    "terrain_position",
]

#: Names :class:`Predictors` accepts.
PREDICTOR_NAMES = ("elevation", "inversion", "coast", "terrain", "elevation_x", "elevation_y")
#: e-folding distance of the coast proximity, km.
COAST_SCALE_KM = 10.0
#: Smoothing of the DEM for the terrain position, in cells of the shipped 1/12° DEM.
TERRAIN_SIGMA_CELLS = 2.0
#: Candidate hinge heights (m) of :func:`fit_inversion_height`.
INVERSION_CANDIDATES_M = tuple(range(100, 1001, 100))
#: Stations needed on each side of a hinge for it to be considered.
_MIN_SIDE = 8


@lru_cache(maxsize=1)
def _coast_raster() -> Any:
    from .dem import _read_geotiff_tifffile

    return _read_geotiff_tifffile(str(data_path("coast_distance_korea_30s.tif")))


@lru_cache(maxsize=1)
def _smoothed_dem() -> Any:
    from .dem import read_dem

    dem = read_dem()
    z = np.nan_to_num(dem.values, nan=0.0)
    land = (z > 0).astype(float)
    num = ndimage.gaussian_filter(z * land, TERRAIN_SIGMA_CELLS, mode="nearest")
    den = ndimage.gaussian_filter(land, TERRAIN_SIGMA_CELLS, mode="nearest")
    smooth = np.where(den > 1e-6, num / np.maximum(den, 1e-6), 0.0)
    return dataclasses.replace(dem, values=smooth)


def _lonlat(xy: Any, crs: Any) -> tuple[np.ndarray, np.ndarray]:
    pts = np.asarray(xy, dtype=float).reshape(-1, 2)
    tr = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    lon, lat = tr.transform(pts[:, 0], pts[:, 1])
    return np.asarray(lon), np.asarray(lat)


def _outside(what: str, lon: np.ndarray, lat: np.ndarray, bad: np.ndarray) -> InterpolationError:
    i = int(np.flatnonzero(bad)[0])
    return InterpolationError(
        f"{what} is only known within 124-132 E, 33-39 N; point ({lon[i]:.3f}, {lat[i]:.3f}) "
        f"and {int(bad.sum()) - 1} more lie outside: drop those stations or that predictor"
    )


def coast_distance_km(xy: Any, *, crs: Any = 5179) -> np.ndarray:
    """Distance to the nearest sea cell of the shipped land mask, km, at projected points.

    Examples
    --------
    >>> import pyproj
    >>> tr = pyproj.Transformer.from_crs(4326, 5179, always_xy=True)
    >>> bool(coast_distance_km([tr.transform(127.9, 36.9)])[0] > 50)  # 충주, inland
    True
    """
    lon, lat = _lonlat(xy, crs)
    d = _coast_raster().sample(lon, lat)
    bad = ~np.isfinite(d)
    if bad.any():
        raise _outside("the distance to the coast", lon, lat, bad)
    return d


def coast_proximity(xy: Any, *, crs: Any = 5179) -> np.ndarray:
    """``exp(-d / 10 km)``, ``d`` the distance to the sea (:func:`coast_distance_km`).

    Examples
    --------
    >>> import pyproj
    >>> tr = pyproj.Transformer.from_crs(4326, 5179, always_xy=True)
    >>> coast_proximity([tr.transform(127.9, 36.9)]).round(3)  # 충주: 77 km inland
    array([0.])
    """
    return np.exp(-coast_distance_km(xy, crs=crs) / COAST_SCALE_KM)


def terrain_position(xy: Any, elevation_m: Any, *, crs: Any = 5179) -> np.ndarray:
    """Elevation minus the ~20 km smoothed land elevation, km (valley < 0 < ridge).

    Examples
    --------
    >>> import pyproj
    >>> tr = pyproj.Transformer.from_crs(4326, 5179, always_xy=True)
    >>> t = terrain_position([tr.transform(128.72, 37.68), tr.transform(128.66, 37.38)],
    ...                      [772.6, 307.4])  # 대관령 on its plateau, 정선군 in its valley
    >>> [round(float(v), 2) for v in t]
    [-0.05, -0.19]
    """
    lon, lat = _lonlat(xy, crs)
    base = _smoothed_dem().sample(lon, lat)
    bad = ~np.isfinite(base)
    if bad.any():
        raise _outside("the terrain position", lon, lat, bad)
    return (np.asarray(elevation_m, dtype=float) - base) / 1000.0


@dataclasses.dataclass(frozen=True)
class Predictors:
    """A set of predictors (drift columns) and the inversion hinge height.

    Parameters
    ----------
    names
        Predictor names from :data:`PREDICTOR_NAMES`; ``"inversion"`` is
        added by :meth:`with_inversion`, not listed by hand.
    inversion_m
        Hinge height (m) of the ``inversion`` column, or None for none.
    """

    names: tuple[str, ...] = ("elevation", "coast", "terrain")
    inversion_m: float | None = None

    def __post_init__(self) -> None:
        names = tuple(self.names)
        unknown = [n for n in names if n not in PREDICTOR_NAMES or n == "inversion"]
        if unknown:
            valid = ", ".join(repr(n) for n in PREDICTOR_NAMES if n != "inversion")
            raise InterpolationError(
                f"unknown predictor(s) {', '.join(map(repr, unknown))}; use some of {valid} "
                f"(the inversion hinge comes from inversion_m=)"
            )
        if len(set(names)) != len(names):
            raise InterpolationError(f"predictors repeat a name: {names!r}")
        object.__setattr__(self, "names", names)

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names of :meth:`matrix`, in order."""
        hinge = ("inversion",) if self.inversion_m is not None else ()
        return self.names + hinge

    def with_inversion(self, inversion_m: float | None) -> Predictors:
        """Return a copy with the hinge height set (None: no inversion column)."""
        return dataclasses.replace(self, inversion_m=inversion_m)

    def matrix(self, xy: Any, elevation_m: Any, *, crs: Any = 5179) -> np.ndarray:
        """Return the ``(M, k)`` predictor columns at projected points.

        Parameters
        ----------
        xy
            ``(M, 2)`` coordinates in metres in ``crs``.
        elevation_m
            Ground elevation of each point (station height or DEM), metres.
        crs
            CRS of ``xy``.
        """
        pts = np.asarray(xy, dtype=float).reshape(-1, 2)
        z = np.asarray(elevation_m, dtype=float).reshape(-1)
        if z.shape[0] != pts.shape[0] or not np.isfinite(z).all():
            raise InterpolationError(
                f"predictors need a finite elevation for each of the {pts.shape[0]} points; "
                f"got {z.shape[0]} values, {int((~np.isfinite(z)).sum())} not finite"
            )
        zk = z / 1000.0
        cols: list[np.ndarray] = []
        for name in self.columns:
            if name == "elevation":
                cols.append(zk)
            elif name == "inversion":
                cols.append(np.maximum(z - float(self.inversion_m or 0.0), 0.0) / 1000.0)
            elif name == "coast":
                cols.append(coast_proximity(pts, crs=crs))
            elif name == "terrain":
                cols.append(terrain_position(pts, z, crs=crs))
            elif name == "elevation_x":
                cols.append(zk * pts[:, 0] / 1e6)
            else:  # elevation_y
                cols.append(zk * pts[:, 1] / 1e6)
        return np.column_stack(cols) if cols else np.empty((pts.shape[0], 0))


def fit_inversion_height(
    xy: Any, elevation_m: Any, values: Any, base: np.ndarray | None = None
) -> float | None:
    """Hinge height (m) of a bending vertical profile, or None when a straight one fits.

    For each candidate height ``h`` in :data:`INVERSION_CANDIDATES_M` with at
    least 8 stations above and below it, the values are regressed by least
    squares on ``[1, x, y, base..., z, max(0, z - h)]``; the ``h`` with the
    smallest residual is kept when its F-test against the straight profile
    (no hinge) is significant at 0.1 % with the Bonferroni factor for the
    candidates tried — a bend must be plain in the data, as on a calm clear
    night when the slopes are warmer than the valley floors.

    Parameters
    ----------
    xy
        ``(N, 2)`` station coordinates, metres.
    elevation_m
        Station elevations, m.
    values
        Station temperatures.
    base
        Optional ``(N, k)`` other predictors (e.g. coast proximity) fitted at the same time.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.uniform(0, 1200, 200)
    >>> xy = rng.uniform(0, 3e5, (200, 2))
    >>> night = 2.0 + 0.012 * np.minimum(z, 500) - 0.006 * np.maximum(z - 500, 0)
    >>> fit_inversion_height(xy, z, night + rng.normal(0, 0.3, 200))
    500.0
    >>> fit_inversion_height(xy, z, 20 - 0.0065 * z + rng.normal(0, 0.3, 200)) is None
    True
    """
    from scipy import stats

    z = np.asarray(elevation_m, dtype=float)
    t = np.asarray(values, dtype=float)
    p = np.asarray(xy, dtype=float)
    p = (p - p.mean(axis=0)) / 1e5
    cols = [np.ones(z.size), p[:, 0], p[:, 1], z / 1000.0]
    if base is not None:
        cols += list(np.asarray(base, dtype=float).reshape(z.size, -1).T)
    design = np.column_stack(cols)

    def rss(a: np.ndarray) -> float:
        coef, *_ = np.linalg.lstsq(a, t, rcond=None)
        r = t - a @ coef
        return float(r @ r)

    candidates = [
        h
        for h in INVERSION_CANDIDATES_M
        if (z > h).sum() >= _MIN_SIDE and (z <= h).sum() >= _MIN_SIDE
    ]
    if not candidates:
        return None
    straight = rss(design)
    fits = [(rss(np.column_stack([design, np.maximum(z - h, 0.0)])), h) for h in candidates]
    best, h = min(fits)
    dof = z.size - design.shape[1] - 1
    if dof < 5 or best <= 0:
        return None if dof < 5 else float(h)
    f = (straight - best) / (best / dof)
    p_value = float(stats.f.sf(f, 1, dof)) * len(candidates)
    return float(h) if p_value < 1e-3 else None
