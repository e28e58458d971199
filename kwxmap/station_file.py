"""The registry's file: GeoJSON features to :class:`~kwxmap.station.Station` and back.

``data/stations.geojson`` (and a local registry written by ``kwxmap stations
--update``) is read here, once per file version; :func:`write_stations`
writes a registry or a station table to any GIS format kwxmap writes.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DataError, InputError, OutputError
from .io import VECTOR_FORMATS, vector_format, write_vector
from .station import SitePeriod, Station

if TYPE_CHECKING:  # pragma: no cover
    import geopandas

__all__ = ["SHAPEFILE_FIELDS", "WRITE_FORMATS", "read_station_file", "to_crs", "write_stations"]

#: Formats :func:`write_stations` writes, by file extension.
WRITE_FORMATS = VECTOR_FORMATS
#: Shapefile field names are at most 10 characters: these columns are renamed.
SHAPEFILE_FIELDS = {"elevation_m": "elev_m"}


def _aliases(value: Any) -> tuple[str, ...]:
    # A list in kwxmap's own file; a ";"-joined string in exported files.
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(a for a in value.split(";") if a)
    return tuple(str(a) for a in value)


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def _station(feature: dict, where: str) -> Station:
    """Return the Station of one feature of a registry file."""
    try:
        props = feature["properties"]
        lon, lat = feature["geometry"]["coordinates"][:2]
        history = tuple(
            SitePeriod(
                h["start"], h["end"], h["name_ko"], float(h["lon"]), float(h["lat"]),
                _nan(h["elevation_m"]), h.get("address"),
            )
            for h in props.get("history") or ()
        )
        return Station(
            station_id=int(props["station_id"]),
            name_ko=str(props["name_ko"]),
            name_en=str(props.get("name_en") or ""),
            lon=float(lon),
            lat=float(lat),
            elevation_m=_nan(props.get("elevation_m")),
            network=str(props.get("network") or "ASOS").upper(),
            active=bool(props.get("active", True)),
            start_date=props.get("start_date"),
            end_date=props.get("end_date"),
            address=props.get("address"),
            province=props.get("province"),
            aliases=_aliases(props.get("aliases")),
            history=history,
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise DataError(f"{where}: malformed station feature ({exc!r}); rebuild the file") from exc


@functools.lru_cache(maxsize=8)
def read_station_file(path: str, mtime_ns: int, size: int) -> tuple[Station, ...]:
    """Return the stations of a registry GeoJSON file (cached on its path, time and size)."""
    # Keyed on mtime and size so an edited file is re-read. Stations are
    # frozen, so sharing them between registries is safe.
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read station file {path!r}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise DataError(f"station file {path!r} is not a GeoJSON FeatureCollection")
    return tuple(
        _station(feat, f"{path}: feature {i}") for i, feat in enumerate(data["features"])
    )


def to_crs(gdf: geopandas.GeoDataFrame, crs: Any) -> geopandas.GeoDataFrame:
    """Return ``gdf`` in ``crs`` (unchanged when it is already there)."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        target = CRS.from_user_input(crs)
    except CRSError as exc:
        raise InputError(f"crs {crs!r} is not a CRS pyproj knows; use e.g. 4326 or 5179") from exc
    if gdf.crs is None:
        raise DataError("the GeoDataFrame has no CRS; set one with gdf.set_crs(...)")
    return gdf if gdf.crs == target else gdf.to_crs(target)




def write_stations(
    stations: Any,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    crs: Any = 4326,
) -> Path:
    """Write stations to a GIS file, atomically.

    Parameters
    ----------
    stations
        A registry or a GeoDataFrame (e.g. ``to_geodataframe()``, filtered).
    path
        Output file. An existing file is replaced only when the write succeeds.
    format
        ``"geojson"``, ``"gpkg"``, ``"fgb"``, ``"shp"`` or ``"csv"``; inferred
        from the extension when None.
    crs
        Output CRS (e.g. 4326, 5179, 5186). GeoJSON is always EPSG:4326
        (RFC 7946).

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    - GeoJSON: RFC 7946, UTF-8 with Korean kept as characters.
    - Shapefile: written with a ``.cpg`` declaring UTF-8; field names are cut
      to 10 characters, so ``elevation_m`` becomes ``elev_m``
      (:data:`SHAPEFILE_FIELDS`).
    - CSV: UTF-8 with a byte-order mark (Excel then reads Korean correctly;
      GDAL skips the mark), comma-separated, coordinates in ``lon``/``lat``
      columns (``x``/``y`` for a projected CRS), written with full precision.

    Raises
    ------
    OutputError
        Unknown format, GeoJSON in a projected CRS, or the file cannot be
        written (the previous file, if any, is left untouched).

    Examples
    --------
    >>> import tempfile, pathlib, pyogrio
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "asos.gpkg"
    >>> from kwxmap import load_stations
    >>> _ = write_stations(load_stations("asos").select(active=True), out)
    >>> pyogrio.read_info(out)["features"]
    97
    """
    fmt = vector_format(path, format)
    if hasattr(stations, "to_geodataframe") and not hasattr(stations, "geometry"):
        gdf = stations.to_geodataframe(crs)  # a StationRegistry
    else:
        import geopandas as gpd

        if not isinstance(stations, gpd.GeoDataFrame):
            raise TypeError(
                "stations must be a StationRegistry or a GeoDataFrame, "
                f"not {type(stations).__name__}"
            )
        gdf = to_crs(stations, crs)
    if fmt == "geojson" and gdf.crs.to_epsg() != 4326:
        raise OutputError(
            f"GeoJSON is written in EPSG:4326 (RFC 7946), not {crs!r}; "
            "drop the CRS or use gpkg, fgb, shp or csv"
        )
    gdf = gdf.copy()
    for column in ("start_date", "end_date"):  # ISO text -> real Date fields
        if column in gdf.columns:
            gdf[column] = [_dt.date.fromisoformat(v) if isinstance(v, str) and v else None
                           for v in gdf[column]]
    if fmt == "shp":
        gdf = gdf.rename(columns=SHAPEFILE_FIELDS)
    return write_vector(gdf, path, format=fmt, layer="stations")
