"""Readings to stations: located readings and a report of what did not fit.

:func:`join_readings` looks every parsed reading up in the station registry
and returns a GeoDataFrame of points (EPSG:4326) with the station's id,
names and elevation. Readings that carry their own place (``lon``/``lat``)
are placed there, known to the registry or not. Nothing is dropped silently:
unknown names, duplicated stations, implausible and missing values (counted
by reason) and own places far from the registry's are listed in a
:class:`JoinReport` stored in ``gdf.attrs["join_report"]``.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
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

#: A duplicate-station error quotes this many of the readings, then counts the rest.
_SHOWN_DUPLICATES = 3

ON_UNKNOWN = ("raise", "warn", "ignore")
ON_DUPLICATE = ("raise", "first", "last", "mean")
ON_IMPLAUSIBLE = ("raise", "nan", "keep")

#: Temperatures outside this range (°C) are implausible for South Korea
#: (records: −32.6 °C at 양평 1981, 41.0 °C at 홍천 2018): a scraping error.
PLAUSIBLE_RANGE_C = (-50.0, 50.0)

#: An own place farther than this (km) from the registry's site is reported.
MOVED_KM = 1.0

_MAX_WARNINGS = 20

OUTPUT_COLUMNS = ("station_id", "station_name", "name_ko", "name_en", "network", "elevation_m",
                  "condition", "condition_en", "temperature_c", "line")


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
    n_placed
        Rows of the result with a temperature: what a map draws.
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
    missing_reasons
        How many readings lack a temperature, by reason: ``kma_code``
        (KMA's -99.x / -999 codes), ``blank``, ``placeholder`` (a widget's
        ``-``), ``nan`` (a NaN given without a reason).
    own_place
        Readings placed at their own ``lon``/``lat``.
    unknown_placed
        ``(label, line)`` for each reading at its own place whose station the
        registry does not know (kept, not dropped).
    moved
        ``(station_id, line, km)`` for each known station whose own place is
        more than :data:`MOVED_KM` from the registry's site.
    on_duplicate, on_implausible
        The policies that were applied.

    Examples
    --------
    >>> JoinReport(n_readings=26, n_joined=26, n_placed=26).summary()
    '26 of 26 readings placed'
    """

    n_readings: int = 0
    n_joined: int = 0
    n_placed: int = 0
    unknown: list[tuple[str, int, list[str]]] = field(default_factory=list)
    duplicates: list[tuple[int, list[int]]] = field(default_factory=list)
    implausible: list[tuple[int, int, float]] = field(default_factory=list)
    outside_history: list[tuple[int, int, str]] = field(default_factory=list)
    missing_values: list[tuple[int, int]] = field(default_factory=list)
    missing_reasons: dict[str, int] = field(default_factory=dict)
    own_place: int = 0
    unknown_placed: list[tuple[str, int]] = field(default_factory=list)
    moved: list[tuple[int, int, float]] = field(default_factory=list)
    on_duplicate: str = "raise"
    on_implausible: str = "raise"

    @property
    def not_placed(self) -> dict[str, int]:
        """Readings not drawn, by reason (unknown station, missing, implausible, duplicate).

        Examples
        --------
        >>> JoinReport(5, 3, 2, unknown=[("x", 2, [])], missing_values=[(108, 3)],
        ...            duplicates=[(159, [4, 5])], on_duplicate="first").not_placed
        {'unknown station': 1, 'missing value': 1, 'duplicate': 1}
        """
        counts = {
            "unknown station": len(self.unknown),
            "missing value": len(self.missing_values),
            "implausible": len(self.implausible) if self.on_implausible == "nan" else 0,
        }
        # the rest went into another reading of their station (first, last or mean)
        counts["duplicate"] = max(self.n_readings - self.n_placed - sum(counts.values()), 0)
        return {k: v for k, v in counts.items() if v}

    def summary(self) -> str:
        """Return one line for a log or the command line: what was placed, and why not the rest.

        When more than 10 % of the readings are not placed, the line starts
        with ``only`` and names the fix.

        Examples
        --------
        >>> JoinReport(20, 19, 19, unknown=[("서욹", 4, ["서울"])]).summary()
        '19 of 20 readings placed; not placed: 1 unknown station'
        >>> JoinReport(20, 20, 19, missing_values=[(108, 3)], missing_reasons={"kma_code": 1}
        ...            ).summary()
        '19 of 20 readings placed; not placed: 1 missing value (1 kma_code)'
        >>> JoinReport(729, 99, 99, unknown=[("x", 2, [])] * 630).summary()[:80]
        'only 99 of 729 readings placed (86 % not); not placed: 630 unknown stations — ad'
        """
        placed = f"{self.n_placed} of {self.n_readings} readings placed"
        missing = self.n_readings - self.n_placed
        if self.n_readings and missing / self.n_readings > 0.1:
            placed = f"only {placed} ({round(100 * missing / self.n_readings)} % not)"
        parts = []
        for reason, count in self.not_placed.items():
            text = _plural(count, reason)
            if reason == "missing value" and self.missing_reasons:
                why = ", ".join(f"{n} {k}" for k, n in sorted(self.missing_reasons.items()))
                text += f" ({why})"
            if reason == "implausible":
                text += " blanked"
            if reason == "duplicate":
                text += f" of a station merged ({self.on_duplicate})"
            if reason == "unknown station" and placed.startswith("only"):
                text += (" — add newer stations with `kwxmap stations --update FILE` (a KMA "
                         "station list), check --network, or give the readings lon/lat")
            parts.append(text)
        line = placed + ("; not placed: " + ", ".join(parts) if parts else "")
        extra = []
        if self.duplicates and "duplicate" not in self.not_placed:
            extra.append(f"{_plural(len(self.duplicates), 'duplicated station')} merged "
                         f"({self.on_duplicate})")
        if self.implausible and self.on_implausible == "keep":
            extra.append(_plural(len(self.implausible), "implausible value") + " kept")
        if self.outside_history:
            extra.append(
                f"{_plural(len(self.outside_history), 'reading')} dated outside their "
                "station's recorded history, placed at the nearest period's site"
            )
        if self.own_place:
            extra.append(f"{self.own_place} at their own lon/lat")
        if self.unknown_placed:
            extra.append(f"{len(self.unknown_placed)} of them unknown to the registry")
        if self.moved:
            extra.append(
                f"{_plural(len(self.moved), 'station')} over {MOVED_KM:g} km from the "
                "registry site"
            )
        return line + ("; " + ", ".join(extra) if extra else "")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _check(name: str, value: object, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise InputError(f"{name}={value!r} is not one of {', '.join(map(repr, valid))}")


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
    r"""Place readings at their stations, or at the places they carry.

    Parameters
    ----------
    readings
        A DataFrame from :func:`~kwxmap.parse_readings`, or any frame with
        ``temperature_c`` and ``station_name`` and/or ``station_id``
        (``condition``, ``line``, ``time`` and ``missing`` are used when
        present). A ``station_id`` wins over the name. Readings with their
        own place carry ``lon``/``lat`` (EPSG:4326) and optionally
        ``elevation_m``; a GeoDataFrame of points is read the same way
        (its geometry converted to EPSG:4326).
    registry
        The stations; ``load_stations()`` (every ASOS and AWS station) when None.
    as_of
        A date: names and sites are taken as they stood that day
        (``registry.as_of(as_of)``); a station that did not exist then is
        unknown. When None and the readings have a ``time`` column, each
        reading is looked up as of its own day, falling back to the whole
        registry for stations whose history does not cover that day.
    on_unknown
        A station the registry does not know, for a reading **without** its
        own place: ``"raise"`` an :class:`~kwxmap.errors.UnknownStationError`
        naming the line and the closest names; ``"warn"``
        (:class:`~kwxmap.errors.KwxmapWarning`) or ``"ignore"`` leaves the
        reading out. Either way it is listed in the report. When no reading
        at all can be placed, a :class:`~kwxmap.errors.JoinError` is raised
        whatever the mode. A reading with its own place is always kept.
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
        EPSG:4326 points, one row per station (per time), in input order,
        with columns ``station_id`` (int; nullable ``Int64`` when a reading
        placed by its own lon/lat has no id), ``station_name`` (as printed;
        the registry name for id-only tables), ``name_ko``, ``name_en``,
        ``elevation_m``, ``condition``, ``condition_en``, ``temperature_c``
        (NaN kept), ``line``, ``time`` (when the readings have it) and
        ``geometry``. ``gdf.attrs["join_report"]`` holds the
        :class:`JoinReport`.

    Raises
    ------
    UnknownStationError
        With ``on_unknown="raise"``, for the first unknown station without
        its own place.
    JoinError
        For duplicates or implausible values under ``"raise"``, or readings
        without the needed columns.

    Notes
    -----
    **Which position wins.** A reading's own ``lon``/``lat`` wins over the
    registry's site: it is where the data provider (KMA's own station list
    of that time, or the user) says the value was measured, while the
    registry may be older than the reading (48 AWS stations moved more than
    1 km between 2022 and 2025) and knows only KMA stations. The registry
    still names known stations, gives the elevation when the reading has
    none and the reading's place is within :data:`MOVED_KM` km of the site
    (or of an earlier site of the station's history), and every known station whose own place
    is more than :data:`MOVED_KM` km from the registry's is listed in
    ``report.moved`` so a wrong coordinate does not pass unseen.

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
    (4326, '2 of 2 readings placed')

    A station the registry does not know, with its own place, is kept:

    >>> own = pd.DataFrame({"station_id": [108, 9001], "temperature_c": [3.0, 2.5],
    ...                     "lon": [126.9658, 127.10], "lat": [37.5714, 37.60]})
    >>> gdf = join_readings(own)
    >>> gdf["station_id"].tolist(), gdf.attrs["join_report"].summary()  # doctest: +ELLIPSIS
    ([108, 9001], '2 of 2 readings placed; 2 at their own lon/lat, 1 of them unknown ...')
    """
    _check("on_unknown", on_unknown, ON_UNKNOWN)
    _check("on_duplicate", on_duplicate, ON_DUPLICATE)
    _check("on_implausible", on_implausible, ON_IMPLAUSIBLE)
    r = _columns(readings)
    if registry is None:
        from .stations import load_stations

        registry = load_stations()
    report = JoinReport(n_readings=r.n, on_duplicate=on_duplicate, on_implausible=on_implausible)
    found = _lookup(r, registry, as_of, report)
    stations, keep = _resolve_unknown(r, found, on_unknown, report)
    _check_values(r, keep, stations, on_implausible, report)
    frame = _rows(r, keep, stations, report)
    frame = _merge_duplicates(frame, report, on_duplicate, r.times is not None)
    gdf = _geodataframe(frame, r.times is not None)
    report.n_joined = len(gdf)
    report.n_placed = int(np.isfinite(gdf["temperature_c"].to_numpy(dtype="float64")).sum())
    gdf.attrs["join_report"] = report
    return gdf


@dataclass
class _Readings:
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


def _columns(readings: pd.DataFrame) -> _Readings:
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
    return _Readings(
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


def _lookup(
    r: _Readings, registry: StationRegistry, as_of: str | _dt.date | None, report: JoinReport
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
            _label(name, sid), suggestions, line=line, ambiguous=exc.ambiguous
        )


def _resolve_unknown(
    r: _Readings,
    found: list[Station | UnknownStationError],
    on_unknown: str,
    report: JoinReport,
) -> tuple[list[Station | None], list[int]]:
    """Apply ``on_unknown``; return each reading's station and the readings kept."""
    stations: list[Station | None] = []
    keep: list[int] = []
    for i, f in enumerate(found):
        if not isinstance(f, UnknownStationError):
            stations.append(f)
            keep.append(i)
            continue
        stations.append(None)
        if r.placed(i):  # unknown to the registry, but it brings its place
            report.unknown_placed.append((str(f.query), r.lines[i]))
            keep.append(i)
            continue
        err = UnknownStationError(f.query, f.suggestions, line=r.lines[i], ambiguous=f.ambiguous)
        if on_unknown == "raise":
            raise err
        report.unknown.append((str(f.query), r.lines[i], list(f.suggestions)))
        if on_unknown == "warn" and len(report.unknown) <= _MAX_WARNINGS:
            warnings.warn(f"left out {err}", KwxmapWarning, stacklevel=3)
    if on_unknown == "warn" and len(report.unknown) > _MAX_WARNINGS:
        warnings.warn(
            f"left out {len(report.unknown) - _MAX_WARNINGS} more unknown stations",
            KwxmapWarning,
            stacklevel=3,
        )
    if r.n and not keep:
        name, line, suggestions = report.unknown[0]
        first = UnknownStationError(name, suggestions, line=line)
        raise JoinError(
            f"no known station among the {r.n} readings (first: {first}); check the names, "
            "the registry's network (--network, registry=) or add newer stations with "
            "`kwxmap stations --update FILE`, or give the readings lon/lat columns"
        )
    return stations, keep


def _check_values(
    r: _Readings,
    keep: list[int],
    stations: list[Station | None],
    on_implausible: str,
    report: JoinReport,
) -> None:
    """Count missing temperatures by reason; apply ``on_implausible``."""
    lo, hi = PLAUSIBLE_RANGE_C
    reasons: Counter[str] = Counter()
    for i in keep:
        st = stations[i]
        sid = st.station_id if st is not None else (r.ids[i] if r.ids[i] is not None else -1)
        value = r.temps[i]
        if math.isnan(value):
            report.missing_values.append((sid, r.lines[i]))
            reasons[r.missing[i] or "nan"] += 1
        elif not lo <= value <= hi:
            report.implausible.append((sid, r.lines[i], float(value)))
            where = f"line {r.lines[i]}: {_label(r.names[i], r.ids[i])!r}"
            if on_implausible == "raise":
                raise JoinError(
                    f"{where} temperature {value:g} °C is outside the plausible range "
                    f"{lo:g}..{hi:g} °C; fix the input, or pass on_implausible='nan' to "
                    "blank it or 'keep' to keep it"
                )
            if on_implausible == "nan":
                r.temps[i] = math.nan
            if len(report.implausible) <= _MAX_WARNINGS:
                action = "blanked" if on_implausible == "nan" else "kept"
                warnings.warn(
                    f"{where} implausible temperature {value:g} °C {action}",
                    KwxmapWarning,
                    stacklevel=3,
                )
    report.missing_reasons = dict(reasons)


def _km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in km (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def _place(
    r: _Readings, i: int, st: Station | None, report: JoinReport
) -> tuple[float, float, float]:
    """Return the reading's lon, lat and elevation: its own place first (see Notes)."""
    if not r.placed(i):
        assert st is not None
        return st.lon, st.lat, st.elevation_m
    assert r.lon is not None and r.lat is not None
    lon, lat = float(r.lon[i]), float(r.lat[i])
    report.own_place += 1
    elevation = math.nan if r.elevation is None else float(r.elevation[i])
    if st is not None:
        km = _km(st.lon, st.lat, lon, lat)
        if km > MOVED_KM:
            report.moved.append((st.station_id, r.lines[i], round(km, 2)))
        if math.isnan(elevation):
            elevation = _height_near(st, lon, lat, km)
    return lon, lat, elevation


def _height_near(st: Station, lon: float, lat: float, km: float) -> float:
    """Return the height at a site of the history within MOVED_KM of ``lon, lat`` (or NaN)."""
    if km <= MOVED_KM:
        return st.elevation_m
    sites = [(_km(p.lon, p.lat, lon, lat), p.elevation_m) for p in st.history]
    near = [(d, h) for d, h in sites if d <= MOVED_KM and not math.isnan(h)]
    return min(near)[1] if near else math.nan


def _rows(
    r: _Readings, keep: list[int], stations: list[Station | None], report: JoinReport
) -> pd.DataFrame:
    rows = []
    for i in keep:
        st = stations[i]
        lon, lat, elevation = _place(r, i, st, report)
        row = {
            "station_id": st.station_id if st is not None else r.ids[i],
            "station_name": r.names[i] or (st.name_ko if st is not None else ""),
            "name_ko": st.name_ko if st is not None else r.names[i],
            "name_en": st.name_en if st is not None else "",
            "network": st.network if st is not None else "",
            "elevation_m": elevation,
            "condition": r.conditions[i],
            "condition_en": r.conditions_en[i],
            "temperature_c": r.temps[i],
            "line": r.lines[i],
            "lon": lon,
            "lat": lat,
        }
        if r.times is not None:
            row["time"] = r.times[i]
        rows.append(row)
    columns = [*OUTPUT_COLUMNS, *(["time"] if r.times is not None else []), "lon", "lat"]
    return pd.DataFrame.from_records(rows, columns=columns)


def _geodataframe(frame: pd.DataFrame, has_time: bool) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs=4326,
    )
    ids = gdf["station_id"]
    gdf["station_id"] = ids.astype("Int64") if ids.isna().any() else ids.astype("int64")
    gdf["elevation_m"] = gdf["elevation_m"].astype("float64")
    gdf["temperature_c"] = gdf["temperature_c"].astype("float64")
    gdf["line"] = gdf["line"].astype("int64")
    if has_time:
        try:
            gdf["time"] = pd.to_datetime(gdf["time"])
        except (TypeError, ValueError, OverflowError):
            for value, line in zip(gdf["time"], gdf["line"], strict=True):
                try:
                    pd.Timestamp(value)
                except (TypeError, ValueError, OverflowError):
                    raise JoinError(
                        f"line {line}: time {value!r} is not a date; give 'YYYY-MM-DD HH:MM'"
                    ) from None
            raise JoinError(
                "the time column mixes times with and without a time zone (or several "
                "zones); give every time in one zone, or none"
            ) from None
    return gdf


def _merge_duplicates(
    frame: pd.DataFrame, report: JoinReport, policy: str, has_time: bool
) -> pd.DataFrame:
    if frame.empty:
        return frame
    frame["_key"] = frame["station_id"].astype(object).where(
        frame["station_id"].notna(), "name:" + frame["station_name"].astype(str)
    )
    keys = ["_key", "time"] if has_time else ["_key"]
    frame = _merge(frame, keys, report, policy, has_time)
    return frame.drop(columns="_key")


def _merge(
    frame: pd.DataFrame, keys: list[str], report: JoinReport, policy: str, has_time: bool
) -> pd.DataFrame:
    dup = frame.duplicated(keys, keep=False).to_numpy()
    if not dup.any():
        return frame
    groups = frame[dup].groupby(keys, sort=False, dropna=False)
    drop: list[int] = []
    for _, group in groups:
        first = group["station_id"].iloc[0]
        sid = int(first) if pd.notna(first) else -1
        glines = [int(x) for x in group["line"]]
        report.duplicates.append((sid, glines))
        if policy == "raise":
            shown = " and ".join(
                f"line {ln} ({nm!r} {t:g} °C)"
                for ln, nm, t in zip(
                    glines[:_SHOWN_DUPLICATES],
                    group["station_name"].iloc[:_SHOWN_DUPLICATES],
                    group["temperature_c"].iloc[:_SHOWN_DUPLICATES],
                    strict=True,
                )
            )
            if len(group) > _SHOWN_DUPLICATES:
                shown += f" (and {len(group) - _SHOWN_DUPLICATES} more)"
            when = f" at {group['time'].iloc[0]}" if has_time else ""
            raise JoinError(
                f"station {sid if sid >= 0 else ''} ({group['name_ko'].iloc[0]}) is read "
                f"{len(group)} times"
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
