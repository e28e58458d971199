"""Maps: a self-contained Leaflet web map of the stations, isotherm bands and isolines.

:func:`render_map` (one snapshot) and :func:`render_animation` (several, with a
time slider) build a :class:`folium.Map` whose HTML embeds everything it
needs: Leaflet 1.9.4 (vendored in ``kwxmap/_assets`` with its licence) and a
small kwxmap script draw the layers from one JSON payload, so a map opened
from disk with no network shows everything except the optional tile layer.
No jQuery, Bootstrap, Font Awesome or d3 is loaded.

What the reader sees, and where it is decided:

- band colours: :mod:`kwxmap.palette` (``palette="adaptive"`` spreads each
  map's bands over the whole ramp; ``"fixed"`` is one °C → colour mapping);
- isotherm values written on the lines: :mod:`kwxmap.labels`;
- a stepped legend with one swatch per band, both ends labelled;
- Korean interface text by default (``lang="en"`` for English) and dates
  written for the reader (``2020년 8월 14일``);
- controls in Leaflet's corners so they stack rather than overlap on a
  390 px phone (layer control collapsed on small screens);
- the view fitted to the bands (the region) or, without bands, the stations.

:func:`~kwxmap.scene.map_scene` (:mod:`kwxmap.scene`) decides all of that
once; the static renderer (:mod:`kwxmap.static`) draws the same scene with
matplotlib.

Every string that reaches the HTML (station names, conditions, titles, times,
labels) is HTML-escaped first, and the characters that would end a
JavaScript template literal (backtick, dollar sign, backslash) are escaped
too; the JSON payload escapes ``<`` and ``>`` so no text can close its
``<script>``.
"""

from __future__ import annotations

import base64
import functools
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from jinja2 import Template
from markupsafe import Markup

