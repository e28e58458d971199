"""What every interpolation path shares: stations, checked options, one fit, honoured readings.

Stations are prepared in metres, options checked, a method fitted and
evaluated once, and the readings honoured near their sites.

:func:`kwxmap.interpolate` (:mod:`._api`), cross-validation (:mod:`.cv`) and the
series engine (:mod:`.batch`) build on these; this module imports none of them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import scipy.sparse
import shapely
from scipy.spatial import cKDTree

from ..errors import InterpolationError, KwxmapError
from ..grid import Grid
from ..regions import resolve_region
from ._base import DUPLICATE_TOLERANCE_M, METHODS, Interpolator
from .elevation import ElevationModel
from .targets import Points

#: Stations farther than this from the region (metres) are ignored with a warning.
STATION_BUFFER_M = 200_000.0


@dataclasses.dataclass
class Stations:
    """Usable stations of a GeoDataFrame, projected to the grid CRS (internal)."""

    xy: np.ndarray
    values: np.ndarray
    elevation: np.ndarray | None
    ids: np.ndarray
    names: np.ndarray | None
    n_missing: int
    crs: Any = 5179
    asos: np.ndarray | None = None  # True at ASOS stations, when the network is known

    def subset(self, keep: np.ndarray) -> Stations:
        return Stations(
            self.xy[keep],
            self.values[keep],
            None if self.elevation is None else self.elevation[keep],
            self.ids[keep],
            None if self.names is None else self.names[keep],
            self.n_missing,
            self.crs,
            None if self.asos is None else self.asos[keep],
        )


def station_networks(gdf: Any) -> np.ndarray | None:
    """Return True at ASOS stations from a ``network`` column (``ASOS``/``AWS``), else None.

    None also when any station's network is unknown: the ASOS offset
    (:attr:`~kwxmap.interpolate.elevation.ElevationModel.network`) is used only when
    every station says which network it belongs to.

    Examples
    --------
    >>> import pandas as pd
    >>> station_networks(pd.DataFrame({"network": ["ASOS", "aws", "AWS"]})).tolist()
    [True, False, False]
    >>> station_networks(pd.DataFrame({"network": ["ASOS", ""]})) is None
    True
    """
    if "network" not in gdf.columns:
        return None
    net = gdf["network"].astype(str).str.strip().str.upper().to_numpy()
    if not np.isin(net, ["ASOS", "AWS"]).all():
        return None
    return net == "ASOS"


def check_method(method: Any, *, allow_auto: bool = True) -> str:
    """Validate a method name against :data:`METHODS` (and ``"auto"``)."""
    valid = sorted(METHODS) + (["auto"] if allow_auto else [])
    if not isinstance(method, str) or method not in valid:
        raise InterpolationError(f"unknown method {method!r}; use one of {', '.join(valid)}")
    return method


def make_estimator(method: str, params: dict[str, Any]) -> Interpolator:
    """Build ``METHODS[method](**params)``, naming unknown parameters in the error."""
    cls = METHODS[method]
    known = cls.param_names()
    unknown = sorted(set(params) - set(known))
    if unknown:
        hint = f"valid: {', '.join(known)}" if known else "it takes no parameters"
        raise InterpolationError(
            f"unknown parameter(s) {', '.join(repr(u) for u in unknown)} for method "
            f"{method!r}; {hint}"
        )
    return cls(**params)


def check_setup(
    method: Any,
    params: dict[str, Any],
    elevation: Any,
    lapse_rate: Any,
    dem: Any,
    *,
    allow_auto: bool = True,
) -> ElevationModel:
    """Validate the options of one interpolation before any work; return the elevation model.

    Checks the method, its parameters, ``elevation``/``lapse_rate``, that
    ``dem`` comes with an elevation mode, that ``"drift"`` has a method that
    takes it, and that ``"auto"`` gets no parameters.
    """
    check_method(method, allow_auto=allow_auto)
    model = ElevationModel(elevation, lapse_rate)
    if dem is not None and elevation is None:
        raise InterpolationError(
            "dem= is only used with elevation='lapse', 'fit' or 'drift'; set elevation= "
            "or drop dem="
        )
    if method == "auto":
        if params:
            raise InterpolationError(
                f"method='auto' compares methods with their defaults; parameters "
                f"{', '.join(map(repr, sorted(params)))} cannot be passed with it"
            )
        return model
    make_estimator(method, params)  # unknown parameters fail fast
    check_drift(method, elevation)
    return model


def check_drift(method: str, elevation: Any) -> None:
    """Raise when ``elevation`` hands drift columns to a method that takes none."""
    if elevation in ("drift", "predictors") and not METHODS[method].accepts_drift:
        raise InterpolationError(
            f"elevation={elevation!r} needs a method that takes an external drift (kriging, "
            f"spline); {method!r} does not. Use elevation='lapse' or 'fit'"
        )


def check_elevation(elevation: Any, lapse_rate: Any) -> float | None:
    """Validate ``elevation``/``lapse_rate``; return the fixed rate for ``"lapse"``."""
    return ElevationModel(elevation, lapse_rate).lapse_rate


def prepare_stations(gdf: Any, *, value: str, crs: Any, need_elevation: bool = False) -> Stations:
    """Validate a station GeoDataFrame and project it to ``crs`` (metres).

    Drops rows whose value is NaN (counted in ``n_missing``); raises
    :class:`~kwxmap.InterpolationError` for a missing CRS/column, non-point
    geometries, missing elevations when they are needed, fewer than 3 usable
    stations, and stations sharing a location.
    """
    if not (hasattr(gdf, "geometry") and hasattr(gdf, "crs") and hasattr(gdf, "columns")):
        raise InterpolationError(
            f"expected a GeoDataFrame of stations (from join_readings), got {type(gdf).__name__}"
        )
    if gdf.crs is None:
        raise InterpolationError(
            "the station GeoDataFrame has no CRS; set it (e.g. gdf.set_crs(4326)) first"
        )
    if value not in gdf.columns:
        numeric = [c for c in gdf.columns if pd.api.types.is_numeric_dtype(gdf[c])]
        raise InterpolationError(
            f"value column {value!r} not in the GeoDataFrame; numeric columns: "
            f"{', '.join(map(repr, numeric)) or 'none'}"
        )
    column = gdf[value]
    kind = column.dtype
    if (
        pd.api.types.is_bool_dtype(kind)
        or pd.api.types.is_datetime64_any_dtype(kind)
        or pd.api.types.is_timedelta64_dtype(kind)
    ):
        # pd.to_numeric would turn True/False into 1/0 and times into nanoseconds
        raise InterpolationError(
            f"value column {value!r} has dtype {str(kind)!r}, not numbers; convert it to "
            f"numbers or pass value= with a numeric column"
        )
    try:
        vals = pd.to_numeric(column, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InterpolationError(f"value column {value!r} is not numeric: {exc}") from exc
    geoms = gdf.geometry.to_numpy()
    bad_geom = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    not_point = ~bad_geom & (shapely.get_type_id(geoms) != 0)
    if not_point.any():
        raise InterpolationError(
            f"{int(not_point.sum())} station geometries are not points; stations must be Points"
        )
    ids = gdf["station_id"].to_numpy() if "station_id" in gdf.columns else gdf.index.to_numpy()
    names = gdf["name_ko"].to_numpy() if "name_ko" in gdf.columns else None
    elev = None
    if need_elevation:
        if "elevation_m" not in gdf.columns:
            raise InterpolationError(
                "elevation= needs station elevations in an 'elevation_m' column; join the "
                "readings to the registry with join_readings() first"
            )
        elev = pd.to_numeric(gdf["elevation_m"], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
    usable = ~bad_geom & np.isfinite(vals)
    if elev is not None:
        no_elev = usable & ~np.isfinite(elev)
        if no_elev.any():
            which = ", ".join(str(i) for i in ids[no_elev][:5])
            raise InterpolationError(
                f"{int(no_elev.sum())} station(s) have no elevation_m (ids {which}); fill "
                f"elevation_m, or use elevation=None (--elevation none)"
            )
    n_total = len(vals)
    if not usable.any():
        raise InterpolationError(
            f"all {n_total} station values in {value!r} are NaN (or have no location); "
            f"nothing to interpolate"
        )
    pts = geoms[usable]
    src = pyproj.CRS.from_user_input(gdf.crs)
    dst = pyproj.CRS.from_user_input(crs)
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    if not src.equals(dst):
        x, y = pyproj.Transformer.from_crs(src, dst, always_xy=True).transform(x, y)
    xy = np.column_stack([x, y]).astype(float)
    if not np.isfinite(xy).all():
        raise InterpolationError(
            f"some station coordinates cannot be projected from {src.to_string()!r}; check "
            f"that the GeoDataFrame's CRS matches its coordinates"
        )
    out = Stations(
        xy=xy,
        values=vals[usable],
        elevation=None if elev is None else elev[usable],
        ids=np.asarray(ids)[usable],
        names=None if names is None else np.asarray(names)[usable],
        n_missing=int(n_total - usable.sum()),
        crs=crs,
        asos=None if (networks := station_networks(gdf)) is None else networks[usable],
    )
    _check_duplicates(out)
    if len(out.values) < 3:
        raise InterpolationError(
            f"need at least 3 stations with a {value!r} value, got {len(out.values)} "
            f"({out.n_missing} missing)"
        )
    return out


def _label(st: Stations, i: int) -> str:
    name = st.names[i] if st.names is not None else None
    return f"{st.ids[i]} {name}" if isinstance(name, str) and name else f"{st.ids[i]}"


def _check_duplicates(st: Stations) -> None:
    pairs = cKDTree(st.xy).query_pairs(DUPLICATE_TOLERANCE_M, output_type="ndarray")
    if len(pairs):
        shown = "; ".join(f"{_label(st, i)} & {_label(st, j)}" for i, j in pairs[:5].tolist())
        raise InterpolationError(
            f"{len(pairs)} pair(s) of stations share a location ({shown}); keep one reading "
            f"per location (e.g. join_readings(on_duplicate='mean')) or drop the duplicates"
        )


def station_area(target: Any, crs: Any) -> Any:
    """Return where a target's stations may be: South Korea and the target, each + 200 km.

    Every target (a national or regional grid, a set of points) takes the
    stations of the whole country and of wherever it lies, so a place's value
    does not depend on which region or which other places were asked with it.
    """
    return shapely.union(resolve_region("south-korea", crs=crs), target)


def _drop_far(st: Stations, region: Any, crs: Any) -> tuple[Stations, list[str], list[str]]:
    """Drop stations farther than the buffer from the region.

    Returns the kept stations, the labels of all dropped ones, and the labels of
    those that are also far from South Korea (likely bad coordinates or CRS).
    """
    pts = shapely.points(st.xy)
    far = shapely.distance(region, pts) > STATION_BUFFER_M
    if not far.any():
        return st, [], []
    country = resolve_region("south-korea", crs=crs)
    idx = np.flatnonzero(far)
    outside = idx[shapely.distance(country, pts[idx]) > STATION_BUFFER_M]
    return st.subset(~far), [_label(st, i) for i in idx], [_label(st, i) for i in outside]


#: How far (m) a station's surveyed height corrects the DEM around it: the
#: shipped DEM resolves about 2 km, so closer than that the station knows better.
HEIGHT_BLEND_M = 2000.0


def station_sites(gdf: Any, st: Stations) -> Stations:
    """Return every station of ``gdf`` with a height, reporting or not.

    A station's site is a fact of the terrain, not of one time's readings;
    ``st`` when the frame has no more.
    """
    try:
        probe = gdf.assign(_kwxmap_site=0.0)
        sites = prepare_stations(probe, value="_kwxmap_site", crs=st.crs, need_elevation=True)
    except (InterpolationError, AttributeError, ValueError):
        return st
    if sites.elevation is None:
        return st
    ok = np.isfinite(sites.elevation)
    return sites.subset(ok) if ok.sum() >= len(st.values) else st


def _dem_at(
    points: np.ndarray, crs: Any, dem: Any, cells: np.ndarray, z_cells: np.ndarray
) -> np.ndarray:
    """Return the DEM's height at ``points``: sampled, else that of the nearest cell."""
    from ..dem import sample_dem

    try:
        return sample_dem(points, crs=crs, dem=dem)
    except (KwxmapError, ValueError, TypeError):  # a projected or downloaded DEM
        return z_cells[cKDTree(cells).query(points)[1]]


