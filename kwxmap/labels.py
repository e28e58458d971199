"""Text on the map: where isotherm values go, and how levels and times are written.

Isotherm labels are placed in Python from the contour geometry rather than
by a Leaflet plugin, so the web map and the static picture
(:mod:`kwxmap.static`) put the same numbers in the same places, and the page
needs no third-party JavaScript: :func:`isotherm_label_points` walks each
isoline in metres (EPSG:5179), puts candidates at an even spacing along it,
turns them along the line, and drops candidates too close to an already kept
label or to a station. The web page then hides, at each zoom, any label whose
box still touches another or a station marker.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .errors import InputError
from .kmatime import KST, to_kst

if TYPE_CHECKING:  # pragma: no cover - typing only
    import geopandas as gpd

__all__ = [
    "DAILY_FORMATS",
    "LABELS",
    "LANGS",
    "format_level",
    "map_heading",
    "format_time",
    "isotherm_label_points",
    "legend_ticks",
]

#: Interface languages of a map: Korean (default) and English.
LANGS: tuple[str, ...] = ("ko", "en")

#: Station labels: none, or each station's reading written beside it.
LABELS: tuple[str, ...] = ("none", "values")

#: Input formats whose readings are daily values (a date, not an instant).
DAILY_FORMATS: tuple[str, ...] = ("sfcdd", "portal_dd", "datagokr_daily")

_VARIABLE_WORDS = {
    "ko": {"instant": "기온", "tavg": "일평균기온", "tmin": "일최저기온", "tmax": "일최고기온"},
    "en": {"instant": "Air temperature", "tavg": "Daily mean temperature",
           "tmin": "Daily minimum temperature", "tmax": "Daily maximum temperature"},
}

_KO_MONTH_DAY = "{y}년 {m}월 {d}일"

_EN_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


def _decimals(values: Sequence[float]) -> int:
    """Fewest decimals (0..2) that write every value exactly."""
    for places in (0, 1, 2):
        if all(abs(round(v, places) - v) < 1e-9 for v in values):
            return places
    return 2


def format_level(value: float, decimals: int | None = None) -> str:
    """Write an isotherm level as on the legend: ``24``, ``-3``, ``24.5``.

    Parameters
    ----------
    value
        The level, °C.
    decimals
        Decimals to use; default the fewest that write it exactly (max 2).

    Examples
    --------
    >>> format_level(24.0), format_level(-2.5), format_level(3, 1)
    ('24', '-2.5', '3.0')
    """
    places = _decimals([value]) if decimals is None else decimals
    text = f"{value:.{places}f}"
    return "0" if text.strip("-0.") == "" and places == 0 else text


#: Width (px) of the narrowest legend (a 360 px phone), the width of a tick label's
#: character (12 px digits) and the least gap between two labels: legend_ticks keeps
#: only labels that do not touch there.
LEGEND_PX = 316.0
TICK_CHAR_PX = 7.0
TICK_GAP_PX = 6.0


def legend_ticks(edges: Sequence[float], most: int = 8) -> list[tuple[int, str]]:
    """Pick the band edges a legend labels: both ends and evenly in between.

    Every label uses the same number of decimals (one tick format); an inner
    label that would touch its neighbour on the narrowest legend
    (:data:`LEGEND_PX`) is left out.

    Parameters
    ----------
    edges
        Band edges, increasing.
    most
        Largest number of labels (a 360 px legend holds 8).

    Returns
    -------
    list of (index into edges, text)

    Examples
    --------
    >>> legend_ticks([20, 21, 22, 23])
    [(0, '20'), (1, '21'), (2, '22'), (3, '23')]
    >>> [t for _, t in legend_ticks(list(range(-15, 8)))]
    ['-15', '-10', '-5', '0', '5', '7']
    >>> legend_ticks([0, 2.5, 5])
    [(0, '0.0'), (1, '2.5'), (2, '5.0')]
    >>> [t for _, t in legend_ticks([23.5 + 0.5 * i for i in range(12)])]  # 24.0 would touch 23.5
    ['23.5', '25.0', '26.0', '27.0', '28.0', '29.0']
    """
    edges = [float(e) for e in edges]
    if not edges:
        return []
    places = _decimals(edges)
    n = len(edges)
    text = {i: format_level(edges[i], places) for i in {0, n - 1, *_round_ticks(edges, most)}}
    if n == 1:
        return [(0, text[0])]
    # Keep the ends and every inner tick whose label clears its kept neighbours on the
    # narrowest legend: the first label is left-aligned at 0, the last right-aligned at
    # the end, the others centred on their edge.
    x = {i: LEGEND_PX * i / (n - 1) for i in text}
    w = {i: TICK_CHAR_PX * len(t) for i, t in text.items()}
    last_left = LEGEND_PX - w[n - 1]
    kept, right = [0], w[0]
    for i in sorted(set(text) - {0, n - 1}):
        if x[i] - w[i] / 2 >= right + TICK_GAP_PX and x[i] + w[i] / 2 + TICK_GAP_PX <= last_left:
            kept.append(i)
            right = x[i] + w[i] / 2
    return [(i, text[i]) for i in (*kept, n - 1)]


def _round_ticks(edges: list[float], most: int) -> list[int]:
    """Pick edges at round multiples (1, 2, 5, 10... edges apart); return their indices."""
    n = len(edges)
    steps = np.diff(edges)
    uniform = n > 1 and np.allclose(steps, steps[0])
    for k in (1, 2, 5, 10, 20, 50, 100):
        if uniform:
            unit = k * steps[0]
            idx = [i for i, e in enumerate(edges) if abs(e / unit - round(e / unit)) < 1e-6]
        else:
            idx = list(range(0, n, k))
        if len(idx) + 2 <= most or k == 100:
            return idx or [0]
    return [0]  # pragma: no cover - the loop always returns


def format_time(time: Any, lang: str = "ko") -> str:
    """Write an observation time for the reader.

    Dates and midnight timestamps (daily values) are written as a date only;
    other times add ``HH:MM`` and the zone when known. Text that is not a
    time is returned as it is.

    Parameters
    ----------
    time
        A date, datetime, pandas Timestamp or ISO text.
    lang
        ``"ko"`` (``2020년 8월 14일 15:00``) or ``"en"`` (``14 Aug 2020 15:00``).

    Examples
    --------
    >>> format_time("2020-08-14 00:00")
    '2020년 8월 14일'
    >>> format_time("2016-10-27 16:37", "en")
    '27 Oct 2016 16:37'
    >>> format_time(pd.Timestamp("2020-08-14 15:00", tz="Asia/Seoul"))
    '2020년 8월 14일 15:00 KST'
    >>> format_time("오후 4시")
    '오후 4시'
    """
    stamp, zone = _as_timestamp(time)
    if stamp is None:
        return str(time)
    if lang == "en":
        day = f"{stamp.day} {_EN_MONTHS[stamp.month - 1]} {stamp.year}"
    else:
        day = _KO_MONTH_DAY.format(y=stamp.year, m=stamp.month, d=stamp.day)
    if isinstance(time, _dt.date) and not isinstance(time, _dt.datetime):
        return day
    if (stamp.hour, stamp.minute, stamp.second) == (0, 0, 0):
        return day
    text = f"{day} {stamp:%H:%M}"
    return f"{text} {zone}" if zone else text


def _as_timestamp(time: Any) -> tuple[pd.Timestamp | None, str | None]:
    """Read a time; return it and the zone name to print (``KST``), or ``(None, None)``."""
    if isinstance(time, pd.Timestamp | _dt.date):
        stamp = pd.Timestamp(time)
        if pd.isna(stamp):
            return None, None
        return stamp, (stamp.tzname() if stamp.tzinfo is not None else None)
    if not isinstance(time, str):
        return None, None
    text = time.strip()
    zone = None
    head, _, tail = text.rpartition(" ")
    if head and tail.isalpha() and tail.isupper():  # "2016-10-27 16:37 KST"
        text, zone = head, tail
    if not text[:4].isdigit():
        return None, None
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        return None, None
    if pd.isna(stamp):
        return None, None
    if stamp.tzinfo is not None:  # the offset, not a word beside it; +09:00 is KST
        zone = "KST" if stamp.utcoffset() == KST.utcoffset(None) else stamp.tzname()
    return stamp, zone


def isotherm_label_points(
    lines: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame | None = None,
    *,
    spacing_m: float | None = None,
    tiers: int = 1,
) -> pd.DataFrame:
    """Choose where to write each isotherm's value along its line.

    Parameters
    ----------
    lines
        Isolines with a ``level`` column (from :func:`~kwxmap.contour_lines`),
        any CRS.
    stations
        Station points to keep labels away from (optional).
    spacing_m
        Distance between labels of one line, metres; default an eighth of
        the lines' extent (≈ 75 km on the national map, ≈ 20 km for a
        province).
    tiers
        Zoom tiers: tier ``k`` adds labels at ``spacing_m / 2**k`` between
        those already kept, for a map zoomed in ``k`` levels (×2 each) from
        its opening view. The web page shows, at each zoom, the labels that
        fit on screen in tier order; a static picture uses tier 0.

    Returns
    -------
    pandas.DataFrame
        Columns ``lon``, ``lat``, ``angle`` (degrees clockwise, for CSS
        ``rotate``; within ±90 so text is never upside down), ``level``,
        ``text`` and ``tier``; tier by tier, longest lines first (the order a
        page keeps them in when labels collide).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> line = shapely.LineString([(126.0, 36.0), (128.0, 36.0)])
    >>> gdf = gpd.GeoDataFrame({"level": [20.0]}, geometry=[line], crs=4326)
    >>> pts = isotherm_label_points(gdf, spacing_m=50_000)
    >>> len(pts) >= 3, set(pts["text"]), bool(pts["angle"].abs().max() < 3)
    (True, {'20'}, True)
    >>> pts = isotherm_label_points(gdf, spacing_m=50_000, tiers=3)
    >>> pts.groupby("tier").size().to_dict()  # ~180 km of line: 3, then more in between
    {0: 3, 1: 4, 2: 12}
    """
    columns = ["lon", "lat", "angle", "level", "text", "tier"]
    if lines is None or not len(lines):
        return pd.DataFrame(columns=columns)
    if lines.crs is None:
        raise InputError("lines have no CRS; set it with .set_crs(4326) before labelling")
    if "level" not in lines.columns:
        raise InputError("lines lack the 'level' column; make them with contour_lines()")
    metric = lines.to_crs(5179)
    w, s, e, n = metric.total_bounds
    if not np.all(np.isfinite([w, s, e, n])):
        return pd.DataFrame(columns=columns)
    spacing = float(spacing_m) if spacing_m else max(e - w, n - s, 1.0) / 8.0
    if not spacing > 0:
        raise InputError(f"spacing_m={spacing_m!r} must be a positive distance in metres")
    if not (isinstance(tiers, int) and 1 <= tiers <= 8):
        raise InputError(f"tiers={tiers!r} must be a whole number from 1 to 8")
    places = _decimals([float(v) for v in metric["level"]])
    parts = [
        (part.length, float(level), part)
        for level, geom in zip(metric["level"], metric.geometry, strict=True)
        if geom is not None and not geom.is_empty
        for part in shapely.get_parts(shapely.line_merge(geom))
    ]
    parts.sort(key=lambda c: -c[0])
    known = stations is not None and stations.crs is not None
    avoid = shapely.get_coordinates(stations.to_crs(5179).geometry.values if known else [])
    kept = np.empty((64, 2))  # kept label places (the first n rows), grown by doubling
    n = 0
    rows = []
    for tier in range(tiers):
        step = spacing / 2**tier
        near_label, near_station = 0.45 * step, 0.12 * step
        for length, level, part in parts:
            if length < 0.3 * step:
                continue
            count = max(1, int(length // step))
            for k in range(count):
                d = (k + 0.5) * length / count
                p = part.interpolate(d)
                x, y = p.x, p.y
                if n and np.min(np.hypot(*(kept[:n] - (x, y)).T)) < near_label:
                    continue
                if len(avoid) and np.min(np.hypot(*(avoid - (x, y)).T)) < near_station:
                    continue
                if n == len(kept):
                    kept = np.concatenate([kept, np.empty_like(kept)])
                kept[n] = (x, y)
                n += 1
                rows.append((x, y, _angle(part, d, 0.04 * step), level,
                             format_level(level, places), tier))
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame(rows, columns=["x", "y", "angle", "level", "text", "tier"])
    lon, lat = _TO_LONLAT.transform(table["x"].to_numpy(), table["y"].to_numpy())
    table["lon"], table["lat"] = np.round(lon, 5), np.round(lat, 5)
    return table[columns]


_TO_LONLAT = Transformer.from_crs(5179, 4326, always_xy=True)


def _angle(part: shapely.LineString, d: float, delta: float) -> float:
    """Return the line's direction at ``d`` as a CSS rotation within ±90° (never upside down)."""
    delta = min(delta, d, part.length - d) or 1.0
    a = part.interpolate(max(d - delta, 0.0))
    b = part.interpolate(min(d + delta, part.length))
    angle = -math.degrees(math.atan2(b.y - a.y, b.x - a.x))
    if angle > 90:
        angle -= 180
    elif angle <= -90:
        angle += 180
    return round(angle, 1)


