"""kwxmap: Korean weather-station readings to maps.

The pipeline reads top to bottom::

    text --parse_readings--> DataFrame --join_readings--> GeoDataFrame
         --interpolate--> Grid --contour_bands--> GeoDataFrame --render_map--> folium.Map
"""

from __future__ import annotations

from .contours import contour_bands, contour_lines, resolve_levels
from .errors import (
    DataError,
    FetchError,
    InputError,
    InterpolationError,
    JoinError,
    KwxmapError,
    KwxmapWarning,
    OutputError,
    ParseError,
    RegionError,
    UnknownStationError,
)
from .fetch import Fetched, fetch_readings
from .grid import Grid, make_grid
from .interpolate import CVReport, cross_validate, interpolate, interpolate_many
from .io import write_geojson, write_geotiff, write_html, write_netcdf, write_vector, write_zarr
from .join import JoinReport, join_readings
from .options import MapOptions, ReadOptions, SurfaceOptions
from .pipeline import Snapshot, snapshot
from .readers import parse_readings
from .regions import load_provinces, resolve_region
from .render import render_animation, render_map, temperature_colormap
from .series import BatchResult, render_batch
from .station_update import StationUpdate, update_stations
from .stations import Station, StationRegistry, load_stations, write_stations

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "InputError",
    "InterpolationError",
    "JoinError",
    "KwxmapError",
    "KwxmapWarning",
    "OutputError",
    "ParseError",
    "RegionError",
    "Station",
    "StationRegistry",
    "UnknownStationError",
    "__version__",
    "load_stations",
    "write_stations",
    "contour_bands",
    "contour_lines",
    "render_animation",
    "render_map",
    "resolve_levels",
    "temperature_colormap",
    "write_geojson",
    "write_geotiff",
    "write_html",
    "write_netcdf",
    "write_vector",
    "write_zarr",
    "JoinReport",
    "join_readings",
    "parse_readings",
    "Grid",
    "load_provinces",
    "make_grid",
    "resolve_region",
    "CVReport",
    "cross_validate",
    "interpolate",
    "interpolate_many",
    "BatchResult",
    "MapOptions",
    "ReadOptions",
    "SurfaceOptions",
    "Snapshot",
    "render_batch",
    "snapshot",
    "FetchError",
    "Fetched",
    "fetch_readings",
    "StationUpdate",
    "update_stations",
]
