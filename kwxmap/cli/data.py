"""The commands about data: ``stations``, ``parse``, ``fetch``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .._atomic import check_writable
from ..options import (
    ON_UNKNOWN,
    ReadOptions,
)
from ..readers import VARIABLES
from .options import (
    _add_fetch_options,
    _add_read_options,
    _err,
    _fetched,
    _print,
    _read_input,
    _read_options,
)


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
    from ..stations import load_stations, write_stations

    if args.format is not None and args.output is None:
        _err("--format needs -o FILE")
        return 2
    if args.update is not None:
        from ..station_update import update_stations

        result = update_stations(args.update, date=args.date)
        print(f"merged {args.update} into {result.path}: {result.summary()}; kwxmap uses it "
              "from now on (delete it to go back to the bundled registry)", file=sys.stderr)
        return 0
    registry = load_stations(args.network)
    from .._data import local_registry_path

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


def _add_parse(sub: argparse._SubParsersAction) -> None:
    from ..io.readings import READINGS_FORMATS

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
    from ..pipeline import load_joined

    read = _read_options(args)
    if args.output is not None:
        check_writable(args.output)
    return _put_readings(load_joined(_read_input(args.input), read), args)


def _add_fetch(sub: argparse._SubParsersAction) -> None:
    from ..io.readings import READINGS_FORMATS

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
    from ..pipeline import load_joined

    if args.output is not None:
        check_writable(args.output)
    read = ReadOptions(on_unknown=args.on_unknown, on_invalid="warn", on_implausible="nan",
                       variable=args.variable)
    body, read, registry = _fetched(args, read)
    return _put_readings(load_joined(body, read, registry=registry), args)


def _put_readings(joined: Any, args: argparse.Namespace) -> int:
    """Write joined readings to ``-o`` (or stdout) in ``--format``; say what was placed."""
    from ..io.readings import format_readings, write_readings

    if args.output is None:
        _print(format_readings(joined, args.format or "csv"), end="")
    else:
        write_readings(joined, args.output, format=args.format)
    print(joined.attrs["join_report"].summary(), file=sys.stderr)
    return 0
