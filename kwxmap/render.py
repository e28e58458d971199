"""Maps: a Folium web map of the stations, isotherm bands and isolines.

:func:`render_map` builds a :class:`folium.Map` from the stations, isotherm
bands and isolines; :mod:`kwxmap.io` puts it (and the GeoJSON layers) on disk.

Colours come from :func:`temperature_colormap`, a fixed °C → colour mapping,
so the same temperature has the same colour on every map kwxmap draws.

Every string that reaches the HTML (station names, conditions, titles, times,
labels) is HTML-escaped first, and the characters that would end a JavaScript
template literal (backtick, dollar sign, backslash) are escaped too, because folium pastes
tooltip text into template literals and GeoJSON property values into
``innerHTML``.
"""

from __future__ import annotations

import copy
import datetime as _dt
import html
import json
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import branca.colormap
import folium
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import geopandas as gpd


__all__ = [
    "ATTRIBUTION",
    "CV_COLUMN",
    "TEMPERATURE_ANCHORS",
    "escape",
    "render_animation",
    "render_map",
    "temperature_colormap",
]

#: The fixed temperature palette: (°C, colour) anchors, linear in between.
#: A multi-hue ramp in the style of weather-service temperature maps (purple -
#: blue - cyan - green - yellow - orange - red - maroon - plum; hue falls
#: steadily with temperature, close to Google's perceptually smoothed "turbo"
#: in its middle), with an anchor every 3 °C from 3 to 27 °C so that a typical
#: 10 °C spread of Korean readings still spans three or four distinct hues.
TEMPERATURE_ANCHORS: tuple[tuple[float, str], ...] = (
    (-30.0, "#3b0f70"),
    (-20.0, "#4a2a9c"),
    (-12.0, "#3d55c4"),
    (-6.0, "#2f7fd8"),
    (-1.0, "#2aa2dd"),
    (3.0, "#3cc2d3"),
    (6.0, "#6fd9b8"),
    (9.0, "#a5e69a"),
    (12.0, "#d6ec7f"),
    (15.0, "#f9e46b"),
    (18.0, "#fdbd55"),
    (21.0, "#f98a3f"),
    (24.0, "#e8502f"),
    (27.0, "#c11f2a"),
    (31.0, "#8a0a2a"),
    (35.0, "#5c0a3e"),
    (40.0, "#3a0530"),
)

#: Column of the stations frame holding the leave-one-out cross-validation
#: error (predicted minus observed, °C); shown in the station tooltip when present.
CV_COLUMN = "cv_error_c"

#: Attribution added to every map (KMA readings, KOSTAT boundaries).
ATTRIBUTION = (
    'Readings: <a href="https://data.kma.go.kr/">KMA</a> | '
    "Boundaries: KOSTAT SGIS 2018 (KOGL Type 1) | kwxmap"
)

_NO_DATA_COLOR = "#9e9e9e"


