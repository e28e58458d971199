"""Maps for many timestamps: one HTML per time, an index page, NetCDF.

:func:`render_batch` reads a long table (time, station, temperature), fixes
the station set, interpolates every timestamp at once with
:func:`~kwxmap.interpolate_many` (weights computed once per pattern of
missing stations), then contours and renders each time. A timestamp that
cannot be mapped (too few stations) is reported and skipped. The whole set
(maps, index, grids) is written into a temporary folder and swapped in at the
end (:class:`kwxmap.io.Staging`): a file that cannot be written stops the
batch with an :class:`~kwxmap.errors.OutputError` and changes nothing.
"""

from __future__ import annotations

import html
import math
import os
import sys
import time as _time
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import io
from ._extras import require
from .contours import resolve_levels
from .errors import InputError, KwxmapError, KwxmapWarning, OutputError
from .grid import Grid, make_grid
from .interpolate import interpolate_many
from .interpolate.batch import shared_variogram
from .interpolate.memory import (
    chunk_times,
    default_memory_limit,
    estimate_memory,
    held_memory,
)
from .labels import format_time, map_heading
from .options import MapOptions, ReadOptions, SurfaceOptions, split_options
from .pipeline import draw, load_joined

__all__ = ["BatchResult", "render_batch"]


@dataclass
class BatchResult:
    """What :func:`render_batch` wrote.

    Attributes
    ----------
    directory
        The output folder.
    maps
        One HTML file per rendered timestamp, in time order.
    failed
        ``(time, message)`` for every timestamp that could not be rendered.
    index
        The index page (or the animated page with ``animate=True``).
    netcdf
        The gridded series as CF NetCDF, when requested.
    zarr
        The gridded series as a CF Zarr store, when requested.
    grid
        The interpolated series (:class:`~kwxmap.grid.Grid` with ``time``);
        None when the batch was too large for memory and ran in chunks.
    seconds
        Wall time of the whole batch.
    placed
        The join's line on the readings (``N of M readings placed``...).
    frames
        Timestamps drawn into the animated page (``animate=True``), else 0.
    """

    directory: Path
    maps: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    index: Path | None = None
    netcdf: Path | None = None
    zarr: Path | None = None
    grid: Grid | None = field(default=None, repr=False)
    seconds: float = 0.0
    frames: int = 0
    placed: str = ""

    def summary(self) -> str:
        """One line for a terminal: counts, failures and time per map."""
        n = self.frames or len(self.maps)
        what = "frame" if self.frames else "map"
        per = f", {self.seconds / n:.2f} s per {what}" if n else ""
        parts = [f"{n} {what}{'' if n == 1 else 's'}, {len(self.failed)} failed{per}"]
        if self.placed:
            parts.insert(0, self.placed)
        parts += [f"skipped {t}: {msg}" for t, msg in self.failed]
        if self.index is not None:
            parts.append(f"index {self.index}")
        if self.netcdf is not None:
            parts.append(f"netcdf {self.netcdf}")
        if self.zarr is not None:
            parts.append(f"zarr {self.zarr}")
        return "; ".join(parts)


def _time_chunks(
    surface: SurfaceOptions, params: dict[str, Any], n_times: int, *, animate: bool
) -> list[tuple[int, int]]:
    """Split the timestamps into runs whose grids fit in the memory budget.

    An animation holds every frame's layers until its page is written: its
    grids get half of what the budget leaves.
    """
    template = make_grid(surface.region, resolution=surface.resolution, crs=surface.crs)
    step = chunk_times(template, surface.method, n_times=n_times,
                       max_memory=surface.max_memory, params=params,
                       share=0.5 if animate else 1.0)
    return [(lo, min(lo + step, n_times)) for lo in range(0, n_times, step)]


def _frame_bytes(*layers: Any) -> int:
    """Rough bytes a frame's bands and isolines hold (coordinates, with 3x overhead)."""
    import shapely

    total = 0
    for layer in layers:
        if layer is not None and len(layer):
            total += int(shapely.get_num_coordinates(layer.geometry.values).sum()) * 16 * 3
    return total


def _time_stem(t: pd.Timestamp) -> str:
    if t == t.normalize():
        return t.strftime("%Y-%m-%d")
    return t.strftime("%Y-%m-%dT%H%M" if t.second == 0 else "%Y-%m-%dT%H%M%S")


