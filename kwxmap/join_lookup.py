"""Which station each reading means, on its day: the readings' columns and their lookup.

Part of :func:`~kwxmap.join_readings`: the columns a join uses are taken
from the readings once (:class:`Readings`), and each reading's station is
found by number or printed name in the registry as it stood on the
reading's day (a reading outside its station's recorded history takes the
nearest period). Results are cached per (station, name, day): a five-year
daily file does not build a registry per day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import JoinError, UnknownStationError
from .join_report import JoinReport

if TYPE_CHECKING:
    import datetime as _dt

    from .station import Station
    from .stations import StationRegistry

__all__ = ["Readings", "lookup_stations", "read_columns", "reading_label"]


@dataclass
class Readings:
    """The columns :func:`join_readings` uses, one entry per reading."""

    names: list[str]
    lines: list[int]
    ids: list[int | None]
    conditions: list[str]
    conditions_en: list[str]
    temps: np.ndarray
    missing: list[str]
    times: list[Any] | None
    lon: np.ndarray | None
    lat: np.ndarray | None
    elevation: np.ndarray | None

    @property
    def n(self) -> int:
        """The number of readings."""
        return len(self.names)

    def placed(self, i: int) -> bool:
        """Whether reading ``i`` carries its own lon/lat."""
        return (
            self.lon is not None
            and self.lat is not None
            and bool(np.isfinite(self.lon[i]) and np.isfinite(self.lat[i]))
        )


def _strings(df: pd.DataFrame, column: str) -> list[str]:
    if column not in df:
        return [""] * len(df)
    return df[column].fillna("").astype(str).tolist()


def _floats(df: pd.DataFrame, column: str) -> np.ndarray | None:
    if column not in df:
        return None
    return pd.to_numeric(df[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def read_columns(readings: pd.DataFrame) -> Readings:
    """Check the readings and take the columns the join uses."""
    if not isinstance(readings, pd.DataFrame):
        raise TypeError(
            f"join_readings() takes a readings DataFrame, not {type(readings).__name__}; "
            "use parse_readings() first"
        )
    if "temperature_c" not in readings.columns or not (
        {"station_name", "station_id"} & set(readings.columns)
    ):
        raise JoinError(
            f"readings need a 'temperature_c' column and 'station_name' or 'station_id'; "
            f"got {list(map(str, readings.columns))!r}"
        )
    df = _with_lon_lat(readings).reset_index(drop=True)
    n = len(df)
    lines = list(range(1, n + 1))
    if "line" in df:
        given = pd.to_numeric(df["line"], errors="coerce").tolist()
        lines = [int(g) if math.isfinite(g) else i for g, i in zip(given, lines, strict=True)]
    try:
        temps = pd.to_numeric(df["temperature_c"]).astype("float64").to_numpy(copy=True)
    except (TypeError, ValueError) as exc:
        raise JoinError(f"temperature_c holds values that are not numbers: {exc}") from None
    return Readings(
        names=_strings(df, "station_name"),
        lines=lines,
        ids=_station_ids(df, lines),
        conditions=_strings(df, "condition"),
        conditions_en=_strings(df, "condition_en"),
        temps=temps,
        missing=_strings(df, "missing"),
        times=df["time"].tolist() if "time" in df.columns else None,
        lon=_floats(df, "lon"),
        lat=_floats(df, "lat"),
        elevation=_floats(df, "elevation_m"),
    )


def _with_lon_lat(readings: pd.DataFrame) -> pd.DataFrame:
    """Return a GeoDataFrame's points as lon/lat columns (EPSG:4326)."""
    if not isinstance(readings, gpd.GeoDataFrame) or readings.geometry.name not in readings:
        return readings
    geo = readings.geometry
    if geo.crs is None:
        raise JoinError("the readings GeoDataFrame has no CRS; set one with .set_crs(...)")
    if not geo.geom_type.isin(["Point"]).all():
        raise JoinError("readings with their own place need point geometries")
    geo = geo.to_crs(4326)
    df = pd.DataFrame(readings.drop(columns=geo.name))
    df["lon"], df["lat"] = geo.x.to_numpy(), geo.y.to_numpy()
    return df


def _station_ids(df: pd.DataFrame, lines: list[int]) -> list[int | None]:
    ids: list[int | None] = [None] * len(df)
    if "station_id" not in df:
        return ids
    for i, value in enumerate(df["station_id"].tolist()):
        if pd.isna(value):
            continue
        try:
            if isinstance(value, str) and len(value.strip()) > 18:
                raise ValueError(value)  # before int(): 5,000 digits raise a different error
            ids[i] = int(str(value).strip()) if isinstance(value, str) else int(value)
            if not isinstance(value, str) and ids[i] != value:  # 108.7 is not 108
                raise ValueError(value)
        except (TypeError, ValueError, OverflowError):
            shown = value if len(str(value)) <= 30 else f"{str(value)[:29]}…"
            raise JoinError(
                f"line {lines[i]}: station_id {shown!r} is not a KMA station number"
            ) from None
    return ids


