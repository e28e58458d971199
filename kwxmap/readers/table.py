"""Tidy tables: a CSV (comma, tab or semicolon), a DataFrame or a GeoDataFrame.

The header names the columns (any order, case and spaces ignored):
``station_id`` (``stn_id``, ``stn``, ``id``) and/or ``station_name``
(``name_ko``, ``name``), ``temperature_c`` (``temp_c``, ``temperature``,
``ta``), and optionally ``time``, ``condition``, and the station's own place:
``lon``/``lat`` (EPSG:4326 degrees), or ``x``/``y`` in the CRS passed as
``crs=``, and ``elevation_m`` (``elev_m``). A GeoDataFrame's point geometry is
its place (converted to EPSG:4326). A reading that carries a place is used
there by :func:`~kwxmap.join_readings`, also when the registry does not know
the station.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, ParseError
from ._common import Context, Invalid, Result, parse_times, temperatures
from .typ01 import AWS2_MIN, SFCDD, SFCTM2
from .widget import _CELSIUS, _normalise_line, _value, _word_keys

#: A time written as a date alone (``2020-08-01``, ``20200801``): a reading of that day.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{8}")

__all__ = ["read", "read_frame", "sniff"]

_HEADER_ALIASES = {
    "station_id": ("station_id", "stn_id", "stnid", "stn", "지점", "지점번호", "id"),
    "station_name": ("station_name", "name_ko", "name", "지점명", "station"),
    "temperature_c": (
        "temperature_c", "temp_c", "temperature", "기온(℃)", "기온", "ta", "평균기온(℃)",
    ),
    "time": ("time", "datetime", "date", "일시", "tm", "observed_at"),
    "condition": ("condition", "weather", "날씨", "현재일기"),
    "lon": ("lon", "longitude", "lng", "경도"),
    "lat": ("lat", "latitude", "위도"),
    "x": ("x", "easting"),
    "y": ("y", "northing"),
    "elevation_m": ("elevation_m", "elev_m", "elevation", "height_m", "ht"),
}
# The temperature column of a daily table for variable="tmin"/"tmax".
_VARIABLE_ALIASES = {
    "tmin": ("tmin_c", "tmin", "temp_min_c", "min_temp_c", "ta_min", "최저기온(℃)", "최저기온"),
    "tmax": ("tmax_c", "tmax", "temp_max_c", "max_temp_c", "ta_max", "최고기온(℃)", "최고기온"),
}
_PLACE = ("lon", "lat", "elevation_m")
# The portal's own downloads start so; they have their own readers.
_PORTAL_HEAD = "지점,지점명,일시,"
_MAX_ID_DIGITS = 18  # Int64 holds 18 digits; KMA numbers have 2-3


def _header_key(cell: str) -> str:
    cell = unicodedata.normalize("NFC", cell).strip().strip('"').strip()
    return _CELSIUS.sub("℃", cell).lower().replace(" ", "")


def _table_columns(header: list[str]) -> dict[str, int] | None:
    keys = [_header_key(c) for c in header]
    found: dict[str, int] = {}
    for column, aliases in _HEADER_ALIASES.items():
        for alias in aliases:
            if alias in keys:
                found[column] = keys.index(alias)
                break
    if "temperature_c" in found and ("station_id" in found or "station_name" in found):
        return found
    return None


def _for_variable(header: list[str], cols: dict[str, int], variable: str) -> dict[str, int]:
    """Point ``temperature_c`` at the daily minimum or maximum column for tmin/tmax.

    Examples
    --------
    >>> _for_variable(["stn_id", "temp_c", "tmin_c"], {"station_id": 0, "temperature_c": 1},
    ...               "tmin")
    {'station_id': 0, 'temperature_c': 2}
    """
    if variable == "tavg":
        return cols
    keys = [_header_key(c) for c in header]
    for alias in _VARIABLE_ALIASES[variable]:
        if alias in keys:
            return {**cols, "temperature_c": keys.index(alias)}
    raise InputError(
        f"variable={variable!r}: the table has no {variable} column (one of "
        f"{', '.join(_VARIABLE_ALIASES[variable][:3])}...); its columns are {header[:12]!r}"
    )


def _first_line(head: str) -> str:
    lines = head.lstrip("\ufeff").splitlines()
    return lines[0] if lines else ""


def _sniff(head: str) -> tuple[str, dict[str, int]] | None:
    line = _first_line(head)
    if line.startswith(_PORTAL_HEAD) or len(line) > 10_000:
        return None
    if any(layout.sniff(line) for layout in (AWS2_MIN, SFCTM2, SFCDD)):
        return None  # typ01 rows re-saved under their own header (TIME,STN,...,TA)
    for sep in (",", "\t", ";"):
        if sep in line:
            try:
                cells = next(csv.reader([line], delimiter=sep))
            except csv.Error:
                return None
            cols = _table_columns(cells)
            if cols is not None:
                return sep, cols
    return None


def sniff(head: str) -> bool:
    r"""Return True when the first line is a tidy table header.

    Examples
    --------
    >>> sniff("station_id,temperature_c\n108,3.5"), sniff("맑음서울 3.5℃")
    (True, False)
    """
    return _sniff(head) is not None


def _station_id(sid: str) -> int | str:
    """Return the id as an int, or why it is not one."""
    too_large = "station id {!r} is too large for a KMA station number"
    if sid.isdecimal():  # isdigit() also takes "²", which int() rejects
        if len(sid) > _MAX_ID_DIGITS:  # before int(): 5,000 digits would raise ValueError
            return too_large.format(sid if len(sid) <= 30 else sid[:29] + "…")
        return int(sid)
    try:
        value = float(sid) if "_" not in sid else math.nan  # float() takes "1_08"
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value.is_integer() and value >= 0):
        return f"station id {sid!r} is not a number"
    return int(value) if value < 10**_MAX_ID_DIGITS else too_large.format(sid)


def _records(
    rows: Iterable[tuple[int, list[str]]], cols: dict[str, int], sep: str
) -> tuple[pd.DataFrame, list[Invalid]]:
    words = _word_keys()
    records: list[dict[str, Any]] = []
    invalid: list[Invalid] = []
    for lineno, row in rows:
        if not any(cell.strip() for cell in row):
            continue

        def cell(column: str, row: list[str] = row) -> str:
            i = cols.get(column)
            return row[i].strip() if i is not None and i < len(row) else ""

        raw = sep.join(row)
        name = unicodedata.normalize("NFC", cell("station_name"))
        sid = cell("station_id")
        if not name and not sid:
            invalid.append(Invalid(lineno, raw, "no station id or name"))
            continue
        sid_value = _station_id(sid) if sid else None
        if isinstance(sid_value, str):
            invalid.append(Invalid(lineno, raw, sid_value))
            continue
        # read a cell as a widget value: full-width digits, "25.0 °C"
        printed = cell("temperature_c")
        temp = _normalise_line(printed).removesuffix("℃").strip()
        value = _value(temp) if printed else math.nan
        if temp.lower() in ("nan", "na", "n/a", "null", "none", "<na>"):
            value = math.nan
        if isinstance(value, str):
            invalid.append(Invalid(lineno, raw, value))
            continue
        condition = unicodedata.normalize("NFC", cell("condition"))
        rec: dict[str, Any] = {
            "station_name": name,
            "condition": condition,
            "condition_en": words.get(condition.replace(" ", ""), ""),
            "temperature_c": value,
            "line": lineno,
        }
        if "station_id" in cols:
            rec["station_id"] = sid_value if sid_value is not None else pd.NA
        for column in ("time", "lon", "lat", "x", "y", "elevation_m"):
            if column in cols:
                rec[column] = cell(column)
        records.append(rec)
    return pd.DataFrame.from_records(records), invalid


def _finish(frame: pd.DataFrame, invalid: list[Invalid], context: Context) -> Result:
    if frame.empty:
        return Result(frame, invalid)
    values, missing, _ = temperatures(frame["temperature_c"].astype("float64").astype(str))
    frame["temperature_c"] = values
    frame["missing"] = missing
    bad = np.zeros(len(frame), dtype=bool)
    dates = False
    if "time" in frame.columns:
        stamps = frame["time"].astype(str).reset_index(drop=True)
        written = stamps.str.strip()
        written = written[written != ""]
        dates = bool(len(written)) and bool(written.str.fullmatch(_DATE).all())
        parsed = parse_times(stamps)
        unreadable = parsed.isna().to_numpy() & (stamps.str.strip() != "").to_numpy()
        for i in np.flatnonzero(unreadable):
            invalid.append(
                Invalid(int(frame["line"].iloc[i]), stamps[i], f"time {stamps[i]!r} is not a date")
            )
        frame["time"] = parsed.to_numpy()
        bad |= unreadable
    frame, bad_place = _place(frame, context, invalid)
    frame = frame[~(bad | bad_place)].reset_index(drop=True)
    if "station_id" in frame.columns:
        frame["station_id"] = frame["station_id"].astype("Int64")
    return Result(frame, invalid, dates=dates)


def _place(
    frame: pd.DataFrame, context: Context, invalid: list[Invalid]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Turn lon/lat (or x/y in ``context.crs``) cells into EPSG:4326 floats."""
    bad = np.zeros(len(frame), dtype=bool)
    if {"x", "y"} <= set(frame.columns) and not {"lon", "lat"} <= set(frame.columns):
        if context.crs is None:
            raise InputError(
                "the table has x/y columns but no CRS; pass crs='EPSG:5179' (or the CRS "
                "of the coordinates), or give lon/lat columns in degrees"
            )
        from pyproj import CRS, Transformer
        from pyproj.exceptions import CRSError

        try:
            crs = CRS.from_user_input(context.crs)
        except CRSError:
            raise InputError(f"crs={context.crs!r} is not a CRS; try 'EPSG:5179'") from None
        x = pd.to_numeric(frame.pop("x"), errors="coerce").to_numpy()
        y = pd.to_numeric(frame.pop("y"), errors="coerce").to_numpy()
        lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
        frame["lon"], frame["lat"] = lon, lat
    frame = frame.drop(columns=[c for c in ("x", "y") if c in frame.columns])
    if "lon" in frame.columns and "lat" in frame.columns:
        for column in _PLACE:
            if column in frame.columns:
                frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        lon, lat = frame["lon"].to_numpy(), frame["lat"].to_numpy()
        given = ~(np.isnan(lon) & np.isnan(lat))
        bad = given & ~((np.abs(lon) <= 180) & (np.abs(lat) <= 90))
        for i in np.flatnonzero(bad)[:1000]:
            invalid.append(
                Invalid(
                    int(frame["line"].iloc[i]),
                    f"lon={lon[i]}, lat={lat[i]}",
                    "lon/lat is not a place in degrees (lon -180..180, lat -90..90)",
                )
            )
    else:
        frame = frame.drop(columns=[c for c in _PLACE if c in frame.columns])
    return frame, bad