def render_batch(
    table: Any,
    directory: str | os.PathLike[str],
    *,
    read: ReadOptions | None = None,
    surface: SurfaceOptions | None = None,
    style: MapOptions | None = None,
    animate: bool = False,
    netcdf: bool | str | os.PathLike[str] = False,
    zarr: bool | str | os.PathLike[str] = False,
    progress: bool = False,
    **options: Any,
) -> BatchResult:
    """Render one map per timestamp of a long table.

    Parameters
    ----------
    table
        A path, bytes or text of a table with a time column (KMA portal CSV,
        ``time,station_id,temperature_c``, or the daily statistics export),
        or a parsed readings DataFrame with ``time``.
    directory
        Output folder; created when its parent exists.
    read, surface, style
        The option groups, as for :func:`~kwxmap.snapshot`; ``style.levels``
        are shared by every map (default: nice steps over the whole series,
        so the maps compare) and ``style.title`` is a prefix to each map's time.
    animate
        Write one ``animation.html`` with a time slider instead of one page
        per timestamp.
    netcdf
        Also write the series as CF-1.8 NetCDF (needs ``kwxmap[xarray]``):
        True for ``grids.nc`` in the folder, or a path. It lands with the maps.
    zarr
        Also write the series as a CF-1.8 Zarr store (needs ``kwxmap[zarr]``):
        True for ``grids.zarr`` in the folder, or a path.
    progress
        Print a progress line on stderr.
    **options
        Single fields of the option groups and method parameters, as for
        :func:`~kwxmap.snapshot`.

    Returns
    -------
    BatchResult
    """
    start = _time.perf_counter()
    read, surface, style, params = split_options(options, read=read, surface=surface, style=style)
    title, tiles = style.title, style.folium_tiles
    io.output_folder(directory, create=False)  # fail before the work
    if netcdf or zarr:
        require("xarray", extra="xarray", what="NetCDF and Zarr output (--netcdf, --zarr)")
        if netcdf:
            require("h5netcdf", extra="xarray", what="NetCDF output (--netcdf)")
    joined = load_joined(table, read)
    if "time" not in joined.columns or joined["time"].isna().all():
        raise InputError(
            "a batch needs a time column (KMA portal CSV 일시, or time,station_id,temperature_c); "
            "use `kwxmap map` for a single snapshot"
        )
    daily = bool(joined.attrs.get("daily"))
    joined = joined[joined["time"].notna()]
    rows_at = joined.groupby("time").size()  # readings of each time, placed or not
    values = joined.pivot_table(
        index="time", columns="station_id", values="temperature_c", aggfunc="first"
    )
    stations = joined.drop_duplicates("station_id").set_index("station_id").loc[values.columns]
    stations = stations.reset_index()
    times = pd.DatetimeIndex(values.index)
    matrix = values.to_numpy(dtype=float)
    chunks = _time_chunks(surface, params, len(times), animate=animate)
    if (netcdf or zarr) and len(chunks) > 1:
        raise InputError(
            f"the grids of all {len(times)} timestamps do not fit in the memory limit, so "
            f"they cannot be written as one NetCDF; leave out the NetCDF, use a coarser "
            f"resolution, or raise max_memory (--max-memory)"
        )

    if (len(chunks) > 1 and surface.method == "kriging"
            and params.get("variogram_parameters") is None):
        # one variogram for the whole batch, as one chunk would fit it: the maps do not
        # depend on the memory limit
        params = {**params, "variogram_parameters": shared_variogram(
            stations, matrix, times=times, **surface.interpolate_kwargs(), **params)}

    def interpolate_chunk(lo: int, hi: int) -> Grid:
        with warnings.catch_warnings():
            # a timestamp that cannot be interpolated comes back all-NaN and is
            # reported below as skipped, with the reason
            warnings.simplefilter("ignore", KwxmapWarning)
            # the chunks were sized to the limit with what the run held then
            # (_time_chunks): a chunk is not refused for what the last one left
            return interpolate_many(
                stations,
                matrix[lo:hi],
                times=times[lo:hi],
                **{**surface.interpolate_kwargs(), "max_memory": None},
                on_invalid="warn",
                **params,
            )

    # the levels are shared by every map: a long batch reads its range in a first pass
    series = interpolate_chunk(*chunks[0]) if len(chunks) == 1 else None
    lo_c, hi_c = math.inf, -math.inf
    for lo, hi in chunks:
        part = series if series is not None else interpolate_chunk(lo, hi)
        if np.isfinite(part.values).any():
            lo_c = min(lo_c, float(np.nanmin(part.values)))
            hi_c = max(hi_c, float(np.nanmax(part.values)))
        del part  # one chunk at a time: freed before the next is computed
    if not math.isfinite(lo_c):
        raise InputError("no timestamp produced a surface: every value is missing")
    edges = resolve_levels(style.levels, lo_c, hi_c)
    reporting = np.isfinite(matrix).sum(axis=1)

    staging = io.Staging()
    staged = staging.folder(directory)
    result = BatchResult(directory=staged.dest, grid=series)
    report = joined.attrs.get("join_report")
    result.placed = "" if report is None else report.summary()
    frames = []  # kept only for an animation: a page per map keeps nothing between maps
    # what an animation's frames may hold: the budget less the grids' own estimate
    template = make_grid(surface.region, resolution=surface.resolution, crs=surface.crs)
    memory_limit = (surface.max_memory or default_memory_limit()) - held_memory() - estimate_memory(
        template, surface.method, n_times=max(hi - lo for lo, hi in chunks), params=params)
    held = 0
    try:
        for lo, hi in chunks:
            part = series if series is not None else interpolate_chunk(lo, hi)
            for i in range(lo, hi):
                t = times[i]
                label = t.isoformat(sep=" ", timespec="minutes")
                if progress:
                    print(f"\r[{i + 1}/{len(times)}] {label}", end="", file=sys.stderr,
                          flush=True)
                try:
                    one = part.at(i - lo)
                    if not np.isfinite(one.values).any():
                        raise InputError(
                            f"{reporting[i]} station(s) reported; a map needs at least 3"
                            if reporting[i] < 3
                            else "no surface could be interpolated"
                        )
                    heading, line = map_heading(
                        variable=read.variable, daily=daily, time=t,
                        placed=int(reporting[i]), total=int(rows_at.get(t, reporting[i])),
                        title=title, lang=style.lang)
                    shown, bands, lines, fmap = draw(
                        one,
                        joined[joined["time"] == t],
                        levels=edges,
                        title=heading,
                        time=line,
                        tiles=tiles,
                        render=not animate,
                        look=style.look,
                        outside=style.outside,
                        region=surface.region,
                    )
                    if animate:  # one page holds every frame: its size counts
                        frames.append((t, shown, bands, lines))
                        held += _frame_bytes(bands, lines)
                        if held > memory_limit:
                            raise OutputError(
                                f"an animation of {len(times)} maps does not fit in the memory "
                                f"limit (--max-memory; its frames reached it at frame {i + 1}): "
                                "animate fewer timestamps, use a coarser resolution, or write "
                                "one page per map (leave out --animate)"
                            )
                        continue
                    result.maps.append(
                        staged.write(f"{_time_stem(t)}.html", partial(io.write_html, fmap))
                    )
                except OutputError:
                    raise
                except KwxmapError as exc:
                    result.failed.append((label, str(exc)))
            del part  # freed before the next chunk is computed
        if progress:
            print(file=sys.stderr)
        if animate and frames:
            from .dem import dem_attribution
            from .render import render_animation

            page = render_animation(frames, title=title, tiles=tiles,
                                    credit=dem_attribution(surface.dem), **style.look)
            result.index = staged.write("animation.html", partial(io.write_html, page))
            result.frames = len(frames)
            result.maps.append(result.index)
        elif result.maps:
            page = _index_page(result.maps, times, joined, result.failed, title,
                               lang=style.lang, daily=daily)
            result.index = staged.write("index.html", partial(io.write_text, page))
        if netcdf:
            target = staged.dest / "grids.nc" if netcdf is True else Path(netcdf)
            result.netcdf = staging.file(target, partial(io.write_netcdf, series))
        if zarr:
            target = staged.dest / "grids.zarr" if zarr is True else Path(zarr)
            result.zarr = staging.file(target, partial(io.write_zarr, series))
    except OutputError as exc:
        staging.discard()
        raise OutputError(f"batch stopped, nothing was changed: {exc}") from exc
    except BaseException:
        staging.discard()
        raise
    staging.commit()
    result.seconds = _time.perf_counter() - start
    return result


