"""One call from readings to a finished map: parse, join, interpolate, contour, render.

:func:`snapshot` runs the whole pipeline for one observation time over a
region (the country, a province, a bounding box) and returns a
:class:`Snapshot` holding every intermediate product, so scripts can keep
the GeoDataFrames, the grid and the cross-validation report as well as the
map. :meth:`Snapshot.save` writes the HTML map and the GeoJSON layers
atomically.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from . import io
from .contours import contour_bands, contour_lines
from .dem import dem_attribution
from .errors import InputError
from .grid import Grid
from .interpolate import CVReport, cross_validate, interpolate
from .join import PLAUSIBLE_RANGE_C, JoinReport, join_readings
from .kmatime import is_daily, select_time
from .labels import DAILY_FORMATS, map_heading
from .options import (
    DEFAULT_ELEVATION,
    DEFAULT_METHOD,
    MapOptions,
    ReadOptions,
    SurfaceOptions,
    split_options,
)
from .readers import parse_readings
from .regions import is_country
from .render import render_map
from .scene import OUTSIDE_COLUMN
from .stations import StationRegistry, load_stations

__all__ = [
    "DEFAULT_ELEVATION",
    "DEFAULT_METHOD",
    "Snapshot",
    "draw",
    "load_joined",
    "load_points",
    "point_values",
    "snapshot",
]


@dataclass
class Snapshot:
    """Everything one map was made from.

    Attributes
    ----------
    stations
        Joined readings (EPSG:4326), one row per station used; with
        ``cv_error_c`` when cross-validation ran.
    grid
        The interpolated surface in the projected CRS.
    bands, lines
        Filled isotherms and isolines (EPSG:4326).
    map
        The folium map.
    report
        What the join could not match, duplicates, implausible values.
    cv
        The leave-one-out report, or None.
    heading
        The map's title and second line (:func:`kwxmap.labels.map_heading`):
        variable, KST time, ``N of M`` stations, source.
    """

    stations: gpd.GeoDataFrame
    grid: Grid
    bands: gpd.GeoDataFrame
    lines: gpd.GeoDataFrame
    map: folium.Map
    report: JoinReport | None = None
    cv: CVReport | None = None
    options: dict[str, Any] = field(default_factory=dict)
    heading: tuple[str, str] = ("", "")

    def save(
        self,
        directory: str | os.PathLike[str],
        *,
        html: str | None = "map.html",
        geojson: bool = True,
        geotiff: str | None = None,
        netcdf: str | None = None,
    ) -> list[Path]:
        """Write the map, its GeoJSON layers and grids into ``directory``, as one set.

        The set lands all together or not at all (see :func:`kwxmap.io.write_set`):
        files of the previous set that this one lacks are removed, other files
        in the folder are kept.

        Parameters
        ----------
        directory
            The folder; created when its parent exists.
        html
            File name of the HTML map, or None for no HTML.
        geojson
            Also write ``bands.geojson``, ``isolines.geojson`` and
            ``stations.geojson``.
        geotiff, netcdf
            File names for the grid as a Cloud-Optimized GeoTIFF
            (``kwxmap[raster]``) and as CF NetCDF (``kwxmap[xarray]``), or None.

        Returns
        -------
        list of pathlib.Path
            The files written, in order.
        """
        folder = Path(directory)
        with io.Staging() as staging:
            staging.folder(folder)
            self._stage(
                staging,
                html=None if html is None else folder / html,
                layers=folder if geojson else None,
                geotiff=None if geotiff is None else folder / geotiff,
                netcdf=None if netcdf is None else folder / netcdf,
            )
        return staging.written

    def write(
        self,
        *,
        html: str | os.PathLike[str] | None = None,
        layers: str | os.PathLike[str] | None = None,
        geotiff: str | os.PathLike[str] | None = None,
        netcdf: str | os.PathLike[str] | None = None,
    ) -> list[Path]:
        """Write the HTML map, the GeoJSON layers and the grid, all or nothing.

        Everything is written to temporaries first and moved into place last
        (the layer folder in one rename), so a failure changes nothing.

        Parameters
        ----------
        html
            The HTML file, or None.
        layers
            A folder (created when its parent exists) for ``bands.geojson``,
            ``isolines.geojson`` and ``stations.geojson``, or None.
        geotiff
            A Cloud-Optimized GeoTIFF of the grid, or None.
        netcdf
            A CF-1.8 NetCDF of the grid, or None.

        Returns
        -------
        list of pathlib.Path
            The files written, in order.
        """
        with io.Staging() as staging:
            self._stage(staging, html=html, layers=layers, geotiff=geotiff, netcdf=netcdf)
        return staging.written

    def _stage(
        self,
        staging: io.Staging,
        *,
        html: Any,
        layers: Any,
        geotiff: Any,
        netcdf: Any,
    ) -> None:
        if layers is not None:
            folder = staging.folder(layers)
            for name, gdf in (
                ("bands.geojson", self.bands),
                ("isolines.geojson", self.lines),
                ("stations.geojson", self.stations),
            ):
                staging.written.append(folder.write(name, partial(io.write_geojson, gdf)))
        if geotiff is not None:
            staging.file(geotiff, partial(io.write_geotiff, self.grid))
        if netcdf is not None:
            staging.file(netcdf, partial(io.write_netcdf, self.grid, time=_obs_time(self.stations)))
        if html is not None:
            staging.file(html, partial(io.write_html, self.map))


def _obs_time(stations: pd.DataFrame) -> pd.Timestamp | None:
    if "time" not in stations.columns:
        return None
    times = pd.to_datetime(stations["time"]).dropna().unique()
    return pd.Timestamp(times[0]) if len(times) == 1 else None


def _check_registry_date(registry: StationRegistry | None, as_of: str) -> None:
    """Refuse a date before any station of the registry opened (every name unknown)."""
    full = registry if registry is not None else load_stations()
    if len(full.as_of(as_of)) == 0:
        starts = [s.start_date for s in full if s.start_date]
        first = f" (the first opened on {min(starts)})" if starts else ""
        raise InputError(
            f"the station registry as of {as_of!r} has no stations{first}; use a later date"
        )


def _check_blanked(joined: gpd.GeoDataFrame) -> None:
    """Say so when blanking implausible values leaves too few to map."""
    report = joined.attrs.get("join_report")
    if report is None or not report.implausible or report.on_implausible != "nan":
        return
    left = int(joined["temperature_c"].notna().sum()) if "temperature_c" in joined else 0
    if left >= 3:
        return
    sid, line, value = report.implausible[0]
    lo, hi = PLAUSIBLE_RANGE_C
    raise InputError(
        f"{len(report.implausible)} of {report.n_readings} temperatures are outside "
        f"{lo:g}..{hi:g} °C (e.g. {value:g} at station {sid}, line {line}) and were left "
        f"out, leaving {left}; a map needs at least 3. Are the values in °C? Fix the input"
    )


def load_joined(
    readings: str | bytes | os.PathLike[str] | pd.DataFrame | gpd.GeoDataFrame,
    read: ReadOptions | None = None,
    *,
    registry: StationRegistry | None = None,
    one_time: bool = False,
    **changes: Any,
) -> gpd.GeoDataFrame:
    """Return joined readings from any accepted input.

    A GeoDataFrame is taken as already joined; a DataFrame as parsed
    readings; anything else goes through :func:`~kwxmap.parse_readings`.
    With ``one_time``, readings that hold a station at several times (a
    table of many hours) are an :class:`~kwxmap.errors.InputError`: one map
    or cross-validation is one observation time.

    Parameters
    ----------
    readings
        Widget text, HTML, bytes, a path, parsed readings or joined readings.
    read
        How to read and join (:class:`~kwxmap.options.ReadOptions`);
        ``changes`` (its field names) replace single fields.
    registry
        Station registry; by default the bundled one, narrowed to
        ``read.network`` (every ASOS and AWS station unless narrowed).
    one_time
        Refuse readings of several times.
    """
    read, _, _, unknown = split_options(changes, read=read)
    if unknown:
        raise InputError(
            f"unknown reading option(s) {', '.join(map(repr, sorted(unknown)))}; valid: "
            f"{', '.join(f.name for f in fields(ReadOptions))}"
        )
    if registry is None and not isinstance(readings, gpd.GeoDataFrame):
        registry = load_stations(read.network)
    if isinstance(readings, gpd.GeoDataFrame):
        joined = _at_time(readings, read.time)
    else:
        if read.as_of is not None:
            _check_registry_date(registry, read.as_of)
        if not isinstance(readings, pd.DataFrame):
            readings = parse_readings(
                readings,
                encoding=read.encoding,
                on_invalid=read.on_invalid,
                registry=registry,
                input_format=read.input_format,
                variable=read.variable,
            )
        source_format = readings.attrs.get("input_format")
        daily = source_format in DAILY_FORMATS or bool(readings.attrs.get("dates")) or (
            "time" in readings.columns and is_daily(readings["time"].dropna().unique()))
        readings = _at_time(readings, read.time)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            joined = join_readings(
                readings,
                registry,
                as_of=read.as_of,
                on_unknown=read.on_unknown,
                on_implausible=read.on_implausible,
                on_duplicate=read.on_duplicate,
            )
        joined.attrs["input_format"] = source_format
        joined.attrs["daily"] = daily  # a file of days: titles give the date alone
        _check_blanked(joined)  # its error says what the warnings would
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if one_time and "time" in joined.columns and "station_id" in joined.columns:
        times = pd.to_datetime(joined["time"]).dropna()
        if times.nunique() > 1 and joined["station_id"].duplicated().any():
            raise InputError(
                f"the readings hold {times.nunique()} times ({times.min()} to {times.max()}) "
                "with stations read at several of them; a map is one time: choose one with "
                "--time (time= in Python), or use `kwxmap batch` (render_batch()) for one "
                "map per time"
            )
    return joined


def _at_time(readings: pd.DataFrame, time: str | None) -> pd.DataFrame:
    """Return the rows of ``readings`` at ``time`` (all of them when None)."""
    if time is None:
        return readings
    if "time" not in readings.columns:
        raise InputError(f"--time {time}: the readings carry no times to select from")
    keep = select_time(readings["time"], time)
    return readings[keep].reset_index(drop=True)


def snapshot(
    readings: str | bytes | os.PathLike[str] | pd.DataFrame | gpd.GeoDataFrame,
    *,
    read: ReadOptions | None = None,
    surface: SurfaceOptions | None = None,
    style: MapOptions | None = None,
    cv: bool = False,
    registry: StationRegistry | None = None,
    **options: Any,
) -> Snapshot:
    """Make a map from readings in one call.

    Parameters
    ----------
    readings
        Widget text, HTML, bytes, a path, a parsed readings DataFrame or a
        joined GeoDataFrame.
    read, surface, style
        The option groups (:class:`~kwxmap.options.ReadOptions`,
        :class:`~kwxmap.options.SurfaceOptions`,
        :class:`~kwxmap.options.MapOptions`); defaults when None.
    cv
        Run leave-one-out cross-validation and show each station's error in
        its tooltip.
    registry
        Station registry; by default the bundled one, narrowed to
        ``read.network`` (every ASOS and AWS station unless narrowed).
    **options
        Single fields of the groups (``region=``, ``method=``,
        ``resolution=``, ``elevation=``, ``levels=``, ``tiles=``,
        ``on_unknown=`` ...) replace those of ``read``/``surface``/``style``;
        any other keyword is a method parameter (``power=`` ...). Stations
        outside a regional frame still inform the surface near its edge.

    Returns
    -------
    Snapshot
    """
    read, surface, style, params = split_options(options, read=read, surface=surface, style=style)
    stations = load_joined(readings, read, registry=registry, one_time=True)
    report = stations.attrs.get("join_report")
    grid = interpolate(stations, **surface.interpolate_kwargs(), **params)
    chosen = grid.attrs.get("method", surface.method)
    elevation = grid.attrs.get("elevation", surface.elevation)  # what "auto" chose
    cv_report = None
    if cv:
        cv_report = cross_validate(
            stations, method=chosen, elevation=elevation, crs=surface.crs, **params
        )
        errors = cv_report.table.set_index("station_id")["error"]
        stations = stations.copy()
        stations["cv_error_c"] = stations["station_id"].map(errors)
    heading = heading_of(stations, read, style)
    shown, bands, lines, fmap = draw(
        grid,
        stations,
        levels=style.levels,
        title=heading[0],
        time=heading[1],
        tiles=style.folium_tiles,
        look=style.look,
        outside=style.outside,
        region=surface.region,
    )
    return Snapshot(
        stations=shown,
        grid=grid,
        bands=bands,
        lines=lines,
        map=fmap,
        report=report,
        cv=cv_report,
        options={
            "method": chosen,
            "resolution": surface.resolution,
            "region": surface.region,
            "elevation": elevation,
        },
        heading=heading,
    )


def heading_of(stations: pd.DataFrame, read: ReadOptions, style: MapOptions) -> tuple[str, str]:
    """Return the title and second line of a map of ``stations`` (joined readings)."""
    report = stations.attrs.get("join_report")
    return map_heading(
        variable=read.variable,
        daily=bool(stations.attrs.get("daily")),
        time=_time_label(stations),
        placed=None if report is None else report.n_placed,
        total=None if report is None else report.n_readings,
        title=style.title,
        lang=style.lang,
    )


def point_values(
    readings: str | bytes | os.PathLike[str] | pd.DataFrame | gpd.GeoDataFrame,
    points: pd.DataFrame,
    *,
    read: ReadOptions | None = None,
    surface: SurfaceOptions | None = None,
    holdout: bool = False,
    registry: StationRegistry | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Interpolated values at points, each with the surface's leave-one-out uncertainty.

    Parameters
    ----------
    readings
        As for :func:`snapshot` (one observation time).
    points
        A GeoDataFrame of points or a DataFrame with ``lon``/``lat`` (degrees),
        optionally ``elevation_m``; other columns (a name) are kept.
    read, surface, registry, options
        As for :func:`snapshot` (``region``/``resolution`` are not used).
    holdout
        Leave out the stations at each point (then a point at a station
        gives that station's leave-one-out prediction).

    Returns
    -------
    pandas.DataFrame
        ``points`` with ``temperature_c``, ``elevation_m`` (with an elevation
        correction) and ``uncertainty_c``: the leave-one-out RMSE of the
        method on these readings, the typical error of a value away from
        the stations.
    """
    read, surface, _, params = split_options(options, read=read, surface=surface)
    stations = load_joined(readings, read, registry=registry, one_time=True)
    out = interpolate(
        stations, **surface.interpolate_kwargs(), target=points, holdout=holdout, **params
    )
    # the uncertainty is the requested method's out-of-sample score ("auto" chooses
    # within each fold, as --holdout does at each station)
    report = cross_validate(
        stations,
        method=surface.method,
        elevation=surface.elevation,
        crs=surface.crs,
        **params,
    )
    out["uncertainty_c"] = report.rmse
    if "join_report" in stations.attrs:
        out.attrs["join_report"] = stations.attrs["join_report"]
    return out