def escape(value: Any) -> str:
    """Return ``value`` as text that is inert in HTML and in JS template literals.

    :func:`html.escape` (quotes included) plus the backtick, ``$`` and
    backslash, which folium's tooltip templates would otherwise interpret.

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
    """Return kwxmap's fixed temperature colormap restricted to ``vmin``..``vmax`` °C.

    The colours are those of the full −30..+40 °C scale
    (:data:`TEMPERATURE_ANCHORS`), so 20 °C has the same colour whatever range
    a map shows; only the legend's extent changes. Values beyond the scale
    take the end colours.

    Parameters
    ----------
    vmin, vmax
        Range of the returned colormap (and its legend), °C; ``vmin < vmax``.

    Returns
    -------
    branca.colormap.LinearColormap
        With caption ``"Temperature (°C)"``.

    Examples
    --------
    >>> full = temperature_colormap()
    >>> summer = temperature_colormap(18, 29)
    >>> summer.rgb_hex_str(24.0) == full.rgb_hex_str(24.0) == "#e8502f"
    True
    >>> summer.vmin, summer.vmax
    (18.0, 29.0)
    """
    vmin, vmax = float(vmin), float(vmax)
    if not (math.isfinite(vmin) and math.isfinite(vmax)) or vmin >= vmax:
        raise InputError(
            f"temperature range {vmin!r}..{vmax!r} is empty; give vmin < vmax in °C"
        )
    index = [t for t, _ in TEMPERATURE_ANCHORS]
    colors = [c for _, c in TEMPERATURE_ANCHORS]
    full = branca.colormap.LinearColormap(colors, index=index)
    inner = [(t, full.rgba_floats_tuple(t)) for t in index if vmin < t < vmax]
    stops = [(vmin, full.rgba_floats_tuple(vmin)), *inner, (vmax, full.rgba_floats_tuple(vmax))]
    return branca.colormap.LinearColormap(
        [c for _, c in stops],
        index=[t for t, _ in stops],
        vmin=vmin,
        vmax=vmax,
        caption="Temperature (°C)",
    )


def _fmt_temp(value: Any) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "no reading"
    return "no reading" if not math.isfinite(v) else f"{v:.1f} °C"


def _fmt_time(time: Any) -> str:
    if isinstance(time, _dt.datetime | pd.Timestamp):
        text = time.strftime("%Y-%m-%d %H:%M")
        tz = time.tzname() if time.tzinfo is not None else None
        return f"{text} {tz}" if tz else text
    if isinstance(time, _dt.date):
        return time.isoformat()
    return str(time)


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


def _station_tooltip(row: pd.Series, value: str, cv_column: str) -> str:
    name_ko = _cell(row, "name_ko") or _cell(row, "station_name") or ""
    name_en = _cell(row, "name_en")
    printed = _cell(row, "station_name")
    head = f"<b>{escape(name_ko)}</b>"
    if name_en:
        head += f" ({escape(name_en)})"
    lines = [head]
    if printed and printed != name_ko:
        lines.append(f"as printed: {escape(printed)}")
    sid = _cell(row, "station_id")
    if sid is not None:
        lines.append(f"station {escape(sid)}")
    cond = _cell(row, "condition")
    cond_en = _cell(row, "condition_en")
    if cond or cond_en:
        parts = [escape(c) for c in (cond, cond_en) if c]
        lines.append(" / ".join(parts))
    lines.append(f"<b>{escape(_fmt_temp(_cell(row, value)))}</b>")
    cv = _cell(row, cv_column)
    if cv is not None:
        try:
            lines.append(f"LOO error {float(cv):+.1f} °C")
        except (TypeError, ValueError):
            lines.append(f"LOO error {escape(cv)}")
    return "<br>".join(lines)


def _rounded_geometry_texts(geoms: Any, precision: int) -> list[str | None]:
    """GeoJSON geometry texts, snapped to ``precision`` decimals, right-hand rule."""
    geoms = np.asarray(geoms, dtype=object)
    fixed = geoms.copy()
    present = ~shapely.is_missing(geoms)
    if present.any():
        snapped = shapely.set_precision(geoms[present], 10.0 ** (-precision))
        oriented = shapely.orient_polygons(snapped, exterior_cw=False)
        fixed[present] = oriented
    empty = shapely.is_empty(fixed) | shapely.is_missing(fixed)
    texts = shapely.to_geojson(fixed)
    # GEOS prints a few snapped values in full (35.092529999999996): shorten those
    # (every coordinate follows '[' or ','; anchoring on that makes the scan 2x faster)
    long_number = re.compile(r"(?<=[\[,])-?\d+\.\d{" + str(precision + 1) + ",}")

    def shorten(match: re.Match[str]) -> str:
        return repr(round(float(match.group()), precision))

    return [
        None if e or t is None else long_number.sub(shorten, str(t))
        for e, t in zip(empty, texts, strict=True)
    ]


def _rounded_geometries(geoms: Any, precision: int) -> list[dict[str, Any] | None]:
    """GeoJSON geometry dicts, snapped to ``precision`` decimals, right-hand rule."""
    return [
        None if t is None else json.loads(t) for t in _rounded_geometry_texts(geoms, precision)
    ]


def _geojson_dict(
    gdf: gpd.GeoDataFrame, props: dict[str, Sequence[Any]], precision: int = 5
) -> dict[str, Any]:
    """Build a FeatureCollection for folium from geometries and ready properties."""
    geometries = _rounded_geometries(gdf.geometry.values, precision)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {k: v[i] for k, v in props.items()},
                "geometry": geometry,
            }
            for i, geometry in enumerate(geometries)
        ],
    }


def _to_lonlat(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise InputError(
            f"{what} has no CRS; set it with .set_crs(4326) (lon/lat) before rendering"
        )
    return gdf if gdf.crs.to_epsg() == 4326 else gdf.to_crs(4326)


class _Header(MacroElement):
    """Title and observation time, drawn over the top of the map."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .kwxmap-header {position: absolute; z-index: 1000; top: 10px; left: 54px;
            max-width: calc(100% - 520px); background: rgba(255,255,255,0.9);
            padding: 4px 12px; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.3);
            font: 14px/1.3 sans-serif; text-align: left; pointer-events: none;}
        .kwxmap-header .kwxmap-title {font-weight: bold; font-size: 16px;}
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <div class="kwxmap-header">{{ this.inner }}</div>
        {% endmacro %}
        """
    )

    def __init__(self, inner: str) -> None:
        super().__init__()
        self._name = "KwxmapHeader"
        self.inner = inner


class _Attribution(MacroElement):
    """Add an attribution to the map's attribution control (works without tiles)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "KwxmapAttribution"
        self.text = text


