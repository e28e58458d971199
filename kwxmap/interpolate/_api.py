"""``interpolate()``: station GeoDataFrame -> :class:`~kwxmap.grid.Grid`, and shared preparation.

Decisions (documented in :func:`interpolate`):

- Stations are projected to the grid CRS with pyproj (``always_xy=True``);
  distances are metres, never degrees.
- Every target uses the stations within :data:`STATION_BUFFER_M` (200 km)
  of South Korea or of the target (:func:`station_area`): a regional map
  equals the national one on its cells, and a point's value does not depend
  on the other points asked. Farther stations (bad coordinates or CRS) are
  dropped with a :class:`~kwxmap.KwxmapWarning`.
- Stations whose value is NaN are dropped (counted in ``grid.attrs``); two
  stations at the same location are an error naming both.
- Only cells inside the region are computed.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InterpolationError, KwxmapWarning
from ..grid import Grid
from ..options import DEFAULT_ELEVATION, DEFAULT_METHOD
from ._base import Interpolator
from ._core import (
    STATION_BUFFER_M,
    _drop_far,
    _target_xy,
    check_setup,
    fit_predict,
    make_estimator,
    prepare_stations,
    station_area,
    station_sites,
)
from .cv import HOLDOUT_RADIUS_M, _holdout_predict, choose_method
from .elevation import ELEVATION_MODES, ElevationModel, resolve_elevation
from .memory import check_memory
from .targets import Points, resolve_target

__all__ = [
    "DEFAULT_ELEVATION",
    "DEFAULT_METHOD",
    "ELEVATION_MODES",
    "HOLDOUT_RADIUS_M",
    "STATION_BUFFER_M",
    "interpolate",
]


def interpolate(
    gdf: Any,
    method: str = DEFAULT_METHOD,
    *,
    value: str = "temperature_c",
    resolution: float = 1000.0,
    region: Any = "south-korea",
    crs: Any = 5179,
    elevation: str | None = DEFAULT_ELEVATION,
    dem: Any = None,
    lapse_rate: float | None = None,
    return_variance: bool = False,
    target: Any = None,
    holdout: bool = False,
    max_memory: Any = None,
    honour_readings: bool = True,
    **params: Any,
) -> Any:
    """Interpolate station values onto a grid over a region, an existing grid, or points.

    Parameters
    ----------
    gdf
        Station GeoDataFrame (any CRS, must have one), e.g. from
        :func:`kwxmap.join_readings`; needs the ``value`` column, and
        ``elevation_m`` when ``elevation`` is set.
    method
        ``"kriging"`` (default, :data:`~kwxmap.options.DEFAULT_METHOD`, with
        the elevation predictors as drift), ``"spline"``, ``"idw"``,
        ``"barnes"``, ``"cressman"``, ``"nearest"``, or ``"auto"``: the
        candidate with the lowest leave-one-out RMSE on this snapshot (scores
        in ``grid.attrs["cv_scores"]``; with ``elevation="predictors"`` the
        candidates are :data:`~kwxmap.interpolate.cv.AUTO_PREDICTORS`).
    value
        Column to interpolate.
    resolution
        Cell size in metres.
    region
        Anything :func:`kwxmap.resolve_region` accepts.
    crs
        Grid CRS, EPSG 5179 (default) or 5186.
    elevation
        ``"predictors"`` (what the default ``"auto"``,
        :data:`~kwxmap.options.DEFAULT_ELEVATION`, means for kriging):
        elevation, coast proximity and terrain position
        (:mod:`kwxmap.predictors`) as drift columns whose coefficients are
        fitted to the snapshot (elevation alone under 60 stations); ``"lapse"``:
        reduce to sea level with a fixed rate (``lapse_rate``, default 6.5
        K/km), interpolate, restore with the grid's DEM elevation; ``"fit"``:
        the same with a rate fitted robustly from the stations
        (:func:`~kwxmap.interpolate.elevation.fit_lapse_rate`, can be negative
        on an inversion night; stored in ``grid.attrs["lapse_rate_k_per_km"]``);
        ``"drift"``: elevation as an external drift; ``None``: no correction.
        ``"drift"`` and ``"predictors"`` need a method that takes drift columns
        (kriging, spline). With ``method="auto"`` the chosen candidate's
        handling is in ``grid.attrs["elevation"]``. Station elevations come
        from the ``elevation_m`` column (the registry), grid elevations from
        ``dem``.
    dem
        ``None`` for the shipped ~2 km DEM, or a GeoTIFF path (any CRS,
        needs rasterio). See :mod:`kwxmap.dem` for how coarse the shipped one is.
    lapse_rate
        K/km for ``elevation="lapse"``.
    return_variance
        Kriging only: also compute the kriging variance (°C², of the
        interpolated field before the elevation restore, which does not change
        it) and return it as a second :class:`~kwxmap.grid.Grid` in
        ``grid.attrs["variance"]``.
    target
        Where to interpolate. None (default): a new grid over ``region`` at
        ``resolution``. A :class:`~kwxmap.grid.Grid`, an ``xarray.DataArray``
        (x/y in metres, a CRS) or a GeoTIFF path (needs rasterio): fill the
        cells of that grid (``region``/``resolution`` are not used). A
        GeoDataFrame of points or a DataFrame with ``lon``/``lat`` columns:
        the values at those points (ground elevation from an ``elevation_m``
        column when present, else from ``dem``).
    holdout
        Points only: predict each point without the stations within
        :data:`HOLDOUT_RADIUS_M` of it, so a point at a station gives that
        station's leave-one-out prediction (:func:`~kwxmap.cross_validate`).
    max_memory
        The most memory the process may use (bytes or ``"4GB"``): the
        estimate (:func:`~kwxmap.interpolate.memory.estimate_memory`) plus
        what the process already holds is checked against it before the
        work. Default: half the RAM.
    honour_readings
        Make the surface agree with every reading (default): the DEM under
        the cells is corrected towards the stations' surveyed heights within
        about 2 km (:func:`station_heights_in_dem`), and each station's local
        anomaly (its reading minus the fitted field beside it: the nugget of
        kriging, the smoothing of the spline) is spread over the same 2 km
        (:func:`station_anomalies`). Far from stations nothing changes, and
        leave-one-out skill is unchanged (a held-out station never lends its
        own anomaly). False gives the method's field alone.
    **params
        Method parameters (e.g. ``power=``, ``k=`` for idw; ``smoothing=`` for
        spline); unknown names raise.

    Returns
    -------
    Grid or DataFrame
        For points: a copy of the table with the ``value`` column (and
        ``elevation_m`` used, ``<value>_variance``), metadata in ``.attrs``.
        For grids: a Grid with ``values`` inside the region (or the target's
        mask), NaN outside; ``name=value``; ``attrs`` has ``method``,
        ``params``, ``elevation``, ``n_stations``, ``station_ids``,
        ``n_missing``, ``n_empty_cells``, ``dropped_far`` and, with elevation,
        ``lapse_rate_k_per_km``.

    Raises
    ------
    InterpolationError
        Bad method/parameters, fewer than 3 usable stations, all NaN,
        duplicate locations, missing elevations.
    RegionError
        Unknown region (with suggestions), bad resolution, grid too large.
    DataError
        DEM does not cover the region.

    Notes
    -----
    Every target uses the stations within 200 km of South Korea or of the
    target (:func:`station_area`), so a regional map equals the national
    map on its cells and a point's value does not depend on the other points
    asked. Farther stations (a sign of bad coordinates or a wrong CRS) are
    dropped (listed in ``attrs["dropped_far"]``) with a
    :class:`~kwxmap.KwxmapWarning`.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> gdf = gpd.GeoDataFrame(
    ...     {"temperature_c": [10.0, 12.0, 14.0, 11.0],
    ...      "elevation_m": [30.0, 60.0, 10.0, 700.0]},
    ...     geometry=[Point(127.0, 37.5), Point(127.5, 36.5), Point(126.9, 35.2),
    ...               Point(128.7, 37.7)], crs=4326)
    >>> g = interpolate(gdf, "idw", resolution=20_000, region="충북")
    >>> g.name, g.attrs["method"], g.attrs["n_stations"], g.attrs["elevation"]
    ('temperature_c', 'idw', 4, 'lapse')
    >>> g = interpolate(gdf, "idw", resolution=20_000, region="충북", elevation=None)
    >>> bool(np.nanmin(g.values) >= 10.0 and np.nanmax(g.values) <= 14.0)  # IDW is bounded
    True
    >>> interpolate(gdf, "linear")
    Traceback (most recent call last):
    ...
    kwxmap.errors.InterpolationError: unknown method 'linear'; use one of ...
    """
    elevation = resolve_elevation(method, elevation)
    model = check_setup(method, params, elevation, lapse_rate, dem)
    if method != "auto":
        _check_variance(make_estimator(method, params), method, return_variance)  # fail fast
    if holdout and (target is None or not isinstance(target, pd.DataFrame)):
        raise InterpolationError("holdout=True is for point targets (a table of points)")
    tgt = resolve_target(target, region=region, resolution=resolution, crs=crs)
    if isinstance(tgt, Grid) and not tgt.mask.any():
        raise InterpolationError(
            f"no cell centre falls inside the region at resolution {resolution!r} m; use a "
            f"finer resolution"
        )
    area = station_area(tgt.region if isinstance(tgt, Grid) else tgt.area, tgt.crs)
    st = prepare_stations(gdf, value=value, crs=tgt.crs, need_elevation=elevation is not None)
    st, far, outside = _drop_far(st, area, tgt.crs)
    if outside:
        shown = ", ".join(outside[:8]) + (" ..." if len(outside) > 8 else "")
        warnings.warn(
            f"{len(outside)} station(s) more than {STATION_BUFFER_M / 1000:.0f} km from the "
            f"region and from South Korea are ignored (check their coordinates/CRS): {shown}",
            KwxmapWarning,
            stacklevel=2,
        )
    if far:
        if len(st.values) < 3:
            raise InterpolationError(
                f"only {len(st.values)} station(s) lie within {STATION_BUFFER_M / 1000:.0f} km "
                f"of the region ({len(far)} farther ones ignored); need at least 3 — check "
                f"the region and the stations' coordinates/CRS"
            )

    attrs: dict[str, Any] = {"method_requested": method}
    if method == "auto":
        method, chosen, scores = choose_method(
            st, elevation=elevation, lapse_rate=model.lapse_rate
        )
        attrs["cv_scores"] = scores
        if chosen != elevation:
            attrs["elevation_requested"] = elevation
            elevation, model = chosen, ElevationModel(chosen)

    if isinstance(tgt, Grid):
        check_memory(tgt, method, max_memory=max_memory, params=params)
    xy, z = _target_xy(tgt, dem=dem, model=model,
                       sites=station_sites(gdf, st) if honour_readings else None)
    est = make_estimator(method, params)
    _check_variance(est, method, return_variance)
    if holdout:
        # auto chooses again without the held-out stations: cv's out-of-sample choice
        pred, rate = _holdout_predict(method, params, st, xy, z, model=model,
                                      rechoose=attrs.get("elevation_requested", elevation)
                                      if attrs["method_requested"] == "auto" else None)
    else:
        pred, rate = fit_predict(est, st, xy, z, model=model, anomalies=honour_readings)
    holes = int(np.isnan(pred).sum())
    if holes:
        where = "cells inside the region" if isinstance(tgt, Grid) else "points"
        warnings.warn(
            f"{holes} of {pred.size} {where} got no value from {method!r} "
            f"(too few stations within its search radius, e.g. around far islands); raise "
            f"search_radius/radius or use method='spline' or 'idw'",
            KwxmapWarning,
            stacklevel=2,
        )
    attrs.update(
        method=method,
        params=est.get_params(),
        elevation=elevation,
        value=value,
        n_stations=int(len(st.values)),
        station_ids=[_plain(i) for i in st.ids],
        n_missing=st.n_missing,
        n_empty_cells=holes,
        dropped_far=far,
        dem="shipped" if dem is None else str(dem),
    )
    if rate is not None:
        attrs["lapse_rate_k_per_km"] = rate
    if elevation is None:
        attrs.pop("dem")
    variance = None
    if return_variance:
        snap = model.for_stations(len(st.values), tgt.crs, asos=st.asos)
        variance = est.variance(xy, drift=snap.drift(z, xy))  # type: ignore[attr-defined]
    if isinstance(tgt, Points):
        out = tgt.frame.copy()
        out[value] = pred
        if z is not None:
            out["elevation_m"] = z
        if variance is not None:
            out[f"{value}_variance"] = variance
        out.attrs = {k: v for k, v in attrs.items() if k != "n_empty_cells"}
        return out
    values = np.full(tgt.shape, np.nan)
    values[tgt.mask] = pred
    if variance is not None:
        var = np.full(tgt.shape, np.nan)
        var[tgt.mask] = variance
        attrs["variance"] = tgt.copy(
            values=var, name=f"{value}_variance", attrs={"method": method, "units": "degC2"}
        )
    return tgt.copy(values=values, name=value, attrs=attrs)


def _check_variance(est: Interpolator, method: str, return_variance: bool) -> None:
    if return_variance and not hasattr(est, "variance"):
        raise InterpolationError(
            f"return_variance=True needs method='kriging'; {method!r} has no variance"
        )


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
