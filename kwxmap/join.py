"""Readings to stations: located readings and a report of what did not fit.

:func:`join_readings` looks every parsed reading up in the station registry
and returns a GeoDataFrame of points (EPSG:4326) with the station's id,
names and elevation. Nothing is dropped silently: unknown names, duplicated
stations, implausible and missing values are listed in a
:class:`JoinReport` stored in ``gdf.attrs["join_report"]``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import InputError, JoinError, KwxmapWarning, UnknownStationError

if TYPE_CHECKING:
    import datetime as _dt

    from .stations import Station, StationRegistry

__all__ = ["PLAUSIBLE_RANGE_C", "JoinReport", "join_readings"]

ON_UNKNOWN = ("raise", "warn", "ignore")
ON_DUPLICATE = ("raise", "first", "last", "mean")
ON_IMPLAUSIBLE = ("raise", "nan", "keep")

#: Temperatures outside this range (°C) are implausible for South Korea
#: (records: −32.6 °C at 양평 1981, 41.0 °C at 홍천 2018): a scraping error.
PLAUSIBLE_RANGE_C = (-50.0, 50.0)

_MAX_WARNINGS = 20

OUTPUT_COLUMNS = (
    "station_id",
    "station_name",
    "name_ko",
    "name_en",
    "elevation_m",
    "condition",
    "condition_en",
    "temperature_c",
    "line",
)


@dataclass
class JoinReport:
    """What :func:`join_readings` matched, merged, flagged or could not place.

    Attributes
    ----------
    n_readings
        Readings given.
    n_joined
        Rows in the result (after unknown names are left out and duplicates
        merged).
    unknown
        ``(name, line, suggestions)`` for each reading whose station is not in
        the registry; ``name`` is the printed name (or the id as text).
    duplicates
        ``(station_id, lines)`` for each station read more than once in one
        snapshot (same time), with the lines it came from.
    implausible
        ``(station_id, line, value)`` for each temperature outside
        :data:`PLAUSIBLE_RANGE_C`, with the value as printed.
    missing_values
        ``(station_id, line)`` for each reading without a temperature (kept,
        NaN).
    on_duplicate, on_implausible
        The policies that were applied.

    Examples
    --------
    >>> JoinReport(n_readings=26, n_joined=26).summary()
    '26 readings, 0 unknown'
    """

    n_readings: int = 0
    n_joined: int = 0
    unknown: list[tuple[str, int, list[str]]] = field(default_factory=list)
    duplicates: list[tuple[int, list[int]]] = field(default_factory=list)
    implausible: list[tuple[int, int, float]] = field(default_factory=list)
    missing_values: list[tuple[int, int]] = field(default_factory=list)
    on_duplicate: str = "raise"
    on_implausible: str = "raise"

    def summary(self) -> str:
        """Return one line for a log or the command line.

        Examples
        --------
        >>> JoinReport(3, 2, unknown=[("서욹", 4, ["서울"])]).summary()
        '3 readings, 1 unknown, 2 stations joined'
        """
        parts = [f"{self.n_readings} readings", f"{len(self.unknown)} unknown"]
        if self.duplicates:
            parts.append(
                f"{_plural(len(self.duplicates), 'duplicated station')} merged "
                f"({self.on_duplicate})"
            )
        if self.implausible:
            what = {"nan": " blanked", "keep": " kept"}.get(self.on_implausible, "")
            parts.append(_plural(len(self.implausible), "implausible value") + what)
        if self.missing_values:
            parts.append(_plural(len(self.missing_values), "missing value"))
        if self.n_joined != self.n_readings:
            parts.append(f"{_plural(self.n_joined, 'station')} joined")
        return ", ".join(parts)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _check(name: str, value: object, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise InputError(f"{name}={value!r} is not one of {', '.join(map(repr, valid))}")


def _day(value: Any) -> str | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        return pd.Timestamp(value).date().isoformat()
    except (TypeError, ValueError):
        return None


def _label(name: str, sid: int | None) -> str:
    if sid is None:
        return name
    return f"{name} ({sid})" if name else str(sid)


def join_readings(
    readings: pd.DataFrame,
    registry: StationRegistry | None = None,
    *,
    as_of: str | _dt.date | None = None,
    on_unknown: str = "raise",
    on_duplicate: str = "raise",
    on_implausible: str = "raise",
) -> gpd.GeoDataFrame:
    r"""Place readings at their stations.

    Parameters
    ----------
    readings
        A DataFrame from :func:`~kwxmap.parse_readings`, or any frame with
        ``temperature_c`` and ``station_name`` and/or ``station_id``
        (``condition``, ``line`` and ``time`` are used when present). A
        ``station_id`` wins over the name.
    registry
        The stations; ``load_stations()`` (ASOS) when None.
    as_of
        A date: names and sites are taken as they stood that day
        (``registry.as_of(as_of)``); a station that did not exist then is
        unknown. When None and the readings have a ``time`` column, each
        reading is looked up as of its own day, falling back to the whole
        registry for stations whose history does not cover that day.
    on_unknown
        A station the registry does not know: ``"raise"`` an
        :class:`~kwxmap.errors.UnknownStationError` naming the line and the
        closest names; ``"warn"`` (:class:`~kwxmap.errors.KwxmapWarning`) or
        ``"ignore"`` leaves the reading out. Either way it is listed in the
        report. When no reading at all names a known station, a
        :class:`~kwxmap.errors.JoinError` is raised whatever the mode.
    on_duplicate
        A station read twice for the same time: ``"raise"`` a
        :class:`~kwxmap.errors.JoinError` naming both lines; keep the
        ``"first"`` or ``"last"`` reading, or the ``"mean"`` of the
        temperatures (weather word and line from the first). Merged
        stations are listed in the report.
    on_implausible
        A temperature outside −50…+50 °C (:data:`PLAUSIBLE_RANGE_C`), which
        no Korean station has ever measured and so is a scraping error:
        ``"raise"`` a :class:`~kwxmap.errors.JoinError` naming the line
        (default); ``"nan"`` blanks the value and warns; ``"keep"`` keeps it
        and warns. Either way it is listed in the report.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 points at the stations' sites, one row per station (per
        time), in input order, with columns ``station_id`` (int),
        ``station_name`` (as printed; the registry name for id-only tables),
        ``name_ko``, ``name_en``, ``elevation_m``, ``condition``,
        ``condition_en``, ``temperature_c`` (NaN kept), ``line``, ``time``
        (when the readings have it) and ``geometry``.
        ``gdf.attrs["join_report"]`` holds the :class:`JoinReport`.

    Raises
    ------
    UnknownStationError
        With ``on_unknown="raise"``, for the first unknown station.
    JoinError
        For duplicates or implausible values under ``"raise"``, or readings
        without the needed columns.

    Examples
    --------
    >>> from kwxmap import parse_readings
    >>> readings = parse_readings("• 맑음북강릉 26.0℃\n• 구름조금고산 18.1℃")
    >>> gdf = join_readings(readings)
    >>> gdf[["station_id", "name_ko", "temperature_c"]]
       station_id name_ko  temperature_c
    0         104     북강릉           26.0
    1         185      고산           18.1
    >>> gdf.crs.to_epsg(), gdf.attrs["join_report"].summary()
    (4326, '2 readings, 0 unknown')
    """
    _check("on_unknown", on_unknown, ON_UNKNOWN)
    _check("on_duplicate", on_duplicate, ON_DUPLICATE)
    _check("on_implausible", on_implausible, ON_IMPLAUSIBLE)
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
    if registry is None:
        from .stations import load_stations

        registry = load_stations()

    n = len(readings)
    df = readings.reset_index(drop=True)
    names = (
        df["station_name"].fillna("").astype(str).tolist()
        if "station_name" in df
        else [""] * n
    )
    lines = list(range(1, n + 1))
    if "line" in df:
        given = pd.to_numeric(df["line"], errors="coerce").tolist()
        lines = [int(g) if math.isfinite(g) else i for g, i in zip(given, lines, strict=True)]
    ids: list[int | None] = [None] * n
    if "station_id" in df:
        for i, value in enumerate(df["station_id"].tolist()):
            if pd.isna(value):
                continue
            try:
                ids[i] = int(str(value).strip()) if isinstance(value, str) else int(value)
                if not isinstance(value, str) and ids[i] != value:  # 108.7 is not 108
                    raise ValueError(value)
            except (TypeError, ValueError, OverflowError):
                raise JoinError(
                    f"line {lines[i]}: station_id {value!r} is not a KMA station number"
                ) from None
    conditions = df["condition"].fillna("").astype(str).tolist() if "condition" in df else [""] * n
    conditions_en = (
        df["condition_en"].fillna("").astype(str).tolist() if "condition_en" in df else [""] * n
    )
    try:
        temps = pd.to_numeric(df["temperature_c"]).astype("float64").to_numpy(copy=True)
    except (TypeError, ValueError) as exc:
        raise JoinError(f"temperature_c holds values that are not numbers: {exc}") from None
    has_time = "time" in df.columns
    times = df["time"].tolist() if has_time else [None] * n

    try:
        fixed = registry.as_of(as_of) if as_of is not None else None
    except (TypeError, ValueError) as exc:
        raise JoinError(f"as_of={as_of!r}: {exc}") from None
    by_day: dict[str | None, StationRegistry] = {}

    def registry_for(day: str | None) -> StationRegistry:
        if fixed is not None:
            return fixed
        if day is None:
            return registry
        if day not in by_day:
            by_day[day] = registry.as_of(day)
        return by_day[day]

    def find(reg: StationRegistry, sid: int | None, name: str) -> Station:
        return reg.get(sid) if sid is not None else reg.lookup(name)

    cache: dict[tuple[Any, str, str | None], Station | UnknownStationError] = {}
    report = JoinReport(n_readings=n, on_duplicate=on_duplicate, on_implausible=on_implausible)
    stations: list[Station | None] = []
    for i in range(n):
        day = _day(times[i]) if has_time and fixed is None else None
        key = (ids[i], names[i], day)
        if key not in cache:
            try:
                if not names[i] and ids[i] is None:
                    raise UnknownStationError(names[i])
                try:
                    cache[key] = find(registry_for(day), ids[i], names[i])
                except UnknownStationError:
                    if day is None or fixed is not None:
                        raise
                    cache[key] = find(registry, ids[i], names[i])
            except UnknownStationError as exc:
                suggestions = exc.suggestions
                if not suggestions and names[i] and ids[i] is not None:
                    suggestions = registry.suggest(names[i])
                cache[key] = UnknownStationError(
                    _label(names[i], ids[i]), suggestions, line=lines[i], ambiguous=exc.ambiguous
                )
        found = cache[key]
        if isinstance(found, UnknownStationError):
            err = UnknownStationError(
                found.query, found.suggestions, line=lines[i], ambiguous=found.ambiguous
            )
            if on_unknown == "raise":
                raise err
            report.unknown.append((str(found.query), lines[i], list(found.suggestions)))
            if on_unknown == "warn" and len(report.unknown) <= _MAX_WARNINGS:
                warnings.warn(f"left out {err}", KwxmapWarning, stacklevel=2)
            stations.append(None)
        else:
            stations.append(found)
    if on_unknown == "warn" and len(report.unknown) > _MAX_WARNINGS:
        warnings.warn(
            f"left out {len(report.unknown) - _MAX_WARNINGS} more unknown stations",
            KwxmapWarning,
            stacklevel=2,
        )

    keep = [i for i in range(n) if stations[i] is not None]
    if n and not keep:
        name, line, suggestions = report.unknown[0]
        first = UnknownStationError(name, suggestions, line=line)
        raise JoinError(
            f"no known station among the {n} readings (first: {first}); check the names "
            "or the registry (load_stations('all') includes AWS stations)"
        )
    lo, hi = PLAUSIBLE_RANGE_C
    for i in keep:
        st = stations[i]
        assert st is not None
        value = temps[i]
        if math.isnan(value):
            report.missing_values.append((st.station_id, lines[i]))
        elif not lo <= value <= hi:
            report.implausible.append((st.station_id, lines[i], float(value)))
            where = f"line {lines[i]}: {_label(names[i], ids[i])!r}"
            if on_implausible == "raise":
                raise JoinError(
                    f"{where} temperature {value:g} °C is outside the plausible range "
                    f"{lo:g}..{hi:g} °C; fix the input, or pass on_implausible='nan' to "
                    "blank it or 'keep' to keep it"
                )
            if on_implausible == "nan":
                temps[i] = math.nan
            if len(report.implausible) <= _MAX_WARNINGS:
                action = "blanked" if on_implausible == "nan" else "kept"
                warnings.warn(
                    f"{where} implausible temperature {value:g} °C {action}",
                    KwxmapWarning,
                    stacklevel=2,
                )

    rows = []
    for i in keep:
        st = stations[i]
        assert st is not None
        row = {
            "station_id": st.station_id,
            "station_name": names[i] or st.name_ko,
            "name_ko": st.name_ko,
            "name_en": st.name_en,
            "elevation_m": st.elevation_m,
            "condition": conditions[i],
            "condition_en": conditions_en[i],
            "temperature_c": temps[i],
            "line": lines[i],
            "lon": st.lon,
            "lat": st.lat,
        }
        if has_time:
            row["time"] = times[i]
        rows.append(row)
    columns = [*OUTPUT_COLUMNS, *(["time"] if has_time else []), "lon", "lat"]
    frame = pd.DataFrame.from_records(rows, columns=columns)
    frame = _merge_duplicates(frame, report, on_duplicate, has_time)

    gdf = gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs=4326,
    )
    gdf["station_id"] = gdf["station_id"].astype("int64")
    gdf["temperature_c"] = gdf["temperature_c"].astype("float64")
    gdf["line"] = gdf["line"].astype("int64")
    if has_time:
        try:
            gdf["time"] = pd.to_datetime(gdf["time"])
        except (TypeError, ValueError):
            for value, line in zip(gdf["time"], gdf["line"], strict=True):
                try:
                    pd.Timestamp(value)
                except (TypeError, ValueError):
                    raise JoinError(
                        f"line {line}: time {value!r} is not a date; give 'YYYY-MM-DD HH:MM'"
                    ) from None
            raise JoinError(
                "the time column mixes times with and without a time zone (or several "
                "zones); give every time in one zone, or none"
            ) from None
    report.n_joined = len(gdf)
    gdf.attrs["join_report"] = report
    return gdf


def _merge_duplicates(
    frame: pd.DataFrame, report: JoinReport, policy: str, has_time: bool
) -> pd.DataFrame:
    keys = ["station_id", "time"] if has_time else ["station_id"]
    if frame.empty:
        return frame
    dup = frame.duplicated(keys, keep=False).to_numpy()
    if not dup.any():
        return frame
    groups = frame[dup].groupby(keys, sort=False, dropna=False)
    drop: list[int] = []
    for _, group in groups:
        sid = int(group["station_id"].iloc[0])
        glines = [int(x) for x in group["line"]]
        report.duplicates.append((sid, glines))
        if policy == "raise":
            shown = " and ".join(
                f"line {ln} ({nm!r} {t:g} °C)"
                for ln, nm, t in zip(
                    glines, group["station_name"], group["temperature_c"], strict=True
                )
            )
            when = f" at {group['time'].iloc[0]}" if has_time else ""
            raise JoinError(
                f"station {sid} ({group['name_ko'].iloc[0]}) is read {len(group)} times"
                f"{when}: {shown}; keep one with on_duplicate='first', 'last' or 'mean'"
            )
        index = list(group.index)
        if policy == "first":
            drop += index[1:]
        elif policy == "last":
            drop += index[:-1]
        else:  # mean
            values = group["temperature_c"].to_numpy(dtype="float64")
            mean = float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
            frame.loc[index[0], "temperature_c"] = mean
            drop += index[1:]
    return frame.drop(index=drop).reset_index(drop=True)
