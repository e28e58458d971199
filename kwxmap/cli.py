"""The ``kwxmap`` command line: a thin layer over the public API.

Each subcommand has an ``_add_<name>`` function that declares its arguments
and a ``_run_<name>`` function that calls the API. ``main`` turns a
:class:`~kwxmap.errors.KwxmapError` into one line on stderr and exit code 1;
argparse usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .errors import InputError, KwxmapError, KwxmapWarning, OutputError

__all__ = ["main"]

_Runner = Callable[[argparse.Namespace], int]


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Parameters
    ----------
    argv
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        0 on success, 1 on a kwxmap error (message on stderr), 2 on a usage error.
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors 2
        return int(exc.code or 0)
    runner: _Runner = args.run
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", KwxmapWarning)
        try:
            code = runner(args)
        except KwxmapError as exc:
            code = 1
            _err(str(exc))
        except KeyboardInterrupt:
            code = 130
            _err("interrupted")
    for w in caught:
        if issubclass(w.category, KwxmapWarning):
            print(f"kwxmap: warning: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
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
        default="asos",
        help="ASOS (synoptic, default), AWS (automatic) or all stations",
    )
    p.add_argument("--active-only", action="store_true", help="leave out closed stations")
    p.add_argument("--as-of", metavar="DATE", help="the registry as it stood on YYYY-MM-DD")
    p.set_defaults(run=_run_stations)


def _run_stations(args: argparse.Namespace) -> int:
    import os

    from .stations import load_stations, write_stations

    if args.format is not None and args.output is None:
        _err("--format needs -o FILE")
        return 2
    registry = load_stations(args.network)
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
    try:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `kwxmap stations | head`: the reader has gone
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
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


def _add_surface_options(p: argparse.ArgumentParser, *, default_method: str) -> None:
    """Options shared by ``map``, ``cv`` and ``batch``: how to make the surface."""
    p.add_argument(
        "--method",
        default=default_method,
        help=f"interpolation method, or 'auto' to pick by leave-one-out (default {default_method})",
    )
    p.add_argument(
        "--elevation",
        choices=["lapse", "fit", "none"],
        default="lapse",
        help="elevation correction: fixed lapse rate, rate fitted per snapshot, or none "
        "(default lapse)",
    )
    p.add_argument("--dem", metavar="PATH", help="a finer DEM GeoTIFF (needs kwxmap[raster])")
    p.add_argument("--encoding", help="input encoding (default: declared, UTF-8, then CP949)")
    p.add_argument(
        "--on-unknown",
        choices=["raise", "warn", "ignore"],
        default="warn",
        help="what to do with station names the registry does not know (default warn)",
    )
    p.add_argument(
        "--on-duplicate",
        choices=["raise", "first", "last", "mean"],
        default="raise",
        help="a station read twice (e.g. a page repeating its widget): fail (default) or "
        "keep the first, last or mean reading",
    )


def _add_map_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``map`` and ``batch``: the grid, region, levels and look."""
    p.add_argument(
        "--resolution", type=float, default=1000.0, help="grid cell size in metres (default 1000)"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--region",
        default="south-korea",
        help="south-korea (default) or a province: 충청북도, 충북, Chungcheongbuk-do …",
    )
    where.add_argument("--bbox", metavar="W,S,E,N", help="lon/lat bounding box")
    p.add_argument("--levels", help="isotherm levels: 'a,b,c' or 'start:stop:step' (°C)")
    p.add_argument("--title", help="map title")
    p.add_argument("--tiles", choices=["osm", "none"], default="osm", help="base map (default osm)")