from .contours import band_label
from .errors import InputError
from .labels import (
    LABELS,
    LANGS,
    format_level,
)
from .page_geometry import PRECISION, encode_lines, encode_polygons, encode_ring, simplified
from .palette import DEFAULT_PALETTE
from .scene import (
    ATTRIBUTION,
    CV_COLUMN,
    DENSE_STATIONS,
    OUTSIDE_COLUMN,
    MapScene,
    escape,
    map_scene,
    temperature_colormap,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import geopandas as gpd

__all__ = [
    "ATTRIBUTION",
    "CV_COLUMN",
    "OUTSIDE_COLUMN",
    "LABELS",
    "LANGS",
    "LEAFLET_VERSION",
    "MapScene",
    "escape",
    "map_scene",
    "render_animation",
    "render_map",
    "temperature_colormap",
]

#: The Leaflet release embedded in every page (``kwxmap/_assets/leaflet``).
LEAFLET_VERSION = "1.9.4"

_ASSETS = Path(__file__).resolve().parent / "_assets"


def _fmt_temp(value: Any, text: dict[str, str]) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return text["no_reading"]
    return text["no_reading"] if not math.isfinite(v) else f"{v:.1f} °C"


def _cell(row: pd.Series, column: str) -> Any:
    if column not in row.index:
        return None
    value = row[column]
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    return value


def _is_outside(row: pd.Series) -> bool:
    value = _cell(row, OUTSIDE_COLUMN)
    return isinstance(value, bool | np.bool_) and bool(value)


def _station_head(row: pd.Series, text: dict[str, str]) -> str:
    """Tooltip lines that do not change between frames: names, id, as printed."""
    name_ko = _cell(row, "name_ko") or _cell(row, "station_name") or ""
    name_en = _cell(row, "name_en")
    printed = _cell(row, "station_name")
    head = f"<b>{escape(name_ko)}</b>"
    if name_en:
        head += f" ({escape(name_en)})"
    lines = [head]
    if printed and printed != name_ko:
        lines.append(f"{text['printed']}: {escape(printed)}")
    sid = _cell(row, "station_id")
    if sid is not None:
        lines.append(f"{text['station']} {escape(sid)}")
    return "<br>".join(lines)


def _station_reading(row: pd.Series, value: str, cv_column: str, text: dict[str, str]) -> str:
    """Tooltip lines of one frame: condition, reading, cross-validation error."""
    lines = []
    cond = _cell(row, "condition")
    cond_en = _cell(row, "condition_en")
    if cond or cond_en:
        lines.append(" / ".join(escape(c) for c in (cond, cond_en) if c))
    lines.append(f"<b>{escape(_fmt_temp(_cell(row, value), text))}</b>")
    cv = _cell(row, cv_column)
    if cv is not None:
        try:
            lines.append(f"{text['cv']} {float(cv):+.1f} °C")
        except (TypeError, ValueError):
            lines.append(f"{text['cv']} {escape(cv)}")
    if _is_outside(row):
        lines.append(f"<i>{text['outside']}</i>")
    return "<br>".join(lines)


# ----------------------------------------------------------------------------- the page


def _station_keys(stations: gpd.GeoDataFrame) -> list[Any]:
    if "station_id" in stations.columns:
        return [
            ("id", sid) if pd.notna(sid) else ("xy", round(g.x, 5), round(g.y, 5))
            for sid, g in zip(stations["station_id"], stations.geometry, strict=True)
        ]
    return [("xy", round(g.x, 5), round(g.y, 5)) for g in stations.geometry]


def _legend_html(scene: MapScene) -> str:
    n = len(scene.legend_colors)
    if not n:
        return ""
    swatches = "".join(
        f'<span class="kwxmap-swatch" style="background:{c}" '
        f'title="{escape(band_label(lo, up))}"></span>'
        for c, lo, up in zip(
            scene.legend_colors, scene.legend_lowers, scene.legend_uppers, strict=True
        )
    )
    ticks = []
    for i, label in scene.ticks:
        cls = " kwxmap-first" if i == 0 else " kwxmap-last" if i == n else ""
        left = f"left:{100.0 * i / n:.3f}%"
        ticks.append(f'<span class="kwxmap-tick{cls}" style="{left}">{escape(label)}</span>')
    return (
        f'<div class="kwxmap-caption">{escape(scene.text["caption"])}</div>'
        f'<div class="kwxmap-swatches">{swatches}</div>'
        f'<div class="kwxmap-ticks">{"".join(ticks)}</div>'
    )


def _header_html(scene: MapScene) -> str:
    parts = []
    if scene.title:
        parts.append(f'<div class="kwxmap-title">{escape(scene.title)}</div>')
    if scene.time:
        parts.append(f'<div class="kwxmap-time">{escape(scene.time)}</div>')
    return "".join(parts)


def _payload(
    scene: MapScene, *, value: str, cv_column: str, opacity: float, interval_ms: int
) -> dict[str, Any]:
    text = scene.text
    keys: dict[Any, int] = {}
    pos: list[list[float]] = []
    head: list[str] = []
    frames = []
    for frame in scene.frames:
        out: dict[str, Any] = {"label": frame.label}
        if frame.bands is not None and len(frame.bands):
            geoms = simplified(frame.bands.geometry.values, polygons=True)
            out["bands"] = [
                {"c": c, "t": escape(t), "g": encode_polygons(g)}
                for c, t, g in zip(frame.band_fills, frame.band_texts, geoms, strict=True)
            ]
        if frame.lines is not None and len(frame.lines):
            geoms = simplified(frame.lines.geometry.values, polygons=False)
            out["lines"] = [
                {"t": escape(f"{format_level(float(v))} °C"), "g": encode_lines(g)}
                for v, g in zip(frame.lines["level"], geoms, strict=True)
            ]
            out["labels"] = [[round(r.lat, 4), round(r.lon, 4), round(r.angle), str(r.text)]
                             for r in frame.isolabels.itertuples()]
        if frame.stations is not None:
            st = frame.stations
            slots: dict[int, list[str]] = {}
            for key, (_, row), fill, shown, faint in zip(
                _station_keys(st),
                st.iterrows(),
                frame.station_fills,
                frame.station_values,
                frame.station_outside,
                strict=True,
            ):
                geom = row.geometry
                if geom is None or geom.is_empty:
                    continue
                if key not in keys:
                    keys[key] = len(pos)
                    pos.append([round(geom.y, 5), round(geom.x, 5)])
                    head.append(_station_head(row, text))
                slots[keys[key]] = [fill, _station_reading(row, value, cv_column, text),
                                    "" if faint else shown, int(faint)]
            out["stations"] = slots  # filled to a list below, once every station is known
        frames.append(out)
    for out in frames:
        slots = out.get("stations", {})
        out["stations"] = [slots.get(i) for i in range(len(pos))]
    return {
        "q": PRECISION,
        "opacity": opacity,
        "interval": int(interval_ms),
        "values": scene.labels == "values",
        "attribution": text["attribution"],
        "legend": _legend_html(scene),
        "header": _header_html(scene),
        "names": {k: escape(text[k]) for k in ("bands", "lines", "stations", "play")},
        "has": {
            "bands": any(f.bands is not None and len(f.bands) for f in scene.frames),
            "lines": any(f.lines is not None and len(f.lines) for f in scene.frames),
            "stations": bool(pos),
        },
        "stations": {"pos": pos, "head": head, "radius": scene.radius,
                     "dense": len(pos) > DENSE_STATIONS},
        # fitted without animation before labels are placed: [[south, west], [north, east]]
        "bounds": None if scene.bounds is None else [list(scene.bounds[1::-1]),
                                                     list(scene.bounds[:1:-1])],
        "frames": frames,
        "context": _context(scene.lang),
    }


#: Cities named on every map, so a page without tiles can be read: each at its ASOS
#: station's site (the registry), south-west to north-east by province.
CONTEXT_CITIES = ("서울", "인천", "수원", "춘천", "강릉", "청주", "대전", "전주", "광주", "목포",
                  "여수", "대구", "안동", "포항", "울산", "부산", "창원", "제주")
#: Far islands a national map's opening view leaves out: when off screen each is
#: an arrow at the map's edge, pointing at it, that pans there when tapped.
FAR_ISLANDS = ("백령도", "울릉도", "독도", "흑산도", "가거도")
#: Province outlines on the page: islands under this area (deg²) are left out and
#: the lines simplified to this tolerance (deg, about 500 m): ~25 kB a page.
_CONTEXT_MIN_AREA, _CONTEXT_TOLERANCE = 0.002, 0.005


@functools.lru_cache(maxsize=2)
def _context(lang: str) -> dict[str, Any]:
    """Province lines and city names from the data kwxmap ships (no network)."""
    import geopandas as gpd

    from ._data import data_path
    from .stations import load_stations

    provinces = gpd.read_file(data_path("provinces.geojson")).geometry.to_numpy()
    polys = [g for g in shapely.get_parts(provinces) if g.area > _CONTEXT_MIN_AREA]
    lines = shapely.simplify(shapely.union_all(shapely.boundary(np.array(polys))),
                             _CONTEXT_TOLERANCE)
    registry = load_stations()

    def place(name: str) -> list[Any]:
        st = registry.lookup(name)
        return [round(st.lat, 4), round(st.lon, 4), name if lang == "ko" else st.name_en]

    return {"lines": [encode_ring(shapely.get_coordinates(part))
                      for part in shapely.get_parts(lines) if part.length > 0.02],
            "cities": [place(name) for name in CONTEXT_CITIES],
            "far": [place(name) for name in FAR_ISLANDS]}


def _script_json(data: Any) -> str:
    """Dump JSON that is safe inside ``<script>``: no ``<``, ``>`` or line separators."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, code in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, code)
    return text


@functools.lru_cache(maxsize=1)
def _inline_assets() -> tuple[str, str]:
    """Leaflet's and kwxmap's CSS and JS, with the layer icons as data URIs."""
    folder = _ASSETS / "leaflet"
    css = (folder / "leaflet.css").read_text(encoding="utf-8")
    for name in ("layers.png", "layers-2x.png"):
        data = base64.b64encode((folder / name).read_bytes()).decode("ascii")
        css = css.replace(f"url(images/{name})", f"url(data:image/png;base64,{data})")
    css = css.replace("url(images/marker-icon.png)", "none")
    css += "\n" + (_ASSETS / "kwxmap.css").read_text(encoding="utf-8")
    js = (folder / "leaflet.js").read_text(encoding="utf-8")
    js += "\n" + (_ASSETS / "kwxmap.js").read_text(encoding="utf-8")
    if "</script" in js.lower() or "</style" in css.lower():  # pragma: no cover - asset check
        raise RuntimeError("a vendored asset contains a closing script/style tag")
    return css, js


class _Literal(Element):
    """Text placed in the page as it is, never compiled as a template.

    branca compiles whatever a ``MacroElement`` macro renders as a new Jinja
    template; a page whose text comes from readings must not go that way, or
    ``{{ 6*7 }}`` in a station name would be evaluated.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class _Figure(Figure):
    """The page: ``<html lang>``, a title, and children rendered as text."""

    _template = Template(
        "<!DOCTYPE html>\n"
        '<html lang="{{ this.lang }}">\n<head>\n<meta charset="utf-8">\n'
        "{% if this.title %}<title>{{ this.title }}</title>{% endif %}\n"
        "{{ this.header.render(**kwargs)|safe }}\n</head>\n<body>\n"
        "{{ this.html.render(**kwargs)|safe }}\n</body>\n<script>\n"
        "{{ this.script.render(**kwargs)|safe }}\n</script>\n</html>\n",
        autoescape=True,
    )

    def __init__(self, lang: str, title: str | None) -> None:
        super().__init__(title=None if title is None else Markup(escape(title)))
        self.lang = lang
        self.header._children.pop("meta_http", None)  # the charset is declared above


class _Page(MacroElement):
    """Embeds Leaflet + kwxmap's script and draws the scene from its JSON payload.

    Renders only literal text (:class:`_Literal`): the payload is data in a
    ``<script>``, escaped by :func:`_script_json`, and no template sees it.
    """

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__()
        self._name = "KwxmapPage"
        self.payload = _script_json(payload)

    def render(self, **kwargs: Any) -> None:
        css, js = _inline_assets()
        figure = self.get_root()
        figure.header.add_child(
            _Literal(f"<style>{css}</style>\n<script>{js}</script>"), name=self.get_name()
        )
        figure.script.add_child(
            _Literal(f"kwxmap.draw({self._parent.get_name()}, {self.payload});"),
            name=self.get_name(),
        )


def _tile_layer(tiles: str) -> dict[str, Any]:
    """Return the tile URL and attribution of a Folium tile name, as data for the page."""
    layer = folium.TileLayer(tiles)
    return {
        "name": str(tiles),
        "url": str(layer.tiles),
        "attribution": str(layer.options.get("attribution", "")),
        "maxZoom": int(layer.options.get("max_zoom", 19)),
    }


def _page(
    scene: MapScene,
    *,
    tiles: str | None,
    value: str,
    cv_column: str,
    band_opacity: float,
    interval_ms: int = 800,
    credit: str | None = None,
) -> folium.Map:
    m = folium.Map(
        tiles=None, control_scale=False, zoom_start=7, location=[36.3, 127.8], zoom_snap=0.1
    )
    m.default_js, m.default_css = [], []  # Leaflet is embedded by _Page; nothing else is used
    heading = " · ".join(t for t in (scene.title, scene.time) if t)
    _Figure(scene.lang, heading or None).add_child(m)
    payload = _payload(
        scene, value=value, cv_column=cv_column, opacity=band_opacity, interval_ms=interval_ms
    )
    if tiles is not None:
        payload["tiles"] = _tile_layer(tiles)
        payload["names"]["tiles"] = escape(str(tiles))
    if credit:
        payload["attribution"] = f"{payload['attribution']} | {escape(credit)}"
    m.add_child(_Page(payload))
    return m


def render_map(
    stations: gpd.GeoDataFrame | None,
    bands: gpd.GeoDataFrame | None = None,
    lines: gpd.GeoDataFrame | None = None,
    *,
    title: str | None = None,
    time: Any = None,
    tiles: str | None = "OpenStreetMap",
    palette: str = DEFAULT_PALETTE,
    lang: str = "ko",
    labels: str = "none",
    value: str = "temperature_c",
    cv_column: str = CV_COLUMN,
    band_opacity: float = 0.85,
    credit: str | None = None,
) -> folium.Map:
    """Build a self-contained web map of readings, isotherm bands and isolines.

    Parameters
    ----------
    stations
        Joined readings (a GeoDataFrame with a CRS), or ``None``.
    bands, lines
        From :func:`~kwxmap.contour_bands` / :func:`~kwxmap.contour_lines`
        (any CRS), or ``None``. Isolines get their values written on them.
    title
        Shown over the map (escaped).
    time
        Observation time, written for the reader (``2020년 8월 14일 15:00``;
        a date or a midnight timestamp as the date only).
    tiles
        A Folium tile name (e.g. ``"OpenStreetMap"``) as a switchable layer;
        ``None`` for no base map (the page then needs no network at all).
    palette
        ``"adaptive"`` (the map's bands spread over the whole colour ramp) or
        ``"fixed"`` (one °C → colour mapping, for series); see
        :mod:`kwxmap.palette`.
    lang
        Interface language: ``"ko"`` (default) or ``"en"``.
    labels
        ``"values"`` writes each station's reading beside it; ``"none"``.
    value
        Column of ``stations`` holding the reading (°C).
    cv_column
        Column holding the leave-one-out error (°C), shown when present.
    band_opacity
        Fill opacity of the bands (0..1).
    credit
        Extra attribution (e.g. for a downloaded DEM), escaped.

    Returns
    -------
    folium.Map
        Overlays 기온 / 등온선 / 관측소 (Temperature / Isotherms / Stations)
        in a layer control, a stepped legend, attribution for KMA and
        KOSTAT; fitted to the bands (the region), else to the stations.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> st = gpd.GeoDataFrame({"station_id": [108], "name_ko": ["서울"],
    ...     "name_en": ["Seoul"], "condition": ["<b>맑음</b>"], "temperature_c": [24.5]},
    ...     geometry=[shapely.Point(126.97, 37.57)], crs=4326)
    >>> html_text = render_map(st, title="Seoul", tiles=None).get_root().render()
    >>> "&lt;b&gt;맑음&lt;/b&gt;" in html_text and "<b>맑음</b>" not in html_text
    True
    >>> "<script src" in html_text or "<link" in html_text  # Leaflet is embedded
    False
    """
    return _render(
        [(time, stations, bands, lines)], time=time, credit=credit, title=title, tiles=tiles,
        palette=palette, lang=lang, labels=labels, value=value, cv_column=cv_column,
        band_opacity=band_opacity,
    )


def render_animation(
    frames: Sequence[tuple[Any, ...]],
    *,
    title: str | None = None,
    tiles: str | None = "OpenStreetMap",
    palette: str = DEFAULT_PALETTE,
    lang: str = "ko",
    labels: str = "none",
    value: str = "temperature_c",
    cv_column: str = CV_COLUMN,
    band_opacity: float = 0.85,
    interval_ms: int = 800,
    credit: str | None = None,
) -> folium.Map:
    """Build one self-contained web map with a time slider over several snapshots.

    Each frame's bands, isolines (with their values) and station readings
    replace the previous frame's in the same three overlays, so the layer
    control works across frames. Frames share one legend and one colour per
    band, and the stations' positions and names are stored once.

    Parameters
    ----------
    frames
        ``(time, stations, bands)`` or ``(time, stations, bands, lines)``
        tuples in display order (layers may be ``None``); ``time`` is the
        frame's label.
    title
        Shown over the map.
    tiles, palette, lang, labels, value, cv_column, band_opacity
        As for :func:`render_map`.
    interval_ms
        Delay between frames when playing.
    credit
        As for :func:`render_map`: a source to credit in the attribution.

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> def readings(t):
    ...     return gpd.GeoDataFrame({"station_id": [108], "temperature_c": [t]},
    ...                             geometry=[shapely.Point(126.97, 37.57)], crs=4326)
    >>> m = render_animation([("06:00", readings(18.0), None), ("15:00", readings(26.0), None)],
    ...                      tiles=None)
    >>> "kwxmap.draw(" in m.get_root().render()
    True
    """
    frames = list(frames)
    if not frames:
        raise InputError("render_animation needs at least one (time, stations, bands) frame")
    if interval_ms <= 0:
        raise InputError(f"interval_ms={interval_ms!r} must be a positive number of milliseconds")
    return _render(
        frames, interval_ms=interval_ms, credit=credit, title=title, tiles=tiles,
        palette=palette, lang=lang, labels=labels, value=value, cv_column=cv_column,
        band_opacity=band_opacity,
    )


def _render(
    frames: list[tuple[Any, ...]],
    *,
    time: Any = None,
    interval_ms: int = 800,
    credit: str | None = None,
    tiles: str | None,
    band_opacity: float,
    **look: Any,
) -> folium.Map:
    """Draw the scene of ``frames`` as one page (render_map: one frame, with its time)."""
    if not 0 <= band_opacity <= 1:
        raise InputError(f"band_opacity={band_opacity!r} must be between 0 and 1")
    scene = map_scene(frames, time=time, **look)
    return _page(scene, tiles=tiles, value=look["value"], cv_column=look["cv_column"],
                 band_opacity=band_opacity, interval_ms=interval_ms, credit=credit)