_INDEX_WORDS = {
    "ko": {"heading": "기온 지도", "time": "시각", "stations": "지점 수", "min": "최저 °C",
           "max": "최고 °C", "skipped": "만들지 못한 지도",
           "credit": "자료: 기상청 (공공누리 제1유형). 경계: 통계청 SGIS 2018. kwxmap으로 만듦."},
    "en": {"heading": "Temperature maps", "time": "time", "stations": "stations",
           "min": "min °C", "max": "max °C", "skipped": "Skipped",
           "credit": "Data: KMA (기상청), KOGL Type 1. Boundaries: KOSTAT 2018. "
                     "Made with kwxmap."},
}


def _index_page(
    maps: list[Path],
    times: pd.DatetimeIndex,
    joined: pd.DataFrame,
    failed: list[tuple[str, str]],
    title: str | None,
    lang: str = "ko",
    daily: bool = False,
) -> str:
    words = _INDEX_WORDS[lang]
    heading = html.escape(title or words["heading"])
    rows = []
    stems = {p.stem: p for p in maps}
    for t in times:
        path = stems.get(_time_stem(t))
        if path is None:
            continue
        at_t = joined.loc[joined["time"] == t, "temperature_c"]
        rows.append(
            '<tr><td><a href="{href}">{label}</a></td><td>{n}</td>'
            "<td>{lo:.1f}</td><td>{hi:.1f}</td></tr>".format(
                href=html.escape(path.name, quote=True),
                label=html.escape(format_time(t.date() if daily else t, lang)
                                  + ("" if daily else " KST")),
                n=int(at_t.notna().sum()),
                lo=float(at_t.min()),
                hi=float(at_t.max()),
            )
        )
    skipped = "".join(f"<li>{html.escape(t)}: {html.escape(msg)}</li>" for t, msg in failed)
    w = {k: html.escape(v) for k, v in words.items()}
    page = f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{heading}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 10px;text-align:right}}</style>
</head><body><h1>{heading}</h1>
<table><thead><tr><th>{w["time"]}</th><th>{w["stations"]}</th><th>{w["min"]}</th>
<th>{w["max"]}</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
{f"<h2>{w['skipped']}</h2><ul>{skipped}</ul>" if skipped else ""}
<p>{w["credit"]}</p>
</body></html>
"""
    return page