def station_heights_in_dem(
    xy: np.ndarray, z: np.ndarray, st: Stations, z_at_stations: np.ndarray
) -> np.ndarray:
    """Correct DEM heights near stations towards the stations' surveyed heights.

    A DEM cell holds the mean height of about 2 km of ground; a station's
    reading is at its own height. Near each station the DEM is shifted by the
    station's height minus the DEM's there, with a Gaussian weight of width
    :data:`HEIGHT_BLEND_M` (weights normalised where stations crowd), so the
    surface drawn at a station is the one at the station's height: the map
    agrees with the reading, and far from stations nothing changes.

    Examples
    --------
    >>> st = Stations(xy=np.array([[0.0, 0.0]]), values=np.array([1.0]),
    ...               elevation=np.array([300.0]), ids=np.array([1]), names=None, n_missing=0)
    >>> xy = np.array([[0.0, 0.0], [2000.0, 0.0], [20000.0, 0.0]])
    >>> station_heights_in_dem(xy, np.array([100.0, 100.0, 100.0]), st, np.array([100.0])).round(1)
    array([300. , 173.6, 100. ])
    """
    if st.elevation is None or not len(st.values):
        return z
    return z + near_stations(st.xy, xy) @ np.nan_to_num(st.elevation - z_at_stations)