def _bands_layer(
    bands: gpd.GeoDataFrame,
    colormap: branca.colormap.ColorMap,
    opacity: float,
    *,
    name: str,
    **kwargs: Any,
) -> folium.GeoJson:
    """Build the bands GeoJson layer; labels escaped, fills from ``colormap``."""
    lowers, uppers = bands["lower"].to_numpy(float), bands["upper"].to_numpy(float)
    fills = [colormap.rgb_hex_str((lo + up) / 2.0) for lo, up in zip(lowers, uppers, strict=True)]
    if "label" in bands.columns:
        labels = bands["label"].astype(str).tolist()
    else:
        labels = [f"{lo:g}–{up:g} °C" for lo, up in zip(lowers, uppers, strict=True)]
    data = _geojson_dict(bands, {"label": [escape(s) for s in labels], "fill": fills})
    return folium.GeoJson(
        data,
        name=name,
        style_function=lambda f, _o=opacity: {
            "fillColor": f["properties"]["fill"],
            "fillOpacity": _o,
            "color": f["properties"]["fill"],
            "weight": 0.5,
            "className": "kwxmap-band",
        },
        highlight_function=lambda f: {"weight": 2, "color": "#333333"},
        tooltip=folium.GeoJsonTooltip(fields=["label"], aliases=["Temperature"], sticky=True),
        smooth_factor=0.5,
        **kwargs,
    )


def _lines_layer(lines: gpd.GeoDataFrame, **kwargs: Any) -> folium.GeoJson:
    """Build the isolines GeoJson layer with the level as tooltip."""
    labels = [escape(f"{float(v):g} °C") for v in lines["level"]]
    data = _geojson_dict(lines, {"label": labels})
    return folium.GeoJson(
        data,
        name="Isolines",
        style_function=lambda f: {
            "color": "#404040",
            "weight": 1.2,
            "opacity": 0.9,
            "className": "kwxmap-isoline",
        },
        highlight_function=lambda f: {"weight": 3},
        tooltip=folium.GeoJsonTooltip(fields=["label"], aliases=["Isotherm"], sticky=True),
        smooth_factor=0.5,
        **kwargs,
    )


