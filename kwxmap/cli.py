"""The ``kwxmap`` command line: a thin layer over the public API.

Each subcommand has an ``_add_<name>`` function that declares its arguments
and a ``_run_<name>`` function that calls the API. ``main`` turns a
:class:`~kwxmap.errors.KwxmapError` into one line on stderr and exit code 1;
argparse usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from ._atomic import check_writable, output_folder
from ._extras import require
from .errors import InputError, KwxmapError, KwxmapWarning, OutputError, ParseError
from .io import formula_safe
from .labels import LABELS, LANGS
from .options import (
    CRS_CHOICES,
    DEFAULT_ELEVATION,
    DEFAULT_METHOD,
    ELEVATIONS,
    ON_DUPLICATE,
    ON_UNKNOWN,
    OUTSIDE,
    TILES,
    MapOptions,
    ReadOptions,
    SurfaceOptions,
    method_choices,
)
from .palette import DEFAULT_PALETTE, PALETTES
from .readers import INPUT_FORMATS, VARIABLES

__all__ = ["main"]

_Runner = Callable[[argparse.Namespace], int]

#: Options whose value may start with '-' (a negative number): ``--bbox -500,…``.
_SIGNED_VALUES = ("--bbox", "--levels", "--at")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kwxmap",
        description="Korean weather-station readings to maps.",
    )
    parser.add_argument("--version", action="version", version=f"kwxmap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in _SUBCOMMANDS:
        add(sub)
    return parser


def _err(message: str) -> None:
    print(f"kwxmap: error: {message}", file=sys.stderr)


def _join_signed(argv: Sequence[str]) -> list[str]:
    """Glue ``--bbox -5,…`` into ``--bbox=-5,…`` so argparse does not take it for an option."""
    out: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        if args[i] in _SIGNED_VALUES and i + 1 < len(args) and re.match(r"-[\d.]", args[i + 1]):
            out.append(f"{args[i]}={args[i + 1]}")
            i += 2
            continue
        out.append(args[i])
        i += 1
    return out


def _cli_spelling(message: str) -> str:
    """Say ``--on-duplicate first`` where a library message says ``on_duplicate='first'``."""

    def option(m: re.Match[str]) -> str:
        return f"--{m.group(1).replace('_', '-')} " + m.group(2).replace("'", "")

    return re.sub(
        r"\b(on_unknown|on_duplicate|as_of|encoding|method|elevation|dem)="
        r"('[^']*'(?:(?:, | or )'[^']*')*)",
        option,
        message,
    )


def _quiet_stdout() -> None:
    """Send the rest of stdout to /dev/null: its reader has gone (``| head``)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Parameters
    ----------
    argv
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        0 on success (also when stdout's reader has gone), 1 on a kwxmap
        error or when memory runs out (one line on stderr, after the
        warnings that led to it), 2 on a usage error, 130 when interrupted.
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(_join_signed(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors 2
        return int(exc.code or 0)
    runner: _Runner = args.run
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", KwxmapWarning)
        try:
            code = runner(args)
        except KwxmapError as exc:
            code, error = 1, _cli_spelling(str(exc))
            if getattr(args, "from_cache", False) and isinstance(exc, ParseError):
                error += " (the reply came from the cache: --no-cache asks the server again)"
        except MemoryError:
            code, error = (
                1,
                (
                    "out of memory; use a coarser --resolution, a smaller --region or fewer "
                    "timestamps"
                ),
            )
        except BrokenPipeError:
            _quiet_stdout()
            code = 0
        except KeyboardInterrupt:
            code, error = 130, "interrupted"
    for w in caught:
        if issubclass(w.category, KwxmapWarning):
            print(f"kwxmap: warning: {_cli_spelling(str(w.message))}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if error is not None:
        _err(error)
    return code


# --- subcommands -------------------------------------------------------------


def _add_stations(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stations",
        help="list or export the station registry",
        description="Print the KMA station registry as a table, or export it for GIS tools "
        "(format from the extension: .geojson .gpkg .fgb .shp .csv).",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write the stations here")
    p.add_argument(
        "--format",
        choices=["geojson", "gpkg", "fgb", "shp", "csv"],
        help="output format (default: from the extension of FILE)",
    )
    p.add_argument(
        "--crs",
        choices=["4326", "5179", "5186"],
        default="4326",
        help="output CRS as an EPSG code (default 4326; GeoJSON is always 4326)",
    )
    p.add_argument(
        "--network",
        choices=["asos", "aws", "all"],
        default="all",
        help="all stations (default), ASOS (synoptic) or AWS (automatic) only",
    )
    p.add_argument("--active-only", action="store_true", help="leave out closed stations")
    p.add_argument("--as-of", metavar="DATE", help="the registry as it stood on YYYY-MM-DD")
    p.add_argument(
        "--update",
        metavar="FILE",
        help="merge a newer KMA station list (API Hub stn_inf, or the portal's "
        "META_관측지점정보 export) into your local registry, used from then on",
    )
    p.add_argument(
        "--date",
        metavar="DATE",
        help="with --update: the day a stn_inf list describes (default: today)",
    )
    p.set_defaults(run=_run_stations)


def _run_stations(args: argparse.Namespace) -> int:
    from .stations import load_stations, write_stations

    if args.format is not None and args.output is None:
        _err("--format needs -o FILE")
        return 2
    if args.update is not None:
        from .station_update import update_stations

        result = update_stations(args.update, date=args.date)
        print(f"merged {args.update} into {result.path}: {result.summary()}; kwxmap uses it "
              "from now on (delete it to go back to the bundled registry)", file=sys.stderr)
        return 0
    registry = load_stations(args.network)
    from ._data import local_registry_path

    if local_registry_path().is_file():
        print(f"stations from your local registry {local_registry_path()} "
              "(kwxmap stations --update; delete it for the bundled one)", file=sys.stderr)
    if args.as_of is not None:
        try:
            registry = registry.as_of(args.as_of)
        except ValueError as exc:
            _err(f"--as-of: {exc}")
            return 2
    if args.active_only:
        registry = registry.select(active=True)
    if args.output is not None:
        path = write_stations(registry, args.output, format=args.format, crs=int(args.crs))
        print(f"wrote {len(registry)} stations to {path}", file=sys.stderr)
        return 0
    # Hangul is two columns wide in a terminal: pad names by display width.
    width = max([4, *(2 * len(s.name_ko) for s in registry)])
    lines = [
        f"{'id':>4}  {'name':<{width}}  {'name_en':<20} {'lon':>9} {'lat':>8} {'elev_m':>7}  "
        f"{'network':<7} active  province"
    ]
    for s in registry:
        name = s.name_ko + " " * max(0, width - 2 * len(s.name_ko))
        elev = "" if s.elevation_m != s.elevation_m else f"{s.elevation_m:.1f}"
        lines.append(
            f"{s.station_id:>4}  {name}  {s.name_en:<20} {s.lon:>9.4f} {s.lat:>8.4f} "
            f"{elev:>7}  {s.network:<7} {'yes' if s.active else 'no':<6}  {s.province or ''}"
        )
    lines.append(f"{len(registry)} stations, {sum(s.active for s in registry)} active")
    _print("\n".join(lines))
    return 0


def _read_input(name: str) -> bytes | Path:
    """Return stdin's bytes for ``-``, else the path after checking it exists."""
    if name == "-":
        return sys.stdin.buffer.read()
    path = Path(name)
    if not path.exists():
        raise InputError(f"input file {name!r} does not exist")
    if path.is_dir():
        raise InputError(f"input {name!r} is a folder; give a file")
    return path


def _add_read_options(p: argparse.ArgumentParser, *, one_time: bool = True) -> None:
    """How to read the input: encoding, stations, time, unknown or repeated stations.

    ``one_time`` adds ``--time`` (not for a batch, which maps every time).
    """
    p.add_argument(
        "--network", choices=["all", "asos", "aws"], default=None,
        help="the stations names and ids resolve to: all (default), asos or aws "
        "(with --fetch: default all for apihub, asos for data-go-kr)",
    )
    if one_time:
        p.add_argument(
            "--time", metavar="TIME",
            help="the time to use from readings of several, in KST (or with Z or an offset), "
            "e.g. 2026-12-01T09:00; with --fetch: the time to fetch",
        )
    p.add_argument(
        "--encoding", metavar="ENC", help="input encoding (default: declared, UTF-8, then CP949)"
    )
    p.add_argument(
        "--on-unknown",
        choices=ON_UNKNOWN,
        default="warn",
        help="station names the registry does not know: fail, warn and leave out (default), "
        "or leave out",
    )
    p.add_argument(
        "--on-duplicate",
        choices=ON_DUPLICATE,
        default="raise",
        help="a station read twice (e.g. a page repeating its widget): fail (default) or "
        "keep the first, last or mean reading",
    )
    p.add_argument("--as-of", metavar="DATE", help="use the station registry of YYYY-MM-DD")
    p.add_argument(
        "--input-format",
        metavar="NAME",
        choices=INPUT_FORMATS,
        help="read the input as this format (default: recognised by content): "
        + ", ".join(INPUT_FORMATS),
    )
    p.add_argument(
        "--variable",
        choices=VARIABLES,
        default="tavg",
        help="temperature of a daily input: mean (default), minimum or maximum",
    )


def _read_options(args: argparse.Namespace) -> ReadOptions:
    """Return the reading options; lenient where the library is strict.

    Malformed lines are warned about and skipped, implausible values blanked
    with a warning.
    """
    return ReadOptions(
        encoding=args.encoding,
        on_unknown=args.on_unknown,
        on_invalid="warn",
        on_implausible="nan",
        on_duplicate=args.on_duplicate,
        as_of=args.as_of,
        input_format=args.input_format,
        variable=args.variable,
        network=args.network or "all",
        time=None if getattr(args, "fetch", False) else getattr(args, "time", None),
    )


def _add_surface_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``map``, ``cv``, ``point`` and ``batch``: how to make the surface."""
    p.add_argument(
        "--method",
        default=DEFAULT_METHOD,
        choices=method_choices(),
        help="interpolation method, the same for every command, or 'auto' to pick per field by "
        f"leave-one-out (default {DEFAULT_METHOD})",
    )
    p.add_argument(
        "--elevation",
        choices=ELEVATIONS,
        default=DEFAULT_ELEVATION,
        help="elevation correction: the best the method takes (predictors for auto, kriging "
        "and spline, else lapse), fixed lapse rate, rate fitted per snapshot, elevation as "
        "drift, elevation + coast + terrain as drift, or none (default "
        f"{DEFAULT_ELEVATION})",
    )
    p.add_argument(
        "--dem",
        metavar="PATH",
        help="a finer DEM GeoTIFF, or copernicus-90 for the Copernicus GLO-90 tiles "
        "(downloaded once into the user cache folder); needs kwxmap[raster]",
    )


def _add_grid_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``map`` and ``batch``: the grid, region, levels and look."""
    p.add_argument(
        "--resolution", type=float, default=1000.0, help="grid cell size in metres (default 1000)"
    )
    p.add_argument(
        "--crs", type=int, choices=CRS_CHOICES, default=5179, help="grid CRS (default 5179)"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--region",
        default="south-korea",
        help="south-korea (default) or a province: 충청북도, 충북, Chungcheongbuk-do …",
    )
    where.add_argument("--bbox", metavar="W,S,E,N", help="lon/lat bounding box")
    p.add_argument(
        "--max-memory",
        metavar="SIZE",
        help="most memory the run may use (its peak), e.g. 4GB (default half the RAM); "
        "a batch runs in chunks to fit",
    )
    p.add_argument("--levels", help="isotherm levels: 'a,b,c' or 'start:stop:step' (°C)")
    p.add_argument("--title", help="map title")
    p.add_argument("--tiles", choices=TILES, default="osm", help="base map (default osm)")
    p.add_argument(
        "--palette",
        choices=PALETTES,
        default=DEFAULT_PALETTE,
        help="band colours: fixed by °C, the same on every map (default), or spread over "
        "this map's range",
    )
    p.add_argument("--lang", choices=LANGS, default="ko", help="map interface language (ko)")
    p.add_argument(
        "--labels", choices=LABELS, default="none", help="write station readings on the map"
    )
    p.add_argument(
        "--outside", choices=OUTSIDE, default="dim",
        help="stations beyond --region/--bbox (they still shape the edge): drawn faint "
        "(default), left out, or shown like the others",
    )


def _numbers(option: str, text: str, n: int | None, what: str) -> tuple[float, ...]:
    try:
        parts = tuple(float(v) for v in text.split(","))
    except ValueError:
        parts = ()
    if not parts or (n is not None and len(parts) != n):
        raise InputError(f"{option} must be {what}, got {text!r}")
    return parts


def _surface_options(args: argparse.Namespace) -> SurfaceOptions:
    region: object = getattr(args, "region", "south-korea")
    if getattr(args, "bbox", None) is not None:
        region = _numbers("--bbox", args.bbox, 4, "four numbers W,S,E,N in degrees")
    return SurfaceOptions(
        method=args.method,
        elevation=args.elevation,
        resolution=getattr(args, "resolution", 1000.0),
        region=region,
        crs=getattr(args, "crs", 5179),
        dem=args.dem,
        max_memory=getattr(args, "max_memory", None),
    )


def _map_options(args: argparse.Namespace) -> MapOptions:
    levels: str | tuple[float, ...] | None = args.levels
    if levels is not None and ":" not in levels:
        levels = _numbers("--levels", levels, None, "'a,b,c' or 'start:stop:step' in °C")
    return MapOptions(
        levels=levels,
        title=args.title,
        tiles=args.tiles,
        palette=args.palette,
        lang=args.lang,
        labels=args.labels,
        outside=args.outside,
    )


def _add_map(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "map",
        help="readings to an HTML map (parse, join, interpolate, contour, render)",
        description="Make a temperature map from scraped readings.",
    )
    p.add_argument(
        "input", metavar="INPUT", nargs="?",
        help="widget text, HTML, a KMA file or table; '-' for stdin (none with --fetch)",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="the map to write: .html (web map) or .png/.svg/.pdf (static picture)",
    )
    _add_surface_options(p)
    _add_grid_options(p)
    _add_read_options(p)
    p.add_argument("--fetch", action="store_true", help="fetch the readings from KMA (see fetch)")
    _add_fetch_options(p, required=False)
    p.add_argument(
        "--geojson-dir",
        metavar="DIR",
        help="also write bands.geojson, isolines.geojson and stations.geojson here "
        "(created if its parent exists)",
    )
    p.add_argument(
        "--geotiff", metavar="FILE", help="also write the grid as a Cloud-Optimized GeoTIFF"
    )
    p.add_argument("--netcdf", metavar="FILE", help="also write the grid as CF-1.8 NetCDF")
    p.add_argument(
        "--cv", action="store_true", help="print the leave-one-out report; errors in tooltips"
    )
    p.set_defaults(run=_run_map)


def _run_map(args: argparse.Namespace) -> int:
    from .pipeline import snapshot
    from .static import FORMATS as STATIC_FORMATS
    from .static import find_cjk_font, render_static, save_figure

    read, surface, style = _read_options(args), _surface_options(args), _map_options(args)
    for path in (args.output, args.geotiff, args.netcdf):  # fail before the work
        if path is not None:
            check_writable(path)
    if args.geojson_dir is not None:
        output_folder(args.geojson_dir, create=False)
    if args.fetch == (args.input is not None):
        raise InputError("give an INPUT file or --fetch --time TIME, not both or neither")
    static = Path(args.output).suffix.lower() in STATIC_FORMATS
    if static:
        find_cjk_font()  # no matplotlib or no Korean font: say so before writing anything
    registry = None
    if args.fetch:
        source, read, registry = _fetched(args, read)
    else:
        source = _read_input(args.input)
    snap = snapshot(source, read=read, surface=surface, style=style, cv=args.cv,
                    registry=registry)
    figure = None
    if static:
        figure = render_static(
            snap.stations,
            snap.bands,
            snap.lines,
            title=snap.heading[0],
            time=snap.heading[1],
            **style.look,
        )
    written = snap.write(
        html=None if static else args.output,
        layers=args.geojson_dir,
        geotiff=args.geotiff,
        netcdf=args.netcdf,
    )
    if figure is not None:
        written.append(save_figure(figure, args.output))
    if snap.cv is not None:
        print(snap.cv.to_text(), file=sys.stderr)
    report = snap.report
    summary = [report.summary() if report is not None else f"{len(snap.stations)} stations"]
    summary.append(f"method {snap.options['method']}")
    if snap.cv is not None:
        summary.append(f"LOO RMSE {snap.cv.rmse:.2f} °C")
    summary.append("wrote " + ", ".join(str(p) for p in written))
    print("; ".join(summary), file=sys.stderr)
    return 0


def _add_cv(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cv",
        help="cross-validate an interpolation method on readings",
        description="Leave-one-out (or k-fold / spatial-block) cross-validation.",
    )
    p.add_argument("input", metavar="INPUT", help="widget text, HTML or table; '-' for stdin")
    _add_surface_options(p)
    _add_read_options(p)
    p.add_argument(
        "--folds", default="loo", help="'loo' (default), a number k, or 'block' (spatial blocks)"
    )
    p.add_argument(
        "--format", choices=["text", "json"], default="text",
        help="report as text (default) or JSON",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here (default stdout)")
    p.set_defaults(run=_run_cv)


def _run_cv(args: argparse.Namespace) -> int:
    from .interpolate import cross_validate
    from .pipeline import load_joined, write_text

    read, surface = _read_options(args), _surface_options(args)
    if args.output is not None:
        check_writable(args.output)
    folds: str | int = int(args.folds) if args.folds.isdecimal() else args.folds
    stations = load_joined(_read_input(args.input), read, one_time=True)
    report = cross_validate(
        stations, method=surface.method, elevation=surface.elevation, folds=folds
    )
    _say_placed(stations)
    text = (
        json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
        if args.format == "json"
        else report.to_text()
    )
    if args.output is None:
        _print(text)
    else:
        write_text(text + "\n", args.output)
    return 0


def _say_placed(frame: Any) -> None:
    """Print what the join placed (``N of M readings placed``...) to stderr."""
    report = frame.attrs.get("join_report")
    if report is not None:
        print(report.summary(), file=sys.stderr)


def _add_point(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "point",
        help="interpolated values at places (farms, schools ...) with their uncertainty",
        description="Print the interpolated temperature at each place and its uncertainty "
        "(the method's leave-one-out RMSE on these readings).",
    )
    p.add_argument("input", metavar="INPUT", help="widget text, HTML or table; '-' for stdin")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--at", action="append", metavar="LAT,LON", help="a place in degrees; repeat for more"
    )
    where.add_argument("--at-file", metavar="CSV", help="a CSV of places with lat,lon columns")
    p.add_argument(
        "--holdout",
        action="store_true",
        help="leave out the stations at each place (checks the map where there is a station)",
    )
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    _add_surface_options(p)
    p.add_argument(
        "--crs", type=int, choices=CRS_CHOICES, default=5179, help="working CRS (default 5179)"
    )
    _add_read_options(p)
    p.set_defaults(run=_run_point)


def _places(args: argparse.Namespace) -> object:
    import pandas as pd

    from .pipeline import load_points

    if args.at_file is not None:
        return load_points(args.at_file)
    rows = []
    for text in args.at:
        lat, lon = _numbers("--at", text, 2, "LAT,LON in degrees, e.g. 36.64,127.44")
        if abs(lat) > 90:
            raise InputError(f"--at {text!r}: latitude {lat:g} is not a latitude; give LAT,LON")
        rows.append({"lat": lat, "lon": lon})
    return pd.DataFrame(rows)


def _run_point(args: argparse.Namespace) -> int:
    from .pipeline import point_values

    table = point_values(
        _read_input(args.input),
        _places(args),
        read=_read_options(args),
        surface=_surface_options(args),
        holdout=args.holdout,
    )
    _say_placed(table)
    if args.format == "json":
        _print(table.to_json(orient="records", force_ascii=False, indent=1))
    else:
        _print(formula_safe(table).to_csv(index=False, float_format="%.2f", lineterminator="\n"),
               end="")
    return 0


def _add_batch(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch",
        help="one map per timestamp of a table, plus an index page",
        description="Render every timestamp of a table (KMA portal CSV, or "
        "time,station_id,temperature_c) with weights computed once.",
    )
    p.add_argument("table", metavar="TABLE", help="a table with a time column; '-' for stdin")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUTDIR",
        help="output folder (created if its parent exists)",
    )
    _add_surface_options(p)
    _add_grid_options(p)
    _add_read_options(p, one_time=False)
    p.add_argument("--animate", action="store_true", help="one HTML with a time slider")
    p.add_argument(
        "--netcdf",
        nargs="?",
        const=True,
        default=False,
        metavar="FILE",
        help="also write the grids as CF-1.8 NetCDF: FILE, or grids.nc in OUTDIR (needs xarray)",
    )
    p.add_argument(
        "--zarr",
        metavar="DIR",
        help="also write the grids as a CF-1.8 Zarr store (needs kwxmap[zarr])",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: on when stderr is a terminal)",
    )
    _add_stream_options(p)
    p.set_defaults(run=_run_batch)


def _add_stream_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("years of hourly grids (kwxmap[scale])")
    g.add_argument(
        "--html",
        action="store_true",
        help="with --zarr: also render the maps (in memory); without --html or --animate, "
        "--zarr streams a time-sorted time,station_id,temperature_c CSV chunk by chunk and "
        "writes grids and NAME.summary.csv only",
    )
    g.add_argument("--chunk-hours", type=int, metavar="N", help="timestamps per chunk")
    g.add_argument(
        "--scheduler",
        metavar="WHERE",
        help="'local', 'local:N' (N worker processes) or tcp://HOST:PORT (a dask cluster)",
    )
    g.add_argument("--resume", action="store_true", help="continue an interrupted --zarr run")
    g.add_argument("--cv", action="store_true", help="leave-one-out RMSE per time (streaming)")


def _run_batch(args: argparse.Namespace) -> int:
    from .series import render_batch

    if args.zarr is not None and not (args.html or args.animate):
        return _run_stream(args)
    result = render_batch(
        _read_input(args.table),
        args.output,
        read=_read_options(args),
        surface=_surface_options(args),
        style=_map_options(args),
        animate=args.animate,
        netcdf=args.netcdf,
        zarr=args.zarr or False,
        progress=sys.stderr.isatty() if args.progress is None else args.progress,
    )
    if not result.maps:
        raise InputError(f"no timestamp could be rendered: {result.summary()}")
    print(result.summary(), file=sys.stderr)
    return 0


def _run_stream(args: argparse.Namespace) -> int:
    from .stream import stream_batch, write_netcdf_copy

    surface = _surface_options(args)
    folder = Path(args.output)
    netcdf = None
    if args.netcdf:
        netcdf = folder / "grids.nc" if args.netcdf is True else Path(args.netcdf)
        if args.netcdf is True:
            output_folder(folder, create=False)
        else:
            check_writable(netcdf)
    if netcdf is not None:  # before the work: the copy comes last
        require("h5netcdf", extra="xarray", what="the NetCDF copy (--netcdf)")
    read = _read_options(args)
    result = stream_batch(
        args.table,
        args.zarr,
        input_format=read.input_format,
        variable=read.variable,
        method=surface.method,
        elevation=surface.elevation,
        resolution=surface.resolution,
        region=surface.region,
        crs=surface.crs,
        dem=surface.dem,
        chunk_hours=args.chunk_hours,
        max_memory=surface.max_memory,
        scheduler=args.scheduler,
        resume=args.resume,
        cv=args.cv,
        progress=args.progress,
    )
    if netcdf is not None:
        if args.netcdf is True:
            output_folder(folder)
        write_netcdf_copy(args.zarr, netcdf)
    print(result.summary_line(), file=sys.stderr)
    return 1 if result.failed else 0


def _add_parse(sub: argparse._SubParsersAction) -> None:
    from .pipeline import READINGS_FORMATS

    p = sub.add_parser(
        "parse",
        help="scraped readings to a table of located readings",
        description="Read KMA readings from widget text, HTML or a table, join them to "
        "the station registry, and write CSV, JSON or GeoJSON (lon/lat, EPSG:4326).",
    )
    p.add_argument("input", metavar="INPUT", help="widget text, HTML or table; '-' for stdin")
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default: stdout)")
    p.add_argument(
        "--format",
        choices=sorted(set(READINGS_FORMATS.values())),
        help="output format (default: from OUT's extension, else csv)",
    )
    _add_read_options(p)
    p.set_defaults(run=_run_parse)


def _run_parse(args: argparse.Namespace) -> int:
    from .pipeline import format_readings, load_joined, write_readings

    read = _read_options(args)
    if args.output is not None:
        check_writable(args.output)
    joined = load_joined(_read_input(args.input), read)
    if args.output is None:
        _print(format_readings(joined, args.format or "csv"), end="")
    else:
        write_readings(joined, args.output, format=args.format)
    print(joined.attrs["join_report"].summary(), file=sys.stderr)
    return 0


def _add_fetch_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    """Where and what to fetch: shared by ``fetch`` and ``map --fetch``.

    ``map`` has ``--time`` and ``--network`` among its read options already.
    """
    from .fetch import KEY_ENV, MAX_BYTES, MAX_SECONDS, NETWORKS, SOURCES

    p.add_argument("--source", choices=list(SOURCES), default="apihub",
                   help="KMA API Hub (default) or 공공데이터포털 data.go.kr (ASOS only)")
    if required:
        p.add_argument("--time", required=True, metavar="TIME",
                       help="observation time in KST, e.g. 2026-12-01T09:00 (the day, with "
                       "--daily)")
        p.add_argument("--network", choices=NETWORKS,
                       help="stations (default: all for apihub, asos for data-go-kr)")
    p.add_argument("--daily", action="store_true", help="daily values (ASOS)")
    p.add_argument("--key", help="API key (default: $" + " / $".join(KEY_ENV.values())
                   + "; a key on the command line shows in the process list)")
    p.add_argument("--base-url", metavar="URL", help="another server (default: KMA's)")
    p.add_argument("--no-cache", action="store_true",
                   help="ask the server even when the reply is cached")
    p.add_argument("--fetch-seconds", type=float, default=MAX_SECONDS, metavar="S",
                   help=f"longest one request may take, all included (default {MAX_SECONDS:g})")
    p.add_argument("--fetch-max-mb", type=float, default=MAX_BYTES / 2**20, metavar="MB",
                   help=f"largest reply accepted, MiB (default {MAX_BYTES // 2**20})")


def _fetched(args: argparse.Namespace, read: ReadOptions) -> tuple[bytes, ReadOptions, Any]:
    """Fetch what the options ask for; return the body, how to read it, and the registry.

    The registry holds ASOS and AWS stations: API Hub replies cover both.
    """
    from dataclasses import replace

    from .fetch import fetch_readings
    from .stations import load_stations

    if args.time is None:
        raise InputError("--fetch needs --time TIME, e.g. --time 2026-12-01T09:00")
    got = fetch_readings(
        args.source, time=args.time, network=args.network, daily=args.daily, key=args.key,
        base_url=args.base_url, use_cache=not args.no_cache,
        max_seconds=args.fetch_seconds, max_bytes=int(args.fetch_max_mb * 2**20),
    )
    args.from_cache = got.cache_hits > 0
    print(f"fetched {len(got.body)} bytes from {args.source} ({got.requests} requests, "
          f"{got.cache_hits} from the cache)", file=sys.stderr)
    return (got.body, replace(read, input_format=got.input_format,
                              as_of=read.as_of or args.time[:10]),
            load_stations(args.network or "all"))


def _add_fetch(sub: argparse._SubParsersAction) -> None:
    from .pipeline import READINGS_FORMATS

    p = sub.add_parser(
        "fetch",
        help="fetch readings from KMA (API Hub or data.go.kr) to a table",
        description="Fetch one time's readings from the KMA API Hub or the 공공데이터포털 open "
        "API (retries, rate limit, on-disk cache), join them to the station registry and "
        "write CSV, JSON or GeoJSON.",
    )
    _add_fetch_options(p, required=True)
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default: stdout)")
    p.add_argument("--format", choices=sorted(set(READINGS_FORMATS.values())),
                   help="output format (default: from OUT's extension, else csv)")
    p.add_argument("--on-unknown", choices=ON_UNKNOWN, default="warn",
                   help="stations the registry does not know: fail, warn and leave out "
                   "(default), or leave out")
    p.add_argument("--variable", choices=VARIABLES, default="tavg",
                   help="with --daily: mean (default), minimum or maximum")
    p.set_defaults(run=_run_fetch)


def _run_fetch(args: argparse.Namespace) -> int:
    from .pipeline import format_readings, load_joined, write_readings

    if args.output is not None:
        check_writable(args.output)
    read = ReadOptions(on_unknown=args.on_unknown, on_invalid="warn", on_implausible="nan",
                       variable=args.variable)
    body, read, registry = _fetched(args, read)
    joined = load_joined(body, read, registry=registry)
    if args.output is None:
        _print(format_readings(joined, args.format or "csv"), end="")
    else:
        write_readings(joined, args.output, format=args.format)
    print(joined.attrs["join_report"].summary(), file=sys.stderr)
    return 0


def _print(text: str, *, end: str = "\n") -> None:
    try:
        sys.stdout.write(text + end)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:  # a full disk or a closed terminal behind stdout
        raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None


_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_stations,
    _add_parse,
    _add_fetch,
    _add_cv,
    _add_map,
    _add_point,
    _add_batch,
]