def _csv_rows(text: str, sep: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=sep)
    try:
        next(reader)
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise ParseError(
            f"line {reader.line_num}: cannot read the table: {exc}; check the quoting"
        ) from None


def read(text: str, context: Context) -> Result:
    r"""Read a tidy CSV table.

    Examples
    --------
    >>> r = read("stn_id,temp_c,lon,lat\n9001,3.5,127.0,37.5\n108,-99.9,,", Context())
    >>> r.frame[["station_id", "temperature_c", "missing", "lon"]].values.tolist()
    [[9001, 3.5, '', 127.0], [108, nan, 'kma_code', nan]]
    """
    sniffed = _sniff(text[:65536])
    if sniffed is None:
        raise ParseError(
            "the first line is not a table header with a station (station_id or "
            "station_name) and a temperature_c column"
        )
    sep, cols = sniffed
    header = next(csv.reader([_first_line(text[:65536])], delimiter=sep))
    cols = _for_variable(header, cols, context.variable)
    frame, invalid = _records(_csv_rows(text, sep), cols, sep)
    return _finish(frame, invalid, context)


def read_frame(frame: pd.DataFrame, context: Context) -> Result:
    """Read a DataFrame (or a GeoDataFrame of points) with the table's columns.

    Examples
    --------
    >>> df = pd.DataFrame({"station_id": [108], "temperature_c": [2.5]})
    >>> read_frame(df, Context()).frame[["station_id", "temperature_c"]].values.tolist()
    [[108, 2.5]]
    """
    import geopandas as gpd

    frame = pd.DataFrame(frame).copy()
    geometry = frame.pop(frame.geometry.name) if isinstance(frame, gpd.GeoDataFrame) else None
    if geometry is None and "geometry" in frame.columns:
        geometry = gpd.GeoSeries(frame.pop("geometry"))
    header = [str(c) for c in frame.columns]
    cols = _table_columns(header)
    if cols is None:
        raise ParseError(
            f"the table's columns {header!r} need a station (station_id or station_name) "
            "and a temperature_c column"
        )
    cols = _for_variable(header, cols, context.variable)
    if geometry is not None:
        geo = gpd.GeoSeries(geometry)
        if geo.crs is None:
            raise InputError("the GeoDataFrame has no CRS; set one with .set_crs(...)")
        if not geo.geom_type.isin(["Point"]).all():
            raise InputError("a GeoDataFrame of readings needs point geometries (one per station)")
        geo = geo.to_crs(4326)
        frame["lon"], frame["lat"] = geo.x.to_numpy(), geo.y.to_numpy()
        header += ["lon", "lat"]
        cols = _table_columns(header) or cols
    if "line" in frame.columns:
        lines = pd.to_numeric(frame["line"], errors="coerce").fillna(0).astype("int64").tolist()
    else:
        lines = list(range(1, len(frame) + 1))
    cells = frame.astype(object).where(frame.notna(), "").astype(str).to_numpy().tolist()
    records, invalid = _records(zip(lines, cells, strict=True), cols, ",")
    return _finish(records, invalid, context)
