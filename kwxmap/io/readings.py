"""Joined readings as text: CSV, JSON records or GeoJSON (``kwxmap parse``, ``fetch``)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from .page import write_text
from .vector import formula_safe

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["READINGS_FORMATS", "format_readings", "write_readings"]


#: Formats of :func:`write_readings`, by file extension.
READINGS_FORMATS = {".csv": "csv", ".json": "json", ".geojson": "geojson"}
_READINGS_COLUMNS = [
    "station_id",
    "station_name",
    "condition",
    "condition_en",
    "temperature_c",
    "lon",
    "lat",
    "name_ko",
    "name_en",
    "elevation_m",
    "line",
]


def format_readings(joined: gpd.GeoDataFrame, format: str = "csv") -> str:
    r"""Return joined readings as CSV, JSON records or GeoJSON text (lon/lat, EPSG:4326).

    Parameters
    ----------
    joined
        Readings from :func:`~kwxmap.join_readings` (EPSG:4326).
    format
        ``"csv"``, ``"json"`` or ``"geojson"``.

    Examples
    --------
    >>> from kwxmap import join_readings, parse_readings
    >>> joined = join_readings(parse_readings("서울 맑음 3.5℃\n부산 흐림 8.0℃"))
    >>> format_readings(joined).splitlines()[1][:7]
    '108,서울,'
    >>> format_readings(joined, "geojson")[:29]
    '{"type": "FeatureCollection",'
    """
    if format not in READINGS_FORMATS.values():
        raise InputError(f"format {format!r} is not one of csv, json, geojson")
    table = joined.drop(columns="geometry")
    table["lon"] = joined.geometry.x
    table["lat"] = joined.geometry.y
    columns = [c for c in _READINGS_COLUMNS if c in table] + (["time"] if "time" in table else [])
    table = table[columns]
    if "time" in table:
        table["time"] = table["time"].map(lambda t: None if t is None or t != t else t.isoformat())
    if format == "csv":
        return formula_safe(table).to_csv(index=False, lineterminator="\n")
    records = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in table.astype(object).to_dict(orient="records")
    ]
    if format == "json":
        return json.dumps(records, ensure_ascii=False, indent=1, default=_json_scalar) + "\n"
    features = [
        {
            "type": "Feature",
            "properties": rec,
            "geometry": {"type": "Point", "coordinates": [rec["lon"], rec["lat"]]},
        }
        for rec in records
    ]
    data = {"type": "FeatureCollection", "features": features}
    return json.dumps(data, ensure_ascii=False, default=_json_scalar) + "\n"


def write_readings(
    joined: gpd.GeoDataFrame, path: str | os.PathLike[str], *, format: str | None = None
) -> Path:
    """Write joined readings atomically; the format comes from the extension unless given.

    Returns the path written.
    """
    out = Path(path)
    if format is None:
        format = READINGS_FORMATS.get(out.suffix.lower())
        if format is None:
            raise InputError(
                f"cannot tell the format of {str(path)!r} from its extension; "
                "pass format csv, json or geojson (CLI: --format)"
            )
    text = format_readings(joined, format)
    return write_text(text, out)



def _json_scalar(value: object) -> object:
    """JSON for numpy scalars in a record."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