def near_stations(station_xy: np.ndarray, xy: np.ndarray) -> Any:
    """Return the sparse (targets x stations) weights that spread a per-station quantity.

    Gaussian in distance, width :data:`HEIGHT_BLEND_M`, cut at three widths;
    a target's weights are divided by their sum where it exceeds one (where
    stations crowd), so a quantity shared by all nearby stations is kept.

    Examples
    --------
    >>> w = near_stations(np.array([[0.0, 0.0]]), np.array([[0.0, 0.0], [2000.0, 0.0]]))
    >>> w.toarray().round(3).tolist()
    [[1.0], [0.368]]
    """
    w = gaussian_weights(station_xy, xy)
    total = np.asarray(w.sum(axis=1)).ravel()
    return scipy.sparse.diags(1.0 / np.maximum(total, 1.0)) @ w


def gaussian_weights(station_xy: np.ndarray, xy: np.ndarray) -> Any:
    """Return sparse (targets x stations) ``exp(-(d / HEIGHT_BLEND_M)**2)``, cut at 3 widths."""
    pairs = cKDTree(xy).sparse_distance_matrix(
        cKDTree(station_xy), 3.0 * HEIGHT_BLEND_M, output_type="coo_matrix")
    w = np.exp(-((pairs.data / HEIGHT_BLEND_M) ** 2))
    return scipy.sparse.csr_matrix((w, (pairs.row, pairs.col)),
                                   shape=(len(xy), len(station_xy)))


