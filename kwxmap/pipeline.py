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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from ._atomic import check_writable
from .contours import contour_bands, contour_lines
from .errors import InputError, OutputError
from .grid import Grid
from .interpolate import DEFAULT_METHOD, CVReport, cross_validate, interpolate
from .join import JoinReport, join_readings
from .parse import parse_readings
from .render import render_map, write_geojson, write_html
from .stations import StationRegistry

__all__ = ["DEFAULT_METHOD", "Snapshot", "snapshot"]

#: Elevation handling used with :data:`DEFAULT_METHOD` (the skill benchmark,
#: ``benchmarks/bench_skill.py``, chose the pair).
DEFAULT_ELEVATION = "lapse"


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
    """

    stations: gpd.GeoDataFrame
    grid: Grid
    bands: gpd.GeoDataFrame
    lines: gpd.GeoDataFrame
    map: folium.Map
    report: JoinReport | None = None
    cv: CVReport | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def save(
        self,
        directory: str | os.PathLike[str],
        *,
        html: str | None = "map.html",
        geojson: bool = True,
    ) -> list[Path]:
        """Write the map and the GeoJSON layers into ``directory``.

        Parameters
        ----------
        directory
            An existing folder.
        html
            File name of the HTML map, or None for no HTML.
        geojson
            Also write ``bands.geojson``, ``isolines.geojson`` and
            ``stations.geojson``.

        Returns
        -------
        list of pathlib.Path
            The files written, in order.
        """
        folder = Path(directory)
        if not folder.is_dir():
            raise OutputError(f"output folder {str(folder)!r} does not exist; create it first")
        written: list[Path] = []
        if geojson:
            written += write_layers(self, folder)
        if html:
            path = folder / html
            write_html(self.map, path)
            written.append(path)
        return written


def write_layers(snap: Snapshot, folder: Path) -> list[Path]:
    """Write the three GeoJSON layers of a snapshot into ``folder``."""
    layers = {
        "bands.geojson": snap.bands,
        "isolines.geojson": snap.lines,
        "stations.geojson": snap.stations,
    }
    for name in layers:  # fail before writing anything
        check_writable(folder / name)
    paths = []
    for name, gdf in layers.items():
        write_geojson(gdf, folder / name)
        paths.append(folder / name)
    return paths


def load_joined(
    readings: str | bytes | os.PathLike[str] | pd.DataFrame | gpd.GeoDataFrame,
    *,
    registry: StationRegistry | None = None,
    as_of: str | None = None,
    encoding: str | None = None,
    on_unknown: str = "raise",
    on_invalid: str = "raise",
    on_implausible: str = "raise",
    on_duplicate: str = "raise",
    one_time: bool = False,
) -> gpd.GeoDataFrame:
    """Return joined readings from any accepted input.

    A GeoDataFrame is taken as already joined; a DataFrame as parsed
    readings; anything else goes through :func:`~kwxmap.parse_readings`.
    With ``one_time``, readings that hold a station at several times (a
    table of many hours) are an :class:`~kwxmap.errors.InputError`: one map
    or cross-validation is one observation time.
    """
    if isinstance(readings, gpd.GeoDataFrame):
        joined = readings
    else:
        if not isinstance(readings, pd.DataFrame):
            readings = parse_readings(
                readings, encoding=encoding, on_invalid=on_invalid, registry=registry
            )
        joined = join_readings(
            readings,
            registry,
            as_of=as_of,
            on_unknown=on_unknown,
            on_implausible=on_implausible,
            on_duplicate=on_duplicate,
        )
    if one_time and "time" in joined.columns and "station_id" in joined.columns:
        times = pd.to_datetime(joined["time"]).dropna()
        if times.nunique() > 1 and joined["station_id"].duplicated().any():
            raise InputError(
                f"the readings hold {times.nunique()} times ({times.min()} to {times.max()}) "
                "with stations read at several of them; a map is one time: select one "
                "time, or use render_batch() / `kwxmap batch` for one map per time"
            )
    return joined


def snapshot(
    readings: str | bytes | os.PathLike[str] | pd.DataFrame | gpd.GeoDataFrame,
    *,
    region: Any = "south-korea",
    method: str = DEFAULT_METHOD,
    resolution: float = 1000.0,
    elevation: str | None = DEFAULT_ELEVATION,
    dem: str | os.PathLike[str] | None = None,
    levels: str | Sequence[float] | None = None,
    as_of: str | None = None,
    title: str | None = None,
    tiles: str | None = "OpenStreetMap",
    cv: bool = False,
    registry: StationRegistry | None = None,
    encoding: str | None = None,
    on_unknown: str = "raise",
    on_invalid: str = "raise",
    on_implausible: str = "raise",
    on_duplicate: str = "raise",
    **params: Any,
) -> Snapshot:
    """Make a map from readings in one call.

    Parameters
    ----------
    readings
        Widget text, HTML, bytes, a path, a parsed readings DataFrame or a
        joined GeoDataFrame.
    region
        ``"south-korea"``, a province (Korean, short or English name), a
        ``(W, S, E, N)`` lon/lat bbox or a geometry; see
        :func:`~kwxmap.resolve_region`. Stations outside a regional frame
        still inform the surface near its edge.
    method, resolution, elevation, dem, params
        Passed to :func:`~kwxmap.interpolate`.
    levels
        Isotherm levels (see :func:`~kwxmap.contour_bands`).
    as_of
        Use the registry as it stood on this date; default: the readings'
        own time when they carry one.
    title
        Map title (escaped).
    tiles
        Base map, or None for none (no network needed to view).
    cv
        Run leave-one-out cross-validation and show each station's error in
        its tooltip.
    registry
        Station registry; the bundled ASOS registry by default.
    encoding
        Input encoding override.
    on_unknown, on_invalid, on_implausible, on_duplicate
        Lenient modes of :func:`~kwxmap.parse_readings` and
        :func:`~kwxmap.join_readings` for unknown names, malformed lines,
        values outside -50..50 °C and a station read twice.

    Returns
    -------
    Snapshot
    """
    stations = load_joined(
        readings,
        registry=registry,
        as_of=as_of,
        encoding=encoding,
        on_unknown=on_unknown,
        on_invalid=on_invalid,
        on_implausible=on_implausible,
        on_duplicate=on_duplicate,
        one_time=True,
    )
    report = stations.attrs.get("join_report")
    options = dict(method=method, resolution=resolution, region=region, elevation=elevation)
    grid = interpolate(stations, dem=dem, **options, **params)
    chosen = grid.attrs.get("method", method)
    cv_report = None
    if cv:
        cv_report = cross_validate(stations, method=chosen, elevation=elevation, **params)
        errors = cv_report.table.set_index("station_id")["error"]
        stations = stations.copy()
        stations["cv_error_c"] = stations["station_id"].map(errors)
    used = grid.attrs.get("station_ids")
    shown = stations if used is None else stations[stations["station_id"].isin(used)]
    bands = contour_bands(grid, levels)
    lines = contour_lines(grid, bands.attrs["levels"])  # isolines on the band edges
    time = _time_label(stations)
    fmap = render_map(shown, bands, lines, title=title, time=time, tiles=tiles)
    return Snapshot(
        stations=shown,
        grid=grid,
        bands=bands,
        lines=lines,
        map=fmap,
        report=report,
        cv=cv_report,
        options={**options, "method": chosen},
    )


def _time_label(stations: pd.DataFrame) -> str | None:
    if "time" not in stations.columns or stations["time"].isna().all():
        return None
    times = pd.to_datetime(stations["time"]).dropna().unique()
    if len(times) == 1:
        return pd.Timestamp(times[0]).isoformat(sep=" ", timespec="minutes")
    return None