def _region(args: argparse.Namespace) -> object:
    if args.bbox is None:
        return args.region
    try:
        parts = tuple(float(v) for v in args.bbox.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4:
        raise InputError(f"--bbox must be four numbers W,S,E,N in degrees, got {args.bbox!r}")
    return parts


def _levels(text: str | None) -> str | list[float] | None:
    if text is None or ":" in text:
        return text
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError(
            f"--levels must be 'a,b,c' or 'start:stop:step' in °C, got {text!r}"
        ) from None


def _elevation(args: argparse.Namespace) -> str | None:
    return None if args.elevation == "none" else args.elevation


def _map_options(args: argparse.Namespace) -> dict[str, object]:
    """Keyword arguments shared by ``snapshot`` and ``render_batch``.

    The command line is lenient where the library is strict: malformed lines
    are warned about and skipped, implausible values blanked with a warning.
    """
    return dict(
        region=_region(args),
        method=args.method,
        resolution=args.resolution,
        elevation=_elevation(args),
        dem=args.dem,
        levels=_levels(args.levels),
        title=args.title,
        tiles=None if args.tiles == "none" else "OpenStreetMap",
        encoding=args.encoding,
        on_unknown=args.on_unknown,
        on_invalid="warn",
        on_implausible="nan",
        on_duplicate=args.on_duplicate,
    )


def _add_map(sub: argparse._SubParsersAction) -> None:
    from .pipeline import DEFAULT_METHOD

    p = sub.add_parser(
        "map",
        help="readings to an HTML map (parse, join, interpolate, contour, render)",
        description="Make a temperature map from scraped readings.",
    )
    p.add_argument("input", metavar="INPUT", help="widget text, HTML or table; '-' for stdin")
    p.add_argument("-o", "--output", required=True, metavar="HTML", help="the map to write")
    _add_surface_options(p, default_method=DEFAULT_METHOD)
    _add_map_options(p)
    p.add_argument("--as-of", help="use the station registry as it stood on this date")
    p.add_argument(
        "--geojson-dir",
        metavar="DIR",
        help="also write bands.geojson, isolines.geojson and stations.geojson here",
    )
    p.add_argument(
        "--cv", action="store_true", help="print the leave-one-out report; errors in tooltips"
    )
    p.set_defaults(run=_run_map)


def _run_map(args: argparse.Namespace) -> int:
    from ._atomic import check_writable
    from .pipeline import snapshot, write_layers
    from .io import write_html

    out = check_writable(args.output)
    if args.geojson_dir is not None:
        folder = Path(args.geojson_dir)
        if not folder.is_dir():
            raise OutputError(f"--geojson-dir {args.geojson_dir!r} does not exist; create it first")
        for name in ("bands.geojson", "isolines.geojson", "stations.geojson"):
            check_writable(folder / name)
    source = _read_input(args.input)
    snap = snapshot(source, as_of=args.as_of, cv=args.cv, **_map_options(args))
    written = []
    if args.geojson_dir is not None:
        written += write_layers(snap, Path(args.geojson_dir))
    write_html(snap.map, out)
    written.append(out)
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
    from .pipeline import DEFAULT_METHOD

    p = sub.add_parser(
        "cv",
        help="cross-validate an interpolation method on readings",
        description="Leave-one-out (or k-fold / spatial-block) cross-validation.",
    )
    p.add_argument("input", metavar="INPUT", help="widget text, HTML or table; '-' for stdin")
    _add_surface_options(p, default_method=DEFAULT_METHOD)
    p.add_argument(
        "--folds", default="loo", help="'loo' (default), a number k, or 'block' (spatial blocks)"
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here (default stdout)")
    p.set_defaults(run=_run_cv)


def _run_cv(args: argparse.Namespace) -> int:
    from ._atomic import atomic_path, check_writable
    from .interpolate import cross_validate
    from .pipeline import load_joined

    if args.output is not None:
        check_writable(args.output)
    folds: str | int = int(args.folds) if args.folds.isdecimal() else args.folds
    stations = load_joined(
        _read_input(args.input),
        encoding=args.encoding,
        on_unknown=args.on_unknown,
        on_invalid="warn",
        on_implausible="nan",
        on_duplicate=args.on_duplicate,
        one_time=True,
    )
    report = cross_validate(stations, method=args.method, elevation=_elevation(args), folds=folds)
    text = (
        json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
        if args.format == "json"
        else report.to_text()
    )
    if args.output is None:
        print(text)
    else:
        with atomic_path(args.output) as tmp:
            tmp.write_text(text + "\n", encoding="utf-8")
    return 0


def _add_batch(sub: argparse._SubParsersAction) -> None:
    from .pipeline import DEFAULT_METHOD

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
    _add_surface_options(p, default_method=DEFAULT_METHOD)
    _add_map_options(p)
    p.add_argument("--animate", action="store_true", help="one HTML with a time slider")
    p.add_argument("--netcdf", action="store_true", help="also write grids.nc (needs xarray)")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: on when stderr is a terminal)",
    )
    p.set_defaults(run=_run_batch)


