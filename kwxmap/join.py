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
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import InputError, JoinError, KwxmapWarning, UnknownStationError
from .join_lookup import Readings, lookup_stations, read_columns, reading_label
from .join_report import MOVED_KM, SHOWN_DUPLICATES, JoinReport

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

OUTPUT_COLUMNS = ("station_id", "station_name", "name_ko", "name_en", "network", "elevation_m",
                  "condition", "condition_en", "temperature_c", "line")


def _check(name: str, value: object, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise InputError(f"{name}={value!r} is not one of {', '.join(map(repr, valid))}")


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
    r = read_columns(readings)
    if registry is None:
        from .stations import load_stations

        registry = load_stations()
    report = JoinReport(n_readings=r.n, on_duplicate=on_duplicate, on_implausible=on_implausible)
    found = lookup_stations(r, registry, as_of, report)
    stations, keep = _resolve_unknown(r, found, on_unknown, report)
    _check_values(r, keep, stations, on_implausible, report)
    frame = _rows(r, keep, stations, report)
    frame = _merge_duplicates(frame, report, on_duplicate, r.times is not None)
    gdf = _geodataframe(frame, r.times is not None)
    report.n_joined = len(gdf)
    report.n_placed = int(np.isfinite(gdf["temperature_c"].to_numpy(dtype="float64")).sum())
    gdf.attrs["join_report"] = report
    return gdf


def _resolve_unknown(
    r: Readings,
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
    r: Readings,
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
            where = f"line {r.lines[i]}: {reading_label(r.names[i], r.ids[i])!r}"
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
    r: Readings, i: int, st: Station | None, report: JoinReport
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
    r: Readings, keep: list[int], stations: list[Station | None], report: JoinReport
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
                    glines[:SHOWN_DUPLICATES],
                    group["station_name"].iloc[:SHOWN_DUPLICATES],
                    group["temperature_c"].iloc[:SHOWN_DUPLICATES],
                    strict=True,
                )
            )
            if len(group) > SHOWN_DUPLICATES:
                shown += f" (and {len(group) - SHOWN_DUPLICATES} more)"
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