def _stations_layer(
    stations: gpd.GeoDataFrame,
    colormap: branca.colormap.ColorMap,
    value: str,
    cv_column: str,
    *,
    name: str,
    **kwargs: Any,
) -> folium.FeatureGroup:
    """Build one CircleMarker per station, filled by ``colormap``, escaped tooltip."""
    group = folium.FeatureGroup(name=name, **kwargs)
    for _, row in stations.iterrows():
        geom = row.geometry
        if geom is None or geom.is_empty:
            continue
        reading = _cell(row, value)
        try:
            fill = colormap.rgb_hex_str(float(reading)) if reading is not None else None
        except (TypeError, ValueError):
            fill = None
        folium.CircleMarker(
            location=[geom.y, geom.x],
            radius=6,
            color="#222222",
            weight=1,
            fill=True,
            fill_color=fill or _NO_DATA_COLOR,
            fill_opacity=0.95,
            className="kwxmap-station",
            tooltip=folium.Tooltip(_station_tooltip(row, value, cv_column)),
        ).add_to(group)
    return group


def render_map(
    stations: gpd.GeoDataFrame | None,
    bands: gpd.GeoDataFrame | None = None,
    lines: gpd.GeoDataFrame | None = None,
    *,
    title: str | None = None,
    time: Any = None,
    tiles: str | None = "OpenStreetMap",
    colormap: branca.colormap.ColorMap | None = None,
    value: str = "temperature_c",
    cv_column: str = CV_COLUMN,
    band_opacity: float = 0.85,
) -> folium.Map:
    """Build a Folium web map of readings, isotherm bands and isolines.

    Parameters
    ----------
    stations
        GeoDataFrame of readings (as from :func:`kwxmap.join_readings`):
        points plus ``value`` and, when present, ``station_id``, ``name_ko``,
        ``name_en``, ``station_name``, ``condition``, ``condition_en`` and the
        cross-validation error column ``cv_column``. ``None`` for no markers.
    bands
        Isotherm bands from :func:`kwxmap.contour_bands` (``lower``,
        ``upper``, ``label``), drawn as one GeoJson layer.
    lines
        Isolines from :func:`kwxmap.contour_lines` (``level``), with the level
        as tooltip.
    title, time
        Shown in a header over the map (``time`` may be a string, date,
        datetime or Timestamp).
    tiles
        Base map tiles (any folium tile name or URL), toggled in the layer
        control; ``None`` for no base map (the map then needs no network for
        anything but its JS/CSS libraries).
    colormap
        Colormap for bands and markers; default
        :func:`temperature_colormap` over the bands' (else the readings')
        range, so colours agree between maps.
    value
        Column of ``stations`` holding the reading (°C).
    cv_column
        Column holding the leave-one-out error (°C), shown when present.
    band_opacity
        Fill opacity of the bands (0..1).

    Returns
    -------
    folium.Map
        Layers "Isotherm bands", "Isolines", "Stations" in a LayerControl,
        a colour legend in °C, attribution for KMA and KOSTAT; fit to the data.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> st = gpd.GeoDataFrame({"station_id": [108], "name_ko": ["서울"],
    ...     "name_en": ["Seoul"], "condition": ["<b>맑음</b>"], "temperature_c": [24.5]},
    ...     geometry=[shapely.Point(126.97, 37.57)], crs=4326)
    >>> m = render_map(st, title="Seoul", tiles=None)
    >>> html_text = m.get_root().render()
    >>> "&lt;b&gt;맑음&lt;/b&gt;" in html_text and "<b>맑음</b>" not in html_text
    True
    """
    if not 0 <= band_opacity <= 1:
        raise InputError(f"band_opacity={band_opacity!r} must be between 0 and 1")
    if stations is not None:
        stations = _to_lonlat(stations, "stations")
        if value not in stations.columns:
            raise InputError(
                f"stations have no column {value!r}; pass value= with the reading column "
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

    if colormap is None:
        colormap = temperature_colormap(*_value_range(stations, bands, value))
        colormap.tick_labels = _ticks(colormap.vmin, colormap.vmax)
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False, zoom_start=7,
                   location=[36.3, 127.8])
    if tiles is not None:
        folium.TileLayer(tiles, name=escape(str(tiles)), overlay=True, control=True).add_to(m)

    if bands is not None and len(bands):
        _bands_layer(bands, colormap, band_opacity, name="Isotherm bands").add_to(m)
    if lines is not None and len(lines):
        _lines_layer(lines).add_to(m)
    if stations is not None:
        _stations_layer(stations, colormap, value, cv_column, name="Stations").add_to(m)

    legend = colormap
    if not getattr(legend, "caption", ""):
        legend = copy.deepcopy(colormap)
        legend.caption = "Temperature (°C)"
    legend.add_to(m)

    folium.LayerControl(collapsed=False).add_to(m)

    header_parts = []
    if title:
        header_parts.append(f'<div class="kwxmap-title">{escape(title)}</div>')
    if time is not None:
        header_parts.append(f'<div class="kwxmap-time">{escape(_fmt_time(time))}</div>')
    if header_parts:
        m.get_root().add_child(_Header("".join(header_parts)))
        m.get_root().title = escape(title) if title else None
    m.add_child(_Attribution(ATTRIBUTION))

    bounds = _bounds(stations, bands)
    if bounds is not None:
        w, s, e, n = bounds
        m.fit_bounds([[s, w], [n, e]])
    return m