def lookup_stations(
    r: Readings, registry: StationRegistry, as_of: str | _dt.date | None, report: JoinReport
) -> list[Station | UnknownStationError]:
    """Each reading's station (as of its day), or why it has none.

    A reading dated outside its station's recorded history takes the site of
    the nearest period; ``report.outside_history`` lists it.
    """
    try:
        fixed = registry.as_of(as_of) if as_of is not None else None
    except (TypeError, ValueError) as exc:
        raise JoinError(f"as_of={as_of!r}: {exc}") from None
    by_day: dict[str, StationRegistry] = {}
    cache: dict[tuple[Any, str, str | None], Station | UnknownStationError] = {}
    # a station unknown to the whole registry is unknown on every day: its name's
    # suggestions are computed once, not once per day (a 3,000-row file took 6 s)
    nowhere: dict[tuple[Any, str], UnknownStationError] = {}
    # a dated reading by station number needs only its station on that day, not the
    # registry of the day (a 5-year daily file built 1,826 registries: 8 s for 2 MB)
    by_id: dict[tuple[int, str], tuple[Station, bool]] = {}
    found: list[Station | UnknownStationError] = []
    for i in range(r.n):
        day = _day(r.times[i], r.lines[i]) if r.times is not None and fixed is None else None
        sid = r.ids[i]
        if day is not None and sid is not None and sid in registry:
            if (sid, day) not in by_id:
                base = registry.get(sid)
                then = base.at(day)
                by_id[sid, day] = (base.nearest(day), True) if then is None else (then, False)
            station, outside = by_id[sid, day]
            if outside:
                report.outside_history.append((sid, r.lines[i], day))
            found.append(station)
            continue
        key = (r.ids[i], r.names[i], day)
        if key not in cache:
            if fixed is not None:
                reg, fallback = fixed, None
            elif day is None:
                reg, fallback = registry, None
            else:
                if day not in by_day:
                    by_day[day] = registry.as_of(day)
                reg, fallback = by_day[day], registry
            unknown = nowhere.get(key[:2])
            if unknown is not None and fallback is not None:  # unknown on every day
                cache[key] = UnknownStationError(unknown.query, unknown.suggestions,
                                                 line=r.lines[i], ambiguous=unknown.ambiguous)
            else:
                cache[key] = _find(reg, fallback, registry, r.ids[i], r.names[i], r.lines[i])
                if isinstance(cache[key], UnknownStationError) and fallback is not None:
                    nowhere[key[:2]] = cache[key]
                elif fallback is not None and day is not None and cache[key].station_id not in reg:
                    cache[key] = cache[key].nearest(day)
        station = cache[key]
        if day is not None and fallback is not None and not isinstance(
            station, UnknownStationError
        ) and station.station_id not in by_day[day]:
            report.outside_history.append((station.station_id, r.lines[i], day))
        found.append(station)
    return found


def _find(
    reg: StationRegistry,
    fallback: StationRegistry | None,
    registry: StationRegistry,
    sid: int | None,
    name: str,
    line: int,
) -> Station | UnknownStationError:
    try:
        if not name and sid is None:
            raise UnknownStationError(name)
        try:
            return reg.get(sid) if sid is not None else reg.lookup(name)
        except UnknownStationError:
            if fallback is None:
                raise
            return fallback.get(sid) if sid is not None else fallback.lookup(name)
    except UnknownStationError as exc:
        suggestions = exc.suggestions
        if not suggestions and name and sid is not None:
            suggestions = registry.suggest(name)
        return UnknownStationError(
            reading_label(name, sid), suggestions, line=line, ambiguous=exc.ambiguous
        )



def _day(value: Any, line: int) -> str | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        return pd.Timestamp(value).date().isoformat()
    except (TypeError, ValueError):
        return None
    except (NotImplementedError, OverflowError):  # outside the years Python dates hold
        raise JoinError(
            f"line {line}: time {value!r} is not a usable date; give 'YYYY-MM-DD HH:MM'"
        ) from None


def reading_label(name: str, sid: int | None) -> str:
    """Name a reading's station as the user wrote it: ``name (id)``, the name or the id."""
    if sid is None:
        return name
    return f"{name} ({sid})" if name else str(sid)
