"""A static picture of a map (PNG, SVG, PDF) for reports and news use.

:func:`render_static` draws the same :class:`~kwxmap.scene.MapScene` as the
web page — bands in the same colours, isolines with their values at the same
places, stations with a halo, the stepped legend and the title — with
matplotlib (``pip install kwxmap[static]``). Korean text needs a CJK font;
one is looked up at run time (Noto Sans CJK, Nanum, Malgun, Apple SD Gothic…)
and a clear :class:`~kwxmap.errors.OutputError` says how to install one when
none is found. :func:`save_figure` writes the picture, choosing the format by
the file suffix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from ._extras import require
from .errors import InputError, OutputError
from .palette import DEFAULT_PALETTE
from .scene import CV_COLUMN, DENSE_STATIONS, map_scene

if TYPE_CHECKING:  # pragma: no cover - typing only
    import geopandas as gpd
    from matplotlib.figure import Figure

__all__ = ["FORMATS", "find_cjk_font", "render_static", "save_figure"]

#: File suffixes :func:`save_figure` writes.
FORMATS: tuple[str, ...] = (".png", ".svg", ".pdf")

_ATTRIBUTION = {
    "ko": "관측: 기상청 KMA · 경계: 통계청 KOSTAT SGIS 2018 · kwxmap",
    "en": "Readings: KMA · Boundaries: KOSTAT SGIS 2018 · kwxmap",
}

_CJK_FAMILIES = (
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "NanumGothic",
    "Malgun Gothic",
    "Apple SD Gothic Neo",
    "Noto Serif CJK KR",
    "Source Han Sans KR",
    "UnDotum",
)


def _matplotlib() -> Any:
    matplotlib = require("matplotlib", extra="static",
                         what="a static picture (.png/.svg/.pdf; an .html map does not)")
    matplotlib.use("Agg", force=False)
    return matplotlib


def find_cjk_font() -> str:
    """Return the family name of an installed font that has Hangul.

    Raises
    ------
    OutputError
        When no such font is installed, saying how to install one.

    Examples
    --------
    >>> isinstance(find_cjk_font(), str)  # e.g. 'Noto Sans CJK KR'
    True
    """
    _matplotlib()
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in _CJK_FAMILIES:
        if family in names:
            return family
    for font in font_manager.fontManager.ttflist:  # any other font naming Korean
        if any(k in font.name for k in ("CJK", "KR", "Hangul", "Gothic")):
            return font.name
    raise OutputError(
        "no font with Korean (Hangul) glyphs found for the static picture; install one, "
        "e.g. Debian/Ubuntu `apt-get install fonts-noto-cjk`, macOS/Windows ship "
        "Apple SD Gothic Neo / Malgun Gothic; or use lang='en'"
    )


def render_static(
    stations: gpd.GeoDataFrame | None,
    bands: gpd.GeoDataFrame | None = None,
    lines: gpd.GeoDataFrame | None = None,
    *,
    title: str | None = None,
    time: Any = None,
    palette: str = DEFAULT_PALETTE,
    lang: str = "ko",
    labels: str = "none",
    value: str = "temperature_c",
    width_in: float = 8.0,
    dpi: int = 150,
) -> Figure:
    """Draw a map as a matplotlib Figure: bands, labelled isotherms, stations, legend, title.

    Parameters
    ----------
    stations, bands, lines, title, time, palette, lang, labels, value
        As for :func:`kwxmap.render_map`.
    width_in
        Figure width in inches (height follows the map's shape).
    dpi
        Resolution used for PNG output.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> st = gpd.GeoDataFrame({"temperature_c": [20.2, 24.8]},
    ...     geometry=[shapely.Point(127, 37), shapely.Point(128, 36)], crs=4326)
    >>> fig = render_static(st, title="기온", lang="en")
    >>> [t.get_text() for t in fig.texts][:1]
    ['기온']
    """
    mpl = _matplotlib()
    import matplotlib.patheffects as pe
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    scene = map_scene(
        [(time, stations, bands, lines)], title=title, time=time, palette=palette, lang=lang,
        labels=labels, value=value, cv_column=CV_COLUMN,
    )
    if width_in <= 0 or dpi <= 0:
        raise InputError(f"width_in={width_in!r} and dpi={dpi!r} must be positive")
    family = find_cjk_font()
    frame = scene.frames[0]
    w, s, e, n = scene.bounds or (124.5, 33.0, 131.0, 38.7)
    mid_lat = np.radians((s + n) / 2)
    aspect = 1 / np.cos(mid_lat)
    map_h = width_in * (n - s) * aspect / max(e - w, 1e-6)
    height_in = min(max(map_h, 3.0), 2.0 * width_in) + 1.6
    # text is data: "$x$" in a title is shown, never parsed as mathtext
    with mpl.rc_context({"font.family": family, "text.parse_math": False}):
        fig = Figure(figsize=(width_in, height_in), dpi=dpi)
        FigureCanvasAgg(fig)  # measures the labels' boxes to keep them apart
        top = 1 - 0.75 / height_in
        ax = fig.add_axes((0.02, 0.95 / height_in, 0.96, top - 0.95 / height_in))
        ax.set_aspect(aspect)
        ax.set_axis_off()
        ax.set_facecolor("white")
        if frame.bands is not None:
            for geom, color in zip(frame.bands.geometry, frame.band_fills, strict=True):
                for poly in shapely.get_parts(geom):
                    if poly.is_empty or poly.geom_type != "Polygon":
                        continue
                    rings = [np.asarray(poly.exterior.coords)[:, :2]]
                    rings += [np.asarray(r.coords)[:, :2] for r in poly.interiors]
                    verts = np.concatenate(rings)
                    codes = np.concatenate(
                        [[MplPath.MOVETO] + [MplPath.LINETO] * (len(r) - 2) + [MplPath.CLOSEPOLY]
                         for r in rings]
                    )
                    ax.add_patch(PathPatch(MplPath(verts, codes), facecolor=color,
                                           edgecolor=color, linewidth=0.3))
        if frame.lines is not None:
            for geom in frame.lines.geometry:
                for part in shapely.get_parts(geom):
                    xy = np.asarray(part.coords)
                    if len(xy) > 1:
                        ax.plot(xy[:, 0], xy[:, 1], color="#303030", linewidth=0.7)
        # the white halo is a stroked copy underneath, so the label itself stays text
        # (searchable and selectable in the SVG and PDF); each label is that pair
        isolabels, values, dots = [], [], np.empty((0, 2))
        if frame.lines is not None:
            halo = [pe.Stroke(linewidth=2.5, foreground="white")]
            two_tiers = frame.isolabels[frame.isolabels["tier"] <= 1]  # a 1200 px picture
            for r in two_tiers.itertuples():
                isolabels.append([
                    ax.text(r.lon, r.lat, r.text, rotation=-r.angle, rotation_mode="anchor",
                            ha="center", va="center", fontsize=8, fontweight="bold",
                            path_effects=effects, zorder=z)
                    for effects, z in ((halo, 5.0), (None, 5.1))
                ])
        if frame.stations is not None and len(frame.stations):
            dots = np.array([(g.x, g.y) for g in frame.stations.geometry])
            size = (scene.radius * 1.6) ** 2
            halo_pt = np.sqrt(size * 1.9) / 2  # the halo's radius, points
            faint = np.asarray(frame.station_outside, bool)  # beyond the region: faint
            for pick, alpha, edge in ((~faint, 1.0, "#1a1a1a"), (faint, 0.35, "#8a8a8a")):
                if pick.any():
                    ax.scatter(dots[pick, 0], dots[pick, 1], s=size * 1.9, c="white",
                               alpha=alpha, zorder=6, linewidths=0)
                    ax.scatter(dots[pick, 0], dots[pick, 1], s=size, alpha=alpha,
                               c=[f for f, p in zip(frame.station_fills, pick, strict=True) if p],
                               edgecolors=edge, linewidths=0.8, zorder=7)
            if scene.labels == "values":
                halo = [pe.Stroke(linewidth=2.2, foreground="white")]
                for (x, y), text, out in zip(dots, frame.station_values, faint, strict=True):
                    if text and not out:
                        values.append([
                            ax.annotate(text, (x, y), xytext=(halo_pt + 2, 0),
                                        textcoords="offset points",
                                        fontsize=6.5, va="center", path_effects=effects,
                                        zorder=z)
                            for effects, z in ((halo, 8.0), (None, 8.1))
                        ])
        pad = 0.02 * max(e - w, n - s)
        ax.set_xlim(w - pad, e + pad)
        ax.set_ylim(s - pad, n + pad)
        heading = [t for t in (scene.title, scene.time) if t]
        if heading:
            fig.text(0.03, 1 - 0.2 / height_in, heading[0], fontsize=14, fontweight="bold",
                     va="top")
            if len(heading) > 1:
                fig.text(0.03, 1 - 0.5 / height_in, heading[1], fontsize=10, va="top")
        _legend(fig, scene, height_in)
        # like the web page: a sparse map's station values first and every label giving
        # way to the markers; a dense map's isotherm values first, written over the dots
        dense = len(dots) > DENSE_STATIONS
        iso = [(pair, True) for pair in isolabels]
        shown = [(pair, False) for pair in values]
        _declutter(fig, ax, iso + shown if dense else shown + iso, dots,
                   scene.radius * 1.6 * np.sqrt(1.9) / 2, dense=dense)
        attribution = _ATTRIBUTION[lang]
        fig.text(0.98, 0.08 / height_in, attribution, fontsize=6.5, ha="right", color="#555")
    return fig


#: Least distance (inches) between two written values of one isotherm.
SAME_LEVEL_IN = 1.0


def _declutter(fig: Figure, ax: Any, labels: list[tuple[list[Any], bool]], dots: np.ndarray,
               dot_pt: float, *, dense: bool) -> None:
    """Keep, in order, the labels that fit, as the web page does.

    Each label is a (halo, text) pair and whether it is an isotherm's value. One is
    hidden when its box touches a label kept before it, when an isotherm's value
    repeats within :data:`SAME_LEVEL_IN`, or when it touches a station marker
    (radius ``dot_pt`` points; every label on a sparse map, station values only on
    a dense one).
    """
    renderer = fig.canvas.get_renderer()
    pad = 2.0 * fig.dpi / 72
    centres = ax.transData.transform(dots) if len(dots) else np.empty((0, 2))
    r = dot_pt * fig.dpi / 72
    kept: list[Any] = []
    same: dict[str, list[tuple[float, float]]] = {}
    for pair, isotherm in labels:
        against_dots = not (dense and isotherm)
        box = pair[0].get_window_extent(renderer).padded(pad)
        hit = any(box.overlaps(k) for k in kept)
        if not hit and against_dots and len(centres):
            near_x = (centres[:, 0] + r > box.x0) & (centres[:, 0] - r < box.x1)
            hit = bool(np.any(near_x & (centres[:, 1] + r > box.y0) & (centres[:, 1] - r < box.y1)))
        if not hit and isotherm:
            x, y = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
            near = same.setdefault(pair[0].get_text(), [])
            hit = any(np.hypot(x - a, y - b) < SAME_LEVEL_IN * fig.dpi for a, b in near)
            if not hit:
                near.append((x, y))
        for artist in pair:
            artist.set_visible(not hit)
        if not hit:
            kept.append(box)


def _legend(fig: Figure, scene: Any, height_in: float) -> None:
    """Draw a stepped colour bar: one swatch per band, the chosen edges labelled."""
    n = len(scene.legend_colors)
    if not n:
        return
    ax = fig.add_axes((0.2, 0.5 / height_in, 0.6, 0.16 / height_in))
    for i, color in enumerate(scene.legend_colors):
        ax.axvspan(i, i + 1, color=color, linewidth=0)
    ax.set_xlim(0, n)
    ax.set_yticks([])
    ax.set_xticks([i for i, _ in scene.ticks])
    ax.set_xticklabels([t for _, t in scene.ticks], fontsize=8)
    ax.tick_params(length=2, pad=1)
    ax.set_title(scene.text["caption"], fontsize=9, loc="left", pad=2)


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write a figure as PNG, SVG or PDF (by suffix), atomically.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from matplotlib.figure import Figure
    >>> out = save_figure(Figure(), pathlib.Path(tempfile.mkdtemp()) / "m.svg")
    >>> out.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    True
    """
    from ._atomic import atomic_path

    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"cannot write a static map as {str(path)!r}; use one of {list(FORMATS)!r}"
        )
    mpl = _matplotlib()
    # text stays text in SVG and embedded TrueType in PDF (searchable, editable)
    with mpl.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}), atomic_path(path) as tmp:
        fig.savefig(tmp, format=suffix[1:], bbox_inches="tight", facecolor="white")
    return Path(path)
