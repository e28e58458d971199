"""What a map shows, decided once for the web page and the static picture.

:func:`map_scene` turns stations, bands and isolines (one frame or several)
into a :class:`MapScene`: the band and station colours
(:mod:`kwxmap.palette`: ``"fixed"`` is one °C → colour mapping, ``"adaptive"``
spreads each map's bands over the ramp), the isotherm label places for every
zoom (:mod:`kwxmap.labels`), the legend's steps and ticks, the title and time
written for the reader in Korean or English, the opening view (the mainland
and Jeju on a national map), the station tooltips and which stations lie
beyond a regional map's region. :mod:`kwxmap.render` writes it as a Leaflet
page; :mod:`kwxmap.static` draws it with matplotlib.

Every string that reaches a page (station names, conditions, titles, times,
labels) is HTML-escaped here first (:func:`escape`), including the characters
that would end a JavaScript template literal (backtick, dollar sign,
backslash).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import branca.colormap
import numpy as np
import pandas as pd

from .contours import band_label, resolve_levels
from .errors import InputError
from .labels import (
    LABELS,
    LANGS,
    format_time,
    isotherm_label_points,
    legend_ticks,
)
from .palette import DEFAULT_PALETTE, FIXED_RANGE, band_colors, check_palette, ramp_colors

if TYPE_CHECKING:  # pragma: no cover - typing only
    import geopandas as gpd

__all__ = [
    "ATTRIBUTION",
    "CV_COLUMN",
    "DENSE_STATIONS",
    "LABEL_TIERS",
    "MAINLAND_VIEW",
    "OUTSIDE_COLUMN",
    "FrameScene",
    "MapScene",
    "escape",
    "map_scene",
    "station_radius",
    "temperature_colormap",
]

#: Column of the stations frame holding the leave-one-out cross-validation
#: error (predicted minus observed, °C); shown in the station tooltip when present.
CV_COLUMN = "cv_error_c"

#: Boolean column of the stations frame: the station lies beyond a regional map's
#: region (it informs the surface near the edge); such stations are drawn faint.
OUTSIDE_COLUMN = "outside_region"

#: The Leaflet release embedded in every page (``kwxmap/_assets/leaflet``).
LEAFLET_VERSION = "1.9.4"

_ASSETS = Path(__file__).resolve().parent / "_assets"

#: Interface text by language. Attribution: KMA readings, KOSTAT boundaries.
_TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "bands": "기온",
        "lines": "등온선",
        "stations": "관측소",
        "caption": "기온 (°C)",
        "cv": "교차검증 오차",
        "no_reading": "자료 없음",
        "printed": "표기",
        "station": "지점",
        "play": "재생",
        "outside": "지역 밖 관측소 (경계 근처의 면에 쓰임)",
        "attribution": (
            '관측: <a href="https://data.kma.go.kr/">기상청 KMA</a> | '
            "경계: 통계청 KOSTAT SGIS 2018 (공공누리 제1유형) | kwxmap"
        ),
    },
    "en": {
        "bands": "Temperature",
        "lines": "Isotherms",
        "stations": "Stations",
        "caption": "Temperature (°C)",
        "cv": "LOO error",
        "no_reading": "no reading",
        "printed": "as printed",
        "station": "station",
        "play": "Play",
        "outside": "outside the region (informs the surface near its edge)",
        "attribution": (
            'Readings: <a href="https://data.kma.go.kr/">KMA</a> | '
            "Boundaries: KOSTAT SGIS 2018 (KOGL Type 1) | kwxmap"
        ),
    },
}

#: Attribution added to every English map (the Korean one says the same).
ATTRIBUTION = _TEXT["en"]["attribution"]

_NO_DATA_COLOR = "#9e9e9e"



def escape(value: Any) -> str:
    """Return ``value`` as text that is inert in HTML and in JS template literals.

    :func:`html.escape` (quotes included) plus the backtick, ``$`` and
    backslash.

    Examples
    --------
    >>> escape('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    >>> escape("`${x}`")
    '&#96;&#36;{x}&#96;'
    """
    text = html.escape(str(value), quote=True)
    return text.replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;")


def temperature_colormap(vmin: float = -30.0, vmax: float = 40.0) -> branca.colormap.LinearColormap:
    """Return the fixed palette (``palette="fixed"``) as a continuous colormap.

    The colours are those of :data:`kwxmap.palette.FIXED_RANGE` (−30..+40 °C),
    so 20 °C has the same colour whatever range is asked for; values beyond
    the scale take the end colours. For other tools that take a branca
    colormap; kwxmap's own maps colour whole bands (see
    :func:`kwxmap.palette.band_colors`).

    Parameters
    ----------
    vmin, vmax
        Range of the returned colormap, °C; ``vmin < vmax``.

    Examples
    --------
    >>> full, summer = temperature_colormap(), temperature_colormap(18, 29)
    >>> summer.rgb_hex_str(24.0) == full.rgb_hex_str(24.0)
    True
    >>> summer.vmin, summer.vmax
    (18.0, 29.0)
    """
    vmin, vmax = float(vmin), float(vmax)
    if not (math.isfinite(vmin) and math.isfinite(vmax)) or vmin >= vmax:
        raise InputError(f"temperature range {vmin!r}..{vmax!r} is empty; give vmin < vmax in °C")
    lo, hi = FIXED_RANGE
    index = np.linspace(lo, hi, 71)
    full = branca.colormap.LinearColormap(ramp_colors((index - lo) / (hi - lo)), index=index)
    inner = [(t, full.rgba_floats_tuple(t)) for t in index if vmin < t < vmax]
    stops = [(vmin, full.rgba_floats_tuple(vmin)), *inner, (vmax, full.rgba_floats_tuple(vmax))]
    return branca.colormap.LinearColormap(
        [c for _, c in stops],
        index=[t for t, _ in stops],
        vmin=vmin,
        vmax=vmax,
        caption=_TEXT["ko"]["caption"],
    )


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise InputError(f"{name}={value!r} is not one of {list(choices)!r}")
    return value


def _to_lonlat(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise InputError(
            f"{what} has no CRS; set it with .set_crs(4326) (lon/lat) before rendering"
        )
    return gdf if gdf.crs.to_epsg() == 4326 else gdf.to_crs(4326)


#: Above this many stations a map is dense: markers are dots that shrink as the map
#: zooms out, and isotherm labels are written over them instead of giving way.
DENSE_STATIONS = 150

#: Zoom tiers of isotherm labels (:func:`kwxmap.labels.isotherm_label_points`): the
#: opening view and three levels in (×8, e.g. zoom 7 to 10 on the national map).
LABEL_TIERS = 4


def station_radius(count: int) -> float:
    """Marker radius in pixels for ``count`` stations: 26 → 6.2, 700 → 3.3.

    Examples
    --------
    >>> station_radius(26), station_radius(700), station_radius(1)
    (6.2, 3.3, 7.0)
    """
    return round(float(np.clip(9.0 - 2.0 * math.log10(max(count, 1)), 3.0, 7.0)), 1)


@dataclass(frozen=True)
class FrameScene:
    """One snapshot of a map: what to draw and in which colours (lon/lat)."""

    label: str
    bands: gpd.GeoDataFrame | None
    band_fills: list[str]
    band_texts: list[str]
    lines: gpd.GeoDataFrame | None
    isolabels: pd.DataFrame
    stations: gpd.GeoDataFrame | None
    station_fills: list[str]
    station_values: list[str]
    station_outside: list[bool]


@dataclass(frozen=True)
class MapScene:
    """Everything a map shows, decided once for the web page and the static picture.

    Attributes
    ----------
    frames
        One :class:`FrameScene` per time (one for a single map).
    legend_lowers, legend_uppers, legend_colors
        The legend's bands (one swatch each), coldest first.
    ticks
        ``(edge index, text)`` of the legend's labelled edges.
    title, time
        Heading lines (plain text, not escaped) or ``None``.
    text
        Interface strings in the chosen language.
    radius
        Station marker radius, pixels.
    bounds
        ``(west, south, east, north)`` the view fits, or ``None``.
    labels
        ``"values"`` when readings are written beside the stations.
    lang
        The interface language (``"ko"`` or ``"en"``).
    """

    frames: list[FrameScene]
    legend_lowers: list[float]
    legend_uppers: list[float]
    legend_colors: list[str]
    ticks: list[tuple[int, str]]
    title: str | None
    time: str | None
    text: dict[str, str] = field(repr=False)
    radius: float
    bounds: tuple[float, float, float, float] | None
    labels: str = "none"
    lang: str = "ko"


def _checked_frame(
    i: int, frame: Any, value: str, *, alone: bool = False
) -> tuple[Any, gpd.GeoDataFrame | None, gpd.GeoDataFrame | None, gpd.GeoDataFrame | None]:
    try:
        time, stations, bands, *rest = frame
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"frame {i} is {type(frame).__name__!r}; give (time, stations, bands[, lines]) tuples"
        ) from exc
    if len(rest) > 1:
        raise InputError(
            f"frame {i} has {3 + len(rest)} items; give (time, stations, bands[, lines])"
        )
    lines = rest[0] if rest else None
    what = "stations" if alone else f"stations of frame {i}"
    if stations is not None:
        stations = _to_lonlat(stations, what)
        if value not in stations.columns:
            raise InputError(
                f"{what} have no column {value!r}; pass value= with the reading column "
                f"(have {list(stations.columns)!r})"
            )
    if bands is not None:
        bands = _to_lonlat(bands, "bands")
        missing = {"lower", "upper"} - set(bands.columns)
        if missing:
            raise InputError(
                f"bands lack columns {sorted(missing)!r}; make them with contour_bands()"
            )
    if lines is not None:
        lines = _to_lonlat(lines, "lines")
        if "level" not in lines.columns:
            raise InputError("lines lack the 'level' column; make them with contour_lines()")
    return time, stations, bands, lines


def _legend_bands(
    frames: list[tuple[Any, Any, Any, Any]], value: str
) -> tuple[np.ndarray, np.ndarray]:
    """Collect the distinct (lower, upper) bands of all frames, else 1 °C steps over readings."""
    pairs = set()
    for _, _, bands, _ in frames:
        if bands is not None and len(bands):
            pairs.update(
                zip(bands["lower"].astype(float), bands["upper"].astype(float), strict=True)
            )
    if pairs:  # every step between the edges, so a level no band filled keeps its place
        edges = np.array(sorted({e for pair in pairs for e in pair}))
        return edges[:-1], edges[1:]
    values = [
        pd.to_numeric(st[value], errors="coerce").to_numpy(float)
        for _, st, _, _ in frames
        if st is not None and len(st)
    ]
    values = np.concatenate(values) if values else np.array([])
    values = values[np.isfinite(values)]
    if not values.size:
        return np.array([]), np.array([])
    edges = resolve_levels(None, float(values.min()), float(values.max()))
    return edges[:-1], edges[1:]


def _fills(
    values: np.ndarray, lowers: np.ndarray, uppers: np.ndarray, colors: list[str]
) -> list[str]:
    """Colour of the band holding each value (nearest end band outside; grey for NaN)."""
    if not len(colors):
        return [_NO_DATA_COLOR] * len(values)
    idx = np.clip(np.searchsorted(uppers, values, side="left"), 0, len(colors) - 1)
    return [
        colors[i] if np.isfinite(v) else _NO_DATA_COLOR for i, v in zip(idx, values, strict=True)
    ]


#: The opening view of a national map: the mainland and Jeju (west, south, east,
#: north). Far islands (백령도, 울릉도, 독도) stay on the map, a pan away, instead
#: of zooming every phone out until Korea fills a third of the screen.
MAINLAND_VIEW = (126.1, 33.1, 129.6, 38.65)


def _opening_view(
    bounds: tuple[float, float, float, float] | None,
) -> tuple[float, float, float, float] | None:
    """Clip what the page fits at first to :data:`MAINLAND_VIEW` (regional maps keep theirs).

    Examples
    --------
    >>> _opening_view((124.6, 33.1, 131.9, 38.6))  # the whole country, 백령도 to 독도
    (126.1, 33.1, 129.6, 38.6)
    >>> _opening_view((127.2, 36.0, 128.6, 37.3))  # 충북: inside, unchanged
    (127.2, 36.0, 128.6, 37.3)
    >>> _opening_view((130.7, 37.4, 131.0, 37.6))  # 울릉도 alone: outside, unchanged
    (130.7, 37.4, 131.0, 37.6)
    """
    if bounds is None:
        return None
    w, s, e, n = bounds
    cw, cs, ce, cn = MAINLAND_VIEW
    clipped = (max(w, cw), max(s, cs), min(e, ce), min(n, cn))
    if clipped[0] >= clipped[2] or clipped[1] >= clipped[3]:
        return bounds
    return clipped


def _bounds(*frames: gpd.GeoDataFrame | None) -> tuple[float, float, float, float] | None:
    boxes = [
        f.total_bounds for f in frames if f is not None and len(f) and not f.geometry.is_empty.all()
    ]
    if not boxes:
        return None
    arr = np.array(boxes)
    w, s = arr[:, 0].min(), arr[:, 1].min()
    e, n = arr[:, 2].max(), arr[:, 3].max()
    if not np.all(np.isfinite([w, s, e, n])):
        return None
    return float(w), float(s), float(e), float(n)


def map_scene(
    frames: Sequence[tuple[Any, ...]],
    *,
    title: str | None = None,
    time: Any = None,
    palette: str = DEFAULT_PALETTE,
    lang: str = "ko",
    labels: str = "none",
    value: str = "temperature_c",
    cv_column: str = CV_COLUMN,
) -> MapScene:
    """Decide what a map shows: colours, legend, label places, texts, framing.

    Parameters
    ----------
    frames
        ``(time, stations, bands[, lines])`` per snapshot; any of the layers
        may be ``None``. Frames share one legend and one colour per band.
    title, time
        Heading; ``time`` is written for the reader (see
        :func:`kwxmap.labels.format_time`).
    palette, lang, labels, value, cv_column
        As for :func:`render_map`.

    Returns
    -------
    MapScene

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> st = gpd.GeoDataFrame({"temperature_c": [20.2, 24.8]},
    ...     geometry=[shapely.Point(127, 37), shapely.Point(128, 36)], crs=4326)
    >>> scene = map_scene([("2020-08-14 00:00", st, None)], lang="en")
    >>> len(scene.legend_colors), scene.ticks[0], scene.ticks[-1], scene.frames[0].label
    (5, (0, '20'), (5, '25'), '14 Aug 2020')
    """
    check_palette(palette)
    _check_choice("lang", lang, LANGS)
    _check_choice("labels", labels, LABELS)
    text = _TEXT[lang]
    frames = list(frames)
    # one map's layers are not "of frame 0": its messages name them alone
    checked = [_checked_frame(i, f, value, alone=len(frames) == 1)
               for i, f in enumerate(frames)]
    if not checked:
        raise InputError("a map needs at least one (time, stations, bands) frame")
    lowers, uppers = _legend_bands(checked, value)
    colors = band_colors(lowers, uppers, palette)
    count = max((len(st) for _, st, _, _ in checked if st is not None), default=0)
    scenes = []
    for frame_time, stations, bands, lines in checked:
        band_fills, band_texts = [], []
        if bands is not None:
            mids = ((bands["lower"] + bands["upper"]) / 2).to_numpy(float)
            band_fills = _fills(mids, lowers, uppers, colors)
            band_texts = (
                bands["label"].astype(str).tolist()
                if "label" in bands.columns
                else [
                    band_label(lo, up)
                    for lo, up in zip(bands["lower"], bands["upper"], strict=True)
                ]
            )
        values = (
            pd.to_numeric(stations[value], errors="coerce").to_numpy(float)
            if stations is not None
            else np.array([])
        )
        # labels keep clear of sparse markers; dense ones are dots the labels may cover
        isolabels = isotherm_label_points(
            lines, stations if count <= DENSE_STATIONS else None, tiers=LABEL_TIERS
        )
        scenes.append(
            FrameScene(
                label=format_time(frame_time, lang) if frame_time is not None else "",
                bands=bands,
                band_fills=band_fills,
                band_texts=band_texts,
                lines=lines,
                isolabels=isolabels,
                stations=stations,
                station_fills=_fills(values, lowers, uppers, colors),
                station_values=["" if not np.isfinite(v) else f"{v:.1f}" for v in values],
                station_outside=(
                    [bool(v) for v in stations[OUTSIDE_COLUMN].fillna(False)]
                    if stations is not None and OUTSIDE_COLUMN in stations.columns
                    else [False] * len(values)
                ),
            )
        )
    bands_bounds = _bounds(*[b for _, _, b, _ in checked])
    bounds = _opening_view(bands_bounds or _bounds(*[s for _, s, _, _ in checked]))
    edges = [*lowers.tolist(), *uppers[-1:].tolist()]
    return MapScene(
        frames=scenes,
        legend_lowers=lowers.tolist(),
        legend_uppers=uppers.tolist(),
        legend_colors=colors,
        ticks=legend_ticks(edges),
        title=str(title) if title else None,
        time=format_time(time, lang) if time is not None else None,
        text=text,
        radius=station_radius(count),
        bounds=bounds,
        labels=labels,
        lang=lang,
    )