def _run_batch(args: argparse.Namespace) -> int:
    from .series import render_batch

    result = render_batch(
        _read_input(args.table),
        args.output,
        animate=args.animate,
        netcdf=args.netcdf,
        progress=sys.stderr.isatty() if args.progress is None else args.progress,
        **_map_options(args),
    )
    if not result.maps:
        raise InputError(f"no timestamp could be rendered: {result.summary()}")
    print(result.summary(), file=sys.stderr)
    return 0


def _add_parse(sub: argparse._SubParsersAction) -> None:
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
        choices=sorted(set(_PARSE_FORMATS.values())),
        help="output format (default: from OUT's extension, else csv)",
    )
    p.add_argument(
        "--encoding", metavar="ENC", help="input encoding (default: declared, UTF-8, CP949)"
    )
    p.add_argument(
        "--on-unknown",
        choices=["raise", "warn", "ignore"],
        default="warn",
        help="unknown station names: fail, warn and leave out (default), or leave out",
    )
    p.add_argument(
        "--on-duplicate",
        choices=["raise", "first", "last", "mean"],
        default="raise",
        help="a station read twice: fail (default) or keep the first, last or mean",
    )
    p.add_argument("--as-of", metavar="DATE", help="use station names and sites of this day")
    p.set_defaults(run=_run_parse)


_PARSE_FORMATS = {".csv": "csv", ".json": "json", ".geojson": "geojson"}
_PARSE_COLUMNS = [
    "station_id",
    "station_name",
    "condition",
    "condition_en",
    "temperature_c",
    "lon",
    "lat",
    "name_ko",
    "name_en",
    "elevation_m",
    "line",
]


def _run_parse(args: argparse.Namespace) -> int:
    import math

    from ._atomic import atomic_path, check_writable
    from .join import join_readings
    from .parse import parse_readings

    fmt = args.format
    if fmt is None and args.output is not None:
        fmt = _PARSE_FORMATS.get(Path(args.output).suffix.lower())
        if fmt is None:
            raise InputError(
                f"cannot tell the format of {args.output!r} from its extension; "
                "pass --format csv, json or geojson"
            )
    fmt = fmt or "csv"
    if args.output is not None:
        check_writable(args.output)
    readings = parse_readings(_read_input(args.input), encoding=args.encoding, on_invalid="warn")
    gdf = join_readings(
        readings,
        as_of=args.as_of,
        on_unknown=args.on_unknown,
        on_duplicate=args.on_duplicate,
        on_implausible="nan",
    )
    table = gdf.drop(columns="geometry")
    table["lon"] = gdf.geometry.x
    table["lat"] = gdf.geometry.y
    columns = _PARSE_COLUMNS + (["time"] if "time" in table else [])
    table = table[columns]
    if "time" in table:
        table["time"] = table["time"].map(lambda t: None if t is None or t != t else t.isoformat())
    if fmt == "csv":
        text = table.to_csv(index=False, lineterminator="\n")
    else:
        records = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in table.astype(object).to_dict(orient="records")
        ]
        if fmt == "json":
            data: object = records
        else:
            data = {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": rec,
                        "geometry": {"type": "Point", "coordinates": [rec["lon"], rec["lat"]]},
                    }
                    for rec in records
                ],
            }
        indent = 1 if fmt == "json" else None
        text = json.dumps(data, ensure_ascii=False, indent=indent, default=_json_default) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        with atomic_path(args.output) as tmp:
            tmp.write_text(text, encoding="utf-8")
    print(gdf.attrs["join_report"].summary(), file=sys.stderr)
    return 0


def _json_default(value: object) -> object:
    """JSON for numpy scalars in a record."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_stations,
    _add_parse,
    _add_cv,
    _add_map,
    _add_batch,
]