def load_points(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV of places (``lat``, ``lon`` in degrees, other columns kept), UTF-8.

    Raises
    ------
    InputError
        The file is missing or is not a CSV table.
    """
    try:
        return pd.read_csv(path, encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"places file {str(path)!r} does not exist") from None
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(
            f"cannot read places file {str(path)!r} as a UTF-8 CSV with lat,lon columns: {exc}"
        ) from None


def draw(
    grid: Grid,
    stations: gpd.GeoDataFrame,
    *,
    levels: Any,
    title: str | None,
    time: str | None,
    tiles: str | None,
    render: bool = True,
    look: dict[str, str] | None = None,
    outside: str = "dim",
    region: Any = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, folium.Map | None]:
    """Contour one surface and render its map: the steps after interpolation.

    :func:`snapshot` and :func:`~kwxmap.render_batch` (per timestamp) both
    call this. Returns the stations shown (those the surface used, with a
    value), the bands, the isolines on the band edges and the map (None
    without ``render``); ``look`` holds render_map's palette/lang/labels;
    ``outside`` (:data:`~kwxmap.options.OUTSIDE`) says what becomes of the
    stations beyond a regional grid's ``region``: marked in the
    ``outside_region`` column (drawn faint), left out, or shown like the
    others. A national map shows every station (islets the boundary leaves out
    included).
    """
    used = grid.attrs.get("station_ids")
    shown = stations
    if used is not None:
        value = grid.attrs.get("value", "temperature_c")
        keep = stations["station_id"].isin(used)
        if value in stations.columns:
            keep &= stations[value].notna()
        shown = stations[keep]
    if outside != "show" and len(shown) and not is_country(region):
        lonlat = shown.geometry.to_crs(4326)
        beyond = ~grid.covers(lonlat.x.to_numpy(), lonlat.y.to_numpy())
        shown = shown[~beyond] if outside == "hide" else shown.assign(**{OUTSIDE_COLUMN: beyond})
    bands = contour_bands(grid, levels)
    lines = contour_lines(grid, bands.attrs["levels"])  # isolines on the band edges
    fmap = None
    if render:
        fmap = render_map(
            shown,
            bands,
            lines,
            title=title,
            time=time,
            tiles=tiles,
            credit=dem_attribution(grid.attrs.get("dem")),
            **(look or {}),
        )
    return shown, bands, lines, fmap


def _time_label(stations: pd.DataFrame) -> str | None:
    if "time" not in stations.columns or stations["time"].isna().all():
        return None
    times = pd.to_datetime(stations["time"]).dropna().unique()
    if len(times) == 1:
        return pd.Timestamp(times[0]).isoformat(sep=" ", timespec="minutes")
    return None