def station_anomalies(
    est: Interpolator, st: Stations, model: ElevationModel, rate: float | None
) -> np.ndarray:
    """Each reading minus the fitted surface just beside its station (1 m away).

    Beside the station, an exact interpolator gives the reading itself, while
    a smoothing one (the spline) or kriging with a nugget gives the smooth
    field without the station's own spike: the difference is the station's
    local anomaly, which :func:`fit_predict` spreads over
    :data:`HEIGHT_BLEND_M` so the map agrees with every reading.
    """
    beside = st.xy + np.array([1.0, 0.0])
    base = model.restore(est.predict(beside, drift=model.drift(st.elevation, beside)),
                         st.elevation, rate)
    return np.nan_to_num(st.values - base)


def _target_xy(
    tgt: Grid | Points, *, dem: Any, model: ElevationModel, sites: Stations | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Coordinates to predict at and, when the model needs it, their ground elevation.

    DEM heights are corrected near the station ``sites`` (every station of the
    input, reporting or not: :func:`station_heights_in_dem`).
    """
    if isinstance(tgt, Grid):
        z = None
        xy = tgt.cell_xy()
        if model.needs_elevation:
            from ..dem import grid_elevation

            z = grid_elevation(tgt, dem=dem)[tgt.mask]
            if sites is not None:
                z = station_heights_in_dem(xy, z, sites, _dem_at(sites.xy, tgt.crs, dem, xy, z))
        return xy, z
    if not model.needs_elevation:
        return tgt.xy, None
    if tgt.elevation_m is not None:
        return tgt.xy, tgt.elevation_m
    from ..dem import sample_dem

    z = sample_dem(tgt.xy, crs=tgt.crs, dem=dem)
    if np.isnan(z).any():
        raise InterpolationError(
            f"the DEM has no elevation at {int(np.isnan(z).sum())} target point(s) (at sea or "
            f"outside it); give the points an 'elevation_m' column or use elevation=None"
        )
    if sites is not None:
        z = station_heights_in_dem(tgt.xy, z, sites, sample_dem(sites.xy, crs=tgt.crs, dem=dem))
    return tgt.xy, z


def fit_predict(
    est: Interpolator,
    st: Stations,
    xy: np.ndarray,
    z: np.ndarray | None,
    *,
    model: ElevationModel,
    anomalies: bool = False,
    asos: np.ndarray | None = None,
) -> tuple[np.ndarray, float | None]:
    """Fit ``est`` to the stations (with the elevation model) and predict at ``xy``.

    ``z`` is the ground elevation at ``xy`` (needed when the model uses elevation);
    ``asos`` flags the places that are ASOS sites (default none: a map's cells
    are read as AWS sites). With ``anomalies``, each station's local anomaly
    (:func:`station_anomalies`) is added around it: what maps draw.
    Returns ``(predictions, lapse rate used or None)``.
    """
    model = model.for_stations(len(st.values), st.crs, asos=st.asos)
    rate = model.rate(st.elevation, st.values, st.xy)
    reduced = model.reduce(st.values, st.elevation, rate)
    est.fit(st.xy, reduced, drift=model.drift(st.elevation, st.xy, st.asos))
    pred = model.restore(est.predict(xy, drift=model.drift(z, xy, asos)), z, rate)
    if anomalies:
        pred = pred + near_stations(st.xy, xy) @ station_anomalies(est, st, model, rate)
    return pred, rate