class _TimeSlider(MacroElement):
    """A slider (and play button) showing one frame layer at a time."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .kwxmap-slider {background: rgba(255,255,255,0.92); padding: 6px 10px;
            border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 13px sans-serif;}
        .kwxmap-slider input {width: 280px; vertical-align: middle;}
        .kwxmap-slider button {margin: 0 6px; min-width: 2.4em;}
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var frames = [{{ this.layer_names|join(", ") }}];
            var labels = {{ this.labels|tojson }};
            var control = L.control({position: "bottomleft"});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", "kwxmap-slider");
                var input = L.DomUtil.create("input", "kwxmap-slider-input", div);
                input.type = "range"; input.min = 0; input.max = frames.length - 1;
                input.step = 1; input.value = 0;
                var play = L.DomUtil.create("button", "kwxmap-slider-play", div);
                play.type = "button"; play.textContent = "\\u25B6";
                var label = L.DomUtil.create("span", "kwxmap-slider-label", div);
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                function show(i) {
                    frames.forEach(function (layer, j) {
                        if (j === i) { if (!map.hasLayer(layer)) { map.addLayer(layer); } }
                        else if (map.hasLayer(layer)) { map.removeLayer(layer); }
                    });
                    label.textContent = labels[i];
                    input.value = i;
                }
                input.addEventListener("input", function () { show(parseInt(input.value, 10)); });
                var timer = null;
                play.addEventListener("click", function () {
                    if (timer) {
                        clearInterval(timer); timer = null; play.textContent = "\\u25B6"; return;
                    }
                    play.textContent = "\\u275A\\u275A";
                    timer = setInterval(function () {
                        show((parseInt(input.value, 10) + 1) % frames.length);
                    }, {{ this.interval }});
                });
                show(0);
                return div;
            };
            control.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layers: Sequence[Any], labels: Sequence[str], interval_ms: int) -> None:
        super().__init__()
        self._name = "KwxmapTimeSlider"
        self.layers = list(layers)
        self.labels = [str(x) for x in labels]
        self.interval = int(interval_ms)

    @property
    def layer_names(self) -> list[str]:
        return [layer.get_name() for layer in self.layers]


def render_animation(
    frames: Sequence[tuple[Any, gpd.GeoDataFrame | None, gpd.GeoDataFrame | None]],
    *,
    title: str | None = None,
    tiles: str | None = "OpenStreetMap",
    colormap: branca.colormap.ColorMap | None = None,
    value: str = "temperature_c",
    cv_column: str = CV_COLUMN,
    band_opacity: float = 0.85,
    interval_ms: int = 800,
) -> folium.Map:
    """Build one Folium map with a time slider over several snapshots.

    Each frame (its bands and station markers) is a layer; a slider and a
    play button in the lower left show one frame at a time. All frames share
    one colormap, so colours compare between times. The page needs no
    JavaScript beyond what :func:`render_map` pages load.

    Parameters
    ----------
    frames
        ``(time, stations, bands)`` tuples in display order (``stations`` or
        ``bands`` may be ``None``); ``time`` is shown as the frame's label.
    title
        Shown in a header over the map.
    tiles, colormap, value, cv_column, band_opacity
        As for :func:`render_map`; the default colormap spans all frames.
    interval_ms
        Delay between frames when playing.

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
    >>> "kwxmap-slider" in m.get_root().render()
    True
    """
    frames = list(frames)
    if not frames:
        raise InputError("render_animation needs at least one (time, stations, bands) frame")
    if interval_ms <= 0:
        raise InputError(f"interval_ms={interval_ms!r} must be a positive number of milliseconds")
    if not 0 <= band_opacity <= 1:
        raise InputError(f"band_opacity={band_opacity!r} must be between 0 and 1")
    prepared = []
    for i, frame in enumerate(frames):
        try:
            time, stations, bands = frame
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"frame {i} is {type(frame).__name__!r}; give (time, stations, bands) tuples"
            ) from exc
        if stations is not None:
            stations = _to_lonlat(stations, f"stations of frame {i}")
        if bands is not None:
            bands = _to_lonlat(bands, f"bands of frame {i}")
        prepared.append((time, stations, bands))

    if colormap is None:
        lows, highs = [], []
        for _, stations, bands in prepared:
            lo, hi = _value_range(stations, bands, value)
            if (lo, hi) != (-30.0, 40.0):
                lows.append(lo)
                highs.append(hi)
        lo, hi = (min(lows), max(highs)) if lows else (-30.0, 40.0)
        colormap = temperature_colormap(lo, hi)
        colormap.tick_labels = _ticks(colormap.vmin, colormap.vmax)

    m = folium.Map(tiles=None, control_scale=True, zoom_start=7, location=[36.3, 127.8])
    if tiles is not None:
        folium.TileLayer(tiles, name=escape(str(tiles)), overlay=True, control=True).add_to(m)
    layers, labels = [], []
    for i, (time, stations, bands) in enumerate(prepared):
        label = _fmt_time(time)
        group = folium.FeatureGroup(name=escape(label), control=False, show=(i == 0))
        if bands is not None and len(bands):
            _bands_layer(bands, colormap, band_opacity, name=escape(label)).add_to(group)
        if stations is not None and len(stations):
            _stations_layer(stations, colormap, value, cv_column, name=escape(label)).add_to(group)
        group.add_to(m)
        layers.append(group)
        labels.append(label)

    legend = colormap
    if not getattr(legend, "caption", ""):
        legend = copy.deepcopy(colormap)
        legend.caption = "Temperature (°C)"
    legend.add_to(m)
    m.add_child(_TimeSlider(layers, labels, interval_ms))
    if tiles is not None:
        folium.LayerControl(collapsed=False).add_to(m)
    if title:
        m.get_root().add_child(_Header(f'<div class="kwxmap-title">{escape(title)}</div>'))
        m.get_root().title = escape(title)
    m.add_child(_Attribution(ATTRIBUTION))
    bounds = _bounds(*[f for _, st, b in prepared for f in (st, b)])
    if bounds is not None:
        w, s_, e, n = bounds
        m.fit_bounds([[s_, w], [n, e]])
    return m


def _value_range(
    stations: gpd.GeoDataFrame | None, bands: gpd.GeoDataFrame | None, value: str
) -> tuple[float, float]:
    lows, highs = [], []
    if bands is not None and len(bands):
        lows.append(float(np.nanmin(bands["lower"])))
        highs.append(float(np.nanmax(bands["upper"])))
    elif stations is not None and len(stations):
        vals = pd.to_numeric(stations[value], errors="coerce").to_numpy(dtype=float)
        vals = vals[np.isfinite(vals)]
        if vals.size:
            lows.append(math.floor(vals.min()))
            highs.append(math.ceil(vals.max()))
    if not lows:
        return -30.0, 40.0
    lo, hi = min(lows), max(highs)
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    return lo, hi


def _ticks(vmin: float, vmax: float, most: int = 8) -> list[float]:
    """Round legend ticks: the ends and every 1, 2, 5 or 10 °C in between."""
    for step in (1, 2, 5, 10, 20):
        first = math.ceil(vmin / step) * step
        ticks = [float(t) for t in np.arange(first, vmax + 1e-9, step)]
        if len(ticks) <= most:
            break
    return ticks


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