def map_heading(
    *,
    variable: str = "tavg",
    daily: bool = False,
    time: Any = None,
    placed: int | None = None,
    total: int | None = None,
    title: str | None = None,
    lang: str = "ko",
) -> tuple[str, str]:
    """Return a map's title and its second line: what, when (KST), how many stations, source.

    Parameters
    ----------
    variable, daily
        ``tavg``/``tmin``/``tmax`` and whether the readings are daily values
        (a ``tmin``/``tmax`` reading always is).
    time
        The observation time (KST wall time) or None.
    placed, total
        Readings placed on the map, of those read.
    title
        The user's title, which replaces the variable's name.
    lang
        ``"ko"`` or ``"en"``.

    Examples
    --------
    >>> map_heading(time="2026-12-01 09:00", placed=717, total=729)
    ('기온', '2026년 12월 1일 09:00 KST · 729개 중 717개 지점 · 기상청')
    >>> map_heading(variable="tmin", time="2020-08-01", placed=95, total=95, lang="en")
    ('Daily minimum temperature', '1 Aug 2020 · 95 of 95 stations · KMA')
    >>> map_heading(time="2026-12-01 00:00")[1]
    '2026년 12월 1일 00:00 KST · 기상청'
    """
    words = _VARIABLE_WORDS[lang]
    is_daily = daily or variable != "tavg"
    head = title or words[variable if is_daily else "instant"]
    parts = []
    if time is not None:
        stamp, _ = _as_timestamp(time)
        when = format_time(time, lang)
        if stamp is not None:  # KST wall time: a day for daily values, else day HH:MM KST
            stamp = to_kst(stamp)  # an instant given in another zone is told in KST
            day = format_time(stamp.date(), lang)
            when = day if is_daily else f"{day} {stamp:%H:%M} KST"
        parts.append(when)
    if placed is not None and total is not None:
        parts.append(f"{placed} of {total} stations" if lang == "en"
                     else f"{total}개 중 {placed}개 지점")
    parts.append("KMA" if lang == "en" else "기상청")
    return head, " · ".join(parts)
